"""Moving a live run between devices, and the fallback to the CPU when CUDA runs out of memory.

This machine has no GPU, so CUDA is simulated: the run is told it is on CUDA (trainer.device) just before a
monkeypatched step raises torch.OutOfMemoryError. The walk itself is checked by recording every Tensor.to call.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ganviz import cli
from ganviz.core.config import TrainConfig
from ganviz.core.devices import engines, fall_back_to_cpu, is_oom, move_trainer_to
from ganviz.core.loop import run_loop
from ganviz.core.trainer import Trainer

torch.set_num_threads(1)

TINY = dict(d_width=8, g_width=8, d_depth=1, g_depth=1, batch_size=16, n_view=16, kde_samples=64, grid_size=8,
            mode_samples=100, w1_samples=16, device="cpu")


def tiny(**kw) -> TrainConfig:
    return TrainConfig(**{**TINY, **kw})


def oom() -> torch.OutOfMemoryError:
    return torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 7.79 GiB total)")


def same_run(a: Trainer, b: Trainer) -> bool:
    sa, sb = a.snapshot(with_fields=False), b.snapshot(with_fields=False)
    weights = all(torch.equal(u, v) for u, v in zip(a.G.state_dict().values(), b.G.state_dict().values(),
                                                     strict=True))
    weights = weights and all(torch.equal(u, v) for u, v in zip(a.D.state_dict().values(),
                                                                 b.D.state_dict().values(), strict=True))
    hist = all(np.array_equal(sa.history.values[k], sb.history.values[k], equal_nan=True) for k in sa.history.values)
    return weights and hist and (a.step, a.d_updates, a.g_updates) == (b.step, b.d_updates, b.g_updates)


def tensors_in(value, seen=None):
    """Every tensor reachable from value (attributes of engines, containers, parameters, buffers, optimiser
    states except their CPU step counters)."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, torch.nn.Module):
        yield from value.parameters()
        yield from value.buffers()
    elif isinstance(value, torch.optim.Optimizer):
        for st in value.state.values():
            yield from (v for k, v in st.items() if isinstance(v, torch.Tensor) and k != "step")
    elif isinstance(value, dict):
        for v in value.values():
            yield from tensors_in(v, seen)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from tensors_in(v, seen)
    elif value in engines(value):
        for v in vars(value).values():
            yield from tensors_in(v, seen)


def test_moving_a_cpu_run_to_the_cpu_changes_nothing():
    a, b = Trainer(tiny()), Trainer(tiny())
    a.train(10)
    b.train(10)
    gen = b.gen
    assert move_trainer_to(b, "cpu") == []  # same device type: the generator is kept, so is the random stream
    assert b.gen is gen
    a.train(10)
    b.train(10)
    assert same_run(a, b)


def test_reseeding_on_a_move_is_deterministic_from_seed_and_step():
    a, b, c = Trainer(tiny()), Trainer(tiny()), Trainer(tiny())
    for t in (a, b, c):
        t.train(10)
    assert move_trainer_to(a, "cpu", reseed=True) == ["gen"] == move_trainer_to(b, "cpu", reseed=True)
    for t in (a, b, c):
        t.train(10)
    assert same_run(a, b)  # the same (seed, step): the same new stream
    assert not same_run(a, c)  # but not the stream of the run that never moved


