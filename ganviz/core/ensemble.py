"""Ensemble of seeds: N runs of one configuration trained in lock-step as ONE batched model (issue 9).

    ens = EnsembleTrainer(TrainConfig(data="ring8"), n_seeds=16)
    ens.train(2000)
    snap = ens.snapshot()                      # EnsembleSnapshot: per-seed W1, modes, losses, samples
    print(snap.collapsed_share, snap.metrics["modes_covered"])

How the N runs become one model. Seed i is initialised exactly like `Trainer(config.replace(seed=seed0 + i))`
(`build_models` per seed), then the N generators' and the N discriminators' parameters are stacked
(`torch.func.stack_module_state`): every weight becomes one leaf tensor with a leading seed axis. A forward
pass is a chain of grouped matmuls, `torch.baddbmm(bias, x, W)` on x of shape (N, batch, features): seed i's
rows only ever meet seed i's weights. The loss that is back-propagated is the SUM of the N per-seed losses
(each the objective's own function, vmapped over the seed axis), so the gradient of every weight slice is
exactly that seed's own gradient; penalties that need input gradients (R1, WGAN-GP) take them by autograd
on the stacked inputs, which are per-sample and per-seed for the same reason. One optimiser steps the
stacked tensors: Adam, SGD (with momentum) and RMSprop are elementwise, so this equals N separate
optimisers (their `step` counter is shared, and all seeds step in lock-step anyway).

Why baddbmm and not torch.func.vmap(functional_call): both were measured on this 2-core CPU (docs/ENSEMBLE.md;
`python -m ganviz.core.ensemble --forward bmm vmap`): for N = 16 the grouped-matmul chain was 1.1x to 1.3x
faster at width 128 and 1.4x to 1.8x at width 32 (2.2x for N = 4). Both end in the same bmm kernels; vmap
adds its batching-rule dispatch to every op, which shows where per-op overhead matters. vmap is kept as
`forward="vmap"` for that comparison. The weights are stored (N, in, out) so each layer is one baddbmm
with no transpose.

Randomness. rng="per-seed" (the default): seed i owns a torch.Generator seeded like the single run's and
draws its batches in the single run's order, so seed i sees exactly the data and noise that
`Trainer(seed0 + i)` would see, and follows that run up to float rounding (batched matmuls round
differently; GAN dynamics then amplify the difference, so trajectories are statistically, not bitwise,
the same). rng="batched": one generator draws all seeds' batches in one call per tensor: the seeds' samples
are still independent and identically distributed (statistically the same as N separate runs) but not
the single runs' draws; it saves 3 to 5 small ops per seed per update, which matters only for tiny models.

Not supported (refused with a ConfigError naming the key): PacGAN packing (pack > 1), unrolled G updates
(unroll > 0), minibatch features (mbdisc, mbstd), fixed generators (generator = shift / noise) and image data. All
objectives, label smoothing, instance noise (and its decay), R1, the WGAN-GP penalty, weight clipping,
k D steps, every optimiser, activation, prior and dataset are supported.

Snapshots and metrics. `snapshot()` returns an EnsembleSnapshot (numpy only, picklable): per-seed loss
history since the last snapshot, per-seed metrics (exact W1 by assignment on 256 points in 2D / sorted
4096 in 1D, and for mixtures the VEEGAN/PacGAN mode metrics on 2500 samples: the single run's counts and
functions from ganviz.core.metrics), the collapse flag per seed (modes covered <= K/2) and the share
collapsed, and each seed's G on one fixed noise batch for small multiples. The metrics cost about N times
a single run's (N assignments), so the live loop (`run`) defers them to the consumer by default.

A seed that diverges (NaN/Inf) is rolled back to its last good state and frozen there (its weights are
held); the others go on. It is reported per seed (`EnsembleSnapshot.diverged`) and in the event log.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import queue
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap

from . import metrics as M
from . import steps
from .commands import Command
from .config import ConfigError, TrainConfig
from .distributions import Distribution, NoisePrior, make_distribution
from .engine import CommandDrain, GanSteps
from .fields import _distribution
from .live import apply_changes
from .loop import run_loop
from .models import _FUNCTIONAL, build_models
from .objectives import Objective, get_objective
from .snapshot import Event, EventKind, History, LazyFields
from .trainer import HISTORY_KEYS, Trainer, resolve_device

MAX_SEEDS = 64
RNG_MODES = ("per-seed", "batched")
FORWARDS = ("bmm", "vmap")
SMALL_MULTIPLE_SAMPLES = 256  # fixed-noise fakes per seed in a snapshot (small multiples: cheap to draw)


# ----------------------------------------------------------------------------------------- config checks

def check_ensemble_config(config: TrainConfig, n_seeds: int) -> None:
    """Raise ConfigError if the ensemble engine cannot train this config with n_seeds seeds."""
    from .images.distribution import is_image_data
    if isinstance(n_seeds, bool) or not isinstance(n_seeds, int) or not 1 <= n_seeds <= MAX_SEEDS:
        raise ConfigError(f"n_seeds={n_seeds!r} is out of range: the ensemble takes 1 to {MAX_SEEDS} seeds")
    if config.seed + n_seeds - 1 > 2**31 - 1:
        raise ConfigError(f"seed={config.seed} is too large for {n_seeds} seeds: seeds seed..seed+{n_seeds - 1} "
                          f"must stay <= {2**31 - 1}")
    refusals = [
        (config.pack > 1, "pack", config.pack, "PacGAN packing is not batched yet; use pack=1"),
        (config.unroll > 0, "unroll", config.unroll, "unrolled G updates are not batched yet; use unroll=0"),
        (config.mbdisc > 0, "mbdisc", config.mbdisc,
         "minibatch discrimination couples the samples of a batch and is not batched yet; use mbdisc=0"),
        (config.mbstd > 0, "mbstd", config.mbstd,
         "minibatch standard deviation couples the samples of a batch and is not batched yet; use mbstd=0"),
        (config.generator != "learned", "generator", config.generator,
         "the ensemble compares learned generators across seeds; use generator=learned"),
        (is_image_data(config.data), "data", config.data,
         "image data is not batched: a single run trains convolutional networks on it, the ensemble batches "
         "MLPs; use a 1D or 2D dataset"),
    ]
    for bad, key, value, why in refusals:
        if bad:
            raise ConfigError(f"{key}={value!r} is not supported by the ensemble of seeds: {why}")


@dataclass(frozen=True)
class EnsembleSpec:
    """What a child process needs to build an ensemble engine (picklable): the config and N."""

    config: TrainConfig
    n_seeds: int
    rng: str = "per-seed"

    def build(self) -> EnsembleTrainer:
        return EnsembleTrainer(self.config, self.n_seeds, rng=self.rng)


# ----------------------------------------------------------------------------------------- batched MLPs

class StackedMLP:
    """N MLPs of one architecture as stacked leaf tensors: weight (N, in, out), bias (N, 1, out).

    Built from N nn.Sequential MLPs with torch.func.stack_module_state, then laid out (N, in, out) so that a
    layer is one `torch.baddbmm(bias, x, weight)` on x (N, batch, in) (measured no slower, usually a few
    percent faster, than multiplying by the transposed (N, out, in) view). `seed_state(i)` gives seed i's
    weights back in nn.Linear's layout.
    """

    def __init__(self, nets: Sequence[nn.Sequential], activation: str, forward: str = "bmm") -> None:
        if forward not in FORWARDS:
            raise ValueError(f"forward must be one of {', '.join(FORWARDS)}, got {forward!r}")
        params, _ = stack_module_state(list(nets))  # {"0.weight": (N, out, in), "0.bias": (N, out), ...}
        linear = [i for i, m in enumerate(nets[0]) if isinstance(m, nn.Linear)]
        self.layers: list[tuple[Tensor, Tensor]] = []
        for i in linear:
            w = params[f"{i}.weight"].detach().transpose(1, 2).contiguous().requires_grad_(True)
            b = params[f"{i}.bias"].detach().unsqueeze(1).contiguous().requires_grad_(True)
            self.layers.append((w, b))
        self.activation = activation
        self.n = len(nets)
        self.forward = forward
        self._act = _FUNCTIONAL[activation]
        self._relu = activation == "relu"
        if forward == "vmap":
            self._linear_keys = linear
            base = copy.deepcopy(nets[0]).to("meta")  # structure only; weights come from the stack

            def one(p: dict[str, Tensor], x: Tensor) -> Tensor:
                return functional_call(base, p, (x,))

            self._vmapped = vmap(one)

    def parameters(self) -> list[Tensor]:
        return [t for wb in self.layers for t in wb]

    def __call__(self, x: Tensor) -> Tensor:
        """(N, batch, in) -> (N, batch, out)."""
        if self.forward == "vmap":
            p = {}
            for i, (w, b) in zip(self._linear_keys, self.layers, strict=True):
                p[f"{i}.weight"] = w.transpose(1, 2)
                p[f"{i}.bias"] = b.squeeze(1)
            return self._vmapped(p, x)
        last = len(self.layers) - 1
        for j, (w, b) in enumerate(self.layers):
            x = torch.baddbmm(b, x, w)
            if j < last:
                x = torch.relu_(x) if self._relu else self._act(x)
        return x

    def seed_state(self, i: int) -> list[tuple[Tensor, Tensor]]:
        """Seed i's (weight (out, in), bias (out,)) per layer, as nn.Linear stores them (copies)."""
        return [(w[i].detach().t().clone(), b[i, 0].detach().clone()) for w, b in self.layers]

    def frozen(self) -> FrozenStack:
        return FrozenStack(tuple((w.detach().clone(), b.detach().clone()) for w, b in self.layers), self.activation)


