"""JS versus Wasserstein on a fixed shifted generator (ganviz.core.jsw; WGAN paper Example 1, THEORY.md section 3).

Small and fast: two thetas on the parallel lines, one on disjoint-1d, a few hundred D steps with 2 x 64 MLPs.
Tolerances, and why:
- JSD estimate (V + log 4)/2 < log 2 always (V < 0 since log D < 0); with the supports 100+ line widths apart a
  300-step D gets V above -0.1, so the estimate is within 0.05 of log 2 (measured 0.6928-0.6930).
- W1 on samples: 256 per side by optimal assignment. By the triangle inequality |W1(P^, Q^) - |theta|| is at
  most the W1 between two independent 256-samples of P0, the finite-sample floor, measured 0.039: tolerance 0.05.
- WGAN-GP critic gap: for a translation the penalised optimum along the shift is |theta| (1 + |theta| / 2 lambda)
  (0.5125 and 2.2 at lambda = 10), see ganviz.core.jsw; a 300-step critic lands within 10% of it (measured
  -5% to +4% over seeds).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganviz.core import jsw

torch.set_num_threads(1)
LOG2 = math.log(2.0)


@pytest.fixture(scope="module")
def lines() -> list[jsw.ThetaResult]:
    settings = jsw.SweepSettings(data="parallel-lines", steps=300, seed=0)
    results = [r for _, r in jsw.iter_sweep([0.5, 2.0], settings) if r is not None]
    assert len(results) == 2
    return results


def test_jsd_estimate_is_log2_for_separated_parallel_lines(lines):
    for r in lines:
        assert LOG2 - 0.05 <= r.jsd_est < LOG2
        assert r.jsd_true == pytest.approx(LOG2, abs=1e-12)  # JS = log 2 for every theta != 0 (THEORY.md)
    assert abs(lines[0].jsd_est - lines[1].jsd_est) < 0.01  # flat in theta: no gradient


def test_w1_metric_and_critic_gap_track_theta(lines):
    for r in lines:
        assert r.w1_exact == abs(r.theta)
        assert abs(r.w1 - abs(r.theta)) < 0.05
        assert r.gp_soft_optimum == pytest.approx(abs(r.theta) * (1 + abs(r.theta) / 20))
        assert 0.9 * r.gp_soft_optimum <= r.critic_gap <= 1.1 * r.gp_soft_optimum
    assert 0 < lines[0].critic_gap < lines[1].critic_gap
    # the gap grows about 4x from theta = 0.5 to 2 (W1 ratio 4; soft-penalty optimum ratio 4.3)
    assert 3.4 < lines[1].critic_gap / lines[0].critic_gap < 4.8


def test_curves_show_saturated_d_and_unit_slope_critic(lines):
    c = lines[1].curve  # theta = 2, on the slice y = 0.5
    assert c is not None and c.slice_y == 0.5
    x = c.x
    at = lambda v: int(np.argmin(np.abs(x - v)))  # noqa: E731
    assert c.d_prob[at(0.0)] > 0.99 and c.d_prob[at(2.0)] < 0.01  # D saturates on both lines
    w = c.p_g / c.p_g.sum()
    d_slope = float(np.dot(w, np.abs(np.gradient(c.d_prob, x))))
    f_slope = float(np.dot(w, np.abs(np.gradient(c.critic_gp, x))))
    assert d_slope < 0.05  # no gradient from the saturated D where the generator is ...
    assert 0.8 < f_slope < 1.3  # ... while the critic keeps slope ~1 there
    assert abs(c.critic_gp[at(0.0)]) < 0.005  # shown with f(0) = 0 (the grid point nearest 0 is 0.001 away)
    assert c.critic_gp[at(0.0)] - c.critic_gp[at(2.0)] == pytest.approx(lines[1].critic_gap, rel=0.15)
    # densities along the slice: p_data at x = 0, p_g at x = theta, both the N(0, 0.005^2) x-marginal
    assert x[np.argmax(c.p_data)] == pytest.approx(0.0, abs=0.003)
    assert x[np.argmax(c.p_g)] == pytest.approx(2.0, abs=0.003)
    assert c.p_data.max() == pytest.approx(1 / (0.005 * math.sqrt(2 * math.pi)), rel=0.02)


def test_disjoint_1d_separated_shift():
    t = jsw.sweep([4.0], data="disjoint-1d", steps=300)
    assert set(t) == set(jsw.TABLE_KEYS)
    assert LOG2 - 0.05 <= t["jsd_est"][0] < LOG2
    assert t["jsd_true"][0] == pytest.approx(LOG2, abs=1e-4)  # the Trainer's quadrature metric
    assert t["w1_exact"][0] == 4.0
    # two far-apart bumps: the 4096-sample W1 floor is the mass imbalance between bumps carried 6 units,
    # 6 * sd(difference of two binomial fractions) = 6 * 0.011 = 0.066; allow 3 sd
    assert abs(t["w1"][0] - 4.0) < 0.2
    assert t["critic_gap"][0] > 2.0
    assert np.isnan(t["critic_gap_clip"][0])


def test_true_jsd_reference_values():
    # THEORY.md: JSD(N(0,1) || N(mu,1)) for mu = 0.5/1/2/4/8
    ref = [0.030311, 0.111421, 0.336831, 0.632720, 0.693054]
    got = [jsw.true_jsd("gaussian-1d", mu) for mu in (0.5, 1, 2, 4, 8)]
    np.testing.assert_allclose(got, ref, atol=2e-6)
    assert jsw.true_jsd("gaussian-1d", -2.0) == pytest.approx(0.336831, abs=2e-6)
    assert jsw.true_jsd("parallel-lines", 0.0) == 0.0
    assert jsw.true_jsd("parallel-lines", 0.25) == pytest.approx(LOG2, abs=1e-12)
    assert jsw.true_jsd("disjoint-1d", 2.0) == pytest.approx(LOG2, abs=1e-9)
    assert 0.0 < jsw.true_jsd("disjoint-1d", 0.25) < 0.6
    assert math.isnan(jsw.true_jsd("ring8", 1.0))


def test_default_thetas_and_settings_validation():
    th = jsw.default_thetas("parallel-lines")
    np.testing.assert_allclose(th, np.linspace(-1, 1, 9))
    assert 0.0 in th
    with pytest.raises(KeyError):
        jsw.train_theta(1.0, jsw.SweepSettings(data="nope"))
    with pytest.raises(ValueError):
        jsw.train_theta(1.0, jsw.SweepSettings(gp_warmup=1.5))


def test_critic_shapes_clipping_vs_penalty():
    s = jsw.ShapeSettings(data="two-blobs", steps=150, width=32, depth=3, grid=24, batch_size=128, chunk=50)
    frames = list(jsw.iter_critic_shapes(s))
    assert [f.step for f in frames] == [0, 50, 100, 150]
    last = frames[-1]
    assert last.gp_values.shape == (24, 24) and last.clip_values.shape == (24, 24)
    assert last.xs.shape == (24,) and last.ys.shape == (24,)
    # weights clipped to [-c, c]: |f(x) - f(y)| <= prod over layers (fan_in * c) * ||x - y||_inf
    c = s.clip
    lipschitz = (2 * c) * (s.width * c) ** s.depth
    diam = max(last.xs[-1] - last.xs[0], last.ys[-1] - last.ys[0])
    assert np.ptp(last.clip_values) <= lipschitz * diam
    assert np.ptp(last.gp_values) > 100 * np.ptp(last.clip_values)
    assert last.gp_gap > 0.0  # the GP critic already scores real above data + noise
