"""The app's default backend: the trainer in a child process, the window fed over a pipe."""

from __future__ import annotations

import sys
import time

import pytest
from PySide6 import QtCore

from ganviz.core.commands import SetObjective, SetRunning, StepD
from ganviz.core.config import TrainConfig
from ganviz.core.process import ChildFailed, TrainerProcess
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
        # the first frame arrives with its views computed (numpy only: drawn before the window imports torch)
        assert first.step >= 0 and first.lazy is None and first.fake.shape == (256, 2)
        second = _next(proc, ack=False)  # two frames may be in flight
        assert second.lazy is not None  # later ones are evaluated by the window
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
    # not a RuntimeError: superqt's worker would swallow that as "aborted" and the failure would be invisible
    with pytest.raises(ChildFailed, match="no-such-objective") as info:
        _next(proc)
    assert not isinstance(info.value, RuntimeError)
    assert info.value.message.startswith("Training stopped with an error: ")
    assert "Traceback" in info.value.details
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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="F_SETPIPE_SZ is Linux only")
def test_a_whole_snapshot_fits_in_the_snapshot_pipe():
    """The child's write of a ~0.3 MB snapshot completes while the parent is not reading (its reader thread
    waits for the GIL during a paint): in a default 64 KB pipe the same write blocks until it is read."""
    import multiprocessing as mp
    import threading

    from ganviz.core import process as P

    def write_returns(widen: bool) -> bool:
        reader, writer = mp.Pipe(duplex=False)
        if widen:
            P._widen_pipe(writer)
        t = threading.Thread(target=writer.send_bytes, args=(b"x" * 400_000,), daemon=True)
        t.start()
        t.join(2.0)
        done = not t.is_alive()
        assert reader.recv_bytes() == b"x" * 400_000  # lets a blocked writer finish
        t.join(5.0)
        return done

    assert write_returns(widen=True)
    assert not write_returns(widen=False)  # the baseline the widening is for


def test_run_events_sleeps_in_the_real_event_loop_and_stops_early(qtbot):
    """The bench's pump: timers fire inside it, `until` ends it early, and it does not spin a core."""
    from ganviz.qt.app import run_events

    make_app()
    fired = []
    QtCore.QTimer.singleShot(30, lambda: fired.append(time.perf_counter()))
    cpu0, t0 = time.process_time(), time.perf_counter()
    run_events(0.4)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    assert fired and wall >= 0.38
    assert cpu < 0.5 * wall  # a processEvents() loop measured ~1.0 (a full core) here
    QtCore.QTimer.singleShot(50, lambda: fired.append(0.0))
    t0 = time.perf_counter()
    run_events(30.0, until=lambda: len(fired) >= 2)
    assert len(fired) == 2 and time.perf_counter() - t0 < 10.0


def test_image_window_bench_alternates_headless_and_window_rounds():
    from ganviz.cli.bench import IMAGE_CONFIG
    from ganviz.qt.bench_gui import bench_image_window

    r = bench_image_window({**IMAGE_CONFIG, "conv_channels": 8}, seconds=0.4, repeats=1)
    assert r["available"], r.get("reason")
    assert r["steps_per_s_median"] > 0 and r["headless_steps_per_s_median"] > 0 and r["frames_per_s_median"] > 0
    assert r["ratio_vs_headless"] == pytest.approx(r["steps_per_s_median"] / r["headless_steps_per_s_median"])
    assert len(r["ratios_per_round"]) == 1 and r["latency_ms_p99"] >= r["latency_ms_p50"] >= 0
