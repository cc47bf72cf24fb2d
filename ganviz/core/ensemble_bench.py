"""How fast the batched ensemble of seeds trains against the single run (`bench_ensemble`), and where an
iteration's time goes (`profile_iteration`). `python -m ganviz.core.ensemble_bench --help`; figures and
method in docs/ENSEMBLE.md.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence

import torch

from .config import TrainConfig
from .ensemble import RNG_MODES, EnsembleTrainer
from .stacked import FORWARDS
from .trainer import Trainer


def _rate(fn: Callable[[int], None], seconds: float, chunk: int) -> float:
    """Steps per second of calling fn(chunk) repeatedly for about `seconds` (after one warm-up call)."""
    fn(chunk)
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn(chunk)
        n += chunk
    return n / (time.perf_counter() - t0)


def bench_ensemble(cfg: TrainConfig | None = None, n_seeds_list: Sequence[int] = (1, 4, 16), seconds: float = 3.0,
                   repeats: int = 3, separate: bool = True, rng_modes: Sequence[str] = ("per-seed",),
                   forwards: Sequence[str] = ("bmm",), target_n: int = 16, target_ratio: float = 0.5) -> dict:
    """Steps/s of the batched ensemble for each N against the single-run Trainer (same config, one torch
    thread), as ratios (steps of all N per second) / (single-run steps per second); also N separate
    Trainers stepped in a loop. Variants alternate within each of `repeats` rounds (background load hits
    them alike) and medians are reported; `load_before` / `load_after` are the 1-minute load averages.
    """
    cfg = cfg or TrainConfig(data="ring8", objective="ns", batch_size=256)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = Trainer(cfg)
        variants: dict[str, Callable[[int], None]] = {"single": single.train}
        for n in n_seeds_list:
            for fwd in forwards:
                for rng in rng_modes:
                    name = f"ensemble N={n}" + ("" if rng == "per-seed" else f" rng={rng}") + \
                           ("" if fwd == "bmm" else f" forward={fwd}")
                    variants[name] = EnsembleTrainer(cfg, n, rng=rng, forward=fwd).train
            if separate and n > 1:
                runs = [Trainer(cfg.replace(seed=cfg.seed + i)) for i in range(n)]

                def loop(steps: int, runs: list[Trainer] = runs) -> None:
                    for _ in range(steps):
                        for r in runs:
                            r.iteration()

                variants[f"separate N={n}"] = loop
        load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        results: dict[str, list[float]] = {k: [] for k in variants}
        for _ in range(repeats):
            for name, fn in variants.items():
                results[name].append(_rate(fn, seconds, chunk=5))
        load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    finally:
        torch.set_num_threads(threads)
    med = {k: statistics.median(v) for k, v in results.items()}
    base = med["single"]
    ratios = {k: v / base for k, v in med.items() if k != "single"}
    per_seed = {k: v * _n_of(k) / base for k, v in med.items() if k != "single"}
    key = f"ensemble N={target_n}"
    return {
        "config": {k: getattr(cfg, k) for k in ("data", "objective", "batch_size", "g_depth", "g_width", "d_depth",
                                                 "d_width", "d_optimizer", "g_optimizer", "d_steps")},
        "torch": torch.__version__, "torch_threads": 1, "cpu_count": os.cpu_count(),
        "repeats": repeats, "seconds_each": seconds, "load_before": load_before, "load_after": load_after,
        "steps_per_s_median": med, "steps_per_s_all": results,
        "ratio_vs_single": ratios,  # steps of all N per second / single-run steps per second
        "seed_steps_ratio_vs_single": per_seed,  # seed-steps per second / single-run steps per second
        "target": {"n_seeds": target_n, "ratio": target_ratio, "measured": ratios.get(key, float("nan")),
                   "met": bool(ratios.get(key, 0.0) >= target_ratio)},
    }


def _n_of(name: str) -> int:
    return int(name.split("N=")[1].split()[0])


def format_bench(r: dict) -> str:
    """A readable table of bench_ensemble's result."""
    lines = [f"ensemble bench  {r['config']}",
             f"  medians of {r['repeats']} alternating rounds of {r['seconds_each']:g} s; torch threads 1; "
             f"load average {r['load_before']:.1f} -> {r['load_after']:.1f} on {r['cpu_count']} CPUs",
             f"  {'variant':<34}{'steps/s':>10}{'vs single':>11}{'seed-steps':>12}"]
    med = r["steps_per_s_median"]
    for k, v in med.items():
        ratio = 1.0 if k == "single" else r["ratio_vs_single"][k]
        seed_ratio = 1.0 if k == "single" else r["seed_steps_ratio_vs_single"][k]
        lines.append(f"  {k:<34}{v:>10.1f}{ratio:>11.3f}{seed_ratio:>11.2f}x")
    t = r["target"]
    lines.append(f"  target: N={t['n_seeds']} at >= {t['ratio']}x single: measured {t['measured']:.3f} "
                 f"({'met' if t['met'] else 'not met'})")
    return "\n".join(lines)