def test_the_walk_moves_every_tensor_including_new_attributes(monkeypatch):
    """Without a second device, every tensor the walk moves is recorded: none reachable may be missed (new
    attributes, nested containers, the saved good state, unsent history rows, optimiser states)."""

    class Bank:  # a data distribution that keeps a tensor bank per device
        def __init__(self) -> None:
            self.moved_to: list[str] = []

        def to(self, device):
            self.moved_to.append(str(device))
            return self

    t = Trainer(tiny(instance_noise=0.1))
    t.train(3)
    t.snapshot(with_fields=False)
    t.train(2)  # unsent history rows hold tensors too
    t.extra = {"bank": [torch.ones(3)], "pair": (torch.zeros(2), 5), "shared": t.z_fixed}
    t.bank = Bank()
    params = [id(p) for p in t.G.parameters()]
    moved: set[int] = set()
    original = torch.Tensor.to

    def recording_to(self, *args, **kwargs):
        moved.add(id(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "to", recording_to)
    move_trainer_to(t, torch.device("cpu"), reseed=False)
    monkeypatch.undo()
    found = list(tensors_in(t))
    assert len(found) > 40
    assert all(id(x) in moved for x in found), [tuple(x.shape) for x in found if id(x) not in moved]
    assert len(list(tensors_in(t._good_state.saved))) >= 12 and t._rows
    assert t.extra["shared"] is t.z_fixed and t.device == torch.device("cpu") and t.bank.moved_to == ["cpu"]
    assert [id(p) for p in t.G.parameters()] == params == [id(p) for p in t.opt_g.param_groups[0]["params"]]
    assert t.g_params[0] is next(t.G.parameters())


def pretend_cuda_then_oom(t: Trainer, at_call: int, partial: bool = True):
    """Make t.iteration raise a CUDA out-of-memory error on its at_call-th call, after a partial D update."""
    original = t.iteration
    calls = {"n": 0}

    def iteration() -> None:
        calls["n"] += 1
        if calls["n"] == at_call:
            if partial:
                t._d_update()  # the step was partly applied: D moved, the step did not finish
            t.device = torch.device("cuda")  # the run "is" on CUDA (this machine has none)
            raise oom()
        original()

    t.iteration = iteration
    return calls


def test_fall_back_rolls_back_a_partly_applied_step_and_moves_to_the_cpu():
    t = Trainer(tiny())
    t.train(5)
    t.snapshot(with_fields=False)  # the last good state: step 5
    good = {k: v.clone() for k, v in t.D.state_dict().items()}
    t.train(3)
    t._d_update()
    t.device = torch.device("cuda")
    gen = t.gen
    ev = fall_back_to_cpu(t, oom(), "a training step")
    assert ev.kind == "device" and ev is t.events[-1]
    assert ev.label.startswith("CUDA ran out of memory at step 8 (batch 16, G 1x8, D 1x8; during a training step)")
    assert "continuing on the CPU" in ev.label and "no longer bit-identical" in ev.label
    assert t.device.type == "cpu" and t.gen is not gen and t.running and t._row == {}
    for k, v in t.D.state_dict().items():
        assert torch.equal(v, good[k]), k
    t.train(3)
    assert t.step == 11 and all(bool(torch.isfinite(p).all()) for p in t.D.parameters())


def test_the_live_loop_falls_back_to_the_cpu_and_goes_on():
    t = Trainer(tiny())
    calls = pretend_cuda_then_oom(t, at_call=5)
    snaps = [s for s in run_loop(t, snapshot_interval=0.0, max_steps=30, with_fields=False) if s is not None]
    assert calls["n"] > 30 - 4 and t.step == 30 and t.device.type == "cpu" and t.running
    events = [e for s in snaps for e in s.events if e.kind == "device"]
    assert len(events) == 1 and "CUDA ran out of memory at step 4" in events[0].label
    assert snaps[-1].device == "cpu" and math.isfinite(snaps[-1].metrics["w1"])
    assert all(bool(torch.isfinite(p).all()) for p in list(t.G.parameters()) + list(t.D.parameters()))
    # the steps after the fallback are as deterministic as any: the same failure gives the same run
    u = Trainer(tiny())
    pretend_cuda_then_oom(u, at_call=5)
    for _ in run_loop(u, snapshot_interval=0.0, max_steps=30, with_fields=False):
        pass
    assert same_run(t, u)


def test_out_of_memory_on_the_cpu_pauses_with_a_message():
    t = Trainer(tiny())
    original = t.iteration
    calls = {"n": 0}

    def iteration() -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise oom()
        original()

    t.iteration = iteration
    for snap in run_loop(t, snapshot_interval=0.0, max_steps=50, with_fields=False):
        if snap is not None and any(e.kind == "error" for e in snap.events):
            break
    assert not t.running and t.step == 2
    assert "out of memory on the CPU at step 2" in t.events[-1].label and "batch size" in t.events[-1].label


def test_out_of_memory_while_applying_a_change_builds_it_on_the_cpu():
    t = Trainer(tiny())
    t.train(4)
    t.device = torch.device("cuda")
    t.config = t.config.replace(d_width=16)  # as set_config does, just before building fails
    ev = fall_back_to_cpu(t, oom(), "applying a change", rebuild=True)
    assert t.D.net[0].out_features == 16 and t.step == 0 and t.device.type == "cpu"
    assert "applied on the CPU" in ev.label
    t.train(2)


def test_is_oom():
    assert is_oom(oom()) and is_oom(RuntimeError("CUDA out of memory. Tried to allocate 20 MiB"))
    assert not is_oom(RuntimeError("shape mismatch")) and not is_oom(MemoryError())


def test_ganviz_train_falls_back_to_the_cpu(monkeypatch, tmp_path, capsys):
    original = Trainer.iteration
    calls = {"n": 0}

    def iteration(self) -> None:
        calls["n"] += 1
        if calls["n"] == 7:
            self.device = torch.device("cuda")
            raise oom()
        original(self)

    monkeypatch.setattr(Trainer, "iteration", iteration)
    out = tmp_path / "run.jsonl"
    argv = ["train", "--steps", "20", "--every", "5", "--quiet", "--out", str(out),
            *[f"--set={k}={v}" for k, v in TINY.items()]]
    assert cli.main(argv) == 0
    err = capsys.readouterr().err
    assert "CUDA ran out of memory at step 6" in err and "continuing on the CPU" in err
    assert [int(line.split('"step": ')[1].split(",")[0]) for line in out.read_text().splitlines()] == [5, 10, 15, 20]
    calls["n"] = -100
    monkeypatch.setattr(Trainer, "iteration", lambda self: (_ for _ in ()).throw(oom()))
    assert cli.main(argv) == cli.EXIT_OOM
    assert "out of memory on the CPU" in capsys.readouterr().err
