"""The shard machinery of a comparison (core.compare): run groups stepped in this process or in a shard process.

A `_LocalGroup` steps its Trainers one after the other. A shard process (`start_shards`) runs one `_LocalGroup`
driven over a pipe by the coordinator's `_RemoteGroup` with the frozen messages of core.messages: the steps
(`Iterate`, `Manual`), settings (`Apply`), snapshots (`Snap` -> `Snaps`), play / pause, and the engine
protocol's calls on its runs (`MoveRuns`, `RollBack`, `Rebuild`, `LogEvent`, `GetStates`, `LoadStates`,
`RevertStates` -> `Done` / `Refused`). A pipe keeps order, so a call lands after every step sent before it.
A shard that has ended (killed, crashed) makes the coordinator's next read or write raise RuntimeError.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing as mp
import os
import pickle
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from . import messages as msg
from . import wire
from .commands import Command
from .config import TrainConfig
from .engine import DeviceError, unchanged_on_error
from .snapshot import Event, Snapshot
from .trainer import Trainer

MAX_LAG = 16  # steps a shard may trail the coordinator before it waits
ENDED = "a compare run's process has ended (killed or crashed); close the comparison and start it again"


class _LocalGroup:
    """Trainers stepped one after the other in this process (the whole comparison when workers = 1)."""

    def __init__(self, configs: Sequence[TrainConfig]) -> None:
        self.runs = [Trainer(c) for c in configs]
        self._snaps: list[Snapshot] = []
        self._before: list[dict[str, Any]] | None = None  # the runs before the last load_states

    def submit(self, i: int, cmd: Command) -> None:
        self.runs[i].submit(cmd)

    def apply(self) -> None:
        for r in self.runs:
            r.apply_pending()  # runs get no manual commands: those are run by the comparison, in lock-step

    def manual(self, cmd: Command) -> None:
        for r in self.runs:
            r.run_manual(cmd)

    def iteration(self) -> None:
        for r in self.runs:
            r.iteration()

    def request_snapshots(self, kwargs: dict) -> None:
        self._snaps = [r.snapshot(**kwargs) for r in self.runs]

    def snapshots(self) -> list[Any]:
        snaps, self._snaps = self._snaps, []
        return snaps

    def set_running(self, running: bool) -> None:
        for r in self.runs:
            r.running = running

    def has_news(self) -> bool:
        return any(r.has_news() for r in self.runs)

    def has_unsent_rows(self) -> bool:
        return any(r.has_unsent_rows() for r in self.runs)

    # the engine protocol on every run of the group (in a shard: answered with Done or Refused)
    def to(self, device: str, reseed: bool | None) -> list[list[str]]:
        return [r.to(device, reseed=reseed) for r in self.runs]

    def rollback(self) -> list[int]:
        return [r.rollback() for r in self.runs]

    def rebuild(self) -> None:
        for r in self.runs:
            r.rebuild()

    def log(self, kind: str, label: str, detail: dict) -> list[Event]:
        return [r.log(kind, label, **detail) for r in self.runs]

    def state_dicts(self) -> list[dict[str, Any]]:
        return [r.state_dict() for r in self.runs]

    def load_states(self, states: Sequence[dict[str, Any]]) -> list[bool]:
        """One state per run, all or none (a state that does not fit leaves every run as it was); the runs'
        previous state is kept until `forget_states`, so `revert_states` can undo a load that succeeded."""
        if len(states) != len(self.runs):
            raise ValueError(f"{len(states)} states for {len(self.runs)} runs")
        before = [dict(vars(r)) for r in self.runs]
        with contextlib.ExitStack() as stack:
            for r in self.runs:
                stack.enter_context(unchanged_on_error(r))
            restored = [r.load_state_dict(s) for r, s in zip(self.runs, states, strict=True)]
        self._before = before
        return restored

    def revert_states(self) -> None:
        """Undo the last load_states (load_state_dict puts new objects in place, so the old ones are intact)."""
        for r, before in zip(self.runs, self._before or [], strict=False):
            vars(r).clear()
            vars(r).update(before)
        self._before = None

    def forget_states(self) -> None:
        self._before = None


_CALLS = {  # a shard's protocol calls: what each does to its group
    msg.MoveRuns: lambda g, m: g.to(m.device, m.reseed),
    msg.RollBack: lambda g, m: g.rollback(),
    msg.Rebuild: lambda g, m: g.rebuild(),
    msg.GetStates: lambda g, m: g.state_dicts(),
    msg.LoadStates: lambda g, m: g.load_states(m.states),
    msg.RevertStates: lambda g, m: g.revert_states(),
}


def _send_plain(conn: Any, message: Any) -> None:
    """A message as one plain pickle (tensors' bytes inline): torch's multiprocessing pickler would put every
    tensor in shared memory and pass one descriptor per tensor over a socket, which measured 5x slower."""
    conn.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def _answer(conn: Any, group: _LocalGroup, call: Any) -> None:
    """Run a protocol call on the shard's runs and answer Done(result), or Refused: the shard goes on."""
    try:
        reply: Any = msg.Done(_CALLS[type(call)](group, call))
    except Exception as exc:
        reply = msg.Refused(type(exc).__name__, str(exc))
    _send_plain(conn, reply)


_ERRORS: dict[str, type[Exception]] = {"DeviceError": DeviceError, "ValueError": ValueError, "KeyError": KeyError,
                                       "TypeError": TypeError, "OutOfMemoryError": torch.cuda.OutOfMemoryError}


def refused_error(refused: msg.Refused) -> Exception:
    """The error a shard refused a call with, as its own class where known (RuntimeError otherwise)."""
    return _ERRORS.get(refused.error, RuntimeError)(refused.message)


def _shard_main(configs: list[TrainConfig], conn: Any, progress: Any, threads: int) -> None:
    """A shard process: a _LocalGroup driven by the coordinator's stream (see _RemoteGroup)."""
    import torch

    torch.set_num_threads(max(1, threads))
    try:
        group = _LocalGroup(configs)
        conn.send(msg.Ready())
        done = 0
        while True:
            message = conn.recv()
            if not isinstance(message, msg.RevertStates):
                group.forget_states()  # a load is undone right after its answer, or never
            match message:
                case msg.Iterate():
                    group.iteration()
                case msg.Apply(commands=commands):
                    for i, cmd in commands:
                        group.submit(i, cmd)
                    group.apply()
                    continue
                case msg.Manual(command=command):
                    group.manual(command)
                case msg.Snap(kwargs=kwargs):
                    group.request_snapshots(kwargs)
                    snaps = group.snapshots()
                    for s in snaps:
                        s.prepare_transfer()
                    # plain pickles (the tensors' bytes inline, about 0.3 MB a run): torch's multiprocessing
                    # pickler would put every tensor in shared memory and pass one descriptor per tensor over a
                    # socket, which measured 5x slower per snapshot. The coordinator forwards them undecoded.
                    blobs = tuple((sn.running, wire.dumps(sn)) for sn in snaps)  # tensors as numpy (wire.py)
                    conn.send_bytes(pickle.dumps(msg.Snaps(blobs), protocol=pickle.HIGHEST_PROTOCOL))
                    continue
                case msg.SetShardRunning(running=running):
                    group.set_running(running)
                    continue
                case msg.LogEvent(kind=kind, label=label, detail=detail):
                    group.log(kind, label, detail)
                    continue
                case msg.MoveRuns() | msg.RollBack() | msg.Rebuild() | msg.GetStates() | msg.LoadStates() \
                        | msg.RevertStates():
                    _answer(conn, group, message)
                    continue
                case msg.Stop():
                    break
            done += 1
            progress.value = done
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass
    except Exception as exc:  # the coordinator raises it at its next read
        with contextlib.suppress(BrokenPipeError, OSError):
            conn.send(msg.Failed(f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=3)))
    finally:
        conn.close()


