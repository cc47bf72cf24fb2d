"""The generator manifold (issue 18.3): the image under G of a fine grid over z, shaded by density.

1D noise gives a curve, 2D noise a warped mesh; for more noise dimensions the grid is a 2D (or 1D) slice
through z along two chosen coordinates, the others held at fixed values, and the slice is named in `label`.
Each grid cell carries the noise mass it holds (the prior's probability of the z cell; the prior's coordinates
are independent, so a slice uses the marginals of the varied ones) and the size of its image (a length on a
curve, an area on a mesh); their ratio is the density of p_g on that cell (area distortion): on a 1D curve in
1D data, and on a mesh in 2D data, it is the pushforward density of that sheet of the map (where G folds, sheets
overlap and p_g at a point is the sum over the sheets there); on a curve in 2D data it is mass per unit length.
Summed over the cells, density x size gives back the grid's noise mass exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .distributions import NoisePrior
from .lazy import lazy_import

torch = lazy_import("torch")  # the window unpickles a GeneratorWeights before it imports torch (issue 20)

if TYPE_CHECKING:
    from torch import Tensor

    from .models import FrozenMLP
    from .trainer import Trainer

DEFAULT_K = 41  # grid vertices per varied axis: 40 x 40 cells on a mesh
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


@dataclass(frozen=True)
class Manifold:
    """G's image of a z-grid. A curve: z (k,), points (k, dim), per cell (k - 1,). A mesh: the grid vertex
    (ia, ib) is z[axes[0]] = za[ia], z[axes[1]] = zb[ib]; points (k, k, dim) indexed [ib, ia] (row-major, the
    first varied axis fastest, as core.distributions.NoisePrior.grid), per cell (k - 1, k - 1) likewise.

    mass: the prior's probability of each z cell; size: the length (curve) or area (mesh) of its image;
    density: mass / size (inf where a cell's image has no size: G collapsed it); orientation (mesh): +1 where
    the cell keeps the z-grid's orientation, -1 where G folded it over, 0 where it collapsed."""

    kind: str  # "curve" or "mesh"
    axes: tuple[int, ...]  # the z coordinates the grid varies (0-based)
    fixed: tuple[float, ...]  # every z coordinate's value off the varied axes (the varied ones: nan)
    label: str  # the grid (or the slice) as a plot names it
    za: np.ndarray
    zb: np.ndarray | None
    points: np.ndarray
    mass: np.ndarray
    size: np.ndarray
    density: np.ndarray
    orientation: np.ndarray | None
    grid_mass: float  # the noise mass the grid covers (= mass.sum())

    def log_density_range(self, quantiles: tuple[float, float] = (0.02, 0.98)) -> tuple[float, float] | None:
        """(lo, hi): the given quantiles of the natural log density over the finite cells, the range that
        `shading` spreads over [0, 1] (a colour bar's ends); None when no cell has a finite density."""
        finite = np.isfinite(self.density) & (self.density > 0)
        if not finite.any():
            return None
        lo, hi = np.quantile(np.log(self.density[finite]), quantiles)
        return float(lo), float(hi)

    def shading(self, quantiles: tuple[float, float] = (0.02, 0.98)) -> np.ndarray:
        """Per-cell shade in [0, 1] for drawing: log density, scaled between the given quantiles of the finite
        cells (a trained G spans decades of density) and clipped; collapsed cells (inf) shade 1."""
        rng = self.log_density_range(quantiles)
        if rng is None:
            return np.ones_like(self.density)
        finite = np.isfinite(self.density) & (self.density > 0)
        logd = np.log(np.where(finite, self.density, 1.0))
        lo, hi = rng
        out = np.clip((logd - lo) / (hi - lo), 0.0, 1.0) if hi > lo else np.full(logd.shape, 0.5)
        return np.where(np.isinf(self.density), 1.0, np.where(finite, out, 0.0))


@dataclass(frozen=True, eq=False)
class GeneratorWeights:
    """A snapshot's generator for the manifold view: an MLP's frozen weights as numpy arrays and its noise
    prior. It pickles without torch (the first frame reaches the window before torch is imported there) and
    evaluates with the same torch ops as models.FrozenMLP, so `manifold()` equals trainer_manifold for that G."""

    layers: tuple[tuple[np.ndarray, np.ndarray], ...]
    activation: str
    prior_kind: str
    z_dim: int

    @classmethod
    def of(cls, g: FrozenMLP, prior_kind: str, z_dim: int) -> GeneratorWeights:
        """From a FrozenMLP (no copy on the CPU: its tensors are frozen copies already)."""
        return cls(tuple((w.detach().cpu().numpy(), b.detach().cpu().numpy()) for w, b in g.layers),
                   g.activation, prior_kind, int(z_dim))

    @property
    def prior(self) -> NoisePrior:
        return NoisePrior(self.prior_kind, self.z_dim)

    def __call__(self, z: Tensor) -> Tensor:
        from .models import _FUNCTIONAL

        linear = torch.nn.functional.linear
        act = _FUNCTIONAL[self.activation]
        x = z
        for w, b in self.layers[:-1]:
            x = act(linear(x, torch.from_numpy(w), torch.from_numpy(b)))
        w, b = self.layers[-1]
        return linear(x, torch.from_numpy(w), torch.from_numpy(b))

    def manifold(self, k: int = DEFAULT_K, axes: Sequence[int] | None = None,
                 fixed: Sequence[float] | None = None) -> Manifold:
        return generator_manifold(self, self.prior, k, axes, fixed)


def noise_cdf(kind: str, v: np.ndarray) -> np.ndarray:
    """The CDF of one coordinate of the noise prior (N(0, 1) or U[-1, 1]) at v."""
    v = np.asarray(v, dtype=np.float64)
    if kind == "gaussian":
        return 0.5 * (1.0 + np.vectorize(math.erf)(v / math.sqrt(2.0)))
    if kind == "uniform":
        return np.clip((v + 1.0) / 2.0, 0.0, 1.0)
    raise ValueError(f"unknown noise prior {kind!r}")


def slice_label(z_dim: int, axes: Sequence[int], fixed: Sequence[float], lo: float, hi: float) -> str:
    """'z-grid: z₁, z₂ ∈ [-2.5, 2.5]', or for a slice 'slice through z: z₁, z₃ ∈ [-2.5, 2.5]; z₂ = 0, z₄ = 0'
    (coordinates named from 1, as on paper)."""
    def name(i: int) -> str:
        return f"z{str(i + 1).translate(_SUB)}" if z_dim > 1 else "z"

    varied = ", ".join(name(a) for a in axes) + f" ∈ [{lo:g}, {hi:g}]"
    rest = [i for i in range(z_dim) if i not in axes]
    if not rest:
        return f"z-grid: {varied}"
    values = [fixed[i] for i in rest]
    if len(rest) > 3 and len(set(values)) == 1:
        held = f"{name(rest[0])} … {name(rest[-1])} = {values[0]:g}"
    else:
        held = ", ".join(f"{name(i)} = {fixed[i]:g}" for i in rest)
    return f"slice through z: {varied}; {held}"


def generator_manifold(g: Callable[[Tensor], Tensor], prior: NoisePrior, k: int = DEFAULT_K,
                       axes: Sequence[int] | None = None, fixed: Sequence[float] | None = None,
                       z_range: tuple[float, float] | None = None, device: torch.device | str = "cpu"
                       ) -> Manifold:
    """The image under g ((n, z_dim) -> (n, dim)) of a k-per-axis grid over z (default range: the prior's bulk,
    NoisePrior.grid_range), with its density shading. A mesh when z has 2+ dimensions and the data 2 (over z
    coordinates `axes`, default the first two), else a curve (over axes[0]; data of 1 or 2 dimensions); the
    other coordinates are held at `fixed` (a value per z coordinate, or one for all; default 0, the prior's
    centre). Raises ValueError for a bad axis, grid or data dimension."""
    z_dim = prior.dim
    if k < 2:
        raise ValueError(f"a manifold grid needs at least 2 vertices per axis, got {k}")
    lo, hi = z_range if z_range is not None else prior.grid_range
    if not hi > lo:
        raise ValueError(f"empty z range [{lo:g}, {hi:g}]")
    axes = (0, 1)[:z_dim] if axes is None else tuple(int(a) for a in axes)
    if any(not 0 <= a < z_dim for a in axes) or len(set(axes)) != len(axes) or not axes:
        raise ValueError(f"slice axes {axes} do not fit z of dimension {z_dim} (use distinct 0 .. {z_dim - 1})")
    if fixed is None:
        fixed = [0.0] * z_dim
    elif np.ndim(fixed) == 0:
        fixed = [float(fixed)] * z_dim  # type: ignore[arg-type]
    fixed = [float(f) for f in np.asarray(fixed, dtype=np.float64).ravel()]
    if len(fixed) != z_dim:
        raise ValueError(f"fixed holds {len(fixed)} values for z of dimension {z_dim}")
    v = np.linspace(lo, hi, k)
    with torch.no_grad():
        probe = g(torch.zeros(1, z_dim, device=device))
    dim = int(probe.reshape(1, -1).shape[1])
    if dim > 2:
        raise ValueError(f"a generator manifold is drawn for 1D or 2D data, not {dim}D samples")
    mesh = z_dim >= 2 and dim == 2 and len(axes) >= 2
    axes = axes[:2] if mesh else axes[:1]
    base = np.array([float(f) for f in fixed], dtype=np.float64)
    held = tuple(float("nan") if i in axes else float(base[i]) for i in range(z_dim))
    label = slice_label(z_dim, axes, base, lo, hi)
    cell = np.diff(noise_cdf(prior.kind, v))  # each 1D cell's noise mass along one varied axis
    if not mesh:
        z = np.repeat(base[None, :], k, axis=0)
        z[:, axes[0]] = v
        pts = _evaluate(g, z, device).reshape(k, dim)
        size = np.linalg.norm(np.diff(pts, axis=0), axis=1)
        return Manifold("curve", axes, held, label, v, None, pts.astype(np.float32), cell, size,
                        _ratio(cell, size), None, float(cell.sum()))
    a, b = axes
    zz = np.repeat(base[None, :], k * k, axis=0)
    zz[:, a] = np.tile(v, k)  # the first varied axis fastest: vertex (ia, ib) is row ib * k + ia
    zz[:, b] = np.repeat(v, k)
    pts = _evaluate(g, zz, device).reshape(k, k, dim)
    signed = quad_areas(pts)
    mass = np.outer(cell, cell)  # [ib, ia]
    size = np.abs(signed)
    return Manifold("mesh", axes, held, label, v, v.copy(), pts.astype(np.float32), mass, size,
                    _ratio(mass, size), np.where(np.isfinite(signed), np.sign(signed), 0).astype(np.int8),
                    float(mass.sum()))


def quad_areas(pts: np.ndarray) -> np.ndarray:
    """Signed areas (k-1, k-1) of the image cells of a (k, k, 2) vertex grid (shoelace: half the cross product
    of the diagonals); positive where the cell keeps the z-grid's orientation."""
    p00, p10 = pts[:-1, :-1], pts[:-1, 1:]
    p01, p11 = pts[1:, :-1], pts[1:, 1:]
    d1, d2 = p11 - p00, p01 - p10
    return 0.5 * (d1[..., 0] * d2[..., 1] - d1[..., 1] * d2[..., 0])


def trainer_manifold(trainer: Trainer, k: int = DEFAULT_K, axes: Sequence[int] | None = None,
                     fixed: Sequence[float] | None = None) -> Manifold:
    """The manifold of a Trainer's generator as it is now (a frozen copy; the run is not touched). ValueError for
    a fixed generator (no noise grid) or image data."""
    if not trainer.learned_generator:
        raise ValueError(f"the {trainer.config.generator} generator is not a map of noise: it has no manifold")
    if trainer.is_image:
        raise ValueError("image runs have no generator manifold to draw (their samples are images)")
    from .models import FrozenMLP

    g = FrozenMLP(trainer.G.net, trainer.config.activation)
    return generator_manifold(g, trainer.prior, k, axes, fixed, device=trainer.device)


def _evaluate(g: Callable[[Tensor], Tensor], z: np.ndarray, device: torch.device | str) -> np.ndarray:
    with torch.no_grad():
        out = g(torch.as_tensor(z, dtype=torch.float32, device=device))
    return out.reshape(len(z), -1).double().cpu().numpy()


def _ratio(mass: np.ndarray, size: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(size > 0, mass / np.where(size > 0, size, 1.0), np.inf)
