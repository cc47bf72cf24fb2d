"""Toy data distributions: sampling, seeding, bounds, densities (against scipy / quadrature / histograms)."""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.special import logsumexp

from ganviz.core.distributions import (
    DATASETS,
    GaussianMixture,
    NoisePrior,
    NoisyCurve,
    ParallelLines,
    Uniform1D,
    make_distribution,
    ring_means,
    toy_datasets,
)

REQUIRED = {
    "gaussian-1d": 1, "bimodal-1d": 1, "trimodal-1d": 1, "uniform-1d": 1, "disjoint-1d": 1,
    "ring8": 2, "grid25": 2, "two-blobs": 2, "disjoint3": 2,
    "swissroll": 2, "moons": 2, "spiral": 2, "circle": 2, "line": 2, "parallel-lines": 2,
}
ALL = toy_datasets()  # image data: tests/core/test_image_gan.py
ONE_D = [n for n in ALL if DATASETS[n].dim == 1]
TWO_D = [n for n in ALL if DATASETS[n].dim == 2]
CURVES = ["swissroll", "moons", "spiral", "circle", "line"]

GRID = [-4.0, -2.0, 0.0, 2.0, 4.0]
# The specification, written out independently of the module: (means, std, weights).
MIXTURES = {
    "gaussian-1d": ([[0.0]], 1.0, [1.0]),
    "bimodal-1d": ([[-2.0], [2.0]], 0.5, [0.5, 0.5]),
    "trimodal-1d": ([[-3.0], [0.0], [3.0]], 0.4, [1 / 3, 1 / 3, 1 / 3]),
    "disjoint-1d": ([[-3.0], [3.0]], 0.1, [0.5, 0.5]),
    "ring8": ([[2 * math.cos(2 * math.pi * i / 8), 2 * math.sin(2 * math.pi * i / 8)] for i in range(8)],
              0.02, [1 / 8] * 8),
    "grid25": ([[x, y] for y in GRID for x in GRID], 0.05, [1 / 25] * 25),
    "two-blobs": ([[-1.5, 0.5], [2.0, -1.0]], 0.3, [0.7, 0.3]),
    "disjoint3": ([[-2.5, -1.5], [0.5, 2.5], [2.5, -0.5]], 0.1, [1 / 3] * 3),
}


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def midpoint_grid(bounds: tuple[float, ...], n: int) -> tuple[np.ndarray, float, float]:
    """n x n cell centres over a 2D box, rows ordered [y, x] (x fastest), plus the cell sides."""
    hx = (bounds[1] - bounds[0]) / n
    hy = (bounds[3] - bounds[2]) / n
    xs = bounds[0] + (np.arange(n) + 0.5) * hx
    ys = bounds[2] + (np.arange(n) + 0.5) * hy
    xx, yy = np.meshgrid(xs, ys)
    return np.stack([xx.ravel(), yy.ravel()], axis=1), hx, hy


CURVE_GRID = 160  # = 40 histogram bins x 4 x 4 sub-cells


@cache
def curve_cell_mass(name: str) -> np.ndarray:
    """p(cell centre) * cell area on the CURVE_GRID^2 midpoint grid over the bounds, shape (n, n) [y, x]."""
    d = make_distribution(name)
    pts, hx, hy = midpoint_grid(d.bounds, CURVE_GRID)
    return (d.density(pts) * hx * hy).reshape(CURVE_GRID, CURVE_GRID)


def in_bounds(x: np.ndarray, b: tuple[float, ...]) -> np.ndarray:
    inside = (x[:, 0] >= b[0]) & (x[:, 0] <= b[1])
    if x.shape[1] == 2:
        inside &= (x[:, 1] >= b[2]) & (x[:, 1] <= b[3])
    return inside


# ------------------------------------------------------------------------------------------- registry

def test_registry_holds_every_dataset_with_its_dim():
    for name, dim in REQUIRED.items():
        assert name in DATASETS, name
        assert DATASETS[name].dim == dim
        d = make_distribution(name)
        assert d.name == name and d.dim == dim and d.description and DATASETS[name].description
    with pytest.raises(KeyError):
        make_distribution("no-such-data")


