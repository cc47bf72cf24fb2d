"""The window's frame-rate bench (issue 20): one window per frame cap, alternating with the headless engine."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("pytestqt")

pytestmark = pytest.mark.qt


def test_frame_rate_bench_measures_every_cap_in_both_modes():
    from ganviz.core.config import TrainConfig
    from ganviz.qt.bench_gui import bench_frame_rates, format_frame_rates

    r = bench_frame_rates(TrainConfig(batch_size=64), (0.1, 0.05), seconds=0.5, repeats=1,
                          warmup_frames=2)
    assert len(r["headless_steps_per_s"]) == 4  # before each window round
    for mode in ("window", "presentation"):
        assert set(r[mode]) == {"0.1", "0.05"}
        for row in r[mode].values():
            assert row["frames_per_s_median"] > 0 and row["steps_per_s_median"] > 0
            assert row["window_cpu_ms_per_frame_median"] > 0
            assert len(row["ratios"]) == 1 and row["ratio_vs_headless_median"] == row["ratios"][0] > 0
    text = format_frame_rates(r)
    assert "presentation" in text and "0.050" in text and "20.0" in text


def test_the_bench_runs_offscreen_on_a_full_hd_screen():
    """Qt's offscreen screen is 800x800: presentation mode (full screen) was measured at 800x800."""
    code = (
        "from ganviz.qt.bench_gui import offscreen_screen\n"
        "offscreen_screen()\n"
        "from PySide6 import QtWidgets\n"
        "app = QtWidgets.QApplication([])\n"
        "g = app.primaryScreen().geometry()\n"
        "print(g.width(), g.height())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert out.stdout.split() == ["1920", "1080"], out.stdout + out.stderr
