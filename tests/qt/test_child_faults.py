"""Fault injection for the training child (the window's default process backend): killed, stopped and continued,
an exception inside a step, a broken pipe, a data file that is missing. Each ends with a message in words, the last
state still on screen, and a window whose Reset (or Play) starts a new child that trains."""

from __future__ import annotations

import os
import signal
import time

import pytest

from ganviz.core import process as P
from tests.qt.faults import FailNextStep
from tests.qt.windows import window_factory

SMALL = dict(d_width=16, g_width=16, d_depth=2, g_depth=2, batch_size=32, n_view=128, grid_size=16,
             mode_samples=200, w1_samples=64, kde_samples=256)
START = 90_000  # ms: the first child imports torch (slow on a loaded 2-core machine)


@pytest.fixture
def make_window(qtbot, tmp_path):
    factory = window_factory(qtbot, tmp_path, "faults", base=SMALL, interval=0.02)
    yield factory
    for w in factory.made:
        w.close()


def _child_pid(w) -> int:
    return w.session.process.process.pid


def _trains_again(qtbot, w, old_pid: int) -> None:
    """Reset started a new child (another pid), the banner is gone, and new snapshots arrive."""
    qtbot.waitUntil(lambda: w.session.process is not None and _child_pid(w) != old_pid, timeout=10_000)
    frames = w.frames
    qtbot.waitUntil(lambda: w.frames >= frames + 3 and w.last_snapshot is not None and w.last_snapshot.step > 0,
                    timeout=START)
    assert not w.banner.isVisible()
    assert w.session.failure is None and w.play_action.isChecked()


def test_killed_failing_and_broken_children_are_said_in_words_and_reset_or_play_start_a_new_one(make_window,
                                                                                               qtbot):
    w = make_window()
    qtbot.waitUntil(lambda: w.frames >= 3, timeout=START)
    # kill -9
    pid = _child_pid(w)
    os.kill(pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=10_000)
    text = w.banner.label.text()
    assert "killed by signal 9 (SIGKILL)" in text and "Restart" in text
    assert not w.play_action.isChecked() and w.play_action.text() == "Play"
    assert w.status_rate.text() == "stopped"
    assert w.last_snapshot is not None and w.last_snapshot.step > 0  # the last good state stays on screen
    w.grab().save("/work/coord/shots/child_killed.png")
    w.reset_action.trigger()
    _trains_again(qtbot, w, pid)
    # an exception inside a training step
    pid = _child_pid(w)
    w.send(FailNextStep())
    qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=10_000)
    assert "injected fault in a training step (ZeroDivisionError)" in w.banner.label.text()
    assert "Traceback" in w.banner.details and "_failing_iteration" in w.banner.details
    assert not w.session.is_running()
    w.play_action.trigger()  # Play after a failure starts a new child
    _trains_again(qtbot, w, pid)
    # a broken pipe: the child sees EOF on its commands and leaves
    pid = _child_pid(w)
    w.session.process._cmd.close()
    qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=10_000)
    assert "ended unexpectedly (exit code 0)" in w.banner.label.text()
    w.banner.restart_button.click()
    _trains_again(qtbot, w, pid)


def test_a_stopped_child_is_noticed_then_continues(make_window, qtbot):
    w = make_window()
    qtbot.waitUntil(lambda: w.frames >= 3, timeout=START)
    pid = _child_pid(w)
    os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=10_000)
        assert time.monotonic() - t0 < P.STOPPED_SECONDS + 3
        assert "is stopped" in w.banner.label.text() and f"kill -CONT {pid}" in w.banner.label.text()
        assert w.status_rate.text() == "not answering"
    finally:
        os.kill(pid, signal.SIGCONT)
    qtbot.waitUntil(lambda: not w.banner.isVisible(), timeout=10_000)
    step = w.last_snapshot.step
    qtbot.waitUntil(lambda: w.last_snapshot.step > step, timeout=10_000)
    assert _child_pid(w) == pid  # the same child trains on
    # stopped again: Reset kills it (SIGTERM alone would not end it) and starts a new one at once
    old = w.session.process.process
    os.kill(pid, signal.SIGSTOP)
    qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=10_000)
    t0 = time.monotonic()
    w.reset_action.trigger()
    assert time.monotonic() - t0 < 3.0  # restart() used to spin 10 s on a stopped child
    assert not old.is_alive() and old.exitcode == -signal.SIGKILL
    _trains_again(qtbot, w, pid)


