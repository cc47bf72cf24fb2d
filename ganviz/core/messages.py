"""The messages on ganviz's two pipes, as frozen dataclasses instead of string opcodes. No Qt, no torch.

The training child's pipes (core.process): the parent sends `Submit`, `Schedule`, `FrameDone`, `Go`, `Stop` and
`Request` on the command pipe; the child answers on the snapshot pipe with `Beat`, `SnapshotReady`, `Reply`,
`StagePlayed` (slow motion) and `Failed`.

A comparison's shard pipe (core.compare): the coordinator sends `Iterate`, `Manual`, `Apply`, `Snap`,
`SetShardRunning` and `Stop`; the shard answers `Ready`, `Snaps` and `Failed`. The engine protocol's calls on
the shard's runs: `MoveRuns`, `RollBack`, `Rebuild`, `GetStates`, `LoadStates` and `RevertStates` are answered
with `Done` (the result per run) or `Refused` (the error; the shard's runs are as they were and it goes on);
`LogEvent` has no answer.

Both ends match on the class (`match msg: case Submit(command=c): ...`), so a misspelt opcode is a NameError at
import, not a message silently ignored at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .commands import Command

# ---------------------------------------------------------------------------- parent -> training child


@dataclass(frozen=True)
class Submit:
    """Queue a command for the trainer's next step boundary."""

    command: Command


@dataclass(frozen=True)
class Schedule:
    """Apply a command when the trainer reaches `step`."""

    step: int
    command: Command


@dataclass(frozen=True)
class FrameDone:
    """The parent has drawn a snapshot: the child may send one more (a credit)."""


@dataclass(frozen=True)
class Go:
    """A child started with hold=True may train now."""


@dataclass(frozen=True)
class Stop:
    """End: the training child (or a shard) stops at its next step boundary."""


REQUESTS = ("command_log", "save_checkpoint", "load_checkpoint",  # what a Request may ask (core.process)
            "timeline", "past", "branch", "pin")  # issue 18.5: core.branches.LiveTimeline


@dataclass(frozen=True)
class Request:
    """Ask the child something, answered at a step boundary with a Reply carrying the same req_id."""

    kind: str  # one of REQUESTS
    req_id: int
    arg: Any = None

    def __post_init__(self) -> None:
        if self.kind not in REQUESTS:
            raise ValueError(f"unknown request {self.kind!r}; known: {', '.join(REQUESTS)}")


# ---------------------------------------------------------------------------- training child -> parent


@dataclass(frozen=True)
class Beat:
    """The child is alive (sent by a thread every HEARTBEAT seconds, also during a slow step)."""


@dataclass(frozen=True)
class SnapshotReady:
    """A snapshot (its lazy fields ready to cross the process boundary)."""

    snapshot: Any


@dataclass(frozen=True)
class Reply:
    """The answer to Request req_id: ok and its result, or not ok and the error message."""

    req_id: int
    ok: bool
    result: Any = None


@dataclass(frozen=True)
class Failed:
    """The child (or a shard) stopped with an error: a one-line summary and the traceback."""

    summary: str
    details: str = ""


@dataclass(frozen=True)
class StagePlayed:
    """One stage of a slow-motion step (a core.stages.Stage, its D copy left out) and the data view's D field
    for it (Field2D / Field1D; None where the stage has none). `refused`: the engine cannot play stages (why)."""

    stage: Any
    field: Any = None
    refused: str = ""


# ---------------------------------------------------------------------------- coordinator <-> shard


@dataclass(frozen=True)
class Iterate:
    """One training iteration of every run in the shard."""


@dataclass(frozen=True)
class Manual:
    """One manual step (StepD / StepG / StepBoth) of every run in the shard."""

    command: Command


@dataclass(frozen=True)
class Apply:
    """Settings for the shard's runs, (run index in the shard, command) each, applied now."""

    commands: tuple[tuple[int, Command], ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Snap:
    """Take snapshots (Trainer.snapshot keyword arguments) and send them back as Snaps."""

    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SetShardRunning:
    """Play or pause the shard's runs."""

    running: bool


@dataclass(frozen=True)
class Ready:
    """The shard has built its runs."""


@dataclass(frozen=True)
class Snaps:
    """The shard's snapshots: (running, pickled Snapshot bytes) per run, forwarded undecoded."""

    blobs: tuple[tuple[bool, bytes], ...]


# ---------------------------------------------------------------------------- the engine protocol on a shard


@dataclass(frozen=True)
class MoveRuns:
    """Move the shard's runs to `device` (Engine.to); answered with Done(the replaced generators per run)."""

    device: str
    reseed: bool | None = None


@dataclass(frozen=True)
class RollBack:
    """Every run back to its last good state (Engine.rollback); answered with Done(the good steps per run)."""


@dataclass(frozen=True)
class Rebuild:
    """Every run's networks, optimisers and streams afresh from its config (Engine.rebuild); Done(None)."""


@dataclass(frozen=True)
class LogEvent:
    """Add an event to every run's log (Engine.log); no answer."""

    kind: str
    label: str
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class GetStates:
    """Every run's state_dict; answered with Done(the state dicts, in the shard's run order)."""


@dataclass(frozen=True)
class LoadStates:
    """Load one state_dict per run (the shard's run order), all or none; answered with Done(whether each run's
    random stream was restored) or Refused. The shard keeps its runs' previous state until its next message, so
    a RevertStates right after undoes the load (another shard, or the coordinator, refused its part)."""

    states: tuple[dict, ...]


@dataclass(frozen=True)
class RevertStates:
    """Undo the LoadStates just answered with Done; answered with Done(None)."""


@dataclass(frozen=True)
class Done:
    """A protocol call succeeded: its result."""

    result: Any = None


@dataclass(frozen=True)
class Refused:
    """A protocol call failed and changed nothing: the error's class name and message (the coordinator raises
    it again, as that class where it knows it)."""

    error: str
    message: str
