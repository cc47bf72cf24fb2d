"""The branch tree of a run (issue 18.5): the original line and every branch made from one of its past states.

Each branch has its own `TimeStore` (forked from its parent's at the branch point, so the shared past is not
copied) and the part of the engine's `command_log` and event log made while it was the live line. A branch's
whole history as a straight run — its `lineage` — is its parent's lineage before the branch point plus its own
entries, in the engine's raw convention, so `ganviz.export.session.session_from_run(config, *tree.lineage(b),
step)` saves it as an ordinary session that replays it exactly. A state recorded at step s is the state before
the commands applied at the step-s boundary, so a branch from s keeps its parent's entries up to the last ones
of steps < s (entries from before a reset stay: the step count restarts there).

    tree = BranchTree(trainer)            # the original line, id 0, recording into its own store
    tree.record()                         # after each step
    b = tree.branch(1200)                 # the engine continues from step 1200's kept state, on a new line
    tree.record(); ...                    # commands and steps now belong to branch b
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .timetravel import TimeStore, branch, record, state_nbytes


@dataclass
class Branch:
    """One line of the run: the original (parent None) or a branch from its parent's state at `from_step`."""

    id: int
    parent: int | None
    from_step: int
    store: TimeStore
    commands: list[tuple[int, Any]] = field(default_factory=list)  # (step applied, command), own entries
    events: list[Any] = field(default_factory=list)  # own events
    tip: int = 0  # the last step this line reached
    cut: tuple[int, int] = (0, 0)  # how many entries (commands, events) of the parent's lineage come before it


class BranchTree:
    """The lines of one engine's run; the engine is always on `current`."""

    def __init__(self, engine: Any, store: TimeStore | None = None, record_now: bool = True) -> None:
        """record_now: keep the engine's state at once (a ValueError if it does not fit the store's cap)."""
        self.engine = engine
        store = store if store is not None else TimeStore()
        self.branches: list[Branch] = [Branch(0, None, int(engine.step), store, tip=int(engine.step))]
        self.current = 0
        self._log_mark = len(engine.command_log)
        self._event_mark = len(engine.events)
        self.pins: set[int] = set()  # steps whose states are kept whatever the stores drop (session replays)
        self.pinned: dict[tuple[int, int], Any] = {}  # (line, step) -> that line's newest state at that step
        if record_now:
            record(store, engine)

    def _sync(self) -> Branch:
        """Move the engine's new command-log entries and events to the current line."""
        line = self.branches[self.current]
        e = self.engine
        line.commands += list(e.command_log[self._log_mark:])
        line.events += list(e.events[self._event_mark:])
        self._log_mark, self._event_mark = len(e.command_log), len(e.events)
        line.tip = int(e.step)
        return line

    def record(self) -> bool:
        """Call after a step: keep the engine's state in the current line's store (if it wants this step). After
        a reset (the step count went back) the line starts a fresh store: its states before the reset go."""
        line = self._sync()
        newest = line.store.newest
        if newest is not None and self.engine.step <= newest:
            old = line.store
            line.store = TimeStore(old.cap_bytes, old.every, old.per_tier)
        kept = record(line.store, self.engine)
        step = int(self.engine.step)
        if step in self.pins:  # a branch point of a session being replayed: kept until unpinned
            self.pinned[(line.id, step)] = line.store.state_at(step)[1] if kept else self.engine.state_dict()
        return kept

    def pin(self, steps: Any) -> list[int]:
        """Keep the states of these steps on every line from now on, beside the decimated stores, so that a
        replayed session can branch exactly where the original did (an empty list releases them)."""
        self.pins = {int(s) for s in steps}
        self.pinned = {k: v for k, v in self.pinned.items() if k[1] in self.pins}
        return sorted(self.pins)

    def pinned_nbytes(self) -> int:
        """Bytes the pinned states hold beyond the stores (a pinned state the store also keeps is counted there)."""
        stored = {id(state) for b in self.branches for _, state, _ in b.store._all()}
        return sum(state_nbytes(v) for v in self.pinned.values() if id(v) not in stored)

    def pinned_state(self, line_id: int, step: int) -> Any:
        """The pinned state of a line at step (its own, or its ancestors' from before it branched), else None."""
        lid: int | None = line_id
        while lid is not None:
            state = self.pinned.get((lid, step))
            if state is not None:
                return state
            line = self.branches[lid]
            lid = line.parent if step <= line.from_step else None
        return None

    def branch(self, step: int, line_id: int | None = None) -> Branch:
        """Continue the engine from the newest state kept at or before step on a line (default the current one),
        as a new line, a child of that one; returns it. ValueError (and nothing changes) when no state is that
        old. Past states go back to the line's last reset only."""
        current = self._sync()
        line = current if line_id is None else self.branches[line_id]
        pinned = self.pinned_state(line.id, step)
        if pinned is None and line.store.state_at(step) is None:
            raise ValueError(f"no state kept at or before step {step} on line {line.id}")
        log, events = self.lineage(line.id)
        if pinned is not None:  # exactly this step (a session's branch point)
            self.engine.load_state_dict(pinned)
            kept, store = step, line.store.fork(step)
            if store.newest != step:
                store.add(step, pinned)
        else:
            kept = branch(self.engine, line.store, step)
            store = line.store.fork(kept)
        child = Branch(len(self.branches), line.id, kept, store, tip=kept,
                       cut=(_keep_before(log, kept, lambda e: e[0]), _keep_before(events, kept, lambda e: e.step)))
        self.branches.append(child)
        self.current = child.id
        self._log_mark, self._event_mark = len(self.engine.command_log), len(self.engine.events)
        return child

    def lineage(self, branch_id: int | None = None) -> tuple[list[tuple[int, Any]], list[Any]]:
        """(command_log, events) of a line's whole history as one straight run, in the engine's raw convention
        (for ganviz.export.session.session_from_run); default the current line."""
        self._sync()
        line = self.branches[self.current if branch_id is None else branch_id]
        if line.parent is None:
            return list(line.commands), list(line.events)
        log, events = self.lineage(line.parent)
        return log[:line.cut[0]] + line.commands, events[:line.cut[1]] + line.events

    def path(self, branch_id: int | None = None) -> list[int]:
        """The line ids from the original to this line."""
        line = self.branches[self.current if branch_id is None else branch_id]
        return ([] if line.parent is None else self.path(line.parent)) + [line.id]

    def to_dict(self) -> list[dict[str, Any]]:
        """The tree's shape (ids, parents, branch points, tips) as plain values, for a session's branch table."""
        self._sync()
        return [{"id": b.id, "parent": b.parent, "from_step": b.from_step, "tip": b.tip} for b in self.branches]


