"""Ground-truth metrics on samples (numpy): exact W1, KDE + JSD by quadrature, D*, mode coverage.

Definitions follow THEORY.md. Every function says how many samples it expects; callers fix those counts
(config: w1_samples, kde_samples, mode_samples) so a metric is not noise.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# scipy is imported where it is used: it costs about 0.8 s of start-up (ndimage, optimize, spatial), which
# the first trained frame and `ganviz train` need not wait for (issue 20)

LOG2 = math.log(2.0)
LOG4 = math.log(4.0)


def w1_1d(x: np.ndarray, y: np.ndarray) -> float:
    """Exact W1 between two 1D empirical distributions of equal size: mean |x_(i) - y_(i)| of sorted samples."""
    x = np.sort(np.asarray(x, dtype=np.float64).ravel())
    y = np.sort(np.asarray(y, dtype=np.float64).ravel())
    if x.shape != y.shape:
        raise ValueError(f"w1_1d needs equal sample sizes, got {x.size} and {y.size}")
    return float(np.abs(x - y).mean())


def w1_exact(x: np.ndarray, y: np.ndarray) -> float:
    """Exact W1 between equal-size point sets by optimal assignment (O(n^3); n <= ~512 per frame)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim == 1 or x.shape[1] == 1:
        return w1_1d(x, y)
    if x.shape != y.shape:
        raise ValueError(f"w1_exact needs equal-size sets, got {x.shape} and {y.shape}")
    cost = np.sqrt(((x[:, None, :] - y[None, :, :]) ** 2).sum(-1))  # Euclidean distances (as scipy's cdist)
    rows, cols = _linear_sum_assignment()(cost)
    return float(cost[rows, cols].mean())


_LSAP: Any = None


def _linear_sum_assignment() -> Any:
    """scipy.optimize.linear_sum_assignment, the same compiled function, without importing scipy.optimize.

    The package's __init__ imports the whole optimisation stack (scipy.linalg, sparse, ...): 0.27-0.5 s that
    `ganviz train` paid before its first row (issue 20); the function itself is scipy's C extension
    `scipy.optimize._lsap` (scipy.optimize re-exports it as is), loaded here from its file in 0.3 ms. Any
    surprise (a scipy that moved it, a frozen install) falls back to the public import."""
    global _LSAP
    if _LSAP is None:
        try:
            _LSAP = _load_lsap_extension()
        except Exception:
            from scipy.optimize import linear_sum_assignment

            _LSAP = linear_sum_assignment
    return _LSAP


def _load_lsap_extension() -> Any:
    import sys

    loaded = sys.modules.get("scipy.optimize._lsap")
    if loaded is not None:
        return loaded.linear_sum_assignment
    import importlib.machinery
    import importlib.util
    import os

    spec = importlib.util.find_spec("scipy")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("scipy is not installed")
    folder = os.path.join(next(iter(spec.submodule_search_locations)), "optimize")
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = os.path.join(folder, "_lsap" + suffix)
        if os.path.isfile(path):
            loader = importlib.machinery.ExtensionFileLoader("scipy.optimize._lsap", path)
            module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
            loader.exec_module(module)
            return module.linear_sum_assignment
    raise ImportError("scipy.optimize._lsap not found")


def sliced_w1(x: np.ndarray, y: np.ndarray, n_proj: int = 128, seed: int = 0) -> float:
    """Sliced W1 (mean over random directions of 1D W1 of projections): a cheap lower bound on W1."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    rng = np.random.default_rng(seed)
    dirs = rng.normal(size=(n_proj, x.shape[1]))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    px = np.sort(x @ dirs.T, axis=0)
    py = np.sort(y @ dirs.T, axis=0)
    return float(np.abs(px - py).mean())


def scott_bandwidth(samples: np.ndarray) -> float:
    """Scott's rule for a 1D Gaussian KDE: 1.06 sigma n^(-1/5), with a robust sigma (min of std, IQR/1.34)."""
    s = np.asarray(samples, dtype=np.float64).ravel()
    n = s.size
    std = s.std()
    iqr = np.subtract(*np.percentile(s, [75, 25])) / 1.349
    sigma = min(std, iqr) if iqr > 0 else std
    return float(max(1.06 * sigma * n ** (-0.2), 1e-3))