def test_kinds_and_exactness_flags():
    for name in MIXTURES:
        d = make_distribution(name)
        assert isinstance(d, GaussianMixture) and d.density_is_exact
        assert d.modes.shape == (len(MIXTURES[name][0]), d.dim) and d.mode_std == MIXTURES[name][1]
    for name in CURVES:
        d = make_distribution(name)
        assert isinstance(d, NoisyCurve) and not d.density_is_exact and d.modes is None
    u = make_distribution("uniform-1d")
    assert isinstance(u, Uniform1D) and u.density_is_exact and u.modes is None and u.mode_std is None
    p = make_distribution("parallel-lines")
    assert isinstance(p, ParallelLines) and p.density_is_exact and p.modes is None and p.x_std == 0.005


# ------------------------------------------------------------------------------------ sampling basics

@pytest.mark.parametrize("name", ALL)
def test_sample_shape_dtype_and_seeding(name):
    d = make_distribution(name)
    a = d.sample(3000, gen(7))
    b = d.sample(3000, gen(7))
    c = d.sample(3000, gen(8))
    assert a.shape == (3000, d.dim) and a.dtype == torch.float32 and a.device.type == "cpu"
    assert torch.isfinite(a).all()
    assert torch.equal(a, b)
    assert (a != c).float().mean() > 0.99  # continuous laws: a different seed changes (almost) every value


@pytest.mark.parametrize("name", ALL)
def test_sample_uses_only_the_given_generator(name):
    d = make_distribution(name)
    torch.manual_seed(1234)
    state = torch.get_rng_state()
    d.sample(100, gen(0))
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("name", ALL)
def test_bounds_hold_the_mass_and_2d_views_are_square(name):
    d = make_distribution(name)
    b = d.bounds
    x = d.sample(20000, gen(3)).double().numpy()
    assert in_bounds(x, b).mean() >= 0.995
    assert len(b) == 2 * d.dim and b[0] < b[1]
    if d.dim == 2:
        assert b[2] < b[3]
        assert (b[1] - b[0]) == pytest.approx(b[3] - b[2], rel=1e-12)


@pytest.mark.parametrize("name", ALL)
def test_log_prob_shape_dtype(name):
    d = make_distribution(name)
    x = np.random.default_rng(0).normal(size=(37, d.dim))
    lp = d.log_prob(x)
    assert lp.shape == (37,) and lp.dtype == np.float64
    assert np.allclose(d.density(x), np.exp(lp))


# ---------------------------------------------------------------------------------------- normalisation

@pytest.mark.parametrize("name", ONE_D)
def test_1d_density_integrates_to_one(name):
    d = make_distribution(name)
    h = 1e-4
    xs = -30.0 + h * (np.arange(600_000) + 0.5)  # midpoint rule on [-30, 30]
    total = d.density(xs[:, None]).sum() * h
    assert total == pytest.approx(1.0, abs=1e-3)
    lo, hi = d.bounds
    inside = (xs >= lo) & (xs <= hi)
    assert d.density(xs[inside, None]).sum() * h > 0.999


def _grid_resolution(d) -> float:
    return {GaussianMixture: lambda: d.mode_std, NoisyCurve: lambda: d.noise_std,
            ParallelLines: lambda: d.x_std}[type(d)]()


@pytest.mark.parametrize("name", TWO_D)
def test_2d_density_integrates_to_one_over_the_bounds(name):
    # Every 2D density here is a Gaussian of std s (per mode / per curve node / in x) smoothed along at
    # most one direction. A Riemann sum with step h <= s of such a function is accurate to about
    # exp(-2 pi^2 s^2 / h^2) < 1e-8 (Poisson summation), the mass outside the bounds is < 1e-4 (checked by
    # sampling above), and the only discontinuities (parallel-lines' y = 0 and 1) cost O(h) <= 0.25%.
    # So 0.5% is a comfortable yet binding tolerance: a wrong normaliser (2 pi, s vs s^2) is off by far more.
    d = make_distribution(name)
    if isinstance(d, NoisyCurve):
        mass = curve_cell_mass(name)
        n = CURVE_GRID
    else:
        n = 800
        pts, hx, hy = midpoint_grid(d.bounds, n)
        mass = d.density(pts) * hx * hy
    b = d.bounds
    assert max(b[1] - b[0], b[3] - b[2]) / n <= 0.7 * _grid_resolution(d)
    assert mass.sum() == pytest.approx(1.0, abs=5e-3)


