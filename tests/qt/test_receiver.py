"""The window's snapshot receiver (qt.worker, process backend): what it costs per frame (issue 20), by counts."""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest
import torch
from PySide6 import QtCore

from ganviz.core import snapshot as snapshot_module
from ganviz.core.config import TrainConfig
from ganviz.qt.worker import TrainingSession

SMALL = dict(d_width=32, g_width=32, d_depth=2, g_depth=2, batch_size=64, n_view=256, grid_size=32,
             mode_samples=500, w1_samples=128, kde_samples=1024)


def test_the_receiver_materialises_with_the_sessions_torch_threads(qtbot, monkeypatch):
    """Torch keeps its thread count per OS thread, and a thread that first runs torch before the process set the
    count keeps OpenMP's default (one per core) for good: the receiver, which materialises lazy snapshots in a pool
    thread, spun a second OpenMP thread beside the training process. It sets the count itself."""
    seen: list[tuple[int, int]] = []  # (OS thread, torch threads) of each materialisation
    nice: list[int] = []  # and its nice value (Linux: per thread)
    get = snapshot_module.LazyFields.get

    def recording_get(self):
        seen.append((threading.get_ident(), torch.get_num_threads()))
        if sys.platform.startswith("linux"):
            nice.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return get(self)

    monkeypatch.setattr(snapshot_module.LazyFields, "get", recording_get)
    before = torch.get_num_threads()
    torch.set_num_threads(2)  # the default on a 2-core machine, as if nothing in the process had set it yet
    session = TrainingSession(TrainConfig(**SMALL), backend="process", interval=0.01, threads=1)
    frames: list[int] = []
    session.snapshot.connect(lambda snap: (frames.append(snap.step), session.frame_done()))
    try:
        session.start()
        qtbot.waitUntil(lambda: len(seen) >= 4, timeout=60000)
    finally:
        stopped = session.stop(5.0)
        torch.set_num_threads(before)
    assert stopped
    main = threading.get_ident()
    assert all(ident != main for ident, _ in seen)  # materialised off the GUI thread
    assert [n for _, n in seen] == [1] * len(seen)
    assert len(frames) >= 4 and frames == sorted(frames)
    gui = os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) if nice else 0
    assert all(n > gui for n in nice)  # below the GUI thread: the training process comes first on 2 cores


def test_the_receiver_hands_the_gui_thread_frames_not_heartbeats(qtbot, monkeypatch):
    """Each yield of the receiver is a queued signal and a wake-up of the GUI thread; timeouts and the child's
    beats (it waits for the window to draw, about 1.3 per frame at 30 frames/s) are none of its business."""
    yielded: list[str] = []
    on_yielded = TrainingSession._on_yielded

    def counting(self, item):
        yielded.append(type(item).__name__)
        return on_yielded(self, item)

    monkeypatch.setattr(TrainingSession, "_on_yielded", counting)
    session = TrainingSession(TrainConfig(**SMALL), backend="process", interval=0.01, threads=1)
    frames: list[int] = []

    def draw_slowly(snap) -> None:  # a window slower than the child: the receiver waits on the pipe meanwhile
        frames.append(snap.step)
        QtCore.QTimer.singleShot(60, session.frame_done)

    session.snapshot.connect(draw_slowly)
    try:
        session.start()
        qtbot.waitUntil(lambda: len(frames) >= 6, timeout=60000)
    finally:
        stopped = session.stop(5.0)
    assert stopped
    assert len(yielded) >= 6 and set(yielded) == {"Snapshot"}, yielded


