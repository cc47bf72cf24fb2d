"""A Trainer in a child process: typed commands in, lazy snapshots out, over two pipes. No Qt.

Why a process: the window draws with pyqtgraph, whose paint code is Python and holds the GIL for tens of
milliseconds per frame; a training thread in the same process then waits for the GIL around every torch
op and measured 0.13x of headless speed. In a child process the trainer has its own interpreter and core.
The child is started with 'spawn' (never fork a process that has Qt loaded) and imports only ganviz.core.

Views and metrics are deferred: the child sends frozen weight copies (`ViewState`, ~300 KB) and the
parent computes fields and metrics, so the child spends about a millisecond per snapshot.
Back-pressure by credits: the child sends a snapshot only while fewer than IN_FLIGHT are undrawn (the
parent acknowledges each with `frame_done`), so the parent can materialise one frame while it draws the
other; meanwhile the child keeps training and history accumulates, so nothing is lost.

What the child trains: a TrainConfig builds a Trainer; a list of configs a comparison (CompareTrainer), whose
runs are spread over one process per core (`compare.compare_workers`): the child steps the first group and
merges the snapshots, and the parent starts the other groups' shard processes (a daemon process may not
start children) and hands their pipes to the child; any object with `build()` (`ensemble.EnsembleSpec`)
builds its own engine.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import pickle
import queue
import signal
import threading
import time
import traceback
from typing import Any

from . import messages as M
from . import wire
from .commands import Command, PlayStages
from .config import TrainConfig
from .messages import REQUESTS
from .snapshot import EventKind, Snapshot

PIPE_BYTES = 1 << 20  # snapshot pipe size asked for (Linux's default cap for unprivileged processes)
IN_FLIGHT = 2  # snapshots the parent may hold undrawn: one being drawn, one being materialised
WRITER_FLUSH = 5.0  # seconds an ending child waits for its last messages to be read
HEARTBEAT = 0.5  # seconds between the child's "alive" messages (sent by a thread, so a slow step still beats)
SILENT_SECONDS = 5.0  # no message for this long: the parent says the child is not answering
STOPPED_SECONDS = 2.0  # the child stopped (SIGSTOP, Ctrl+Z) for this long: the parent says so
STARTUP_SECONDS = 60.0  # grace before the first message (spawning and importing torch on a loaded machine)


class ChildFailed(Exception):  # noqa: N818 (reads as what happened: the child failed)
    """The training process died or stopped with an error. `message` says what happened in words;
    `details` holds the child's traceback (if any); `exitcode` is the process's exit code (None: unknown).

    Deliberately not a RuntimeError: superqt's GeneratorWorker takes a RuntimeError for "the worker was deleted"
    and swallows it with a warning, which made a dead child invisible."""

    def __init__(self, message: str, details: str = "", exitcode: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.exitcode = exitcode


def describe_exit(exitcode: int | None) -> str:
    """A process's exit code in words: 'was killed (signal 9, SIGKILL)', 'exited with code 3'."""
    if exitcode is None:
        return "ended (exit code unknown)"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "an unknown signal"
        hint = {"SIGKILL": " — by the user, or by the system when memory ran out",
                "SIGSEGV": " — a crash inside a native library", "SIGTERM": ""}.get(name, "")
        return f"was killed by signal {-exitcode} ({name}){hint}"
    if exitcode == 0:
        return "ended unexpectedly (exit code 0)"
    return f"exited with code {exitcode}"


def error_summary(exc: BaseException) -> str:
    """An exception in words for a person: its message first, the exception's type in brackets."""
    text = str(exc).strip() or "no message"
    return f"{text} ({type(exc).__name__})"