def test_closing_while_the_child_is_stopped_ends_it_within_the_deadline(make_window, qtbot):
    w = make_window()
    qtbot.waitUntil(lambda: w.frames >= 3, timeout=START)
    old = w.session.process.process
    os.kill(old.pid, signal.SIGSTOP)
    t0 = time.monotonic()
    w.close()
    assert time.monotonic() - t0 < 1.5
    assert not old.is_alive()  # SIGTERM alone leaves a stopped process; multiprocessing then waits for ever


def test_a_missing_image_file_fails_in_words_not_waiting_for_ever(make_window, qtbot, tmp_path):
    w = make_window(data="image-file", image_path=str(tmp_path / "gone.png"))
    qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=START)
    text = w.banner.label.text()
    assert "gone.png" in text and "ImageDataError" in text
    assert not text.startswith("ImageDataError")  # the message first, the class in brackets


def test_a_scene_naming_a_missing_image_file_leaves_the_running_session(make_window, qtbot, tmp_path, monkeypatch):
    """Issue 19.4: the scene replaced the run, and the new one waited for its first image for ever."""
    from PySide6 import QtWidgets

    shown = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    w = make_window()
    qtbot.waitUntil(lambda: w.frames >= 3, timeout=START)
    session, pid = w.session, _child_pid(w)
    path = tmp_path / "images.toml"
    path.write_text(f'title = "Digits"\n[config]\ndata = "image-file"\nimage_path = "{tmp_path / "gone.npz"}"\n')
    assert not w.classroom.open_scene_file(path)
    assert shown and "gone.npz does not exist" in shown[0] and "The current run goes on" in shown[0]
    from ganviz.core.scenes import load_scene

    assert not w.load_scene(load_scene(path))  # the window's own entry (ganviz --preset) refuses it too
    assert "was not started" in w.banner.label.text()
    assert w.session is session and _child_pid(w) == pid and w.session.is_running()
    step = w.last_snapshot.step
    qtbot.waitUntil(lambda: w.last_snapshot.step > step, timeout=10_000)  # the old run trains on


def test_the_command_line_refuses_a_missing_image_file_before_opening_the_window(tmp_path, capsys):
    from ganviz.cli import main

    path = tmp_path / "images.toml"
    path.write_text(f'[config]\ndata = "image-file"\nimage_path = "{tmp_path / "gone.npz"}"\n')
    assert main(["--preset", str(path)]) == 2
    assert "gone.npz does not exist" in capsys.readouterr().err


def test_a_short_control_storm_leaves_no_failure_thread_or_file_behind():
    """`ganviz soak --storm N` (600 in docs/RELIABILITY.md), shortened: random actions, new training processes
    included, on the default process backend."""
    from ganviz.cli.soak import storm_soak
    from ganviz.core.config import TrainConfig

    r = storm_soak(TrainConfig(**SMALL), 40, seed=3, pause=0.02, restart_weight=8)
    assert r["child_failures"] == 0 and r["children_left"] == 0 and r["close_seconds"] < 1.5
    assert r["new_training_processes"] >= 1 and r["final_step"] > 0
    assert r["pipes_first_last"][1] <= r["pipes_first_last"][0] + 2  # pipes of ended children are closed
    assert r["threads_min_max"][1] <= r["threads_min_max"][0] + 3
