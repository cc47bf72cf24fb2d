"""The branch tree (issue 18.5): every line of a run, saved as an ordinary session, replays exactly."""

from __future__ import annotations

import torch

from ganviz.core.branches import BranchTree
from ganviz.core.commands import SetLearningRates, SetObjective
from ganviz.core.config import TrainConfig
from ganviz.core.timetravel import TimeStore
from ganviz.core.trainer import Trainer
from ganviz.export.replay import replay
from ganviz.export.session import dumps_session, loads_session, session_from_run

torch.set_num_threads(1)

CFG = TrainConfig(d_width=16, g_width=16, d_depth=1, g_depth=2, batch_size=32, n_view=16, kde_samples=64,
                  grid_size=8, mode_samples=100, w1_samples=16, device="cpu", data="ring8", objective="ns", seed=8)


def weights(t: Trainer) -> list[torch.Tensor]:
    sd = t.state_dict()
    return [*sd["G"].values(), *sd["D"].values()]


def run(tree: BranchTree, steps: int) -> None:
    for _ in range(steps):
        tree.engine.train(1)
        tree.record()


def test_each_line_replays_from_its_session() -> None:
    t = Trainer(CFG)
    tree = BranchTree(t, TimeStore(per_tier=4))
    t.schedule(5, SetObjective("lsgan"))
    t.schedule(14, SetLearningRates(g_lr=5e-3))  # applied after step 14's state: not part of a branch from 14
    run(tree, 20)  # the original: ns, then lsgan from step 5, G's learning rate from step 14
    original = [w.clone() for w in weights(t)]
    b1 = tree.branch(14)  # rewind to 14 and switch to WGAN-GP
    assert (b1.parent, b1.from_step, t.step) == (0, 14, 14)
    t.submit(SetObjective("wgan-gp"))
    run(tree, 6)
    b1_end = [w.clone() for w in weights(t)]
    b2 = tree.branch(17)  # a branch of the branch, at a step of its own
    assert (b2.parent, b2.from_step) == (1, 17) and tree.path() == [0, 1, 2]
    t.submit(SetLearningRates(d_lr=3e-3))
    run(tree, 5)
    assert tree.to_dict() == [{"id": 0, "parent": None, "from_step": 0, "tip": 20},
                              {"id": 1, "parent": 0, "from_step": 14, "tip": 20},
                              {"id": 2, "parent": 1, "from_step": 17, "tip": 22}]
    log, _ = tree.lineage(2)
    assert [(s, type(c).__name__) for s, c in log] == [(5, "SetObjective"), (14, "SetObjective"),
                                                       (17, "SetLearningRates")]
    for line, end, tip in ((0, original, 20), (1, b1_end, 20), (2, weights(t), 22)):
        session = session_from_run(CFG, *tree.lineage(line), tip)
        session = loads_session(dumps_session(session))  # through the file format
        again = replay(session)
        assert again.step == tip
        assert all(torch.equal(x, y) for x, y in zip(weights(again), end, strict=True)), line
    # the lines differ from each other (the test would pass trivially otherwise)
    assert not torch.equal(original[0], b1_end[0])


def test_a_branch_before_any_kept_state_is_refused() -> None:
    t = Trainer(CFG)
    t.train(3)
    tree = BranchTree(t, TimeStore(every=10))
    try:
        tree.branch(2)
    except ValueError as e:
        assert "no state" in str(e)
    else:
        raise AssertionError("branching before the first kept state must fail")
    assert tree.current == 0 and len(tree.branches) == 1 and t.step == 3


