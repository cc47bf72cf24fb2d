"""Run a list of tasks into a JSONL file: resume, shard, progress, on either backend."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from .backends import Progress, run_tasks
from .store import RowWriter, done_keys, pending, read_rows, shard
from .tasks import Task


class SweepError(ValueError):
    """Bad sweep input (the CLI exits 2 with the message)."""


def run_sweep(tasks: Sequence[Task], out: str | os.PathLike[str], *, backend: str = "local", jobs: int = 1,
              address: str | None = None, resume: bool = False, shard_of: tuple[int, int] | None = None,
              progress: bool = True, stream: TextIO | None = None) -> list[dict[str, Any]]:
    """Run the tasks (this shard's, those not done yet with resume) and append their rows to `out`.

    Returns every row in `out` that belongs to the given tasks (this shard's), old and new. An existing
    `out` is only appended to with resume=True; without it the sweep refuses to touch the file."""
    path = Path(out)
    if shard_of is not None:
        tasks = shard(tasks, *shard_of)
    old: list[dict[str, Any]] = []
    if path.exists() and path.stat().st_size > 0:
        if not resume:
            raise SweepError(f"{path} exists; add --resume to skip its finished runs and append, or choose "
                             "another --out")
        old, bad = read_rows(path)
        if bad:
            print(f"ganviz: {path}: {bad} unreadable line(s) skipped (a row cut off by a kill); their runs "
                  "run again", file=stream or sys.stderr)
    todo = pending(tasks, done_keys(old))
    skipped = sum(len(t.seeds) for t in tasks) - sum(len(t.seeds) for t in todo)
    if skipped:
        print(f"ganviz: resuming: {skipped} run(s) already in {path}, {sum(len(t.seeds) for t in todo)} to go",
              file=stream or sys.stderr)
    bar = Progress(len(todo), stream) if progress else None
    with RowWriter(path) as writer:
        def on_rows(task: Task, rows: list[dict[str, Any]]) -> None:
            writer.write(rows)
            if bar is not None:
                bar.update(rows, _label(task, rows))

        try:
            run_tasks(todo, on_rows, backend=backend, jobs=jobs, address=address)
        finally:
            if bar is not None:
                bar.close()
    keys = {k for t in tasks for k in t.run_keys()}
    rows, _ = read_rows(path)
    return [r for r in rows if r["key"] in keys]


def _label(task: Task, rows: list[dict[str, Any]]) -> str:
    lab = " ".join(f"{k}={v}" for k, v in task.labels.items())
    seeds = f"seed {task.seeds[0]}" if len(task.seeds) == 1 else f"seeds {task.seeds[0]}..{task.seeds[-1]}"
    res = []
    for r in rows:
        f = r.get("final") or {}
        if r["status"] != "ok":
            res.append(r["status"])
        elif f.get("modes_covered") is not None:
            res.append(f"{f['modes_covered']:g}/{f.get('n_modes') or 0:g}")
        elif f.get("w1") is not None:
            res.append(f"W1 {f['w1']:.3f}")
    cpu = sum(r.get("cpu_s") or 0.0 for r in rows)
    return f"{lab} {seeds}: {' '.join(res)} ({cpu:.0f} CPU-s)"
