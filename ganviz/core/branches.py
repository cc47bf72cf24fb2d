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

from .timetravel import TimeStore, branch, record


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

    def __init__(self, engine: Any, store: TimeStore | None = None) -> None:
        self.engine = engine
        store = store if store is not None else TimeStore()
        self.branches: list[Branch] = [Branch(0, None, int(engine.step), store, tip=int(engine.step))]
        self.current = 0
        self._log_mark = len(engine.command_log)
        self._event_mark = len(engine.events)
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
        return record(line.store, self.engine)

    def branch(self, step: int, line_id: int | None = None) -> Branch:
        """Continue the engine from the newest state kept at or before step on a line (default the current one),
        as a new line, a child of that one; returns it. ValueError (and nothing changes) when no state is that
        old. Past states go back to the line's last reset only."""
        current = self._sync()
        line = current if line_id is None else self.branches[line_id]
        if line.store.state_at(step) is None:
            raise ValueError(f"no state kept at or before step {step} on line {line.id}")
        log, events = self.lineage(line.id)
        kept = branch(self.engine, line.store, step)
        child = Branch(len(self.branches), line.id, kept, line.store.fork(kept), tip=kept,
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