def test_a_line_with_a_reset_and_a_branch_from_an_older_line() -> None:
    from ganviz.core.commands import Reset

    t = Trainer(CFG)
    tree = BranchTree(t, TimeStore(per_tier=4))
    t.schedule(9, SetObjective("hinge"))  # applied at step 9, before the reset
    run(tree, 12)
    t.submit(Reset(seed=21))  # the count restarts at 0; the line's store starts afresh (no ValueError)
    run(tree, 10)
    assert t.step == 10 and tree.branches[0].store.steps()[0] >= 1 and tree.branches[0].store.newest == 10
    original = [w.clone() for w in weights(t)]
    b1 = tree.branch(7)  # after the reset: the pre-reset entries (step 9 > 7 included) stay in the lineage
    t.submit(SetObjective("wgan-gp"))
    run(tree, 4)
    log, events = tree.lineage(b1.id)
    assert [type(c).__name__ for _, c in log] == ["SetObjective", "Reset", "SetObjective"]
    b1_end = [w.clone() for w in weights(t)]
    b2 = tree.branch(9, line_id=0)  # back on the original line's past, from another line
    assert (b2.parent, b2.from_step) == (0, 9)
    run(tree, 1)
    for line, end, tip in ((0, original, 10), (1, b1_end, 11), (2, weights(t), 10)):
        again = replay(loads_session(dumps_session(session_from_run(CFG, *tree.lineage(line), tip))))
        assert again.step == tip
        assert all(torch.equal(x, y) for x, y in zip(weights(again), end, strict=True)), line
    # with no change after the branch, line 2 is the original line at its step 10
    assert all(torch.equal(x, y) for x, y in zip(weights(t), original, strict=True))


