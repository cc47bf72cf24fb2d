"""JSONL results: one row per run, appended and flushed to disk as each task finishes.

A sweep killed at any moment loses at most the rows of the tasks still running: a row is written in one
`write` of one line, flushed and fsynced. A partial last line (killed mid-write) is cut off when the file
is opened again for appending, and skipped (with a count) when read. `--resume` skips every task whose rows
are all present with status ok or diverged; failed runs are tried again, and when rows are read back the
last row of a run (its key) wins, so a retried run is never counted twice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .tasks import Task

DONE = ("ok", "diverged")


def read_rows(path: str | os.PathLike[str]) -> tuple[list[dict[str, Any]], int]:
    """All rows of a JSONL file (the last row per key wins, file order kept) and the number of lines that
    could not be read (a partial last line after a kill)."""
    rows: dict[str, dict[str, Any]] = {}
    bad = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                bad += 1
                continue
            if not isinstance(row, dict) or "key" not in row:
                bad += 1
                continue
            rows.pop(row["key"], None)
            rows[row["key"]] = row
    return list(rows.values()), bad


def done_keys(rows: Iterable[dict[str, Any]]) -> set[str]:
    return {r["key"] for r in rows if r.get("status") in DONE}


def pending(tasks: Sequence[Task], done: set[str]) -> list[Task]:
    """Tasks with at least one run not done. A partly done batched task runs only its missing seeds."""
    out = []
    for t in tasks:
        missing = tuple(s for s, k in zip(t.seeds, t.run_keys(), strict=True) if k not in done)
        if len(missing) == len(t.seeds):
            out.append(t)
        elif missing:
            out.append(Task(t.config, missing, t.steps, t.every, t.labels))
    return out


def parse_shard(text: str) -> tuple[int, int]:
    """'i/n' -> (i, n) with 0 <= i < n (ValueError otherwise)."""
    try:
        i_s, n_s = text.split("/")
        i, n = int(i_s), int(n_s)
    except ValueError:
        raise ValueError(f"--shard expects i/n (e.g. 0/4), got {text!r}") from None
    if not (n >= 1 and 0 <= i < n):
        raise ValueError(f"--shard {text!r}: need n >= 1 and 0 <= i < n (shards are numbered 0 .. n-1)")
    return i, n


def shard(tasks: Sequence[Task], i: int, n: int) -> list[Task]:
    """Every n-th task from the i-th: shards 0..n-1 are disjoint and together are all the tasks."""
    return list(tasks[i::n])


class RowWriter:
    """Appends rows to a JSONL file, one flushed and fsynced line per row."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if self.path.parent != Path(""):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        _cut_partial_line(self.path)
        self._f = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        text = "".join(json.dumps(r, sort_keys=True, allow_nan=False) + "\n" for r in rows)
        self._f.write(text)
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> RowWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cut_partial_line(path: Path) -> None:
    """Truncate a file that does not end in a newline back to its last complete line."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as f:
        f.seek(-1, os.SEEK_END)
        if f.read(1) == b"\n":
            return
        f.seek(0)
        data = f.read()
        f.truncate(data.rfind(b"\n") + 1)
