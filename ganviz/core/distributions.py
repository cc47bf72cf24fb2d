"""Toy data: every distribution samples with a seeded torch.Generator and knows its density.

Mixtures of Gaussians (1D and 2D) have exact densities and expose their mode centres and std, which the
mode metrics use. Non-mixture 2D sets say in their docstring where their density comes from.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

LOG_2PI = math.log(2.0 * math.pi)


class Distribution(ABC):
    """A data distribution: samples (torch), log density (numpy), view bounds."""

    name: str = ""
    dim: int = 1
    description: str = ""
    density_is_exact: bool = True
    modes: np.ndarray | None = None  # (K, dim) centres, mixtures only
    mode_std: float | None = None  # common per-mode std, mixtures only

    @abstractmethod
    def sample(self, n: int, gen: torch.Generator, device: torch.device | str = "cpu") -> torch.Tensor:
        """n samples as a float32 (n, dim) tensor on device, drawn with gen (which must be on device)."""

    @abstractmethod
    def log_prob(self, x: np.ndarray) -> np.ndarray:
        """log p(x) for x of shape (m, dim), float64 (m,); -inf outside the support."""

    def density(self, x: np.ndarray) -> np.ndarray:
        return np.exp(self.log_prob(np.asarray(x, dtype=np.float64).reshape(-1, self.dim)))

    @property
    @abstractmethod
    def bounds(self) -> tuple[float, ...]:
        """Default view range: (lo, hi) in 1D, (xmin, xmax, ymin, ymax) in 2D."""


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
        k = means.shape[0]
        w = np.full(k, 1.0 / k) if weights is None else np.asarray(weights, dtype=np.float64)
        self.weights = w / w.sum()
        self.description = description
        self._means_t = torch.as_tensor(means, dtype=torch.float32)
        self._weights_t = torch.as_tensor(self.weights, dtype=torch.float32)

    def sample(self, n: int, gen: torch.Generator, device: torch.device | str = "cpu") -> torch.Tensor:
        means = self._means_t.to(device)
        idx = torch.multinomial(self._weights_t.to(device), n, replacement=True, generator=gen)
        eps = torch.randn(n, self.dim, generator=gen, device=device)
        return means[idx] + self.mode_std * eps

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(-1, self.dim)
        s2 = self.mode_std ** 2
        d2 = ((x[:, None, :] - self.modes[None, :, :]) ** 2).sum(-1)  # (m, K)
        comp = -0.5 * d2 / s2 - 0.5 * self.dim * (LOG_2PI + math.log(s2)) + np.log(self.weights)[None, :]
        top = comp.max(axis=1, keepdims=True)
        return (top + np.log(np.exp(comp - top).sum(axis=1, keepdims=True)))[:, 0]

    @property
    def bounds(self) -> tuple[float, ...]:
        pad = 4.0 * self.mode_std + 0.15 * float(np.ptp(self.modes) if len(self.modes) > 1 else 1.0) + 0.5
        lo = self.modes.min(axis=0) - pad
        hi = self.modes.max(axis=0) + pad
        if self.dim == 1:
            return (float(lo[0]), float(hi[0]))
        # square view so circles look round
        c = (lo + hi) / 2
        half = float((hi - lo).max()) / 2
        return (c[0] - half, c[0] + half, c[1] - half, c[1] + half)


def ring_means(k: int, radius: float) -> np.ndarray:
    """K centres on a circle at angles 2*pi*i/K, i = 0..K-1 (not linspace(0, 2pi, K), which repeats one)."""
    angles = 2.0 * np.pi * np.arange(k) / k
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    dim: int
    description: str
    factory: Callable[..., Distribution]


DATASETS: dict[str, DatasetInfo] = {}


def register(name: str, dim: int, description: str) -> Callable:
    def deco(factory: Callable[..., Distribution]) -> Callable[..., Distribution]:
        DATASETS[name] = DatasetInfo(name, dim, description, factory)
        return factory
    return deco


def make_distribution(name: str, ring_radius: float = 2.0, ring_std: float = 0.02) -> Distribution:
    """Build a registered dataset by name. ring_radius / ring_std apply to ring8 only."""
    if name not in DATASETS:
        raise KeyError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}")
    if name == "ring8":
        return DATASETS[name].factory(radius=ring_radius, std=ring_std)
    return DATASETS[name].factory()


@register("gaussian-1d", 1, "N(0, 1)")
def _gaussian_1d() -> Distribution:
    return GaussianMixture("gaussian-1d", np.array([0.0]), 1.0, description="N(0, 1)")


@register("ring8", 2, "8 Gaussians on a circle (radius 2, std 0.02 by default; Unrolled GAN setup)")
def _ring8(radius: float = 2.0, std: float = 0.02) -> Distribution:
    return GaussianMixture("ring8", ring_means(8, radius), std,
                           description=f"8 Gaussians on a circle of radius {radius:g}, std {std:g}")