def test_live_timeline_answers_the_window() -> None:
    """The training process's side (core.branches.LiveTimeline): recording on the engine's step hook, the past as
    a lazy snapshot equal to a fresh run at that step, a branch with its event, the cap, the session's lines."""
    import numpy as np

    from ganviz.core.branches import DEFAULT_EVERY, LiveTimeline
    from ganviz.export.session_branches import line_session

    coarse = Trainer(CFG)  # the window's default spacing: every DEFAULT_EVERY-th step (a copy costs ~7% of a step)
    coarse.step_hook = LiveTimeline(coarse).record
    coarse.train(35)
    assert DEFAULT_EVERY == 10 and coarse.step_hook.__self__.info()["steps"] == [0, 10, 20, 30]

    t = Trainer(CFG)
    tl = LiveTimeline(t, every=1)  # every step, as a finer timeline would keep
    t.step_hook = tl.record
    t.train(40)
    info = tl.info()
    assert info["steps"][0] == 0 and info["steps"][-16:] == list(range(25, 41)) and info["step"] == 40
    past = tl.past(30)
    snap = past["snapshot"]
    assert (past["step"], past["asked"], snap.history.steps.size, snap.events) == (30, 30, 0, ())
    fresh = Trainer(CFG)
    fresh.train(30)
    truth = fresh.snapshot()
    shown = past["snapshot"].materialized()
    np.testing.assert_allclose(shown.field2d.values, truth.field2d.values, rtol=0, atol=1e-6)
    assert shown.metrics["w1"] == truth.metrics["w1"] and t.step == 40  # the live run is untouched
    answer = tl.branch(30)
    assert (answer["step"], answer["line"], t.step) == (30, 1, 30)
    assert [e.kind for e in t.events][-1] == "branch" and t.events[-1].detail["from_step"] == 30
    assert len(tl.tree.branches[0].store) == 0  # only the current line keeps states
    t.submit(SetObjective("lsgan"))
    t.train(10)
    small = tl.info(12 * (tl.store.nbytes // len(tl.store)) + 1)  # a smaller cap thins the older states
    assert small["nbytes"] <= small["cap_bytes"] and len(small["steps"]) < len(info["steps"])
    log = tl.run_log(CFG)
    assert [b["id"] for b in log["branches"]] == [0, 1] and log["step"] == 40
    session = loads_session(dumps_session(session_from_run(CFG, log["command_log"], log["events"], log["step"],
                                                           branches=log["branches"])))
    assert [(b.id, b.parent, b.from_step, b.tip) for b in session.branches] == [(0, None, 0, 40), (1, 0, 30, 40)]
    assert all(torch.equal(a, b) for a, b in zip(weights(replay(line_session(session, 1))), weights(t), strict=True))
    assert replay(line_session(session, 0)).step == 40


def test_session_branch_table_is_checked() -> None:
    import pytest

    from ganviz.export.session import SessionError, session_from_dict, session_to_dict

    data = session_to_dict(session_from_run(CFG, [], [], 10))
    data["branches"] = [{"id": 0, "from_step": 0, "tip": 10, "commands": []},
                        {"id": 1, "parent": 7, "from_step": 4, "tip": 9, "commands": []}]
    with pytest.raises(SessionError, match=r"branches\[1\]: parent 7 is not a line listed before it"):
        session_from_dict(data)
    data["branches"][1]["parent"] = 0
    data["branches"][1]["commands"] = [{"step": 4, "command": "SetObjective", "args": {"name": "nope"}}]
    with pytest.raises(SessionError, match=r"branches\[1\]\.commands\[0\]"):
        session_from_dict(data)


def test_pinned_branch_points_survive_decimation_and_the_plan_finds_each_lines_own_changes() -> None:
    """A replayed session pins its branch points: the tiny store below drops step 9 long before the branch, the
    pin keeps it (from the line that was live at 9, also for a branch of a later line at a step of its past)."""
    from ganviz.export.session_branches import phase_segments, tree_plan

    t = Trainer(CFG)
    tree = BranchTree(t, TimeStore(per_tier=2))
    tree.pin([9])
    t.schedule(4, SetObjective("lsgan"))
    run(tree, 30)
    assert 9 not in tree.branches[0].store.steps() and (0, 9) in tree.pinned
    headless = Trainer(CFG)
    headless.schedule(4, SetObjective("lsgan"))
    headless.train(9)
    b1 = tree.branch(9)
    assert (b1.from_step, t.step) == (9, 9) and 9 in b1.store.steps()
    for a, b in zip(weights(t), weights(headless), strict=True):
        assert torch.equal(a, b)
    t.submit(SetObjective("wgan-gp"))
    run(tree, 5)
    b2 = tree.branch(9, 1)  # line 1's state at 9 is the original's (its shared past): found through the parent
    assert (b2.parent, b2.from_step) == (1, 9)
    for a, b in zip(weights(t), weights(headless), strict=True):
        assert torch.equal(a, b)
    run(tree, 3)
    assert tree.pin([]) == [] and tree.pinned == {}

    lines = [{**b, "command_log": tree.lineage(b["id"])[0], "events": []} for b in tree.to_dict()]
    session = loads_session(dumps_session(session_from_run(CFG, *tree.lineage(), t.step, branches=lines)))
    plan = tree_plan(session)
    assert [(p.line.id, p.line.from_step, p.start) for p in plan] == [(0, 0, 0), (1, 9, 1), (2, 9, 1)]
    assert [[(e.step, e.command) for e in seg] for seg in phase_segments(plan[1])] == [
        [(9, SetObjective("wgan-gp"))]]
    assert phase_segments(plan[2]) == [[]]  # line 2 changed nothing: it repeats line 1's shared past from 9
    import dataclasses

    import pytest

    bad = dataclasses.replace(session, branches=session.branches[:2])  # the last line is not the session's own
    with pytest.raises(ValueError, match="not the session's own line"):
        tree_plan(bad)


def test_a_model_too_big_for_the_timeline_trains_without_it() -> None:
    """A state that does not fit the timeline's cap (here 4 MB: G and D 3 x 512 with Adam, against 17 states in
    64 MB) turns recording off with the reason; the engine still builds and trains (it raised in the training
    process: 'Training stopped with an error')."""
    from ganviz.core.branches import LiveTimeline

    t = Trainer(TrainConfig(**{**CFG.__dict__, "d_width": 512, "g_width": 512, "d_depth": 3, "g_depth": 3}))
    tl = LiveTimeline(t)
    t.step_hook = tl.record
    t.train(3)
    info = tl.info()
    assert t.step == 3 and info["steps"] == [] and "does not fit" in info["disabled"]


def test_pinned_states_beyond_the_store_are_counted_in_the_memory_line() -> None:
    """The timeline's memory line counts the states a session's replay pins outside the store's cap; a pinned
    state the store also keeps is counted once (in the store)."""
    from ganviz.core.branches import LiveTimeline
    from ganviz.core.timetravel import state_nbytes

    t = Trainer(CFG)
    tl = LiveTimeline(t, every=10)
    t.step_hook = tl.record
    tl.pin([10, 13])  # 10 is on the store's grid (kept there too), 13 is not (a copy beside the store)
    t.train(20)
    info = tl.info()
    own = state_nbytes(tl.tree.pinned[(0, 13)])
    assert 10 in info["steps"] and 13 not in info["steps"] and own > 0
    assert (info["pinned"], info["pinned_bytes"]) == (2, own)
    assert tl.tree.pinned[(0, 10)] is tl.store.state_at(10)[1]
    tl.pin([])
    assert (tl.info()["pinned"], tl.info()["pinned_bytes"]) == (0, 0)
