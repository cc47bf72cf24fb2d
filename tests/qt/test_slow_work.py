"""Slow work never blocks the window (issue 19.8), on the default process backend: with slow steps (a sleep hook
stands in for a ~19 s step of a big network) Save session runs in a thread and waits for the step, and Pause says
honestly that it applies after the step; the metrics CSV of many steps and a session of many changes are written
and read off the GUI thread, with progress and Cancel (which leaves no file)."""

from __future__ import annotations

import time
import types

import numpy as np
import pytest
from PySide6 import QtCore

from ganviz.core.commands import SetLearningRates
from ganviz.core.config import TrainConfig
from ganviz.core.snapshot import History
from ganviz.export.history import HistoryLog
from ganviz.export.session import load_session, save_session, session_from_run
from tests.qt.faults import SlowSteps
from tests.qt.windows import window_factory

SMALL = dict(d_width=16, g_width=16, d_depth=2, g_depth=2, batch_size=32, n_view=128, grid_size=16,
             mode_samples=200, w1_samples=64, kde_samples=256)
START = 90_000


@pytest.fixture
def window(qtbot, tmp_path):
    factory = window_factory(qtbot, tmp_path, "slow", base=SMALL, interval=0.02)
    w = factory()
    qtbot.waitUntil(lambda: w.frames >= 3, timeout=START)
    yield w
    w.close()


class Ticks:
    """Counts a 50 ms GUI-thread timer: a blocked GUI thread stops counting."""

    def __init__(self) -> None:
        self.n = 0
        self.timer = QtCore.QTimer()
        self.timer.timeout.connect(self._tick)
        self.timer.start(50)
        self.t0 = time.perf_counter()

    def _tick(self) -> None:
        self.n += 1

    def share(self) -> float:
        """Ticks seen / ticks due since the start."""
        return self.n / max(1.0, (time.perf_counter() - self.t0) / 0.05)


def test_save_session_waits_for_a_slow_step_off_the_gui_thread_and_pause_says_when(window, qtbot, tmp_path):
    w = window
    w.send(SlowSteps(1.5))
    qtbot.waitUntil(lambda: 0 < w.last_snapshot.steps_per_sec < 1.0, timeout=30_000)
    ticks = Ticks()
    t0 = time.perf_counter()
    job = w.recording.save_session_in_background(tmp_path / "s.toml")
    assert time.perf_counter() - t0 < 0.5  # returns at once; the child answers after its step
    qtbot.waitUntil(lambda: not job.is_running(), timeout=30_000)
    qtbot.wait(100)
    assert job.error is None and (tmp_path / "s.toml").is_file()
    assert ticks.n >= 3  # the window kept running its timers while waiting (a blocked GUI thread sees at most 1)
    assert "Session saved" in w.statusBar().currentMessage()
    assert load_session(tmp_path / "s.toml").final_step >= 1
    # Pause during a slow step: the window says it applies after the step, then that it has
    w.play_action.trigger()
    assert w.statusBar().currentMessage().startswith("Pausing after this step (steps take about")
    qtbot.waitUntil(lambda: not w.last_snapshot.running, timeout=10_000)
    assert w.statusBar().currentMessage().startswith("Paused at step")


def _fake_snapshot(steps: np.ndarray) -> types.SimpleNamespace:
    values = {k: np.linspace(0, 1, len(steps)) for k in ("d_loss", "g_loss")}
    return types.SimpleNamespace(events=(), step=int(steps[-1]), history=History(steps, values),
                                 metrics={"w1": 0.5}, metrics_step=int(steps[-1]))


def test_the_csv_is_written_off_the_gui_thread_with_progress_and_cancel(window, qtbot, tmp_path):
    w = window
    ext = w.recording
    log = HistoryLog()
    for start in range(1, 300_001, 50_000):
        log.add(_fake_snapshot(np.arange(start, start + 50_000)))
    ext.history = log
    # cancelled at once: no file, no temporary
    job = ext.export_csv_in_background(tmp_path / "m.csv")
    job.cancel()
    qtbot.waitUntil(lambda: not job.is_running(), timeout=60_000)
    qtbot.wait(100)
    assert list(tmp_path.iterdir()) == [] and "cancelled" in w.statusBar().currentMessage()
    # written with progress while the window runs
    ticks = Ticks()
    job = ext.export_csv_in_background(tmp_path / "m.csv")
    seen = []
    job.progressed.connect(lambda done, total: seen.append((done, total)))
    qtbot.waitUntil(lambda: not job.is_running(), timeout=120_000)
    qtbot.wait(100)
    assert job.error is None and [p.name for p in tmp_path.iterdir()] == ["m.csv"]
    total = seen[-1][1]  # 300,000 steps, and those the live run added meanwhile
    assert seen[-1] == (total, total) and total >= 300_000 and len(seen) >= 10
    assert ticks.n >= 3  # the GUI thread ran its timers during the export (no timing: a count, not a rate)
    with open(tmp_path / "m.csv") as f:
        assert sum(1 for _ in f) == total + 1


def test_a_big_session_is_read_off_the_gui_thread(window, qtbot, tmp_path):
    w = window
    cfg = TrainConfig(**SMALL)
    log = [(s, SetLearningRates(d_lr=1e-3 + 1e-7 * (s % 7))) for s in range(1, 6001)]
    save_session(session_from_run(cfg, log, [], 6000), tmp_path / "big.toml")
    # the window's first frames build its docks (hundreds of ms each in the GUI thread on a loaded machine):
    # let them finish so that only the read is measured
    qtbot.waitUntil(lambda: w.frames >= 15, timeout=START)
    ticks = Ticks()
    job = w.recording.open_session_in_background(tmp_path / "big.toml")
    reading = []
    job.succeeded.connect(lambda _s: reading.append((ticks.n, time.perf_counter() - ticks.t0)),
                          QtCore.Qt.ConnectionType.DirectConnection)  # in the reading thread, as it ends
    qtbot.waitUntil(lambda: not job.is_running(), timeout=120_000)
    qtbot.wait(200)
    assert job.error is None and w.recording.replay is not None
    ticked, seconds = reading[0]
    print(f"reading {seconds:.1f} s, GUI timer ticks meanwhile {ticked}")
    # counted in the reading thread as it ends: a read on the GUI thread would leave the timer at 0 ticks
    assert ticked >= 1
    # the replay either still runs or (on a fast machine) has already reached the session's last step
    message = w.statusBar().currentMessage()
    assert "Replaying big.toml" in message or "Session replayed to step 6000" in message, message
    # a bad file opened after the big replay is refused with a message, off the GUI thread as well (this step once
    # hung: the change markers re-created the replay's dropped markers every frame)
    bad = tmp_path / "bad.toml"
    bad.write_text("config = 3\n")
    job = w.recording.open_session_in_background(bad)
    qtbot.waitUntil(lambda: not job.is_running(), timeout=30_000)
    qtbot.wait(100)
    assert "not a ganviz session" in (w.recording.last_error or "")  # (the replay's own status messages may have
    # replaced it in the status bar by now)
    w.recording.replay = None  # end the replay: the rest of the suite does not need its 6,000 scheduled changes