def _shard_process(configs: list[TrainConfig], conn: Any, progress: Any, threads: int) -> None:
    _shard_main(configs, conn, progress, threads)
    os._exit(0)  # nothing to save or flush; interpreter teardown with torch loaded takes a second or more


@dataclass
class ShardLink:
    """The coordinator's end of one shard process: its pipe, its progress counter and its runs' indices.
    Picklable at process start, so a parent may spawn the shards and hand the links to a coordinator."""

    conn: Any
    progress: Any  # multiprocessing RawValue("q"): iterations the shard has completed
    indices: list[int]


def start_shards(configs: Sequence[TrainConfig], groups: Sequence[Sequence[int]], threads: int = 1,
                 ctx: Any = None) -> tuple[list[ShardLink], list[Any]]:
    """Spawn one shard process per group (daemons); returns the coordinator's links and the processes.
    The caller passes the links to the coordinator (or keeps them) and must close() its copies of the
    links' pipes once the coordinator has started elsewhere."""
    ctx = ctx or mp.get_context("spawn")
    links, procs = [], []
    for idx in groups:
        mine, theirs = ctx.Pipe()
        progress = ctx.RawValue("q", 0)
        p = ctx.Process(target=_shard_process, name="ganviz-compare-run", daemon=True,
                        args=([configs[i] for i in idx], theirs, progress, threads))
        p.start()
        theirs.close()
        links.append(ShardLink(mine, progress, list(idx)))
        procs.append(p)
    return links, procs


def _decode_snapshot(data: bytes, running: bool) -> Snapshot:
    snap = pickle.loads(data)
    return snap if snap.running == running else dataclasses.replace(snap, running=running)


def _same(obj: Any) -> Any:
    return obj