_MATMULS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm")


def profile_iteration(cfg: TrainConfig | None = None, n_seeds: int = 16, iterations: int = 5) -> dict:
    """Where an iteration's time goes, single run vs the batched ensemble (torch.profiler, one thread): per
    iteration, the profiled CPU time, the part spent in matmul kernels (mm / addmm / bmm / baddbmm), their
    FLOPs and the FLOP rate inside them, and the top operators. Profiling inflates per-op overhead, so
    rates come from `bench_ensemble`; this answers what the time is spent on."""
    from torch.profiler import ProfilerActivity, profile

    cfg = cfg or TrainConfig(data="ring8", objective="ns", batch_size=256)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    out: dict = {}
    try:
        for name, engine, steps in (("single", Trainer(cfg), iterations * 4),
                                    (f"ensemble N={n_seeds}", EnsembleTrainer(cfg, n_seeds), iterations)):
            engine.train(2)
            with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
                engine.train(steps)
            ka = prof.key_averages()
            total = sum(e.self_cpu_time_total for e in ka)
            mm = sum(e.self_cpu_time_total for e in ka if e.key in _MATMULS)
            flops = sum(e.flops for e in ka if e.key in _MATMULS)
            top = sorted(ka, key=lambda e: -e.self_cpu_time_total)[:6]
            out[name] = {"cpu_ms": total / 1000 / steps, "matmul_ms": mm / 1000 / steps,
                         "matmul_share": mm / total, "matmul_mflop": flops / 1e6 / steps,
                         "gflops_in_matmul": flops / mm / 1e3 if mm else float("nan"),
                         "top": [(e.key, e.self_cpu_time_total / total) for e in top]}
    finally:
        torch.set_num_threads(threads)
    return out


def format_profile(p: dict) -> str:
    lines = []
    for name, r in p.items():
        lines.append(f"{name}: {r['cpu_ms']:.2f} ms CPU per iteration (profiled); matmul kernels {r['matmul_ms']:.2f} "
                     f"ms = {100 * r['matmul_share']:.0f}%, {r['matmul_mflop']:.0f} MFLOP at "
                     f"{r['gflops_in_matmul']:.1f} GFLOP/s")
        lines.append("    top: " + ", ".join(f"{k} {100 * v:.0f}%" for k, v in r["top"]))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """python -m ganviz.core.ensemble_bench [--width W --depth D --batch B] [--seeds 1 4 16] [--rng/--forward ...]"""
    import argparse
    import json

    ap = argparse.ArgumentParser(prog="python -m ganviz.core.ensemble_bench", description=bench_ensemble.__doc__)
    ap.add_argument("--width", type=int, default=128, help="hidden units of G and D (default 128)")
    ap.add_argument("--depth", type=int, default=3, help="hidden layers of G and D (default 3)")
    ap.add_argument("--batch", type=int, default=256, help="batch size (default 256)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 4, 16], help="ensemble sizes N")
    ap.add_argument("--rng", nargs="+", default=["per-seed"], choices=RNG_MODES)
    ap.add_argument("--forward", nargs="+", default=["bmm"], choices=FORWARDS)
    ap.add_argument("--no-separate", action="store_true", help="skip N separate Trainers stepped in a loop")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", help="also write the result as JSON to this file")
    ap.add_argument("--profile", action="store_true", help="profile one iteration instead (single vs N = max seeds)")
    args = ap.parse_args(argv)
    cfg = TrainConfig(data="ring8", objective="ns", batch_size=args.batch, g_width=args.width, d_width=args.width,
                      g_depth=args.depth, d_depth=args.depth)
    if args.profile:
        print(format_profile(profile_iteration(cfg, max(args.seeds))))
        return 0
    r = bench_ensemble(cfg, args.seeds, args.seconds, args.repeats, separate=not args.no_separate,
                       rng_modes=args.rng, forwards=args.forward)
    print(format_bench(r))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(r, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
