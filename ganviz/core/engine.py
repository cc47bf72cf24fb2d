"""The engine protocol and what the engines share (Trainer, EnsembleTrainer, CompareTrainer).

`Engine` is the one interface every engine offers and every client uses: the live loop (core.loop), the
training process (core.process), the device fallback (core.devices), checkpoints (core.checkpoint) and the
window's session. Commands are typed and applied at step boundaries (`submit`, `schedule`, `apply_pending`);
`iteration` trains one step; `snapshot` reports; `to(device)` moves the run, `rollback` restores the last good
state, `state_dict` / `load_state_dict` save and restore a run exactly.

The mixins below implement parts of it, each owning its own state (set up by its `_init_*` method) and
reading no other class's private attributes: `CommandDrain` (the command inbox, the event log, play/pause and
speed), `GanSteps` (the timeline of a GAN engine: steps, update counters, history rows, the measured rate),
`Stepper` (`train(steps)`). An engine provides the rest: `_d_update` / `_g_update` (which `record` their
history values), `reset`, `set_config`, `config` and `noise_sigma`.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import queue
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from .commands import MANUAL, ClearSchedule, Command, Reset, SetRunning, SetSpeed, StepBoth, StepD, StepG
from .config import ConfigError
from .snapshot import Event, EventKind, History

HISTORY_KEYS = ("d_loss", "g_loss", "d_real_term", "d_fake_term", "d_penalty", "g_grad_norm", "d_grad_norm",
                "d_real_mean", "d_fake_mean")  # what a step's history row may hold (core.steps records them)
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


class CommandInbox:
    """Commands waiting for a step boundary: a thread-safe queue (`put`, from any thread) and a heap of commands
    scheduled for a step (`schedule`, from the training thread); `due(step)` empties both in order."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._heap: list[tuple[int, int, Command]] = []

    def put(self, command: Command) -> None:
        self._queue.put(command)

    def schedule(self, step: int, command: Command) -> None:
        """Queue command for `step`; same-step commands keep their order and Commands are never compared."""
        heapq.heappush(self._heap, (step, next(_ORDER), command))

    def clear_schedule(self) -> None:
        self._heap.clear()

    def scheduled(self) -> list[tuple[int, Command]]:
        """The scheduled commands not yet due, in the order they will apply."""
        return [(step, cmd) for step, _, cmd in sorted(self._heap, key=lambda e: e[:2])]

    def due(self, step: int) -> list[Command]:
        """The scheduled commands due at `step` (step reached), then the queued ones, in order; both emptied."""
        drained: list[Command] = []
        while self._heap and self._heap[0][0] <= step:
            drained.append(heapq.heappop(self._heap)[2])
        while True:
            try:
                drained.append(self._queue.get_nowait())
            except queue.Empty:
                return drained


@runtime_checkable
class Engine(Protocol):
    """A training engine: one run (Trainer), N seeds in one batched model (EnsembleTrainer) or runs in lock-step
    (CompareTrainer). Call everything but `submit` from the thread that trains, at a step boundary.

    Live settings: a single engine applies a setting (SetConfig and the other setting commands) through
    core.live.apply_changes, which calls its `core.live.LiveTarget` hooks by each field's Effect: live_check,
    live_swap_data, live_rebuild, live_device (a device change: resolve it and `to`), live_objective,
    live_learning_rate, live_optimizer, live_view_batches and live_changed, and logs through `log`. The hooks are
    not part of this protocol: a composite (CompareTrainer) has none and sends each setting to its runs."""

    running: bool  # False: the live loop does not step (manual steps still run)
    steps_per_sec_limit: float | None  # None: as fast as it goes

    @property
    def step(self) -> int:
        """Timeline steps so far (an iteration, or one manual D or G update)."""

    @property
    def config(self) -> Any:
        """The TrainConfig as applied now (a comparison: its first run's)."""

    @property
    def device(self) -> torch.device:
        """Where the run trains."""

    def submit(self, command: Command) -> None:
        """Thread-safe: queue a command for the next step boundary."""

    def schedule(self, step: int, command: Command) -> None:
        """Apply command at the first step boundary where self.step >= step (exactly at `step` when the run
        passes it)."""

    def apply_pending(self) -> list[Command]:
        """Apply the commands due now; returns the manual steps (StepD, StepG, StepBoth) for `run_manual`."""

    def run_manual(self, cmd: Command) -> None:
        """Run one manual step."""

    def iteration(self) -> None:
        """One training step."""

    def train(self, steps: int) -> None:
        """`steps` times: apply pending commands, then one iteration (no snapshots)."""

    def has_news(self) -> bool:
        """Events not yet delivered in a snapshot."""

    def has_unsent_rows(self) -> bool:
        """History rows not yet delivered in a snapshot."""

    def snapshot(self, with_metrics: bool = True, with_fields: bool = True, lazy: bool = False,
                 defer_metrics: bool = False) -> Any:
        """What the views need; checks for divergence first (rolls back, and says so in an event)."""

    def log(self, kind: str, label: str, **detail: Any) -> Event:
        """Add an event to the run's log at the current step; returns it."""

    def to(self, device: str | torch.device, reseed: bool | None = None) -> list[str]:
        """Move the run to device in place; it continues where it was. Raises DeviceError (and changes
        nothing) for a device this machine does not have. Returns the random generators that had to be replaced
        (reseed=None: those that cannot move to the device's type; True: all)."""

    def rollback(self) -> int:
        """Restore weights and optimiser states of the last good state (the step count goes on); returns the
        step that state was saved at. A partly run step's history values are dropped."""

    def rebuild(self) -> None:
        """Build networks, optimisers and random streams afresh from the config, on the current device (the
        run restarts at step 0; no event)."""

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue the run exactly (config, weights, optimiser states, counters, random
        streams) as plain values and CPU tensor copies."""

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a state_dict: afterwards the run trains as the saved one would have. The engine keeps
        its device; a random stream saved on another device type is not restored."""


