"""The generator kinds (config `generator`) as strategies shared by the trainer and the views: a learned MLP, or a
fixed generator that maps a data sample x to a fake one — `shift` (x + theta) and `noise` (x + N(0, sigma^2 I)).

A kind says which config fields it reads (the controls enable only those), how it turns data samples into fakes
(`transform`, the same draws in training, in snapshots and in metrics), its analytic 1D density p_g when it has
one (else the views estimate p_g by a KDE of its samples), and its line for the formula panel. Nothing else in
ganviz branches on the kind's name.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .lazy import lazy_import

torch = lazy_import("torch")

if TYPE_CHECKING:
    import numpy as np
    from torch import Tensor


@dataclass(frozen=True)
class GeneratorKind:
    """A generator kind; the learned one has no transform (G(z) is the trainer's network)."""

    name: str
    learned: bool
    params: tuple[str, ...] = ()  # config fields it reads

    def transform(self, base: Tensor, cfg: Any, gen: torch.Generator) -> Tensor:
        """Fake samples from data samples `base` (n, dim), drawing any noise from gen."""
        raise TypeError(f"the {self.name} generator is a network, not a transform of the data")

    def has_density(self, data: Any) -> bool:
        """Whether p_g is known in closed form for this data (else the views estimate it from samples)."""
        return False

    def density_1d(self, cfg: Any, data: Any, x: np.ndarray) -> np.ndarray | None:
        """p_g on the 1D points x (m,) when known in closed form, else None."""
        return None

    def note(self, cfg: Any) -> str:
        """A line for the formula panel (core.objectives.Formula markup), or "" for none."""
        return ""


@functools.lru_cache(maxsize=16)
def _theta(shift_x: float, shift_y: float, dim: int, device: str) -> Tensor:
    """The shift as a tensor on device: one host-to-device copy per shift, not per step."""
    return torch.tensor([shift_x, shift_y][:dim], device=device)


class _Shift(GeneratorKind):
    def transform(self, base: Tensor, cfg: Any, gen: torch.Generator) -> Tensor:
        return base + _theta(float(cfg.shift_x), float(cfg.shift_y), base.shape[-1], str(base.device))

    def has_density(self, data: Any) -> bool:
        return True

    def density_1d(self, cfg: Any, data: Any, x: np.ndarray) -> np.ndarray | None:
        return data.density(x[:, None] - cfg.shift_x)  # p_g(x) = p_data(x - theta)

    def note(self, cfg: Any) -> str:
        return (f"G is fixed: p_{{g}}(x) = p_{{data}}(x − θ), θ = ({cfg.shift_x:g}, {cfg.shift_y:g}) "
                "(θ_{y} only in 2D)")


class _Noise(GeneratorKind):
    def transform(self, base: Tensor, cfg: Any, gen: torch.Generator) -> Tensor:
        return base + cfg.noise_sigma * torch.randn(base.shape, generator=gen, device=base.device)

    def has_density(self, data: Any) -> bool:
        from .distributions import GaussianMixture

        return isinstance(data, GaussianMixture)  # else a KDE of samples

    def density_1d(self, cfg: Any, data: Any, x: np.ndarray) -> np.ndarray | None:
        from .distributions import GaussianMixture

        if not isinstance(data, GaussianMixture):
            return None
        s = math.sqrt(data.mode_std ** 2 + cfg.noise_sigma ** 2)  # each mode widened by the noise
        return GaussianMixture("noisy", data.modes, s, data.weights).density(x[:, None])

    def note(self, cfg: Any) -> str:
        return f"G is fixed: G(z) = x + 𝒩(0, σ²I), x ∼ p_{{data}}, σ = {cfg.noise_sigma:g}"


LEARNED = GeneratorKind("learned", learned=True)
SHIFT = _Shift("shift", learned=False, params=("shift_x", "shift_y"))
NOISE = _Noise("noise", learned=False, params=("noise_sigma",))
GENERATORS: dict[str, GeneratorKind] = {g.name: g for g in (LEARNED, SHIFT, NOISE)}  # config GENERATOR_MODES
FIXED_PARAMS = tuple(p for g in GENERATORS.values() for p in g.params)  # every fixed generator's config fields


def generator_kind(name: str) -> GeneratorKind:
    """The strategy for config `generator`."""
    try:
        return GENERATORS[name]
    except KeyError:
        raise KeyError(f"unknown generator {name!r}; available: {', '.join(GENERATORS)}") from None
