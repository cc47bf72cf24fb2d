"""The app's default backend: the trainer in a child process, the window fed over a pipe."""

from __future__ import annotations

import time

import pytest
from qtpy import QtCore

from ganviz.core.commands import SetObjective, SetRunning, StepD
from ganviz.core.config import TrainConfig
from ganviz.core.process import TrainerProcess
from ganviz.qt.app import make_app
from ganviz.qt.main_window import MainWindow

SMALL = dict(d_width=32, g_width=32, d_depth=2, g_depth=2, batch_size=64, n_view=256, grid_size=32,
             mode_samples=500, w1_samples=128, kde_samples=1024)


def _next(proc: TrainerProcess, timeout: float = 60.0, ack: bool = True):
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        snap = proc.receive(0.05)
        if snap is not None:
            if ack:
                proc.frame_done()
            return snap
    raise AssertionError("no snapshot from the training process")


def test_trainer_process_commands_and_backpressure():
    proc = TrainerProcess(TrainConfig(**SMALL), interval=0.01)
    proc.start()
    try:
        first = _next(proc, ack=False)
        assert first.step >= 0 and first.lazy is not None
        second = _next(proc, ack=False)  # two frames may be in flight
        # no frame_done: the child must not send a third snapshot, but it keeps training
        assert proc.receive(0.3) is None
        proc.frame_done()
        proc.frame_done()
        later = _next(proc)
        assert second.step > first.step
        first = second
        assert later.step > first.step
        assert later.history.steps.size == later.step - first.step  # no step lost between snapshots
        proc.submit(SetRunning(False))
        proc.submit(SetObjective("hinge"))
        snap = _next(proc)
        while snap.running:
            snap = _next(proc)
        paused_at = snap.step
        proc.submit(StepD())
        snap = _next(proc)
        while snap.step == paused_at:
            snap = _next(proc)
        assert snap.step == paused_at + 1 and snap.objective == "hinge"
        full = snap.materialized()
        assert full.fake.shape == (256, 2) and full.field2d is not None
    finally:
        assert proc.stop(1.0)
    assert not proc.is_alive()


def test_child_error_is_reported_not_fatal(monkeypatch):
    # an unknown objective smuggled past validation makes the child fail at build time
    bad = TrainConfig(**SMALL)
    object.__setattr__(bad, "objective", "no-such-objective")
    proc = TrainerProcess(bad)
    proc.start()
    with pytest.raises(RuntimeError, match="no-such-objective"):
        _next(proc)
    proc.stop(1.0)


def test_window_with_process_backend(qtbot, tmp_path):
    make_app()
    settings = QtCore.QSettings(str(tmp_path / "l.ini"), QtCore.QSettings.Format.IniFormat)
    w = MainWindow(TrainConfig(**SMALL), settings=settings, interval=0.02)  # default backend: process
    qtbot.addWidget(w)
    w.show()
    assert w.session.backend == "process" and w.trainer is None
    qtbot.waitUntil(lambda: w.frames >= 3, timeout=60000)
    combo = w.controls.widgets["objective"]
    combo.setCurrentIndex(combo.findData("lsgan"))
    qtbot.waitUntil(lambda: w.last_snapshot.objective == "lsgan", timeout=10000)
    t0 = time.perf_counter()
    w.close()
    assert time.perf_counter() - t0 < 1.5
    assert not w.session.is_running()
