"""One dispatcher for live config changes: each field's `Effect` (config metadata) says what applying it does.

An engine (Trainer, EnsembleTrainer) implements the small `LiveTarget` hooks; `apply_changes` validates the
changes, decides by effect, calls the hooks and logs the events. So the rule "which change rebuilds what" is
written once, here, for every engine.

The path of a change: the engine's `set_config(**changes)` -> `apply_changes(engine, changes)`:
  - nothing changed: nothing happens;
  - only DATA fields changed and the new data has the run's dimension: `live_swap_data` (same networks), a
    "dataset" event;
  - any REBUILD or DATA field: `live_rebuild` (new networks; the device is resolved again when it changed too), a
    "reset" event;
  - otherwise each field by its effect: DEVICE, OBJECTIVE, LEARNING_RATE, OPTIMIZER, INSTANCE_NOISE, VIEW_SAMPLING
    or NONE (read at every step), each with its event (VIEW_SAMPLING has none: it changes no training).

A device change alone moves the run (`live_device`, which resolves the setting and calls Engine.to): weights,
optimiser states, counters and random streams go with it, so cpu -> cpu continues bit for bit; a random stream
that cannot change device type restarts from (seed, step) and the "device" event says so. Out of memory while
moving: the run goes back where it was, the setting too, and an "error" event says so.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from .config import DATA_KEYS, REINIT_KEYS, Effect, TrainConfig, effect_of
from .devices import OOM_ERRORS
from .snapshot import EventKind


@runtime_checkable
class LiveTarget(Protocol):
    """What `apply_changes` needs from an engine: a few Engine members and the live_* hooks. Trainer and
    EnsembleTrainer implement it; a comparison sends each setting to its runs instead (core.compare)."""

    config: TrainConfig
    step: int
    dim: int
    noise_sigma: float
    device: Any  # torch.device (Engine.device)

    def log(self, kind: str, label: str, **detail: Any) -> Any:
        """Add an event to the run's log (core.engine.Engine.log)."""

    def to(self, device: Any, reseed: bool | None = None) -> list[str]:
        """Move the run (core.engine.Engine.to)."""

    def live_check(self, new: TrainConfig) -> None:
        """Raise ConfigError if this engine cannot run `new` (before anything changes)."""

    def live_swap_data(self, data: Any) -> None:
        """Train on new data of the same dimension with the same networks (new view batches)."""

    def live_rebuild(self, device_changed: bool) -> str | None:
        """New networks, optimisers and streams from self.config. When the device was resolved again
        (device_changed): a message about it to log after the "reset" event, or None (none, or logged already)."""

    def live_device(self) -> tuple[list[str], str | None]:
        """Move the run to the device self.config.device resolves to (Engine.to); the random generators that had
        to be replaced, and the resolution's message (CUDA asked for but missing, say) or None."""

    def live_objective(self, objective: Any) -> None:
        """Train with this objective row from the next step."""

    def live_learning_rate(self, network: str, lr: float) -> None:
        """Set network's ("d" / "g") learning rate in place, keeping the optimiser's state."""

    def live_optimizer(self, network: str) -> None:
        """Build network's optimiser afresh from self.config."""

    def live_view_batches(self) -> None:
        """Draw the fixed view batches again (n_view changed)."""

    def live_changed(self, keys: set[str]) -> None:
        """After the per-field effects: drop whatever the engine cached from the old config."""


def _network(key: str) -> tuple[str, ...]:
    """The networks a d_ / g_ field belongs to; both for shared hyperparameters (beta1, momentum, ...)."""
    return (key[0],) if key[:2] in ("d_", "g_") else ("d", "g")


def apply_changes(engine: LiveTarget, changes: dict[str, Any]) -> set[str]:
    """Validate `changes` against the engine's config and apply them by effect; the keys that changed."""
    old = engine.config
    new = old.replace(**changes)
    changed = {k: v for k, v in changes.items() if getattr(old, k) != v}
    if not changed:
        return set()
    engine.live_check(new)
    keys = set(changed)
    new_data = None
    if DATA_KEYS & keys:
        from .distributions import make_distribution

        # built before anything changes: a bad image file raises here and leaves the run as it was
        new_data = make_distribution(new.data, new.ring_radius, new.ring_std, new.image_path, new.image_range,
                                     new.data_points)
    engine.config = new
    if keys <= DATA_KEYS and new_data is not None and new_data.dim == engine.dim:
        engine.live_swap_data(new_data)  # hot swap: same networks, new data
        engine.log(EventKind.DATASET, f"data: {old.data} -> {new.data}", old=old.data, new=new.data)
        return keys
    if REINIT_KEYS & keys:
        desc = ", ".join(f"{k}={v}" for k, v in changed.items())
        old_step = engine.step
        msg = engine.live_rebuild("device" in keys)
        engine.log(EventKind.RESET, f"{desc}: re-initialised at step {old_step}", old_step=old_step, **changed)
        if msg:
            engine.log(EventKind.DEVICE, msg)
        return keys
    for k, v in changed.items():
        _apply_one(engine, old, k, v)
    engine.live_changed(keys)
    return keys


def _apply_one(engine: LiveTarget, old: TrainConfig, k: str, v: Any) -> None:
    before = getattr(old, k)
    effect = effect_of(k)
    if effect is Effect.DEVICE:
        _move(engine, before, v)
    elif effect is Effect.OBJECTIVE:
        from .objectives import get_objective

        engine.live_objective(get_objective(v))
        engine.log(EventKind.OBJECTIVE, f"objective: {before} -> {v}", old=before, new=v)
    elif effect is Effect.LEARNING_RATE:
        engine.live_learning_rate(k[0], v)
        engine.log(EventKind.LR, f"{k}: {before:g} -> {v:g}", old=before, new=v)
    elif effect is Effect.OPTIMIZER:
        for network in _network(k):
            engine.live_optimizer(network)
        engine.log(EventKind.OPTIMIZER, f"{k}: {before} -> {v}", old=before, new=v)
    elif effect is Effect.INSTANCE_NOISE:
        engine.noise_sigma = v
        engine.log(EventKind.REGULARIZER, f"{k}: {before:g} -> {v:g}", key=k, old=before, new=v)
    elif effect is Effect.VIEW_SAMPLING:
        engine.live_view_batches()
    else:
        engine.log(EventKind.CONFIG, f"{k}: {before} -> {v}", key=k, old=before, new=v)


def _move(engine: LiveTarget, before: str, new: str) -> None:
    """Effect.DEVICE: move the run (weights, optimiser states, counters, random streams) and log a "device" event."""
    old_device = engine.device
    try:
        reseeded, note = engine.live_device()
    except OOM_ERRORS:
        engine.config = engine.config.replace(device=before)  # the setting goes back, and so does the run (moved
        engine.to(old_device)  # in place: nothing was lost)
        engine.log(EventKind.ERROR, f"device: {before} -> {new}: out of memory while moving the run at step "
                   f"{engine.step}; it stays on {old_device.type}", old=before, new=new, device=old_device.type)
        return
    where = engine.device.type
    label = f"device: {before} -> {new}: " + (note or f"the run continues on {where} from step {engine.step}")
    if reseeded:
        label += (f"; its random streams restart from (seed, step), so it is no longer bit-identical to the run "
                  f"on {old_device.type}")
    engine.log(EventKind.DEVICE, label, old=before, new=new, device=where, reseeded=list(reseeded))