# --------------------------------------------------------------------------------- exact densities

@pytest.mark.parametrize("name", list(MIXTURES))
def test_mixture_parameters_match_the_specification(name):
    d = make_distribution(name)
    means, std, weights = (np.asarray(v, dtype=np.float64) for v in MIXTURES[name])
    order_got = np.lexsort(d.modes.T[::-1])
    order_want = np.lexsort(means.T[::-1])
    np.testing.assert_allclose(d.modes[order_got], means[order_want], atol=1e-12)
    np.testing.assert_allclose(d.weights[order_got], weights[order_want], rtol=1e-12)
    assert d.mode_std == pytest.approx(float(std), rel=1e-12)


@pytest.mark.parametrize("name", list(MIXTURES))
def test_mixture_log_prob_matches_scipy(name):
    d = make_distribution(name)
    means, std, weights = (np.asarray(v, dtype=np.float64) for v in MIXTURES[name])
    rng = np.random.default_rng(11)
    b = np.asarray(d.bounds).reshape(d.dim, 2)
    wide = rng.uniform(b[:, 0] - 2, b[:, 1] + 2, size=(300, d.dim))  # includes far tails (log p ~ -1e4)
    near = means[rng.integers(len(means), size=300)] + std * rng.normal(size=(300, d.dim))
    x = np.concatenate([wide, near])
    if d.dim == 1:
        comp = [stats.norm(m[0], std).logpdf(x[:, 0]) for m in means]
    else:
        comp = [stats.multivariate_normal(m, std ** 2 * np.eye(2)).logpdf(x) for m in means]
    want = logsumexp(np.stack(comp, axis=1) + np.log(weights)[None, :], axis=1)
    got = d.log_prob(x)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, rtol=1e-9)


def test_uniform_1d_density_is_exact():
    d = make_distribution("uniform-1d")
    x = np.array([-1.0, -0.999, 0.0, 0.3, 1.0, -1.0001, 1.0001, 5.0, -7.0])
    lp = d.log_prob(x[:, None])
    np.testing.assert_array_equal(lp[:5], np.full(5, math.log(0.5)))
    assert np.all(lp[5:] == -np.inf)


def test_parallel_lines_density_is_exact():
    d = make_distribution("parallel-lines")
    rng = np.random.default_rng(5)
    x = np.stack([rng.normal(0, 0.02, 500), rng.uniform(-0.5, 1.5, 500)], axis=1)
    x[:3, 1] = [0.0, 1.0, 0.5]
    lp = d.log_prob(x)
    inside = (x[:, 1] >= 0) & (x[:, 1] <= 1)
    assert inside.sum() > 100 and (~inside).sum() > 100
    np.testing.assert_allclose(lp[inside], stats.norm(0, 0.005).logpdf(x[inside, 0]), rtol=1e-12)
    assert np.all(lp[~inside] == -np.inf)


# ------------------------------------------------------------------------------------ sample moments

def test_bimodal_1d_moments():
    x = make_distribution("bimodal-1d").sample(200_000, gen(1)).double().numpy()[:, 0]
    # standard errors: mean sqrt(4.25 / n) = 0.0046, variance sqrt((22.19 - 4.25^2) / n) = 0.0045
    assert abs(x.mean()) < 0.025
    assert x.var() == pytest.approx(4.25, abs=0.025)
    assert (x > 0).mean() == pytest.approx(0.5, abs=0.006)


@pytest.mark.parametrize("name", ["gaussian-1d", "bimodal-1d", "trimodal-1d", "disjoint-1d"])
def test_1d_mixture_moments(name):
    means, std, weights = (np.asarray(v, dtype=np.float64) for v in MIXTURES[name])
    means = means[:, 0]
    mean = float((weights * means).sum())
    var = float((weights * (std ** 2 + means ** 2)).sum()) - mean ** 2
    x = make_distribution(name).sample(200_000, gen(2)).double().numpy()[:, 0]
    assert x.mean() == pytest.approx(mean, abs=6 * math.sqrt(var / x.size))
    assert x.var() == pytest.approx(var, rel=0.01)