def process_state(pid: int | None) -> str | None:
    """The process's state letter from /proc (R, S, D, T = stopped, t = traced, Z = zombie); None where it cannot
    be read (not Linux, or the process is gone)."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
        return stat[stat.rindex(")") + 2]  # the name in brackets may contain spaces or ')'
    except (OSError, ValueError, IndexError):
        return None


def _child_main(config: Any, cmd_conn: Any, snap_conn: Any, interval: float, metrics_interval: float,
                threads: int, links: list | None = None, hold: bool = False) -> None:
    finished = threading.Event()

    outbox: queue.SimpleQueue = queue.SimpleQueue()  # pickled messages, written to the pipe by one thread, in order
    broken: list[BaseException] = []  # the writer's error (the parent has gone), raised by the next send

    def write() -> None:
        # a snapshot bigger than the pipe (an image run's: ~1.4 MB) waits for the parent's receiver, which reads
        # between materialising frames: written here, the training loop goes on meanwhile (it sat in send ~1 s
        # per frame at the start of an image scene, issue 20)
        while (data := outbox.get()) is not None:
            try:
                snap_conn.send_bytes(data)  # the only writer (no lock: closing must not wait for a blocked write)
            except BaseException as exc:  # noqa: BLE001 (handed to the sending thread)
                broken.append(exc)
                return

    writer = threading.Thread(target=write, name="ganviz-writer", daemon=True)
    writer.start()

    def send(message: Any) -> None:
        if broken:
            raise broken[0]
        outbox.put(wire.dumps(message))  # CPU tensors as numpy arrays: ~10x cheaper on both ends (issue 20)

    def heartbeat() -> None:  # a thread: it beats during a slow step (torch releases the GIL), not when stopped
        while not finished.wait(HEARTBEAT):
            try:
                send(M.Beat())
            except (OSError, ValueError):  # the parent has gone or closed the pipe
                return

    try:
        send(M.Beat())  # the parent hears from the child before torch is imported
    except (OSError, ValueError):
        return  # the parent has gone already
    threading.Thread(target=heartbeat, name="ganviz-heartbeat", daemon=True).start()
    state = {"credits": IN_FLIGHT, "stop": False, "go": not hold}

    def drain() -> None:
        while cmd_conn.poll():
            match cmd_conn.recv():
                case M.Submit(command=PlayStages()):  # slow motion: the next step, stage by stage, now
                    for message in stage_messages(trainer):
                        send(message)
                case M.Submit(command=command):
                    trainer.submit(command)
                case M.Schedule(step=step, command=command):
                    trainer.schedule(step, command)
                case M.FrameDone():
                    state["credits"] = min(IN_FLIGHT, state["credits"] + 1)
                case M.Stop():
                    state["stop"] = True
                case M.Go():
                    state["go"] = True
                case M.Request(kind=kind, req_id=req_id, arg=arg):  # answered at this step boundary
                    try:
                        reply = M.Reply(req_id, True, _answer(trainer, kind, arg, config))
                    except Exception as exc:  # the run goes on; the parent shows the message
                        reply = M.Reply(req_id, False, str(exc) or type(exc).__name__)
                    send(reply)

    def ready() -> bool:
        drain()
        return state["credits"] > 0 and not state["stop"]

    trainer: Any = None
    try:
        prefetch_data(config)  # built-in images render (numpy) while torch imports
        import torch  # inside the try: a broken install is reported in words too

        from .trainer import Trainer

        torch.set_num_threads(max(1, threads))
        if isinstance(config, (list, tuple)):  # compare mode: several configs in lock-step
            from .compare import CompareTrainer

            trainer = CompareTrainer(config, links=links or (), threads=threads)
        elif hasattr(config, "build"):  # e.g. ensemble.EnsembleSpec
            trainer = config.build()
        else:
            trainer = Trainer(config)
            from .branches import LiveTimeline  # the window's timeline: past states, branches (issue 18.5)

            trainer.timeline = LiveTimeline(trainer)
            trainer.step_hook = trainer.timeline.record
        drain()  # commands sent while this process was starting apply before its first step
        while not state["go"] and not state["stop"]:  # prestarted: built, and waiting for its window
            cmd_conn.poll(0.05)
            drain()
        first = True
        for snap in trainer.run(snapshot_interval=interval, metrics_interval=metrics_interval, ready=ready,
                                defer_metrics=True):
            if state["stop"]:
                break
            if snap is None:
                continue
            state["credits"] -= 1
            if first:
                first, snap = False, first_frame(snap)
            snap.prepare_transfer()  # lazy weight copies to the CPU: the parent evaluates views there
            # a plain pickle, tensors inline (~0.3 MB a run): torch's multiprocessing pickler would move each
            # tensor to shared memory and pass its descriptor over a socket, served by a thread of this
            # process: measured 3.0-3.3 ms of this process's CPU per snapshot against 1.1-1.3 ms
            send(M.SnapshotReady(snap))
    except (KeyboardInterrupt, BrokenPipeError, EOFError):
        pass
    except Exception as exc:  # report, then exit: the parent keeps the window and the history
        with contextlib.suppress(BrokenPipeError, OSError, ValueError, pickle.PicklingError):
            send(M.Failed(error_summary(exc), traceback.format_exc(limit=6)))
    finally:
        finished.set()
        if hasattr(trainer, "close"):
            with contextlib.suppress(Exception):
                trainer.close()  # a comparison's shard processes
        outbox.put(None)  # what was sent (a failure's message) reaches the parent before the pipe closes; on a
        writer.join(0.2 if state["stop"] else WRITER_FLUSH)  # stop the parent reads no more: do not wait for it
        if not writer.is_alive():  # else the exit closes the pipe (a write blocked in the writer keeps it open)
            snap_conn.close()


def stage_messages(engine: Any) -> Any:
    """Slow motion (issue 18.2): the engine's next step played as its stages (core.stages.slow_step), as
    StagePlayed messages; one refusal, in words, for an engine that cannot (a comparison, an ensemble, images)."""
    from .stages import slow_step
    from .trainer import Trainer

    if not isinstance(engine, Trainer) or engine.is_image:
        what = "image data" if isinstance(engine, Trainer) else "a comparison or an ensemble"
        yield M.StagePlayed(None, refused=f"slow motion plays one run on 1D or 2D data, not {what}")
        return
    for stage, field in slow_step(engine):
        yield M.StagePlayed(stage, field)


def prefetch_data(config: Any) -> threading.Thread | None:
    """For built-in image data (digits, shapes), load or render the image bank in a thread now: numpy work that
    overlaps the training process's torch import on a fresh cache (the Trainer then finds it ready); None for
    other data (issue 20)."""
    if not isinstance(config, TrainConfig) or config.data not in ("digits", "shapes"):
        return None

    def load() -> None:
        from .images.distribution import builtin

        with contextlib.suppress(Exception):  # the Trainer will build it (and report a failure) itself
            builtin(config.data)

    thread = threading.Thread(target=load, name="ganviz-prefetch", daemon=True)
    thread.start()
    return thread


def first_frame(snap: Any) -> Any:
    """A run's first snapshot, with its views computed here and its metrics left to the next one: it crosses the
    pipe as numpy arrays only, so the window draws it before it has imported torch itself (issue 20). Later
    snapshots stay lazy (the window evaluates them). An image run's first frame has its grids but no class labels
    (the window loads the classifier); other engines' snapshots pass unchanged."""
    import dataclasses

    from .fields import ViewState
    from .images.views import ImageViewState

    lazy = getattr(snap, "lazy", None)
    source = getattr(lazy, "source", None)
    if not isinstance(snap, Snapshot):
        return snap
    if isinstance(source, ImageViewState):  # without it the window imported torch to draw the first image frame
        return dataclasses.replace(snap, **source.compute_views(labels=False), lazy=None)
    if not isinstance(source, ViewState):
        return snap
    lazy.source.metrics_step = None  # metrics need scipy; the next metrics snapshot brings them
    return snap.materialized()


