"""Typed commands sent to a running trainer; applied at the next step boundary.

Setting commands are "latest wins" per `key()`; manual steps (StepD/StepG/StepBoth) accumulate.

A command is data: its fields say which config fields it sets (`_sets` metadata), so `changes()`, the command
for a change of one field (`command_for_change`) and the session format (`to_dict`, `arg_types`) all come from
the dataclass fields, with no table repeating them.
"""

from __future__ import annotations

import math
import types
import typing
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar

COMMANDS: dict[str, type[Command]] = {}  # class name -> class, every command (filled as they are defined)


def _sets(key: str, *, extra: bool = False, default: Any = MISSING) -> Any:
    """A command field that sets config field `key`; extra: it rides along (not the command's own key)."""
    meta = {"sets": key, "extra": extra}
    return field(metadata=meta) if default is MISSING else field(default=default, metadata=meta)


@dataclass(frozen=True)
class Command:
    replayable: ClassVar[bool] = True  # saved in session files and replayed

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        COMMANDS[cls.__name__] = cls

    def key(self) -> str:
        """Commands with equal keys in one drain collapse to the latest."""
        return type(self).__name__

    def changes(self) -> dict[str, Any]:
        """Config fields this command sets: its `_sets` fields that are not None (empty for other commands)."""
        return {f.metadata["sets"]: getattr(self, f.name) for f in fields(self)
                if "sets" in f.metadata and getattr(self, f.name) is not None}

    @classmethod
    def setting_keys(cls) -> tuple[str, ...]:
        """The config fields a change of which is sent as this command (not the ones that ride along)."""
        return tuple(f.metadata["sets"] for f in fields(cls) if "sets" in f.metadata and not f.metadata["extra"])

    @classmethod
    def for_change(cls, key: str, value: Any) -> Command:
        """This command setting config field `key` (one of setting_keys()) to value."""
        name = next(f.name for f in fields(cls) if f.metadata.get("sets") == key)
        return cls(**{name: value})

    def check(self) -> None:
        """Raise ValueError (a ConfigError for a config field) if a field is out of range: every config field the
        command sets is checked against the schema."""
        from .config import check_value

        for key, value in self.changes().items():
            check_value(key, value)

    def to_dict(self) -> dict[str, Any]:
        """{"command": class name, "args": fields} (None fields left out: TOML has no null)."""
        args = {f.name: dict(v) if isinstance(v, dict) else v for f in fields(self)
                if (v := getattr(self, f.name)) is not None}
        return {"command": type(self).__name__, "args": args}


def arg_types(cls: type[Command]) -> dict[str, tuple[Any, ...]]:
    """Each field of a command class and the plain types a file may give for it, from its annotation: a float
    field takes an int too; None in the tuple: the field may be left out (it is then None)."""
    hints = typing.get_type_hints(cls)
    out: dict[str, tuple[Any, ...]] = {}
    for f in fields(cls):
        hint = hints[f.name]
        parts = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        allowed: list[Any] = []
        for part in parts:
            part = typing.get_origin(part) or part
            if part is type(None):
                part = None
            allowed.extend((int, float) if part is float else (part,))
        out[f.name] = tuple(dict.fromkeys(allowed))
    return out


@dataclass(frozen=True)
class SetObjective(Command):
    name: str = _sets("objective")


@dataclass(frozen=True)
class SetLearningRates(Command):
    d_lr: float | None = _sets("d_lr", default=None)
    g_lr: float | None = _sets("g_lr", default=None)

    def key(self) -> str:
        return f"SetLearningRates:{self.d_lr is not None}:{self.g_lr is not None}"


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

    @classmethod
    def setting_keys(cls) -> tuple[str, ...]:
        return ("d_optimizer", "g_optimizer")

    @classmethod
    def for_change(cls, key: str, value: Any) -> Command:
        return cls(key[0], value)


@dataclass(frozen=True)
class SetSteps(Command):
    d_steps: int | None = _sets("d_steps", default=None)
    g_steps: int | None = _sets("g_steps", default=None)

    def key(self) -> str:
        return f"SetSteps:{self.d_steps is not None}:{self.g_steps is not None}"


@dataclass(frozen=True)
class SetBatchSize(Command):
    batch_size: int = _sets("batch_size")


@dataclass(frozen=True)
class SetDataset(Command):
    """Hot-swap the data. Models are kept when the dimension is unchanged, else rebuilt."""

    name: str = _sets("data")
    ring_radius: float | None = _sets("ring_radius", extra=True, default=None)
    ring_std: float | None = _sets("ring_std", extra=True, default=None)


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

    def check(self) -> None:
        if self.seed is not None:
            from .config import check_value

            check_value("seed", self.seed)


@dataclass(frozen=True)
class SetRunning(Command):
    """Play (True) or pause (False)."""

    running: bool


@dataclass(frozen=True)
class SetSpeed(Command):
    """Limit training to steps_per_sec (None: full speed). Slow speeds make a snapshot every step."""

    steps_per_sec: float | None

    def check(self) -> None:
        s = self.steps_per_sec
        if s is not None and (isinstance(s, bool) or not isinstance(s, (int, float))
                              or not (math.isfinite(s) and s > 0)):
            raise ValueError(f"steps_per_sec must be a positive number (or left out for full speed), got {s!r}")


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
class PlayStages(Command):
    """Slow motion (issue 18.2): play the next step as its stages (core.stages.slow_step), each sent back to the
    window as a messages.StagePlayed. The training process (or the thread session) carries it out at its next
    step boundary; it never reaches an engine's inbox. Not replayed itself: the step is logged as a StepBoth."""

    replayable: ClassVar[bool] = False

    def key(self) -> str:
        return f"stages:{id(self)}"


@dataclass(frozen=True)
class ClearSchedule(Command):
    """Cancel the scheduled (scripted) commands not yet applied: a scene's script after the user changed the
    scene's data. Not a setting: it is neither logged nor replayed."""

    replayable: ClassVar[bool] = False


def command_for_change(key: str, value: Any) -> Command:
    """The typed command that sets one config field (what a control or a scripted action sends): the command
    whose fields declare that key (SetObjective for objective, SetSteps for d_steps, ...), else SetConfig."""
    cls = _FOR_KEY.get(key)
    return cls.for_change(key, value) if cls is not None else SetConfig({key: value})


_FOR_KEY: dict[str, type[Command]] = {k: cls for cls in COMMANDS.values() for k in cls.setting_keys()}
