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
