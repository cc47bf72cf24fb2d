"""The bridge between the engine and the GUI thread: a superqt GeneratorWorker with back-pressure.

Two backends, one interface:
- "process" (the app's default): the Trainer runs in a child process (ganviz.core.process) and a worker
  thread here receives its snapshots; training never competes with drawing for the GIL.
- "thread": the Trainer runs in a worker thread of this process; tests and notebooks use it because
  `session.trainer` is then directly inspectable.
Either backend trains a Trainer, a comparison (`compare=`, in one process per core with "process") or any
engine with a picklable recipe (`engine=`, e.g. the ensemble of seeds).
Either way snapshots are sent at most every `interval` seconds and only after the GUI has drawn the
previous one (`frame_done()`), so the event queue never floods and nothing is lost. Controls call
`submit()` with typed commands; they apply at the trainer's next step boundary. Commands and schedules sent
before `start()` (a scene's script and speed hint) are held and handed over when the run starts.

The session also owns the run's record: `run_log()` / `session_record()` (the config it started from and the
live changes since, for session files), `save_checkpoint()` / `load_checkpoint()`. With the process backend
the child answers these at its next step boundary; with the thread backend the training thread is stopped
at a step boundary, the trainer used directly, and the thread started again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal
from superqt.utils import GeneratorWorker

from ..core.commands import Command, PlayStages
from ..core.config import TrainConfig
from ..core.distributions import dataset_info
from ..core.messages import StagePlayed
from ..core.process import ChildFailed, TrainerProcess, error_summary, take_prestarted
from ..core.safeio import ExportError, check_target
from ..core.snapshot import Event, EventKind, Snapshot, repeats

# ganviz.core.compare and .trainer (torch) are imported where they are used: with the process backend the
# window shows before torch is loaded in its process (issue 20)


class _MetricsCarry:
    """Metrics arrive with some snapshots only; the others carry the last computed ones forward."""

    def __init__(self) -> None:
        self.metrics: dict = {}
        self.step = -1

    def apply(self, snap: Snapshot) -> Snapshot:
        if any(e.kind == EventKind.RESET for e in snap.events):
            self.metrics, self.step = {}, -1
        if snap.metrics and snap.metrics_step >= 0:
            self.metrics, self.step = snap.metrics, snap.metrics_step
            return snap
        return dataclasses.replace(snap, metrics=dict(self.metrics), metrics_step=self.step)


def limit_torch_threads(threads: int) -> None:
    """Run torch with `threads` intra-op threads in the calling thread. Torch keeps the count per OS thread: a
    thread that first ran torch before the process set it (the receiver materialises its first lazy snapshot
    while the warm-up thread is still importing torch) kept OpenMP's default of one thread per core for good,
    and on 2 cores its second OpenMP thread spun beside the training process (issue 20: the window process's CPU
    per frame fell from 77 to 24 ms with this, measured on a loaded machine)."""
    import torch

    torch.set_num_threads(max(1, threads))


RECEIVER_NICENESS = 5  # how much lower the window's compute threads run than its GUI thread and the training


def yield_cpu_to_training(niceness: int = RECEIVER_NICENESS) -> bool:
    """Run the calling thread `niceness` below the process's main (GUI) thread (Linux: a thread has its own nice
    value; the GUI thread and the training process keep theirs). On 2 cores the window's view computations competed
    with the training process; nice 5 moved the default scene from 29.3 frames/s at 0.83x headless to 30.0 at
    0.92x (issue 20, docs/BENCHMARKS.md). Relative to the main thread, not to the calling thread's own value:
    receivers run in reused pool threads, and a second session's receiver must not lower it again (nice 19
    after a few sessions; an unprivileged process cannot raise it back). Returns whether it was set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        target = min(19, os.getpriority(os.PRIO_PROCESS, os.getpid()) + niceness)
        tid = threading.get_native_id()
        if os.getpriority(os.PRIO_PROCESS, tid) < target:
            os.setpriority(os.PRIO_PROCESS, tid, target)
    except OSError:
        return False
    return True


