"""Reopening a session with branches (issue 18.5) in a fresh window replays the whole tree, with the training
process (the default backend): the time plots end on the saved line row for row, the original's rows after the
branch point are drawn dimmed beside it, and the timeline marks the branch; a bad tree is said in words."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest
import torch

from ganviz.core.commands import SetObjective, SetRunning
from ganviz.export.replay import replay
from ganviz.export.session import load_session, save_session
from ganviz.export.session_branches import line_session
from tests.qt.test_timetravel import START, TINY, pause, rows, show_past, timeline_info
from tests.qt.windows import window_factory


@pytest.fixture
def factory(qtbot, tmp_path):
    make = window_factory(qtbot, tmp_path, "tts", base=TINY, interval=0.02, size=(1366, 768))
    yield make
    for w in make.made:
        w.close()


def finite(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(y)
    return x[keep], y[keep]


def test_a_saved_branch_tree_reopens_as_it_was(qtbot, factory, tmp_path) -> None:
    w = factory()
    losses = w.losses  # built now: fed from the start
    qtbot.waitUntil(lambda: w.frames >= 3, timeout=START)
    tt = w.features["timetravel"]
    qtbot.waitUntil(lambda: w.run_state.step >= 120, timeout=60_000)
    tip0 = pause(qtbot, w)
    kept = timeline_info(qtbot, tt)["steps"]
    s = min(kept, key=lambda k: abs(k - 50))
    show_past(qtbot, tt, s)
    tt.branch_here()
    qtbot.waitUntil(lambda: tt.viewing is None and w.run_state.step == s, timeout=20_000)
    w.send(SetObjective("lsgan"))  # the branch: rewind to s and switch to LSGAN
    w.send(SetRunning(True))
    qtbot.waitUntil(lambda: w.run_state.step >= s + 60, timeout=60_000)
    tip1 = pause(qtbot, w)
    qtbot.waitUntil(lambda: losses.series("d_loss").last_x == tip1, timeout=20_000)
    path = w.recording.save_session(tmp_path / "tree.toml")
    assert path is not None, w.recording.last_error
    session = load_session(path)
    assert [(b.id, b.parent, b.from_step, b.tip) for b in session.branches] == [(0, None, 0, tip0), (1, 0, s, tip1)]
    saved_x, saved_y = losses.series("d_loss").x.copy(), losses.series("d_loss").y.copy()
    saved_ghost = finite(*losses.ghosts.data("d_loss"))

    w2 = factory()
    losses2 = w2.losses
    qtbot.waitUntil(lambda: w2.frames >= 1, timeout=START)
    replay_ = w2.recording.open_session(path)
    assert replay_ is not None and [p.line.id for p in replay_.plan] == [0, 1]
    qtbot.waitUntil(lambda: replay_.finished, timeout=60_000)
    qtbot.waitUntil(lambda: losses2.series("d_loss").last_x == tip1, timeout=20_000)
    assert not w2.run_state.running and w2.run_state.step == tip1
    assert "Session replayed" in w2.statusBar().currentMessage()

    torch.set_num_threads(1)
    rx, ry = finite(*rows(replay(session)))  # the saved (current) line, replayed headless from the file
    x2, y2 = losses2.series("d_loss").x, losses2.series("d_loss").y
    np.testing.assert_array_equal(x2, rx)  # the fresh window's history: the saved line, row for row
    np.testing.assert_array_equal(y2, ry)
    np.testing.assert_array_equal(x2, saved_x)  # and what the saving window drew
    np.testing.assert_array_equal(y2, saved_y)
    assert x2[x2 <= s].size >= s - 5 and x2.max() == tip1

    ox, oy = finite(*rows(replay(line_session(session, 0))))  # the original line (ns), replayed from the file
    gx, gy = finite(*losses2.ghosts.data("d_loss"))
    after = ox > s
    np.testing.assert_array_equal(gx, ox[after])  # the ghost: the original after s, dimmed, in full
    np.testing.assert_array_equal(gy, oy[after])
    assert gx.max() == tip0 and losses2.ghosts.items["d_loss"].isVisible()
    np.testing.assert_array_equal(saved_ghost[0], gx)  # as the saving window showed it
    np.testing.assert_array_equal(saved_ghost[1], gy)
    assert np.abs(oy[after][: ry[rx > s].size][:60] - ry[rx > s][:60]).max() > 1e-4  # LSGAN differs from ns

    tt2 = w2.features["timetravel"]
    info = timeline_info(qtbot, tt2)
    assert [(b["id"], b["parent"], b["from_step"], b["tip"]) for b in info["tree"]] == [
        (0, None, 0, tip0), (1, 0, s, tip1)] and info["current"] == 1
    assert tt2.bar.strip.branch_points == [s] and tt2.tip == tip1
    shots = "/work/coord/shots"
    if os.path.isdir(shots):
        w2.grab().save(f"{shots}/t18_reopened.png")

    # a tree that does not fit the session (its last line is not the session's own): said, the line replays
    bad = dataclasses.replace(session, branches=(session.branches[0], dataclasses.replace(session.branches[1],
                                                                                          commands=())))
    bad_path = save_session(bad, tmp_path / "bad.toml")
    r3 = w2.recording.open_session(bad_path)
    assert r3 is not None and r3.plan == [] and "not redrawn" in r3.tree_note
    qtbot.waitUntil(lambda: r3.finished, timeout=60_000)
    qtbot.waitUntil(lambda: losses2.series("d_loss").last_x == tip1, timeout=20_000)
    np.testing.assert_array_equal(losses2.series("d_loss").y, ry)  # the saved line, exactly as before
    assert losses2.ghosts.data("d_loss")[0].size == 0