def _copy_to(tensors: Sequence[Tensor], device: torch.device) -> list[Tensor]:
    """Copies on device. From a GPU to the CPU, every copy is queued non-blocking (into pinned memory) and
    the stream is synchronised once, instead of once per tensor."""
    if device.type == "cpu" and any(t.is_cuda for t in tensors):
        out = [t.to(device, non_blocking=True) for t in tensors]
        torch.cuda.current_stream().synchronize()
        return out
    return [t.to(device) for t in tensors]


class FrozenStack:
    """An immutable, picklable copy of a StackedMLP's weights with a pure forward (for snapshots)."""

    def __init__(self, layers: tuple[tuple[Tensor, Tensor], ...], activation: str) -> None:
        self.layers = layers
        self.activation = activation

    def to(self, device: torch.device | str) -> FrozenStack:
        flat = _copy_to([t for wb in self.layers for t in wb], torch.device(device))
        return FrozenStack(tuple(zip(flat[::2], flat[1::2], strict=True)), self.activation)

    @torch.no_grad()
    def __call__(self, x: Tensor) -> Tensor:
        act = _FUNCTIONAL[self.activation]
        last = len(self.layers) - 1
        for j, (w, b) in enumerate(self.layers):
            x = torch.baddbmm(b, x, w)
            if j < last:
                x = act(x)
        return x