def test_uniform_1d_moments():
    x = make_distribution("uniform-1d").sample(200_000, gen(3)).double().numpy()[:, 0]
    assert x.min() >= -1.0 and x.max() <= 1.0
    assert x.min() < -0.999 and x.max() > 0.999
    assert abs(x.mean()) < 0.008  # SE 0.0013
    assert x.var() == pytest.approx(1 / 3, abs=0.004)  # SE 0.0007
    hist, _ = np.histogram(x, bins=10, range=(-1, 1))
    assert np.all(np.abs(hist / x.size - 0.1) < 0.004)


def test_parallel_lines_moments():
    x = make_distribution("parallel-lines").sample(100_000, gen(4)).double().numpy()
    assert x[:, 1].min() >= 0.0 and x[:, 1].max() <= 1.0
    assert x[:, 1].mean() == pytest.approx(0.5, abs=0.005)
    assert x[:, 1].var() == pytest.approx(1 / 12, abs=0.002)
    assert abs(x[:, 0].mean()) < 1e-4
    assert x[:, 0].std() == pytest.approx(0.005, rel=0.02)


@pytest.mark.parametrize(("name", "n"), [("ring8", 40_000), ("grid25", 50_000)])
def test_modes_are_balanced_and_samples_sit_on_them(name, n):
    d = make_distribution(name)
    x = d.sample(n, gen(5)).double().numpy()
    dist = np.linalg.norm(x[:, None, :] - d.modes[None, :, :], axis=2)
    nearest = dist.argmin(axis=1)
    k = len(d.modes)
    counts = np.bincount(nearest, minlength=k)
    sd = math.sqrt(n * (1 / k) * (1 - 1 / k))
    assert np.all(np.abs(counts - n / k) < 5 * sd), counts
    # within 3 std of its mode: chi^2_2 tail, 1 - e^-4.5 = 98.89% (the HQ ceiling of THEORY.md sec. 4)
    hq = (dist[np.arange(n), nearest] < 3 * d.mode_std).mean()
    assert hq == pytest.approx(1 - math.exp(-4.5), abs=5 * math.sqrt(0.0111 * 0.9889 / n))


def test_ring8_geometry_and_arguments():
    d = make_distribution("ring8")
    assert d.mode_std == 0.02 and d.modes.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(d.modes, axis=1), 2.0, rtol=1e-12)
    angles = np.mod(np.arctan2(d.modes[:, 1], d.modes[:, 0]), 2 * np.pi)
    np.testing.assert_allclose(angles, 2 * np.pi * np.arange(8) / 8, atol=1e-12)
    pair = np.linalg.norm(d.modes[:, None] - d.modes[None], axis=2)[np.triu_indices(8, 1)]
    assert pair.min() > 0
    assert pair.min() == pytest.approx(2 * 2 * math.sin(math.pi / 8), rel=1e-12)  # neighbours, no duplicate

    small = make_distribution("ring8", ring_radius=1.0, ring_std=0.01)
    assert small.mode_std == 0.01
    np.testing.assert_allclose(np.linalg.norm(small.modes, axis=1), 1.0, rtol=1e-12)
    r = np.linalg.norm(small.sample(20000, gen(6)).double().numpy(), axis=1)
    assert r.mean() == pytest.approx(1.0, abs=1e-3)
    assert r.std() == pytest.approx(0.01, rel=0.05)
    assert small.bounds[1] < d.bounds[1]
    np.testing.assert_allclose(ring_means(4, 3.0), [[3, 0], [0, 3], [-3, 0], [0, -3]], atol=1e-12)


def test_grid25_modes_are_the_5x5_grid():
    d = make_distribution("grid25")
    assert d.mode_std == 0.05
    assert sorted(map(tuple, d.modes.tolist())) == sorted((x, y) for x in GRID for y in GRID)


def test_two_blobs_is_asymmetric():
    d = make_distribution("two-blobs")
    rng = np.random.default_rng(8)
    x = np.concatenate([d.modes, d.modes[rng.integers(2, size=200)] + 0.3 * rng.normal(size=(200, 2))])
    mirrored = -x[:, ::-1]  # through the origin, then transposed: (x, y) -> (-y, -x)
    p, q = d.density(x), d.density(mirrored)
    assert np.all(np.abs(p - q) > 1e-3 * np.maximum(p, q))
    assert np.mean(np.abs(np.log(p) - np.log(q)) > 1.0) > 0.9
    assert np.all(np.abs(d.density(-x) - p) > 1e-3 * p)
    assert d.density(d.modes[:1])[0] / d.density(d.modes[1:])[0] == pytest.approx(7 / 3, rel=1e-6)
    frac_left = (d.sample(50_000, gen(9))[:, 0] < 0.25).double().mean().item()
    assert frac_left == pytest.approx(0.7, abs=0.01)


