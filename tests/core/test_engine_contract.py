"""One contract for every training engine (ganviz.core.engine.Engine): the single run (Trainer), the batched
ensemble of seeds (EnsembleTrainer) and the comparison (CompareTrainer) must each take live changes, apply a
scheduled command at exactly its step, roll back, move devices (and refuse one this machine lacks), save and
load their state exactly, and train deterministically from a seed. The comparison runs with workers=1 (every
run in this process) and, for the protocol's calls, with workers=2 ("compare-sharded": run 1 in a shard process,
reached through the pipe's messages); its twin is the same comparison with workers=1, so a sharded comparison
must also be bit-identical to one in a single process. A killed shard makes every call raise, not hang."""

from __future__ import annotations

import io
import os
import signal
import time

import numpy as np
import pytest
import torch

from ganviz.core.commands import SetConfig, SetLearningRates, SetObjective, SetRunning
from ganviz.core.compare import CompareTrainer, ShardLink, comparison_configs, start_shards, stop_shards
from ganviz.core.config import TrainConfig
from ganviz.core.devices import fall_back_to_cpu
from ganviz.core.engine import DeviceError, Engine
from ganviz.core.ensemble import EnsembleTrainer
from ganviz.core.trainer import Trainer

torch.set_num_threads(1)

TINY = dict(d_width=8, g_width=8, d_depth=1, g_depth=1, batch_size=16, n_view=16, kde_samples=64, grid_size=8,
            mode_samples=100, w1_samples=16, device="cpu", data="ring8", objective="ns")
KINDS = ("trainer", "ensemble", "compare")
SHARDED = "compare-sharded"  # a comparison whose run 1 trains in a shard process
_OPEN: list[CompareTrainer] = []
_POOL: dict[TrainConfig, list[ShardLink]] = {}  # shards started ahead, by the config of their run
_POOL_PROCS: list = []


def _shard_for(configs: list[TrainConfig]) -> list[ShardLink]:
    """A shard process for run 1. Every shard this file needs is started together, the first time one is asked
    for: a shard takes seconds to start (importing torch), and side by side the starts overlap."""
    if not _POOL_PROCS:
        base = configs[1].replace(seed=3)
        wanted = [base] * 8 + [base.replace(seed=99)]
        links, _POOL_PROCS[:] = start_shards(wanted, [[i] for i in range(len(wanted))])
        for link, cfg in zip(links, wanted, strict=True):
            _POOL.setdefault(cfg, []).append(link)
    if _POOL.get(configs[1]):
        link = _POOL[configs[1]].pop()
        return [ShardLink(link.conn, link.progress, [1])]
    links, procs = start_shards(configs, [[1]])
    _POOL_PROCS.extend(procs)
    return links


def make(kind: str, seed: int = 3, **changes) -> Engine:
    cfg = TrainConfig(**{**TINY, "seed": seed, **changes})
    if kind == "trainer":
        return Trainer(cfg)
    if kind == "ensemble":
        return EnsembleTrainer(cfg, 2)
    configs = comparison_configs(cfg, ["ns", "wgan-gp"])
    engine = CompareTrainer(configs, links=_shard_for(configs) if kind == SHARDED else None)
    _OPEN.append(engine)
    return engine


def twin_of(kind: str) -> str:
    """The kind that must train bit for bit as `kind` (a sharded comparison's twin runs in one process)."""
    return "compare" if kind == SHARDED else kind


@pytest.fixture(autouse=True)
def _close_comparisons():
    yield
    while _OPEN:
        engine = _OPEN.pop()
        engine.close()  # closes its shard's pipe: the shard ends


@pytest.fixture(autouse=True, scope="module")
def _stop_shards():
    yield
    for links in _POOL.values():
        for link in links:
            link.conn.close()
    stop_shards(_POOL_PROCS, 2.0)


def history(engine: Engine) -> tuple[np.ndarray, np.ndarray]:
    """(steps, d_loss) of the rows since the last snapshot; d_loss has one column per seed or run."""
    return rows(engine.snapshot(with_metrics=False, with_fields=False))


