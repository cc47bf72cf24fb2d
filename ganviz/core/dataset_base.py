"""The base of every dataset: the `Distribution` interface and the registry of named datasets (`DATASETS`,
filled by `register` when ganviz.core.distributions and ganviz.core.images.distribution are imported).

A leaf module: the toy data (distributions) and the image data (images.distribution) both build on it, and
neither imports the other's module at import time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


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
