"""Generator manifold (issue 18.3): the image of a z-grid with density shading from area distortion. The shading
integrates to the noise mass the grid covers and matches analytic pushforward densities."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganviz.core.config import TrainConfig
from ganviz.core.distributions import NoisePrior
from ganviz.core.manifold import generator_manifold, noise_cdf, trainer_manifold
from ganviz.core.trainer import Trainer

torch.set_num_threads(1)

A = np.array([[1.5, 0.4], [-0.3, 0.8]])  # asymmetric, det 1.32
B = np.array([0.7, -0.2])
GAUSS_MASS_1D = math.erf(2.5 / math.sqrt(2))  # N(0, 1) mass of [-2.5, 2.5] = 0.98758


def affine(z: torch.Tensor) -> torch.Tensor:
    return z.double() @ torch.as_tensor(A.T) + torch.as_tensor(B)


def triangle_areas(p: np.ndarray) -> np.ndarray:
    """Cell areas from two triangles each (independent of the module's shoelace formula)."""
    def tri(a, b, c):
        return 0.5 * np.abs((b[..., 0] - a[..., 0]) * (c[..., 1] - a[..., 1])
                            - (b[..., 1] - a[..., 1]) * (c[..., 0] - a[..., 0]))
    p00, p10, p01, p11 = p[:-1, :-1], p[:-1, 1:], p[1:, :-1], p[1:, 1:]
    return tri(p00, p10, p11) + tri(p00, p11, p01)


def test_affine_mesh_density_is_the_exact_pushforward() -> None:
    m = generator_manifold(affine, NoisePrior("gaussian", 2), k=81)
    assert m.kind == "mesh" and m.points.shape == (81, 81, 2) and m.density.shape == (80, 80)
    assert m.label == "z-grid: z₁, z₂ ∈ [-2.5, 2.5]"
    # vertex [ib, ia] is G((za[ia], zb[ib])): the first varied axis runs fastest
    np.testing.assert_allclose(m.points[3, 7], A @ [m.za[7], m.zb[3]] + B, rtol=1e-6)
    # every cell's image has area |det A| dz^2, keeps its orientation (det > 0)
    dz = 5.0 / 80
    np.testing.assert_allclose(m.size, abs(np.linalg.det(A)) * dz * dz, rtol=1e-4)
    assert (m.orientation == 1).all()
    # density = noise mass of the cell / image area ~ p_z(A^-1 (x - b)) / |det A| at the cell's centre (O(dz^2))
    zc = (m.za[:-1] + m.za[1:]) / 2
    zx, zy = np.meshgrid(zc, zc)
    exact = np.exp(-(zx ** 2 + zy ** 2) / 2) / (2 * np.pi) / abs(np.linalg.det(A))
    np.testing.assert_allclose(m.density, exact, rtol=2e-3)
    # the shading integrates to the noise mass of the grid: (Phi(2.5) - Phi(-2.5))^2
    assert m.grid_mass == pytest.approx(GAUSS_MASS_1D ** 2, rel=1e-12)
    assert float((m.density * triangle_areas(m.points.astype(np.float64))).sum()) == pytest.approx(
        GAUSS_MASS_1D ** 2, rel=1e-4)


def test_1d_curve_against_the_analytic_pushforward() -> None:
    # G(z) = sinh(z), z ~ N(0, 1): p_g(x) = phi(asinh x) / sqrt(1 + x^2)
    m = generator_manifold(lambda z: torch.sinh(z.double()), NoisePrior("gaussian", 1), k=401)
    assert m.kind == "curve" and m.points.shape == (401, 1) and m.label == "z-grid: z ∈ [-2.5, 2.5]"
    x = np.sinh((m.za[:-1] + m.za[1:]) / 2)
    exact = np.exp(-np.arcsinh(x) ** 2 / 2) / math.sqrt(2 * math.pi) / np.sqrt(1 + x ** 2)
    np.testing.assert_allclose(m.density, exact, rtol=1e-3)
    assert float((m.density * np.abs(np.diff(m.points[:, 0].astype(np.float64)))).sum()) == pytest.approx(
        GAUSS_MASS_1D, rel=1e-5)
    # uniform noise, G(z) = z^3 + z: p_g(x) = 1/2 / G'(z(x)), and the whole prior is covered
    u = generator_manifold(lambda z: z.double() ** 3 + z.double(), NoisePrior("uniform", 1), k=201)
    zc = (u.za[:-1] + u.za[1:]) / 2
    np.testing.assert_allclose(u.density, 0.5 / (3 * zc ** 2 + 1), rtol=2e-4)
    assert u.grid_mass == pytest.approx(1.0)


def test_a_fold_flips_the_orientation_and_the_mass_still_adds_up() -> None:
    m = generator_manifold(lambda z: torch.stack([z[:, 0] ** 2, z[:, 1]], 1), NoisePrior("uniform", 2), k=41)
    assert (m.orientation[:, :20] == -1).all() and (m.orientation[:, 20:] == 1).all()  # z1 < 0 folds over
    assert float((m.density * m.size).sum()) == pytest.approx(1.0, rel=1e-6)
    # a collapsed map: every cell has zero size, so infinite density, and nothing breaks
    c = generator_manifold(lambda z: torch.zeros(len(z), 2), NoisePrior("gaussian", 2), k=5)
    assert np.isinf(c.density).all() and (c.orientation == 0).all()


def test_higher_z_is_a_named_slice() -> None:
    w = torch.tensor([[1.0, 0.0], [0.5, 2.0], [0.0, 1.0], [3.0, -1.0]])
    m = generator_manifold(lambda z: z @ w, NoisePrior("gaussian", 4), k=11, axes=(0, 2), fixed=[0, 0.5, 0, -1])
    assert m.axes == (0, 2)
    assert m.label == "slice through z: z₁, z₃ ∈ [-2.5, 2.5]; z₂ = 0.5, z₄ = -1"
    z = torch.tensor([[m.za[4], 0.5, m.zb[9], -1.0]], dtype=torch.float32)
    np.testing.assert_allclose(m.points[9, 4], (z @ w).numpy()[0], rtol=1e-6)
    # the slice's mass is the varied coordinates' marginal mass (independent coordinates)
    assert m.grid_mass == pytest.approx(GAUSS_MASS_1D ** 2)
    # map restricted to (z1, z3): [[1, 0], [0, 1]] -> area = cell area
    np.testing.assert_allclose(m.size, 0.25, rtol=1e-5)
    arr = generator_manifold(lambda z: z @ w, NoisePrior("gaussian", 4), k=11, axes=(0, 2),
                             fixed=np.array([0, 0.5, 0, -1]))  # a numpy array of values works as a list does
    assert arr.label == m.label and np.array_equal(arr.points, m.points) and arr.fixed[1::2] == (0.5, -1.0)
    many = generator_manifold(lambda z: z[:, :2], NoisePrior("uniform", 8), k=3, fixed=0.25)
    assert many.label == "slice through z: z₁, z₂ ∈ [-1, 1]; z₃ … z₈ = 0.25"
    with pytest.raises(ValueError, match="slice axes"):
        generator_manifold(lambda z: z[:, :2], NoisePrior("gaussian", 3), axes=(0, 3))
    with pytest.raises(ValueError, match="1D or 2D data"):
        generator_manifold(lambda z: z, NoisePrior("gaussian", 3))


def test_a_trainers_manifold_matches_its_snapshot_z_grid() -> None:
    cfg = TrainConfig(d_width=16, g_width=16, d_depth=1, g_depth=2, batch_size=32, n_view=16, kde_samples=64,
                      grid_size=8, mode_samples=100, w1_samples=16, device="cpu", data="two-blobs", seed=2)
    t = Trainer(cfg)
    t.train(5)
    m = trainer_manifold(t, k=21)
    snap = t.snapshot(with_metrics=False)
    np.testing.assert_allclose(m.points, snap.z_grid, rtol=1e-5, atol=1e-6)
    assert float((m.density * m.size).sum()) == pytest.approx(m.grid_mass) == pytest.approx(GAUSS_MASS_1D ** 2)
    assert np.isfinite(m.density).all() and (m.density > 0).all()
    with pytest.raises(ValueError, match="no manifold"):
        trainer_manifold(Trainer(cfg.replace(generator="shift")))


def test_noise_cdf() -> None:
    assert noise_cdf("gaussian", np.array([0.0, 1.0]))[1] == pytest.approx(0.8413447460685429)
    np.testing.assert_allclose(noise_cdf("uniform", np.array([-2, -1, 0, 0.5, 3])), [0, 0, 0.5, 0.75, 1])


def test_shading_follows_the_log_density() -> None:
    m = generator_manifold(lambda z: torch.sinh(z), NoisePrior("gaussian", 1), k=101)
    shade = m.shading()
    assert shade.shape == m.density.shape and shade.min() == 0.0 and shade.max() == 1.0
    order = np.argsort(m.density)
    assert (np.diff(shade[order]) >= 0).all()  # monotone in the density
    mid = (shade > 0) & (shade < 1)
    logd = np.log(m.density[mid])
    a, b = np.polyfit(logd, shade[mid], 1)  # linear in log density between the quantiles
    np.testing.assert_allclose(a * logd + b, shade[mid], atol=1e-9)
    assert a > 0
    c = generator_manifold(lambda z: torch.zeros(len(z), 2), NoisePrior("gaussian", 2), k=4)
    assert (c.shading() == 1).all()


def test_a_snapshots_generator_is_its_g_and_unpickles_without_torch() -> None:
    """Snapshot.generator (GeneratorWeights, numpy only) gives trainer_manifold exactly; the window unpickles the
    first frame before it imports torch, so the weights must not bring torch in."""
    import pickle
    import subprocess
    import sys

    t = Trainer(TrainConfig(g_width=16, d_width=16, z_dim=3, n_view=32, kde_samples=128, device="cpu"))
    t.iteration()
    snap = t.snapshot(with_metrics=False, lazy=True).materialized()
    gen = snap.generator
    m, ref = gen.manifold(), trainer_manifold(t)
    np.testing.assert_array_equal(m.points, ref.points)
    np.testing.assert_array_equal(m.density, ref.density)
    assert m.label == ref.label == "slice through z: z₁, z₂ ∈ [-2.5, 2.5]; z₃ = 0"
    lo, hi = m.log_density_range()
    assert lo < hi and np.isclose(np.quantile(np.log(m.density), 0.98), hi)
    blob = pickle.dumps(gen)
    code = ("import pickle, sys; g = pickle.loads(sys.stdin.buffer.read()); "
            "print(type(g).__name__, g.z_dim, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], input=blob, capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    assert out.stdout.decode().split() == ["GeneratorWeights", "3", "False"]
    fixed = Trainer(TrainConfig(generator="shift", g_width=16, d_width=16, n_view=32, kde_samples=128))
    assert fixed.snapshot(with_metrics=False, lazy=True).materialized().generator is None