def rows(snap) -> tuple[np.ndarray, np.ndarray]:
    """(steps, d_loss) of a snapshot's history rows; d_loss has one column per seed or run."""
    parts = getattr(snap, "runs", None) or (snap,)
    d_loss = np.stack([np.asarray(p.history.values["d_loss"]).reshape(len(p.history.steps), -1) for p in parts], 1)
    return np.asarray(parts[0].history.steps), d_loss.reshape(len(parts[0].history.steps), -1)


def weights(engine: Engine) -> list[torch.Tensor]:
    """Every weight of every network (seed, run), as copies."""
    def tensors(tree) -> list[torch.Tensor]:
        if isinstance(tree, torch.Tensor):
            return [tree]
        if isinstance(tree, dict):
            return [t for v in tree.values() for t in tensors(v)]
        if isinstance(tree, (list, tuple)):
            return [t for v in tree for t in tensors(v)]
        return []

    sd = engine.state_dict()
    return [t for s in sd.get("runs", [sd]) for t in tensors([s["G"], s["D"]])]


def objectives(engine: Engine) -> list[str]:
    return [r.config.objective for r in getattr(engine, "runs", [engine])]


@pytest.fixture(params=KINDS)
def kind(request) -> str:
    return request.param


@pytest.fixture(params=(*KINDS, SHARDED))
def any_kind(request) -> str:
    """Every engine, and a comparison whose second run trains in a shard process."""
    return request.param


def test_every_engine_is_an_engine(kind):
    engine = make(kind)
    assert isinstance(engine, Engine)
    for run in getattr(engine, "runs", []):
        assert isinstance(run, Engine)
    assert not isinstance(object(), Engine) and not isinstance(engine.config, Engine)


def test_a_live_change_applies_at_the_next_step_boundary(kind):
    engine, twin = make(kind), make(kind)
    engine.train(3)
    twin.train(3)
    engine.submit(SetObjective("hinge"))
    engine.submit(SetLearningRates(d_lr=3e-3, g_lr=1e-3))
    assert objectives(engine) != ["hinge"] * len(objectives(engine))  # queued, not applied yet
    engine.train(2)
    twin.train(2)
    assert objectives(engine) == ["hinge"] * len(objectives(engine))
    for run in getattr(engine, "runs", [engine]):
        assert run.opt_d.param_groups[0]["lr"] == 3e-3 and run.opt_g.param_groups[0]["lr"] == 1e-3
    steps, changed = history(engine)
    _, plain = history(twin)
    assert list(steps) == [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(changed[:3], plain[:3])  # the same run up to the change
    assert not np.allclose(changed[3:], plain[3:])  # then another loss is trained (and shown)


@pytest.mark.parametrize("at", [4, 5])
def test_a_scheduled_command_applies_at_exactly_its_step(kind, at):
    engine, twin = make(kind), make(kind)
    engine.schedule(at, SetObjective("lsgan"))
    for step in range(7):
        engine.train(1)
        twin.train(1)
        assert objectives(engine)[0] == ("lsgan" if step + 1 > at else objectives(twin)[0]), step
    steps, changed = history(engine)
    _, plain = history(twin)
    first = at  # the row of step at + 1 is the first trained with the new objective
    np.testing.assert_array_equal(changed[:first], plain[:first])
    assert not np.allclose(changed[first], plain[first])
    events = [e for r in getattr(engine, "runs", [engine]) for e in r.events if e.kind == "objective"]
    assert events and {e.step for e in events} == {at}


def test_rollback_restores_the_last_good_state(any_kind):
    engine = make(any_kind)
    engine.train(4)
    engine.snapshot(with_metrics=False, with_fields=False)  # a finite window: the last good state, step 4
    good = weights(engine)
    engine.train(3)
    assert not all(torch.equal(a, b) for a, b in zip(good, weights(engine), strict=True))
    assert engine.rollback() == 4
    assert all(torch.equal(a, b) for a, b in zip(good, weights(engine), strict=True))
    assert engine.step == 7  # the timeline goes on
    engine.train(2)
    assert engine.step == 9 and all(bool(torch.isfinite(w).all()) for w in weights(engine))


def test_moving_to_the_cpu_keeps_the_run(any_kind):
    engine, twin = make(any_kind), make(twin_of(any_kind))
    engine.train(3)
    twin.train(3)
    assert engine.to("cpu") == [] and engine.device.type == "cpu"
    engine.train(3)
    twin.train(3)
    np.testing.assert_array_equal(history(engine)[1], history(twin)[1])
    if "compare" in any_kind:  # every run was asked to move (a shard's too): reseed=True replaces each stream
        assert engine.to("cpu", reseed=True) == ["run 0: gen", "run 1: gen"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="auto must resolve to the CPU here")
def test_a_live_device_change_moves_the_run(any_kind):
    """A device setting changed live moves every run (Engine.to; a shard's runs too) instead of rebuilding it:
    cpu -> auto (the CPU here) goes on bit for bit, with a "device" event per run and no reset."""
    engine, twin = make(any_kind), make(twin_of(any_kind))
    engine.train(3)
    twin.train(3)
    engine.submit(SetConfig({"device": "auto"}))
    engine.train(3)
    twin.train(3)
    snap = engine.snapshot(with_metrics=False, with_fields=False)
    parts = getattr(snap, "runs", None) or (snap,)
    assert [[(e.kind, e.step) for e in p.events] for p in parts] == [[("device", 3)]] * len(parts)
    assert [p.config.device for p in parts] == ["auto"] * len(parts) and engine.step == 6
    steps, moved = rows(snap)
    assert list(steps) == [1, 2, 3, 4, 5, 6]
    np.testing.assert_array_equal(moved, history(twin)[1])


def test_an_unavailable_device_is_refused_and_the_run_goes_on_on_the_cpu(any_kind, monkeypatch):
    engine, twin = make(any_kind), make(twin_of(any_kind))
    engine.train(2)
    twin.train(2)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceError, match="cuda was asked for, but CUDA is not available on this machine"):
        engine.to("cuda")
    with pytest.raises(DeviceError, match="not a device name"):
        engine.to("gpu please")
    assert engine.device.type == "cpu"
    engine.train(3)
    twin.train(3)
    np.testing.assert_array_equal(history(engine)[1], history(twin)[1])  # nothing was touched


