"""Compare mode: two to four Trainers in lock-step: same data, same seed, same initial weights, each
with its own objective (or any other setting).

Each run is an ordinary, independent Trainer (its own RNG streams; nothing shared), so a run inside a
comparison is bit-identical to the same config trained alone with the same commands. Play / pause /
speed / step / reset are global; `ForRun(i, cmd)` sends a setting to one run, any other setting goes to all.
"""

from __future__ import annotations

import dataclasses
import queue
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .commands import MANUAL, Command, Reset, SetRunning, SetSpeed
from .config import TrainConfig
from .loop import run_loop
from .snapshot import Event, Snapshot
from .trainer import Trainer

MAX_RUNS = 4


@dataclass(frozen=True)
class ForRun(Command):
    """A command for one run of a comparison (index 0..n-1)."""

    index: int
    command: Command

    def key(self) -> str:
        return f"ForRun:{self.index}:{self.command.key()}"


@dataclass(frozen=True)
class CompareSnapshot:
    """One snapshot per run, taken at the same step."""

    runs: tuple[Snapshot, ...]

    @property
    def step(self) -> int:
        return self.runs[0].step

    @property
    def running(self) -> bool:
        return self.runs[0].running

    @property
    def events(self) -> tuple[Event, ...]:
        return tuple(e for s in self.runs for e in s.events)

    @property
    def config(self) -> Any:
        return self.runs[0].config

    @property
    def dim(self) -> int:
        return self.runs[0].dim

    @property
    def device(self) -> str:
        return self.runs[0].device

    def prepare_transfer(self) -> None:
        for s in self.runs:
            s.prepare_transfer()

    def materialized(self) -> CompareSnapshot:
        return CompareSnapshot(tuple(s.materialized() for s in self.runs))


def comparison_configs(base: TrainConfig, objectives: Sequence[str]) -> list[TrainConfig]:
    """One config per objective, otherwise identical (so same data, seed and initial weights)."""
    if not 2 <= len(objectives) <= MAX_RUNS:
        raise ValueError(f"compare mode takes 2 to {MAX_RUNS} runs, got {len(objectives)}")
    return [base.replace(objective=o) for o in objectives]


class CompareTrainer:
    """Several Trainers stepped in lock-step; the same engine interface as Trainer for the live loop."""

    def __init__(self, configs: Sequence[TrainConfig]) -> None:
        if not 2 <= len(configs) <= MAX_RUNS:
            raise ValueError(f"compare mode takes 2 to {MAX_RUNS} runs, got {len(configs)}")
        self.runs = [Trainer(c) for c in configs]
        self._commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self.running = True
        self.steps_per_sec_limit: float | None = None

    @property
    def step(self) -> int:
        return self.runs[0].step

    def submit(self, command: Command) -> None:
        """Thread-safe: queue a command (ForRun for one run; settings without ForRun go to every run)."""
        self._commands.put(command)

    def apply_pending(self) -> list[Command]:
        manual: list[Command] = []
        while True:
            try:
                cmd = self._commands.get_nowait()
            except queue.Empty:
                break
            if isinstance(cmd, ForRun):
                if not 0 <= cmd.index < len(self.runs):
                    continue
                self.runs[cmd.index].submit(cmd.command)
            elif isinstance(cmd, MANUAL):
                manual.append(cmd)
            elif isinstance(cmd, SetRunning):
                self.running = cmd.running
                for r in self.runs:
                    r.submit(cmd)
            elif isinstance(cmd, SetSpeed):
                self.steps_per_sec_limit = cmd.steps_per_sec
            else:  # Reset and settings: every run
                for r in self.runs:
                    r.submit(cmd)
        for r in self.runs:
            r.apply_pending()  # runs get no manual commands: those are run here, in lock-step
        return manual

    def run_manual(self, cmd: Command) -> None:
        for r in self.runs:
            r.run_manual(cmd)

    def iteration(self) -> None:
        for r in self.runs:
            r.iteration()

    def train(self, steps: int) -> None:
        for _ in range(steps):
            for cmd in self.apply_pending():
                self.run_manual(cmd)
            self.iteration()

    def has_news(self) -> bool:
        return any(r._new_events for r in self.runs)

    def has_unsent_rows(self) -> bool:
        return any(r._rows for r in self.runs)

    def snapshot(self, with_metrics: bool = True, with_fields: bool = True, lazy: bool = False,
                 defer_metrics: bool = False) -> CompareSnapshot:
        snaps = [r.snapshot(with_metrics=with_metrics, with_fields=with_fields, lazy=lazy,
                            defer_metrics=defer_metrics) for r in self.runs]
        if any(not r.running for r in self.runs) and self.running:
            # a run diverged (it rolled back and paused itself): pause the comparison to keep lock-step
            self.running = False
            snaps = [dataclasses.replace(s, running=False) for s in snaps]
        for r in self.runs:
            r.running = self.running
        return CompareSnapshot(tuple(snaps))

    def run(self, **kwargs: Any) -> Iterator[CompareSnapshot | None]:
        return run_loop(self, **kwargs)

    def reset(self) -> None:
        for r in self.runs:
            r.apply(Reset())
