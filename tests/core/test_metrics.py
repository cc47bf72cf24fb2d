"""Ground-truth metrics (ganviz.core.metrics) against scipy, closed forms and THEORY.md's reference numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from ganviz.core import metrics as M
from ganviz.core.distributions import make_distribution

torch.set_num_threads(1)

LOG2 = math.log(2.0)


def sample(name: str, n: int, seed: int, **kw) -> np.ndarray:
    dist = make_distribution(name, **kw)
    return dist.sample(n, torch.Generator().manual_seed(seed)).numpy().astype(np.float64)


# ------------------------------------------------------------------ W1

def test_w1_1d_matches_scipy():
    rng = np.random.default_rng(0)
    for n in (1, 7, 500):
        x, y = rng.normal(size=n), rng.exponential(size=n) + 0.5
        assert M.w1_1d(x, y) == pytest.approx(stats.wasserstein_distance(x, y), rel=1e-12, abs=1e-14)
        assert M.w1_exact(x[:, None], y[:, None]) == pytest.approx(stats.wasserstein_distance(x, y), rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.integers(1, 40), elements=st.floats(-1e3, 1e3)),
       st.floats(-100, 100), st.integers(0, 2**31))
def test_w1_1d_property_against_scipy(x, shift, seed):
    y = np.random.default_rng(seed).permutation(x) + shift
    assert M.w1_1d(x, y) == pytest.approx(stats.wasserstein_distance(x, y), rel=1e-9, abs=1e-9)
    assert M.w1_1d(x, y) == pytest.approx(abs(shift), rel=1e-9, abs=1e-9)  # a translate is |shift| away


def test_w1_1d_of_gaussians_is_mean_gap():
    rng = np.random.default_rng(1)
    x, y = rng.normal(0, 1, 20000), rng.normal(1.5, 1, 20000)
    # W1(N(a,s), N(b,s)) = |a - b|; the empirical value's sd at n = 2e4 is ~0.01 (mean diff sd) -> 0.04 = 4 sd
    assert M.w1_1d(x, y) == pytest.approx(1.5, abs=0.04)


def test_w1_1d_rejects_unequal_sizes():
    with pytest.raises(ValueError, match="equal"):
        M.w1_1d(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="equal"):
        M.w1_exact(np.zeros((3, 2)), np.zeros((4, 2)))


def test_w1_exact_2d_of_a_translate_is_the_shift_length():
    x = sample("ring8", 200, 0)
    # for any assignment s: sum_i ||x_i - x_s(i) - v|| >= ||sum_i (x_i - x_s(i) - v)|| = n ||v||, so the identity
    # (every point to its own translate) is optimal and W1 = ||(3, 4)|| = 5 exactly
    assert M.w1_exact(x, x + np.array([3.0, 4.0])) == pytest.approx(5.0, abs=1e-12)


def test_w1_exact_of_a_permutation_is_zero():
    x = sample("two-blobs", 300, 1)
    y = x[np.random.default_rng(0).permutation(len(x))]
    assert M.w1_exact(x, y) == 0.0


def test_w1_exact_small_case_by_hand():
    # two points each: the crossing assignment costs 2 sqrt(2) / 2, the straight one 1 -> W1 = 1
    x = np.array([[0.0, 0.0], [1.0, 1.0]])
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert M.w1_exact(x, y) == pytest.approx(1.0, abs=1e-12)


def test_sliced_w1_is_a_lower_bound():
    for seed in range(3):
        x = sample("ring8", 256, seed)
        y = sample("grid25", 256, seed + 10) * 0.5
        assert M.sliced_w1(x, y) <= M.w1_exact(x, y) + 1e-12
        assert M.sliced_w1(x, y, seed=seed) > 0
    x = sample("ring8", 128, 5)
    assert M.sliced_w1(x, x) == 0.0


def test_w1_collapse_to_one_mode_of_the_ring_is_1_2568_r():
    """THEORY: all mass on one mode of an 8-ring of radius r gives W1 = r/4 cot(pi/16) = 1.2568 r."""
    r = 2.0
    ref = r / 4.0 / math.tan(math.pi / 16)  # mean of the 8 chord lengths 2 r sin(pi k / 8)
    assert ref / r == pytest.approx(1.2568, abs=1e-4)
    ring = make_distribution("ring8", ring_radius=r, ring_std=0.02)
    m0 = ring.modes[0]
    n = 512
    rng = np.random.default_rng(0)
    one_mode = m0 + 0.02 * rng.normal(size=(n, 2))
    spread = float(np.linalg.norm(one_mode - m0, axis=1).mean())  # W1(fakes, delta_m0), ~0.02 sqrt(pi/2)
    # stratified: exactly n/8 real samples per mode, so only the std (0.02) blurs the value
    real = np.repeat(ring.modes, n // 8, axis=0) + 0.02 * rng.normal(size=(n, 2))
    to_point = float(np.linalg.norm(real - m0, axis=1).mean())  # W1(real, delta_m0), exact
    assert to_point == pytest.approx(ref, abs=0.005)  # noise of std 0.02 moves each distance by O(0.02^2/r)
    w1 = M.w1_exact(real, one_mode)
    # triangle inequality for W1: |W1(real, fake) - W1(real, delta)| <= W1(fake, delta)
    assert abs(w1 - to_point) <= spread + 1e-9
    assert w1 == pytest.approx(ref, abs=0.03)
    assert w1 / r == pytest.approx(1.2568, abs=0.015)
    # i.i.d. ring samples: the mode counts are multinomial; sd of the mean distance is 0.648 r / sqrt(n)
    real_iid = sample("ring8", n, 3, ring_radius=r, ring_std=0.02)
    tol = 4 * 0.648 * r / math.sqrt(n) + spread
    assert M.w1_exact(real_iid, one_mode) == pytest.approx(ref, abs=tol)


def test_w1_finite_sample_floor_of_the_ring():
    """THEORY: two independent n=256 samples of the ring (r 1.414, std 0.0141) are ~0.17 apart.

    One pair is too noisy to test that (the mode counts are multinomial: over 40 pairs the sd of one value
    is 0.047, range 0.07-0.28), so this checks the mean of 16 pairs (sd ~0.012, measured mean ~0.15).
    """
    vals = [M.w1_exact(sample("ring8", 256, 2 * s, ring_radius=1.414, ring_std=0.0141),
                       sample("ring8", 256, 2 * s + 1, ring_radius=1.414, ring_std=0.0141)) for s in range(16)]
    assert 0.12 <= float(np.mean(vals)) <= 0.23
    assert all(0.03 < v < 0.4 for v in vals)  # far from 0 ("converged" is not W1 = 0) and from collapse (1.78)


# ------------------------------------------------------------------ JSD, KDE, D*

@pytest.mark.parametrize("mu,ref", [(0.5, 0.030311), (1.0, 0.111421), (2.0, 0.336831), (4.0, 0.632720),
                                    (8.0, 0.693054)])
def test_gaussian_jsd_reference_matches_theory(mu, ref):
    # THEORY gives 6 decimals; the quadrature (20001 nodes over +-12) is accurate to ~1e-10
    assert M.gaussian_jsd_reference(mu) == pytest.approx(ref, abs=1e-6)


def test_gaussian_jsd_reference_tends_to_log2():
    assert M.gaussian_jsd_reference(0.0) == pytest.approx(0.0, abs=1e-12)
    assert M.gaussian_jsd_reference(30.0) == pytest.approx(LOG2, abs=1e-9)
    vals = [M.gaussian_jsd_reference(m) for m in (0.5, 1, 2, 4, 8, 16)]
    assert np.all(np.diff(vals) > 0)


def test_jsd_quadrature_identical_and_disjoint():
    x = np.linspace(-10, 50, 60001)
    p = stats.norm.pdf(x, 0, 1)
    assert M.jsd_quadrature(p, p, x) == pytest.approx(0.0, abs=1e-12)
    q = stats.norm.pdf(x, 40, 1)  # supports separated by 40 sd: JSD = log 2 to ~1e-300
    assert M.jsd_quadrature(p, q, x) == pytest.approx(LOG2, abs=1e-9)
    # disjoint uniforms whose edges sit between grid nodes (no trapezoid edge error)
    x = np.linspace(0, 4, 4001)
    p = np.where((x > 0.5) & (x < 1.5), 1.0, 0.0)
    q = np.where((x > 2.5) & (x < 3.5), 1.0, 0.0)
    assert M.jsd_quadrature(p, q, x) == pytest.approx(LOG2, abs=1e-3 * LOG2)  # trapezoid ends: 1 node in 1000
    assert M.jsd_quadrature(p, q, x) == pytest.approx(M.jsd_quadrature(q, p, x), abs=1e-15)  # symmetric


def test_jsd_quadrature_of_the_worked_example():
    x = np.linspace(-12, 14, 30001)
    assert M.jsd_quadrature(stats.norm.pdf(x), stats.norm.pdf(x, 2, 1), x) == pytest.approx(0.336831, abs=1e-6)


def test_jsd_from_value():
    assert M.jsd_from_value(-math.log(4)) == pytest.approx(0.0, abs=1e-15)
    assert M.jsd_from_value(-0.712633) == pytest.approx(0.336831, abs=1e-6)
    assert M.jsd_from_value(0.0) == pytest.approx(LOG2, abs=1e-15)


def test_kde_1d_integrates_to_one_and_approximates_the_normal():
    s = np.random.default_rng(0).normal(size=20000)
    x = np.linspace(-6, 6, 2401)
    k = M.kde_1d(s, x)
    assert np.trapezoid(k, x) == pytest.approx(1.0, abs=2e-3)  # mass beyond +-6 sd is ~1e-9
    # Scott bandwidth ~0.146: smoothing bias h^2/2 |phi''| <= 0.005 at the peak; noise sd sqrt(f/(2 sqrt(pi) n h))
    # ~0.006: 0.03 is about 5 sd of the noise plus the bias
    assert np.abs(k - stats.norm.pdf(x)).max() < 0.03


def test_kde_1d_matches_the_direct_sum():
    s = np.random.default_rng(1).normal(size=500)
    x = np.linspace(-5, 5, 2001)
    bw = 0.3
    direct = stats.norm.pdf((x[:, None] - s[None, :]) / bw).sum(1) / (s.size * bw)
    # binning to a grid with dx = 0.005 << bw moves each sample by < dx/2: relative error O((dx/bw)^2) ~ 1e-4
    assert np.abs(M.kde_1d(s, x, bw) - direct).max() < 2e-3
    coarse = np.linspace(-5, 5, 11)  # dx 1 > 2 bw: direct evaluation branch, exact
    exact = stats.norm.pdf((coarse[:, None] - s) / bw).sum(1) / (500 * bw)
    assert np.allclose(M.kde_1d(s, coarse, bw), exact, rtol=1e-12, atol=1e-15)


def test_scott_bandwidth():
    s = np.random.default_rng(2).normal(size=10000)
    assert M.scott_bandwidth(s) == pytest.approx(1.06 * 10000 ** -0.2, rel=0.05)  # sigma estimate within 5%
    assert M.scott_bandwidth(np.zeros(10)) == 1e-3  # floor for degenerate samples


def test_optimal_d():
    x = np.linspace(-3, 5, 801)
    d = M.optimal_d(stats.norm.pdf(x), stats.norm.pdf(x, 2, 1))
    assert np.allclose(d, 1 / (1 + np.exp(-(2 - 2 * x))), atol=1e-12, rtol=0)
    assert M.optimal_d(np.array([0.0]), np.array([0.0]))[0] == 0.5
    assert np.array_equal(M.optimal_d(np.array([1.0, 0.0, 3.0]), np.array([0.0, 2.0, 1.0])), [1.0, 0.0, 0.75])


# ------------------------------------------------------------------ mode metrics

def test_mode_metrics_on_real_ring_samples():
    ring = make_distribution("ring8")
    s = sample("ring8", 2500, 0)
    mm = M.mode_metrics(s, ring.modes, ring.mode_std)
    assert mm["modes_covered"] == 8 and mm["n_modes"] == 8
    p = 1 - math.exp(-4.5)  # P(|N(0, s^2 I_2)| <= 3 s) = 1 - e^{-9/2} = 0.98889
    sd = math.sqrt(p * (1 - p) / 2500)  # binomial sd of the HQ fraction, 0.0021
    assert mm["hq_fraction"] == pytest.approx(p, abs=3 * sd)
    assert 0 <= mm["reverse_kl"] < 0.01  # THEORY: ~0.0015 on real data
    assert mm["counts"].sum() == pytest.approx(mm["hq_fraction"] * 2500)


def test_mode_metrics_on_real_grid_samples():
    grid = make_distribution("grid25")
    mm = M.mode_metrics(sample("grid25", 2500, 1), grid.modes, grid.mode_std)
    assert mm["modes_covered"] == 25 and mm["n_modes"] == 25
    p = 1 - math.exp(-4.5)
    assert mm["hq_fraction"] == pytest.approx(p, abs=3 * math.sqrt(p * (1 - p) / 2500))
    assert 0 <= mm["reverse_kl"] < 0.03  # 100 samples per mode: E rKL ~ (K-1)/(2n) = 0.005


def test_mode_metrics_of_a_collapse():
    ring = make_distribution("ring8")
    rng = np.random.default_rng(0)
    one = ring.modes[3] + ring.mode_std * rng.normal(size=(2500, 2))
    mm = M.mode_metrics(one, ring.modes, ring.mode_std)
    assert mm["modes_covered"] == 1
    assert mm["reverse_kl"] == pytest.approx(math.log(8), abs=1e-12)
    assert mm["reverse_kl"] == pytest.approx(2.079, abs=1e-3)
    assert mm["counts"][3] == mm["counts"].sum()
    grid = make_distribution("grid25")
    one = grid.modes[7] + grid.mode_std * rng.normal(size=(2500, 2))
    assert M.mode_metrics(one, grid.modes, grid.mode_std)["reverse_kl"] == pytest.approx(3.219, abs=1e-3)


def test_mode_metrics_without_hq_samples():
    ring = make_distribution("ring8")
    far = np.full((100, 2), 50.0)
    mm = M.mode_metrics(far, ring.modes, ring.mode_std)
    assert mm["modes_covered"] == 0 and mm["hq_fraction"] == 0.0 and math.isnan(mm["reverse_kl"])


def test_mode_metrics_half_and_half_and_min_share():
    modes = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    pts = np.concatenate([np.repeat(modes[:1], 90, 0), np.repeat(modes[1:2], 10, 0)])
    mm = M.mode_metrics(pts, modes, 0.1)
    assert mm["modes_covered"] == 2 and mm["hq_fraction"] == 1.0
    # p = (0.9, 0.1): sum p log(4 p)
    assert mm["reverse_kl"] == pytest.approx(0.9 * math.log(3.6) + 0.1 * math.log(0.4), abs=1e-12)
    assert M.mode_metrics(pts, modes, 0.1, min_share=0.2)["modes_covered"] == 1


def test_jsd_quadrature_survives_subnormal_densities():
    """Tiny tail densities must not turn into inf (the midpoint underflowed to 0 before the fix)."""
    import numpy as np

    from ganviz.core.metrics import jsd_quadrature

    x = np.linspace(-10, 10, 101)
    p = np.full_like(x, 5e-324)  # the smallest subnormal: (p + 0) / 2 rounds to 0
    q = np.zeros_like(x)
    p[50], q[50] = 1.0, 1.0
    assert np.isfinite(jsd_quadrature(p, q, x)) and jsd_quadrature(p, q, x) == 0.0
