"""`ganviz sweep`: a grid over any config keys x seeds, headless, one JSONL row per run.

    ganviz sweep --preset collapse-ring-gan --grid d_lr=1e-4,3e-4,1e-3 --grid d_steps=1,5 --seeds 10 \\
        --steps 5000 --seeds-per-task 5 --out runs.jsonl --figures phase
    ganviz sweep --from runs.jsonl --figures phase            # table and heatmap again, no training
    ganviz sweep ... --backend ray --address auto              # on a Ray cluster (pip install "ganviz[ray]")
    ganviz sweep ... --shard 0/4 --out part0.jsonl             # one of four machines; cat the parts together

The table has one line per grid point (mean ± sample std over the ok runs; diverged and failed runs are
counted). The heatmap (--figures) shows --metric over the first two grid keys (--heatmap X,Y to choose);
the window's Compare -> Open sweep results... shows it too and opens a cell's run live.
"""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "sweep"
HELP = "a grid over config keys x seeds headless (local processes or Ray), one JSONL row per run"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .sweep_common import add_run_arguments

    p.add_argument("--preset", metavar="NAME|FILE", help="base config from a scene (default: the default config)")
    p.add_argument("--data", help="dataset of the base config")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="set a config field of every run (repeatable)")
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="a grid axis (repeatable; the runs are the product of all axes)")
    p.add_argument("--out", default="sweep.jsonl", help="JSONL file of the runs (default sweep.jsonl)")
    p.add_argument("--table", metavar="MD", help="also write the table (Markdown, with the command) to this file")
    p.add_argument("--metric", default="modes_covered", choices=["modes_covered", "hq_fraction", "reverse_kl", "w1"],
                   help="the heatmap's metric (default modes_covered)")
    p.add_argument("--heatmap", metavar="X[,Y]", help="the heatmap's axes (default: the first two grid keys)")
    add_run_arguments(p, default_steps=2000)


def run(args: argparse.Namespace) -> int:
    from ganviz.core.config import ConfigError, TrainConfig, config_from_pairs, parse_value
    from ganviz.sweep.grid import grid_tasks, parse_grid
    from ganviz.sweep.tables import grid_keys, grid_table

    from .sweep_common import check_run_arguments, err, execute, figures_or_message, rows_from, write_text

    if args.from_:
        rows = rows_from("sweep", args.from_)
        if rows is None:
            return 2
        keys = grid_keys(rows)
    else:
        problem = check_run_arguments(args)
        if problem:
            return err("sweep", problem)
        try:
            grid = parse_grid(args.grid)
            base = TrainConfig()
            if args.preset:
                from ganviz.core.scenes import SceneError, load_scene

                try:
                    base = load_scene(args.preset).config
                except SceneError as e:
                    raise ConfigError(str(e)) from None
            if args.data:
                base = base.replace(data=parse_value("data", args.data))
            base = config_from_pairs(args.set, base)
            seeds = range(args.seed_start, args.seed_start + args.seeds)
            tasks = grid_tasks(base, grid, seeds, args.steps, args.every, args.seeds_per_task)
        except (ConfigError, ValueError, KeyError) as e:
            return err("sweep", str(e))
        rows, code = execute(args, tasks, Path(args.out), "sweep")
        if code:
            return code
        keys = [k for k, _ in grid] or grid_keys(rows)
    if not rows:
        return err("sweep", "no rows to tabulate")
    table = grid_table(rows, keys)
    print(table)
    if args.table and not write_text(args.table, f"```\n{command_line(args)}\n```\n\n{table}\n", "sweep"):
        return 2
    if args.figures:
        axes = [a.strip() for a in args.heatmap.split(",")] if args.heatmap else keys[:2]

        def make() -> list[str]:
            from ganviz.sweep.figures import heatmap_figure

            return heatmap_figure(rows, args.figures, axes[0], axes[1] if len(axes) > 1 else None, args.metric)

        return figures_or_message("sweep", make)
    return 0


def command_line(args: argparse.Namespace) -> str:
    import shlex

    if args.from_:
        return f"ganviz sweep --from {shlex.quote(args.from_)}"
    parts = ["ganviz sweep"]
    parts += [f"--preset {shlex.quote(args.preset)}"] if args.preset else []
    parts += [f"--data {shlex.quote(args.data)}"] if args.data else []
    parts += [f"--set {shlex.quote(kv)}" for kv in args.set] + [f"--grid {shlex.quote(g)}" for g in args.grid]
    parts += [f"--seeds {args.seeds}", f"--steps {args.steps}"]
    parts += [f"--seed-start {args.seed_start}"] if args.seed_start else []
    parts += [f"--seeds-per-task {args.seeds_per_task}"] if args.seeds_per_task > 1 else []
    parts += [f"--backend {args.backend}", f"--out {shlex.quote(args.out)}"]
    return " ".join(parts)