def test_disjoint3_blobs_are_compact_separated_and_not_symmetric():
    d = make_distribution("disjoint3")
    pair = np.linalg.norm(d.modes[:, None] - d.modes[None], axis=2)[np.triu_indices(3, 1)]
    assert pair.min() > 30 * d.mode_std
    assert np.ptp(pair) > 0.5  # not an equilateral (rotation-symmetric) pattern
    assert np.linalg.norm(d.modes.mean(axis=0)) > 0.1


# ------------------------------------------------------------------------ curve (reference) densities

@pytest.mark.parametrize("name", CURVES)
def test_curve_quadrature_is_fine_and_converged(name):
    d = make_distribution(name)
    assert d.n_quad >= 2000 and d.nodes.shape == (d.n_quad * len(d.pieces), 2)
    for k in range(len(d.pieces)):
        nodes = d.nodes[k * d.n_quad:(k + 1) * d.n_quad]
        assert np.linalg.norm(np.diff(nodes, axis=0), axis=1).max() < 0.5 * d.noise_std
    finer = NoisyCurve(name, d.pieces, d.noise_std, n_quad=4 * d.n_quad)
    rng = np.random.default_rng(12)
    b = d.bounds
    x = np.stack([rng.uniform(b[0], b[1], 2000), rng.uniform(b[2], b[3], 2000)], axis=1)
    lp, lp_fine = d.log_prob(x), finer.log_prob(x)
    bulk = lp_fine > math.log(1e-2)
    assert bulk.sum() > 100
    assert np.abs(lp - lp_fine)[bulk].max() < 5e-3
    assert np.all(np.isfinite(d.log_prob(np.array([[40.0, -40.0], [0.0, 0.0]]))))


@pytest.mark.parametrize("name", CURVES)
def test_curve_log_prob_equals_the_direct_gaussian_sum(name):
    d = make_distribution(name)
    rng = np.random.default_rng(13)
    x = np.concatenate([rng.uniform(-4, 4, size=(40, 2)), [[25.0, -30.0]]])
    log_w = np.repeat(np.log(d.weights) - math.log(d.n_quad), d.n_quad)
    d2 = ((x[:, None, :] - d.nodes[None]) ** 2).sum(-1)
    s2 = d.noise_std ** 2
    want = logsumexp(log_w[None] - 0.5 * d2 / s2, axis=1) - math.log(2 * math.pi * s2)
    np.testing.assert_allclose(d.log_prob(x), want, rtol=1e-9)


def _histogram_tv(samples: np.ndarray, cell_mass: np.ndarray, bounds: tuple[float, ...], bins: int = 40):
    hist, _, _ = np.histogram2d(samples[:, 0], samples[:, 1], bins=bins,
                                range=[[bounds[0], bounds[1]], [bounds[2], bounds[3]]])
    hist = hist.T / len(samples)  # [y, x] like the density grid
    f = cell_mass.shape[0] // bins
    pred = cell_mass.reshape(bins, f, bins, f).sum(axis=(1, 3))
    return 0.5 * np.abs(hist - pred).sum()


@pytest.mark.parametrize("name", CURVES)
def test_curve_reference_density_matches_a_sample_histogram(name):
    # 200k samples in ~400 occupied bins: the sampling part of the TV is ~ 0.5 sqrt(2/pi) sqrt(400/200k) = 0.02.
    d = make_distribution(name)
    x = d.sample(200_000, gen(21)).double().numpy()
    tv = _histogram_tv(x, curve_cell_mass(name), d.bounds)
    assert tv < 0.05


def test_histogram_check_catches_a_wrong_density():
    # the same circle with twice the noise is a visibly different density: the check above must reject it
    d = make_distribution("circle")
    wrong = NoisyCurve("circle", d.pieces, 2 * d.noise_std)
    pts, hx, hy = midpoint_grid(d.bounds, CURVE_GRID)
    mass = (wrong.density(pts) * hx * hy).reshape(CURVE_GRID, CURVE_GRID)
    x = d.sample(200_000, gen(22)).double().numpy()
    assert _histogram_tv(x, mass, d.bounds) > 0.15