def test_out_of_memory_on_the_cpu_goes_through_the_protocol(any_kind):
    engine = make(any_kind)
    engine.train(3)
    engine.snapshot(with_metrics=False, with_fields=False)
    good = weights(engine)
    engine.train(2)
    ev = fall_back_to_cpu(engine, torch.OutOfMemoryError("CUDA out of memory"), "a training step")
    assert ev.kind == "error" and "out of memory on the CPU at step 5" in ev.label
    assert ("G 1x8, D 1x8, 2 runs;" in ev.label) == (any_kind != "trainer")  # every seed or run, a shard's too
    assert not engine.running and all(torch.equal(a, b) for a, b in zip(good, weights(engine), strict=True))
    snap = engine.snapshot(with_metrics=False, with_fields=False)
    assert not snap.running and any(e.kind == "error" for e in snap.events)
    engine.submit(SetRunning(True))
    engine.train(1)
    assert engine.running


def test_out_of_memory_on_cuda_moves_to_the_cpu_and_rolls_back(kind):
    """This machine has no GPU: the run is told it is on CUDA just before the error (as tests/core/test_devices)."""
    engine = make(kind)
    engine.train(3)
    engine.snapshot(with_metrics=False, with_fields=False)
    good = weights(engine)
    engine.train(2)
    for run in getattr(engine, "runs", [engine]):
        run.device = torch.device("cuda")
    ev = fall_back_to_cpu(engine, torch.OutOfMemoryError("CUDA out of memory"), "a training step")
    assert ev.kind == "device" and ev.label.startswith("CUDA ran out of memory at step 5 (batch 16, G 1x8, D 1x8")
    assert "continuing on the CPU" in ev.label and "no longer bit-identical" in ev.label  # the RNGs were reseeded
    assert engine.device.type == "cpu" and engine.running
    assert all(torch.equal(a, b) for a, b in zip(good, weights(engine), strict=True))
    engine.train(2)
    assert engine.step == 7 and all(bool(torch.isfinite(w).all()) for w in weights(engine))


