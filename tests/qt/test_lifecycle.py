"""Lifecycle: rapid play/pause/reset/switch cycles leave no extra threads and no memory growth; a
process-backed window stops its child on close."""

from __future__ import annotations

import gc
import threading

import pytest
import torch
from PySide6 import QtCore

from ganviz.core.commands import Reset, SetObjective, SetRunning
from ganviz.core.config import TrainConfig
from ganviz.qt.app import make_app
from ganviz.qt.main_window import MainWindow

SMALL = dict(d_width=16, g_width=16, d_depth=1, g_depth=1, batch_size=32, n_view=128, grid_size=16,
             mode_samples=300, w1_samples=64, kde_samples=512)
OBJS = ["ns", "wgan-gp", "lsgan", "hinge", "wgan", "minimax"]


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


@pytest.fixture(autouse=True, scope="module")
def _app():
    torch.set_num_threads(1)
    make_app()


def test_200_rapid_cycles_leave_no_threads_and_no_memory_growth(qtbot):
    """200 play/pause/switch cycles (a reset every 4th) on a live session, then 20 stop/start cycles."""
    from ganviz.qt.worker import TrainingSession

    threads_before = threading.active_count()
    session = TrainingSession(TrainConfig(**SMALL), backend="thread", interval=0.005)
    frames = []
    session.snapshot.connect(lambda snap: (frames.append(snap.step), session.frame_done()))
    session.start()
    qtbot.waitUntil(lambda: len(frames) >= 2, timeout=10000)

    def cycles(n: int, offset: int) -> None:
        for i in range(n):
            session.submit(SetRunning(False))
            session.submit(SetObjective(OBJS[(i + offset) % len(OBJS)]))
            session.submit(SetRunning(True))
            if i % 4 == 0:
                session.submit(Reset())
            qtbot.wait(2)

    cycles(50, 0)  # warm-up: caches and first allocations of every objective
    gc.collect()
    qtbot.wait(100)
    base = rss_mb()
    cycles(200, 50)
    qtbot.waitUntil(lambda: session.trainer.objective.name == OBJS[249 % len(OBJS)], timeout=5000)
    gc.collect()
    qtbot.wait(100)
    growth = rss_mb() - base
    assert session.trainer.running
    # the cycles reached the trainer (settings of one kind collapse to the latest within one drain, so under
    # load fewer than 50 resets land: that is by design)
    assert sum(e.kind == "reset" for e in session.trainer.events) >= 10
    for _ in range(20):  # stop / start cycles of the training thread itself
        assert session.stop(1.0)
        session.start()
    assert session.stop(1.0)
    assert QtCore.QThreadPool.globalInstance().waitForDone(2000)
    assert QtCore.QThreadPool.globalInstance().activeThreadCount() == 0
    qtbot.waitUntil(lambda: threading.active_count() <= threads_before + 1, timeout=5000)
    assert growth < 40, f"resident memory grew by {growth:.1f} MB over 200 cycles"


def test_cyclic_garbage_is_collected_in_the_gui_thread_not_by_a_busy_worker(qtbot):
    """A closed window caught in a reference cycle must be deleted in the GUI thread: Python's automatic
    collection would run in whichever thread allocates (the training thread), where deleting Qt objects
    deadlocks against the GUI thread. A worker allocating thousands of tracked objects must not collect it."""
    from ganviz.qt.app import collect_garbage_in_gui_thread

    collect_garbage_in_gui_thread()
    assert not gc.isenabled()
    died_in: list[str] = []

    class Witness:
        def __del__(self):
            died_in.append(threading.current_thread().name)

    cycle = {"witness": Witness(), "qobject": QtCore.QObject()}
    cycle["self"] = cycle
    del cycle

    def allocate():
        junk = []
        for i in range(200_000):  # far past every generation's threshold
            junk.append([i])
            if len(junk) > 1000:
                junk.clear()

    worker = threading.Thread(target=allocate, name="allocating-worker")
    worker.start()
    worker.join()
    assert died_in == []  # nothing collected in the worker
    # The GUI thread's timer collects a generation once its count passes Python's threshold, as automatic
    # collection would; the worker freed what it allocated, so allocate (and keep) enough here to pass it.
    keep = [[i] for i in range(5 * gc.get_threshold()[0])]
    qtbot.waitUntil(lambda: bool(died_in), timeout=5000)
    assert died_in == [threading.main_thread().name] and len(keep) > 0


def test_stop_returns_only_after_the_worker_thread_has_left_run(qtbot):
    """stop() -> True means the thread has finished superqt's closing emits too, so the next start() never
    connects a new worker while the old one still emits (a GIL / Qt-lock ordering hazard)."""
    from ganviz.qt.worker import TrainingSession

    session = TrainingSession(TrainConfig(**SMALL), backend="thread", interval=0.005)
    frames = []
    session.snapshot.connect(lambda snap: (frames.append(snap.step), session.frame_done()))
    for _ in range(10):
        session.start()
        qtbot.waitUntil(lambda: session._worker is not None and session._worker.is_running, timeout=10000)
        worker = session._worker
        assert session.stop(2.0)
        assert worker.exited.is_set() and not worker.is_running
    assert session._worker is None and not session.is_running()


def test_window_survives_rapid_switching(qtbot, tmp_path):
    w = MainWindow(TrainConfig(**SMALL), settings=QtCore.QSettings(str(tmp_path / "l.ini"),
                                                                   QtCore.QSettings.Format.IniFormat),
                   interval=0.01, backend="thread")
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.frames >= 2, timeout=10000)
    combo = w.controls.widgets["objective"]
    for i in range(30):
        combo.setCurrentIndex(combo.findData(OBJS[i % len(OBJS)]))
        w.play_action.trigger()
        if i % 10 == 0:
            w.reset_action.trigger()
        qtbot.wait(10)
    qtbot.waitUntil(lambda: w.trainer.objective.name == OBJS[29 % len(OBJS)], timeout=5000)
    frames = w.frames
    qtbot.waitUntil(lambda: w.frames > frames, timeout=5000)  # still drawing
    assert w.shutdown()


def test_process_window_close_ends_the_child(qtbot, tmp_path):
    w = MainWindow(TrainConfig(**SMALL), settings=QtCore.QSettings(str(tmp_path / "p.ini"),
                                                                   QtCore.QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.frames >= 2, timeout=60000)
    process = w.session.process.process
    assert process.is_alive()
    w.close()
    process.join(1.0)
    assert not process.is_alive()
