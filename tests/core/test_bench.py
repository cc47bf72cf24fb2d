"""`ganviz bench` sections: structure and sanity only (never timing thresholds: the machine is shared)."""

from __future__ import annotations

import json

import pytest
import torch

from ganviz.cli import bench
from ganviz.core.config import TrainConfig

TINY = TrainConfig(data="ring8", d_width=16, g_width=16, d_depth=2, g_depth=2, batch_size=32, mode_samples=500,
                   w1_samples=64)


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def test_compare_section_reports_per_run_rates_ratios_and_cpu(monkeypatch):
    r = bench.bench_compare(TINY, seconds=0.05, repeats=1, sizes=(2,), workers=1)  # no processes: quick
    assert set(r["steps_per_s_median"]) == {"single", "lock-step N=2", "single live"}
    assert all(v > 0 for v in r["steps_per_s_median"].values())
    med = r["steps_per_s_median"]
    assert r["ratio_per_run_vs_single"]["lock-step N=2"] == pytest.approx(med["lock-step N=2"] / med["single"])
    assert all(len(v) == 1 and v[0] > 0 for v in r["cpu_ms_per_step_median"].values())  # one process each
    assert r["target"]["variant"] == "lock-step N=2" and isinstance(r["target"]["met"], bool)
    json.dumps(r)
    text = bench.format_compare(r)
    assert "lock-step N=2" in text and "target" in text


def test_compare_section_with_a_shard_process():
    r = bench.bench_compare(TINY, seconds=0.05, repeats=1, sizes=(2,), workers=2)
    if "parallel N=2" not in r["steps_per_s_median"]:  # one core: the guard leaves runs in one process
        assert r["workers"][2] == 1
        return
    assert len(r["cpu_ms_per_step_median"]["parallel N=2"]) == 2  # this process and the shard
    assert r["target"]["variant"] == "parallel N=2" and r["steps_per_s_median"]["parallel N=2 live"] > 0


def test_image_row_is_reported_not_available_when_it_cannot_build(monkeypatch):
    def broken(config):
        raise ModuleNotFoundError("No module named 'ganviz.core.images.datasets'")

    monkeypatch.setattr(bench, "Trainer", broken)
    r = bench.bench_image(seconds=0.01, repeats=1)
    assert r == {"available": False, "config": bench.IMAGE_CONFIG,
                 "reason": "ModuleNotFoundError: No module named 'ganviz.core.images.datasets'"}
    assert "not available" in bench.format_image(r)


def test_image_row_measures_when_available():
    r = bench.bench_image(seconds=0.01, repeats=1)
    if not r["available"]:
        pytest.skip(f"image GAN not available here: {r['reason']}")
    assert r["steps_per_s_median"] > 0 and "steps/s" in bench.format_image(r)


def test_memory_row_trains_the_steps_and_reports_resident_memory():
    from ganviz.cli.soak import headless_soak

    r, samples = headless_soak(TINY, 1000, progress=False)
    assert r["steps"] == 1000 and len(samples) >= 10 and r["snapshots"] >= 1
    assert 50 < r["rss_after_warmup_mb"] < 4000 and r["rss_final_mb"] == samples[-1]["rss_mb"]
    assert r["rss_growth_mb"] == pytest.approx(max(s["rss_mb"] for s in samples[1:]) - r["rss_after_warmup_mb"])
    report = {"device": "cpu", "torch_threads": 1, "config": {}, "load_before": 0.0, "load_after": 0.0,
              "cpu_count": 2, "repeats": 1, "seconds_each": 1.0, "steps_per_s_median": {"plain": 1.0},
              "snapshots_per_s_median": 1.0, "ratio_engine_vs_plain": 1.0, "ratio_snapshots_vs_plain": 1.0}
    assert "add --memory" in bench.format_report(report)
    text = bench.format_report({**report, "memory": {k: v for k, v in r.items() if k != "config"}})
    assert "1000 steps" in text and f"growth {r['rss_growth_mb']:.1f} MB" in text


def test_the_report_prints_the_window_and_presentation_mode_rows():
    rounds = {"steps_per_s_median": 150.0, "frames_per_s_median": 27.5, "headless_steps_per_s_median": 200.0,
              "ratio_vs_headless": 0.75, "latency_ms_p50": 1.5, "latency_ms_p99": 12.0}
    gui = {**rounds, "backend": "process", "render_ms_median": {}, "recording": {},
           "presentation": {**rounds, "frames_per_s_median": 22.25, "ratio_vs_headless": 0.775,
                            "window_size": [1920, 1080]}}
    report = {"device": "cpu", "torch_threads": 1, "config": {}, "load_before": 0.0, "load_after": 0.0,
              "cpu_count": 2, "repeats": 1, "seconds_each": 1.0, "steps_per_s_median": {"plain": 1.0},
              "snapshots_per_s_median": 1.0, "ratio_engine_vs_plain": 1.0, "ratio_snapshots_vs_plain": 1.0,
              "gui": gui}
    lines = bench.format_report(report).splitlines()
    assert any("window offscreen" in line and "0.750x" in line for line in lines)
    (row,) = [line for line in lines if "presentation mode" in line]
    assert "1920x1080" in row and "22.2 frames/s" in row and "0.775x" in row and "p99 12.0 ms" in row
    assert "presentation" not in bench.format_report({**report, "gui": {**gui, "presentation": None}})
