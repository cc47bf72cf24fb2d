"""What every engine shares (Trainer, EnsembleTrainer, CompareTrainer): the command queue drained at step
boundaries, the event log, and the step structure. The engine provides `step`, `running`,
`steps_per_sec_limit`, `events`, `_new_events`, `_commands` (a SimpleQueue), `_scheduled` (a heap),
`command_log`, `reset(seed)` and `set_config(**changes)`; a GAN engine (`GanSteps`) also `_d_update`,
`_g_update`, `_row`, `_rows` and `noise_sigma`.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import queue
import time
from collections.abc import Iterator
from typing import Any

import torch

from .commands import MANUAL, ClearSchedule, Command, Reset, SetRunning, SetSpeed, StepBoth, StepD, StepG
from .config import ConfigError
from .snapshot import Event, EventKind

_ORDER = itertools.count()  # ties between commands scheduled for one step: the order they were given

# torch's own default intra-op thread count (one per core, or OMP_NUM_THREADS), as found when ganviz is imported.
TORCH_DEFAULT_THREADS = torch.get_num_threads()
# ganviz's networks are small: more threads than this only add synchronisation, and on a loaded machine every
# step waits for the slowest core (measured 8 vs 62 steps/s with torch's default threads vs 1 or 2).
AUTO_THREADS = 2


@contextlib.contextmanager
def training_threads(threads: int | None) -> Iterator[None]:
    """torch's intra-op threads while an engine trains, restored afterwards (the process setting stays the
    caller's). threads=None (auto): AUTO_THREADS, but only while torch is at its own default and
    OMP_NUM_THREADS is unset, so a user's torch.set_num_threads (or the CLI's --threads) is kept."""
    before = torch.get_num_threads()
    if threads is None:
        untouched = before == TORCH_DEFAULT_THREADS and "OMP_NUM_THREADS" not in os.environ
        threads = min(before, AUTO_THREADS) if untouched else before
    threads = max(1, int(threads))
    if threads == before:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def push_scheduled(heap: list, step: int, command: Command) -> None:
    """Queue command for `step`; same-step commands keep their order and Commands are never compared."""
    heapq.heappush(heap, (step, next(_ORDER), command))


def drain_due(engine: Any) -> list[Command]:
    """The scheduled commands now due (engine.step reached), then the queued ones, in order; both emptied."""
    drained: list[Command] = []
    while engine._scheduled and engine._scheduled[0][0] <= engine.step:
        drained.append(heapq.heappop(engine._scheduled)[2])
    while True:
        try:
            drained.append(engine._commands.get_nowait())
        except queue.Empty:
            return drained


class Stepper:
    """Mixin: `train(steps)` = apply pending commands (manual steps run as they come), then one iteration."""

    threads: int | None = None  # torch intra-op threads while training; None: auto (training_threads)

    def train(self, steps: int) -> None:
        """Run `steps` iterations, applying pending commands between them (no snapshots)."""
        with training_threads(self.threads):
            for _ in range(steps):
                for cmd in self.apply_pending():  # type: ignore[attr-defined]
                    self.run_manual(cmd)  # type: ignore[attr-defined]
                self.iteration()  # type: ignore[attr-defined]


class GanSteps(Stepper):
    """Mixin: the timeline of a GAN engine. An iteration is d_steps D updates then g_steps G updates; a manual
    D or G update is a step of its own. Each step's history row is kept, and instance noise decays per step."""

    def has_unsent_rows(self) -> bool:
        """History rows not yet delivered in a snapshot."""
        return bool(self._rows)

    def _update_rate(self) -> None:
        """Refresh the measured steps/s (`_rate`) at most every 0.25 s (called once per snapshot)."""
        now = time.perf_counter()
        if now - self._rate_t0 > 0.25:
            self._rate = (self.step - self._rate_step0) / (now - self._rate_t0)
            self._rate_t0, self._rate_step0 = now, self.step

    def _end_step(self) -> None:
        self.step += 1
        if self._row:
            self._rows.append((self.step, self._row))
            self._row = {}
        if self.noise_sigma > 0 and self.config.instance_noise_decay < 1.0:
            self.noise_sigma *= self.config.instance_noise_decay

    def iteration(self) -> None:
        """One training iteration: d_steps D updates, then g_steps G updates; one timeline step."""
        for _ in range(self.config.d_steps):
            self._d_update()
        for _ in range(self.config.g_steps):
            self._g_update()
        self._end_step()

    def step_d(self) -> None:
        """One manual D update (one timeline step)."""
        self._d_update()
        self._end_step()

    def step_g(self) -> None:
        """One manual G update (one timeline step)."""
        self._g_update()
        self._end_step()

    def run_manual(self, cmd: Command) -> None:
        if isinstance(cmd, StepD):
            self.step_d()
        elif isinstance(cmd, StepG):
            self.step_g()
        elif isinstance(cmd, StepBoth):
            self.iteration()


class CommandDrain:
    """Mixin: typed commands applied at the next step boundary, latest wins per kind, every change logged."""

    def has_news(self) -> bool:
        """Events not yet delivered in a snapshot."""
        return bool(self._new_events)

    def _log(self, kind: str, label: str, **detail: Any) -> None:
        ev = Event(self.step, kind, label, detail)
        self.events.append(ev)
        self._new_events.append(ev)

    def submit(self, command: Command) -> None:
        """Thread-safe: queue a command for the next step boundary."""
        self._commands.put(command)

    def schedule(self, step: int, command: Command) -> None:
        """Apply command at the first step boundary where self.step >= step (scripted scene actions)."""
        push_scheduled(self._scheduled, step, command)

    def apply_pending(self) -> list[Command]:
        """Drain the queue: settings collapse to the latest per kind; manual steps are returned in order.

        Every applied command is appended to `command_log` with the step it was applied at; a command that
        fails validation is skipped and logged as an "error" event, and the run goes on.
        """
        latest: dict[str, Command] = {}
        for cmd in drain_due(self):
            latest.pop(cmd.key(), None)
            latest[cmd.key()] = cmd
        manual: list[Command] = []
        for cmd in latest.values():
            if isinstance(cmd, ClearSchedule):  # not a setting: nothing to log or replay
                self._scheduled.clear()
                continue
            if isinstance(cmd, MANUAL):
                manual.append(cmd)
                self.command_log.append((self.step, cmd))
                continue
            try:
                self.apply(cmd)
            except (ConfigError, ValueError, KeyError) as exc:
                self._log(EventKind.ERROR, f"ignored {type(cmd).__name__}: {exc}")
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
                self._log(EventKind.RUN, "play" if cmd.running else "pause")
        elif isinstance(cmd, SetSpeed):
            self.steps_per_sec_limit = cmd.steps_per_sec
        else:
            self.set_config(**cmd.changes())
