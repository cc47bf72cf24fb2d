"""What the ensemble of seeds reports: per-seed metrics and the EnsembleSnapshot (numpy only, picklable).

`EnsembleTrainer.snapshot()` returns an EnsembleSnapshot: per-seed loss history since the last snapshot,
per-seed metrics (exact W1 by assignment on 256 points in 2D / sorted 4096 in 1D, and for mixtures the
VEEGAN/PacGAN mode metrics on 2500 samples: the single run's counts and functions from ganviz.core.metrics),
the collapse flag per seed (modes covered <= K/2) and the share collapsed, and each seed's G on one fixed noise
batch for small multiples. The metrics cost about N times a single run's (N assignments), so the live loop
defers them to the consumer by default (`MetricsJob`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from . import metrics as M
from .config import TrainConfig
from .distributions import Distribution, NoisePrior
from .fields import _distribution
from .snapshot import Event, History, LazyFields
from .stacked import FrozenStack, _copy_to


def collapsed_flags(modes_covered: np.ndarray, n_modes: int) -> np.ndarray:
    """The ensemble's collapse rule: a seed has collapsed when it covers at most half of the K modes
    (modes_covered <= K / 2; VEEGAN/PacGAN 'covered': >= 1 high-quality sample within 3 std)."""
    return np.asarray(modes_covered, dtype=np.float64) <= n_modes / 2.0


def seed_metrics(fake: np.ndarray, real: np.ndarray, data: Distribution, n_w1: int, n_mode: int) -> dict[str, Any]:
    """Per-seed metrics of fakes (N, n, dim) against one real sample set (n, dim), numpy in and out.

    w1 (N,): exact W1 on the first n_w1 fakes and reals (`metrics.w1_exact`: assignment in 2D, sorted in
    1D). For mixtures: modes_covered, hq_fraction, reverse_kl (N,) and mode_counts (N, K) from
    `metrics.mode_metrics` on the first n_mode fakes, n_modes (K), collapsed (N,) bool (`collapsed_flags`)
    and collapsed_share. A seed whose fakes are not finite gets NaN (and is not counted as collapsed).
    """
    n = fake.shape[0]
    out: dict[str, Any] = {"w1": np.full(n, np.nan)}
    finite = np.array([bool(np.isfinite(f).all()) for f in fake])
    for i in range(n):
        if finite[i]:
            out["w1"][i] = M.w1_exact(real[:n_w1], fake[i, :n_w1])
    if data.modes is not None:
        k = len(data.modes)
        covered, hq, rkl = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
        counts = np.zeros((n, k))
        for i in range(n):
            if not finite[i]:
                continue
            mm = M.mode_metrics(fake[i, :n_mode], data.modes, data.mode_std, weights=getattr(data, "weights", None))
            covered[i], hq[i], rkl[i] = mm["modes_covered"], mm["hq_fraction"], mm["reverse_kl"]
            counts[i] = mm["counts"]
        collapsed = collapsed_flags(np.nan_to_num(covered, nan=k), k)
        out.update(modes_covered=covered, hq_fraction=hq, reverse_kl=rkl, mode_counts=counts, n_modes=float(k),
                   collapsed=collapsed & finite,
                   collapsed_share=float((collapsed & finite).sum() / max(int(finite.sum()), 1)))
    return out


class _EnsembleView:
    """What a snapshot's fixed-noise samples are computed from: frozen stacked G weights and the fixed noise
    batch. Picklable; `compute()` runs in whichever thread or process asks."""

    def __init__(self, g: FrozenStack, z_fixed: Tensor) -> None:
        self.g, self.z_fixed = g, z_fixed

    def to(self, device: torch.device | str) -> _EnsembleView:
        return _EnsembleView(self.g.to(device), _copy_to([self.z_fixed], torch.device(device))[0])

    def compute(self) -> dict:
        n = self.g.layers[0][0].shape[0]
        z = self.z_fixed.unsqueeze(0).expand(n, -1, -1).contiguous()
        return {"fake": self.g(z).float().cpu().numpy()}


class MetricsJob:
    """Deferred per-seed metrics of one step (`ensemble_metrics`), from frozen stacked G weights; picklable.

    Separate from the samples on purpose: N exact-W1 assignments cost N times a single run's metrics (and
    scipy's assignment holds the GIL), so a consumer may compute them on their own schedule while frames
    with fresh samples keep flowing."""

    def __init__(self, cfg: TrainConfig, g: FrozenStack, device: torch.device, step: int) -> None:
        self.cfg, self.g, self.device, self.step = cfg, g, torch.device(device), step

    def to(self, device: torch.device | str) -> MetricsJob:
        return MetricsJob(self.cfg, self.g.to(device), torch.device(device), self.step)

    def compute(self) -> dict[str, Any]:
        return ensemble_metrics(self.cfg, self.g, self.device, self.step)


def metric_samples(cfg: TrainConfig, g: FrozenStack, device: torch.device, step: int) -> tuple[np.ndarray, np.ndarray]:
    """The samples the metrics at `step` are computed on: fakes (N, n, dim) from fresh noise and one real
    set (n, dim), drawn with a generator seeded by (seed0, step) like the single run's metrics."""
    data = _distribution(cfg)
    n_w1 = cfg.kde_samples if data.dim == 1 else cfg.w1_samples
    n_mode = cfg.mode_samples if data.modes is not None else 0
    n = max(n_w1, n_mode)
    gen = torch.Generator(device=device).manual_seed(cfg.seed * 1_000_003 + step + 17)
    n_seeds = g.layers[0][0].shape[0]
    z = NoisePrior(cfg.z_prior, cfg.z_dim).sample(n_seeds * n, gen, device).reshape(n_seeds, n, cfg.z_dim)
    real = data.sample(n, gen, device)
    fake = g(z)
    return fake.double().cpu().numpy(), real.double().cpu().numpy()


