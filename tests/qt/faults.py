"""Faults injected into a training child process (importable there: the child is spawned with this sys.path).

Each is a Command: pickled to the child and applied at its next step boundary, where `changes()` runs. The window
also calls `changes()` in its own process (to see what a command would change), so a fault patches the trainer only
in a process other than the one that made it: the test process's own Trainer (used by later thread-backend tests)
stays intact."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ganviz.core.commands import Command


def _failing_iteration(self: Any) -> None:
    raise ZeroDivisionError("injected fault in a training step")


def _in_maker(command: Any) -> bool:
    return os.getpid() == command.maker_pid


@dataclass(frozen=True)
class FailNextStep(Command):
    """Every later training step raises ZeroDivisionError inside the step (Trainer.iteration)."""

    replayable: ClassVar[bool] = False  # a test's fault, never a session's change
    maker_pid: int = field(default_factory=os.getpid)

    def changes(self) -> dict[str, Any]:
        if _in_maker(self):
            return {}
        from ganviz.core.trainer import Trainer

        Trainer.iteration = _failing_iteration
        return {}


@dataclass(frozen=True)
class SlowSteps(Command):
    """Every later training step first sleeps `seconds` (an artificially slow step, e.g. a big network). The
    command then reports itself refused (ValueError), so it stays out of the command log and sessions can be
    saved; the patch stays in force."""

    replayable: ClassVar[bool] = False  # a test's fault, never a session's change
    seconds: float = 1.0
    maker_pid: int = field(default_factory=os.getpid)

    def changes(self) -> dict[str, Any]:
        if _in_maker(self):
            raise ValueError("test hook: steps are slow from now on (in the training process)")
        from ganviz.core.trainer import Trainer

        original = Trainer.iteration
        seconds = self.seconds

        def slow(self: Any) -> Any:
            time.sleep(seconds)
            return original(self)

        Trainer.iteration = slow
        raise ValueError("test hook: steps are slow from now on")