def _keep_before(entries: list[Any], step: int, step_of: Any) -> int:
    """How many leading entries of a raw log came before the state of `step`: all but the trailing run of
    entries at steps >= step (the last segment's steps only grow; a reset restarts them at 0, which ends the
    run, so entries from before a reset are kept whatever their steps)."""
    n = len(entries)
    while n and step_of(entries[n - 1]) >= step:
        n -= 1
    return n


DEFAULT_EVERY = 10  # the window's finest spacing: a state copy after every step cost ~7% of a default 2D step, ~1% now


class LiveTimeline:
    """The training process's side of the window's timeline (issue 18.5): a BranchTree recording the live engine
    every `every` steps (`record`, hooked on the engine's `step_hook`), and the answers to the window's requests:
    `info` (kept steps, memory against the cap, the tree), `past(step)` (a lazy snapshot of the run as it was,
    from a scratch engine: the live run is not touched) and `branch(step)` (the live engine continues from
    there, on a new line, with a "branch" event). Only the current line keeps states: a branch frees the other
    lines' stores (their commands stay, for sessions), so the memory used is the current store's, under its cap.
    A state too big for the cap turns recording off (`disabled` says why); training goes on."""

    def __init__(self, engine: Any, cap_bytes: int | None = None, every: int = DEFAULT_EVERY) -> None:
        """every: the finest spacing kept (1: every step; a copy of the state costs ~7% of a default 2D step at
        ~200 steps/s on one core, so the window keeps every 10th: ~1%)."""
        from .timetravel import DEFAULT_CAP

        self.disabled = ""
        store = TimeStore(int(cap_bytes or DEFAULT_CAP), every)
        try:
            self.tree = BranchTree(engine, store)
        except ValueError as exc:  # a model too big for the cap (a wide MLP, an image GAN): training goes on
            self.disabled = str(exc)
            self.tree = BranchTree(engine, store, record_now=False)
        self._scratch: Any = None
        self._scratch_config: Any = None

    @property
    def store(self) -> TimeStore:
        return self.tree.branches[self.tree.current].store

    def record(self) -> None:
        """After a step: keep the engine's state if the store wants it."""
        if self.disabled:
            return
        try:
            self.tree.record()
        except ValueError as exc:  # a state that does not fit the cap (a big image model): stop recording
            self.disabled = str(exc)

    def info(self, cap_bytes: int | None = None) -> dict[str, Any]:
        """What the timeline shows: kept steps, bytes, cap, a one-line description, the tree and the current
        line, and the states pinned for a session's replay ("pinned", "pinned_bytes": beyond the store, outside its
        cap until the replay's last line releases them); cap_bytes (optional) sets a new cap first (older states
        thinned to fit)."""
        if cap_bytes:
            self.store.set_cap(int(cap_bytes))
        store = self.store
        return {"steps": store.steps(), "nbytes": store.nbytes, "cap_bytes": store.cap_bytes,
                "describe": store.describe(), "tree": self.tree.to_dict(), "current": self.tree.current,
                "step": int(self.tree.engine.step), "every": store.every, "disabled": self.disabled,
                "pinned": len(self.tree.pinned), "pinned_bytes": self.tree.pinned_nbytes()}

    def past(self, step: int) -> dict[str, Any]:
        """{"snapshot": a lazy snapshot (no history, no events, metrics deferred to the window) of the newest
        kept state at or before step, "step": that kept step, "asked": step}. ValueError when none is kept."""
        import dataclasses

        import numpy as np

        from .snapshot import History
        from .timetravel import scratch_trainer

        found = self.store.state_at(int(step))
        if found is None:
            raise ValueError(self.disabled or f"no state kept at or before step {step}")
        kept, state = found
        if self._scratch is None or state.get("config") != self._scratch_config:
            self._scratch, self._scratch_config = scratch_trainer(state), state.get("config")
        engine = self._scratch
        engine.load_state_dict(state)
        engine.take_new_events()
        snap = engine.snapshot(with_metrics=True, lazy=True, defer_metrics=True)
        empty = History(np.zeros(0, dtype=np.int64), {k: np.zeros(0) for k in snap.history.values})
        snap = dataclasses.replace(snap, history=empty, events=(), running=False, steps_per_sec=0.0)
        snap.prepare_transfer()
        return {"snapshot": snap, "step": kept, "asked": int(step)}

    def pin(self, steps: Any) -> dict[str, Any]:
        """Keep the states of these steps for branching (a session's branch points, see BranchTree.pin)."""
        return {"pins": self.tree.pin(steps or ())}

    def branch(self, step: Any) -> dict[str, Any]:
        """Continue the live engine from the newest kept state at or before step, as a new line; logs a "branch"
        event (the window's time axes keep the old line's curves after it, dimmed). ValueError if none kept.
        step may be (step, line id): a branch from that line (its pinned states) instead of the current one."""
        step, line_id = (step, None) if isinstance(step, int) else (int(step[0]), int(step[1]))
        line = self.tree.branch(int(step), line_id)
        for other in self.tree.branches:
            if other is not line:  # the current line alone keeps states (the shared past is in its fork)
                other.store = TimeStore(line.store.cap_bytes, line.store.every, line.store.per_tier)
        self.tree.engine.log("branch", f"branch {line.id} from step {line.from_step}", line=line.id,
                             parent=line.parent, from_step=line.from_step)
        return {"step": line.from_step, "line": line.id, "tree": self.tree.to_dict()}

    def run_log(self, config: Any) -> dict[str, Any]:
        """The "command_log" answer for the current line (its lineage as one straight run), with every line's
        lineage under "branches" for the session's branch table."""
        from .snapshot import EventKind

        def resets(events: list[Any]) -> list[Any]:
            return [e for e in events if e.kind == EventKind.RESET]

        log, events = self.tree.lineage()
        lines = []
        for b in self.tree.to_dict():
            b_log, b_events = self.tree.lineage(b["id"])
            lines.append({**b, "command_log": b_log, "events": resets(b_events)})
        return {"config": config, "command_log": log, "events": resets(events), "step": int(self.tree.engine.step),
                "branches": lines if len(lines) > 1 else [], "current": self.tree.current}