def hold_pool_thread() -> Callable[[], None]:
    """Grow Qt's global thread pool by one thread for a session's receiver, which holds its pool thread for the
    session's whole life; returns the release (call it once the receiver has ended). The pool has one thread
    per core: on 2 cores a third window (main, comparison, ensemble) never drew a frame, its receiver queued
    behind the other two, and a background job (saving a session) would have waited the same way."""
    pool = QThreadPool.globalInstance()
    pool.setMaxThreadCount(pool.maxThreadCount() + 1)
    held = [True]

    def release() -> None:
        if held:
            held.pop()
            pool.setMaxThreadCount(max(1, pool.maxThreadCount() - 1))

    return release


@dataclasses.dataclass(frozen=True)
class RunNotice:
    """What the training loop has to say besides snapshots. kind "failed": training has ended (message in
    words, details: a traceback); "stalled": the child does not answer (stopped or hung); "answering": it
    answers again. Yielded instead of raised: superqt swallows a RuntimeError from the generator as "aborted"."""

    kind: str
    message: str
    details: str = ""


STALL_CHECK_SECONDS = 0.5  # how often the receive loop asks whether the child still answers
PAUSED_REDRAW_SECONDS = 0.5  # a paused run's unchanged state is drawn again at most this often


class _Worker(GeneratorWorker):
    """A GeneratorWorker that says when its thread has left run(), superqt's closing signals included, so a
    stop() that returns True leaves no thread of this session still touching Qt when the next start() begins."""

    def __init__(self, func: Any) -> None:
        super().__init__(func)
        self.exited = threading.Event()

    def run(self) -> None:
        try:
            super().run()
        finally:
            self.exited.set()