def test_curve_shapes():
    rng_pts = {name: make_distribution(name).sample(20000, gen(30)).double().numpy() for name in CURVES}
    r = np.linalg.norm(rng_pts["circle"], axis=1)
    assert r.mean() == pytest.approx(1.5, abs=0.01) and r.std() == pytest.approx(0.05, rel=0.1)
    line = rng_pts["line"]
    # the distance to the line x = 2y is pure noise; along the line, x is uniform on [-2, 2] plus noise
    assert ((line[:, 0] - 2 * line[:, 1]) / math.sqrt(5)).std() == pytest.approx(0.05, rel=0.05)
    assert line[:, 0].min() > -2.4 and line[:, 0].max() < 2.4
    assert line[:, 0].std() == pytest.approx(4 / math.sqrt(12), rel=0.03)
    for name in ("moons", "spiral"):
        assert np.abs(rng_pts[name].mean(axis=0)).max() < 0.15  # centred
    swiss_r = np.linalg.norm(make_distribution("swissroll").nodes, axis=1)
    assert swiss_r.min() == pytest.approx(1.5 * math.pi / 5, rel=1e-3)
    assert swiss_r.max() == pytest.approx(4.5 * math.pi / 5, rel=1e-3)


# ------------------------------------------------------------------------------------------ noise prior

def test_noise_prior_gaussian_stats():
    p = NoisePrior("gaussian", 3)
    z = p.sample(100_000, gen(40))
    assert z.shape == (100_000, 3) and z.dtype == torch.float32
    assert torch.equal(z, p.sample(100_000, gen(40)))
    zn = z.double().numpy()
    assert np.abs(zn.mean(axis=0)).max() < 0.02
    np.testing.assert_allclose(np.cov(zn.T), np.eye(3), atol=0.02)


def test_noise_prior_uniform_stats():
    p = NoisePrior("uniform", 2)
    z = p.sample(100_000, gen(41)).double().numpy()
    assert z.shape == (100_000, 2)
    assert z.min() >= -1.0 and z.max() <= 1.0 and z.min() < -0.999 and z.max() > 0.999
    assert np.abs(z.mean(axis=0)).max() < 0.01
    np.testing.assert_allclose(z.var(axis=0), 1 / 3, atol=0.005)
    assert abs(np.corrcoef(z.T)[0, 1]) < 0.02


def test_noise_prior_default_is_gaussian():
    p = NoisePrior(dim=1)
    assert p.kind == "gaussian" and p.dim == 1


def test_noise_prior_grid_1d():
    g = NoisePrior("gaussian", 1).grid(5)
    assert g.shape == (5, 1) and g.dtype == torch.float32
    np.testing.assert_allclose(g[:, 0].numpy(), [-2.5, -1.25, 0.0, 1.25, 2.5], atol=1e-6)
    np.testing.assert_allclose(NoisePrior("uniform", 1).grid(3)[:, 0].numpy(), [-1.0, 0.0, 1.0], atol=1e-7)


def test_noise_prior_grid_2d_is_row_major_with_x_fastest():
    g = NoisePrior("uniform", 2).grid(3)
    want = [[-1, -1], [0, -1], [1, -1], [-1, 0], [0, 0], [1, 0], [-1, 1], [0, 1], [1, 1]]
    assert g.shape == (9, 2) and g.dtype == torch.float32
    np.testing.assert_allclose(g.numpy(), want, atol=1e-7)
    big = NoisePrior("gaussian", 2).grid(64)
    assert big.shape == (64 ** 2, 2)
    img = big.reshape(64, 64, 2)
    assert torch.all(img[:, :, 0] == img[0, :, 0]) and torch.all(img[:, :, 1] == img[:, :1, 1])
    assert big[0].tolist() == [-2.5, -2.5] and big[-1].tolist() == [2.5, 2.5]


def test_noise_prior_rejects_bad_arguments():
    with pytest.raises(ValueError):
        NoisePrior("gaussian", 3).grid(4)
    with pytest.raises(ValueError):
        NoisePrior("cauchy", 2)
    with pytest.raises(ValueError):
        NoisePrior("gaussian", 0)
