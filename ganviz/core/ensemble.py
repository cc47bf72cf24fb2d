"""Ensemble of seeds: N runs of one configuration trained in lock-step as ONE batched model (issue 9).

    ens = EnsembleTrainer(TrainConfig(data="ring8"), n_seeds=16)
    ens.train(2000)
    snap = ens.snapshot()                      # EnsembleSnapshot: per-seed W1, modes, losses, samples
    print(snap.collapsed_share, snap.metrics["modes_covered"])

How the N runs become one model. Seed i is initialised exactly like `Trainer(config.replace(seed=seed0 + i))`
(`build_models` per seed), then the N generators' and the N discriminators' parameters are stacked into one
batched MLP each (ganviz.core.stacked.StackedMLP: a leading seed axis on every weight, grouped matmuls). The D
and G updates are the single run's own step functions (ganviz.core.steps) with a seed axis: the loss that is
back-propagated is the SUM of the N per-seed losses, so the gradient of every weight slice is exactly that
seed's own gradient; penalties that need input gradients (R1, WGAN-GP) take them by autograd on the stacked
inputs, which are per-sample and per-seed for the same reason.

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

Snapshots and metrics: ganviz.core.ensemble_snapshot (EnsembleSnapshot, per-seed metrics). Speed:
ganviz.core.ensemble_bench (`python -m ganviz.core.ensemble_bench`).

A seed that diverges (NaN/Inf) is rolled back to its last good state and frozen there (its weights are
held); the others go on. It is reported per seed (`EnsembleSnapshot.diverged`) and in the event log.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from . import steps
from .config import ConfigError, TrainConfig
from .devices import move_state
from .distributions import Distribution, NoisePrior, make_distribution
from .engine import CommandDrain, GanSteps, unchanged_on_error
from .ensemble_snapshot import (  # noqa: F401  (collapsed_flags, seed_metrics, metric_samples: re-exported)
    EnsembleSnapshot,
    MetricsJob,
    _EnsembleView,
    collapsed_flags,
    ensemble_metrics,
    metric_samples,
    seed_metrics,
)
from .live import apply_changes
from .loop import run_loop
from .models import build_models
from .objectives import Objective, get_objective
from .snapshot import EventKind, LazyFields
from .stacked import FORWARDS, FrozenStack, StackedMLP, _make_optimizer  # noqa: F401  (FrozenStack: re-exported)
from .state import GoodState, clone_tree, load_optimizer_state, state_items
from .trainer import LiveHooks, resolve_device

MAX_SEEDS = 64
RNG_MODES = ("per-seed", "batched")
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


# ----------------------------------------------------------------------------------------- the engine

class EnsembleTrainer(CommandDrain, GanSteps, LiveHooks):
    """N seeds of one config in lock-step as one batched model; an engine (ganviz.core.engine.Engine), so
    TrainingSession, `run_loop`, the device fallback and the contract tests drive it like a Trainer.

    Commands are the single run's: play/pause, speed, manual steps and resets apply to all seeds; settings
    (objective, learning rates, regularisers, data, ...) apply to all seeds at the next step boundary, and a
    setting the ensemble cannot batch is logged as an "error" event and ignored.
    """

    make_optimizer = staticmethod(_make_optimizer)

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
        self._init_commands()
        self._init_timeline()  # an event records the step it happened at
        self.device, msg = resolve_device(config.device)
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
        self.data: Distribution = make_distribution(cfg.data, cfg.ring_radius, cfg.ring_std,
                                                    data_points=cfg.data_points)
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
        self._init_timeline()
        self.noise_sigma = cfg.instance_noise
        self._last_metrics: dict[str, Any] = {}
        self._metrics_step = -1
        self.diverged = np.zeros(self.n_seeds, dtype=bool)
        self._held: list[tuple[Tensor, Tensor, Tensor]] = []  # (param, seed indices, values) of frozen seeds
        self._good = GoodState()  # what a rollback restores (core.state, shared with the single run)
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
        self.record(steps.d_row(step, gnorm, obj, seeded=True))
        self.d_updates += 1

    def _g_update(self) -> None:
        obj = self.objective
        z = self._z(self.config.batch_size)
        raw = self.D(self._noisy(self.G(z))).squeeze(-1)
        loss = steps.g_loss(obj, raw, seeded=True)  # (N,) the objective's G loss per seed
        norm = steps.optimizer_step(loss, self.opt_g, self.g_params, seeded=True, only_params=True)
        self._hold_frozen()
        self.g_updates += 1
        self.record({"g_grad_norm": norm, "g_loss": loss.detach()})

    def run(self, **kwargs: Any) -> Iterator[EnsembleSnapshot | None]:
        """The live loop (ganviz.core.loop.run_loop). Metrics are deferred by default: they cost ~N times a
        single run's (N assignments for W1), so the consumer computes them when it materialises."""
        kwargs.setdefault("defer_metrics", True)
        return run_loop(self, **kwargs)

    # ------------------------------------------------------------------ per-seed divergence guard
    def _state_items(self) -> list[tuple[tuple, Tensor]]:
        """Every tensor with a seed axis: the stacked weights, then the optimisers' per-parameter state."""
        return state_items(list(enumerate(self.g_params + self.d_params)), {"g": self.opt_g, "d": self.opt_d},
                           seeds=self.n_seeds)

    def _save_good_state(self) -> None:
        self._good.save(self._state_items(), self.step)

    def _seeds_finite(self) -> np.ndarray:
        return steps.finite(self.g_params + self.d_params, seeded=True).cpu().numpy()

    def _restore_seeds(self, seeds: np.ndarray) -> None:
        """Restore these seeds' slices (weights and optimiser state) from the last good state."""
        self._good.restore(self._state_items(), torch.as_tensor(np.flatnonzero(seeds), device=self.device))

    def _rollback(self, bad: np.ndarray) -> None:
        """Restore the bad seeds from the last good state and hold their weights there from now on."""
        self._restore_seeds(bad)
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

    # ------------------------------------------------------------------ the engine protocol: devices, rollback, state
    def to(self, device: str | torch.device, reseed: bool | None = None) -> list[str]:
        """Move every seed in place (ganviz.core.engine.Engine.to; see core.devices.move_state)."""
        return move_state(self, device, reseed)

    def rebuild(self) -> None:
        """Every seed's networks, optimisers and streams afresh from the config (step 0; no event)."""
        self._build()

    def rollback(self) -> int:
        """Every seed back to the last good state's weights and optimiser states (frozen seeds stay frozen;
        the step goes on); returns that state's step."""
        self._restore_seeds(np.ones(self.n_seeds, dtype=bool))
        self.discard_partial_step()
        return self._good.step

    def state_dict(self) -> dict[str, Any]:
        """Config, N, the stacked weights, optimiser states, counters, every seed's RNG and which seeds are frozen
        (CPU copies)."""
        return clone_tree({
            "config": self.config.to_dict(), "n_seeds": self.n_seeds, "rng_mode": self.rng, "step": int(self.step),
            "d_updates": int(self.d_updates), "g_updates": int(self.g_updates), "noise_sigma": float(self.noise_sigma),
            "G": list(self.g_params), "D": list(self.d_params),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "opt_g_kind": type(self.opt_g).__name__, "opt_d_kind": type(self.opt_d).__name__,
            "rng": [g.get_state() for g in self.gens], "rng_device": self.gens[0].device.type,
            "diverged": [bool(b) for b in self.diverged],
        }, "cpu")

    def load_state_dict(self, state: dict[str, Any]) -> bool:
        """Continue from a state_dict of an ensemble of the same N and rng mode, on this ensemble's device;
        returns whether the random streams were restored (not when saved on another device type)."""
        with unchanged_on_error(self):  # a state that does not fit leaves the run as it was
            if state["n_seeds"] != self.n_seeds or state["rng_mode"] != self.rng:
                raise ValueError(f"the state is of {state['n_seeds']} seeds (rng {state['rng_mode']}), this ensemble "
                                 f"has {self.n_seeds} (rng {self.rng})")
            config = state["config"]
            config = config if isinstance(config, TrainConfig) else TrainConfig(**config)
            check_ensemble_config(config, self.n_seeds)
            self.config = config.replace(device=self.config.device)
            self._build()
            with torch.no_grad():
                for p, v in zip(self.g_params + self.d_params, state["G"] + state["D"], strict=True):
                    if p.shape != v.shape:
                        raise ValueError(f"a stacked weight has shape {tuple(v.shape)}, the network {tuple(p.shape)}")
                    p.copy_(v)
            load_optimizer_state(self.opt_g, state["opt_g"], state.get("opt_g_kind"), "G")
            load_optimizer_state(self.opt_d, state["opt_d"], state.get("opt_d_kind"), "D")
            rng_ok = state["rng_device"] == self.gens[0].device.type and len(state["rng"]) == len(self.gens)
            if rng_ok:
                for g, st in zip(self.gens, state["rng"], strict=True):
                    g.set_state(st)
            self.step = int(state["step"])
            self.d_updates, self.g_updates = int(state["d_updates"]), int(state["g_updates"])
            self.noise_sigma = float(state["noise_sigma"])
            self.diverged = np.array(state["diverged"], dtype=bool)
            held = torch.as_tensor(np.flatnonzero(self.diverged), device=self.device)
            self._held = [(p, held, p.detach().index_select(0, held).clone()) for p in self.g_params + self.d_params
                          ] if self.diverged.any() else []
            self._save_good_state()
            return rng_ok

    # ------------------------------------------------------------------ snapshots
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
        history, finite = self._collect_history(self.n_seeds)
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
        events = self.take_new_events()
        snap = EnsembleSnapshot(
            step=self.step, d_updates=self.d_updates, g_updates=self.g_updates, seeds=self.seeds,
            objective=self.objective.name, dim=self.dim, data=self.config.data, history=history,
            metrics=dict(self._last_metrics), metrics_step=self._metrics_step, events=events,
            diverged=self.diverged.copy(), real=self._x_view_host,
            bounds=tuple(float(b) for b in self.data.bounds), modes=self.data.modes, mode_std=self.data.mode_std,
            steps_per_sec=self.steps_per_sec, device=str(self.device), running=self.running, wall_time=time.time(),
            config=self.config, lazy=view, pending_metrics=job,
        )
        return snap if lazy else snap.materialized()