def _make_optimizer(name: str, params: list[Tensor], lr: float, cfg: TrainConfig) -> torch.optim.Optimizer:
    """The single run's optimisers (trainer._make_optimizer) on stacked tensors, with the multi-tensor
    kernels: fused Adam / SGD and foreach RMSprop (same formulas; the loop-per-tensor default costs about
    10 small ops per tensor per step)."""
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(cfg.beta1, cfg.beta2), fused=True)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=cfg.momentum, fused=True)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, foreach=True)
    raise ValueError(f"unknown optimiser {name!r}")


# ----------------------------------------------------------------------------------------- metrics



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


# ----------------------------------------------------------------------------------------- snapshot

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


# ----------------------------------------------------------------------------------------- the engine

class EnsembleTrainer(CommandDrain, GanSteps):
    """N seeds of one config in lock-step as one batched model; the live-loop engine interface of
    ganviz.core.loop (apply_pending, run_manual, iteration, running, steps_per_sec_limit, step, has_news,
    has_unsent_rows, snapshot), so TrainingSession (thread backend) and `run_loop` drive it like a Trainer.

    Commands are the single run's: play/pause, speed, manual steps and resets apply to all seeds; settings
    (objective, learning rates, regularisers, data, ...) apply to all seeds at the next step boundary, and a
    setting the ensemble cannot batch is logged as an "error" event and ignored.
    """

    def __init__(self, config: TrainConfig | None = None, n_seeds: int = 16, rng: str = "per-seed",
                 forward: str = "bmm") -> None:
        config = config or TrainConfig()
        config.validate()
        check_ensemble_config(config, n_seeds)
        if rng not in RNG_MODES:
            raise ValueError(f"rng must be one of {', '.join(RNG_MODES)}, got {rng!r}")
        if forward not in FORWARDS:
            raise ValueError(f"forward must be one of {', '.join(FORWARDS)}, got {forward!r}")
        self.config = config
        self.n_seeds = n_seeds
        self.rng = rng
        self.forward = forward
        self.events: list[Event] = []
        self._new_events: list[Event] = []
        self._commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self.command_log: list[tuple[int, Command]] = []
        self._scheduled: list[tuple[int, int, Command]] = []
        self.running = True
        self.steps_per_sec_limit: float | None = None
        self.device, msg = resolve_device(config.device)
        self.step = 0
        if msg:
            self._log(EventKind.DEVICE, msg)
        self._build()

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(self.config.seed + i for i in range(self.n_seeds))

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        cfg, dev = self.config, self.device
        self.objective: Objective = get_objective(cfg.objective)
        self.data: Distribution = make_distribution(cfg.data, cfg.ring_radius, cfg.ring_std)
        self.dim = self.data.dim
        self.prior = NoisePrior(cfg.z_prior, cfg.z_dim)
        gs, ds = [], []
        for s in self.seeds:
            g, d = build_models(cfg.z_dim, self.dim, cfg.g_depth, cfg.g_width, cfg.d_depth, cfg.d_width,
                                cfg.activation, 1, s, dev)
            gs.append(g.net)
            ds.append(d.net)
        self.G = StackedMLP(gs, cfg.activation, self.forward)
        self.D = StackedMLP(ds, cfg.activation, self.forward)
        self.g_params = self.G.parameters()
        self.d_params = self.D.parameters()
        self.opt_g = _make_optimizer(cfg.g_optimizer, self.g_params, cfg.g_lr, cfg)
        self.opt_d = _make_optimizer(cfg.d_optimizer, self.d_params, cfg.d_lr, cfg)
        if self.rng == "per-seed":
            self.gens = [torch.Generator(device=dev).manual_seed(s) for s in self.seeds]
        else:
            self.gens = [torch.Generator(device=dev).manual_seed(cfg.seed * 1_000_003 + 7 * self.n_seeds + 1)]
        self._make_view_batches()
        self.step = 0
        self.d_updates = 0
        self.g_updates = 0
        self.noise_sigma = cfg.instance_noise
        self._rows: list[tuple[int, dict[str, Tensor]]] = []
        self._row: dict[str, Tensor] = {}
        self._last_metrics: dict[str, Any] = {}
        self._metrics_step = -1
        self.diverged = np.zeros(self.n_seeds, dtype=bool)
        self._held: list[tuple[Tensor, Tensor, Tensor]] = []  # (param, seed indices, values) of frozen seeds
        self._good: dict[tuple, Tensor] | None = None
        self._rate_t0 = time.perf_counter()
        self._rate_step0 = 0
        self._rate = 0.0
        self._save_good_state()

    def _make_view_batches(self) -> None:
        cfg = self.config
        view_gen = torch.Generator(device=self.device).manual_seed(cfg.seed + 7919)
        n = min(cfg.n_view, SMALL_MULTIPLE_SAMPLES)
        self.z_fixed = self.prior.sample(n, view_gen, self.device)  # one noise batch shared by every seed
        self.x_view = self.data.sample(n, view_gen, self.device)
        self._x_view_host = self.x_view.cpu().numpy()  # copied once, not per snapshot; shared, so read-only
        self._x_view_host.flags.writeable = False

    # ------------------------------------------------------------------ events and commands
    def reset(self, seed: int | None = None) -> None:
        """Re-initialise every seed (seeds seed..seed+N-1); the event log keeps a 'reset' entry."""
        if seed is not None:
            new = self.config.replace(seed=seed)
            check_ensemble_config(new, self.n_seeds)
            self.config = new
        old_step = self.step
        self._build()
        self._log(EventKind.RESET, f"reset at step {old_step} (seeds {self.seeds[0]}..{self.seeds[-1]})",
                  seed=self.config.seed, old_step=old_step)

    def set_config(self, **changes: Any) -> None:
        """Validate and apply config changes live (all seeds): core.live applies each field by its declared
        effect."""
        apply_changes(self, changes)

    # ------------------------------------------------------------------ live-change hooks (core.live.LiveTarget)
    def live_check(self, new: TrainConfig) -> None:
        check_ensemble_config(new, self.n_seeds)

    def live_swap_data(self, data: Distribution) -> None:
        self.data = data
        self._make_view_batches()

    def live_rebuild(self, device_changed: bool) -> str | None:
        if device_changed:
            self.device, msg = resolve_device(self.config.device)
            if msg:  # logged before the "reset" event (at the step it happened)
                self._log(EventKind.DEVICE, msg)
        self._build()
        return None

    def live_objective(self, objective: Objective) -> None:
        self.objective = objective

    def live_learning_rate(self, network: str, lr: float) -> None:
        for group in (self.opt_d if network == "d" else self.opt_g).param_groups:
            group["lr"] = lr

    def live_optimizer(self, network: str) -> None:
        cfg = self.config
        if network == "d":
            self.opt_d = _make_optimizer(cfg.d_optimizer, self.d_params, cfg.d_lr, cfg)
        else:
            self.opt_g = _make_optimizer(cfg.g_optimizer, self.g_params, cfg.g_lr, cfg)

    def live_view_batches(self) -> None:
        self._make_view_batches()

    def live_changed(self, keys: set[str]) -> None:
        """The ensemble caches nothing from the config (core.steps caches the vmapped losses per function)."""

    # ------------------------------------------------------------------ sampling (N, n, ...) batches
    def _stacked(self, draw: Callable[[torch.Generator, int], Tensor], n: int) -> Tensor:
        """Seed i's draw of n rows from its own generator (per-seed), or all seeds' rows in one draw."""
        if self.rng == "per-seed":
            return torch.stack([draw(g, n) for g in self.gens])
        out = draw(self.gens[0], self.n_seeds * n)
        return out.reshape(self.n_seeds, n, *out.shape[1:])

    def _real(self, n: int) -> Tensor:
        return self._stacked(lambda g, m: self.data.sample(m, g, self.device), n)

    def _z(self, n: int) -> Tensor:
        return self._stacked(lambda g, m: self.prior.sample(m, g, self.device), n)

    def _randn(self, n: int, cols: int) -> Tensor:
        return self._stacked(lambda g, m: torch.randn(m, cols, generator=g, device=self.device), n)

    def _rand(self, n: int, cols: int) -> Tensor:
        return self._stacked(lambda g, m: torch.rand(m, cols, generator=g, device=self.device), n)

    def _noisy(self, x: Tensor) -> Tensor:
        """Instance noise (regularizers.add_instance_noise per seed, from each seed's stream)."""
        if self.noise_sigma <= 0.0:
            return x
        return x + self.noise_sigma * self._randn(x.shape[1], x.shape[2])

    # ------------------------------------------------------------------ training steps
    def _d_update(self) -> None:
        cfg, obj = self.config, self.objective
        n = cfg.batch_size
        real = self._real(n)
        z = self._z(n)  # same draw order as Trainer._d_update: real, z, noise on real, noise on fake, eps
        with torch.no_grad():
            fake = self.G(z)
        real_in = self._noisy(real)
        fake_in = self._noisy(fake)
        raw = self.D(torch.cat([real_in, fake_in], dim=1)).squeeze(-1)  # one pass over (N, 2n)
        step = steps.d_step_loss(obj, cfg, self.D, real_in, fake_in, lambda: self._rand(n, 1), seeded=True,
                                 raw=(raw[:, :n], raw[:, n:]))
        gnorm = steps.optimizer_step(step.loss, self.opt_d, self.d_params, seeded=True)
        steps.after_d_step(obj, cfg, self.d_params)
        self._hold_frozen()
        self._row.update(steps.d_row(step, gnorm, obj, seeded=True))
        self.d_updates += 1

    def _g_update(self) -> None:
        obj = self.objective
        z = self._z(self.config.batch_size)
        raw = self.D(self._noisy(self.G(z))).squeeze(-1)
        loss = steps.g_loss(obj, raw, seeded=True)  # (N,) the objective's G loss per seed
        self._row["g_grad_norm"] = steps.optimizer_step(loss, self.opt_g, self.g_params, seeded=True,
                                                        only_params=True)
        self._hold_frozen()
        self.g_updates += 1
        self._row["g_loss"] = loss.detach()

    def run(self, **kwargs: Any) -> Iterator[EnsembleSnapshot | None]:
        """The live loop (ganviz.core.loop.run_loop). Metrics are deferred by default: they cost ~N times a
        single run's (N assignments for W1), so the consumer computes them when it materialises."""
        kwargs.setdefault("defer_metrics", True)
        return run_loop(self, **kwargs)

    # ------------------------------------------------------------------ per-seed divergence guard
    def _state_items(self) -> list[tuple[tuple, Tensor]]:
        """Every tensor with a seed axis, keyed by where it lives: the parameters, then the optimisers'
        per-parameter state (created at an optimiser's first step, fresh after an optimiser change)."""
        out: list[tuple[tuple, Tensor]] = [(("param", i), p) for i, p in enumerate(self.g_params + self.d_params)]
        for which, opt in (("g", self.opt_g), ("d", self.opt_d)):
            for i, p in enumerate(opt.param_groups[0]["params"]):
                for name, v in opt.state.get(p, {}).items():
                    if isinstance(v, Tensor) and v.dim() > 0 and v.shape[0] == self.n_seeds:
                        out.append(((which, type(opt).__name__, i, name), v))
        return out

    def _save_good_state(self) -> None:
        items = self._state_items()
        good = self._good
        if good is not None and [k for k, _ in items] == list(good) and \
                all(good[k].shape == t.shape for k, t in items):
            with torch.no_grad():
                torch._foreach_copy_(list(good.values()), [t.detach() for _, t in items])
        else:
            self._good = {k: t.detach().clone() for k, t in items}

    def _seeds_finite(self) -> np.ndarray:
        return steps.finite(self.g_params + self.d_params, seeded=True).cpu().numpy()

    def _rollback(self, bad: np.ndarray) -> None:
        """Restore the bad seeds' slices (weights and optimiser state) from the last good state and hold
        their weights there from now on."""
        idx = torch.as_tensor(np.flatnonzero(bad), device=self.device)
        good = self._good or {}
        with torch.no_grad():
            for key, t in self._state_items():
                saved = good.get(key)
                if saved is not None and saved.shape == t.shape:
                    t.index_copy_(0, idx, saved.index_select(0, idx))
                else:  # optimiser state that did not exist at the last good state: start it afresh
                    t.index_fill_(0, idx, 0.0)
        self.diverged |= bad
        held = torch.as_tensor(np.flatnonzero(self.diverged), device=self.device)
        self._held = [(p, held, p.detach().index_select(0, held).clone()) for p in self.g_params + self.d_params]
        which = [int(i) for i in np.flatnonzero(bad)]
        names = ", ".join(str(self.seeds[i]) for i in which)
        self._log(EventKind.DIVERGED, f"seed {names}: NaN/Inf, rolled back and frozen", seeds=which,
                  hint="lower the learning rates, or add a penalty (R1, gradient penalty)")

    @torch.no_grad()
    def _hold_frozen(self) -> None:
        for p, idx, vals in self._held:
            p.index_copy_(0, idx, vals)

    # ------------------------------------------------------------------ snapshots
    def _collect_history(self) -> tuple[History, np.ndarray]:
        """Per-step rows (rows, N) since the last snapshot, and which seeds' values are all finite."""
        rows, self._rows = self._rows, []
        n = len(rows)
        steps = np.fromiter((s for s, _ in rows), dtype=np.int64, count=n)
        table = np.full((n, len(HISTORY_KEYS), self.n_seeds), np.nan)
        finite = np.ones(self.n_seeds, dtype=bool)
        flat: list[Tensor] = []
        index: list[tuple[int, int]] = []
        for i, (_, row) in enumerate(rows):
            for key, t in row.items():
                index.append((i, HISTORY_KEYS.index(key)))
                flat.append(t.float())
        if flat:
            host = torch.stack(flat).cpu().numpy()  # one host copy per snapshot, (entries, N)
            finite = np.isfinite(host).all(0)
            ii = np.array(index)
            table[ii[:, 0], ii[:, 1]] = host
        return History(steps, {k: table[:, j] for j, k in enumerate(HISTORY_KEYS)}), finite

    def compute_metrics(self) -> dict[str, Any]:
        """Per-seed metrics on fresh samples seeded by (seed0, step): same step, same numbers."""
        return ensemble_metrics(self.config, self.G.frozen(), self.device, self.step)

    def metric_samples(self) -> tuple[np.ndarray, np.ndarray]:
        """The fakes (N, n, dim) and reals (n, dim) that compute_metrics() uses at the current step."""
        return metric_samples(self.config, self.G.frozen(), self.device, self.step)

    def snapshot(self, with_metrics: bool = True, with_fields: bool = True, lazy: bool = False,
                 defer_metrics: bool = False) -> EnsembleSnapshot:
        """Everything the ensemble view needs; checks every seed for divergence first.

        lazy=True leaves the fixed-noise samples (and, with defer_metrics, the metrics) to
        `EnsembleSnapshot.materialized()`, computed from frozen weight copies in the consumer's thread.
        """
        history, finite = self._collect_history()
        bad = ~(finite & self._seeds_finite()) & ~self.diverged
        if bad.any():
            self._rollback(bad)
        self._save_good_state()
        self._update_rate()
        deferred = with_metrics and defer_metrics and lazy
        if with_metrics and not deferred:
            self._last_metrics = self.compute_metrics()
            self._metrics_step = self.step
        frozen = self.G.frozen() if (with_fields or deferred) else None
        view = LazyFields(_EnsembleView(frozen, self.z_fixed)) if with_fields and frozen is not None else None
        job = MetricsJob(self.config, frozen, self.device, self.step) if deferred and frozen is not None else None
        events, self._new_events = tuple(self._new_events), []
        snap = EnsembleSnapshot(
            step=self.step, d_updates=self.d_updates, g_updates=self.g_updates, seeds=self.seeds,
            objective=self.objective.name, dim=self.dim, data=self.config.data, history=history,
            metrics=dict(self._last_metrics), metrics_step=self._metrics_step, events=events,
            diverged=self.diverged.copy(), real=self._x_view_host,
            bounds=tuple(float(b) for b in self.data.bounds), modes=self.data.modes, mode_std=self.data.mode_std,
            steps_per_sec=self._rate, device=str(self.device), running=self.running, wall_time=time.time(),
            config=self.config, lazy=view, pending_metrics=job,
        )
        return snap if lazy else snap.materialized()


