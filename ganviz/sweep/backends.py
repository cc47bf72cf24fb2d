"""Where tasks run: a local process pool (no extra dependency) or a Ray cluster (`pip install "ganviz[ray]"`).

Both call the same pure `run_task` and hand each finished task's rows to `on_rows` in the calling process
(which writes them to the JSONL file at once), so a crash of the sweep loses only unfinished tasks.
A task that dies with its worker (killed, out of memory) becomes rows with status "failed".
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from .tasks import Task, failed_rows, run_task

OnRows = Callable[[Task, list[dict[str, Any]]], None]
BACKENDS = ("local", "ray")


class Progress:
    """A progress bar with ETA over all tasks, on stderr: redrawn in place on a terminal, one line per
    finished task otherwise (logs of batch jobs)."""

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 28) -> None:
        self.total, self.done, self.width = total, 0, width
        self.counts = {"ok": 0, "diverged": 0, "failed": 0}
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = time.perf_counter()

    def line(self) -> str:
        elapsed = time.perf_counter() - self.t0
        frac = self.done / self.total if self.total else 1.0
        eta = elapsed / self.done * (self.total - self.done) if self.done else float("nan")
        fill = int(frac * self.width)
        runs = ", ".join(f"{n} {k}" for k, n in self.counts.items() if n)
        return (f"[{'#' * fill}{'-' * (self.width - fill)}] {self.done}/{self.total} tasks ({runs or 'no runs yet'}) "
                f"elapsed {_hms(elapsed)}, ETA {_hms(eta)}")

    def update(self, rows: Sequence[dict[str, Any]], label: str = "") -> None:
        self.done += 1
        for r in rows:
            self.counts[r.get("status", "failed")] = self.counts.get(r.get("status", "failed"), 0) + 1
        if self.tty:
            self.stream.write("\r" + self.line() + "\033[K")
        else:
            self.stream.write(self.line() + (f"  {label}" if label else "") + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.total:
            self.stream.write("\n")
            self.stream.flush()


def _hms(seconds: float) -> str:
    if seconds != seconds:  # NaN
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def run_local(tasks: Sequence[Task], on_rows: OnRows, jobs: int = 1) -> None:
    """Run tasks here: in this process when jobs == 1, else in a pool of `jobs` spawned processes."""
    if jobs <= 1 or len(tasks) <= 1:
        for t in tasks:
            on_rows(t, run_task(t))
        return
    import concurrent.futures as cf
    import multiprocessing as mp

    with cf.ProcessPoolExecutor(min(jobs, len(tasks)), mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(run_task, t): t for t in tasks}
        for fut in cf.as_completed(futures):
            t = futures[fut]
            try:
                rows = fut.result()
            except Exception as e:  # noqa: BLE001 - e.g. BrokenProcessPool: the worker died
                rows = failed_rows(t, f"worker died: {type(e).__name__}: {e}")
            on_rows(t, rows)


def run_ray(tasks: Sequence[Task], on_rows: OnRows, address: str | None = None) -> None:
    """Run tasks as Ray tasks (one CPU each). Uses the Ray already initialised in this process if any,
    else connects to `address` (e.g. "ray://head:10001" or "head:6379" or "auto"), else starts a local Ray
    and shuts it down at the end."""
    try:
        import ray
    except ImportError:
        raise RuntimeError('the ray backend needs Ray: pip install "ganviz[ray]"') from None
    started = False
    if not ray.is_initialized():
        try:
            ray.init(address=address or "local", include_dashboard=False, log_to_driver=False)
        except Exception as e:  # noqa: BLE001 - ConnectionError, auth errors, ...: say what to do
            where = f" at {address}" if address else ""
            raise RuntimeError(
                f"cannot start or join Ray{where}: {type(e).__name__}: {e}. Ray >= 2.59 authenticates with a "
                "token: on a cluster node use --address auto; elsewhere set RAY_AUTH_MODE=token and the "
                "cluster's token (RAY_AUTH_TOKEN=$(ray get-auth-token) or ~/.ray/auth_token)") from None
        started = True
    try:
        remote = ray.remote(num_cpus=1, max_retries=0)(run_task)
        refs = {remote.remote(t): t for t in tasks}
        waiting = list(refs)
        while waiting:
            done, waiting = ray.wait(waiting, num_returns=1)
            ref = done[0]
            try:
                rows = ray.get(ref)
            except Exception as e:  # noqa: BLE001 - a worker that died, or a Ray error
                rows = failed_rows(refs[ref], f"ray task failed: {type(e).__name__}: {e}")
            on_rows(refs[ref], rows)
    finally:
        if started:
            ray.shutdown()


def run_tasks(tasks: Sequence[Task], on_rows: OnRows, backend: str = "local", jobs: int = 1,
              address: str | None = None) -> None:
    if backend == "local":
        run_local(tasks, on_rows, jobs)
    elif backend == "ray":
        run_ray(tasks, on_rows, address)
    else:
        raise ValueError(f"unknown backend {backend!r}; use {' or '.join(BACKENDS)}")
