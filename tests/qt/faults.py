"""Faults injected into a training child process (importable there: the child is spawned with this sys.path).

Each is a Command: pickled to the child and applied at its next step boundary, where `changes()` runs."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ganviz.core.commands import Command


def _failing_iteration(self: Any) -> None:
    raise ZeroDivisionError("injected fault in a training step")


@dataclass(frozen=True)
class FailNextStep(Command):
    """Every later training step raises ZeroDivisionError inside the step (Trainer.iteration)."""

    def changes(self) -> dict[str, Any]:
        from ganviz.core.trainer import Trainer

        Trainer.iteration = _failing_iteration
        return {}


@dataclass(frozen=True)
class SlowSteps(Command):
    """Every later training step first sleeps `seconds` (an artificially slow step, e.g. a big network). The
    command then reports itself refused (ValueError), so it stays out of the command log and sessions can be
    saved; the patch stays in force."""

    seconds: float = 1.0

    def changes(self) -> dict[str, Any]:
        from ganviz.core.trainer import Trainer

        original = Trainer.iteration
        seconds = self.seconds

        def slow(self: Any) -> Any:
            time.sleep(seconds)
            return original(self)

        Trainer.iteration = slow
        raise ValueError("test hook: steps are slow from now on")