def kde_1d(samples: np.ndarray, x: np.ndarray, bandwidth: float | None = None) -> np.ndarray:
    """Gaussian KDE of samples evaluated on the uniform grid x (binned: histogram + Gaussian filter).

    Binning on the grid is exact up to O(dx^2) when dx << bandwidth; mass outside the grid is dropped
    (the density then integrates to less than 1, which is honest).
    """
    s = np.asarray(samples, dtype=np.float64).ravel()
    x = np.asarray(x, dtype=np.float64)
    dx = float(x[1] - x[0])
    bw = scott_bandwidth(s) if bandwidth is None else bandwidth
    edges = np.concatenate([x - dx / 2, [x[-1] + dx / 2]])
    counts, _ = np.histogram(s, bins=edges)
    dens = counts / (s.size * dx)
    sigma_bins = bw / dx
    if sigma_bins < 0.5:  # grid too coarse for this bandwidth: evaluate directly
        z = (x[:, None] - s[None, :]) / bw
        return np.exp(-0.5 * z * z).sum(1) / (s.size * bw * math.sqrt(2 * math.pi))
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(dens, sigma_bins, mode="constant", truncate=5.0)


def jsd_quadrature(p: np.ndarray, q: np.ndarray, x: np.ndarray) -> float:
    """JSD(p || q) in nats for densities p, q on the uniform grid x (trapezoid rule)."""
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, None)
    q = np.clip(np.asarray(q, dtype=np.float64), 0.0, None)
    # densities below 1e-300 contribute nothing but can make (p + q) / 2 underflow to 0 (then p/m = inf)
    p = np.where(p < 1e-300, 0.0, p)
    q = np.where(q < 1e-300, 0.0, q)
    m = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        tp = np.where(p > 0, p * np.log(p / m), 0.0)
        tq = np.where(q > 0, q * np.log(q / m), 0.0)
    return float(0.5 * np.trapezoid(tp, x) + 0.5 * np.trapezoid(tq, x))


def optimal_d(p_data: np.ndarray, p_g: np.ndarray) -> np.ndarray:
    """D*(x) = p_data / (p_data + p_g); 1/2 where both densities vanish."""
    p_data = np.asarray(p_data, dtype=np.float64)
    p_g = np.asarray(p_g, dtype=np.float64)
    total = p_data + p_g
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 1e-300, p_data / np.where(total > 0, total, 1.0), 0.5)


def jsd_from_value(v: float) -> float:
    """JSD estimate from the GAN value V = E log D(x) + E log(1 - D(G(z))): (V + log 4) / 2."""
    return (v + LOG4) / 2.0


def mode_metrics(samples: np.ndarray, modes: np.ndarray, std: float, n_std: float = 3.0,
                 min_share: float = 0.0, weights: np.ndarray | None = None) -> dict[str, float | np.ndarray]:
    """VEEGAN / PacGAN mode metrics (THEORY.md section 4) on generated samples (protocol: 2500).

    Each sample is assigned to its nearest mode; it is high quality (HQ) if within n_std * std of it.
    modes_covered: modes with at least one HQ sample (and at least min_share of the HQ samples, if set).
    hq_fraction: HQ samples / all samples. reverse_kl: sum_i p_i log(K p_i) over the histogram p of the
    HQ samples' modes (log K when all HQ mass is on one mode; NaN when there is no HQ sample). For unequal
    mode weights w (e.g. two-blobs) it is KL(p || w) = sum_i p_i log(p_i / w_i), which is the same formula
    when w_i = 1/K, so real data scores ~0 either way.
    counts: HQ samples per mode (K,).
    """
    samples = np.asarray(samples, dtype=np.float64).reshape(len(samples), -1)
    modes = np.asarray(modes, dtype=np.float64).reshape(len(modes), -1)
    k = modes.shape[0]
    d2 = ((samples[:, None, :] - modes[None, :, :]) ** 2).sum(-1)
    nearest = d2.argmin(axis=1)
    dist = np.sqrt(d2[np.arange(len(samples)), nearest])
    hq = dist <= n_std * std
    counts = np.bincount(nearest[hq], minlength=k).astype(np.float64)
    n_hq = counts.sum()
    if n_hq > 0:
        p = counts / n_hq
        covered = int(((counts > 0) & (p >= min_share)).sum())
        nz = p > 0
        w = np.full(k, 1.0 / k) if weights is None else np.asarray(weights, dtype=np.float64) / np.sum(weights)
        rkl = float((p[nz] * np.log(p[nz] / w[nz])).sum())
    else:
        covered, rkl = 0, float("nan")
    return {
        "modes_covered": float(covered),
        "n_modes": float(k),
        "hq_fraction": float(n_hq / max(len(samples), 1)),
        "reverse_kl": rkl,
        "counts": counts,
    }


def gaussian_jsd_reference(mu: float, n: int = 20001) -> float:
    """JSD(N(0,1) || N(mu,1)) by quadrature on analytic densities (THEORY.md reference values)."""
    x = np.linspace(-12.0 + min(0.0, mu), 12.0 + max(0.0, mu), n)
    p = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    q = np.exp(-0.5 * (x - mu) ** 2) / math.sqrt(2 * math.pi)
    return jsd_quadrature(p, q, x)
