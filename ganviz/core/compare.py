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
with one core, parallel buys nothing and k = 1. The engine protocol's calls (to, rollback, rebuild, log,
state_dict, load_state_dict) reach a shard's runs through the same pipe (core.shards has the machinery).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from . import messages as msg
from .commands import MANUAL, ClearSchedule, Command, Reset, SetRunning, SetSpeed
from .config import TrainConfig
from .engine import CommandInbox, Stepper, check_device
from .loop import run_loop
from .shards import (
    MAX_LAG,
    RemoteSnapshot,
    ShardLink,
    _LocalGroup,
    _paused,
    _RemoteGroup,
    _shard_main,
    start_shards,
    stop_shards,
)
from .snapshot import Event, Snapshot

__all__ = ["MAX_LAG", "MAX_RUNS", "CompareSnapshot", "CompareTrainer", "ForRun", "RemoteSnapshot", "ShardLink",
           "_shard_main", "available_cores", "compare_workers", "comparison_configs", "split_runs", "start_shards",
           "stop_shards"]

MAX_RUNS = 4


@dataclass(frozen=True)
class ForRun(Command):
    """A command for one run of a comparison (index 0..n-1). Not saved in session files (a session is one run)."""

    replayable: ClassVar[bool] = False
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


# ----------------------------------------------------------------------------------------- the engine

class CompareTrainer(Stepper):
    """Several Trainers stepped in lock-step: a composite engine (ganviz.core.engine.Engine) whose runs are
    engines too, reached only through that protocol.

    workers=1 (the default): every run steps in this process, one after the other; `runs` are the Trainers.
    workers=k > 1: runs are split into k groups (`split_runs`); `runs` are then only this process's group,
    and the others step in shard processes, either spawned here or given as `links` (`start_shards`, for a
    coordinator that is itself a daemon process and may not start children). Call close() when done.
    The protocol's calls (to, rollback, rebuild, log, state_dict, load_state_dict) act on every run, a shard's
    runs through its pipe (core.shards); a shard that has ended makes them raise RuntimeError."""

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
        """Log an event in every run (a shard's runs too); returns the first run's."""
        for g in self._remote:
            g.log(kind, label, detail)
        return self._local.log(kind, label, detail)[0]

    def _send_each(self, call_for: Any) -> tuple[list[Any], BaseException | None]:
        """Send every shard its protocol call (call_for(group)); the shards reached, and the first error (a shard
        that has ended)."""
        sent, error = [], None
        for g in self._remote:
            try:
                g.call(call_for(g))
                sent.append(g)
            except RuntimeError as exc:
                error = error or exc
        return sent, error

    @staticmethod
    def _answers(sent: Sequence[Any]) -> tuple[list[tuple[Any, Any]], BaseException | None]:
        """Every sent shard's answer is read, so none is left in a pipe: (shard, result) of those that did the call,
        and the first error."""
        done, error = [], None
        for g in sent:
            try:
                done.append((g, g.answer()))
            except Exception as exc:
                error = error or exc
        return done, error

    def _each(self, call: Any, local: Any) -> list[Any]:
        """One protocol call on every run: sent to the shards first (they work while this process does its
        part), then local(group); the results per run, in run order, or the first error once every shard has
        answered."""
        sent, error = self._send_each(lambda g: call)
        by_group: list[list[Any]] = []
        if error is None:
            try:
                by_group.append(local(self._local))
            except Exception as exc:
                error = exc
        done, late = self._answers(sent)
        error = error or late
        if error is not None:
            raise error
        return self._in_run_order([r for results in [*by_group, *(res for _, res in done)] for r in results])

    def _in_run_order(self, results: Sequence[Any]) -> list[Any]:
        """Results in group order (this process's runs, then each shard's) -> in run order."""
        by_index = dict(zip(self._order, results, strict=True))
        return [by_index[i] for i in range(self.n_runs)]

    def to(self, device: Any, reseed: bool | None = None) -> list[str]:
        """Move every run (in the shard processes too); DeviceError before any moves."""
        target = check_device(device)
        moved = self._each(msg.MoveRuns(str(target), reseed), lambda g: g.to(target, reseed))
        return [f"run {i}: {name}" for i, names in enumerate(moved) for name in names]

    def rollback(self) -> int:
        """Every run back to its last good state; returns the earliest of their steps."""
        return min(self._each(msg.RollBack(), lambda g: g.rollback()))

    def rebuild(self) -> None:
        """Every run afresh from its config."""
        self._each(msg.Rebuild(), lambda g: (g.rebuild(), [None] * len(g.runs))[1])

    def state_dict(self) -> dict[str, Any]:
        """Every run's state_dict, in run order (a shard's runs' too)."""
        return {"kind": "compare", "runs": self._each(msg.GetStates(), lambda g: g.state_dicts())}

    def load_state_dict(self, state: dict[str, Any]) -> bool:
        """Load each run's state (one per run, in run order), all or none: one run's state that does not fit
        leaves every run as it was (the shards' too). Returns whether every random stream was restored."""
        states = state["runs"]
        if len(states) != self.n_runs:
            raise ValueError(f"the state has {len(states)} runs, this comparison {self.n_runs}")
        local_idx = [i for i in self._order if self._where[i][0] is self._local]
        # the shards first, then this process's runs; a refusal anywhere reverts the shards that loaded
        sent, error = self._send_each(lambda g: msg.LoadStates(tuple(states[i] for i in g.link.indices)))
        done, late = self._answers(sent)
        results = {i: ok for g, oks in done for i, ok in zip(g.link.indices, oks, strict=True)}
        try:
            if error or late:
                raise error or late  # type: ignore[misc]
            results.update(zip(local_idx, self._local.load_states([states[i] for i in local_idx]), strict=True))
        except BaseException:
            for g, _ in done:
                with contextlib.suppress(Exception):  # a shard that has ended: the error above says enough
                    g.call(msg.RevertStates())
                    g.answer()
            raise
        finally:
            self._local.forget_states()
        return all(results.values())

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
