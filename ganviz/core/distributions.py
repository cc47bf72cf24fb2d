"""Toy data: every distribution samples with a seeded torch.Generator and knows its density.

Mixtures of Gaussians (1D and 2D) have exact densities and expose their mode centres and std, which the
mode metrics use. Non-mixture 2D sets say in their docstring where their density comes from: noisy curves
(swissroll, moons, spiral, circle, line) use a high-resolution quadrature reference of their exact sampler
(density_is_exact False); uniform-1d and parallel-lines have exact closed forms. NoisePrior is the
generator's latent prior, with a regular grid over its bulk for latent-space views.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .dataset_base import DATASETS, DatasetInfo, Distribution, register  # noqa: F401 (re-exported)
from .lazy import lazy_import

torch = lazy_import("torch")  # imported on first use: the window shows before torch loads

LOG_2PI = math.log(2.0 * math.pi)
# Largest temporary array (in float64 elements) that log_prob builds at once; bounds memory on big grids.
_CHUNK_ELEMENTS = 1 << 22


def _logsumexp_rows(a: np.ndarray) -> np.ndarray:
    """log(sum(exp(a), axis=1)) for a 2D array, stable; rows of all -inf give -inf."""
    top = a.max(axis=1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return (top + np.log(np.exp(a - top).sum(axis=1, keepdims=True)))[:, 0]


def _square_view(lo: np.ndarray, hi: np.ndarray) -> tuple[float, float, float, float]:
    """(xmin, xmax, ymin, ymax) of the smallest square containing the box [lo, hi], same centre."""
    c = (np.asarray(lo, dtype=np.float64) + np.asarray(hi, dtype=np.float64)) / 2
    half = float((np.asarray(hi) - np.asarray(lo)).max()) / 2
    return (float(c[0] - half), float(c[0] + half), float(c[1] - half), float(c[1] + half))


def _on_device(owner: object, device: torch.device | str, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The owner's constant tensors on device, copied there once (a per-draw host-to-device copy would make
    every training step wait for the host on CUDA)."""
    key = str(torch.device(device))
    cache = owner.__dict__.setdefault("_device_cache", {})
    if key not in cache:
        cache[key] = tuple(t.to(device) for t in tensors)
    return cache[key]


def _stack_xy(xy: tuple, u, xp):
    """Stack a curve's (x, y) (arrays or scalars) into (len(u), 2) with the module xp (numpy or torch)."""
    if xp is torch:  # a constant coordinate is filled on u's device: no host-to-device copy per sample call
        cols = [torch.broadcast_to(c.to(u.dtype), u.shape) if isinstance(c, torch.Tensor)
                else torch.full_like(u, float(c)) for c in xy]
        return torch.stack(cols, dim=1)
    return np.stack([np.broadcast_to(np.asarray(c, dtype=np.float64), u.shape) for c in xy], axis=1)


