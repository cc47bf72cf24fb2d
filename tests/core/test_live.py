"""The live-change dispatcher (core.live): each field's declared Effect, applied the same way by every engine."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganviz.core.compare import CompareTrainer
from ganviz.core.config import DATA_KEYS, FIELDS, REINIT_KEYS, Effect, TrainConfig, effect_of
from ganviz.core.ensemble import EnsembleTrainer
from ganviz.core.live import LiveTarget, apply_changes
from ganviz.core.snapshot import EventKind
from ganviz.core.trainer import Trainer

TINY = TrainConfig(g_width=16, d_width=16, g_depth=2, d_depth=2, batch_size=32, n_view=64, w1_samples=64,
                   mode_samples=500, kde_samples=256)


class Recorder:
    """A LiveTarget that records which hooks the dispatcher called."""

    def __init__(self, config: TrainConfig, dim: int = 2) -> None:
        self.config, self.step, self.dim, self.noise_sigma = config, 7, dim, config.instance_noise
        self.device = torch.device("cpu")
        self.calls: list[tuple] = []
        self.events: list[tuple] = []

    def log(self, kind, label, **detail):
        self.events.append((kind, label, detail))

    def live_check(self, new):
        self.calls.append(("check",))

    def live_swap_data(self, data):
        self.calls.append(("swap", data.dim))

    def live_rebuild(self, device_changed):
        self.calls.append(("rebuild", device_changed))
        return "moved" if device_changed else None

    def live_device(self):
        self.calls.append(("device", self.config.device))
        return [], None

    def live_objective(self, objective):
        self.calls.append(("objective", objective.name))

    def live_learning_rate(self, network, lr):
        self.calls.append(("lr", network, lr))

    def live_optimizer(self, network):
        self.calls.append(("optimizer", network))

    def live_view_batches(self):
        self.calls.append(("view",))

    def live_changed(self, keys):
        self.calls.append(("changed", frozenset(keys)))


def test_every_field_declares_an_effect_consistent_with_reinit():
    for key, f in FIELDS.items():
        assert isinstance(f.metadata["effect"], Effect), key
        assert (key in REINIT_KEYS) == (effect_of(key) in (Effect.REBUILD, Effect.DATA)), key
    assert {"data", "ring_radius", "ring_std", "image_path", "image_range"} == DATA_KEYS
    assert effect_of("objective") is Effect.OBJECTIVE and effect_of("g_lr") is Effect.LEARNING_RATE
    assert effect_of("beta2") is Effect.OPTIMIZER and effect_of("n_view") is Effect.VIEW_SAMPLING
    assert effect_of("d_steps") is Effect.NONE and effect_of("g_width") is Effect.REBUILD


@pytest.mark.parametrize("changes, calls, kinds", [
    ({"objective": "hinge"}, [("objective", "hinge")], ["objective"]),
    ({"d_lr": 0.01}, [("lr", "d", 0.01)], ["lr"]),
    ({"g_optimizer": "sgd"}, [("optimizer", "g")], ["optimizer"]),
    ({"beta1": 0.0}, [("optimizer", "d"), ("optimizer", "g")], ["optimizer"]),
    ({"instance_noise": 0.3}, [], ["regularizer"]),
    ({"n_view": 32}, [("view",)], []),
    ({"d_steps": 3, "clip": 0.5}, [], ["config", "config"]),
    ({"g_width": 8}, [("rebuild", False)], ["reset"]),
    ({"device": "cpu"}, [("device", "cpu")], ["device"]),  # moved (Engine.to), not rebuilt
    ({"device": "cpu", "g_width": 8}, [("rebuild", True)], ["reset", "device"]),  # new networks on the new device
    ({"data": "moons"}, [("swap", 2)], ["dataset"]),  # same dimension: hot swap
    ({"data": "gaussian-1d"}, [("rebuild", False)], ["reset"]),  # new dimension: new networks
    ({"data": "moons", "seed": 3}, [("rebuild", False)], ["reset"]),  # data with a rebuild field: rebuild
])
def test_dispatch_by_effect(changes, calls, kinds):
    t = Recorder(TINY.replace(device="auto"))
    keys = apply_changes(t, changes)
    assert keys == set(changes)
    assert t.calls[0] == ("check",)
    body = [c for c in t.calls[1:] if c[0] != "changed"]
    assert body == calls
    assert [k for k, _, _ in t.events] == kinds
    assert all(isinstance(k, EventKind) for k, _, _ in t.events)
    assert t.config == TINY.replace(**{"device": "auto", **changes})
    if "instance_noise" in changes:
        assert t.noise_sigma == 0.3 and t.events[0][2] == {"key": "instance_noise", "old": 0.0, "new": 0.3}
    if kinds == ["reset"] or kinds[:1] == ["reset"]:
        assert t.events[0][2]["old_step"] == 7


def test_no_change_does_nothing_and_a_bad_value_changes_nothing():
    t = Recorder(TINY)
    assert apply_changes(t, {"objective": TINY.objective, "d_lr": TINY.d_lr}) == set()
    assert t.calls == [] and t.events == []
    with pytest.raises(ValueError, match="d_lr"):
        apply_changes(t, {"d_lr": 5.0})
    assert t.config == TINY and t.calls == []


@pytest.fixture(params=["trainer", "ensemble"])
def engine(request):
    return Trainer(TINY) if request.param == "trainer" else EnsembleTrainer(TINY, 2)


def test_engines_apply_each_effect(engine):
    assert isinstance(engine, LiveTarget) and not isinstance(CompareTrainer([TINY, TINY]), LiveTarget)
    engine.train(2)
    d_net, opt_d, opt_g = engine.D, engine.opt_d, engine.opt_g
    engine.set_config(d_lr=0.02)  # in place: the optimiser (and its state) is kept
    assert engine.opt_d is opt_d and all(g["lr"] == 0.02 for g in opt_d.param_groups)
    engine.set_config(d_optimizer="sgd")  # only D's optimiser is new
    assert engine.opt_d is not opt_d and engine.opt_g is opt_g
    assert type(engine.opt_d).__name__.lower().startswith("sgd")
    engine.set_config(objective="wgan-gp", label_smoothing=0.1, instance_noise=0.2)
    assert engine.objective.name == "wgan-gp" and engine.noise_sigma == 0.2
    engine.set_config(n_view=32)
    assert engine.x_view.shape[0] == 32
    engine.set_config(data="moons")  # hot swap: the same networks
    assert engine.D is d_net and engine.step == 2
    engine.train(1)
    engine.set_config(g_width=8)  # new networks, the count restarts
    assert engine.D is not d_net and engine.step == 0
    kinds = [e.kind for e in engine.events]
    assert kinds == ["lr", "optimizer", "objective", "config", "regularizer", "dataset", "reset"]
    assert engine.events[-1].detail == {"old_step": 3, "g_width": 8}


@pytest.mark.skipif(torch.cuda.is_available(), reason="auto must resolve to the CPU here")
def test_a_device_change_moves_the_run_and_it_continues_bit_for_bit(engine):
    """cpu -> auto (the CPU here): weights, optimiser states, counters and random streams are kept, so the run
    goes on exactly as one that never changed; one "device" event, no reset."""
    engine.set_config(device="cpu")  # TINY's device is auto
    twin = Trainer(TINY.replace(device="cpu")) if isinstance(engine, Trainer) else EnsembleTrainer(
        TINY.replace(device="cpu"), 2)
    engine.train(3)
    twin.train(3)
    d_net, opt_d, gen = engine.D, engine.opt_d, engine.gen if isinstance(engine, Trainer) else engine.gens
    engine.set_config(device="auto")
    assert engine.D is d_net and engine.opt_d is opt_d and engine.step == 3 and engine.device.type == "cpu"
    assert (engine.gen if isinstance(engine, Trainer) else engine.gens) is gen
    assert [e.kind for e in engine.events] == ["device", "device"]
    assert engine.events[-1].label == "device: cpu -> auto: the run continues on cpu from step 3"
    assert engine.events[-1].detail == {"old": "cpu", "new": "auto", "device": "cpu", "reseeded": []}
    engine.train(4)
    twin.train(4)
    a, b = engine.snapshot(with_fields=False), twin.snapshot(with_fields=False)
    assert list(a.history.steps) == list(range(1, 8))
    for key in ("d_loss", "g_loss", "g_grad_norm"):
        np.testing.assert_array_equal(a.history.values[key], b.history.values[key])
    for p, q in zip(list(engine.G.parameters()) + list(engine.D.parameters()),
                    list(twin.G.parameters()) + list(twin.D.parameters()), strict=True):
        assert torch.equal(p, q)


def test_out_of_memory_while_moving_keeps_the_run_where_it_was(monkeypatch):
    """The move to the new device runs out of memory half way: the run goes back (moved in place: nothing lost),
    the setting is restored, and an "error" event says so; the run trains on as if nothing had been asked."""
    engine, twin = Trainer(TINY.replace(device="cpu")), Trainer(TINY.replace(device="cpu"))
    engine.train(2)
    twin.train(2)
    original = Trainer.to

    def to(self, device, reseed=None):
        if self.config.device == "auto":  # the move: half done, then CUDA is full
            self.D.to(device)
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return original(self, device, reseed)

    monkeypatch.setattr(Trainer, "to", to)
    engine.set_config(device="auto")
    assert engine.config.device == "cpu" and engine.device.type == "cpu" and engine.step == 2
    ev = engine.events[-1]
    assert ev.kind == "error" and ev.label == ("device: cpu -> auto: out of memory while moving the run at step 2; "
                                               "it stays on cpu")
    engine.train(3)
    twin.train(3)
    np.testing.assert_array_equal(engine.snapshot(with_fields=False).history.values["d_loss"],
                                  twin.snapshot(with_fields=False).history.values["d_loss"])


def test_event_kinds_are_an_enum_that_equals_the_old_strings():
    import json
    import pickle

    from ganviz.core.commands import Reset, SetObjective
    from ganviz.core.snapshot import Event

    t = Trainer(TINY)
    t.submit(SetObjective("hinge"))
    t.submit(Reset())
    t.train(1)
    kinds = [e.kind for e in t.events]
    assert kinds == [EventKind.OBJECTIVE, EventKind.RESET] and kinds == ["objective", "reset"]
    assert all(type(k) is EventKind for k in kinds)
    assert {"reset"} & {kinds[1]} and kinds[1] in frozenset({"reset"})  # hashes as its value
    assert f"{kinds[1]}" == str(kinds[1]) == "reset" and json.dumps(kinds[1]) == '"reset"'
    assert pickle.loads(pickle.dumps(t.events[1])).kind is EventKind.RESET
    assert Event(3, "diverged", "x").kind is EventKind.DIVERGED  # a plain string (an old file) becomes the kind
    assert Event(3, "something-new", "x").kind == "something-new"  # an unknown kind stays as given