class TrainingSession(QObject):
    """Owns the training thread or process of one run. Signals arrive in the GUI thread."""

    snapshot = Signal(object)  # a lazy Snapshot; call .materialized() before drawing
    failed = Signal(str)  # training stopped with an error; the message says what happened
    stalled = Signal(str)  # the child stopped answering (the message says how); "" when it answers again
    stopped = Signal()
    stage_played = Signal(object)  # slow motion: a core.messages.StagePlayed (see play_stages)

    def __init__(self, config: TrainConfig, backend: str = "process", interval: float = 0.04,
                 metrics_interval: float = 0.5, threads: int = 1, parent: QObject | None = None,
                 compare: list[TrainConfig] | None = None, engine: Any = None) -> None:
        """compare: the configs of a comparison; engine: any other engine's picklable recipe, an object with
        build() (ganviz.core.ensemble.EnsembleSpec), trained instead of a Trainer on config. Snapshots of
        such an engine are passed on lazy: its window materialises them."""
        super().__init__(parent)
        if backend not in ("process", "thread"):
            raise ValueError(f"backend must be 'process' or 'thread', got {backend!r}")
        self.backend = backend
        self.config = config  # the latest config known here (updated from snapshots)
        self.start_config = config  # the config this run started from (session files replay from it)
        self.closing = False  # the window is closing: a training thread stopped for a request is not restarted
        self.steps_per_sec = 0.0  # of the last snapshot (a request waits for one slow step)
        self.running = True  # of the last snapshot
        self.interval = interval
        self.metrics_interval = metrics_interval
        self.threads = threads
        self.compare = compare  # configs of a comparison (compare mode), else None
        self.engine = engine
        self.trainer: Any = None  # the engine itself with the thread backend: Trainer, CompareTrainer, ...
        if backend == "thread":
            from ..core.compare import CompareTrainer
            from ..core.trainer import Trainer

            self.trainer = engine.build() if engine is not None else CompareTrainer(compare) if compare else \
                Trainer(config)
        self.process: TrainerProcess | None = None
        if backend == "process" and "torch" not in sys.modules:
            # the child resolves the device (a CUDA fallback arrives as its "device" event); importing torch
            # here only to ask would hold the window back by a torch import
            device, message = ("cpu" if config.device == "cpu" else f"{config.device} (starting)"), None
        else:
            from ..core.trainer import resolve_device

            device, message = resolve_device(config.device)
        self.device = str(device)
        self.startup_events: list[Event] = [Event(0, EventKind.DEVICE, message)] if message else []
        self._ready = threading.Event()
        self._ready.set()
        self._done = threading.Event()
        self._done.set()
        self._stop = threading.Event()
        self._worker: _Worker | None = None
        self._scheduled: list[tuple[int, Command]] = []
        self.failure: RunNotice | None = None  # set when training has ended with an error or a dead child
        self.stall: str = ""  # what is wrong while the child does not answer, else ""
        self._queued: list[Command] = []  # commands submitted before the child exists (handed over at start)

    @property
    def dim(self) -> int:
        return dataset_info(self.config.data, self.config.data_points).dim

    # -------------------------------------------------------------- lifecycle
    def _thread_loop(self) -> Iterator[Snapshot | None]:
        assert self.trainer is not None
        try:
            import torch

            # intra-op threads are per OS thread: a pool thread would otherwise use every core and fight the GUI
            torch.set_num_threads(max(1, self.threads))
            run = self.trainer.run(snapshot_interval=self.interval, metrics_interval=self.metrics_interval,
                                   ready=self._ready.is_set)
            while True:
                try:
                    snap = next(run)
                except StopIteration:
                    return
                except Exception as exc:  # said in words; never raised into superqt (see RunNotice)
                    yield RunNotice("failed", f"Training stopped with an error: {error_summary(exc)}",
                                    traceback.format_exc(limit=6))
                    return
                if self._stop.is_set():
                    return  # returning (not superqt's quit) runs this finally block promptly
                if snap is not None:
                    self._ready.clear()
                yield snap
                if self._stop.is_set():
                    return
        finally:
            self._done.set()

    def _process_loop(self) -> Iterator[Snapshot | None]:
        """Receive snapshots and materialise them here, in this worker thread, so the GUI thread only
        draws; the child defers metrics, and the last computed ones are carried forward."""
        assert self.process is not None
        carries: list[_MetricsCarry] = []
        process = self.process
        stall, next_check = "", 0.0
        compare_snapshot: Any = None  # ganviz.core.compare.CompareSnapshot, imported with the first snapshot
        first_drawn = False
        threads_set = False  # torch's thread count, set in this thread before it first runs torch
        last: Snapshot | None = None  # the last snapshot handed to the window, and when
        last_at = 0.0
        try:
            while not self._stop.is_set():
                try:
                    snap = process.receive(timeout=0.02)
                except ChildFailed as exc:
                    process.stop(0.5)  # whatever is left of it (a child that reported an error is exiting)
                    yield RunNotice("failed", exc.message, exc.details)
                    return
                except Exception as exc:  # e.g. a snapshot that cannot be unpickled
                    process.stop(0.5)
                    yield RunNotice("failed", f"Receiving from the training process failed: {error_summary(exc)}",
                                    traceback.format_exc(limit=6))
                    return
                if snap is None:
                    now = time.monotonic()
                    if now >= next_check:
                        next_check = now + STALL_CHECK_SECONDS
                        reason = process.stall(now) or ""
                        if reason != stall:
                            stall = reason
                            yield RunNotice("stalled" if reason else "answering", reason)
                            continue
                    continue  # a timeout or the child's beat: nothing to hand the GUI thread (each yield is a
                    # queued signal there, and came 1.3 times per frame at 30 frames/s)
                if isinstance(snap, StagePlayed):  # slow motion: not a frame, no credit
                    yield snap
                    continue
                if compare_snapshot is None and not isinstance(snap, Snapshot):
                    from ..core.compare import CompareSnapshot as compare_snapshot  # torch (the first frame may
                    # come before this process has imported it: see process.first_frame)
                if not isinstance(snap, Snapshot) and not isinstance(snap, compare_snapshot):
                    # another engine's: its window materialises
                    yield snap
                    continue
                if (isinstance(snap, Snapshot) and last is not None and repeats(snap, last)
                        and time.monotonic() - last_at < PAUSED_REDRAW_SECONDS):
                    # paused and unchanged: not materialised nor drawn again (a paused window drew 25 frames/s of
                    # the same state, ~0.5 of a core); its credit goes back, so the child sends the next when due
                    process.frame_done()
                    continue
                if not threads_set and getattr(snap, "lazy", True) is not None:  # torch runs in this thread now
                    threads_set = True
                    limit_torch_threads(self.threads)
                    yield_cpu_to_training()
                snap = snap.materialized()
                if not isinstance(snap, Snapshot):  # a CompareSnapshot
                    carries += [_MetricsCarry() for _ in range(len(snap.runs) - len(carries))]
                    snap = compare_snapshot(tuple(c.apply(s) for c, s in zip(carries, snap.runs, strict=True)))
                else:
                    carries = carries or [_MetricsCarry()]
                    snap = carries[0].apply(snap)
                    last, last_at = snap, time.monotonic()
                if not first_drawn and getattr(snap, "lazy", True) is None:  # drawn by the child: the first frame
                    first_drawn = True
                    self._ready.clear()
                    yield snap
                    # read nothing more until the window has drawn it: unpickling the next (lazy) snapshot would
                    # import torch in this thread and hold the GIL while the GUI thread draws (issue 20)
                    while not self._ready.wait(0.05) and not self._stop.is_set():
                        pass
                    continue
                yield snap
        finally:
            self._done.set()

    def start(self) -> None:
        if self.is_running():
            return
        self.failure, self.stall = None, ""
        self._done.clear()
        self._stop.clear()
        self._ready.set()
        if self.backend == "process":
            engine = self.compare or self.engine or self.config
            # a process started before the window was built (ganviz.qt.app) is adopted when it trains this
            self.process = take_prestarted(engine, self.interval, self.metrics_interval, self.threads) or \
                TrainerProcess(engine, self.interval, self.metrics_interval, self.threads)
            self.process.start()
            for step, command in self._scheduled:
                self.process.schedule(step, command)
            self._scheduled.clear()
            for command in self._queued:
                self.process.submit(command)
            self._queued.clear()
            self.process.release()  # a prestarted child waits for this: scheduled and queued commands first
            worker = _Worker(self._process_loop)
        else:
            worker = _Worker(self._thread_loop)
        worker.yielded.connect(self._on_yielded)
        worker.errored.connect(self._on_error)
        worker.finished.connect(self.stopped)
        worker.finished.connect(hold_pool_thread())
        self._worker = worker
        worker.start()

    def is_running(self) -> bool:
        return not self._done.is_set() or (self.process is not None and self.process.is_alive())

    def stop(self, timeout: float = 1.0) -> bool:
        """Stop training (thread and, for the process backend, the child) within about timeout seconds."""
        deadline = time.monotonic() + timeout
        self._stop.set()
        self._ready.set()
        ok = self._done.wait(timeout / 2 if self.process is not None else timeout)
        if self.process is not None:
            ok = self.process.stop(timeout / 2) and ok
            self.process = None
        if self._worker is not None:  # its thread is past the loop: let it finish superqt's last emits
            ok = self._worker.exited.wait(max(0.0, deadline - time.monotonic())) and ok
        self._worker = None
        return ok

    # -------------------------------------------------------------- traffic
    def submit(self, command: Command) -> None:
        """Send a command; one sent before start() (a scene's speed hint) is handed over when the run starts."""
        if self.trainer is not None:
            self.trainer.submit(command)
        elif self.process is not None:
            self.process.submit(command)
        else:
            self._queued.append(command)

    def schedule(self, step: int, command: Command) -> None:
        """Apply command when the run reaches step (scripted scene actions)."""
        self.schedule_all([(step, command)])

    def schedule_all(self, items: list[tuple[int, Command]]) -> None:
        """Schedule (step, command) pairs; on a training thread safely (its schedule is not thread-safe: the
        thread is stopped at a step boundary for it and started again)."""
        if self.trainer is not None and self.is_running():
            with self.stopped_trainer() as trainer:
                for step, command in items:
                    trainer.schedule(step, command)
            return
        for step, command in items:
            if self.trainer is not None:
                self.trainer.schedule(step, command)
            elif self.process is not None:
                self.process.schedule(step, command)
            else:  # the child does not exist yet: hand it over at start()
                self._scheduled.append((step, command))

    # -------------------------------------------------------------- the run's record: log and checkpoints
    @contextlib.contextmanager
    def stopped_trainer(self) -> Iterator[Any]:
        """The thread backend's trainer, with its training thread stopped for the duration."""
        trainer = self.trainer
        if trainer is None:
            raise ExportError("this run trains in another process; use the request API")
        was_running = self.is_running()
        if was_running and not self.stop(timeout=3.0):
            raise ExportError("the training thread did not stop at a step boundary in time; try again")
        try:
            yield trainer
        finally:
            if was_running and not self.closing:
                self.start()

    def request(self, kind: str, arg: Any = None, timeout: float = 15.0) -> Any:
        """Ask the training process (ganviz.core.process REQUESTS), answered at its next step boundary;
        ExportError in words if it cannot answer."""
        from ..core.process import RequestError

        if self.running and 0 < self.steps_per_sec < 1:
            timeout = max(timeout, 10.0 + 3.0 / self.steps_per_sec)  # slow steps (a big network): wait for one
        if self.process is None:
            raise ExportError("training has not started yet")
        try:
            return self.process.request(kind, arg, timeout=timeout)
        except RequestError as e:
            raise ExportError(str(e)) from None

    def run_log(self) -> dict[str, Any]:
        """{"config": the start config, "command_log", "events" (resets), "step"} of this run."""
        if self.trainer is not None:
            with self.stopped_trainer() as t:
                return {"config": self.start_config, "command_log": list(t.command_log),
                        "events": [e for e in t.events if e.kind == EventKind.RESET], "step": t.step}
        if self.process is None:
            return {"config": self.start_config, "command_log": [], "events": [], "step": 0}
        return self.request("command_log")

    def session_record(self, scene: str | None = None) -> Any:
        """This run as a ganviz.export.session.Session (its start config and every live change since)."""
        from ..export.session import session_from_run

        log = self.run_log()
        return session_from_run(log["config"], log["command_log"], log["events"], log["step"], scene,
                                branches=log.get("branches", ()))  # the branch tree (issue 18.5)

    def save_checkpoint(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        """Write the run's state to path at a step boundary; {"path", "step"}. ExportError in words."""
        from ..core.checkpoint import save_checkpoint

        check_target(Path(path), "file")
        if self.trainer is not None:
            with self.stopped_trainer() as t:
                save_checkpoint(t, path)
                return {"path": str(path), "step": t.step}
        return self.request("save_checkpoint", str(path))

    def load_checkpoint(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        """Continue the run from a checkpoint; {"step", "config"}. A bad file is refused before the run is
        touched (ExportError in words)."""
        from ..core.checkpoint import load_checkpoint, read_checkpoint

        read_checkpoint(path)
        if self.trainer is not None:
            with self.stopped_trainer() as t:
                load_checkpoint(t, path)
                return {"step": t.step, "config": t.config}
        return self.request("load_checkpoint", str(path))

    def frame_done(self) -> None:
        """The GUI has drawn the last snapshot; the trainer may send the next."""
        if self.process is not None:
            self.process.frame_done()
        self._ready.set()  # the thread backend's credit; the process backend's "first frame drawn"

    def play_stages(self) -> None:
        """Slow motion (issue 18.2): play the next step as its stages, each emitted as `stage_played` (a
        core.messages.StagePlayed). The process backend's child plays it at its next step boundary; the thread
        backend's trainer is played here with its thread stopped. Pause first: a running engine goes on after it."""
        if self.trainer is None:
            self.submit(PlayStages())
            return
        from ..core.process import stage_messages

        with self.stopped_trainer() as trainer:
            played = list(stage_messages(trainer))
        for message in played:
            self.stage_played.emit(message)

    def _on_yielded(self, snap: Snapshot | RunNotice | None) -> None:
        if isinstance(snap, StagePlayed):
            self.stage_played.emit(snap)
            return
        if isinstance(snap, RunNotice):
            if snap.kind == "failed":
                self.failure, self.stall = snap, ""
                self.failed.emit(snap.message)
            else:
                self.stall = snap.message
                self.stalled.emit(snap.message)
            return
        if snap is not None:
            if getattr(snap, "config", None) is not None:
                self.config = snap.config
            self.device = snap.device
            self.steps_per_sec = float(getattr(snap, "steps_per_sec", 0.0) or 0.0)
            self.running = bool(getattr(snap, "running", True))
            self.snapshot.emit(snap)

    def _on_error(self, exc: Exception) -> None:
        self._done.set()
        message = f"Training stopped with an error: {error_summary(exc)}"
        self.failure = RunNotice("failed", message)
        self.failed.emit(message)
