"""`ganviz reproduce`: the published mode-collapse comparisons over several seeds, headless, as a table beside
the papers' numbers; every run streams to JSONL (resumable, shardable, on a process pool or Ray).

    ganviz reproduce --methods gan,pacgan2 --data ring8-pacgan,grid25 --seeds 10 --steps 20000 --out t.md
    ganviz reproduce --from t.jsonl --out t.md --figures t        # table and figures again, no training

Each (data, method, seed) run starts from the dataset's base setup (ring8: Unrolled GAN's toy as in VEEGAN;
ring8-pacgan: PacGAN's ring; grid25: PacGAN's grid; see ganviz.sweep.reproduction), applies the method's
changes and any --set, trains --steps iterations, and is measured with the VEEGAN / PacGAN protocol
(THEORY.md section 4: 2500 samples, high quality = within 3 std of the nearest mode) every --every steps
and at the last step. The table gives mean ± sample std over the ok runs and counts diverged and failed runs.

Methods: gan (no change), unrolled[K] (unroll = K, default 5), pacgan[M] (pack = M, default 2), mbdisc[B]
(minibatch discrimination with B kernels, default 5), mbstd (minibatch std feature), dsteps[K] (K D updates
per G update, default 5), wgan-gp (objective wgan-gp with its paper defaults).
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

NAME = "reproduce"
DEFAULT_METHODS = "gan,unrolled,pacgan2"
DEFAULT_DATA = "ring8,grid25"
HELP = "mode-collapse remedies over several seeds headless: JSONL rows, a table beside the published numbers"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .sweep_common import add_run_arguments

    p.add_argument("--methods", help="comma-separated: gan, unrolled[K], pacgan[M], mbdisc[B], mbstd, dsteps[K], "
                                     "wgan-gp (default gan,unrolled,pacgan2; with --from: the file's)")
    p.add_argument("--data", help="comma-separated datasets (default ring8,grid25; with --from: the file's): "
                                  "ring8 (Unrolled GAN / VEEGAN toy), ring8-pacgan (PacGAN's ring), grid25 "
                                  "(PacGAN's grid), or any dataset name")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field of every run (repeatable)")
    p.add_argument("--out", help="write the table (Markdown, with the command) to this file; the JSONL rows go "
                                 "beside it (same name, .jsonl) unless --jsonl says otherwise")
    p.add_argument("--jsonl", help="JSONL file of the runs (default: beside --out, else reproduce.jsonl)")
    add_run_arguments(p, default_steps=2000)


def jsonl_path(args: argparse.Namespace) -> Path:
    if args.jsonl:
        return Path(args.jsonl)
    if args.out:
        return Path(args.out).with_suffix(".jsonl")
    return Path("reproduce.jsonl")


def run(args: argparse.Namespace) -> int:
    from ganviz.core.config import ConfigError
    from ganviz.sweep import reproduction as R

    from .sweep_common import check_run_arguments, err, execute, rows_from, write_text

    methods = [m.strip() for m in (args.methods or DEFAULT_METHODS).split(",") if m.strip()]
    datas = [d.strip() for d in (args.data or DEFAULT_DATA).split(",") if d.strip()]
    if not methods or not datas:
        return err("reproduce", "--methods and --data must be non-empty")
    t0 = time.perf_counter()
    if args.from_:
        rows = rows_from("reproduce", args.from_)
        if rows is None:
            return 2
        methods = methods if args.methods else []  # [] = every method in the file, in its order
        datas = datas if args.data else []
        source = f"from {args.from_}"
    else:
        problem = check_run_arguments(args)
        if problem:
            return err("reproduce", problem)
        try:
            for m in methods:
                R.method_changes(m)
            tasks = R.reproduction_tasks(datas, methods, range(args.seed_start, args.seed_start + args.seeds),
                                         args.steps, args.every, args.set, args.seeds_per_task)
        except (ConfigError, ValueError, KeyError) as e:
            return err("reproduce", str(e))
        path = jsonl_path(args)
        rows, code = execute(args, tasks, path, "reproduce")
        if code:
            return code
        source = f"rows in {path}"
    table = R.format_table(rows, datas or None, methods or None)
    print(table)
    note = (f"{R.summary(rows)}; {time.perf_counter() - t0:.0f} s wall here ({source}). Metrics at the last "
            "step on 2500 generated samples unless --set mode_samples says otherwise (VEEGAN/PacGAN protocol: "
            "high quality = within 3 std of the nearest mode); mean ± sample std over the ok runs.")
    print("\n" + note)
    if args.out and not write_text(args.out, f"```\n{command_line(args)}\n```\n\n{table}\n\n{note}\n", "reproduce"):
        return 2
    if args.figures:
        from .sweep_common import figures_or_message

        return figures_or_message("reproduce", lambda: _figures(rows, args.figures, datas, methods))
    return 0


def _figures(rows, stem, datas, methods) -> list[str]:
    from ganviz.sweep.figures import reproduction_figure

    return reproduction_figure(rows, stem, datas or None, methods or None)


def command_line(args: argparse.Namespace) -> str:
    if args.from_:
        parts = ["ganviz reproduce", f"--from {_quote(args.from_)}"]
        parts += [f"--methods {_quote(args.methods)}"] if args.methods else []
        parts += [f"--data {_quote(args.data)}"] if args.data else []
    else:
        parts = ["ganviz reproduce", f"--methods {_quote(args.methods or DEFAULT_METHODS)}",
                 f"--data {_quote(args.data or DEFAULT_DATA)}"]
        parts += [f"--seeds {args.seeds}", f"--steps {args.steps}"]
        if args.seed_start:
            parts.append(f"--seed-start {args.seed_start}")
        if args.every:
            parts.append(f"--every {args.every}")
        if args.seeds_per_task > 1:
            parts.append(f"--seeds-per-task {args.seeds_per_task}")
        parts.append(f"--backend {args.backend}" + (f" --jobs {args.jobs}" if args.backend == "local" else ""))
        parts += [f"--set {_quote(kv)}" for kv in args.set]
        parts += [f"--shard {args.shard}"] if args.shard else []
    if args.out:
        parts.append(f"--out {_quote(args.out)}")
    return " ".join(parts)


def _quote(a: str) -> str:
    return a if re.fullmatch(r"[\w.,=:/+-]+", a) else "'" + a.replace("'", "'\\''") + "'"