# ----------------------------------------------------------------------------------------- benchmark

def _rate(fn: Callable[[int], None], seconds: float, chunk: int) -> float:
    """Steps per second of calling fn(chunk) repeatedly for about `seconds` (after one warm-up call)."""
    fn(chunk)
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn(chunk)
        n += chunk
    return n / (time.perf_counter() - t0)


def bench_ensemble(cfg: TrainConfig | None = None, n_seeds_list: Sequence[int] = (1, 4, 16), seconds: float = 3.0,
                   repeats: int = 3, separate: bool = True, rng_modes: Sequence[str] = ("per-seed",),
                   forwards: Sequence[str] = ("bmm",), target_n: int = 16, target_ratio: float = 0.5) -> dict:
    """Steps/s of the batched ensemble for each N against the single-run Trainer (same config, one torch
    thread), as ratios (steps of all N per second) / (single-run steps per second); also N separate
    Trainers stepped in a loop. Variants alternate within each of `repeats` rounds (background load hits
    them alike) and medians are reported; `load_before` / `load_after` are the 1-minute load averages.
    """
    cfg = cfg or TrainConfig(data="ring8", objective="ns", batch_size=256)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = Trainer(cfg)
        variants: dict[str, Callable[[int], None]] = {"single": single.train}
        for n in n_seeds_list:
            for fwd in forwards:
                for rng in rng_modes:
                    name = f"ensemble N={n}" + ("" if rng == "per-seed" else f" rng={rng}") + \
                           ("" if fwd == "bmm" else f" forward={fwd}")
                    variants[name] = EnsembleTrainer(cfg, n, rng=rng, forward=fwd).train
            if separate and n > 1:
                runs = [Trainer(cfg.replace(seed=cfg.seed + i)) for i in range(n)]

                def loop(steps: int, runs: list[Trainer] = runs) -> None:
                    for _ in range(steps):
                        for r in runs:
                            r.iteration()

                variants[f"separate N={n}"] = loop
        load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        results: dict[str, list[float]] = {k: [] for k in variants}
        for _ in range(repeats):
            for name, fn in variants.items():
                results[name].append(_rate(fn, seconds, chunk=5))
        load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    finally:
        torch.set_num_threads(threads)
    med = {k: statistics.median(v) for k, v in results.items()}
    base = med["single"]
    ratios = {k: v / base for k, v in med.items() if k != "single"}
    per_seed = {k: v * _n_of(k) / base for k, v in med.items() if k != "single"}
    key = f"ensemble N={target_n}"
    return {
        "config": {k: getattr(cfg, k) for k in ("data", "objective", "batch_size", "g_depth", "g_width", "d_depth",
                                                 "d_width", "d_optimizer", "g_optimizer", "d_steps")},
        "torch": torch.__version__, "torch_threads": 1, "cpu_count": os.cpu_count(),
        "repeats": repeats, "seconds_each": seconds, "load_before": load_before, "load_after": load_after,
        "steps_per_s_median": med, "steps_per_s_all": results,
        "ratio_vs_single": ratios,  # steps of all N per second / single-run steps per second
        "seed_steps_ratio_vs_single": per_seed,  # seed-steps per second / single-run steps per second
        "target": {"n_seeds": target_n, "ratio": target_ratio, "measured": ratios.get(key, float("nan")),
                   "met": bool(ratios.get(key, 0.0) >= target_ratio)},
    }


