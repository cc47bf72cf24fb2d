"""Compare mode: runs in lock-step are independent and bit-identical to single runs."""

from __future__ import annotations

import pickle
from multiprocessing.reduction import ForkingPickler

import numpy as np
import pytest
import torch

from ganviz.core.commands import Reset, SetLearningRates, SetObjective, SetRunning, StepBoth, StepD
from ganviz.core.compare import CompareTrainer, ForRun, compare_workers, comparison_configs, split_runs
from ganviz.core.config import TrainConfig
from ganviz.core.snapshot import Snapshot
from ganviz.core.trainer import HISTORY_KEYS, Trainer

torch.set_num_threads(1)
BASE = TrainConfig(data="ring8", d_width=32, g_width=32, d_depth=2, g_depth=2, batch_size=64,
                   mode_samples=500, w1_samples=64)


def history_equal(a, b) -> bool:
    return np.array_equal(a.steps, b.steps) and all(
        np.array_equal(a.values[k], b.values[k], equal_nan=True) for k in HISTORY_KEYS)


def test_runs_start_from_identical_weights_and_differ_only_by_objective():
    ct = CompareTrainer(comparison_configs(BASE, ["ns", "wgan-gp"]))
    a, b = ct.runs
    assert a.objective.name == "ns" and b.objective.name == "wgan-gp"
    for pa, pb in zip(list(a.G.parameters()) + list(a.D.parameters()),
                      list(b.G.parameters()) + list(b.D.parameters()), strict=True):
        assert torch.equal(pa, pb)


def test_compare_runs_are_bit_identical_to_single_runs_with_the_same_commands():
    cfgs = comparison_configs(BASE, ["ns", "hinge", "wgan-gp"])
    ct = CompareTrainer(cfgs)
    singles = [Trainer(c) for c in cfgs]
    ct.train(20)
    ct.submit(ForRun(1, SetLearningRates(d_lr=3e-4)))
    ct.submit(SetLearningRates(g_lr=2e-4))  # to every run
    ct.train(20)
    for i, t in enumerate(singles):
        t.train(20)
        if i == 1:
            t.submit(SetLearningRates(d_lr=3e-4))
        t.submit(SetLearningRates(g_lr=2e-4))
        t.train(20)
    snap = ct.snapshot(with_fields=False)
    for run_snap, t in zip(snap.runs, singles, strict=True):
        single = t.snapshot(with_fields=False)
        assert history_equal(run_snap.history, single.history)
        assert run_snap.metrics == single.metrics or all(
            (v == single.metrics[k]) or (v != v and single.metrics[k] != single.metrics[k])
            for k, v in run_snap.metrics.items())
    assert ct.runs[1].opt_d.param_groups[0]["lr"] == 3e-4 and ct.runs[0].opt_d.param_groups[0]["lr"] == BASE.d_lr
    assert all(r.opt_g.param_groups[0]["lr"] == 2e-4 for r in ct.runs)


def test_lock_step_counters_and_global_manual_steps():
    ct = CompareTrainer(comparison_configs(BASE.replace(d_steps=2), ["ns", "lsgan"]))
    ct.train(3)
    assert [r.step for r in ct.runs] == [3, 3] and [r.d_updates for r in ct.runs] == [6, 6]
    ct.submit(SetRunning(False))
    ct.submit(StepD())
    ct.submit(StepBoth())
    for cmd in ct.apply_pending():
        ct.run_manual(cmd)
    assert not ct.running
    assert [r.step for r in ct.runs] == [5, 5]
    assert [(r.d_updates, r.g_updates) for r in ct.runs] == [(9, 4), (9, 4)]


def test_per_run_objective_switch_is_logged_on_that_run_only():
    ct = CompareTrainer(comparison_configs(BASE, ["ns", "wgan-gp"]))
    ct.train(2)
    ct.submit(ForRun(0, SetObjective("minimax")))
    ct.train(1)
    snap = ct.snapshot(with_fields=False)
    assert [e.kind for e in snap.runs[0].events] == ["objective"]
    assert snap.runs[1].events == ()
    assert ct.runs[0].objective.name == "minimax" and ct.runs[1].objective.name == "wgan-gp"


def test_reset_resets_every_run_and_divergence_pauses_the_comparison():
    ct = CompareTrainer(comparison_configs(BASE, ["ns", "hinge"]))
    ct.train(5)
    ct.submit(Reset())
    ct.apply_pending()
    assert [r.step for r in ct.runs] == [0, 0]
    ct.train(3)
    ct.snapshot(with_fields=False)  # a good state to roll back to
    with torch.no_grad():
        next(ct.runs[1].D.parameters()).fill_(float("nan"))
    snap = ct.snapshot(with_fields=False)
    assert not ct.running and not snap.running
    assert any(e.kind == "diverged" for e in snap.runs[1].events)
    assert all(torch.isfinite(p).all() for p in ct.runs[1].D.parameters())


