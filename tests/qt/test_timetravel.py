"""Time travel in the window (issue 18.5), with the training process (the default backend): the timeline shows the
run as it was, the child's store stays under its cap, a branch with no change repeats the original, a branch is
drawn beside the original, and a session with branches replays each line exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganviz.core.commands import SetObjective, SetRunning
from ganviz.core.config import TrainConfig
from ganviz.core.trainer import Trainer
from ganviz.export.replay import replay
from ganviz.export.session import dumps_session, loads_session
from ganviz.export.session_branches import line_session
from ganviz.qt.panels.histograms import counts
from tests.qt.windows import window_factory

TINY = dict(d_width=16, g_width=16, d_depth=1, g_depth=2, batch_size=32, n_view=64, kde_samples=64, grid_size=12,
            mode_samples=100, w1_samples=32, seed=5)
START = 90_000


@pytest.fixture
def window(qtbot, tmp_path):
    factory = window_factory(qtbot, tmp_path, "tt", base=TINY, interval=0.02)
    w = factory()
    qtbot.waitUntil(lambda: w.frames >= 3, timeout=START)
    yield w
    w.close()


def pause(qtbot, w) -> int:
    w.send(SetRunning(False))
    qtbot.waitUntil(lambda: not w.run_state.running, timeout=20_000)
    return w.run_state.step


def timeline_info(qtbot, tt, arg=None) -> dict:
    """The child's answer to this "timeline" request, waited for (the feature asks from a helper thread, one
    request of a kind at a time: a poll on its way would take the place of this one, and its answer, without the
    new cap, would be taken for this one's)."""
    qtbot.waitUntil(lambda: "timeline" not in tt._busy, timeout=20_000)
    before = tt.info
    assert tt._ask("timeline", arg)  # no event is handled in between: no poll can go first
    qtbot.waitUntil(lambda: tt.info is not None and tt.info is not before, timeout=20_000)
    return tt.info


def show_past(qtbot, tt, step: int) -> dict:
    tt.scrub(step)
    qtbot.waitUntil(lambda: tt.past is not None and tt.past["asked"] == step, timeout=20_000)
    return tt.past


def test_scrubber_shows_the_run_as_it_was_and_the_store_stays_under_its_cap(qtbot, window) -> None:
    w, tt = window, window.features["timetravel"]
    qtbot.waitUntil(lambda: w.run_state.step >= 120, timeout=60_000)
    pause(qtbot, w)
    info = timeline_info(qtbot, tt)
    kept, every = info["steps"], info["every"]
    assert kept[0] == 0 and kept[-1] == info["step"] - info["step"] % every and info["nbytes"] <= info["cap_bytes"]
    assert every > 1 and all(k % every == 0 for k in kept)
    s = min(kept, key=lambda k: abs(k - 60))  # a kept step well in the past
    past = show_past(qtbot, tt, s)
    assert past["step"] == s and tt.bar.banner.isVisible() and f"Viewing step {s:,}" in tt.bar.banner_text
    w.histograms  # noqa: B018 (builds the dock: the past is drawn there too)
    tt._draw_past()

    headless = Trainer(TrainConfig(**TINY))
    headless.train(s)
    truth = headless.snapshot()
    drawn = np.asarray(w.data2d.image.image)
    assert drawn.shape == truth.field2d.values.shape
    np.testing.assert_allclose(drawn, truth.field2d.values.astype(np.float32), rtol=0, atol=1e-5)
    live = w.last_snapshot.field2d.values  # the live run has moved on: the test can tell the two apart
    assert np.abs(live - truth.field2d.values).max() > 1e-3
    assert past["snapshot"].metrics["w1"] == pytest.approx(truth.metrics["w1"], abs=1e-6)
    hist = w.histograms
    np.testing.assert_array_equal(hist.fake_curve.yData, counts(truth.d_fake, hist.edges))

    before = tt.sent.get("past", 0)  # a drag: many moves, few requests (one on its way, then the newest)
    for step in range(s, kept[1] - 1, -1):
        tt.scrub(step)
    qtbot.waitUntil(lambda: tt.past["asked"] == kept[1], timeout=20_000)
    assert tt.sent["past"] - before <= 3 < s - kept[1] and tt.past["step"] == kept[1]

    live_step = w.run_state.step
    tt.back_to_live()
    assert not tt.bar.banner.isVisible() and tt.viewing is None
    np.testing.assert_array_equal(np.asarray(w.data2d.image.image), w.last_snapshot.field2d.values.astype(np.float32))
    assert not w.run_state.running  # it was paused before the past was shown: it stays paused
    w.send(SetRunning(True))
    qtbot.waitUntil(lambda: w.run_state.running and w.run_state.step > live_step + 50, timeout=60_000)

    # the child's store under a small cap: 20 states of this run (the newest 16 at the finest spacing, the rest
    # thinned)
    state_bytes = info["nbytes"] // len(kept)
    info = timeline_info(qtbot, tt, 20 * state_bytes)
    assert info["cap_bytes"] == 20 * state_bytes
    qtbot.waitUntil(lambda: w.run_state.step > info["step"] + 200, timeout=60_000)
    info = timeline_info(qtbot, tt)
    assert info["nbytes"] <= info["cap_bytes"] and len(info["steps"]) <= 20
    newest = info["steps"][-1]
    assert info["steps"][0] == 0 and info["steps"][-16:] == list(range(newest - 15 * every, newest + 1, every))
    assert f"kept {len(info['steps'])} states" in tt.bar.memory.text()