# Requests the parent may send with `TrainerProcess.request` (messages.REQUESTS); the child answers each with a
# messages.Reply(req_id, ok, result) on the snapshot pipe, at a step boundary. Added for ganviz.export (sessions
# and checkpoints):
#   "command_log"     -> {"config": the config the child's trainer was built with, "command_log": [(step,
#                         Command)], "events": the reset events, "step": current step}
#   "save_checkpoint" -> the child writes a checkpoint to the path given (ganviz.core.checkpoint) and logs a
#                        "checkpoint" event; result {"path", "step"}
#   "load_checkpoint" -> the child loads one (the run continues from it; a "reset" event marks it); result
#                        {"step", "config"}
#   "timeline", "past", "branch", "pin" -> the window's timeline (issue 18.5), see core.branches.LiveTimeline


def _answer(trainer: Any, kind: str, arg: Any, initial_config: TrainConfig) -> Any:
    timeline = getattr(trainer, "timeline", None)  # issue 18.5: "timeline" (arg: a new cap or None), "past"
    if kind in ("timeline", "past", "branch", "pin"):  # (arg: a step), "branch" (arg: a step), "pin" (steps)
        if timeline is None:
            raise ValueError("this run keeps no past states (comparisons and ensembles have no timeline)")
        return timeline.info(arg) if kind == "timeline" else getattr(timeline, kind)(arg)
    if kind == "command_log" and timeline is not None:  # the current line's history as one straight run
        return timeline.run_log(initial_config)
    if kind == "command_log":
        return {"config": initial_config, "command_log": list(trainer.command_log),
                "events": [e for e in trainer.events if e.kind == EventKind.RESET], "step": trainer.step}
    if kind == "save_checkpoint":
        from .checkpoint import save_checkpoint  # torch only, no Qt

        path = save_checkpoint(trainer, arg)
        return {"path": str(path), "step": trainer.step}
    from .checkpoint import load_checkpoint

    load_checkpoint(trainer, arg)
    return {"step": trainer.step, "config": trainer.config}