def test_a_paused_run_is_not_materialised_or_drawn_at_the_frame_rate(qtbot, monkeypatch):
    """The child sends a paused run's state at the frame rate; the receiver hands the window an unchanged state
    again at most every PAUSED_REDRAW_SECONDS, and materialises nothing else (counts, not timings)."""
    from ganviz.core import process as process_module
    from ganviz.core.commands import SetRunning
    from ganviz.qt import worker

    received: list[int] = []
    receive = process_module.TrainerProcess.receive

    def counting_receive(self, timeout):
        snap = receive(self, timeout)
        if snap is not None:
            received.append(snap.step)
        return snap

    materialised: list[int] = []
    get = snapshot_module.LazyFields.get

    def counting_get(self):
        materialised.append(1)
        return get(self)

    monkeypatch.setattr(process_module.TrainerProcess, "receive", counting_receive)
    monkeypatch.setattr(snapshot_module.LazyFields, "get", counting_get)
    session = TrainingSession(TrainConfig(**SMALL), backend="process", interval=0.01, threads=1)
    drawn: list = []
    session.snapshot.connect(lambda snap: (drawn.append(snap), session.frame_done()))
    try:
        session.start()
        qtbot.waitUntil(lambda: len(drawn) >= 3, timeout=60000)
        session.submit(SetRunning(False))
        qtbot.waitUntil(lambda: not drawn[-1].running, timeout=10000)
        qtbot.waitUntil(lambda: len(received) >= len(drawn) + 10, timeout=10000)  # let metrics of the step land
        paused_step = drawn[-1].step
        r0, m0, d0, t0 = len(received), len(materialised), len(drawn), time.monotonic()
        qtbot.waitUntil(lambda: len(received) >= r0 + 40, timeout=20000)  # the child sends ~100 a second
        paused_draws, paused_materialised = len(drawn) - d0, len(materialised) - m0
        redraws_allowed = 1 + int((time.monotonic() - t0) / worker.PAUSED_REDRAW_SECONDS)  # the rule, not a speed
        session.submit(SetRunning(True))
        qtbot.waitUntil(lambda: drawn[-1].running and drawn[-1].step > paused_step, timeout=10000)
    finally:
        stopped = session.stop(5.0)
    assert stopped
    assert all(s.step == paused_step for s in drawn[d0:d0 + paused_draws])
    # 40 snapshots of an unchanged state: drawn again once per PAUSED_REDRAW_SECONDS at most, not once each
    assert paused_draws == paused_materialised <= min(redraws_allowed, 39)


def test_the_window_compute_threads_yield_the_cpu_to_training_not_the_gui_thread() -> None:
    """The receiver and warm-up threads run at a lower priority (a higher nice value) than the GUI thread, per
    thread: the training process wins the 2-core contest, the GUI stays responsive (issue 20)."""
    from ganviz.qt.worker import RECEIVER_NICENESS, yield_cpu_to_training

    if not sys.platform.startswith("linux"):
        pytest.skip("per-thread nice values are Linux's")
    main_before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen: dict[str, int] = {}

    def work() -> None:
        tid = threading.get_native_id()
        seen["before"] = os.getpriority(os.PRIO_PROCESS, tid)
        seen["lowered"] = yield_cpu_to_training()
        seen["after"] = os.getpriority(os.PRIO_PROCESS, tid)
        yield_cpu_to_training()  # a second receiver in the same (pool) thread: not lower again
        seen["again"] = os.getpriority(os.PRIO_PROCESS, tid)

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert seen["lowered"] and seen["after"] == min(19, main_before + RECEIVER_NICENESS) > seen["before"]
    assert seen["again"] == seen["after"]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == main_before  # the GUI thread's is kept


def test_more_sessions_than_pool_threads_all_draw(qtbot):
    """Each session's receiver holds a thread of Qt's global pool for the session's life, and the pool has one
    thread per core: on 2 cores a third window never drew a frame. Here the pool is cut to one thread and two
    sessions run: both must deliver frames, and the pool is back to its size after they stop."""
    pool = QtCore.QThreadPool.globalInstance()
    size = pool.maxThreadCount()
    pool.setMaxThreadCount(1)
    sessions = [TrainingSession(TrainConfig(**SMALL), backend="process", interval=0.01, threads=1) for _ in range(2)]
    frames: list[list[int]] = [[], []]
    for s, got in zip(sessions, frames, strict=True):
        s.snapshot.connect(lambda snap, s=s, got=got: (got.append(snap.step), s.frame_done()))
    try:
        for s in sessions:
            s.start()
        qtbot.waitUntil(lambda: all(len(got) >= 3 for got in frames), timeout=60000)
        assert pool.maxThreadCount() == 1 + len(sessions)
    finally:
        stopped = [s.stop(5.0) for s in sessions]
        qtbot.waitUntil(lambda: pool.maxThreadCount() == 1, timeout=10000)
        pool.setMaxThreadCount(size)
    assert all(stopped)