def _n_of(name: str) -> int:
    return int(name.split("N=")[1].split()[0])


def format_bench(r: dict) -> str:
    """A readable table of bench_ensemble's result."""
    lines = [f"ensemble bench  {r['config']}",
             f"  medians of {r['repeats']} alternating rounds of {r['seconds_each']:g} s; torch threads 1; "
             f"load average {r['load_before']:.1f} -> {r['load_after']:.1f} on {r['cpu_count']} CPUs",
             f"  {'variant':<34}{'steps/s':>10}{'vs single':>11}{'seed-steps':>12}"]
    med = r["steps_per_s_median"]
    for k, v in med.items():
        ratio = 1.0 if k == "single" else r["ratio_vs_single"][k]
        seed_ratio = 1.0 if k == "single" else r["seed_steps_ratio_vs_single"][k]
        lines.append(f"  {k:<34}{v:>10.1f}{ratio:>11.3f}{seed_ratio:>11.2f}x")
    t = r["target"]
    lines.append(f"  target: N={t['n_seeds']} at >= {t['ratio']}x single: measured {t['measured']:.3f} "
                 f"({'met' if t['met'] else 'not met'})")
    return "\n".join(lines)


_MATMULS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm")


def profile_iteration(cfg: TrainConfig | None = None, n_seeds: int = 16, iterations: int = 5) -> dict:
    """Where an iteration's time goes, single run vs the batched ensemble (torch.profiler, one thread): per
    iteration, the profiled CPU time, the part spent in matmul kernels (mm / addmm / bmm / baddbmm), their
    FLOPs and the FLOP rate inside them, and the top operators. Profiling inflates per-op overhead, so
    rates come from `bench_ensemble`; this answers what the time is spent on."""
    from torch.profiler import ProfilerActivity, profile

    cfg = cfg or TrainConfig(data="ring8", objective="ns", batch_size=256)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    out: dict = {}
    try:
        for name, engine, steps in (("single", Trainer(cfg), iterations * 4),
                                    (f"ensemble N={n_seeds}", EnsembleTrainer(cfg, n_seeds), iterations)):
            engine.train(2)
            with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
                engine.train(steps)
            ka = prof.key_averages()
            total = sum(e.self_cpu_time_total for e in ka)
            mm = sum(e.self_cpu_time_total for e in ka if e.key in _MATMULS)
            flops = sum(e.flops for e in ka if e.key in _MATMULS)
            top = sorted(ka, key=lambda e: -e.self_cpu_time_total)[:6]
            out[name] = {"cpu_ms": total / 1000 / steps, "matmul_ms": mm / 1000 / steps,
                         "matmul_share": mm / total, "matmul_mflop": flops / 1e6 / steps,
                         "gflops_in_matmul": flops / mm / 1e3 if mm else float("nan"),
                         "top": [(e.key, e.self_cpu_time_total / total) for e in top]}
    finally:
        torch.set_num_threads(threads)
    return out


