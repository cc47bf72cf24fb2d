"""A session's branch tree (issue 18.5): every line of a run that was rewound and branched, each saved as its whole
history as one straight run, so each line replays exactly on its own (ganviz.export.replay). The window replays
the whole tree in one run (`tree_plan`, `phase_segments`; ganviz.qt.extensions.sessions.WindowReplay).

In the file, next to the session's own `commands` (the line that was current when it was saved):

    [[branches]]                 # one table per line; the original has no parent
    id = 1
    parent = 0
    from_step = 1200             # the step of the parent's state it continued from
    tip = 2000                   # the last step the line reached
    commands = [ { step = 300, command = "SetObjective", args = { name = "lsgan" } },
                 { step = 1200, command = "SetObjective", args = { name = "wgan-gp" } } ]
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BranchLine:
    """One line of the tree: id, parent (None for the original), branch point, tip, and its whole history as a
    straight run (LoggedCommand entries, as a Session's commands)."""

    id: int
    parent: int | None
    from_step: int
    tip: int
    commands: tuple[Any, ...] = ()


def lines_from_run(lines: list[dict[str, Any]], normalize: Any) -> tuple[BranchLine, ...]:
    """BranchLines from the training process's answer (core.branches.LiveTimeline.run_log "branches": each line's
    raw command_log and reset events), normalised like a session's commands (`normalize` = normalize_log)."""
    return tuple(BranchLine(int(b["id"]), b["parent"], int(b["from_step"]), int(b["tip"]),
                            tuple(normalize(b["command_log"], b["events"]))) for b in lines)


def lines_to_list(lines: tuple[BranchLine, ...], command_to_dict: Any) -> list[dict[str, Any]]:
    out = []
    for b in lines:
        row: dict[str, Any] = {"id": b.id, "from_step": b.from_step, "tip": b.tip}
        if b.parent is not None:  # TOML has no null: the original line has no parent key
            row["parent"] = b.parent
        row["commands"] = [{"step": int(e.step), **command_to_dict(e.command)} for e in b.commands]
        out.append(row)
    return out


def lines_from_list(raw: Any, where: str, parse_entry: Any, error: type[Exception]) -> tuple[BranchLine, ...]:
    """Validate a parsed `branches` list; `parse_entry(entry, where) -> LoggedCommand`; raises `error` naming
    the line."""
    if not isinstance(raw, list):
        raise error(f"{where}: branches must be a list of tables ([[branches]])")
    out: list[BranchLine] = []
    for i, row in enumerate(raw):
        here = f"{where}: branches[{i}]"
        if not isinstance(row, dict):
            raise error(f"{here}: must be a table with id, parent, from_step, tip and commands")
        unknown = set(row) - {"id", "parent", "from_step", "tip", "commands"}
        if unknown:
            raise error(f"{here}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        values = {}
        for key in ("id", "from_step", "tip", "parent"):
            value = row.get(key)
            if key == "parent" and value is None:
                values[key] = None
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise error(f"{here}: {key!r} must be a non-negative integer, got {value!r}")
            values[key] = value
        if values["parent"] is not None and values["parent"] not in {b.id for b in out}:
            raise error(f"{here}: parent {values['parent']} is not a line listed before it")
        commands = row.get("commands", [])
        if not isinstance(commands, list):
            raise error(f"{here}: commands must be a list of tables")
        entries = tuple(parse_entry(e, f"{here}.commands[{j}]") for j, e in enumerate(commands))
        out.append(BranchLine(values["id"], values["parent"], values["from_step"], values["tip"], entries))
    return tuple(out)


def line_session(session: Any, line_id: int) -> Any:
    """The session of one line of the tree (its whole history, to its tip): replay it with
    ganviz.export.replay.replay. KeyError naming the known lines for an unknown id."""
    for b in session.branches:
        if b.id == line_id:
            return dataclasses.replace(session, commands=b.commands, final_step=b.tip)
    raise KeyError(f"no line {line_id} in this session (lines: {', '.join(str(b.id) for b in session.branches)})")


@dataclass(frozen=True)
class LinePhase:
    """One line as the window replays the tree: the line, its session (whole history, to its tip), and where its
    own entries start in that session's commands (0 for the original: the rest is its parent's shared past)."""

    line: BranchLine
    session: Any
    start: int


def tree_plan(session: Any) -> list[LinePhase]:
    """How to replay a session's whole tree in one run: the lines in id order, each a branch of one before it,
    ending on the session's own line (the current one when saved). ValueError, in words, for a table that does
    not describe such a tree (the session's own line still replays)."""
    from .session import segments

    lines = list(session.branches)
    if not lines:
        return []
    if session.checkpoint:
        raise ValueError("a session that starts from a checkpoint replays its current line only")
    if [b.id for b in lines] != list(range(len(lines))) or lines[0].parent is not None:
        raise ValueError("the lines must be numbered 0, 1, 2, ... with the original (no parent) first")
    last = lines[-1]
    if tuple(last.commands) != tuple(session.commands) or last.tip != session.final_step:
        raise ValueError(f"the last line ({last.id}) is not the session's own line: its commands or tip differ")
    plan = [LinePhase(lines[0], line_session(session, 0), 0)]
    for b in lines[1:]:
        parent = lines[b.parent]  # listed before it (checked when read)
        if not 0 <= b.from_step <= b.tip or b.from_step > parent.tip:
            raise ValueError(f"line {b.id} branches at step {b.from_step}, outside its parent's steps 0-"
                             f"{parent.tip} or after its own tip {b.tip}")
        own = line_session(session, b.id)
        ends, n = set(), 0  # indices of the entries that end a segment (the step count restarts after them)
        for seg in segments(own)[:-1]:
            n += len(seg)
            ends.add(n - 1)
        start = 0
        while start < min(len(b.commands), len(parent.commands)) and \
                b.commands[start] == parent.commands[start]:
            start += 1
        while start and b.commands[start - 1].step >= b.from_step and start - 1 not in ends:
            start -= 1  # the parent's changes after the branch point are not part of the shared past
        if start < len(parent.commands) and parent.commands[start].step < b.from_step:
            raise ValueError(f"line {b.id} does not share line {parent.id}'s changes before step {b.from_step}")
        plan.append(LinePhase(b, own, start))
    return plan


def phase_segments(phase: LinePhase) -> list[list[Any]]:
    """The segments of a line's own entries: its first (the one it branched in) cut to the entries after the
    shared past, then the later ones."""
    from .session import segments

    segs, n = segments(phase.session), 0
    for i, seg in enumerate(segs):
        if phase.start < n + len(seg) or i == len(segs) - 1:
            return [list(seg[phase.start - n:])] + [list(s) for s in segs[i + 1:]]
        n += len(seg)
    return [[]]
