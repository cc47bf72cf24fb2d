"""Compare mode: two to four Trainers in lock-step: same data, same seed, same initial weights, each
with its own objective (or any other setting).

Each run is an ordinary, independent Trainer (its own RNG streams; nothing shared), so a run inside a
comparison is bit-identical to the same config trained alone with the same commands. Play / pause /
speed / step / reset are global; `ForRun(i, cmd)` sends a setting to one run, any other setting goes to all.

Parallel runs (issue 9). Stepped one after the other in one process, each of n runs gets 1/n of a core.
With `workers=k > 1` the runs are split into k groups: the first group steps in this process and every
other group in a shard process of its own (spawned; `ganviz.core` only), so the groups step in parallel on
separate cores. Every group receives the same ordered stream: "one iteration", "apply these commands",
"manual step", "snapshot". A pipe keeps order, so each command lands at exactly the step boundary where it
was given, and a run in a shard stays bit-identical to the same run trained alone. A shard may lag behind
by at most MAX_LAG steps; a snapshot is a barrier (every group snapshots at the same step), so the panes
stay in lock-step. `compare_workers(n)` picks k: one group per run up to the cores this process may use;
with one core, parallel buys nothing and k = 1.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing as mp
import os
import pickle
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from . import messages as msg
from .commands import MANUAL, ClearSchedule, Command, Reset, SetRunning, SetSpeed
from .config import TrainConfig
from .engine import CommandInbox, Stepper, check_device, unchanged_on_error
from .loop import run_loop
from .snapshot import Event, Snapshot
from .trainer import Trainer

MAX_RUNS = 4
MAX_LAG = 16  # steps a shard may trail the coordinator before it waits


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


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def compare_workers(n_runs: int, cores: int | None = None) -> int:
    """How many groups (processes) n runs are spread over: one per run, at most one per core; 1 = all in
    this process, one after the other (with one core, parallel buys nothing)."""
    return max(1, min(n_runs, available_cores() if cores is None else cores))


def split_runs(n_runs: int, workers: int) -> list[list[int]]:
    """Run indices per group, as even as possible; the first group (the coordinator's, which also merges the
    snapshots) gets the fewest."""
    sizes = [n_runs // workers + (1 if i < n_runs % workers else 0) for i in range(workers)][::-1]
    out, start = [], 0
    for s in sizes:
        out.append(list(range(start, start + s)))
        start += s
    return out


# ----------------------------------------------------------------------------------------- run groups

class _LocalGroup:
    """Trainers stepped one after the other in this process (the whole comparison when workers = 1)."""

    def __init__(self, configs: Sequence[TrainConfig]) -> None:
        self.runs = [Trainer(c) for c in configs]
        self._snaps: list[Snapshot] = []

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


def _shard_main(configs: list[TrainConfig], conn: Any, progress: Any, threads: int) -> None:
    """A shard process: a _LocalGroup driven by the coordinator's stream (see _RemoteGroup)."""
    import torch

    torch.set_num_threads(max(1, threads))
    try:
        group = _LocalGroup(configs)
        conn.send(msg.Ready())
        done = 0
        while True:
            match conn.recv():
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
                    blobs = tuple((sn.running, pickle.dumps(sn, protocol=pickle.HIGHEST_PROTOCOL)) for sn in snaps)
                    conn.send_bytes(pickle.dumps(msg.Snaps(blobs), protocol=pickle.HIGHEST_PROTOCOL))
                    continue
                case msg.SetShardRunning(running=running):
                    group.set_running(running)
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
            raise RuntimeError("a compare run's process has ended") from None

    def _check(self, timeout: float) -> Any:
        """The shard's next message within timeout, or None; raises the shard's error."""
        try:
            if not self.link.conn.poll(timeout):
                return None
            message = self.link.conn.recv()
        except (EOFError, OSError):
            raise RuntimeError("a compare run's process has ended") from None
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


# ----------------------------------------------------------------------------------------- the engine