def format_profile(p: dict) -> str:
    lines = []
    for name, r in p.items():
        lines.append(f"{name}: {r['cpu_ms']:.2f} ms CPU per iteration (profiled); matmul kernels {r['matmul_ms']:.2f} "
                     f"ms = {100 * r['matmul_share']:.0f}%, {r['matmul_mflop']:.0f} MFLOP at "
                     f"{r['gflops_in_matmul']:.1f} GFLOP/s")
        lines.append("    top: " + ", ".join(f"{k} {100 * v:.0f}%" for k, v in r["top"]))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """python -m ganviz.core.ensemble [--width W --depth D --batch B] [--seeds 1 4 16] [--rng ...] [--forward ...]"""
    import argparse
    import json

    ap = argparse.ArgumentParser(prog="python -m ganviz.core.ensemble", description=bench_ensemble.__doc__)
    ap.add_argument("--width", type=int, default=128, help="hidden units of G and D (default 128)")
    ap.add_argument("--depth", type=int, default=3, help="hidden layers of G and D (default 3)")
    ap.add_argument("--batch", type=int, default=256, help="batch size (default 256)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 4, 16], help="ensemble sizes N")
    ap.add_argument("--rng", nargs="+", default=["per-seed"], choices=RNG_MODES)
    ap.add_argument("--forward", nargs="+", default=["bmm"], choices=FORWARDS)
    ap.add_argument("--no-separate", action="store_true", help="skip N separate Trainers stepped in a loop")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", help="also write the result as JSON to this file")
    ap.add_argument("--profile", action="store_true", help="profile one iteration instead (single vs N = max seeds)")
    args = ap.parse_args(argv)
    cfg = TrainConfig(data="ring8", objective="ns", batch_size=args.batch, g_width=args.width, d_width=args.width,
                      g_depth=args.depth, d_depth=args.depth)
    if args.profile:
        print(format_profile(profile_iteration(cfg, max(args.seeds))))
        return 0
    r = bench_ensemble(cfg, args.seeds, args.seconds, args.repeats, separate=not args.no_separate,
                       rng_modes=args.rng, forwards=args.forward)
    print(format_bench(r))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(r, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
