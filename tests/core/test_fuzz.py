"""Property-based tests: random configs and random command sequences keep the trainer's invariants;
random scene files are either loaded or refused with SceneError, never anything else."""

from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ganviz.core.commands import (
    Reset,
    SetBatchSize,
    SetConfig,
    SetDataset,
    SetLearningRates,
    SetObjective,
    SetOptimizer,
    SetRunning,
    SetSteps,
    StepBoth,
    StepD,
    StepG,
)
from ganviz.core.config import OPTIMIZERS, TrainConfig
from ganviz.core.distributions import toy_datasets
from ganviz.core.objectives import OBJECTIVES
from ganviz.core.scenes import SceneError, load_scene, scene_from_dict
from ganviz.core.trainer import Trainer

torch.set_num_threads(1)

DATA = sorted(toy_datasets())  # image data: tests/core/test_image_gan.py
OBJS = sorted(OBJECTIVES)
FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

lr = st.floats(1e-5, 1e-2).map(lambda v: float(f"{v:.3g}"))

configs = st.builds(
    lambda data, obj, dopt, gopt, dlr, glr, k, bs, w, depth, r1, noise, smooth, gen, seed: TrainConfig(
        data=data, objective=obj, d_optimizer=dopt, g_optimizer=gopt, d_lr=dlr, g_lr=glr, d_steps=k,
        batch_size=bs, d_width=w, g_width=w, d_depth=depth, g_depth=depth, r1_gamma=r1, instance_noise=noise,
        label_smoothing=smooth, generator=gen, seed=seed, n_view=32, grid_size=8, w1_samples=32,
        mode_samples=200, kde_samples=256),
    st.sampled_from(DATA), st.sampled_from(OBJS), st.sampled_from(OPTIMIZERS), st.sampled_from(OPTIMIZERS),
    lr, lr, st.integers(1, 3), st.sampled_from([8, 16, 32]), st.sampled_from([8, 16]), st.integers(1, 2),
    st.sampled_from([0.0, 1.0]), st.sampled_from([0.0, 0.1]), st.sampled_from([0.0, 0.1]),
    st.sampled_from(["learned", "learned", "shift", "noise"]), st.integers(0, 1000),
)

valid_commands = st.one_of(
    st.sampled_from(OBJS).map(SetObjective),
    lr.map(lambda v: SetLearningRates(d_lr=v)),
    lr.map(lambda v: SetLearningRates(g_lr=v)),
    st.tuples(st.sampled_from("dg"), st.sampled_from(OPTIMIZERS)).map(lambda t: SetOptimizer(*t)),
    st.integers(1, 3).map(lambda k: SetSteps(d_steps=k)),
    st.sampled_from([8, 16, 32]).map(SetBatchSize),
    st.sampled_from(DATA).map(SetDataset),
    st.sampled_from([{"r1_gamma": 1.0}, {"instance_noise": 0.2}, {"label_smoothing": 0.2}, {"gp_lambda": 1.0},
                     {"clip": 0.05}, {"d_width": 12}, {"z_dim": 3}, {"activation": "tanh"}]).map(SetConfig),
    st.just(Reset()), st.booleans().map(SetRunning), st.just(StepD()), st.just(StepG()), st.just(StepBoth()),
)
INVALID = [
    SetObjective("nope"), SetLearningRates(d_lr=50.0), SetSteps(d_steps=0), SetBatchSize(1), SetDataset("x"),
    SetConfig({"nonsense": 1}), SetConfig({"clip": float("nan")}), SetConfig({"d_width": 10_000}),
]
invalid_commands = st.sampled_from(INVALID)
commands = st.one_of(valid_commands, valid_commands, valid_commands, invalid_commands)


@FUZZ
@given(cfg=configs, program=st.lists(st.tuples(st.integers(0, 3), commands), max_size=12))
def test_random_command_sequences_keep_the_trainers_invariants(cfg, program):
    t = Trainer(cfg)
    expected_step = 0
    n_applied = 0
    for n_steps, cmd in program:
        t.submit(cmd)
        before = len(t.command_log)
        d0, g0 = t.d_updates, t.g_updates
        manual = t.apply_pending()
        n_applied += len(t.command_log) - before
        if isinstance(cmd, Reset) and len(t.command_log) > before:
            expected_step = 0
        elif t.step == 0 and t.d_updates == 0 and (d0, g0) != (0, 0):
            expected_step = 0  # an architecture change re-initialised the run
        for m in manual:
            t.run_manual(m)
            expected_step += 1
        for _ in range(n_steps):
            t.iteration()
            expected_step += 1
        assert t.step == expected_step
        snap = t.snapshot(with_metrics=True, with_fields=False)
        # finite, or caught: a divergence is rolled back, logged and pauses the run
        weights = [p for p in list(t.G.parameters()) + list(t.D.parameters())]
        assert all(torch.isfinite(p).all() for p in weights)
        diverged = any(e.kind == "diverged" for e in snap.events)
        finite_rows = [np.isfinite(v[~np.isnan(v)]).all() for v in snap.history.values.values()]
        assert all(finite_rows) or diverged
        for v in snap.metrics.values():
            assert isinstance(v, float)
        # counters are consistent
        assert t.d_updates >= 0 and t.g_updates >= 0
        if cfg.generator != "learned" and t.config.generator != "learned":
            assert t.g_updates == 0  # a fixed generator never trains
    # the log is complete: every applied command is there; each refused one left exactly one "error" event
    n_invalid = sum(1 for _, c in program if any(c is bad for bad in INVALID))
    assert len(t.command_log) == n_applied == len(program) - n_invalid
    assert sum(e.kind == "error" for e in t.events) == n_invalid


@FUZZ
@given(cmds=st.lists(invalid_commands, min_size=1, max_size=6))
def test_refused_commands_are_logged_and_change_nothing(cmds):
    cfg = TrainConfig(d_width=8, g_width=8, d_depth=1, g_depth=1, batch_size=8, n_view=16, grid_size=8)
    t = Trainer(cfg)
    t.train(2)
    for c in cmds:
        t.submit(c)
    t.train(1)
    assert t.config == cfg and t.step == 3
    assert sum(e.kind == "error" for e in t.events) == len({c.key() for c in cmds})  # latest wins per kind


toml_scalars = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
                         st.text(max_size=12), st.booleans())
toml_values = st.recursive(toml_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                                   st.dictionaries(st.text(max_size=8), inner,
                                                                                   max_size=4)), max_leaves=8)
config_keys = st.sampled_from(["data", "objective", "d_lr", "batch_size", "seed", "clip", "nonsense", "z_dim"])


@FUZZ
@given(doc=st.dictionaries(st.sampled_from(["title", "description", "config", "view", "actions", "extra"]),
                           st.one_of(toml_values, st.dictionaries(config_keys, toml_scalars, max_size=4),
                                     st.lists(st.dictionaries(st.sampled_from(["step", "set", "pause", "x"]),
                                                              toml_values, max_size=3), max_size=3)),
                           max_size=5))
def test_scene_dicts_load_or_raise_scene_error(doc):
    try:
        scene = scene_from_dict(doc)
    except SceneError as e:
        assert str(e)
        return
    scene.config.validate()
    for action in scene.actions:
        assert action.step >= 0 and action.commands


@FUZZ
@given(data=st.binary(max_size=2000))
def test_random_bytes_as_a_scene_file_are_refused_cleanly(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "random.toml"
    path.write_bytes(data)
    try:
        scene = load_scene(path)
    except SceneError as e:
        assert "random.toml" in str(e)
    else:
        assert math.isfinite(scene.config.d_lr)
