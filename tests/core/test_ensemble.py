"""The batched ensemble of seeds (ganviz.core.ensemble): initial weights, equivalence with separate runs,
every objective, snapshot contents, refusals, the live-loop interface and per-seed divergence."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from torch import nn

from ganviz.core import metrics as M
from ganviz.core.commands import Reset, SetConfig, SetObjective, SetRunning, StepD, StepG
from ganviz.core.config import ConfigError, TrainConfig
from ganviz.core.distributions import make_distribution
from ganviz.core.ensemble import (
    EnsembleSnapshot,
    EnsembleSpec,
    EnsembleTrainer,
    collapsed_flags,
    seed_metrics,
)
from ganviz.core.ensemble_bench import bench_ensemble
from ganviz.core.loop import run_loop
from ganviz.core.models import build_models
from ganviz.core.objectives import OBJECTIVES
from ganviz.core.trainer import Trainer

torch.set_num_threads(1)

TINY = TrainConfig(g_width=16, d_width=16, g_depth=2, d_depth=2, batch_size=32, w1_samples=64, mode_samples=500)


def _linears(seq: nn.Sequential) -> list[nn.Linear]:
    return [m for m in seq if isinstance(m, nn.Linear)]


def _max_param_diff(ens: EnsembleTrainer, runs: list[Trainer]) -> float:
    worst = 0.0
    for i, t in enumerate(runs):
        for stacked, net in ((ens.G, t.G.net), (ens.D, t.D.net)):
            for (w, b), lin in zip(stacked.seed_state(i), _linears(net), strict=True):
                worst = max(worst, (w - lin.weight).abs().max().item(), (b - lin.bias).abs().max().item())
    return worst


def test_initial_weights_equal_build_models_per_seed():
    cfg = TINY.replace(seed=11, activation="tanh", z_dim=3)
    ens = EnsembleTrainer(cfg, 4)
    assert ens.seeds == (11, 12, 13, 14)
    for i, seed in enumerate(ens.seeds):
        g, d = build_models(3, 2, 2, 16, 2, 16, "tanh", 1, seed, torch.device("cpu"))
        for stacked, net in ((ens.G, g.net), (ens.D, d.net)):
            state = stacked.seed_state(i)
            assert len(state) == 3
            for (w, b), lin in zip(state, _linears(net), strict=True):
                assert torch.equal(w, lin.weight) and torch.equal(b, lin.bias)
    # the seeds really differ from each other
    assert not torch.equal(ens.G.seed_state(0)[0][0], ens.G.seed_state(1)[0][0])


@pytest.mark.parametrize("objective", ["ns", "wgan-gp"])
def test_one_batched_step_equals_separate_steps_sgd(objective):
    """With rng="per-seed" seed i draws exactly Trainer(seed0 + i)'s batches, so one iteration of the
    batched model equals one iteration of each separate run up to float rounding. SGD's update is lr * grad,
    so the difference is lr times the gradients' rounding difference (float32, summed over a batch in
    another order by bmm: ~1e-7 relative): 1e-6 absolute is a wide margin that still catches any real
    difference (a wrong batch, seed or loss changes weights by ~lr * |grad| ~ 1e-3)."""
    cfg = TINY.replace(objective=objective, d_optimizer="sgd", g_optimizer="sgd", d_lr=1e-2, g_lr=1e-2,
                       momentum=0.5, seed=3)
    ens = EnsembleTrainer(cfg, 3)
    runs = [Trainer(cfg.replace(seed=3 + i)) for i in range(3)]
    assert _max_param_diff(ens, runs) == 0.0
    ens.iteration()
    for t in runs:
        t.iteration()
    diff = _max_param_diff(ens, runs)
    assert diff < 1e-6
    # and the weights did move by far more than that
    moved = max((w - lin.weight).abs().max().item() for (w, _), lin in
                zip(ens.D.seed_state(0), _linears(build_models(2, 2, 2, 16, 2, 16, "relu", 1, 3,
                                                               torch.device("cpu"))[1].net), strict=True))
    assert moved > 1e-4
    # the per-seed loss history is each run's loss
    snap = ens.snapshot(with_metrics=False, with_fields=False)
    for i, t in enumerate(runs):
        h = t.snapshot(with_metrics=False, with_fields=False).history.values
        for key in ("d_loss", "g_loss", "d_real_term", "d_grad_norm", "g_grad_norm", "d_fake_mean"):
            np.testing.assert_allclose(snap.history.values[key][:, i], h[key], rtol=1e-5, atol=1e-6)
        if objective == "wgan-gp":
            np.testing.assert_allclose(snap.history.values["d_penalty"][:, i], h["d_penalty"], rtol=1e-5)


def test_one_batched_step_equals_separate_steps_adam_gradients():
    """Adam's first step is lr * g / (|g| + eps): where |g| is near eps a 1e-7 rounding difference in g can
    move a weight by up to lr, so for Adam the gradients are compared (rtol 1e-4), and the weights where
    |g| >> eps (there the update is lr * sign(g) to within 1e-6)."""
    cfg = TINY.replace(objective="ns", r1_gamma=1.0, instance_noise=0.05, seed=5)
    ens = EnsembleTrainer(cfg, 2)
    runs = [Trainer(cfg.replace(seed=5 + i)) for i in range(2)]
    ens.iteration()
    for t in runs:
        t.iteration()
    for i, t in enumerate(runs):
        for stacked, net in ((ens.G, t.G.net), (ens.D, t.D.net)):
            for (w, b), lin in zip(stacked.layers, _linears(net), strict=True):
                gw, gb = w.grad[i].t(), b.grad[i, 0]
                np.testing.assert_allclose(gw.numpy(), lin.weight.grad.numpy(), rtol=1e-4, atol=1e-7)
                np.testing.assert_allclose(gb.numpy(), lin.bias.grad.numpy(), rtol=1e-4, atol=1e-7)
                big = lin.weight.grad.abs() > 1e-4
                assert big.any()
                np.testing.assert_allclose(w.detach()[i].t()[big].numpy(), lin.weight.detach()[big].numpy(),
                                           atol=1e-6)


@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
def test_every_objective_trains_three_seeds_without_nan(objective):
    cfg = TINY.replace(objective=objective, label_smoothing=0.1 if OBJECTIVES[objective].is_probability else 0.0,
                       instance_noise=0.05, instance_noise_decay=0.99, r1_gamma=0.5 if objective == "lsgan" else 0.0,
                       d_steps=2)
    ens = EnsembleTrainer(cfg, 3)
    before = [p.detach().clone() for p in ens.g_params]
    ens.train(30)
    assert ens.step == 30 and ens.d_updates == 60 and ens.g_updates == 30
    snap = ens.snapshot()
    for key in ("d_loss", "g_loss", "d_grad_norm", "g_grad_norm"):
        assert snap.history.values[key].shape == (30, 3)
        assert np.isfinite(snap.history.values[key]).all()
    assert not snap.diverged.any()
    assert all(torch.isfinite(p).all() for p in ens.g_params + ens.d_params)
    assert all((p - b).abs().max() > 0 for p, b in zip(ens.g_params, before, strict=True))
    assert np.isfinite(snap.metrics["w1"]).all()
    if OBJECTIVES[objective].post_d_step is not None:  # WGAN's weight clipping
        assert max(p.abs().max().item() for p in ens.d_params) <= cfg.clip + 1e-7
    assert ens.noise_sigma == pytest.approx(0.05 * 0.99 ** 30)


def test_snapshot_contents_and_metrics_match_metrics_module():
    cfg = TINY.replace(data="ring8", w1_samples=256, mode_samples=2500)  # the protocol's sample counts
    ens = EnsembleTrainer(cfg, 4)
    ens.train(20)
    fake, real = ens.metric_samples()
    snap = ens.snapshot()
    assert isinstance(snap, EnsembleSnapshot) and snap.lazy is None
    assert snap.n_seeds == 4 and snap.step == 20 and snap.metrics_step == 20
    assert snap.fake.shape == (4, 256, 2) and snap.real.shape == (256, 2)
    assert snap.history.steps.tolist() == list(range(1, 21))
    assert fake.shape == (4, 2500, 2) and real.shape == (2500, 2)
    m = snap.metrics
    for i in range(4):
        assert m["w1"][i] == pytest.approx(M.w1_exact(real[:256], fake[i, :256]), rel=1e-12)
        mm = M.mode_metrics(fake[i], snap.modes, snap.mode_std, weights=make_distribution("ring8").weights)
        assert m["modes_covered"][i] == mm["modes_covered"]
        assert m["hq_fraction"][i] == pytest.approx(mm["hq_fraction"])
        np.testing.assert_array_equal(m["mode_counts"][i], mm["counts"])
    assert m["n_modes"] == 8.0
    assert snap.collapsed.shape == (4,) and snap.collapsed.dtype == bool
    assert 0.0 <= snap.collapsed_share <= 1.0
    assert snap.collapsed_share == pytest.approx(snap.collapsed.mean())
    np.testing.assert_array_equal(snap.collapsed, m["modes_covered"] <= 4)
    # the fixed-noise fakes are each seed's G on one shared noise batch
    with torch.no_grad():
        z = ens.z_fixed.unsqueeze(0).expand(4, -1, -1).contiguous()
        np.testing.assert_allclose(snap.fake, ens.G(z).numpy(), rtol=1e-6, atol=1e-6)
    # same step, same metrics (their own seeded generator)
    again = ens.snapshot(with_fields=False)
    np.testing.assert_array_equal(again.metrics["w1"], m["w1"])


def test_lazy_snapshot_pickles_and_materialises_deferred_metrics():
    ens = EnsembleTrainer(TINY, 3)
    ens.train(5)
    lazy = ens.snapshot(lazy=True, defer_metrics=True)
    assert lazy.fake.shape[0] == 0 and lazy.metrics == {} and lazy.metrics_step == -1
    lazy.prepare_transfer()
    copy = pickle.loads(pickle.dumps(lazy))
    full = copy.materialized()
    assert full.metrics_step == 5 and full.fake.shape == (3, 256, 2)
    eager = ens.snapshot()
    np.testing.assert_array_equal(full.metrics["w1"], eager.metrics["w1"])
    np.testing.assert_array_equal(full.fake, eager.fake)


def test_collapse_rule_on_constructed_samples():
    data = make_distribution("ring8")
    gen = torch.Generator().manual_seed(0)
    real = data.sample(2500, gen).double().numpy()
    one_mode = data.modes[0] + 0.02 * np.random.default_rng(0).normal(size=(2500, 2))
    half = real.copy()
    keep = M.mode_metrics(real, data.modes, data.mode_std)  # every mode covered by real data
    assert keep["modes_covered"] == 8
    nearest = ((half[:, None, :] - data.modes[None]) ** 2).sum(-1).argmin(1)
    half[nearest >= 4] = data.modes[0]  # 4 modes left: exactly K/2, collapsed by the rule
    nan_seed = np.full_like(real, np.nan)
    fake = np.stack([real, one_mode, half, nan_seed])
    out = seed_metrics(fake, data.sample(2500, gen).double().numpy(), data, 256, 2500)
    assert out["modes_covered"][:3].tolist() == [8.0, 1.0, 4.0]
    assert out["collapsed"].tolist() == [False, True, True, False]
    assert np.isnan(out["w1"][3]) and np.isnan(out["modes_covered"][3])
    assert out["collapsed_share"] == pytest.approx(2 / 3)  # of the 3 seeds with finite samples
    assert out["w1"][1] > out["w1"][0]
    assert collapsed_flags(np.array([4.0, 5.0]), 8).tolist() == [True, False]
    assert collapsed_flags(np.array([1.0, 2.0]), 2).tolist() == [True, False]


def test_one_dimensional_mixture_and_non_mixture_data():
    ens = EnsembleTrainer(TINY.replace(data="bimodal-1d", z_dim=1, kde_samples=512), 2)
    ens.train(3)
    snap = ens.snapshot()
    fake, real = ens.metric_samples()
    assert snap.dim == 1 and snap.fake.shape == (2, 256, 1)
    assert snap.metrics["w1"][0] == pytest.approx(M.w1_1d(real[:512], fake[0, :512]))
    assert snap.metrics["n_modes"] == 2.0
    swiss = EnsembleTrainer(TINY.replace(data="swissroll"), 2)
    swiss.train(2)
    s = swiss.snapshot()
    assert s.collapsed is None and np.isnan(s.collapsed_share)
    assert np.isfinite(s.metrics["w1"]).all()


@pytest.mark.parametrize("changes, key", [
    ({"pack": 2}, "pack"), ({"unroll": 1}, "unroll"), ({"mbdisc": 2}, "mbdisc"), ({"mbstd": 1}, "mbstd"),
    ({"generator": "shift"}, "generator"),
])
def test_unsupported_configs_are_refused(changes, key):
    with pytest.raises(ConfigError, match=rf"^{key}=.*not supported by the ensemble"):
        EnsembleTrainer(TINY.replace(**changes), 2)


def test_bad_seed_counts_and_live_refusals():
    for n in (0, 65, 2.5):
        with pytest.raises(ConfigError, match="n_seeds"):
            EnsembleTrainer(TINY, n)
    ens = EnsembleTrainer(TINY, 2)
    ens.submit(SetConfig({"pack": 2}))
    ens.submit(SetObjective("hinge"))
    ens.train(1)
    assert ens.config.pack == 1 and ens.config.objective == "hinge"
    errors = [e for e in ens.events if e.kind == "error"]
    assert len(errors) == 1 and "pack=2" in errors[0].label
    assert [e.kind for e in ens.events if e.kind == "objective"] == ["objective"]


def test_commands_and_live_loop():
    ens = EnsembleTrainer(TINY, 3)
    snaps = [s for s in run_loop(ens, snapshot_interval=0.0, metrics_interval=0.0, max_steps=6,
                                             defer_metrics=True) if s is not None]
    assert snaps[-1].step == 6
    steps = np.concatenate([s.history.steps for s in snaps])
    assert steps.tolist() == list(range(1, 7))  # every step delivered once
    last = snaps[-1].materialized()
    assert last.metrics_step == 6 and last.metrics["w1"].shape == (3,)
    ens.submit(SetRunning(False))
    ens.submit(StepD())
    ens.submit(StepG())
    for cmd in ens.apply_pending():
        ens.run_manual(cmd)
    assert not ens.running and ens.d_updates == 7 and ens.g_updates == 7 and ens.step == 8
    ens.submit(SetConfig({"g_width": 8}))  # re-initialises every seed
    ens.apply_pending()
    assert ens.step == 0 and ens.G.layers[0][0].shape == (3, 2, 8)
    ens.submit(Reset(seed=40))
    ens.apply_pending()
    assert ens.seeds == (40, 41, 42)
    g, _ = build_models(2, 2, 2, 8, 2, 16, "relu", 1, 41, torch.device("cpu"))
    assert torch.equal(ens.G.seed_state(1)[0][0], _linears(g.net)[0].weight)
    assert EnsembleSpec(TINY, 2).build().n_seeds == 2


def test_diverged_seed_is_rolled_back_and_frozen_while_others_train():
    ens = EnsembleTrainer(TINY, 3)
    ens.train(2)
    ens.snapshot(with_metrics=False)  # last good state
    good = [p.detach()[1].clone() for p in ens.d_params]
    with torch.no_grad():
        ens.D.layers[0][0][1] = float("nan")
    ens.iteration()
    snap = ens.snapshot()
    assert snap.diverged.tolist() == [False, True, False]
    assert [e.kind for e in snap.events] == ["diverged"]
    assert all(torch.equal(p.detach()[1], g) for p, g in zip(ens.d_params, good, strict=True))
    others = [p.detach()[[0, 2]].clone() for p in ens.d_params]
    ens.train(3)
    assert all(torch.isfinite(p).all() for p in ens.g_params + ens.d_params)
    assert all(torch.equal(p.detach()[1], g) for p, g in zip(ens.d_params, good, strict=True))
    assert any(not torch.equal(p.detach()[[0, 2]], o) for p, o in zip(ens.d_params, others, strict=True))
    later = ens.snapshot()
    assert later.diverged.tolist() == [False, True, False] and np.isfinite(later.history.values["d_loss"]).all()


def test_batched_rng_mode_is_independent_per_seed():
    ens = EnsembleTrainer(TINY, 3, rng="batched")
    real = ens._real(64)
    assert real.shape == (3, 64, 2)
    assert not torch.equal(real[0], real[1])
    ens.train(3)
    assert np.isfinite(ens.snapshot().metrics["w1"]).all()
    with pytest.raises(ValueError, match="rng"):
        EnsembleTrainer(TINY, 2, rng="shared")


def test_vmap_forward_equals_bmm_forward():
    a = EnsembleTrainer(TINY, 3)
    b = EnsembleTrainer(TINY, 3, forward="vmap")
    x = torch.randn(3, 10, 2)
    with torch.no_grad():
        np.testing.assert_allclose(a.D(x).numpy(), b.D(x).numpy(), rtol=1e-5, atol=1e-6)


def test_bench_ensemble_reports_ratios():
    r = bench_ensemble(TINY, n_seeds_list=(2,), seconds=0.05, repeats=1)
    assert set(r["steps_per_s_median"]) == {"single", "ensemble N=2", "separate N=2"}
    assert all(v > 0 for v in r["steps_per_s_median"].values())
    ratio = r["ratio_vs_single"]["ensemble N=2"]
    assert ratio == pytest.approx(r["steps_per_s_median"]["ensemble N=2"] / r["steps_per_s_median"]["single"])
    assert r["seed_steps_ratio_vs_single"]["ensemble N=2"] == pytest.approx(2 * ratio)
    assert r["target"]["n_seeds"] == 16 and r["torch_threads"] == 1
    assert torch.get_num_threads() == 1


def test_live_device_change_re_resolves_the_device(monkeypatch):
    import ganviz.core.ensemble as E
    import ganviz.core.trainer as T

    ens = EnsembleTrainer(TINY.replace(device="auto"), 2)
    asked = []

    def resolve(name):
        asked.append(name)
        return torch.device("cpu"), "CUDA was requested but is not available; running on the CPU."

    monkeypatch.setattr(E, "resolve_device", resolve)  # a rebuild resolves here, a move in the shared hooks
    monkeypatch.setattr(T, "resolve_device", resolve)
    ens.submit(SetConfig({"device": "cuda"}))
    ens.train(1)
    assert asked == ["cuda"] and ens.config.device == "cuda" and ens.device.type == "cpu"
    assert [e.kind for e in ens.events] == ["device"] and "not available" in ens.events[0].label  # moved, not reset
    assert ens.step == 1


def test_spec_builds_the_engine_in_a_trainer_process():
    import time

    from ganviz.core.process import TrainerProcess

    proc = TrainerProcess(EnsembleSpec(TINY, 2), interval=0.01)
    proc.start()
    try:
        t0 = time.perf_counter()
        snap = None
        while snap is None and time.perf_counter() - t0 < 60:
            snap = proc.receive(0.05)
        assert isinstance(snap, EnsembleSnapshot) and snap.n_seeds == 2
        full = snap.materialized()  # samples and deferred metrics from weights sent over the pipe
        assert full.fake.shape == (2, 256, 2) and full.metrics["w1"].shape == (2,)
    finally:
        assert proc.stop(1.0)


def test_image_data_is_refused():
    with pytest.raises(ConfigError, match="data='digits'.*image data"):
        EnsembleTrainer(TrainConfig(data="digits", batch_size=32, z_dim=64), 2)