class CompareTrainer(Stepper):
    """Several Trainers stepped in lock-step: a composite engine (ganviz.core.engine.Engine) whose runs are
    engines too, reached only through that protocol.

    workers=1 (the default): every run steps in this process, one after the other; `runs` are the Trainers.
    workers=k > 1: runs are split into k groups (`split_runs`); `runs` are then only this process's group,
    and the others step in shard processes, either spawned here or given as `links` (`start_shards`, for a
    coordinator that is itself a daemon process and may not start children). Call close() when done.
    Moving devices, rolling back, rebuilding and logging act on this process's runs; state_dict and
    load_state_dict need every run here (workers=1)."""

    def __init__(self, configs: Sequence[TrainConfig], workers: int = 1, links: Sequence[ShardLink] | None = None,
                 threads: int = 1) -> None:
        if not 2 <= len(configs) <= MAX_RUNS:
            raise ValueError(f"compare mode takes 2 to {MAX_RUNS} runs, got {len(configs)}")
        for c in configs:
            c.validate()  # fail here, not in a shard
        self.n_runs = len(configs)
        self._procs: list[Any] = []
        if links is None and workers > 1:
            groups = split_runs(len(configs), min(workers, len(configs)))
            links, self._procs = start_shards(configs, groups[1:], threads)
        try:
            self._setup(configs, links or ())
        except BaseException:
            for link in links or ():
                link.conn.close()
            stop_shards(self._procs, 0.5)
            raise
        self._inbox = CommandInbox()
        self._running = True
        self.steps_per_sec_limit: float | None = None

    def _setup(self, configs: Sequence[TrainConfig], links: Sequence[ShardLink]) -> None:
        remote_idx = {i for link in links for i in link.indices}
        local_idx = [i for i in range(len(configs)) if i not in remote_idx]
        if not local_idx:
            raise ValueError("the coordinator needs at least one run of its own")
        self._local = _LocalGroup([configs[i] for i in local_idx])
        self._remote = [_RemoteGroup(link) for link in links]
        for g in self._remote:
            g.wait(msg.Ready)  # the shard has imported torch and built its runs
        self.runs = self._local.runs
        self._groups: list[Any] = [self._local, *self._remote]
        self._where = {i: (self._local, j) for j, i in enumerate(local_idx)}
        for g in self._remote:
            self._where.update({i: (g, j) for j, i in enumerate(g.link.indices)})
        self._order = local_idx + [i for g in self._remote for i in g.link.indices]  # group order -> run index

    @property
    def workers(self) -> int:
        """Processes stepping the runs (this one and its shards)."""
        return len(self._groups)

    @property
    def shard_pids(self) -> list[int]:
        """Process ids of the shard processes this engine started (none with given links)."""
        return [p.pid for p in self._procs]

    @property
    def step(self) -> int:
        return self.runs[0].step

    @property
    def config(self) -> TrainConfig:
        """The first run's config (each run has its own: `runs[i].config`)."""
        return self.runs[0].config

    @property
    def device(self) -> Any:
        return self.runs[0].device

    @property
    def running(self) -> bool:
        return self._running

    @running.setter
    def running(self, running: bool) -> None:
        """Play or pause the comparison and every run with it (no event; SetRunning logs one per run)."""
        self._running = running
        for g in self._groups:
            g.set_running(running)

    def submit(self, command: Command) -> None:
        """Thread-safe: queue a command (ForRun for one run; settings without ForRun go to every run)."""
        self._inbox.put(command)

    def schedule(self, step: int, command: Command) -> None:
        """Apply command (to every run, or ForRun) at the first step boundary where step >= `step`."""
        self._inbox.schedule(step, command)

    def log(self, kind: str, label: str, **detail: Any) -> Event:
        """Log an event in every run of this process; returns the first run's."""
        events = [r.log(kind, label, **detail) for r in self.runs]
        return events[0]

    def to(self, device: Any, reseed: bool | None = None) -> list[str]:
        """Move this process's runs (a shard's runs stay on their own device); DeviceError before any moves."""
        check_device(device)
        return [f"run {i}: {name}" for i, r in enumerate(self.runs) for name in r.to(device, reseed=reseed)]

    def rollback(self) -> int:
        """Every run of this process back to its last good state; returns the earliest of their steps."""
        return min(r.rollback() for r in self.runs)

    def rebuild(self) -> None:
        for r in self.runs:
            r.rebuild()

    def state_dict(self) -> dict[str, Any]:
        """Every run's state_dict (in run order)."""
        if self._remote:
            raise RuntimeError("the state of a comparison whose runs train in shard processes cannot be saved; "
                               "use workers=1")
        return {"kind": "compare", "runs": [r.state_dict() for r in self.runs]}

    def load_state_dict(self, state: dict[str, Any]) -> bool:
        """Load each run's state (as many runs as saved); returns whether every random stream was restored."""
        if self._remote:
            raise RuntimeError("a comparison whose runs train in shard processes cannot load a state; use workers=1")
        if len(state["runs"]) != len(self.runs):
            raise ValueError(f"the state has {len(state['runs'])} runs, this comparison {len(self.runs)}")
        with contextlib.ExitStack() as stack:  # one run's state that does not fit leaves every run as it was
            for r in self.runs:
                stack.enter_context(unchanged_on_error(r))
            return all([r.load_state_dict(sd) for r, sd in zip(self.runs, state["runs"], strict=True)])

    def _to_all(self, cmd: Command) -> None:
        for i in range(self.n_runs):
            g, j = self._where[i]
            g.submit(j, cmd)

    def apply_pending(self) -> list[Command]:
        manual: list[Command] = []
        for cmd in self._inbox.due(self.step):
            if isinstance(cmd, ClearSchedule):
                self._inbox.clear_schedule()
            elif isinstance(cmd, ForRun):
                if 0 <= cmd.index < self.n_runs:
                    g, j = self._where[cmd.index]
                    g.submit(j, cmd.command)
            elif isinstance(cmd, MANUAL):
                manual.append(cmd)
            elif isinstance(cmd, SetRunning):
                self._running = cmd.running
                self._to_all(cmd)
            elif isinstance(cmd, SetSpeed):
                self.steps_per_sec_limit = cmd.steps_per_sec
            else:  # Reset and settings: every run
                self._to_all(cmd)
        for g in self._groups:
            g.apply()
        return manual

    def run_manual(self, cmd: Command) -> None:
        for g in reversed(self._groups):  # shards first: they work while this process does its part
            g.manual(cmd)

    def iteration(self) -> None:
        for g in reversed(self._groups):
            g.iteration()

    def has_news(self) -> bool:
        return any(g.has_news() for g in self._groups)

    def has_unsent_rows(self) -> bool:
        return self._local.has_unsent_rows()  # every group steps together, so this group's rows stand for all

    def snapshot(self, with_metrics: bool = True, with_fields: bool = True, lazy: bool = False,
                 defer_metrics: bool = False) -> CompareSnapshot:
        """One snapshot per run, all at this step (a barrier for shard processes)."""
        kwargs = dict(with_metrics=with_metrics, with_fields=with_fields, lazy=lazy, defer_metrics=defer_metrics)
        for g in reversed(self._groups):
            g.request_snapshots(kwargs)
        by_index: dict[int, Snapshot] = {}
        for i, s in zip(self._order, [s for g in self._groups for s in g.snapshots()], strict=True):
            by_index[i] = s
        snaps = [by_index[i] for i in range(self.n_runs)]
        if any(not s.running for s in snaps) and self.running:
            # a run diverged (it rolled back and paused itself): pause the comparison to keep lock-step
            snaps = [_paused(s) for s in snaps]
        self.running = self.running and all(s.running for s in snaps)  # every run plays or pauses with it
        return CompareSnapshot(tuple(snaps))

    def run(self, **kwargs: Any) -> Iterator[CompareSnapshot | None]:
        return run_loop(self, **kwargs)

    def reset(self) -> None:
        self._to_all(Reset())
        for g in self._groups:
            g.apply()

    def close(self, timeout: float = 0.5) -> None:
        """Stop the shard processes this engine started (a no-op with workers=1 or given links)."""
        for g in self._remote:
            g.close()
        stop_shards(self._procs, timeout)
        self._procs = []