def test_lazy_compare_snapshot_materialises_every_run():
    ct = CompareTrainer(comparison_configs(BASE, ["ns", "wgan"]))
    it = ct.run(snapshot_interval=0.0)
    snap = next(s for s in it if s is not None)
    assert all(s.fake.shape[0] == 0 for s in snap.runs)  # lazy
    full = snap.materialized()
    assert all(s.fake.shape == (BASE.n_view, 2) and s.field2d is not None for s in full.runs)


@pytest.mark.parametrize("n", [1, 5])
def test_run_count_is_bounded(n):
    with pytest.raises(ValueError, match="2 to 4"):
        CompareTrainer([BASE] * n)


def test_runs_split_over_workers_with_a_one_core_guard():
    assert split_runs(2, 2) == [[0], [1]]
    assert split_runs(3, 2) == [[0], [1, 2]]  # the coordinator, which also merges snapshots, gets the fewest
    assert split_runs(4, 2) == [[0, 1], [2, 3]]
    assert split_runs(4, 1) == [[0, 1, 2, 3]]
    assert compare_workers(2, cores=1) == 1  # one core: parallel buys nothing, runs step one after the other
    assert compare_workers(4, cores=2) == 2 and compare_workers(2, cores=16) == 2


def test_parallel_runs_in_shard_processes_are_bit_identical_to_single_runs():
    cfgs = comparison_configs(BASE, ["ns", "hinge", "wgan-gp"])
    ct = CompareTrainer(cfgs, workers=2)  # run 0 here, runs 1 and 2 in one shard process
    try:
        assert ct.workers == 2 and len(ct.runs) == 1 and len(ct.shard_pids) == 1
        singles = [Trainer(c) for c in cfgs]
        ct.train(15)
        mid = ct.snapshot(with_fields=False)  # a barrier: every run at the same step
        assert [s.step for s in mid.runs] == [15, 15, 15]
        ct.submit(ForRun(2, SetLearningRates(d_lr=3e-4)))
        ct.submit(SetLearningRates(g_lr=2e-4))  # to every run
        ct.train(10)
        ct.submit(SetRunning(False))
        ct.submit(StepD())
        for cmd in ct.apply_pending():
            ct.run_manual(cmd)
        ct.submit(ForRun(1, SetObjective("minimax")))
        ct.submit(StepBoth())
        for cmd in ct.apply_pending():
            ct.run_manual(cmd)
        snap = ct.snapshot(with_fields=False)
        assert not snap.running and [s.step for s in snap.runs] == [27, 27, 27]
        assert [s.objective for s in snap.runs] == ["ns", "minimax", "wgan-gp"]
        for i, t in enumerate(singles):
            t.train(15)
            t.snapshot(with_fields=False)
            if i == 2:
                t.submit(SetLearningRates(d_lr=3e-4))
            t.submit(SetLearningRates(g_lr=2e-4))
            t.train(10)
            t.submit(SetRunning(False))
            t.apply_pending()
            t.step_d()
            if i == 1:
                t.submit(SetObjective("minimax"))
                t.apply_pending()
            t.iteration()
        for run_snap, t in zip(snap.runs, singles, strict=True):
            single = t.snapshot(with_fields=False)
            assert history_equal(run_snap.history, single.history)
            assert run_snap.metrics["w1"] == single.metrics["w1"]
            assert (run_snap.d_updates, run_snap.g_updates) == (single.d_updates, single.g_updates)
        lazy = ct.snapshot(lazy=True)  # shard snapshots cross a process boundary and materialise here
        lazy.prepare_transfer()
        sent = pickle.loads(ForkingPickler.dumps(lazy))  # on to the window: shard runs go as their bytes
        assert lazy.runs[1]._snap is None and all(isinstance(s, Snapshot) for s in sent.runs)
        assert all(s.fake.shape == (BASE.n_view, 2) for s in sent.materialized().runs)
        assert all(s.fake.shape == (BASE.n_view, 2) for s in lazy.materialized().runs)
    finally:
        pids = ct.shard_pids
        ct.close()
    assert pids and not ct.shard_pids


def test_trainer_process_runs_a_comparison_over_shard_processes_and_stops_them():
    import time

    from ganviz.core.process import TrainerProcess

    proc = TrainerProcess(comparison_configs(BASE, ["ns", "lsgan"]), interval=0.01, workers=2)
    proc.start()

    def next_snap():
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 60:
            snap = proc.receive(0.05)
            if snap is not None:
                proc.frame_done()
                return snap
        raise AssertionError("no snapshot from the training process")

    try:
        assert proc.workers == 2 and len(proc._shards) == 1
        snap = next_snap()
        assert [s.objective for s in snap.runs] == ["ns", "lsgan"]
        proc.submit(SetRunning(False))
        while snap.running:
            snap = next_snap()
        paused_at = [s.step for s in snap.runs]
        assert paused_at[0] == paused_at[1]
        proc.submit(StepD())
        while snap.step == paused_at[0]:
            snap = next_snap()
        assert [s.step for s in snap.runs] == [paused_at[0] + 1] * 2
        assert [s.d_updates for s in snap.runs][0] == [s.d_updates for s in snap.runs][1]
    finally:
        assert proc.stop(1.0)
    assert not proc.is_alive() and not any(p.is_alive() for p in proc._shards)
