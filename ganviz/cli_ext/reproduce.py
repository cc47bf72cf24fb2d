"""`ganviz reproduce`: mode-collapse remedies over several seeds, headless, beside the published numbers.

    ganviz reproduce --methods gan,unrolled,pacgan2 --data ring8,grid25 --seeds 5 --steps 3000 --out t.md

Each (data, method, seed) run starts from the dataset's base scene (ring8: assets/scenes/collapse-ring-gan,
grid25: collapse-grid-gan, anything else: the default config on that data), applies the method's changes
(below) and any --set, trains --steps iterations, and measures at the last step with the VEEGAN / PacGAN
protocol (THEORY.md section 4: 2500 samples, high quality = within 3 std of the nearest mode). The table
gives mean ± sample std (ddof = 1) over seeds. Runs are spread over --jobs processes (one torch thread each).

Methods: gan (no change), unrolled[K] (unroll = K, default 5), pacgan[M] (pack = M, default 2), mbdisc[B]
(minibatch discrimination with B kernels, default 5), mbstd (minibatch std feature), dsteps[K] (K D updates
per G update, default 5), wgan-gp (objective wgan-gp with its paper defaults: Adam 1e-4, betas (0, 0.9),
lambda 10, 5 critic steps).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from typing import Any

NAME = "reproduce"
HELP = "mode-collapse remedies over >= 5 seeds headless, as a table beside the published numbers"

BASE_SCENES = {"ring8": "collapse-ring-gan", "grid25": "collapse-grid-gan"}

# (mean modes covered, source) as published, each in its own paper's setup (THEORY.md section 4)
PUBLISHED: dict[tuple[str, str], list[tuple[float, str]]] = {
    ("gan", "ring8"): [(1.0, "VEEGAN T1"), (6.3, "PacGAN T1")],
    ("gan", "grid25"): [(17.3, "PacGAN T1")],
    ("unrolled", "ring8"): [(7.6, "VEEGAN T1")],
    ("pacgan2", "ring8"): [(7.9, "PacGAN T1")],
    ("pacgan2", "grid25"): [(23.8, "PacGAN T1")],
    ("wgan-gp", "ring8"): [(6.8, "GDPP T1")],
    ("wgan-gp", "grid25"): [(24.2, "GDPP T1")],
}


def method_changes(method: str) -> dict[str, Any]:
    """Config changes a method name stands for (ValueError for an unknown name)."""
    m = re.fullmatch(r"(gan|unrolled|pacgan|mbdisc|mbstd|dsteps|wgan-gp)(\d*)", method)
    if m is None:
        raise ValueError(f"unknown method {method!r}; use gan, unrolled[K], pacgan[M], mbdisc[B], mbstd, "
                         "dsteps[K], wgan-gp")
    kind, num = m.group(1), m.group(2)
    if num and kind in ("gan", "mbstd", "wgan-gp"):
        raise ValueError(f"method {kind!r} takes no number (got {method!r})")
    if kind == "gan":
        return {}
    if kind == "unrolled":
        return {"unroll": int(num or 5)}
    if kind == "pacgan":
        return {"pack": int(num or 2)}
    if kind == "mbdisc":
        return {"mbdisc": int(num or 5)}
    if kind == "mbstd":
        return {"mbstd": 1}
    if kind == "dsteps":
        return {"d_steps": int(num or 5)}
    from ganviz.core.objectives import get_objective

    return {"objective": "wgan-gp", **get_objective("wgan-gp").paper_defaults}


def published_key(method: str) -> str:
    return "unrolled" if re.fullmatch(r"unrolled\d*", method) else method


def base_config(data: str, overrides: list[str]):
    from ganviz.core.config import TrainConfig, config_from_pairs
    from ganviz.core.scenes import load_scene

    cfg = load_scene(BASE_SCENES[data]).config if data in BASE_SCENES else TrainConfig().replace(data=data)
    return config_from_pairs(overrides, cfg)


def run_one(job: tuple[str, str, int, int, dict[str, Any]]) -> dict[str, Any]:
    """Train one seed headless and measure at the last step (runs in a worker process)."""
    import torch

    from ganviz.core.config import TrainConfig
    from ganviz.core.trainer import Trainer

    torch.set_num_threads(1)
    data, method, seed, steps, cfg_dict = job
    cfg = TrainConfig(**{**cfg_dict, "seed": seed})
    t0 = time.perf_counter()
    trainer = Trainer(cfg)
    trainer.train(steps)
    snap = trainer.snapshot(with_metrics=True, with_fields=False)
    diverged = any(e.kind == "diverged" for e in snap.events)
    m = snap.metrics
    nan = float("nan")
    return {"data": data, "method": method, "seed": seed, "steps": steps, "diverged": diverged,
            "modes_covered": nan if diverged else float(m.get("modes_covered", nan)),
            "n_modes": float(m.get("n_modes", nan)),
            "hq_fraction": nan if diverged else float(m.get("hq_fraction", nan)),
            "reverse_kl": nan if diverged else float(m.get("reverse_kl", nan)),
            "seconds": time.perf_counter() - t0}


def mean_std(values: list[float]) -> tuple[float, float, int]:
    """Mean and sample std (ddof = 1) of the finite values, and how many there were."""
    v = [x for x in values if isinstance(x, float) and math.isfinite(x)]
    if not v:
        return float("nan"), float("nan"), 0
    mu = sum(v) / len(v)
    sd = math.sqrt(sum((x - mu) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0
    return mu, sd, len(v)


def _pm(mu: float, sd: float, fmt: str) -> str:
    return "—" if not math.isfinite(mu) else f"{mu:{fmt}} ± {sd:{fmt}}"


def format_table(results: list[dict[str, Any]], datas: list[str], methods: list[str]) -> str:
    """Markdown table: one row per (data, method), mean ± std over seeds, beside the published numbers."""
    lines = ["| data | method | seeds | modes covered | % high quality | reverse KL (nats) | published modes |",
             "|---|---|---|---|---|---|---|"]
    for data in datas:
        for method in methods:
            rows = [r for r in results if r["data"] == data and r["method"] == method]
            if not rows:
                continue
            k = rows[0]["n_modes"]
            cov = mean_std([r["modes_covered"] for r in rows])
            hq = mean_std([100.0 * r["hq_fraction"] for r in rows])
            rkl = mean_std([r["reverse_kl"] for r in rows])
            n_div = sum(r["diverged"] for r in rows)
            seeds = f"{len(rows)}" + (f" ({n_div} diverged)" if n_div else "")
            cov_s = _pm(cov[0], cov[1], ".1f") + (f" / {k:g}" if math.isfinite(k) else "")
            rkl_s = _pm(rkl[0], rkl[1], ".2f")
            if rkl[2] < cov[2]:  # runs with no HQ sample have no mode histogram, hence no reverse KL
                rkl_s += f" ({cov[2] - rkl[2]} of {cov[2]} runs: no HQ sample)"
            pub = PUBLISHED.get((published_key(method), data), [])
            pub_s = "; ".join(f"{v:g}/{k:g} ({src})" for v, src in pub) or "—"
            lines.append(f"| {data} | {method} | {seeds} | {cov_s} | {_pm(hq[0], hq[1], '.1f')} | {rkl_s} | "
                         f"{pub_s} |")
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--methods", default="gan,unrolled,pacgan2",
                   help="comma-separated: gan, unrolled[K], pacgan[M], mbdisc[B], mbstd, dsteps[K], wgan-gp")
    p.add_argument("--data", default="ring8,grid25", help="comma-separated datasets (mixtures: ring8, grid25)")
    p.add_argument("--seeds", type=int, default=5, help="seeds per method and dataset (0 .. N-1; default 5)")
    p.add_argument("--steps", type=int, default=2000, help="training iterations per run (default 2000)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field of every run (repeatable)")
    p.add_argument("--out", help="also write the table (markdown, with the command) to this file")
    p.add_argument("--quiet", action="store_true", help="no per-run progress lines")


def run(args: argparse.Namespace) -> int:
    from ganviz.core.config import ConfigError

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    datas = [d.strip() for d in args.data.split(",") if d.strip()]
    if args.seeds < 1 or args.steps < 1 or args.jobs < 1 or not methods or not datas:
        print("ganviz reproduce: error: --seeds, --steps and --jobs must be >= 1, and --methods / --data "
              "non-empty", file=sys.stderr)
        return 2
    jobs: list[tuple[str, str, int, int, dict[str, Any]]] = []
    mode_samples: set[int] = set()
    try:
        for data in datas:
            base = base_config(data, args.set)
            mode_samples.add(base.mode_samples)
            for method in methods:
                cfg = base.replace(**method_changes(method))
                jobs += [(data, method, seed, args.steps, cfg.to_dict()) for seed in range(args.seeds)]
    except (ConfigError, ValueError, KeyError) as e:
        print(f"ganviz reproduce: error: {e}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    results: list[dict[str, Any]] = []

    def report(r: dict[str, Any]) -> None:
        results.append(r)
        if not args.quiet:
            print(f"[{len(results)}/{len(jobs)}] {r['data']} {r['method']} seed {r['seed']}: modes "
                  f"{r['modes_covered']:g}/{r['n_modes']:g}, HQ {100 * r['hq_fraction']:.1f}%, reverse KL "
                  f"{r['reverse_kl']:.3f} ({r['seconds']:.0f} s)", file=sys.stderr, flush=True)

    if args.jobs == 1:
        for job in jobs:
            report(run_one(job))
    else:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(min(args.jobs, len(jobs))) as pool:
            for r in pool.imap_unordered(run_one, jobs):
                report(r)
    results.sort(key=lambda r: (datas.index(r["data"]), methods.index(r["method"]), r["seed"]))
    elapsed = time.perf_counter() - t0
    table = format_table(results, datas, methods)
    command = (f"ganviz reproduce --methods {_quote(args.methods)} --data {_quote(args.data)} --seeds {args.seeds} "
               f"--steps {args.steps} --jobs {args.jobs}" + "".join(f" --set {_quote(kv)}" for kv in args.set)
               + (f" --out {_quote(args.out)}" if args.out else ""))
    print(table)
    print(f"\n{len(jobs)} runs, {args.steps} steps each, {elapsed:.0f} s wall on {args.jobs} process(es)")
    if args.out:
        import torch

        text = (f"```\n{command}\n```\n\n{table}\n\n{len(jobs)} runs of {args.steps} steps, {args.seeds} seeds "
                f"(0..{args.seeds - 1}); {elapsed:.0f} s wall with {args.jobs} worker process(es), torch "
                f"{torch.__version__}, CPU. Metrics at the last step on "
                f"{'/'.join(str(n) for n in sorted(mode_samples))} generated samples (VEEGAN/PacGAN protocol: "
                "high quality = within 3 std of the nearest mode); mean ± sample std over seeds.\n")
        try:
            with open(args.out, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as e:
            print(f"ganviz reproduce: error: cannot write {args.out!r}: {e.strerror}", file=sys.stderr)
            return 2
    return 0


def _quote(a: str) -> str:
    return a if re.fullmatch(r"[\w.,=:/+-]+", a) else "'" + a.replace("'", "'\\''") + "'"