def _widen_pipe(conn: Any, size: int = PIPE_BYTES) -> None:
    """Let a whole snapshot (~0.3 MB) fit in the snapshot pipe, so the child's write returns at once instead
    of waiting for the parent's reader thread, which waits for the GIL while the GUI thread paints: with the
    default 64 KB pipe the child sat idle 14% of the time (0.86 of a core busy; 0.93 with 1 MB). Linux only
    (F_SETPIPE_SZ, up to /proc/sys/fs/pipe-max-size); elsewhere, or if refused, the pipe stays as it is."""
    try:
        import fcntl

        fcntl.fcntl(conn.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), size)
    except (ImportError, OSError, AttributeError):
        pass


def end_process(process: Any, timeout: float) -> bool:
    """Terminate a process that has not ended, escalating to SIGKILL: a stopped process (SIGSTOP) ignores SIGTERM
    until continued, and multiprocessing would wait for it with no timeout (at exit, for ever)."""
    if process.pid is None or not process.is_alive():
        return True
    if process_state(process.pid) not in ("T", "t"):  # a stopped process would only wait for SIGCONT
        process.terminate()
        process.join(timeout / 2)
    if process.is_alive():
        process.kill()  # SIGKILL also ends a stopped process
        process.join(max(timeout / 2, 0.5))  # reaping a killed process is quick; allow for a loaded machine
    return not process.is_alive()


_PRESTARTED: list[TrainerProcess] = []


def prestart(config: TrainConfig, interval: float, metrics_interval: float = 0.5, threads: int = 1) -> None:
    """Start the training process for config now, before the window that will own it is built: it imports
    torch and builds its Trainer on another core while this process builds the window, then waits until a
    TrainingSession adopts it (`take_prestarted`) and releases it (issue 20)."""
    process = TrainerProcess(config, interval, metrics_interval, threads, hold=True)
    process.start()
    _PRESTARTED.append(process)


def take_prestarted(config: Any, interval: float, metrics_interval: float,
                    threads: int) -> TrainerProcess | None:
    """The prestarted process, if it was started for exactly this run (else it is stopped: it must not train
    a config nobody asked for any more); None when there is none."""
    while _PRESTARTED:
        process = _PRESTARTED.pop()
        if (isinstance(config, TrainConfig) and process.config == config and process.settings ==
                (interval, metrics_interval, threads) and process.process.is_alive()):
            return process
        process.stop(0.5)
    return None


class RequestError(RuntimeError):
    """A request to the training process failed (the message says why) or got no answer in time."""


