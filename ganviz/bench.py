"""`ganviz bench`: the engine's steps/s against a plain PyTorch loop of the same model, in one process.

Measurements alternate (plain, engine, engine+snapshots, ...) for --repeats rounds and medians are
reported, so background load hits every variant alike. With --gui the window is opened offscreen and
training throughput with views refreshing is compared against headless in the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from .core.config import TrainConfig
from .core.distributions import make_distribution
from .core.models import build_models
from .core.trainer import Trainer


def _rate(fn: Callable[[], int | None], seconds: float, steps_per_call: int = 1) -> float:
    """Steps per second of repeatedly calling fn for about `seconds` (after one warm-up call).

    fn may return how many steps it actually ran (a generator-driven loop can overshoot its target);
    otherwise steps_per_call is assumed."""
    fn()
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        ran = fn()
        n += steps_per_call if ran is None else ran
    return n / (time.perf_counter() - t0)


def plain_loop(cfg: TrainConfig, device: str = "cpu") -> Callable[[], None]:
    """The textbook loop: same data, MLPs, optimisers and batch; NS loss; one D and one G step."""
    dev = torch.device(device)
    data = make_distribution(cfg.data, cfg.ring_radius, cfg.ring_std)
    G, D = build_models(cfg.z_dim, data.dim, cfg.g_depth, cfg.g_width, cfg.d_depth, cfg.d_width,
                        cfg.activation, 1, cfg.seed, dev)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.g_lr, betas=(cfg.beta1, cfg.beta2))
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.d_lr, betas=(cfg.beta1, cfg.beta2))
    gen = torch.Generator(device=dev).manual_seed(cfg.seed)
    b = cfg.batch_size

    def step(n: int = 10) -> None:
        for _ in range(n):
            real = data.sample(b, gen, dev)
            z = torch.randn(b, cfg.z_dim, generator=gen, device=dev)
            with torch.no_grad():
                fake = G(z)
            d_loss = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            z = torch.randn(b, cfg.z_dim, generator=gen, device=dev)
            g_loss = F.softplus(-D(G(z))).mean()
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()

    return step


def engine_loop(cfg: TrainConfig) -> Callable[[], None]:
    t = Trainer(cfg)

    def step(n: int = 10) -> None:
        t.train(n)

    return step


def engine_with_snapshots(cfg: TrainConfig, interval: float = 0.05) -> tuple[Callable[[], int], list[int]]:
    """The GUI's loop (Trainer.run) with snapshots every `interval` s, fields and metrics included."""
    t = Trainer(cfg)
    it = t.run(snapshot_interval=interval)
    counter = [0]

    def step(n: int = 10) -> int:
        start = t.step
        while t.step < start + n:
            if next(it) is not None:
                counter[0] += 1
        return t.step - start  # next() may run past the target before it yields

    return step, counter


def run_bench(args: argparse.Namespace) -> int:
    torch.set_num_threads(1)
    device = args.device
    if device == "cuda" and not torch.cuda.is_available():
        print("ganviz bench: CUDA is not available on this machine", file=sys.stderr)
        return 2
    cfg = TrainConfig(data="ring8", objective="ns", batch_size=256, device=device)
    variants: dict[str, Callable[[], int | None]] = {
        "plain": plain_loop(cfg, device),
        "engine": engine_loop(cfg),
    }
    snap_step, snap_count = engine_with_snapshots(cfg)
    variants["engine+snapshots"] = snap_step
    results: dict[str, list[float]] = {k: [] for k in variants}
    snaps_per_s: list[float] = []
    for _ in range(args.repeats):
        for name, fn in variants.items():
            c0 = snap_count[0]
            t0 = time.perf_counter()
            r = _rate(fn, args.seconds, steps_per_call=10)
            results[name].append(r)
            if name == "engine+snapshots":
                snaps_per_s.append((snap_count[0] - c0) / (time.perf_counter() - t0))
    med = {k: statistics.median(v) for k, v in results.items()}
    report = {
        "device": device,
        "torch_threads": torch.get_num_threads(),
        "config": {"data": cfg.data, "objective": cfg.objective, "batch_size": cfg.batch_size,
                   "width": cfg.d_width, "depth": cfg.d_depth},
        "repeats": args.repeats,
        "seconds_each": args.seconds,
        "steps_per_s_median": med,
        "steps_per_s_all": results,
        "snapshots_per_s_median": statistics.median(snaps_per_s),
        "ratio_engine_vs_plain": med["engine"] / med["plain"],
        "ratio_snapshots_vs_plain": med["engine+snapshots"] / med["plain"],
    }
    if getattr(args, "ensemble", False):
        from .core.ensemble import bench_ensemble

        report["ensemble"] = bench_ensemble(cfg, n_seeds_list=(1, 4, 16), seconds=args.seconds)
    if args.gui:
        from .qt.bench_gui import bench_window

        report["gui"] = bench_window(cfg, seconds=max(args.seconds, 4.0), repeats=args.repeats,
                                     headless_rate=med["engine"])
    print(format_report(report))
    if "ensemble" in report:
        from .core.ensemble import format_bench

        print(format_bench(report["ensemble"]))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
    return 0


def format_report(r: dict) -> str:
    med = r["steps_per_s_median"]
    lines = [
        f"ganviz bench  device={r['device']} threads={r['torch_threads']}  {r['config']}",
        f"  medians of {r['repeats']} alternating runs of {r['seconds_each']:g} s",
        f"  {'variant':<22}{'steps/s':>10}{'vs plain':>10}",
    ]
    for k, v in med.items():
        lines.append(f"  {k:<22}{v:>10.1f}{v / med['plain']:>10.3f}")
    lines.append(f"  snapshots/s with snapshots on: {r['snapshots_per_s_median']:.1f}")
    lines.append(f"  targets: engine >= 0.95x plain ({r['ratio_engine_vs_plain']:.3f}), "
                 f"engine+snapshots >= 0.85x plain ({r['ratio_snapshots_vs_plain']:.3f})")
    if "gui" in r:
        g = r["gui"]
        lines.append(f"  window offscreen ({g['backend']} backend): {g['steps_per_s_median']:.1f} steps/s vs "
                     f"{g['headless_steps_per_s_median']:.1f} headless engine in alternating rounds = "
                     f"{g['ratio_vs_headless']:.3f}x (target >= 0.8x)")
        lines.append(f"  {g['frames_per_s_median']:.1f} frames/s (target >= 20); event-loop latency p50 "
                     f"{g['latency_ms_p50']:.1f} ms, p99 {g['latency_ms_p99']:.1f} ms (target < 50)")
        for view, ms in g.get("render_ms_median", {}).items():
            lines.append(f"    render {view:<12} median {ms:.2f} ms")
    return "\n".join(lines)
