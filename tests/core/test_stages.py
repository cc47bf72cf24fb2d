"""Slow motion (issue 18.2): a step played as its stages is bit for bit a normal step, and each stage's numbers
are the step's own."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganviz.core import stages as S
from ganviz.core.config import TrainConfig
from ganviz.core.trainer import Trainer

torch.set_num_threads(1)

TINY = dict(d_width=16, g_width=16, d_depth=2, g_depth=2, batch_size=32, n_view=16, kde_samples=64, grid_size=8,
            mode_samples=100, w1_samples=16, device="cpu", data="ring8", seed=5)
CONFIGS = {
    "ns": dict(objective="ns"),
    "wgan-gp, GP, k=3": dict(objective="wgan-gp", gp_lambda=10.0, d_steps=3, beta1=0.0, beta2=0.9),
    "lsgan, smoothing, noise, R1": dict(objective="lsgan", label_smoothing=0.2, instance_noise=0.1, r1_gamma=0.5),
    "wgan clip, rmsprop, g_steps=2": dict(objective="wgan", clip=0.05, d_optimizer="rmsprop",
                                          g_optimizer="rmsprop", g_steps=2),
    "minimax 1D sgd": dict(objective="minimax", data="bimodal-1d", d_optimizer="sgd", g_optimizer="sgd", z_dim=1),
    "hinge unrolled": dict(objective="hinge", unroll=2),
    "fixed shift": dict(objective="ns", generator="shift", shift_x=0.5),
    "packed, minibatch std, fixed noise": dict(objective="ns", pack=2, mbstd=1, generator="noise", noise_sigma=0.3),
    "uniform z, mbdisc": dict(objective="hinge", z_prior="uniform", mbdisc=4),
    "dcgan digits (batch norm)": dict(data="digits", batch_size=16, z_dim=16, conv_channels=8, n_view=64),
}


def tensors(tree) -> list[torch.Tensor]:
    if isinstance(tree, torch.Tensor):
        return [tree]
    if isinstance(tree, dict):
        return [t for k in sorted(tree, key=str) for t in tensors(tree[k])]
    if isinstance(tree, (list, tuple)):
        return [t for v in tree for t in tensors(v)]
    return []


def assert_same_run(a: Trainer, b: Trainer) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert {k: v for k, v in sa.items() if not isinstance(v, (dict, torch.Tensor))} == \
           {k: v for k, v in sb.items() if not isinstance(v, (dict, torch.Tensor))}
    ta, tb = tensors(sa), tensors(sb)
    assert len(ta) == len(tb) > 4
    for x, y in zip(ta, tb, strict=True):
        assert torch.equal(x, y)
    ra, rb = a.take_rows(), b.take_rows()
    assert [s for s, _ in ra] == [s for s, _ in rb]
    for (_, x), (_, y) in zip(ra, rb, strict=True):
        assert x.keys() == y.keys()
        for key in x:
            assert torch.equal(x[key], y[key]), key


@pytest.mark.parametrize("name", list(CONFIGS))
def test_stages_then_step_equal_steps(name: str) -> None:
    cfg = TrainConfig(**{**TINY, **CONFIGS[name]})
    a, b = Trainer(cfg), Trainer(cfg)
    a.train(3)
    b.train(3)
    played = list(S.play_step(a))
    b.iteration()
    assert [(s.name, s.network, s.index) for s in played] == S.plan(b)
    assert [s.last for s in played] == [False] * (len(played) - 1) + [True]
    assert a.step == b.step == 4 and all(s.step == 4 for s in played)
    assert_same_run(a, b)
    for t in (a, b):  # the next step too: same losses, same weights
        t.iteration()
    ha, hb = a.take_rows(), b.take_rows()
    assert torch.equal(ha[0][1]["d_loss"], hb[0][1]["d_loss"])
    assert_same_run(a, b)


def test_stage_numbers_are_the_steps_own() -> None:
    cfg = TrainConfig(**{**TINY, "objective": "wgan-gp", "gp_lambda": 10.0, "d_steps": 3})
    t = Trainer(cfg)
    t.train(2)
    t.take_rows()
    played = list(S.play_step(t))
    names = [s.name for s in played]
    assert names == list(S.D_STAGES) * 3 + list(S.G_STAGES)
    (step, row), = t.take_rows()
    assert step == 3
    d_loss = [s for s in played if s.name == S.D_LOSS]
    # the row keeps the last D update's values: its loss, penalty and gradient norm are the third D loss stage's
    assert d_loss[-1].losses["d_loss"] == pytest.approx(float(row["d_loss"]), rel=1e-6)
    assert d_loss[-1].losses["d_penalty"] == pytest.approx(float(row["d_penalty"]), rel=1e-6)
    assert d_loss[-1].losses["d_loss"] == pytest.approx(
        d_loss[-1].losses["d_real_term"] + d_loss[-1].losses["d_fake_term"] + d_loss[-1].losses["d_penalty"],
        rel=1e-5)
    d_grad = [s for s in played if s.name == S.D_GRADIENT]
    assert d_grad[-1].grad_norm == pytest.approx(float(row["d_grad_norm"]), rel=1e-6)
    g_loss = next(s for s in played if s.name == S.G_LOSS)
    assert g_loss.losses["g_loss"] == pytest.approx(float(row["g_loss"]), rel=1e-6)
    # a critic: L_G = -E f(G(z)), and the displayed output is the raw score
    assert g_loss.losses["g_loss"] == pytest.approx(-float(g_loss.d_fake.mean()), rel=1e-5)
    assert f"{g_loss.losses['g_loss']:.4g}" in g_loss.narration
    assert d_loss[0].narration.startswith("D step 1/3: ")
    # the D loss stage's terms from its own arrays: real term = -E f(x), fake term = E f(G(z))
    assert d_loss[0].losses["d_real_term"] == pytest.approx(-float(d_loss[0].d_real.mean()), rel=1e-5)
    assert d_loss[0].losses["d_fake_term"] == pytest.approx(float(d_loss[0].d_fake.mean()), rel=1e-5)
    # each D update's frozen D is the D after it: the last one scores like the trainer's D now
    pts = torch.randn(50, 2, generator=torch.Generator().manual_seed(1))
    last_d = [s for s in played if s.name == S.D_UPDATE][-1].d_after
    assert torch.equal(last_d(pts).reshape(-1), t.D(pts).detach().reshape(-1))
    first_d = played[0].d_after  # D before the step differs from it
    assert not torch.equal(first_d(pts), last_d(pts))
    assert all(s.moved > 0 for s in played if s.name in (S.D_UPDATE, S.G_UPDATE))


def test_g_update_arrows_and_fakes_after() -> None:
    t = Trainer(TrainConfig(**{**TINY, "objective": "ns", "g_lr": 0.05, "g_optimizer": "sgd"}))
    t.train(2)
    played = list(S.play_step(t))
    grad = next(s for s in played if s.name == S.G_GRADIENT)
    upd = next(s for s in played if s.name == S.G_UPDATE)
    assert grad.fake_grad.shape == grad.fake.shape == (32, 2)
    # the arrows are dL_G/dx: a finite-difference check of L_G = -mean log sigmoid(D(x)) at the fakes
    x = torch.as_tensor(grad.fake, dtype=torch.float64).requires_grad_(True)
    d64 = [p.detach().double() for p in t.D.parameters()]  # D is unchanged by the G update
    h = x
    for i in range(0, len(d64) - 2, 2):
        h = torch.relu(h @ d64[i].T + d64[i + 1])
    loss = -torch.nn.functional.logsigmoid(h @ d64[-2].T + d64[-1]).mean()
    (ref,) = torch.autograd.grad(loss, x)
    np.testing.assert_allclose(grad.fake_grad, ref.numpy(), rtol=1e-3, atol=1e-7)
    # the fakes after the update are G(z) with the new weights, and they moved
    with torch.no_grad():
        np.testing.assert_array_equal(upd.fake_after, t.G(torch.as_tensor(upd.z)).numpy())
    assert np.linalg.norm(upd.fake_after - upd.fake, axis=1).mean() > 0
    # on average the fakes moved against the arrows (plain SGD: a descent step on L_G)
    step = upd.fake_after - upd.fake
    assert float((step * -grad.fake_grad).sum()) > 0


def test_finish_mid_step_completes_it() -> None:
    cfg = TrainConfig(**{**TINY, "objective": "lsgan", "d_steps": 2})
    a, b = Trainer(cfg), Trainer(cfg)
    stages = S.play_step(a)
    seen = [next(stages) for _ in range(4)]
    assert [s.name for s in seen] == [S.SAMPLE, S.G_FORWARD, S.D_OUTPUTS, S.D_LOSS]
    assert a.step == 0  # half way through the step
    assert S.finish(stages) == 2 * 6 + 3 - 4
    b.iteration()
    assert_same_run(a, b)


def test_stages_cross_a_process_boundary() -> None:
    import pickle

    t = Trainer(TrainConfig(**{**TINY, "objective": "wgan-gp", "gp_lambda": 1.0}))
    for stage in S.play_step(t):
        back = pickle.loads(pickle.dumps(stage))
        assert back.name == stage.name and back.narration == stage.narration
        for key in ("z", "real", "fake", "d_real", "d_fake", "fake_grad", "fake_after"):
            a, b = getattr(stage, key), getattr(back, key)
            assert (a is None and b is None) or np.array_equal(a, b)
        if stage.d_after is not None:
            pts = torch.zeros(3, 2)
            assert torch.equal(back.d_after(pts), stage.d_after(pts))


@pytest.mark.parametrize("data", ["two-blobs", "bimodal-1d"])
def test_stage_fields_are_the_snapshots_fields_before_and_after(data: str) -> None:
    t = Trainer(TrainConfig(**{**TINY, "data": data, "objective": "ns", "d_steps": 2, "d_lr": 0.02}))
    t.train(2)
    before = t.snapshot(with_metrics=False)
    played = list(S.play_step(t))
    after = t.snapshot(with_metrics=False)

    def values(field):
        return field.values if hasattr(field, "values") else field.d

    first = values(S.stage_field(played[0], t))
    updates = [values(S.stage_field(s, t)) for s in played if s.name == S.D_UPDATE]
    np.testing.assert_array_equal(first, values(before.field2d or before.field1d))
    np.testing.assert_array_equal(updates[-1], values(after.field2d or after.field1d))
    assert np.abs(updates[0] - first).max() > 1e-4  # the first D update changed the field, the second again
    assert np.abs(updates[1] - updates[0]).max() > 1e-4
    assert S.stage_field(next(s for s in played if s.name == S.D_LOSS), t) is None