class TrainerProcess:
    """Owns the child process. All methods are called from the parent."""

    def __init__(self, config: Any, interval: float = 0.04, metrics_interval: float = 0.5,
                 threads: int = 1, workers: int | None = None, hold: bool = False) -> None:
        """config: a TrainConfig, a list of them (a comparison; `workers` processes, default one per core up
        to one per run), or an object with build() (e.g. ensemble.EnsembleSpec). hold: the child builds its
        engine and then waits for `release()` before it trains (a process started ahead of its window)."""
        ctx = mp.get_context("spawn")
        self._ctx = ctx
        self._cmd, cmd_child = ctx.Pipe()
        self._snaps, snap_child = ctx.Pipe(duplex=False)
        _widen_pipe(snap_child)
        self._lock = threading.Lock()
        self._links: list = []  # filled by start() for a comparison in shard processes
        self._shards: list = []
        self._groups: list[list[int]] = []
        if isinstance(config, (list, tuple)):
            from .compare import compare_workers, split_runs

            self._groups = split_runs(len(config), compare_workers(len(config)) if workers is None else workers)
        self.threads = threads
        self.process = ctx.Process(target=_child_main, name="ganviz-trainer", daemon=True,
                                   args=(config, cmd_child, snap_child, interval, metrics_interval, threads,
                                         self._links, hold))
        self.settings = (interval, metrics_interval, threads)
        self._child_ends = (cmd_child, snap_child)
        self.config = config  # what the child's trainer is built from
        self._recv_lock = threading.Lock()  # one reader of the snapshot pipe at a time
        self._replies: dict[int, tuple[bool, Any]] = {}
        self._reply_ready = threading.Condition()
        self._next_request = 0
        self._stash: list[Snapshot] = []  # snapshots read by request() while nobody else was receiving
        self.last_heard: float | None = None  # monotonic time of the child's last message (heartbeats included)
        self.started_at: float | None = None
        self._stopped_since: float | None = None
        self._failure: ChildFailed | None = None  # met by request() while reading the pipe for its answer

    @property
    def workers(self) -> int:
        """Processes training: 1, or for a comparison one per group of runs."""
        return max(1, len(self._groups))

    def start(self) -> None:
        if self.started_at is not None:  # already started (a prestarted process, adopted)
            return
        if len(self._groups) > 1:
            from .compare import start_shards

            links, self._shards = start_shards(self.config, self._groups[1:], self.threads, self._ctx)
            self._links.extend(links)
        self.started_at = time.monotonic()
        self.process.start()
        for conn in [*self._child_ends, *(link.conn for link in self._links)]:
            conn.close()  # the parent keeps only its own ends, so EOF is seen if a child dies

    def _send(self, message: Any) -> None:
        with self._lock, contextlib.suppress(BrokenPipeError, OSError):
            self._cmd.send(message)

    def submit(self, command: Command) -> None:
        self._send(M.Submit(command))

    def schedule(self, step: int, command: Command) -> None:
        self._send(M.Schedule(step, command))

    def frame_done(self) -> None:
        self._send(M.FrameDone())

    def release(self) -> None:
        """Let a child started with hold=True train (commands sent before this apply first); else no effect."""
        self._send(M.Go())

    def receive(self, timeout: float) -> Snapshot | None:
        """The next snapshot, or None if none arrived within timeout (or a heartbeat did). Raises ChildFailed if
        the child reported an error or died. Replies to requests are filed for `request()` (and None is returned)."""
        with self._recv_lock:  # request() fills the stash under this lock: looked at under it too, or a snapshot
            if self._stash:  # stashed while this call waited for the lock would come after the next one read
                return self._stash.pop(0)  # (a paused frame of a line just left, drawn after the branch's first)
            if self._failure is not None:
                raise self._failure
            return self._receive(timeout)

    def _receive(self, timeout: float) -> Snapshot | None:
        try:
            if not self._snaps.poll(timeout):
                return None
            message = self._snaps.recv()
        except (EOFError, OSError, pickle.UnpicklingError, ValueError) as e:
            self.process.join(3.0)  # a closed pipe: the child is ending (torch's teardown); its exit code tells how
            code = self.process.exitcode
            details = "" if isinstance(e, (EOFError, OSError)) else f"{type(e).__name__}: {e}"
            if code is None:
                raise ChildFailed("The training process stopped sending (its pipe broke or carried garbage); "
                                  "it was still running and has been told to stop.", details) from None
            raise ChildFailed(f"The training process {describe_exit(code)}.", details, code) from None
        self.last_heard = time.monotonic()
        match message:
            case M.SnapshotReady(snapshot=snapshot):
                return snapshot
            case M.StagePlayed():  # slow motion: the session hands it to the window as it is
                return message
            case M.Beat():
                return None
            case M.Failed(summary=summary, details=details):
                raise ChildFailed(f"Training stopped with an error: {summary}", details)
            case M.Reply(req_id=req_id, ok=ok, result=result):
                with self._reply_ready:
                    self._replies[req_id] = (ok, result)
                    self._reply_ready.notify_all()
                return None
        raise ChildFailed("The training process sent a message this window does not know "
                          f"({type(message).__name__}); it has been told to stop.")

    def request(self, kind: str, arg: Any = None, timeout: float = 10.0) -> Any:
        """Ask the child (see REQUESTS) and wait for its answer; RequestError if it failed or timed out.

        The answer arrives on the snapshot pipe: whoever is calling receive() (the session's worker thread)
        files it; when nobody is, this call reads the pipe itself and keeps the snapshots it meets for the
        next receive()."""
        import time

        if kind not in REQUESTS:
            raise ValueError(f"unknown request {kind!r}; known: {', '.join(REQUESTS)}")
        if not self.is_alive():
            raise RequestError("the training process is not running")
        with self._reply_ready:
            self._next_request += 1
            req_id = self._next_request
        self._send(M.Request(kind, req_id, arg))
        deadline = time.monotonic() + timeout
        while True:
            with self._reply_ready:
                if req_id in self._replies:
                    ok, result = self._replies.pop(req_id)
                    if not ok:
                        raise RequestError(str(result))
                    return result
            left = deadline - time.monotonic()
            if left <= 0 or not self.is_alive():
                raise RequestError(f"the training process did not answer {kind!r} within {timeout:g} s")
            if self._recv_lock.acquire(blocking=False):
                try:
                    snap = self._receive(min(left, 0.02))
                    if snap is not None:  # kept in order: stashed before the lock goes (see receive)
                        self._stash.append(snap)
                except ChildFailed as e:  # kept for the next receive(): whoever trains must hear of it too
                    self._failure = e
                    raise RequestError(e.message) from None
                finally:
                    self._recv_lock.release()
            else:
                with self._reply_ready:
                    if req_id not in self._replies:
                        self._reply_ready.wait(min(left, 0.05))

    def is_alive(self) -> bool:
        return self.process.is_alive() or any(p.is_alive() for p in self._shards)

    def stall(self, now: float | None = None) -> str | None:
        """None while the child answers; else what is wrong, in words: stopped by a signal (SIGSTOP, Ctrl+Z) for
        STOPPED_SECONDS, or silent for SILENT_SECONDS (STARTUP_SECONDS before its first message)."""
        now = time.monotonic() if now is None else now
        if self.started_at is None or not self.process.is_alive():
            return None
        pid = self.process.pid
        if process_state(pid) in ("T", "t"):
            self._stopped_since = self._stopped_since or now
            if now - self._stopped_since >= STOPPED_SECONDS:
                return (f"The training process (pid {pid}) is stopped — suspended by a signal such as SIGSTOP or "
                        f"Ctrl+Z — so nothing trains. It goes on if continued (kill -CONT {pid}); Reset starts a "
                        "new one.")
            return None
        self._stopped_since = None
        heard = self.last_heard if self.last_heard is not None else self.started_at
        limit = SILENT_SECONDS if self.last_heard is not None else STARTUP_SECONDS
        if now - heard >= limit:
            return (f"The training process (pid {pid}) has not answered for {now - heard:.0f} s: it may be hung "
                    "or the machine overloaded. Reset starts a new one.")
        return None

    def stop(self, timeout: float = 1.0) -> bool:
        """Ask the child to stop, wait, and terminate it if it has not ended in time."""
        if self.process.pid is None:
            return True
        self._send(M.Stop())
        share = 0.6 if self._shards else 0.7
        if process_state(self.process.pid) not in ("T", "t"):  # stopped (SIGSTOP): it cannot stop by itself
            self.process.join(timeout * share)
        end_process(self.process, timeout * 0.2)
        ok = True
        if self._shards:  # told to stop by the child; a terminated child's closed pipes end them too
            from .compare import stop_shards

            ok = stop_shards(self._shards, timeout * 0.2)
        for conn in (self._cmd, self._snaps):
            conn.close()
        return not self.process.is_alive() and ok