class GaussianMixture(Distribution):
    """Equal-weight (or weighted) mixture of isotropic Gaussians with a common std: exact density."""

    def __init__(self, name: str, means: np.ndarray, std: float, weights: np.ndarray | None = None,
                 description: str = "") -> None:
        means = np.asarray(means, dtype=np.float64)
        if means.ndim == 1:
            means = means[:, None]
        self.name = name
        self.dim = means.shape[1]
        self.modes = means
        self.mode_std = float(std)
        if not self.mode_std > 0:
            raise ValueError(f"std must be > 0, got {std!r}")
        k = means.shape[0]
        w = np.full(k, 1.0 / k) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != (k,) or np.any(w < 0) or not w.sum() > 0:
            raise ValueError(f"weights must be {k} non-negative numbers with a positive sum, got {weights!r}")
        self.weights = w / w.sum()
        self.description = description
        self._means_t = torch.as_tensor(means, dtype=torch.float32)
        self._weights_t = torch.as_tensor(self.weights, dtype=torch.float32)

    def sample(self, n: int, gen: torch.Generator, device: torch.device | str = "cpu") -> torch.Tensor:
        means, weights = _on_device(self, device, self._means_t, self._weights_t)
        idx = torch.multinomial(weights, n, replacement=True, generator=gen)
        eps = torch.randn(n, self.dim, generator=gen, device=device)
        return means[idx] + self.mode_std * eps

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(-1, self.dim)
        s2 = self.mode_std ** 2
        log_w = np.log(self.weights)[None, :] - 0.5 * self.dim * (LOG_2PI + math.log(s2))
        out = np.empty(x.shape[0])
        step = max(1, _CHUNK_ELEMENTS // (len(self.modes) * self.dim))
        for a in range(0, x.shape[0], step):
            xc = x[a:a + step]
            d2 = ((xc[:, None, :] - self.modes[None, :, :]) ** 2).sum(-1)  # (m, K)
            out[a:a + step] = _logsumexp_rows(log_w - 0.5 * d2 / s2)
        return out

    @property
    def bounds(self) -> tuple[float, ...]:
        pad = 4.0 * self.mode_std + 0.15 * float(np.ptp(self.modes) if len(self.modes) > 1 else 1.0) + 0.5
        lo = self.modes.min(axis=0) - pad
        hi = self.modes.max(axis=0) + pad
        if self.dim == 1:
            return (float(lo[0]), float(hi[0]))
        return _square_view(lo, hi)


class Uniform1D(Distribution):
    """U[lo, hi] in 1D: exact density 1 / (hi - lo) inside (ends included), -inf outside; no modes."""

    def __init__(self, name: str, lo: float = -1.0, hi: float = 1.0, description: str = "") -> None:
        if not hi > lo:
            raise ValueError(f"need lo < hi, got [{lo!r}, {hi!r}]")
        self.name = name
        self.dim = 1
        self.lo, self.hi = float(lo), float(hi)
        self.description = description

    def sample(self, n: int, gen: torch.Generator, device: torch.device | str = "cpu") -> torch.Tensor:
        u = torch.rand(n, 1, generator=gen, device=device)
        return self.lo + (self.hi - self.lo) * u

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(-1, 1)[:, 0]
        inside = (x >= self.lo) & (x <= self.hi)
        return np.where(inside, -math.log(self.hi - self.lo), -np.inf)

    @property
    def bounds(self) -> tuple[float, ...]:
        pad = 0.25 * (self.hi - self.lo)
        return (self.lo - pad, self.hi + pad)


class ParallelLines(Distribution):
    """P0 of the WGAN paper's Example 1: x ~ N(0, x_std^2), y ~ U[0, 1], independent. Exact density.

    The paper's P0 is the segment x = 0 exactly, which has no density in 2D. The tiny x width (0.005 by
    default) is there only so that densities (and density plots, JSD / KL on a grid) exist; the
    distribution is otherwise the paper's. The shifted copy P_theta = P0 + (theta, 0) is still exactly
    |theta| away in W1 (any distribution and its translate by v are ||v|| apart), and
    JS(P0, P_theta) = JS(N(0, s^2), N(theta, s^2)), which is log 2 to within 1e-20 once |theta| >= 20 s
    (0.1). Against the zero-width law of (theta, Z) the W1 differs by at most E|x| = s sqrt(2/pi) = 0.004.
    """

    density_is_exact = True

    def __init__(self, name: str = "parallel-lines", x_std: float = 0.005, description: str = "") -> None:
        if not x_std > 0:
            raise ValueError(f"x_std must be > 0, got {x_std!r}")
        self.name = name
        self.dim = 2
        self.x_std = float(x_std)
        self.description = description

    def sample(self, n: int, gen: torch.Generator, device: torch.device | str = "cpu") -> torch.Tensor:
        y = torch.rand(n, generator=gen, device=device)
        x = self.x_std * torch.randn(n, generator=gen, device=device)
        return torch.stack([x, y], dim=1)

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(-1, 2)
        s2 = self.x_std ** 2
        lp_x = -0.5 * x[:, 0] ** 2 / s2 - 0.5 * (LOG_2PI + math.log(s2))
        inside = (x[:, 1] >= 0.0) & (x[:, 1] <= 1.0)
        return np.where(inside, lp_x, -np.inf)

    @property
    def bounds(self) -> tuple[float, ...]:
        # room on both sides for a generator that starts at (theta, Z) with |theta| up to ~1
        return (-1.0, 1.0, -0.5, 1.5)


# A curve piece maps u ~ U[0, 1] to a point (x, y) of the curve. Written with array-module functions
# (xp is numpy or torch) so that the sampler and the density reference evaluate the very same formula.
PointFn = Callable[..., tuple]


@dataclass(frozen=True)
class CurvePiece:
    weight: float
    point: PointFn  # point(u, xp) -> (x, y), u in [0, 1]; any law of the curve parameter lives here


class NoisyCurve(Distribution):
    """Points c(u) of a curve (a weighted union of pieces) plus isotropic Gaussian noise of std noise_std.

    Sampler (exact): pick piece k with its weight, draw u ~ U[0, 1], return c_k(u) + noise_std * N(0, I).
    A curve parameter with a non-uniform law is written into c_k as t = F^-1(u).

    Density: p(x) = sum_k w_k int_0^1 N(x; c_k(u), noise_std^2 I) du has no closed form, so log_prob is a
    fixed high-resolution quadrature reference of the exact sampler: the midpoint rule over n_quad nodes
    of u per piece, i.e. the weighted mean of N(x; c_k(u_j), noise_std^2 I), evaluated in log space
    (logsumexp), so far-away points get finite, accurate log densities. Nodes are dense enough that
    neighbours are much closer than noise_std, where the sum converges extremely fast; the reference
    integrates to 1 and matches sample histograms, but it is a reference, hence density_is_exact = False.
    """

    density_is_exact = False

    def __init__(self, name: str, pieces: list[CurvePiece], noise_std: float, n_quad: int = 2048,
                 description: str = "") -> None:
        if not noise_std > 0:
            raise ValueError(f"noise_std must be > 0, got {noise_std!r}")
        if n_quad < 2000:
            raise ValueError(f"n_quad must be >= 2000 for a reference density, got {n_quad}")
        self.name = name
        self.dim = 2
        self.noise_std = float(noise_std)
        self.n_quad = int(n_quad)
        self.description = description
        self.pieces = list(pieces)
        w = np.array([p.weight for p in self.pieces], dtype=np.float64)
        self.weights = w / w.sum()
        self._weights_t = torch.as_tensor(self.weights, dtype=torch.float32)
        u = (np.arange(n_quad) + 0.5) / n_quad  # midpoint rule on [0, 1]
        nodes, log_w = [], []
        for piece, wk in zip(self.pieces, self.weights, strict=True):
            nodes.append(_stack_xy(piece.point(u, np), u, np))
            log_w.append(np.full(n_quad, math.log(wk) - math.log(n_quad)))
        self.nodes = np.concatenate(nodes).astype(np.float64)  # (N, 2) quadrature nodes on the curve
        log_w = np.concatenate(log_w)
        # -|x - c|^2 / (2 s^2) = -|x|^2 / (2 s^2) + [x, 1] . [c / s^2, -|c|^2 / (2 s^2)]: one matrix product
        # per chunk gives each (point, node) exponent up to a per-point constant; log-weights ride along.
        s2 = self.noise_std ** 2
        self._aug = np.concatenate([self.nodes / s2, (log_w - 0.5 * (self.nodes ** 2).sum(1) / s2)[:, None]],
                                   axis=1).T.copy()  # (3, N)

    def sample(self, n: int, gen: torch.Generator, device: torch.device | str = "cpu") -> torch.Tensor:
        if len(self.pieces) > 1:
            (weights,) = _on_device(self, device, self._weights_t)
            idx = torch.multinomial(weights, n, replacement=True, generator=gen)
        else:
            idx = torch.zeros(n, dtype=torch.long, device=device)
        u = torch.rand(n, generator=gen, device=device)
        eps = torch.randn(n, 2, generator=gen, device=device)
        pts = torch.zeros(n, 2, device=device)
        for k, piece in enumerate(self.pieces):
            pts = torch.where((idx == k)[:, None], _stack_xy(piece.point(u, torch), u, torch), pts)
        return pts + self.noise_std * eps

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(-1, 2)
        s2 = self.noise_std ** 2
        const = -(LOG_2PI + math.log(s2))  # log of the 2D Gaussian normaliser 1 / (2 pi s^2)
        out = np.empty(x.shape[0])
        step = max(1, _CHUNK_ELEMENTS // self._aug.shape[1])
        for a in range(0, x.shape[0], step):
            xc = x[a:a + step]
            expo = xc @ self._aug[:2] + self._aug[2]  # (m, N)
            top = expo.max(axis=1)
            expo -= top[:, None]
            np.exp(expo, out=expo)
            out[a:a + step] = top + np.log(expo.sum(axis=1)) - 0.5 * (xc ** 2).sum(1) / s2 + const
        return out

    @property
    def bounds(self) -> tuple[float, ...]:
        pad = 4.0 * self.noise_std + 0.3
        return _square_view(self.nodes.min(axis=0) - pad, self.nodes.max(axis=0) + pad)


def ring_means(k: int, radius: float) -> np.ndarray:
    """K centres on a circle at angles 2*pi*i/K, i = 0..K-1 (not linspace(0, 2pi, K), which repeats one)."""
    angles = 2.0 * np.pi * np.arange(k) / k
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def toy_datasets() -> list[str]:
    """Names of the registered 1D and 2D datasets (not the image data)."""
    return [name for name, info in DATASETS.items() if info.dim <= 2]


def dataset_info(name: str, data_points: tuple = ()) -> DatasetInfo:
    """The dataset `name`: a registered one, or user data ("user:<label>@<hash>", see ganviz.core.userdata)
    built from `data_points`, the rows a TrainConfig carries with it (checked against the name). Looking a
    dataset up changes no registry. KeyError for an unknown name, ConfigError for rows that do not match."""
    info = DATASETS.get(name)
    if info is not None:
        return info
    if isinstance(name, str) and name.startswith("user:"):
        if data_points:
            from .userdata import user_dataset_info

            return user_dataset_info(name, data_points)
        raise KeyError(f"user dataset {name!r}: its points travel in TrainConfig.data_points; pass them along "
                       "(data_points=cfg.data_points, or distribution_for(cfg))")
    raise KeyError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}")


def make_distribution(name: str, ring_radius: float = 2.0, ring_std: float = 0.02,
                      image_path: str = "", image_range: str = "auto", data_points: tuple = ()) -> Distribution:
    """Build a dataset by name (see dataset_info; user data needs its data_points). ring_radius / ring_std
    apply to ring8 only, image_path / image_range to "image-file" only (see ganviz.core.images.distribution)."""
    info = dataset_info(name, data_points)
    if name == "ring8":
        return info.factory(radius=ring_radius, std=ring_std)
    if name == "image-file":
        return info.factory(image_path=image_path, image_range=image_range)
    return info.factory()


def distribution_for(cfg) -> Distribution:
    """The data a TrainConfig trains on (its dataset with its ring, image and user-data settings)."""
    return make_distribution(cfg.data, cfg.ring_radius, cfg.ring_std, cfg.image_path, cfg.image_range,
                             cfg.data_points)


@register("gaussian-1d", 1, "N(0, 1)")
def _gaussian_1d() -> Distribution:
    return GaussianMixture("gaussian-1d", np.array([0.0]), 1.0, description="N(0, 1)")


@register("ring8", 2, "8 Gaussians on a circle (radius 2, std 0.02 by default; Unrolled GAN setup)")
def _ring8(radius: float = 2.0, std: float = 0.02) -> Distribution:
    return GaussianMixture("ring8", ring_means(8, radius), std,
                           description=f"8 Gaussians on a circle of radius {radius:g}, std {std:g}")


# ----------------------------------------------------------------------------------------- 1D datasets

@register("bimodal-1d", 1, "1/2 N(-2, 0.5^2) + 1/2 N(2, 0.5^2)")
def _bimodal_1d() -> Distribution:
    return GaussianMixture("bimodal-1d", np.array([-2.0, 2.0]), 0.5,
                           description="1/2 N(-2, 0.5^2) + 1/2 N(2, 0.5^2)")


@register("trimodal-1d", 1, "1/3 each of N(-3, 0.4^2), N(0, 0.4^2), N(3, 0.4^2)")
def _trimodal_1d() -> Distribution:
    return GaussianMixture("trimodal-1d", np.array([-3.0, 0.0, 3.0]), 0.4,
                           description="equal mixture of N(-3, 0.4^2), N(0, 0.4^2), N(3, 0.4^2)")


@register("uniform-1d", 1, "U[-1, 1] (density 0.5 inside, 0 outside)")
def _uniform_1d() -> Distribution:
    return Uniform1D("uniform-1d", -1.0, 1.0, description="U[-1, 1]")


@register("disjoint-1d", 1, "1/2 N(-3, 0.1^2) + 1/2 N(3, 0.1^2): two narrow, far-apart bumps")
def _disjoint_1d() -> Distribution:
    return GaussianMixture("disjoint-1d", np.array([-3.0, 3.0]), 0.1,
                           description="1/2 N(-3, 0.1^2) + 1/2 N(3, 0.1^2)")


# ------------------------------------------------------------------------------------ 2D mixtures

GRID25_VALUES = (-4.0, -2.0, 0.0, 2.0, 4.0)


@register("grid25", 2, "25 Gaussians on the 5x5 grid {-4,-2,0,2,4}^2, std 0.05")
def _grid25() -> Distribution:
    # modes in row-major order, x varying fastest: (-4,-4), (-2,-4), ..., (4,4)
    means = np.array([(x, y) for y in GRID25_VALUES for x in GRID25_VALUES])
    return GaussianMixture("grid25", means, 0.05,
                           description="25 Gaussians on the 5x5 grid {-4,-2,0,2,4}^2, std 0.05")


@register("two-blobs", 2, "asymmetric pair: 0.7 N((-1.5, 0.5), 0.3^2 I) + 0.3 N((2, -1), 0.3^2 I)")
def _two_blobs() -> Distribution:
    return GaussianMixture("two-blobs", np.array([[-1.5, 0.5], [2.0, -1.0]]), 0.3,
                           weights=np.array([0.7, 0.3]),
                           description="0.7 N((-1.5, 0.5), 0.3^2 I) + 0.3 N((2, -1), 0.3^2 I)")


@register("disjoint3", 2, "three compact, far-apart blobs at (-2.5,-1.5), (0.5,2.5), (2.5,-0.5), std 0.1")
def _disjoint3() -> Distribution:
    return GaussianMixture("disjoint3", np.array([[-2.5, -1.5], [0.5, 2.5], [2.5, -0.5]]), 0.1,
                           description="equal mixture of N(m, 0.1^2 I) for m in "
                                       "(-2.5, -1.5), (0.5, 2.5), (2.5, -0.5)")


# --------------------------------------------------------------------------------- 2D non-mixtures
# Curves plus Gaussian noise (density: quadrature reference, see NoisyCurve), and the WGAN parallel lines.

SWISSROLL_SCALE = 5.0
SPIRAL_TURNS_T = 3.0 * math.pi  # arm parameter t in [0, 3 pi]: one and a half turns per arm


def _swissroll_point(u, xp):
    t = 1.5 * math.pi + 3.0 * math.pi * u  # t ~ U[1.5 pi, 4.5 pi], as sklearn's make_swiss_roll
    return t * xp.cos(t) / SWISSROLL_SCALE, t * xp.sin(t) / SWISSROLL_SCALE


def _moon_upper(u, xp):
    t = math.pi * u  # sklearn make_moons outer half circle, centred on the pair's bounding box, x1.5
    return 1.5 * (xp.cos(t) - 0.5), 1.5 * (xp.sin(t) - 0.25)


def _moon_lower(u, xp):
    t = math.pi * u  # sklearn make_moons inner half circle (1 - cos t, 0.5 - sin t), same shift and scale
    return 1.5 * (0.5 - xp.cos(t)), 1.5 * (0.25 - xp.sin(t))


def _spiral_arm(sign: float) -> PointFn:
    def point(u, xp):
        t = SPIRAL_TURNS_T * xp.sqrt(u)  # law of t has density 2t / T^2: roughly uniform along the arm
        return sign * t * xp.cos(t) / math.pi, sign * t * xp.sin(t) / math.pi
    return point


def _circle_point(u, xp):
    t = 2.0 * math.pi * u
    return 1.5 * xp.cos(t), 1.5 * xp.sin(t)


def _line_point(u, xp):
    return -2.0 + 4.0 * u, -1.0 + 2.0 * u


@register("swissroll", 2, "swiss roll (t cos t, t sin t) / 5, t ~ U[1.5 pi, 4.5 pi], noise std 0.1")
def _swissroll() -> Distribution:
    return NoisyCurve("swissroll", [CurvePiece(1.0, _swissroll_point)], 0.1,
                      description="(t cos t, t sin t) / 5 with t ~ U[1.5 pi, 4.5 pi], plus N(0, 0.1^2 I)")


@register("moons", 2, "sklearn's two interleaved half circles, centred, scaled x1.5, noise std 0.08")
def _moons() -> Distribution:
    return NoisyCurve("moons", [CurvePiece(0.5, _moon_upper), CurvePiece(0.5, _moon_lower)], 0.08,
                      description="two half circles of radius 1.5 (sklearn make_moons, centred, x1.5), "
                                  "each with prob 1/2, plus N(0, 0.08^2 I)")


@register("spiral", 2, "two-armed spiral, t/pi (cos t, sin t), t in [0, 3 pi], noise std 0.08")
def _spiral() -> Distribution:
    return NoisyCurve("spiral", [CurvePiece(0.5, _spiral_arm(1.0)), CurvePiece(0.5, _spiral_arm(-1.0))], 0.08,
                      description="arms +-(t cos t, t sin t) / pi, t = 3 pi sqrt(U), each with prob 1/2, "
                                  "plus N(0, 0.08^2 I)")


@register("circle", 2, "circle of radius 1.5, uniform angle, noise std 0.05")
def _circle() -> Distribution:
    return NoisyCurve("circle", [CurvePiece(1.0, _circle_point)], 0.05,
                      description="1.5 (cos t, sin t) with t ~ U[0, 2 pi], plus N(0, 0.05^2 I)")


@register("line", 2, "segment from (-2, -1) to (2, 1), uniform, noise std 0.05")
def _line() -> Distribution:
    return NoisyCurve("line", [CurvePiece(1.0, _line_point)], 0.05,
                      description="uniform on the segment (-2, -1)-(2, 1), plus N(0, 0.05^2 I)")


@register("parallel-lines", 2, "WGAN Example 1 P0: x ~ N(0, 0.005^2), y ~ U[0, 1]")
def _parallel_lines() -> Distribution:
    return ParallelLines("parallel-lines", 0.005,
                         description="WGAN paper Example 1: the segment x = 0, y in [0, 1], with "
                                     "x ~ N(0, 0.005^2) so that it has a density")


# ----------------------------------------------------------------------------------------- noise prior

class NoisePrior:
    """The generator's latent prior: N(0, I) ("gaussian") or U[-1, 1]^dim ("uniform")."""

    KINDS = ("gaussian", "uniform")

    def __init__(self, kind: str = "gaussian", dim: int = 1) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"unknown noise prior {kind!r}; use one of {', '.join(self.KINDS)}")
        if int(dim) != dim or dim < 1:
            raise ValueError(f"noise dim must be a positive integer, got {dim!r}")
        self.kind = kind
        self.dim = int(dim)

    @property
    def grid_range(self) -> tuple[float, float]:
        """Per-axis range that grid() covers: the prior's bulk."""
        return (-2.5, 2.5) if self.kind == "gaussian" else (-1.0, 1.0)

    def sample(self, n: int, gen: torch.Generator, device: torch.device | str = "cpu") -> torch.Tensor:
        """n draws as a float32 (n, dim) tensor on device, drawn with gen only."""
        if self.kind == "gaussian":
            return torch.randn(n, self.dim, generator=gen, device=device)
        return 2.0 * torch.rand(n, self.dim, generator=gen, device=device) - 1.0

    def grid(self, k: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """Regular (k**dim, dim) float32 grid over grid_range per axis.

        dim 1: linspace(lo, hi, k) as a column. dim 2: the k x k grid in row-major order with x varying
        fastest, i.e. row i * k + j is (v[j], v[i]); reshape a per-point value to (k, k) to get an image
        indexed [y, x]. dim > 2 has no grid (ValueError).
        """
        if self.dim > 2:
            raise ValueError(f"a latent grid exists for dim 1 or 2 only, not dim {self.dim}")
        if k < 1:
            raise ValueError(f"grid size must be >= 1, got {k}")
        lo, hi = self.grid_range
        v = torch.linspace(lo, hi, k, dtype=torch.float32, device=device)
        if self.dim == 1:
            return v[:, None]
        yy, xx = torch.meshgrid(v, v, indexing="ij")
        return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)


# image datasets (digits, shapes, image-file) register themselves in dataset_base.DATASETS when imported
from .images import distribution as _image_distribution  # noqa: E402, F401