class RemoteSnapshot:
    """A shard's snapshot as it arrived: pickled bytes, decoded on first attribute access (then it behaves as
    the Snapshot). Pickled again, to the window's process, an undecoded one passes its bytes on as they are
    and arrives there as a plain Snapshot, so the coordinator never decodes what it only forwards."""

    def __init__(self, data: bytes, running: bool) -> None:
        self._data: bytes | None = data
        self._snap: Snapshot | None = None
        self.running = running  # known without decoding (a diverged run pauses the comparison)

    def paused(self) -> Snapshot | RemoteSnapshot:
        """This snapshot with running=False (still undecoded if it was)."""
        if self._snap is None:
            self.running = False
            return self
        return dataclasses.replace(self._snap, running=False)

    def decoded(self) -> Snapshot:
        if self._snap is None:
            assert self._data is not None
            self._snap = _decode_snapshot(self._data, self.running)
            self._data = None
        return self._snap

    def prepare_transfer(self) -> None:
        if self._snap is not None:  # undecoded bytes are ready as they are
            self._snap.prepare_transfer()

    def __getattr__(self, name: str) -> Any:  # only for what is not set in __init__
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.decoded(), name)

    def __reduce__(self) -> tuple:
        if self._snap is None:
            return _decode_snapshot, (self._data, self.running)
        return _same, (self._snap,)


def stop_shards(procs: Sequence[Any], timeout: float = 0.5) -> bool:
    """Wait up to timeout for shard processes to end (they end when told to, or when their coordinator's
    pipe closes), then terminate the rest: a shard holds nothing that needs saving."""
    deadline = time.monotonic() + timeout
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
    from .process import end_process

    for p in procs:
        end_process(p, 0.2)  # SIGTERM, then SIGKILL (a stopped shard ignores SIGTERM)
    return not any(p.is_alive() for p in procs)


_ITERATE = msg.Iterate()


class _RemoteGroup:
    """The coordinator's proxy of a shard: forwards the stream and keeps the shard within MAX_LAG steps."""

    def __init__(self, link: ShardLink) -> None:
        self.link = link
        self.sent = 0  # steps sent (iterations and manual steps)
        self._pending: list[tuple[int, Command]] = []
        self.news = False

    def _send(self, message: Any) -> None:
        try:
            self.link.conn.send(message)
        except (BrokenPipeError, OSError):
            self._check(0.0)
            raise RuntimeError(f"{ENDED} (runs {self.link.indices})") from None

    def call(self, message: Any) -> None:
        """Send a protocol call (MoveRuns, ..., LoadStates); read its answer with `answer`."""
        try:
            _send_plain(self.link.conn, message)
        except (BrokenPipeError, OSError):
            self._check(0.0)
            raise RuntimeError(f"{ENDED} (runs {self.link.indices})") from None

    def answer(self) -> Any:
        """The result of the call sent last; raises the error it was refused with, or RuntimeError when the shard
        has ended (polled every second, so a killed shard is noticed, not waited for)."""
        while True:
            message = self._check(1.0)
            if isinstance(message, msg.Done):
                return message.result
            if isinstance(message, msg.Refused):
                raise refused_error(message)

    def log(self, kind: str, label: str, detail: dict) -> None:
        self._send(msg.LogEvent(kind, label, detail))
        self.news = True

    def _check(self, timeout: float) -> Any:
        """The shard's next message within timeout, or None; raises the shard's error."""
        try:
            if not self.link.conn.poll(timeout):
                return None
            message = self.link.conn.recv()
        except (EOFError, OSError):
            raise RuntimeError(f"{ENDED} (runs {self.link.indices})") from None
        if isinstance(message, msg.Failed):
            raise RuntimeError(f"{message.summary}\n{message.details}")
        return message

    def wait(self, kind: type) -> Any:
        """Block until the shard sends a message of this class; the message."""
        while True:
            message = self._check(1.0)
            if isinstance(message, kind):
                return message

    def submit(self, i: int, cmd: Command) -> None:
        self._pending.append((i, cmd))
        self.news = True

    def apply(self) -> None:
        if self._pending:
            self._send(msg.Apply(tuple(self._pending)))
            self._pending = []

    def _step(self, message: Any) -> None:
        while self.sent - self.link.progress.value >= MAX_LAG:
            self._check(0.0005)
        self._send(message)
        self.sent += 1

    def manual(self, cmd: Command) -> None:
        self._step(msg.Manual(cmd))
        self.news = True

    def iteration(self) -> None:
        self._step(_ITERATE)

    def request_snapshots(self, kwargs: dict) -> None:
        self._send(msg.Snap(kwargs))

    def snapshots(self) -> list[RemoteSnapshot]:
        blobs = self.wait(msg.Snaps).blobs
        self.news = False
        return [RemoteSnapshot(data, running) for running, data in blobs]

    def set_running(self, running: bool) -> None:
        self._send(msg.SetShardRunning(running))

    def has_news(self) -> bool:
        return self.news

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self.link.conn.send(msg.Stop())
        self.link.conn.close()


def _paused(snap: Snapshot | RemoteSnapshot) -> Snapshot | RemoteSnapshot:
    return snap.paused() if isinstance(snap, RemoteSnapshot) else dataclasses.replace(snap, running=False)


