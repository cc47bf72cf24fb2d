"""Typed commands sent to a running trainer; applied at the next step boundary.

Setting commands are "latest wins" per `key()`; manual steps (StepD/StepG/StepBoth) accumulate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Command:
    def key(self) -> str:
        """Commands with equal keys in one drain collapse to the latest."""
        return type(self).__name__

    def changes(self) -> dict[str, Any]:
        """Config fields this command sets (empty for non-config commands)."""
        return {}


@dataclass(frozen=True)
class SetObjective(Command):
    name: str

    def changes(self) -> dict[str, Any]:
        return {"objective": self.name}


@dataclass(frozen=True)
class SetLearningRates(Command):
    d_lr: float | None = None
    g_lr: float | None = None

    def key(self) -> str:
        return f"SetLearningRates:{self.d_lr is not None}:{self.g_lr is not None}"

    def changes(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.d_lr is not None:
            out["d_lr"] = self.d_lr
        if self.g_lr is not None:
            out["g_lr"] = self.g_lr
        return out


@dataclass(frozen=True)
class SetOptimizer(Command):
    """Replace one network's optimiser (its state starts fresh)."""

    network: str  # "d" or "g"
    name: str  # adam | sgd | rmsprop

    def key(self) -> str:
        return f"SetOptimizer:{self.network}"

    def changes(self) -> dict[str, Any]:
        if self.network not in ("d", "g"):
            raise ValueError(f"network must be 'd' or 'g', got {self.network!r}")
        return {f"{self.network}_optimizer": self.name}


@dataclass(frozen=True)
class SetSteps(Command):
    d_steps: int | None = None
    g_steps: int | None = None

    def key(self) -> str:
        return f"SetSteps:{self.d_steps is not None}:{self.g_steps is not None}"

    def changes(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.d_steps is not None:
            out["d_steps"] = self.d_steps
        if self.g_steps is not None:
            out["g_steps"] = self.g_steps
        return out


@dataclass(frozen=True)
class SetBatchSize(Command):
    batch_size: int

    def changes(self) -> dict[str, Any]:
        return {"batch_size": self.batch_size}


@dataclass(frozen=True)
class SetDataset(Command):
    """Hot-swap the data. Models are kept when the dimension is unchanged, else rebuilt."""

    name: str
    ring_radius: float | None = None
    ring_std: float | None = None

    def changes(self) -> dict[str, Any]:
        out: dict[str, Any] = {"data": self.name}
        if self.ring_radius is not None:
            out["ring_radius"] = self.ring_radius
        if self.ring_std is not None:
            out["ring_std"] = self.ring_std
        return out


@dataclass(frozen=True)
class SetConfig(Command):
    """Any other config fields (regularisers, architecture, fixed-generator parameters, ...).

    Fields that need new networks (architecture, seed, z_dim, ...) reset the run and say so in the log.
    """

    values: dict[str, Any] = field(default_factory=dict)

    def key(self) -> str:
        return "SetConfig:" + ",".join(sorted(self.values))

    def changes(self) -> dict[str, Any]:
        return dict(self.values)


@dataclass(frozen=True)
class Reset(Command):
    """Re-initialise networks, optimisers and data streams from the seed (optionally a new seed)."""

    seed: int | None = None


@dataclass(frozen=True)
class SetRunning(Command):
    """Play (True) or pause (False)."""

    running: bool


@dataclass(frozen=True)
class SetSpeed(Command):
    """Limit training to steps_per_sec (None: full speed). Slow speeds make a snapshot every step."""

    steps_per_sec: float | None


@dataclass(frozen=True)
class StepD(Command):
    """One manual D update (works while paused)."""

    def key(self) -> str:
        return f"manual:{id(self)}"


@dataclass(frozen=True)
class StepG(Command):
    """One manual G update (works while paused)."""

    def key(self) -> str:
        return f"manual:{id(self)}"


@dataclass(frozen=True)
class StepBoth(Command):
    """One full iteration (k D updates, then G updates), works while paused."""

    def key(self) -> str:
        return f"manual:{id(self)}"


MANUAL = (StepD, StepG, StepBoth)


@dataclass(frozen=True)
class ClearSchedule(Command):
    """Cancel the scheduled (scripted) commands not yet applied: a scene's script after the user changed the
    scene's data. Not a setting: it is neither logged nor replayed."""


def command_for_change(key: str, value: Any) -> Command:
    """The typed command that sets one config field (what a control or a scripted action sends)."""
    if key == "objective":
        return SetObjective(value)
    if key == "data":
        return SetDataset(value)
    if key in ("d_lr", "g_lr"):
        return SetLearningRates(**{key: value})
    if key in ("d_optimizer", "g_optimizer"):
        return SetOptimizer(key[0], value)
    if key in ("d_steps", "g_steps"):
        return SetSteps(**{key: value})
    if key == "batch_size":
        return SetBatchSize(value)
    return SetConfig({key: value})
