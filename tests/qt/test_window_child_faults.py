"""Issue 19, the compare and ensemble windows: their training child (the default process backend) killed, failing
inside a step or stopped. Each is said in a non-modal banner (never a modal box: one blocked a full-suite run), the
last state stays on screen, and Reset, Play or Restart training start a new child that trains."""

from __future__ import annotations

import os
import signal

import pytest
import torch
from PySide6 import QtWidgets

from ganviz.core.config import TrainConfig
from ganviz.qt.app import make_app
from ganviz.qt.compare_window import CompareWindow
from ganviz.qt.ensemble_window import EnsembleWindow
from tests.qt.faults import FailNextStep
from tests.qt.test_child_faults import START

SMALL = dict(d_width=16, g_width=16, d_depth=2, g_depth=2, batch_size=32, n_view=128, grid_size=16,
             mode_samples=200, w1_samples=64, kde_samples=256)
SHOTS = "/work/coord/shots"


@pytest.fixture(autouse=True, scope="module")
def _app():
    torch.set_num_threads(1)
    make_app()


@pytest.fixture
def modal_boxes(monkeypatch):
    """Every modal warning a window tries to show (recorded instead of blocking the test)."""
    shown: list[str] = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *a, **k: shown.append(str(a[2:])))
    return shown


@pytest.fixture
def windows(qtbot):
    made: list[QtWidgets.QMainWindow] = []

    def add(w):
        qtbot.addWidget(w)
        w.resize(1300, 850)
        w.show()
        made.append(w)
        return w

    yield add
    for w in made:
        w.close()
        assert not w.session.is_running()


def _child_pid(w) -> int:
    return w.session.process.process.pid


def _save_shot(w, name: str) -> None:
    if os.path.isdir(SHOTS):
        w.grab().save(f"{SHOTS}/{name}.png")


def _trains_again(qtbot, w, old_pid: int) -> None:
    """A new child (another pid) trains: the banner is gone and new snapshots past step 0 arrive."""
    qtbot.waitUntil(lambda: w.session.process is not None and _child_pid(w) != old_pid, timeout=10_000)
    frames = w.frames
    qtbot.waitUntil(lambda: w.frames >= frames + 2 and w.last_snapshot is not None and w.last_snapshot.step > 0,
                    timeout=START)
    assert not w.banner.isVisible() and w.session.failure is None
    assert w.toolbar.play_action.isChecked()


def test_compare_window_says_a_killed_or_failing_child_in_words_and_starts_a_new_one(windows, qtbot, modal_boxes):
    w = windows(CompareWindow(TrainConfig(**SMALL), ("ns", "hinge"), backend="process", interval=0.02))
    qtbot.waitUntil(lambda: w.frames >= 3 and w.last_snapshot.step > 0, timeout=START)
    # kill -9: said in words, the last state stays on screen, nothing modal
    pid = _child_pid(w)
    os.kill(pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=10_000)
    text = w.banner.label.text()
    assert "killed by signal 9 (SIGKILL)" in text and "Restart" in text
    assert not modal_boxes
    assert not w.toolbar.play_action.isChecked() and w.toolbar.play_action.text() == "Play"
    step = w.last_snapshot.step
    assert step > 0 and f"at step {step}" in text
    assert w.status.text() == f"stopped at step {step}"
    assert w.overlay.series[(0, "d_loss")].x.size > 0  # the curves are still drawn
    _save_shot(w, "compare_child_killed")
    # a pane changed while no child runs: the new run trains what the pane shows
    w.panes[1].widgets["d_steps"].setValue(3)
    w.toolbar.reset_action.trigger()
    _trains_again(qtbot, w, pid)
    assert [s.config.d_steps for s in w.last_snapshot.runs] == [1, 3]
    assert [s.objective for s in w.last_snapshot.runs] == ["ns", "hinge"]
    # an exception inside a training step: its message and traceback; Play starts a new child
    pid = _child_pid(w)
    w.send_all(FailNextStep())
    qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=10_000)
    assert "injected fault in a training step (ZeroDivisionError)" in w.banner.label.text()
    assert "Traceback" in w.banner.details
    assert not modal_boxes and not w.session.is_running()
    w.toolbar.play_action.trigger()
    _trains_again(qtbot, w, pid)


def test_ensemble_window_says_a_killed_or_stopped_child_in_words_and_starts_a_new_one(windows, qtbot, modal_boxes):
    w = windows(EnsembleWindow(TrainConfig(**SMALL), 3, backend="process", interval=0.02, metrics_interval=0.1))
    qtbot.waitUntil(lambda: w.frames >= 3 and w.last_snapshot.step > 0 and w.metrics_drawn >= 1, timeout=START)
    pid = _child_pid(w)
    os.kill(pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=10_000)
    text = w.banner.label.text()
    assert "killed by signal 9 (SIGKILL)" in text and "Restart" in text
    assert not modal_boxes and not w.toolbar.play_action.isChecked()
    assert w.last_snapshot.step > 0 and w.w1.n >= 1  # the last state and its metrics stay on screen
    assert w.status.text().startswith("stopped at step")
    _save_shot(w, "ensemble_child_killed")
    w.banner.restart_button.click()
    _trains_again(qtbot, w, pid)
    assert w.restarts == 1 and w.last_snapshot.n_seeds == 3
    # stopped (SIGSTOP): noticed and said; Reset kills it and starts a new one
    pid = _child_pid(w)
    old = w.session.process.process
    os.kill(pid, signal.SIGSTOP)
    try:
        qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=15_000)
        assert "is stopped" in w.banner.label.text() and f"kill -CONT {pid}" in w.banner.label.text()
        assert w.status.text() == "not answering"
        _save_shot(w, "ensemble_child_stopped")
        w.toolbar.reset_action.trigger()
        assert not old.is_alive() and old.exitcode == -signal.SIGKILL
    finally:
        if old.is_alive():
            os.kill(pid, signal.SIGCONT)
    _trains_again(qtbot, w, pid)
    assert not modal_boxes
