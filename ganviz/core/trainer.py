"""The trainer: a plain object with step methods, typed commands applied between steps, and snapshots.

No Qt here. A GUI worker, the CLI and tests all drive the same object:

    t = Trainer(TrainConfig(data="ring8", objective="wgan-gp"))
    t.submit(SetObjective("ns"))
    for _ in range(1000):
        t.iteration()
    snap = t.snapshot(with_metrics=True)

Determinism: every random draw of training uses `self.gen` (seeded from the config seed); snapshots and
metrics draw from their own generators, so how often a client looks never changes the run.
Host syncs (.item(), .cpu()) happen only in snapshot(), never per step.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.func import functional_call

from . import steps
from .config import TrainConfig
from .devices import move_state
from .distributions import Distribution, NoisePrior, make_distribution
from .eager_optim import SGD, Adam, RMSprop
from .engine import HISTORY_KEYS, CommandDrain, GanSteps, unchanged_on_error  # noqa: F401  (HISTORY_KEYS: re-exported)
from .fields import ViewState, compute_metrics
from .generators import generator_kind
from .guard import CALM_EVENTS, SANE_PATIENCE, SANE_WINDOWS, peaks_in_range, window_peaks
from .live import apply_changes
from .loop import run_loop
from .models import FrozenMLP, build_models
from .objectives import Objective, get_objective
from .regularizers import add_instance_noise
from .snapshot import EventKind, LazyFields, Snapshot
from .state import GoodState, clone_tree, load_optimizer_state, state_items
from .unrolled import unrolled_optimizer_state, unrolled_optimizer_step

_EMPTY1 = np.zeros(0, dtype=np.float32)
_EMPTY2 = np.zeros((0, 1), dtype=np.float32)

# Image runs: a conv net costs ~1000x an MLP per sample, so views are computed on fewer samples and less often:
# real / fixed-noise images per snapshot (D histograms; the grid shows the first 64), and the shortest live
# snapshot / metrics intervals (a sample grid changes slowly; the loss history still has every step).
IMAGE_VIEW_SAMPLES = 64
IMAGE_SNAPSHOT_INTERVAL = 0.15
IMAGE_METRICS_INTERVAL = 2.0


class DivergenceError(RuntimeError):
    """A loss or weight became NaN/Inf; the trainer rolled back to the last good state."""


def resolve_device(name: str) -> tuple[torch.device, str | None]:
    """auto -> CUDA if available else CPU; an unavailable 'cuda' falls back to CPU with a message."""
    if name == "cpu":
        return torch.device("cpu"), None
    if torch.cuda.is_available():
        return torch.device("cuda"), None
    if name == "cuda":
        return torch.device("cpu"), "CUDA was requested but is not available; running on the CPU."
    return torch.device("cpu"), None


class LiveHooks:
    """The live-change hooks (core.live.LiveTarget) that the single and the batched engine share: both keep
    `config`, `objective`, `opt_d` / `opt_g` and move with `to`, and build optimisers with `make_optimizer`."""

    make_optimizer: Callable[..., torch.optim.Optimizer]  # (name, params, lr, config) -> the engine's optimiser

    def live_device(self) -> tuple[list[str], str | None]:
        device, msg = resolve_device(self.config.device)
        return self.to(device), msg

    def live_objective(self, objective: Objective) -> None:
        self.objective = objective

    def live_learning_rate(self, network: str, lr: float) -> None:
        for group in (self.opt_d if network == "d" else self.opt_g).param_groups:
            group["lr"] = lr

    def live_optimizer(self, network: str) -> None:
        cfg = self.config
        if network == "d":
            self.opt_d = self.make_optimizer(cfg.d_optimizer, self.d_params, cfg.d_lr, cfg)
        else:
            self.opt_g = self.make_optimizer(cfg.g_optimizer, self.g_params, cfg.g_lr, cfg)


def _make_optimizer(name: str, params: Any, lr: float, cfg: TrainConfig) -> torch.optim.Optimizer:
    if name == "adam":
        return Adam(params, lr=lr, betas=(cfg.beta1, cfg.beta2))  # torch.optim's, without importing torch._dynamo
    if name == "sgd":
        return SGD(params, lr=lr, momentum=cfg.momentum)
    if name == "rmsprop":
        return RMSprop(params, lr=lr)
    raise ValueError(f"unknown optimiser {name!r}")


class Trainer(CommandDrain, GanSteps, LiveHooks):
    """Owns data, networks, optimisers and the event log of one run."""

    make_optimizer = staticmethod(_make_optimizer)

    def __init__(self, config: TrainConfig | None = None) -> None:
        config = config or TrainConfig()
        config.validate()
        self.config = config
        self._init_commands()
        self.device, msg = resolve_device(config.device)
        self._build(reset_events=False)
        if msg:  # after _build: an event records the step it happened at
            self._log(EventKind.DEVICE, msg)

    # ------------------------------------------------------------------ building
    def _build(self, reset_events: bool = True) -> None:
        cfg = self.config
        self.objective: Objective = get_objective(cfg.objective)
        self.data: Distribution = make_distribution(cfg.data, cfg.ring_radius, cfg.ring_std, cfg.image_path,
                                                    cfg.image_range, cfg.data_points)
        self.dim = self.data.dim
        self.is_image = bool(getattr(self.data, "is_image", False))
        self.prior = NoisePrior(cfg.z_prior, cfg.z_dim)
        if self.is_image and cfg.arch != "mlp":
            from .images.dcgan import build_dcgan
            self.G, self.D = build_dcgan(cfg.z_dim, cfg.conv_channels, cfg.pack, cfg.seed, self.device, cfg.mbdisc,
                                         cfg.mbdisc_dim, cfg.mbstd)
        else:
            self.G, self.D = build_models(cfg.z_dim, self.dim, cfg.g_depth, cfg.g_width, cfg.d_depth,
                                          cfg.d_width, cfg.activation, cfg.pack, cfg.seed, self.device,
                                          cfg.mbdisc, cfg.mbdisc_dim, cfg.mbstd)
        self.g_params = list(self.G.parameters())
        self.d_params = list(self.D.parameters())
        self.opt_g = _make_optimizer(cfg.g_optimizer, self.g_params, cfg.g_lr, cfg)
        self.opt_d = _make_optimizer(cfg.d_optimizer, self.d_params, cfg.d_lr, cfg)
        self.gen = torch.Generator(device=self.device).manual_seed(cfg.seed)
        view_gen = torch.Generator(device=self.device).manual_seed(cfg.seed + 7919)
        self.z_fixed = self.prior.sample(cfg.n_view, view_gen, self.device)
        self.x_view = self.data.sample(cfg.n_view, view_gen, self.device)  # fixed real sample for views
        self.x_fixed_base = self.data.sample(cfg.n_view, view_gen, self.device)  # fixed-G "noise batch"
        self.z_kde = self.prior.sample(cfg.kde_samples, view_gen, self.device)  # fixed noise for the 1D KDE
        self.z_interp = None
        if self.is_image:  # drawn last, so the toy data's fixed batches are unchanged
            from .images.views import INTERP_ROWS
            self.z_interp = self.prior.sample(2 * INTERP_ROWS, view_gen, self.device)  # interpolation ends
        self._init_timeline()
        self.noise_sigma = cfg.instance_noise
        self._last_metrics: dict[str, float] = {}
        self._metrics_step = -1
        self._mode_counts: np.ndarray | None = None
        self._good_state = GoodState()  # what a rollback restores (core.state, shared with the ensemble)
        self._recent_peaks: deque[dict[str, float]] = deque(maxlen=SANE_WINDOWS)
        self._out_of_range = 0  # consecutive finite windows not kept as the good state
        self._save_good_state()

    @property
    def learned_generator(self) -> bool:
        return generator_kind(self.config.generator).learned

    # ------------------------------------------------------------------ events and commands
    def reset(self, seed: int | None = None) -> None:
        """Re-initialise from the seed; the event log keeps a 'reset' entry."""
        if seed is not None:
            self.config = self.config.replace(seed=seed)
        old_step = self.step
        self._build()
        self._log(EventKind.RESET, f"reset at step {old_step} (seed {self.config.seed})", seed=self.config.seed,
                  old_step=old_step)

    def set_config(self, **changes: Any) -> None:
        """Validate and apply config changes live: core.live applies each field by its declared effect."""
        apply_changes(self, changes)

    # ------------------------------------------------------------------ live-change hooks (core.live.LiveTarget)
    def live_check(self, new: TrainConfig) -> None:
        """A Trainer runs every valid config."""

    def live_swap_data(self, data: Distribution) -> None:
        self.data = data
        view_gen = torch.Generator(device=self.device).manual_seed(self.config.seed + 7919)
        self.x_view = self.data.sample(self.config.n_view, view_gen, self.device)
        self.x_fixed_base = self.data.sample(self.config.n_view, view_gen, self.device)

    def live_rebuild(self, device_changed: bool) -> str | None:
        msg = None
        if device_changed:  # rebuilt on the newly chosen device (it was resolved once, at start)
            self.device, msg = resolve_device(self.config.device)
        self._build()
        return msg

    def live_view_batches(self) -> None:
        cfg = self.config
        view_gen = torch.Generator(device=self.device).manual_seed(cfg.seed + 7919)
        self.z_fixed = self.prior.sample(cfg.n_view, view_gen, self.device)
        self.x_view = self.data.sample(cfg.n_view, view_gen, self.device)
        self.x_fixed_base = self.data.sample(cfg.n_view, view_gen, self.device)

    def live_changed(self, keys: set[str]) -> None:
        """A Trainer caches nothing from the config."""

    # ------------------------------------------------------------------ sampling
    def _sample_fake(self, n: int, gen: torch.Generator, grad: bool) -> Tensor:
        """n generated samples: G(z) for a learned generator, or the fixed generator's law (core.generators)."""
        if self.learned_generator:
            z = self.prior.sample(n, gen, self.device)
            if grad:
                return self.G(z)
            with torch.no_grad():
                return self.G(z)
        base = self.data.sample(n, gen, self.device)
        return self._fixed_transform(base, gen)

    def _fixed_transform(self, base: Tensor, gen: torch.Generator) -> Tensor:
        return generator_kind(self.config.generator).transform(base, self.config, gen)

    # ------------------------------------------------------------------ training steps
    def _d_update(self) -> None:
        cfg, obj = self.config, self.objective
        n = cfg.batch_size * cfg.pack
        real = self.data.sample(n, self.gen, self.device)
        fake = self._sample_fake(n, self.gen, grad=False)
        real_in = add_instance_noise(real, self.noise_sigma, self.gen)
        fake_in = add_instance_noise(fake, self.noise_sigma, self.gen)
        step = steps.d_step_loss(obj, cfg, self.D, real_in, fake_in, lambda: self._eps(n, self.gen))
        gnorm = steps.optimizer_step(step.loss, self.opt_d, self.d_params)
        steps.after_d_step(obj, cfg, self.d_params)
        self.d_updates += 1
        self.record(steps.d_row(step, gnorm, obj))

    def _eps(self, n: int, gen: torch.Generator) -> Tensor:
        """The WGAN-GP penalty's mixing weights for a batch of n, drawn after the batch and its noise."""
        return torch.rand(n, 1, generator=gen, device=self.device)

    def _g_update(self) -> None:
        """One G update: against the current D, or (config.unroll > 0) against D unrolled k steps ahead
        (Metz et al. 2017; the real D is not changed)."""
        if not self.learned_generator:
            return  # a fixed generator does not train
        loss = self.unrolled_g_loss(self.gen) if self.config.unroll > 0 else self._g_loss()
        norm = steps.optimizer_step(loss, self.opt_g, self.g_params, only_params=True)
        self.g_updates += 1
        self.record({"g_grad_norm": norm, "g_loss": loss.detach()})

    def _g_loss(self) -> Tensor:
        """G's loss on a fresh batch against the current D."""
        n = self.config.batch_size * self.config.pack
        fake = self._sample_fake(n, self.gen, grad=True)
        return steps.g_loss(self.objective, self.D(add_instance_noise(fake, self.noise_sigma, self.gen)))

    # ------------------------------------------------------------------ unrolled GAN (Metz et al. 2017)
    def unrolled_g_loss(self, gen: torch.Generator, k: int | None = None) -> Tensor:
        """G's loss against D unrolled k steps ahead (default config.unroll), differentiable w.r.t. G.

        Starting from D's current parameters and its optimiser's current state, k D updates are taken
        functionally (torch.func.functional_call), each on a fresh batch (real, G(z)) drawn with gen, using
        the full D loss of `_d_update` (objective, label smoothing, instance noise, gradient penalty, R1,
        weight clipping) and a differentiable copy of D's own optimiser step (`unrolled_optimizer_step`:
        Adam with its moment estimates and bias correction, SGD with momentum, or RMSProp). The D gradients
        are taken with create_graph=True, so G's loss on one more fresh batch, evaluated with the unrolled
        parameters theta_D^k(theta_G), carries gradients through every unrolled update back into G. Nothing
        is written back: the live D, its optimiser state and the step counters are untouched.
        """
        cfg, obj = self.config, self.objective
        k = cfg.unroll if k is None else k
        n = cfg.batch_size * cfg.pack
        with torch.enable_grad():  # the unrolled updates need graphs even when the caller has none
            params = dict(self.D.named_parameters())
            state = unrolled_optimizer_state(self.opt_d, params)
            for _ in range(k):
                loss_d = self._functional_d_loss(params, n, gen)
                grads = torch.autograd.grad(loss_d, list(params.values()), create_graph=True)
                params, state = unrolled_optimizer_step(self.opt_d, params, dict(zip(params, grads, strict=True)),
                                                        state)
                hook = obj.post_d_step  # steps.after_d_step, functionally
                if hook is not None:
                    c = getattr(cfg, hook.config_key)
                    params = {name: hook.functional(p, c) for name, p in params.items()}
            fake = self._sample_fake(n, gen, grad=True)
            raw = functional_call(self.D, params, (add_instance_noise(fake, self.noise_sigma, gen),))
            return steps.g_loss(obj, raw)

    def _functional_d_loss(self, params: dict[str, Tensor], n: int, gen: torch.Generator) -> Tensor:
        """`_d_update`'s loss (same draws in the same order) with D's parameters replaced by params and the
        fakes kept attached to G."""
        real = self.data.sample(n, gen, self.device)
        fake = self._sample_fake(n, gen, grad=True)
        real_in = add_instance_noise(real, self.noise_sigma, gen)
        fake_in = add_instance_noise(fake, self.noise_sigma, gen)

        def d(x: Tensor) -> Tensor:
            return functional_call(self.D, params, (x,))

        return steps.d_step_loss(self.objective, self.config, d, real_in, fake_in, lambda: self._eps(n, gen)).loss

    # ------------------------------------------------------------------ divergence guard
    def _state_items(self) -> list[tuple[tuple, Tensor]]:
        """What a rollback restores: G's and D's weights and buffers, then both optimisers' state."""
        params = [((net, name), t) for net, m in (("G", self.G), ("D", self.D))
                  for name, t in (*m.named_parameters(), *m.named_buffers())]
        return state_items(params, {"g": self.opt_g, "d": self.opt_d})

    def _save_good_state(self) -> None:
        self._good_state.save(self._state_items(), self.step)

    def _restore_good_state(self) -> None:
        self._good_state.restore(self._state_items())

    def _weights_finite(self) -> bool:
        return bool(steps.finite(self.g_params + self.d_params))

    # ------------------------------------------------------------------ the engine protocol: devices, rollback, state
    def to(self, device: str | torch.device, reseed: bool | None = None) -> list[str]:
        """Move the run in place (ganviz.core.engine.Engine.to; every tensor attribute, see core.devices)."""
        return move_state(self, device, reseed)

    def rebuild(self) -> None:
        """Networks, optimisers and streams afresh from the config (step 0; no event)."""
        self._build()

    def rollback(self) -> int:
        """Back to the last good state's weights and optimiser states (the step goes on); returns its step."""
        self._restore_good_state()
        self.discard_partial_step()
        return self._good_state.step

    def state_dict(self) -> dict[str, Any]:
        """The run's config, weights, optimiser states, counters and training RNG (CPU copies; the checkpoint
        format's entries)."""
        return clone_tree({
            "config": self.config.to_dict(), "step": int(self.step), "d_updates": int(self.d_updates),
            "g_updates": int(self.g_updates), "noise_sigma": float(self.noise_sigma),
            "G": self.G.state_dict(), "D": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "opt_g_kind": type(self.opt_g).__name__, "opt_d_kind": type(self.opt_d).__name__,
            "rng": self.gen.get_state(), "rng_device": self.gen.device.type,
        }, "cpu")

    def load_state_dict(self, state: dict[str, Any]) -> bool:
        """Continue from a state_dict (config: a TrainConfig or its dict) on this run's device; returns whether
        the training RNG was restored (not when it was saved on another device type). Raises ValueError (or
        RuntimeError from torch), with the run unchanged, when the state does not fit its config."""
        with unchanged_on_error(self):  # a state that does not fit leaves the run as it was
            config = state["config"]
            config = config if isinstance(config, TrainConfig) else TrainConfig(**config)
            self.config = config.replace(device=self.config.device)
            self._build()  # networks, optimisers of the config's kinds, generators, empty history
            self.G.load_state_dict(state["G"])
            self.D.load_state_dict(state["D"])
            load_optimizer_state(self.opt_g, state["opt_g"], state.get("opt_g_kind"), "G")
            load_optimizer_state(self.opt_d, state["opt_d"], state.get("opt_d_kind"), "D")
            rng_ok = state["rng_device"] == self.gen.device.type
            if rng_ok:
                self.gen.set_state(state["rng"])
            self.step = int(state["step"])
            self.d_updates, self.g_updates = int(state["d_updates"]), int(state["g_updates"])
            self.noise_sigma = float(state["noise_sigma"])
            self._save_good_state()
            return rng_ok

    # ------------------------------------------------------------------ snapshots
    def compute_metrics(self) -> dict[str, float]:
        """Metrics on fresh samples from a generator seeded by (seed, step): same step, same numbers."""
        view = self._frozen_view()
        if self.is_image:
            return view.metrics(self.step)
        return compute_metrics(view, self.step)

    def _frozen_view(self, metrics_step: int | None = None, with_views: bool = True) -> ViewState:
        """Frozen copies of the weights and fixed batches, from which any thread or process computes the
        snapshot's view arrays (and, with metrics_step, its metrics)."""
        cfg = self.config
        d_frozen = self.D.frozen()  # with minibatch features too (see FrozenMLP for their display semantics)
        if self.is_image:
            from .images.views import ImageViewState
            n = min(cfg.n_view, IMAGE_VIEW_SAMPLES)
            return ImageViewState(cfg, d_frozen, self._frozen_generator(), self.z_fixed[:n], self.z_interp,
                                  self.x_view[:n], self.device, metrics_step, with_views)
        g_frozen = FrozenMLP(self.G.net, cfg.activation) if self.learned_generator else None
        return ViewState(cfg, d_frozen, g_frozen, self.z_fixed, self.z_kde, self.x_view, self.x_fixed_base,
                         self.device, metrics_step, with_views)

    def _frozen_generator(self):
        """A frozen copy of G for views (FrozenMLP for the MLP, a deep copy in eval mode for DCGAN)."""
        from .images.dcgan import DCGANGenerator, FrozenNet
        if isinstance(self.G, DCGANGenerator):
            return FrozenNet(self.G)
        return FrozenMLP(self.G.net, self.config.activation)

    def snapshot(self, with_metrics: bool = True, with_fields: bool = True, lazy: bool = False,
                 defer_metrics: bool = False) -> Snapshot:
        """Everything the views need. Checks for divergence first.

        with_fields=False skips the view arrays (headless runs need only history and metrics). lazy=True
        leaves them to be computed by `Snapshot.materialized()` in the consumer's thread, from frozen weight
        copies, so the training thread pays only for the copies. defer_metrics=True (with lazy) moves the
        metrics there too; until materialised, such a snapshot carries the previous metrics.
        """
        history, finite = self._collect_history()
        if any(e.kind not in CALM_EVENTS for e in self.new_events()):  # a change may set a new scale
            self._recent_peaks.clear()
            self._out_of_range = 0
        diverged = not finite or not self._weights_finite()
        if diverged:
            skipped = self._out_of_range
            good_step = self.rollback()
            self.running = False
            self._out_of_range = 0
            back = max(0, self.step - good_step)
            why = (f" (the {skipped} snapshot(s) since had losses or gradient norms out of range)" if skipped
                   else "")
            self._log(EventKind.DIVERGED, f"NaN/Inf: rolled back {back} steps to the state of step {good_step}{why}, "
                      "paused", hint="lower the learning rates, or add a penalty (R1, gradient penalty)",
                      rolled_back_to=good_step, steps_back=back, skipped_windows=skipped)
        else:
            peaks = window_peaks(history)
            if peaks_in_range(peaks, self._recent_peaks) or self._out_of_range + 1 >= SANE_PATIENCE:
                self._save_good_state()
                if peaks:
                    self._recent_peaks.append(peaks)
                self._out_of_range = 0
            else:  # finite, but losses or gradients jumped: a blow-up may be under way; keep the older state
                self._out_of_range += 1
        self._update_rate()
        deferred = with_metrics and defer_metrics and lazy
        if with_metrics and not deferred:
            self._last_metrics = self.compute_metrics()
            self._metrics_step = self.step
        view = None
        if with_fields or deferred:
            view = LazyFields(self._frozen_view(self.step if deferred else None, with_views=with_fields))
        events = self.take_new_events()
        snap = Snapshot(
            step=self.step, d_updates=self.d_updates, g_updates=self.g_updates,
            objective=self.objective.name, dim=self.dim, data=self.config.data,
            real=_EMPTY2, fake=_EMPTY2, d_real=_EMPTY1, d_fake=_EMPTY1,
            history=history, metrics=dict(self._last_metrics), metrics_step=self._metrics_step,
            events=events, lazy=view,
            bounds=tuple(float(b) for b in self.data.bounds), modes=self.data.modes,
            steps_per_sec=self.steps_per_sec, device=str(self.device), running=self.running, wall_time=time.time(),
            config=self.config, speed_limit=float(self.steps_per_sec_limit or 0.0),
        )
        return snap if lazy else snap.materialized()

    # ------------------------------------------------------------------ live loop for GUI workers
    def run(self, snapshot_interval: float = 0.04, metrics_interval: float = 0.5,
            ready: Callable[[], bool] | None = None, max_steps: int | None = None,
            with_fields: bool = True, defer_metrics: bool = False) -> Iterator[Snapshot | None]:
        """Train forever (or max_steps), yielding a lazy Snapshot at most every snapshot_interval seconds
        when `ready()`; None heartbeats while idle. See ganviz.core.loop.run_loop."""
        if self.is_image:
            snapshot_interval = max(snapshot_interval, IMAGE_SNAPSHOT_INTERVAL)
            metrics_interval = max(metrics_interval, IMAGE_METRICS_INTERVAL)
        return run_loop(self, snapshot_interval=snapshot_interval, metrics_interval=metrics_interval, ready=ready,
                        max_steps=max_steps, with_fields=with_fields, defer_metrics=defer_metrics)
