"""Command-line pieces shared by `ganviz sweep` and `ganviz reproduce` (argument parsing only imports argparse)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..sweep.backends import BACKENDS


def add_run_arguments(p: argparse.ArgumentParser, default_steps: int) -> None:
    p.add_argument("--seeds", type=int, default=5, help="seeds per configuration (default 5)")
    p.add_argument("--seed-start", type=int, default=0, metavar="S", help="first seed: seeds S .. S+N-1 (default 0)")
    p.add_argument("--steps", type=int, default=default_steps, help=f"iterations per run (default {default_steps})")
    p.add_argument("--every", type=int, default=0, metavar="N",
                   help="also record metrics every N steps (per-interval metrics; default: steps/10)")
    p.add_argument("--seeds-per-task", type=int, default=1, metavar="K",
                   help="train K seeds as one batched task where the ensemble engine supports the config "
                        "(it cannot batch pack, unroll, mbdisc, mbstd: those run one seed per task)")
    p.add_argument("--backend", choices=BACKENDS, default="local",
                   help='local: a process pool (default); ray: Ray tasks (pip install "ganviz[ray]")')
    p.add_argument("--jobs", type=int, default=2, help="local backend: worker processes (default 2)")
    p.add_argument("--address", help="ray backend: the cluster to join (e.g. auto, HEAD:6379 or ray://HEAD:10001; "
                                     "default: start Ray on this machine)")
    p.add_argument("--shard", metavar="I/N", help="run only shard I of N (0 .. N-1): every N-th task from the I-th")
    p.add_argument("--resume", action="store_true",
                   help="append to an existing JSONL file, skipping the runs already in it (failed ones run again)")
    p.add_argument("--from", dest="from_", metavar="JSONL", help="no training: rebuild tables and figures from rows")
    p.add_argument("--figures", metavar="STEM", help="write figures as STEM-*.png and STEM-*.svg (needs matplotlib: "
                                                     'pip install "ganviz[figures]")')
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def check_run_arguments(args: argparse.Namespace) -> str | None:
    if args.seeds < 1 or args.steps < 1 or args.jobs < 1 or args.seeds_per_task < 1 or args.every < 0:
        return "--seeds, --steps, --jobs and --seeds-per-task must be >= 1 and --every >= 0"
    if args.seed_start < 0 or args.seed_start + args.seeds - 1 > 2**31 - 1:
        return "--seed-start must be >= 0 and the last seed <= 2^31 - 1"
    if args.address and args.backend != "ray":
        return "--address is for --backend ray"
    if args.shard:
        from ..sweep.store import parse_shard

        try:
            parse_shard(args.shard)
        except ValueError as e:
            return str(e)
    return None


def default_every(args: argparse.Namespace) -> int:
    return args.every if args.every else max(1, args.steps // 10)


def err(cmd: str, message: str) -> int:
    print(f"ganviz {cmd}: error: {message}", file=sys.stderr)
    return 2


def rows_from(cmd: str, path: str) -> list[dict] | None:
    """The rows of a finished sweep's JSONL (`--from`), unreadable lines said and skipped; None (said) if unreadable."""
    from ..sweep.store import read_rows

    try:
        rows, bad = read_rows(path)
    except OSError as e:
        err(cmd, f"cannot read {path!r}: {e.strerror}")
        return None
    if bad:
        print(f"ganviz {cmd}: {bad} unreadable line(s) in {path} skipped", file=sys.stderr)
    return rows


def execute(args: argparse.Namespace, tasks: Sequence[Any], path: Path, cmd: str) -> tuple[list[dict], int]:
    """Run the tasks into `path` with the run arguments; (rows, 0) or ([], exit code) with the message."""
    from ..sweep.runner import SweepError, run_sweep
    from ..sweep.store import parse_shard
    from ..sweep.tasks import unbatched

    for note in unbatched(list(tasks), args.seeds_per_task, args.seeds):
        print(f"ganviz {cmd}: --seeds-per-task {args.seeds_per_task}: {note}", file=sys.stderr)
    if not args.every:
        every = default_every(args)
        tasks = [type(t)(t.config, t.seeds, t.steps, every, t.labels) for t in tasks]
    try:
        rows = run_sweep(tasks, path, backend=args.backend, jobs=args.jobs, address=args.address,
                         resume=args.resume, shard_of=parse_shard(args.shard) if args.shard else None,
                         progress=not args.quiet)
    except (SweepError, RuntimeError) as e:
        return [], err(cmd, str(e))
    except OSError as e:
        return [], err(cmd, f"cannot write {str(path)!r}: {e.strerror}")
    except KeyboardInterrupt:
        print(f"\nganviz {cmd}: interrupted; finished runs are in {path} (continue with --resume)", file=sys.stderr)
        return [], 130
    return rows, 0


def write_text(path: str, text: str, cmd: str) -> bool:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as e:
        print(f"ganviz {cmd}: error: cannot write {path!r}: {e.strerror}", file=sys.stderr)
        return False
    return True


def figures_or_message(cmd: str, make: Callable[[], list[str]]) -> int:
    try:
        written = make()
    except ImportError:
        return err(cmd, 'figures need matplotlib: pip install "ganviz[figures]"')
    except OSError as e:
        return err(cmd, f"cannot write figures: {e}")
    for f in written:
        print(f"wrote {f}", file=sys.stderr)
    return 0