def rows(trainer: Trainer, key: str = "d_loss") -> tuple[np.ndarray, np.ndarray]:
    table = trainer.take_rows()
    return (np.array([s for s, _ in table], dtype=np.float64),
            np.array([float(r[key]) if key in r else np.nan for _, r in table]))


def test_branches_repeat_the_original_are_drawn_beside_it_and_replay_from_the_session(qtbot, window) -> None:
    w, tt = window, window.features["timetravel"]
    losses, metrics = w.losses, w.metrics  # built now: fed from the start
    qtbot.waitUntil(lambda: w.run_state.step >= 150, timeout=60_000)
    tip0 = pause(qtbot, w)
    kept = timeline_info(qtbot, tt)["steps"]
    s1 = min(kept, key=lambda k: abs(k - 50))
    show_past(qtbot, tt, s1)
    tt.branch_here()  # no change: the branch must repeat the original step for step
    qtbot.waitUntil(lambda: tt.viewing is None and w.run_state.step == s1, timeout=20_000)
    w.send(SetRunning(True))
    qtbot.waitUntil(lambda: losses.series("d_loss").last_x is not None and losses.series("d_loss").last_x >= 130,
                    timeout=60_000)
    tip1 = pause(qtbot, w)
    qtbot.waitUntil(lambda: losses.series("d_loss").last_x == tip1, timeout=20_000)

    ghost_x, ghost_y = losses.ghosts.data("d_loss")  # the original after s1, drawn dimmed beside the branch
    assert ghost_x.min() > s1 and ghost_x.max() >= tip0 - 20 and losses.ghosts.items["d_loss"].isVisible()
    series = losses.series("d_loss")
    x, y = series.x.copy(), series.y.copy()
    assert x.max() == tip1 and x[x > s1].size >= 60  # the branch in full colour from s1 on
    both = np.intersect1d(ghost_x[np.isfinite(ghost_y)], x[x > s1])
    assert both.size >= 60
    g = dict(zip(ghost_x, ghost_y, strict=True))
    b = dict(zip(x, y, strict=True))
    assert [g[k] for k in both] == [b[k] for k in both]  # the same rows, bit for bit
    assert metrics.series("w1").x.max() <= tip1  # no metric of the old line (carried past the branch) is drawn
    ghost_w1 = metrics.ghosts["w1"].data("w1")[0]
    assert ghost_w1.size == 0 or ghost_w1.min() > s1  # the original's metric points after s1, dimmed

    # a second branch, from the branch, with a change: the session saves the tree, each line replays exactly
    kept = timeline_info(qtbot, tt)["steps"]
    s2 = min((k for k in kept if k > s1), key=lambda k: abs(k - (s1 + 40)))
    show_past(qtbot, tt, s2)
    tt.branch_here()
    qtbot.waitUntil(lambda: tt.viewing is None and w.run_state.step == s2, timeout=20_000)
    w.send(SetObjective("lsgan"))
    w.send(SetRunning(True))
    qtbot.waitUntil(lambda: w.run_state.step >= s2 + 40, timeout=60_000)
    tip2 = pause(qtbot, w)
    qtbot.waitUntil(lambda: losses.series("d_loss").last_x == tip2, timeout=20_000)

    session = loads_session(dumps_session(w.session.session_record()))
    assert [(b.id, b.parent, b.from_step, b.tip) for b in session.branches] == [
        (0, None, 0, tip0), (1, 0, s1, tip1), (2, 1, s2, tip2)]
    assert [(e.step, e.command) for e in session.commands if isinstance(e.command, SetObjective)] == [
        (s2, SetObjective("lsgan"))]
    torch.set_num_threads(1)
    again = replay(session)  # the session's own commands: the line that was current (2)
    rx, ry = rows(again)
    x, y = losses.series("d_loss").x, losses.series("d_loss").y
    assert again.step == tip2 and rx[-1] == tip2
    np.testing.assert_array_equal(rx[np.isfinite(ry)], x)  # the window's history of line 2, row for row
    np.testing.assert_array_equal(ry[np.isfinite(ry)], y)
    original = replay(line_session(session, 0))  # the original line, replayed from the same file
    ox, oy = rows(original)
    shared = [k for k in ox if k > s1 and k in g and np.isfinite(g[k])]  # the original as drawn, dimmed
    assert len(shared) >= 60 and all(g[k] == v for k, v in zip(ox, oy, strict=True) if k in shared)


def test_the_memory_line_names_pinned_branch_points(qtbot) -> None:
    """While a session's tree replays, the states pinned beyond the cap are said beside the store's memory."""
    from ganviz.qt.timeline import TimelineBar

    bar = TimelineBar()
    qtbot.addWidget(bar)
    bar.show_memory(84, 61 * 2**20, 64 * 2**20)
    assert bar.memory.text() == "kept 84 states, 61 MB of 64 MB"
    bar.show_memory(84, 61 * 2**20, 64 * 2**20, pinned=2, pinned_bytes=1153434)
    assert bar.memory.text() == "kept 84 states, 61 MB of 64 MB + 2 pinned branch points, 1.1 MB"
    bar.show_memory(0, 0, 0, "no past kept: too big", pinned=1, pinned_bytes=10)
    assert bar.memory.text() == "no past kept: too big"