def ensemble_metrics(cfg: TrainConfig, g: FrozenStack, device: torch.device, step: int) -> dict[str, Any]:
    """Per-seed metrics (see `seed_metrics`) on `metric_samples(cfg, g, device, step)`."""
    data = _distribution(cfg)
    fake, real = metric_samples(cfg, g, device, step)
    n_w1 = cfg.kde_samples if data.dim == 1 else cfg.w1_samples
    return seed_metrics(fake, real, data, n_w1, cfg.mode_samples)


_EMPTY3 = np.zeros((0, 0, 1), dtype=np.float32)


@dataclass(frozen=True)
class EnsembleSnapshot:
    """The state of all N seeds at one step; numpy only, picklable.

    history: per-step rows since the previous snapshot; History.values[name] has shape (rows, N) (one column
    per seed; NaN where a value was not recorded), names as in the single run (d_loss, g_loss, ...).
    metrics: per-seed arrays (N,) from `seed_metrics` (w1, modes_covered, hq_fraction, reverse_kl, collapsed,
    ...), computed at metrics_step (-1: none yet); may be stale by up to the metrics interval.
    fake: (N, n, dim) G_i(z) on one fixed noise batch z shared by all seeds (empty until materialised);
    real: (n, dim) a fixed real sample for the same views. diverged: (N,) seeds rolled back and frozen.
    A lazy snapshot (`snapshot(lazy=True)`) carries `lazy` (the samples) and, with defer_metrics,
    `pending_metrics` (a MetricsJob); `materialized()` computes both, `materialized(metrics=False)` only
    the samples, leaving the job to the consumer.
    """

    step: int
    d_updates: int
    g_updates: int
    seeds: tuple[int, ...]
    objective: str
    dim: int
    data: str
    history: History
    metrics: dict[str, Any]
    metrics_step: int
    events: tuple[Event, ...]
    diverged: np.ndarray
    real: np.ndarray
    fake: np.ndarray = field(default_factory=lambda: _EMPTY3)
    bounds: tuple[float, ...] = ()
    modes: np.ndarray | None = None
    mode_std: float | None = None
    steps_per_sec: float = 0.0
    device: str = "cpu"
    running: bool = True
    wall_time: float = 0.0
    config: Any = None
    lazy: LazyFields | None = field(default=None, repr=False, compare=False)
    pending_metrics: MetricsJob | None = field(default=None, repr=False, compare=False)

    @property
    def n_seeds(self) -> int:
        return len(self.seeds)

    @property
    def collapsed(self) -> np.ndarray | None:
        """(N,) bool per seed (modes covered <= K/2), or None for data without modes / before metrics."""
        c = self.metrics.get("collapsed")
        return None if c is None else np.asarray(c, dtype=bool)

    @property
    def collapsed_share(self) -> float:
        """Share of seeds collapsed, in [0, 1]; NaN for data without modes or before the first metrics."""
        return float(self.metrics.get("collapsed_share", float("nan")))

    def prepare_transfer(self) -> None:
        """Move lazy weight copies to the CPU before the snapshot crosses a process boundary."""
        if self.lazy is not None and self.lazy.source is not None:
            self.lazy.source = self.lazy.source.to("cpu")
        if self.pending_metrics is not None:
            object.__setattr__(self, "pending_metrics", self.pending_metrics.to("cpu"))

    def materialized(self, metrics: bool = True) -> EnsembleSnapshot:
        """This snapshot with its samples computed and, unless metrics=False, its deferred metrics too (then
        `pending_metrics` is left for the caller to compute when it likes). A no-op when nothing is pending."""
        changes: dict[str, Any] = {}
        if self.lazy is not None:
            changes.update(self.lazy.get(), lazy=None)
        if metrics and self.pending_metrics is not None:
            changes.update(metrics=self.pending_metrics.compute(), metrics_step=self.pending_metrics.step,
                           pending_metrics=None)
        return dataclasses.replace(self, **changes) if changes else self