@contextlib.contextmanager
def unchanged_on_error(engine: Any) -> Iterator[None]:
    """Put every attribute of engine back as it was if the block raises: a rebuild that failed half way (new
    networks, then an error) leaves the old objects in place, untouched."""
    before = dict(vars(engine))
    try:
        yield
    except BaseException:
        vars(engine).clear()
        vars(engine).update(before)
        raise


class DeviceError(RuntimeError):
    """A device this machine does not have; the message says which and what is available."""


def check_device(device: str | torch.device) -> torch.device:
    """device as a torch.device, if this machine has it; DeviceError otherwise."""
    try:
        target = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise DeviceError(f"{device!r} is not a device name (use cpu or cuda): {exc}") from None
    if target.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"{target} was asked for, but CUDA is not available on this machine; the run stays "
                              "where it is")
        if target.index is not None and target.index >= torch.cuda.device_count():
            raise DeviceError(f"{target} was asked for, but this machine has {torch.cuda.device_count()} CUDA "
                              "device(s); the run stays where it is")
    elif target.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise DeviceError(f"{target} was asked for, but MPS is not available on this machine; the run stays "
                          "where it is")
    elif target.type not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"{target} is not supported (use cpu or cuda); the run stays where it is")
    return target


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

    step_hook: Callable[[], None] | None = None  # called after every step (core.branches.LiveTimeline.record)

    def _init_timeline(self) -> None:
        """Step 0: no updates, no history rows, the rate measured from now."""
        self.step = 0
        self.d_updates = 0
        self.g_updates = 0
        self._rows: list[tuple[int, dict[str, Any]]] = []
        self._row: dict[str, Any] = {}
        self._rate_t0 = time.perf_counter()
        self._rate_step0 = 0
        self._rate = 0.0

    def record(self, values: dict[str, Any]) -> None:
        """History values of the step under way (an update's losses and norms; later ones replace earlier)."""
        self._row.update(values)

    def discard_partial_step(self) -> None:
        """Forget the history values of a step that did not finish (after a rollback)."""
        self._row = {}

    def take_rows(self) -> list[tuple[int, dict[str, Any]]]:
        """The history rows (step, values) not yet delivered; they are delivered now."""
        rows, self._rows = self._rows, []
        return rows

    def has_unsent_rows(self) -> bool:
        """History rows not yet delivered in a snapshot."""
        return bool(self._rows)

    def _collect_history(self, seeds: int | None = None) -> tuple[History, Any]:
        """The rows not yet delivered as one History (one host copy for the whole table; NaN where a step did not
        record a value), and whether every recorded value is finite: a bool, or per seed (N,) when the values
        have a seed axis of `seeds`."""
        rows = self.take_rows()
        n = len(rows)
        steps = np.fromiter((s for s, _ in rows), dtype=np.int64, count=n)
        table = np.full((n, len(HISTORY_KEYS)) + (() if seeds is None else (seeds,)), np.nan)
        finite: Any = True if seeds is None else np.ones(seeds, dtype=bool)
        flat: list[torch.Tensor] = []
        index: list[tuple[int, int]] = []
        for i, (_, row) in enumerate(rows):
            for key, t in row.items():
                index.append((i, HISTORY_KEYS.index(key)))
                flat.append(t.reshape(()).float() if seeds is None else t.float())
        if flat:
            host = torch.stack(flat).cpu().numpy()  # the one host copy of this snapshot's history
            finite = bool(np.isfinite(host).all()) if seeds is None else np.isfinite(host).all(0)
            ii = np.array(index)
            table[ii[:, 0], ii[:, 1]] = host
        return History(steps, {k: table[:, j] for j, k in enumerate(HISTORY_KEYS)}), finite

    @property
    def steps_per_sec(self) -> float:
        """The measured training rate (refreshed by `_update_rate`, once per snapshot)."""
        return self._rate

    def _update_rate(self) -> None:
        """Refresh the measured steps/s at most every 0.25 s (called once per snapshot)."""
        now = time.perf_counter()
        if now - self._rate_t0 > 0.25:
            self._rate = (self.step - self._rate_step0) / (now - self._rate_t0)
            self._rate_t0, self._rate_step0 = now, self.step

    def _end_step(self) -> None:
        self.step += 1
        if self._row:
            self._rows.append((self.step, self._row))
            self._row = {}
        if self.noise_sigma > 0 and self.config.instance_noise_decay < 1.0:  # type: ignore[attr-defined]
            self.noise_sigma *= self.config.instance_noise_decay  # type: ignore[attr-defined]
        if self.step_hook is not None:  # the training process's timeline records the state here (issue 18.5)
            self.step_hook()

    def iteration(self) -> None:
        """One training iteration: d_steps D updates, then g_steps G updates; one timeline step."""
        for _ in range(self.config.d_steps):  # type: ignore[attr-defined]
            self._d_update()  # type: ignore[attr-defined]
        for _ in range(self.config.g_steps):  # type: ignore[attr-defined]
            self._g_update()  # type: ignore[attr-defined]
        self._end_step()

    def step_d(self) -> None:
        """One manual D update (one timeline step)."""
        self._d_update()  # type: ignore[attr-defined]
        self._end_step()

    def step_g(self) -> None:
        """One manual G update (one timeline step)."""
        self._g_update()  # type: ignore[attr-defined]
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

    def _init_commands(self) -> None:
        """An empty inbox and event log; running, at full speed."""
        self.events: list[Event] = []  # the complete log of live changes
        self._new_events: list[Event] = []  # since the last snapshot
        self._inbox = CommandInbox()
        self.command_log: list[tuple[int, Command]] = []  # (step applied at, command): replays the session
        self.running = True
        self.steps_per_sec_limit: float | None = None

    def has_news(self) -> bool:
        """Events not yet delivered in a snapshot."""
        return bool(self._new_events)

    def new_events(self) -> tuple[Event, ...]:
        """The events not yet delivered in a snapshot (without delivering them)."""
        return tuple(self._new_events)

    def take_new_events(self) -> tuple[Event, ...]:
        """The events not yet delivered; they are delivered now."""
        events, self._new_events = tuple(self._new_events), []
        return events

    def log(self, kind: str, label: str, **detail: Any) -> Event:
        ev = Event(self.step, kind, label, detail)  # type: ignore[attr-defined]
        self.events.append(ev)
        self._new_events.append(ev)
        return ev

    def _log(self, kind: str, label: str, **detail: Any) -> None:
        self.log(kind, label, **detail)

    def submit(self, command: Command) -> None:
        """Thread-safe: queue a command for the next step boundary."""
        self._inbox.put(command)

    def schedule(self, step: int, command: Command) -> None:
        """Apply command at the first step boundary where self.step >= step (scripted scene actions)."""
        self._inbox.schedule(step, command)

    def scheduled(self) -> list[tuple[int, Command]]:
        """The scheduled commands not yet applied, in order."""
        return self._inbox.scheduled()

    def apply_pending(self) -> list[Command]:
        """Drain the queue: settings collapse to the latest per kind; manual steps are returned in order.

        Every applied command is appended to `command_log` with the step it was applied at; a command that
        fails validation is skipped and logged as an "error" event, and the run goes on.
        """
        latest: dict[str, Command] = {}
        for cmd in self._inbox.due(self.step):  # type: ignore[attr-defined]
            latest.pop(cmd.key(), None)
            latest[cmd.key()] = cmd
        manual: list[Command] = []
        for cmd in latest.values():
            if isinstance(cmd, ClearSchedule):  # not a setting: nothing to log or replay
                self._inbox.clear_schedule()
                continue
            if isinstance(cmd, MANUAL):
                manual.append(cmd)
                self.command_log.append((self.step, cmd))  # type: ignore[attr-defined]
                continue
            try:
                self.apply(cmd)
            except (ConfigError, ValueError, KeyError) as exc:
                self._log(EventKind.ERROR, f"ignored {type(cmd).__name__}: {exc}")
                continue
            self.command_log.append((self.step, cmd))  # type: ignore[attr-defined]
        return manual

    def apply(self, cmd: Command) -> None:
        """Apply one non-manual command now (the caller is at a step boundary)."""
        if isinstance(cmd, Reset):
            self.reset(cmd.seed)  # type: ignore[attr-defined]
        elif isinstance(cmd, SetRunning):
            if cmd.running != self.running:
                self.running = cmd.running
                self._log(EventKind.RUN, "play" if cmd.running else "pause")
        elif isinstance(cmd, SetSpeed):
            self.steps_per_sec_limit = cmd.steps_per_sec
        else:
            self.set_config(**cmd.changes())  # type: ignore[attr-defined]
