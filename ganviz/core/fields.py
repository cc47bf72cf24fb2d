"""D on a grid for the views: pure functions of frozen weights, runnable from any thread."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from . import metrics as M
from .config import TrainConfig
from .distributions import Distribution, GaussianMixture
from .snapshot import Field1D, Field2D


def p_g_1d(cfg: TrainConfig, data: Distribution, x: np.ndarray,
           fake_samples: np.ndarray | None) -> np.ndarray | None:
    """Generator density on x: analytic for the fixed generators when known, else a KDE of samples."""
    if cfg.generator == "shift":
        return data.density(x[:, None] - cfg.shift_x)
    if cfg.generator == "noise" and isinstance(data, GaussianMixture):
        s = math.sqrt(data.mode_std ** 2 + cfg.noise_sigma ** 2)
        return GaussianMixture("noisy", data.modes, s, data.weights).density(x[:, None])
    if fake_samples is None:
        return None
    return M.kde_1d(fake_samples, x)


def field_1d(d_raw: Callable[[Tensor], Tensor], display: Callable[[Tensor], Tensor], cfg: TrainConfig,
             data: Distribution, fake_samples: np.ndarray | None, device: torch.device) -> Field1D:
    """D's displayed output, p_data, p_g and D* = p_data / (p_data + p_g) on the view grid."""
    lo, hi = data.bounds
    x = np.linspace(lo, hi, max(4 * cfg.grid_size, 64))
    with torch.no_grad():
        raw = d_raw(torch.as_tensor(x, dtype=torch.float32, device=device)[:, None]).reshape(-1)
        d = display(raw).cpu().numpy().astype(np.float64)
    p_data = data.density(x[:, None])
    p_g = p_g_1d(cfg, data, x, fake_samples)
    d_star = M.optimal_d(p_data, p_g) if p_g is not None else None
    return Field1D(x, d, p_data, p_g, d_star)


def field_2d(d_raw: Callable[[Tensor], Tensor], display: Callable[[Tensor], Tensor], grid_size: int,
             bounds: tuple[float, ...], device: torch.device) -> Field2D:
    """D's displayed output on a grid_size^2 grid; values[iy, ix] at (xs[ix], ys[iy]) (row-major)."""
    x0, x1, y0, y1 = bounds
    xs = np.linspace(x0, x1, grid_size, dtype=np.float32)
    ys = np.linspace(y0, y1, grid_size, dtype=np.float32)
    gx, gy = np.meshgrid(xs, ys)
    pts = torch.as_tensor(np.stack([gx.ravel(), gy.ravel()], axis=1), device=device)
    with torch.no_grad():
        vals = display(d_raw(pts).reshape(-1)).reshape(len(ys), len(xs))
    return Field2D(xs, ys, vals.float().cpu().numpy())
