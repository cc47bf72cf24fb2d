"""Time travel (issue 18.5): the decimated store stays under its cap over a long run and keeps the recent steps;
a branch from a kept step with no change is the original run, bit for bit; a restored step shows the D field the
run had then."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganviz.core.commands import SetObjective
from ganviz.core.config import TrainConfig
from ganviz.core.timetravel import TimeStore, branch, record, snapshot_at, state_nbytes
from ganviz.core.trainer import Trainer

torch.set_num_threads(1)

TINY = dict(d_width=16, g_width=16, d_depth=2, g_depth=2, batch_size=32, n_view=32, kde_samples=64, grid_size=12,
            mode_samples=200, w1_samples=32, device="cpu", data="two-blobs", objective="ns", seed=4)


def test_a_100k_step_run_stays_under_the_cap_and_keeps_the_recent_steps() -> None:
    weights = np.zeros(1000, dtype=np.float32)  # 4000 bytes a state: the cap holds 50
    store = TimeStore(cap_bytes=200_000, every=1, per_tier=16)
    peak = 0
    for step in range(100_001):
        state = {"w": weights, "step": step}
        if step >= 50_000:  # the optimiser's state appears: states grow to 6000 bytes
            state["m"] = weights[:500]
        assert store.add(step, state)
        peak = max(peak, store.nbytes)
    assert peak <= 200_000
    assert store.nbytes == sum(state_nbytes(store.state_at(s)[1]) for s in store.steps())
    steps = store.steps()
    assert 20 <= len(steps) <= 200_000 // 6000 + 1
    assert steps[-16:] == list(range(99_985, 100_001))  # the last per_tier steps, every one
    assert steps[0] == 0  # the whole past stays covered, ever more coarsely
    gaps = np.diff(steps)
    ages = 100_000 - np.array(steps[:-1])
    assert (gaps <= np.maximum(ages, 1)).all()  # a state's neighbour is never further than its age
    assert gaps[-16:].max() == 1 and gaps[:5].min() > 1000  # fine recently, coarse far back
    kept, state = store.state_at(99_990)
    assert kept == state["step"] == 99_990
    kept, state = store.state_at(70_001)
    assert kept <= 70_001 and kept == state["step"] and kept in steps
    assert store.state_at(-1) is None
    # a larger cap keeps more: 16 per tier at every spacing
    big = TimeStore(cap_bytes=10_000_000, per_tier=16)
    for step in range(0, 100_001, 7):
        big.add(step, {"w": weights})
    spacings = [sp for sp, _, _ in big.resolution()]
    assert spacings == [1 * 2 ** i for i in range(len(spacings))] and big.steps()[0] == 0
    assert big.resolution()[0] == (1, 99_995 - 15 * 7, 99_995)
    assert big.describe() == (f"{len(big)} states, {big.nbytes / 1024:.1f} kB of 9.5 MB: every step from step "
                              f"99890, {len(big) - 16} older back to step 0")
    assert store.describe() == (f"{len(steps)} states, {store.nbytes / 1024:.1f} kB of 195.3 kB: every step from "
                                f"step 99985, {len(steps) - 16} older back to step 0")


def test_bad_use_is_refused_with_a_reason() -> None:
    store = TimeStore(cap_bytes=10_000, per_tier=4)
    store.add(3, {"w": np.zeros(10)})
    with pytest.raises(ValueError, match="not after the newest"):
        store.add(3, {"w": np.zeros(10)})
    with pytest.raises(ValueError, match="does not fit"):
        store.add(4, {"w": np.zeros(1000)})
    assert store.steps() == [3]
    sparse = TimeStore(every=10)
    assert not sparse.wants(5) and sparse.wants(10)
    assert not sparse.add(5, {}) and sparse.steps() == []


def run_with_store(steps: int, snap_at: int) -> tuple[Trainer, TimeStore, list, object]:
    t = Trainer(TrainConfig(**TINY))
    t.schedule(6, SetObjective("wgan-gp"))  # a live change before the branch point travels in the state
    store = TimeStore(cap_bytes=64 << 20, per_tier=4)
    rows, snap = [], None
    record(store, t)
    for _ in range(steps):
        t.train(1)
        rows += t.take_rows()
        record(store, t)
        if t.step == snap_at:
            snap = t.snapshot(with_metrics=True)
    return t, store, rows, snap


def flat(t: Trainer) -> list[torch.Tensor]:
    sd = t.state_dict()
    return [v for net in ("G", "D") for v in sd[net].values()] + [
        v for opt in ("opt_g", "opt_d") for entry in sd[opt]["state"].values() for v in entry.values()]


def test_a_branch_with_no_change_is_the_original_run() -> None:
    a, store, rows, snap = run_with_store(30, snap_at=22)
    assert store.steps()[-4:] == [27, 28, 29, 30] and 22 in store.steps()
    b = Trainer(TrainConfig(**{**TINY, "seed": 99}))  # another engine, another seed: everything comes from the state
    assert branch(b, store, 22) == 22 and b.step == 22 and b.config.objective == "wgan-gp"
    b_rows = []
    for _ in range(8):
        b.train(1)
        b_rows += b.take_rows()
    ref = [(s, r) for s, r in rows if s > 22]
    assert [s for s, _ in b_rows] == [s for s, _ in ref] == list(range(23, 31))
    for (_, x), (_, y) in zip(b_rows, ref, strict=True):
        assert x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)
    fa, fb = flat(a), flat(b)
    assert len(fa) == len(fb) > 8 and all(torch.equal(x, y) for x, y in zip(fa, fb, strict=True))
    assert torch.equal(a.gen.get_state(), b.gen.get_state())
    # the live run itself can go back and replay its own future, and a step between kept ones uses the one before
    assert branch(a, store, 23) == 22
    a.train(8)
    assert all(torch.equal(x, y) for x, y in zip(flat(a), fb, strict=True))
    # a branch with a change departs from the original
    c = Trainer(TrainConfig(**TINY))
    branch(c, store, 22)
    c.submit(SetObjective("lsgan"))
    c.train(1)
    assert not torch.equal(c.take_rows()[0][1]["d_loss"], ref[0][1]["d_loss"])
    with pytest.raises(ValueError, match="no state"):
        branch(c, TimeStore(), 5)
    # a fork keeps the past up to the branch point and grows on its own
    fork = store.fork(22)
    assert fork.steps()[-1] == 22 and set(fork.steps()) <= set(store.steps()) and fork.nbytes < store.nbytes
    assert record(fork, c) and fork.steps()[-1] == 23 and store.steps()[-1] == 30


def test_restoring_a_step_shows_the_d_field_the_run_had() -> None:
    a, store, _, snap = run_with_store(30, snap_at=22)
    past = snapshot_at(store, 22)
    assert past.step == snap.step == 22 and past.objective == "wgan-gp"
    np.testing.assert_allclose(past.field2d.values, snap.field2d.values, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(past.fake, snap.fake, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(past.d_fake, snap.d_fake, rtol=1e-5, atol=1e-6)
    assert past.metrics.keys() == snap.metrics.keys() and len(past.metrics) > 3
    for key, value in snap.metrics.items():
        assert past.metrics[key] == pytest.approx(value, rel=1e-5, abs=1e-7, nan_ok=True), key
    now = a.snapshot(with_metrics=False)  # the run moved on: its field differs from step 22's
    assert np.abs(now.field2d.values - snap.field2d.values).max() > 1e-4
    assert a.step == 30  # scrubbing did not touch the live run
    # a step between kept states shows the one before it
    kept = store.steps()
    between = next(s for s in range(1, 30) if s not in kept)
    assert snapshot_at(store, between, with_metrics=False).step == max(k for k in kept if k < between)


def test_an_ensemble_branches_through_the_same_protocol() -> None:
    from ganviz.core.ensemble import EnsembleTrainer

    cfg = TrainConfig(**{**TINY, "objective": "lsgan"})
    a = EnsembleTrainer(cfg, 3)
    store = TimeStore(per_tier=4)
    for _ in range(12):
        a.train(1)
        record(store, a)
    end = a.state_dict()
    b = EnsembleTrainer(cfg.replace(seed=50), 3)
    assert branch(b, store, 9) == 9
    b.train(3)
    got = b.state_dict()
    for net in ("G", "D"):  # the stacked weights of every seed
        assert len(got[net]) == len(end[net]) > 2
        assert all(torch.equal(x, y) for x, y in zip(got[net], end[net], strict=True))
    assert got["step"] == end["step"] == 12


def test_a_scrubber_reuses_its_engine_and_its_snapshots() -> None:
    from ganviz.core.timetravel import Scrubber

    a, store, _, snap = run_with_store(30, snap_at=22)
    scrub = Scrubber(store, cache=2)
    past = scrub.at(22, with_metrics=False)
    np.testing.assert_allclose(past.field2d.values, snap.field2d.values, rtol=1e-5, atol=1e-6)
    kept = store.steps()
    gap = next(s for s in range(24, 30) if s not in kept)
    below = max(k for k in kept if k < gap)
    first = scrub.at(gap, with_metrics=False)
    assert first.step == below != 22 and scrub.at(below, with_metrics=False) is first  # same kept state: cached
    early = scrub.at(3, with_metrics=False)  # before step 6's objective change: another config, another engine
    assert early.objective == "ns" and past.objective == "wgan-gp"
    assert scrub.engines_made == 2
    assert scrub.at(22, with_metrics=False) is not past  # evicted (cache of 2), made again, still the same field
    np.testing.assert_array_equal(scrub.at(22, with_metrics=False).field2d.values, past.field2d.values)


def test_random_stores_keep_their_invariants() -> None:
    rng = np.random.default_rng(7)
    for _ in range(60):
        per_tier, every = int(rng.integers(2, 6)), int(rng.integers(1, 4))
        cap = int(rng.integers(per_tier + 1, 4 * per_tier + 8)) * 100
        store = TimeStore(cap_bytes=cap, every=every, per_tier=per_tier)
        step, added = 0, []
        for _ in range(int(rng.integers(1, 400))):
            step += int(rng.integers(1, 4))
            size = 100 if rng.random() < 0.8 else 60
            kept = store.add(step, {"w": np.zeros(size // 4, dtype=np.float32), "step": step})
            assert kept == (step % every == 0)
            added += [step] if kept else []
            assert store.nbytes <= cap
            steps = store.steps()
            assert steps == sorted(set(steps)) and store.nbytes == sum(state_nbytes(store.state_at(s)[1])
                                                                         for s in steps)
            assert all(store.state_at(s)[1]["step"] == s for s in steps)
        if added:  # tier 0: the last per_tier steps added are all there, and so is the first one
            assert store.steps()[-per_tier:] == added[-per_tier:] and store.steps()[0] == added[0]
