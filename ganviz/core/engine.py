"""What every engine shares (Trainer, EnsembleTrainer): the event log and the command queue, drained at
step boundaries. The engine provides `step`, `running`, `steps_per_sec_limit`, `events`, `_new_events`,
`_commands` (a SimpleQueue), `_scheduled` (a heap), `command_log`, `reset(seed)` and `set_config(**changes)`.
"""

from __future__ import annotations

import heapq
import queue
from typing import Any

from .commands import MANUAL, Command, Reset, SetRunning, SetSpeed
from .config import ConfigError
from .snapshot import Event


class CommandDrain:
    """Mixin: typed commands applied at the next step boundary, latest wins per kind, every change logged."""

    def _log(self, kind: str, label: str, **detail: Any) -> None:
        ev = Event(self.step, kind, label, detail)
        self.events.append(ev)
        self._new_events.append(ev)

    def submit(self, command: Command) -> None:
        """Thread-safe: queue a command for the next step boundary."""
        self._commands.put(command)

    def schedule(self, step: int, command: Command) -> None:
        """Apply command at the first step boundary where self.step >= step (scripted scene actions)."""
        heapq.heappush(self._scheduled, (step, len(self.command_log) + len(self._scheduled), command))

    def apply_pending(self) -> list[Command]:
        """Drain the queue: settings collapse to the latest per kind; manual steps are returned in order.

        Every applied command is appended to `command_log` with the step it was applied at; a command that
        fails validation is skipped and logged as an "error" event, and the run goes on.
        """
        drained: list[Command] = []
        while self._scheduled and self._scheduled[0][0] <= self.step:
            drained.append(heapq.heappop(self._scheduled)[2])
        while True:
            try:
                drained.append(self._commands.get_nowait())
            except queue.Empty:
                break
        latest: dict[str, Command] = {}
        for cmd in drained:
            latest.pop(cmd.key(), None)
            latest[cmd.key()] = cmd
        manual: list[Command] = []
        for cmd in latest.values():
            if isinstance(cmd, MANUAL):
                manual.append(cmd)
                self.command_log.append((self.step, cmd))
                continue
            try:
                self.apply(cmd)
            except (ConfigError, ValueError, KeyError) as exc:
                self._log("error", f"ignored {type(cmd).__name__}: {exc}")
                continue
            self.command_log.append((self.step, cmd))
        return manual

    def apply(self, cmd: Command) -> None:
        """Apply one non-manual command now (the caller is at a step boundary)."""
        if isinstance(cmd, Reset):
            self.reset(cmd.seed)
        elif isinstance(cmd, SetRunning):
            if cmd.running != self.running:
                self.running = cmd.running
                self._log("run", "play" if cmd.running else "pause")
        elif isinstance(cmd, SetSpeed):
            self.steps_per_sec_limit = cmd.steps_per_sec
        else:
            self.set_config(**cmd.changes())