def test_a_state_dict_continues_the_run_exactly(any_kind):
    engine = make(any_kind)
    engine.train(5)
    engine.snapshot(with_metrics=False, with_fields=False)
    buf = io.BytesIO()
    torch.save(engine.state_dict(), buf)  # plain values and tensors: loads without unpickling objects
    state = torch.load(io.BytesIO(buf.getvalue()), weights_only=True)
    assert [s["config"]["objective"] for s in state.get("runs", [state])] == objectives(make(twin_of(any_kind)))
    fresh = make(any_kind, seed=99)  # another seed: everything must come from the state
    fresh.load_state_dict(state)
    assert fresh.step == engine.step == 5 and objectives(fresh) == objectives(engine)
    engine.train(6)
    fresh.train(6)
    steps, a = history(engine)
    steps_b, b = history(fresh)
    assert list(steps) == list(steps_b) == list(range(6, 12))
    np.testing.assert_array_equal(a, b)
    assert all(torch.equal(u, v) for u, v in zip(weights(engine), weights(fresh), strict=True))


def test_a_state_dict_brings_its_config_and_a_broken_one_leaves_the_run_alone(kind):
    source = make(kind)
    source.train(2)
    state = source.state_dict()
    other = make(kind, d_width=12)
    other.load_state_dict(state)  # the architecture comes with the state
    assert [r.config.d_width for r in getattr(other, "runs", [other])] == [8] * len(objectives(other))
    engine, twin = make(kind), make(kind)
    engine.train(2)
    twin.train(2)
    for s in state.get("runs", [state]):
        s["config"] = {**s["config"], "d_width": 12}  # weights of width 8 for a config of width 12
    with pytest.raises((ValueError, RuntimeError)):
        engine.load_state_dict(state)
    assert engine.step == 2 and [r.config.d_width for r in getattr(engine, "runs", [engine])][0] == 8
    engine.train(3)
    twin.train(3)
    np.testing.assert_array_equal(history(engine)[1], history(twin)[1])  # the run was left as it was


def test_the_same_seed_gives_the_same_losses(any_kind):
    a, b, c = make(any_kind), make(twin_of(any_kind)), make(twin_of(any_kind), seed=4)
    for e in (a, b, c):
        e.train(6)
    la, lb, lc = history(a)[1], history(b)[1], history(c)[1]
    assert la.shape[0] == 6 and np.isfinite(la).all()
    np.testing.assert_array_equal(la, lb)
    assert not np.allclose(la, lc)


def test_a_sharded_comparison_loads_a_state_all_or_none():
    """A state that does not fit one run leaves every run as it was, whether the shard's run (refused there) or
    this process's run (the shard had loaded its part already and undoes it) is the one that does not fit."""
    source = make("compare")
    source.train(2)
    state = source.state_dict()
    engine, twin = make(SHARDED), make("compare")
    engine.train(3)
    twin.train(3)
    good = weights(engine)
    for broken_run in (1, 0):
        runs = [dict(s) for s in state["runs"]]
        runs[broken_run]["config"] = {**runs[broken_run]["config"], "d_width": 12}  # width-8 weights
        with pytest.raises(RuntimeError, match="size mismatch"):
            engine.load_state_dict({"kind": "compare", "runs": runs})
        assert engine.step == 3 and all(torch.equal(a, b) for a, b in zip(good, weights(engine), strict=True))
    with pytest.raises(ValueError, match="the state has 1 runs, this comparison 2"):
        engine.load_state_dict({"kind": "compare", "runs": state["runs"][:1]})
    engine.train(3)
    twin.train(3)
    np.testing.assert_array_equal(history(engine)[1], history(twin)[1])  # every run was left as it was


def test_a_killed_shard_makes_every_call_fail_clearly():
    engine = CompareTrainer(comparison_configs(TrainConfig(**TINY), ["ns", "wgan-gp"]), workers=2)  # its own shard
    _OPEN.append(engine)
    engine.train(2)
    state = engine.state_dict()
    os.kill(engine.shard_pids[0], signal.SIGKILL)
    calls = {"to": lambda: engine.to("cpu"), "rollback": engine.rollback, "rebuild": engine.rebuild,
             "log": lambda: engine.log("config", "a note"), "state_dict": engine.state_dict,
             "load_state_dict": lambda: engine.load_state_dict(state), "train": lambda: engine.train(20),
             "snapshot": lambda: engine.snapshot(with_fields=False)}
    for name, call in calls.items():
        t0 = time.perf_counter()
        with pytest.raises(RuntimeError, match="a compare run's process has ended"):
            call()
        assert time.perf_counter() - t0 < 10, name
