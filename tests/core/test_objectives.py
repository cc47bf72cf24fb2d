"""Objectives (THEORY.md section 2) on hand-made logits, and the regularisers that act on D.

Everything here is a pure function of tensors, so the checks are exact up to float rounding: the loss
parts against torch's own BCE, the closed-form values at equilibrium, the gradients of the two G losses
with respect to the logit, and the penalties of linear critics whose input gradient is known in closed form.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganviz.core.objectives import LOG4, OBJECTIVES, get_objective
from ganviz.core.regularizers import add_instance_noise, clip_weights, gradient_penalty, r1_penalty

torch.set_num_threads(1)

ALL = list(OBJECTIVES)
PROB = [n for n in ALL if OBJECTIVES[n].is_probability]
LINEAR = [n for n in ALL if not OBJECTIVES[n].is_probability]
# float32 losses of O(1): sums of a few dozen terms agree to ~1e-6; 1e-5 leaves room for reduction order
ATOL = 1e-5


def logits(seed: int = 0, n: int = 64, scale: float = 3.0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(n, generator=g), scale * torch.randn(n, generator=g) - 1.0


def num(a: torch.Tensor | float) -> float:
    return float(a.detach()) if isinstance(a, torch.Tensor) else float(a)


def close(a: torch.Tensor | float, b: torch.Tensor | float, atol: float = ATOL) -> bool:
    return abs(num(a) - num(b)) <= atol


# ------------------------------------------------------------------ table / metadata

def test_all_six_objectives_are_registered():
    assert set(ALL) == {"minimax", "ns", "lsgan", "hinge", "wgan", "wgan-gp"}
    assert set(PROB) == {"minimax", "ns"}
    for name in ALL:
        o = get_objective(name)
        assert o.name == name and o.d_formula and o.g_formula and o.label
    with pytest.raises(KeyError, match="nope"):
        get_objective("nope")


def test_metadata_matches_theory():
    assert abs(LOG4 - math.log(4.0)) < 1e-15
    assert OBJECTIVES["minimax"].equilibrium_d == 0.5 and OBJECTIVES["ns"].equilibrium_d == 0.5
    assert OBJECTIVES["minimax"].equilibrium_d_loss == pytest.approx(1.386294, abs=1e-6)
    assert OBJECTIVES["lsgan"].equilibrium_d == 0.5 and OBJECTIVES["lsgan"].equilibrium_d_loss == 0.25
    assert OBJECTIVES["hinge"].equilibrium_d_loss == 2.0
    assert OBJECTIVES["wgan"].post_d_step is not None and OBJECTIVES["wgan"].penalty is None
    assert OBJECTIVES["wgan-gp"].penalty is not None and OBJECTIVES["wgan-gp"].post_d_step is None
    for name in ("minimax", "ns", "lsgan", "hinge"):
        assert OBJECTIVES[name].post_d_step is None and OBJECTIVES[name].penalty is None


def test_paper_defaults_match_theory():
    w = OBJECTIVES["wgan"].paper_defaults
    assert w["d_optimizer"] == "rmsprop" and w["d_lr"] == 5e-5 and w["clip"] == 0.01
    assert w["d_steps"] == 5 and w["batch_size"] == 64
    gp = OBJECTIVES["wgan-gp"].paper_defaults
    assert gp["d_optimizer"] == "adam" and gp["d_lr"] == 1e-4 and gp["gp_lambda"] == 10.0
    assert gp["d_steps"] == 5 and (gp["beta1"], gp["beta2"]) == (0.0, 0.9)


def test_display_is_sigmoid_only_for_probability_objectives():
    raw = torch.tensor([-3.0, 0.0, 2.5])
    for name in PROB:
        assert torch.allclose(OBJECTIVES[name].display(raw), torch.sigmoid(raw))
    for name in LINEAR:
        assert torch.equal(OBJECTIVES[name].display(raw), raw)


# ------------------------------------------------------------------ D losses: parts and formulas

@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_d_loss_total_is_real_plus_fake(name, smoothing):
    rr, rf = logits(1)
    parts = OBJECTIVES[name].d_loss(rr, rf, smoothing)
    assert parts.total.shape == () and parts.real_term.shape == () and parts.fake_term.shape == ()
    assert close(parts.total, parts.real_term + parts.fake_term, 1e-6)


@pytest.mark.parametrize("name", PROB)
def test_bce_d_loss_against_torch(name):
    rr, rf = logits(2)
    parts = OBJECTIVES[name].d_loss(rr, rf, 0.0)
    assert close(parts.real_term, F.binary_cross_entropy_with_logits(rr, torch.ones_like(rr)))
    assert close(parts.fake_term, F.binary_cross_entropy_with_logits(rf, torch.zeros_like(rf)))
    # the textbook form -E log D(x) - E log(1 - D(G(z))) in float64
    d_r, d_f = torch.sigmoid(rr.double()), torch.sigmoid(rf.double())
    assert close(parts.total, -(d_r.log().mean() + (1 - d_f).log().mean()), 1e-5)


@pytest.mark.parametrize("s", [0.05, 0.1, 0.25, 0.5])
def test_one_sided_label_smoothing_targets_1_minus_s(s):
    rr, rf = logits(3)
    for name in PROB:
        parts = OBJECTIVES[name].d_loss(rr, rf, s)
        assert close(parts.real_term, F.binary_cross_entropy_with_logits(rr, torch.full_like(rr, 1 - s)))
        # one-sided: the fake term keeps target 0
        assert close(parts.fake_term, F.binary_cross_entropy_with_logits(rf, torch.zeros_like(rf)))


def test_smoothing_does_not_touch_hinge_or_critics():
    rr, rf = logits(4)
    for name in ("hinge", "wgan", "wgan-gp"):
        a = OBJECTIVES[name].d_loss(rr, rf, 0.0)
        b = OBJECTIVES[name].d_loss(rr, rf, 0.3)
        assert float(a.total) == float(b.total)


def test_lsgan_formulas():
    rr, rf = logits(5)
    parts = OBJECTIVES["lsgan"].d_loss(rr, rf, 0.0)
    assert close(parts.real_term, 0.5 * ((rr - 1) ** 2).mean(), 1e-4)
    assert close(parts.fake_term, 0.5 * (rf ** 2).mean(), 1e-4)
    assert close(OBJECTIVES["lsgan"].g_loss(rf), 0.5 * ((rf - 1) ** 2).mean(), 1e-4)


def test_hinge_formulas():
    rr, rf = logits(6)
    parts = OBJECTIVES["hinge"].d_loss(rr, rf, 0.0)
    assert close(parts.real_term, torch.clamp(1 - rr, min=0).mean())
    assert close(parts.fake_term, torch.clamp(1 + rf, min=0).mean())
    assert close(OBJECTIVES["hinge"].g_loss(rf), -rf.mean())


@pytest.mark.parametrize("name", ["wgan", "wgan-gp"])
def test_critic_formulas(name):
    rr, rf = logits(7)
    parts = OBJECTIVES[name].d_loss(rr, rf, 0.0)
    assert close(parts.total, -(rr.mean() - rf.mean()))
    assert close(parts.real_term, -rr.mean()) and close(parts.fake_term, rf.mean())
    assert close(OBJECTIVES[name].g_loss(rf), -rf.mean())


def test_d_loss_at_equilibrium_equals_table_value():
    """D outputting its equilibrium value on both sides gives exactly the THEORY.md loss."""
    n = 16
    zero = torch.zeros(n)
    for name in PROB:  # logit 0 -> D = 1/2 -> 2 log 2
        assert close(OBJECTIVES[name].d_loss(zero, zero, 0.0).total, LOG4, 1e-6)
    half = torch.full((n,), 0.5)
    assert close(OBJECTIVES["lsgan"].d_loss(half, half, 0.0).total, 0.25, 1e-7)
    assert close(OBJECTIVES["hinge"].d_loss(zero, zero, 0.0).total, 2.0, 1e-7)
    # any constant critic has gap 0 (and any |f| <= 1 constant has hinge loss exactly 2)
    c = torch.full((n,), 0.37)
    assert close(OBJECTIVES["wgan"].d_loss(c, c, 0.0).total, 0.0, 1e-7)
    assert close(OBJECTIVES["hinge"].d_loss(c, c, 0.0).total, 2.0, 1e-6)


def test_lsgan_optimal_constant_is_one_half():
    # 1/2 (c-1)^2 + 1/2 c^2 is minimised at c = 1/2 with value 1/4 (a scan confirms the table entry)
    cs = torch.linspace(-1, 2, 3001)
    vals = torch.stack([OBJECTIVES["lsgan"].d_loss(c.reshape(1), c.reshape(1), 0.0).total for c in cs])
    assert float(cs[vals.argmin()]) == pytest.approx(0.5, abs=1e-3)
    assert float(vals.min()) == pytest.approx(0.25, abs=1e-6)


@pytest.mark.parametrize("name", PROB)
def test_probability_losses_are_stable_at_extreme_logits(name):
    big = torch.tensor([100.0, -100.0, 80.0], requires_grad=True)
    parts = OBJECTIVES[name].d_loss(big, big, 0.1)
    g = OBJECTIVES[name].g_loss(big)
    (parts.total + g).backward()
    assert torch.isfinite(parts.total) and torch.isfinite(g) and torch.isfinite(big.grad).all()
    # -log sigmoid(-100) = 100 (up to 1e-43): computed in logits, not log(sigmoid(x)) which would give inf
    assert float(OBJECTIVES[name].d_loss(torch.tensor([-100.0]), torch.tensor([-100.0]), 0.0).real_term) == \
        pytest.approx(100.0, rel=1e-6)


# ------------------------------------------------------------------ G losses: minimax vs non-saturating

def _g_grad(name: str, logit: float) -> tuple[float, float]:
    x = torch.tensor([logit], dtype=torch.float64, requires_grad=True)
    loss = OBJECTIVES[name].g_loss(x)
    loss.backward()
    return float(loss.detach()), float(x.grad)


def test_g_loss_values():
    rf = logits(8)[1]
    assert close(OBJECTIVES["minimax"].g_loss(rf), torch.log(1 - torch.sigmoid(rf.double())).mean(), 1e-5)
    assert close(OBJECTIVES["ns"].g_loss(rf), -torch.log(torch.sigmoid(rf.double())).mean(), 1e-5)
    # at D = 1/2: minimax G loss = log(1/2), non-saturating = log 2 (THEORY: 0.693147)
    assert _g_grad("minimax", 0.0)[0] == pytest.approx(-math.log(2), abs=1e-12)
    assert _g_grad("ns", 0.0)[0] == pytest.approx(0.693147, abs=1e-6)


def test_minimax_and_ns_share_the_fixed_point():
    """At D(G(z)) = 1/2 both G losses push the logit with the same force: d/dl = -1/2 for both."""
    assert _g_grad("minimax", 0.0)[1] == pytest.approx(-0.5, abs=1e-12)
    assert _g_grad("ns", 0.0)[1] == pytest.approx(-0.5, abs=1e-12)
    # both always push the fake logit up (descent direction +), for any logit
    for logit in (-8.0, -2.0, 0.0, 2.0, 8.0):
        assert _g_grad("minimax", logit)[1] < 0 and _g_grad("ns", logit)[1] < 0


def test_ns_gradient_does_not_saturate_when_d_rejects_fakes():
    # logit -6 (D(G(z)) = 0.0025): d/dl log(1 - s(l)) = -s(l); d/dl -log s(l) = -(1 - s(l))
    s = 1.0 / (1.0 + math.exp(6.0))
    g_mm = _g_grad("minimax", -6.0)[1]
    g_ns = _g_grad("ns", -6.0)[1]
    assert g_mm == pytest.approx(-s, rel=1e-9)  # -0.00247: vanishing
    assert g_ns == pytest.approx(-(1 - s), rel=1e-9)  # -0.99753: strong
    assert abs(g_ns) / abs(g_mm) > 400  # exactly e^6 = 403.4


# ------------------------------------------------------------------ regularisers

def linear_critic(w: list[float], b: float = 0.3) -> nn.Linear:
    lin = nn.Linear(len(w), 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([w]))
        lin.bias.fill_(b)
    return lin


def two_batches(dim: int = 2, n: int = 128):
    g = torch.Generator().manual_seed(11)
    return torch.randn(n, dim, generator=g), torch.randn(n, dim, generator=g) + 3.0


@pytest.mark.parametrize("w", [[0.6, 0.8], [1.0, 0.0], [-0.28, 0.96]])
def test_gradient_penalty_vanishes_for_unit_norm_linear_critic(w):
    real, fake = two_batches()
    gp = gradient_penalty(linear_critic(w), real, fake, torch.Generator().manual_seed(0))
    assert float(gp.detach()) < 1e-10  # ||grad|| = ||w|| = 1 exactly, up to float32 rounding (~1e-14)


@pytest.mark.parametrize("w", [[3.0, 4.0], [0.1, 0.0], [0.0, -2.0], [1.0, 1.0]])
def test_gradient_penalty_of_linear_critic_is_norm_minus_one_squared(w):
    real, fake = two_batches()
    gp = gradient_penalty(linear_critic(w), real, fake, torch.Generator().manual_seed(0))
    expect = (math.hypot(*w) - 1.0) ** 2
    assert float(gp.detach()) == pytest.approx(expect, rel=1e-5, abs=1e-7)


def test_gradient_penalty_is_differentiable_in_the_weights():
    real, fake = two_batches()
    lin = linear_critic([3.0, 4.0])
    gradient_penalty(lin, real, fake, torch.Generator().manual_seed(0)).backward()
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w|| = 2 * 4 * (0.6, 0.8)
    assert torch.allclose(lin.weight.grad, torch.tensor([[4.8, 6.4]]), atol=1e-4)


def test_gradient_penalty_interpolates_between_real_and_fake():
    """A critic whose gradient norm is |x_0| (f = x_0^2 / 2) has penalty E(|x_hat_0| - 1)^2 at x_hat on the
    segment: with real at 0 and fake at 1 in x_0, x_hat_0 = 1 - eps, eps ~ U[0,1] -> E eps^2 = 1/3."""
    class Quad(nn.Module):
        def forward(self, x):
            return 0.5 * x[:, 0] ** 2

    n = 200_000
    real = torch.zeros(n, 2)
    fake = torch.zeros(n, 2)
    fake[:, 0] = 1.0
    gp = gradient_penalty(Quad(), real, fake, torch.Generator().manual_seed(0))
    # sd of eps^2 is 0.298, so the mean of 2e5 draws is within 5 sd = 0.0034 of 1/3
    assert float(gp.detach()) == pytest.approx(1 / 3, abs=0.0034)


@pytest.mark.parametrize("w", [[0.6, 0.8], [3.0, 4.0], [0.0, 0.5]])
def test_r1_of_linear_d_is_squared_weight_norm(w):
    real, _ = two_batches()
    r1 = num(r1_penalty(linear_critic(w), real))
    assert r1 == pytest.approx(sum(v * v for v in w), rel=1e-6, abs=1e-9)


def test_r1_does_not_change_its_input():
    real, _ = two_batches()
    before = real.clone()
    r1_penalty(linear_critic([1.0, 2.0]), real)
    assert torch.equal(real, before) and not real.requires_grad


@pytest.mark.parametrize("c", [0.01, 0.1, 1.0])
def test_clip_weights_bounds_every_parameter(c):
    torch.manual_seed(0)
    d = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))
    with torch.no_grad():
        for p in d.parameters():
            p.mul_(50.0)  # push most entries out of range
    inside = {n: (p.abs() <= c).clone() for n, p in d.named_parameters()}
    before = {n: p.detach().clone() for n, p in d.named_parameters()}
    clip_weights(d, c)
    c32 = float(torch.tensor(c, dtype=torch.float32))  # the bound as stored in float32 weights
    for n, p in d.named_parameters():
        p = p.detach()
        assert float(p.abs().max()) <= c32
        assert torch.equal(p[inside[n]], before[n][inside[n]])  # values already inside are untouched
        assert torch.equal(p[~inside[n]], c * before[n][~inside[n]].sign())  # the rest sit on the bound


def test_instance_noise_zero_is_identity_and_draws_nothing():
    x = torch.randn(64, 2)
    g = torch.Generator().manual_seed(5)
    state = g.get_state()
    assert add_instance_noise(x, 0.0, g) is x
    assert torch.equal(g.get_state(), state)  # the training RNG stream is not consumed


def test_instance_noise_has_the_requested_std():
    x = torch.zeros(100_000, 2)
    y = add_instance_noise(x, 0.3, torch.Generator().manual_seed(5))
    # sd of the sample std of 2e5 normal draws is 0.3 / sqrt(4e5) = 4.7e-4; 0.003 is > 6 sd
    assert float(y.std()) == pytest.approx(0.3, abs=0.003)
    assert float(y.mean()) == pytest.approx(0.0, abs=0.003)
    assert torch.equal(x, torch.zeros_like(x))  # not in place


# ------------------------------------------------------------------ the row carries its variants (issue 14.2)
def test_label_smoothing_flag_says_whether_the_d_loss_depends_on_it():
    g = torch.Generator().manual_seed(3)
    raw_r, raw_f = torch.randn(64, 1, generator=g), torch.randn(64, 1, generator=g)
    for name, obj in OBJECTIVES.items():
        plain = obj.d_loss(raw_r, raw_f, 0.0).total
        smoothed = obj.d_loss(raw_r, raw_f, 0.2).total
        assert obj.label_smoothing == (not torch.allclose(plain, smoothed)), name
    assert {n for n, o in OBJECTIVES.items() if o.label_smoothing} == {"minimax", "ns", "lsgan"}


def test_the_penalty_is_weight_times_term_and_off_at_zero():
    from ganviz.core.config import TrainConfig

    obj = OBJECTIVES["wgan-gp"]
    lin = torch.nn.Linear(2, 1)
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(32, 2, generator=g), torch.randn(32, 2, generator=g)
    eps = torch.rand(32, 1, generator=g)
    got = obj.penalty(TrainConfig(gp_lambda=4.0), lin, real, fake, lambda: eps)
    assert torch.allclose(got, 4.0 * gradient_penalty(lin, real, fake, eps))
    drawn = []
    assert obj.penalty(TrainConfig(gp_lambda=0.0), lin, real, fake, lambda: drawn.append(1)) is None and not drawn
    assert all(o.penalty is None for n, o in OBJECTIVES.items() if n != "wgan-gp")


def test_the_post_step_clips_in_place_and_functionally_alike():
    from ganviz.core.config import TrainConfig

    hook = OBJECTIVES["wgan"].post_d_step
    w = torch.tensor([-1.0, -0.005, 0.0, 0.3])
    expected = hook.functional(w, 0.01)
    hook(TrainConfig(clip=0.01), [w])
    assert torch.equal(w, expected) and w.tolist() == pytest.approx([-0.01, -0.005, 0.0, 0.01])
    assert all(o.post_d_step is None for n, o in OBJECTIVES.items() if n != "wgan")


def test_every_objective_carries_its_formula():
    for name, obj in OBJECTIVES.items():
        f = obj.formula
        assert f is not None and f.d_terms and f.g_terms and f.output_note, name
        assert (f.d_terms_smoothed is not None) == obj.label_smoothing, name
        assert f.d_symbol == ("f" if obj.output == "linear" and obj.equilibrium_d is None else "D"), name
    assert OBJECTIVES["wgan-gp"].formula.d_terms[-1] == OBJECTIVES["wgan-gp"].penalty.formula
