"""`ganviz bench`: the engine's steps/s against a plain PyTorch loop of the same model, in one process.

Measurements alternate (plain, engine, engine+snapshots, ...) for --repeats rounds and medians are
reported, so background load hits every variant alike. With --gui the window is opened offscreen and
training throughput with views refreshing is compared against headless in the same run.

Also measured: compare mode with 1, 2 and 4 runs (`bench_compare`: runs one after the other in one process
versus one process per core), the image GAN (`bench_image`: reported as not available until the image
datasets are installed), and with --ensemble the batched ensemble of seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from ..core.compare import CompareTrainer, available_cores, compare_workers, comparison_configs
from ..core.config import TrainConfig
from ..core.distributions import make_distribution
from ..core.models import build_models
from ..core.trainer import Trainer


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


COMPARE_OBJECTIVES = ("ns", "hinge", "lsgan", "minimax")  # runs of equal cost (no gradient penalty)


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def _cpu_each(pids: Sequence[int]) -> list[float]:
    """CPU seconds (user + system) used so far by this process, then by each given child process (Linux
    /proc; a child that cannot be read counts 0)."""
    out = [time.process_time()]
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out.append((int(fields[11]) + int(fields[12])) / tick)
        except (OSError, IndexError, ValueError):
            out.append(0.0)
    return out


def _measure(fn: Callable[[], int | None], seconds: float, pids: Sequence[int]) -> tuple[float, list[float], float]:
    """Steps/s of calling fn for about `seconds` after one warm-up call (fn returns the steps it ran, or None
    for 10), the CPU milliseconds per step of each process (this one, then pids), and the cores used."""
    fn()
    c0 = _cpu_each(pids)
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        ran = fn()
        n += 10 if ran is None else ran
    dt = time.perf_counter() - t0
    used = [b - a for a, b in zip(c0, _cpu_each(pids), strict=True)]
    return n / dt, [1000 * u / n for u in used], sum(used) / dt


def live_loop(engine: Trainer | CompareTrainer, interval: float = 0.04) -> Callable[[], int]:
    """The window's loop without the window: lazy snapshots every `interval` s with deferred metrics, each
    prepared for the pipe (weights to the CPU) as the training process does before sending it."""
    it = engine.run(snapshot_interval=interval, defer_metrics=True)

    def step(n: int = 10) -> int:
        start = engine.step
        while engine.step < start + n:
            snap = next(it)
            if snap is not None:
                snap.prepare_transfer()
        return engine.step - start

    return step


def bench_compare(cfg: TrainConfig, seconds: float = 3.0, repeats: int = 3, sizes: Sequence[int] = (2, 4),
                  workers: int | None = None, target_ratio: float = 0.8) -> dict:
    """Compare mode's steps/s per run against a single run (same config, one torch thread per process).

    For each N in sizes: "lock-step N" steps the N runs one after the other in this process (workers=1);
    "parallel N" spreads them over `compare_workers(N)` processes (one per core, at most one per run), if
    this process may use more than one core. "... live" variants run the window's loop (snapshots every
    40 ms: a barrier across the processes). The runs' objectives are ns, hinge, lsgan, minimax (equal cost).
    Per-run steps/s of a comparison = its steps/s (every run makes one step per step). Variants alternate
    within each round; medians are reported, with the CPU cores each variant used (CPU seconds of all its
    processes / wall seconds) and the 1-minute load average before and after.
    """
    cores = available_cores()
    engines: dict[str, tuple[Callable[[], int | None], Trainer | CompareTrainer]] = {}
    single = Trainer(cfg)
    engines["single"] = (lambda n=10: single.train(n), single)
    made: list[CompareTrainer] = []
    try:
        for n in sizes:
            configs = comparison_configs(cfg, COMPARE_OBJECTIVES[:n])
            lock = CompareTrainer(configs)
            engines[f"lock-step N={n}"] = (lambda k=10, e=lock: e.train(k), lock)
            k = compare_workers(n) if workers is None else min(workers, n)
            if k > 1:
                par = CompareTrainer(configs, workers=k)
                made.append(par)
                engines[f"parallel N={n}"] = (lambda m=10, e=par: e.train(m), par)
        live_single = Trainer(cfg)
        engines["single live"] = (live_loop(live_single), live_single)
        if 2 in sizes and compare_workers(2) > 1 and (workers is None or workers > 1):
            live_par = CompareTrainer(comparison_configs(cfg, COMPARE_OBJECTIVES[:2]), workers=2)
            made.append(live_par)
            engines["parallel N=2 live"] = (live_loop(live_par), live_par)
        results: dict[str, list[float]] = {k: [] for k in engines}
        used: dict[str, list[float]] = {k: [] for k in engines}
        cpu_ms: dict[str, list[list[float]]] = {k: [] for k in engines}
        load_before = _load()
        for _ in range(repeats):
            for name, (fn, engine) in engines.items():
                pids = engine.shard_pids if isinstance(engine, CompareTrainer) else []
                rate, per_step, cores_used = _measure(fn, seconds, pids)
                results[name].append(rate)
                cpu_ms[name].append(per_step)
                used[name].append(cores_used)
        load_after = _load()
    finally:
        for e in made:
            e.close()
    med = {k: statistics.median(v) for k, v in results.items()}
    ratio = {k: v / med["single"] for k, v in med.items() if k != "single" and "live" not in k}
    if "parallel N=2 live" in med:
        ratio["parallel N=2 live"] = med["parallel N=2 live"] / med["single live"]
    # CPU ms per step of each process (medians over rounds): with a free core per process, the slowest one
    # sets the pace, so 1000 / max gives the steps/s the design allows once the machine is not shared
    cpu_med = {k: [statistics.median(r[i] for r in v) for i in range(len(v[0]))] for k, v in cpu_ms.items()}
    free = {k: 1000 / max(v) for k, v in cpu_med.items()}
    free_ratio = {k: v / free["single" if "live" not in k else "single live"] for k, v in free.items()
                  if not k.startswith("single")}
    best = "parallel N=2" if "parallel N=2" in ratio else "lock-step N=2"
    return {
        "config": {"data": cfg.data, "batch_size": cfg.batch_size, "width": cfg.d_width, "depth": cfg.d_depth},
        "objectives": list(COMPARE_OBJECTIVES), "cores": cores, "cpu_count": os.cpu_count(),
        "workers": {n: compare_workers(n) if workers is None else min(workers, n) for n in sizes},
        "repeats": repeats, "seconds_each": seconds, "load_before": load_before, "load_after": load_after,
        "steps_per_s_median": med, "steps_per_s_all": results,
        "ratio_per_run_vs_single": ratio,
        "cores_used_median": {k: statistics.median(v) for k, v in used.items()},
        "cpu_ms_per_step_median": cpu_med,  # per process: this one, then each shard
        "free_cores_steps_per_s": free, "free_cores_ratio_per_run_vs_single": free_ratio,
        "target": {"variant": best, "ratio": target_ratio, "measured": ratio.get(best, float("nan")),
                   "met": bool(ratio.get(best, 0.0) >= target_ratio),
                   "free_cores_projection": free_ratio.get(best, float("nan"))},
    }


def format_compare(r: dict) -> str:
    lines = [f"compare mode  {r['config']}  runs: {', '.join(r['objectives'])}; {r['cores']} cores usable, "
             f"load {r['load_before']:.1f} -> {r['load_after']:.1f}",
             f"  {'variant':<20}{'steps/s per run':>16}{'vs single':>10}{'cores used':>11}"
             f"{'CPU ms/step per process':>26}{'free-core ratio':>16}"]
    for k, v in r["steps_per_s_median"].items():
        ratio = r["ratio_per_run_vs_single"].get(k, 1.0 if k.startswith("single") else float("nan"))
        cpu = " + ".join(f"{c:.1f}" for c in r["cpu_ms_per_step_median"][k])
        free = r["free_cores_ratio_per_run_vs_single"].get(k, 1.0)
        lines.append(f"  {k:<20}{v:>16.1f}{ratio:>10.3f}{r['cores_used_median'][k]:>11.2f}{cpu:>26}{free:>16.3f}")
    t = r["target"]
    lines.append(f"  target: 2 runs at >= {t['ratio']}x a single run's steps/s per run ({t['variant']}): "
                 f"{t['measured']:.3f} ({'met' if t['met'] else 'not met'}); with a free core per process "
                 f"(CPU time per step): {t['free_cores_projection']:.3f}")
    return "\n".join(lines)


def format_image(r: dict) -> str:
    if not r["available"]:
        return f"image GAN {r['config']}: not available ({r['reason'].splitlines()[0]})"
    return f"image GAN {r['config']}: {r['steps_per_s_median']:.1f} steps/s"


IMAGE_CONFIG = {"data": "digits", "batch_size": 64, "z_dim": 64}


def bench_image(seconds: float = 3.0, repeats: int = 3, device: str = "cpu") -> dict:
    """Steps/s of the image GAN (Trainer on `IMAGE_CONFIG`); {"available": False, "reason": ...} when the
    image datasets or models are not there (yet)."""
    try:
        t = Trainer(TrainConfig(**IMAGE_CONFIG, device=device))
        t.iteration()
    except Exception as exc:  # the image work may be absent or incomplete: report, do not fail the bench
        return {"available": False, "config": IMAGE_CONFIG, "reason": f"{type(exc).__name__}: {exc}"}
    rates = [_rate(lambda: t.train(5), seconds, steps_per_call=5) for _ in range(repeats)]
    return {"available": True, "config": IMAGE_CONFIG, "steps_per_s_median": statistics.median(rates),
            "steps_per_s_all": rates}


def _soak_summary(cfg: TrainConfig, steps: int) -> dict:
    from .soak import headless_soak

    torch.set_num_threads(1)
    result, _ = headless_soak(cfg, steps, progress=False)
    return {k: v for k, v in result.items() if k != "config"}


def bench_memory(cfg: TrainConfig, steps: int) -> dict:
    """Resident memory of a fresh training process over `steps` steps with the GUI's loop (snapshots every
    50 ms, materialised): its own figure, not this process's (which holds every other bench section)."""
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(_soak_summary, (cfg, steps))


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
    load_before = _load()
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
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
        "load_before": load_before,  # 1-minute load average before and after the engine rounds
        "load_after": _load(),
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
    report["compare"] = bench_compare(cfg, seconds=args.seconds, repeats=args.repeats)
    report["image"] = bench_image(seconds=args.seconds, repeats=args.repeats, device=device)
    if getattr(args, "ensemble", False):
        from ..core.ensemble_bench import bench_ensemble

        report["ensemble"] = bench_ensemble(cfg, n_seeds_list=(1, 4, 16), seconds=args.seconds, repeats=args.repeats)
    if args.gui:
        from ..qt.bench_gui import bench_image_window, bench_window

        report["gui"] = bench_window(cfg, seconds=max(args.seconds, 4.0), repeats=args.repeats,
                                     headless_rate=med["engine"])
        if report["image"]["available"]:
            report["gui_image"] = bench_image_window({**IMAGE_CONFIG, "device": device},
                                                     seconds=max(args.seconds, 4.0), repeats=args.repeats)
    if getattr(args, "memory", 0):
        report["memory"] = bench_memory(cfg, args.memory)
    print(format_report(report))
    print(format_compare(report["compare"]))
    print(format_image(report["image"]))
    if "ensemble" in report:
        from ..core.ensemble_bench import format_bench

        print(format_bench(report["ensemble"]))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
    return 0


def format_report(r: dict) -> str:
    med = r["steps_per_s_median"]
    lines = [
        f"ganviz bench  device={r['device']} threads={r['torch_threads']}  {r['config']}  load average "
        f"{r['load_before']:.1f} -> {r['load_after']:.1f} on {r['cpu_count']} CPUs",
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
                     f"{g['ratio_vs_headless']:.3f}x (target >= 0.85x)")
        lines.append(f"  {g['frames_per_s_median']:.1f} frames/s (target >= 20); event-loop latency p50 "
                     f"{g['latency_ms_p50']:.1f} ms, p99 {g['latency_ms_p99']:.1f} ms (target < 50)")
        for view, ms in g.get("render_ms_median", {}).items():
            lines.append(f"    render {view:<18} median {ms:.2f} ms")
        p = g.get("presentation")
        if p:
            w, h = p.get("window_size", ("?", "?"))
            lines.append(f"  presentation mode, full screen {w}x{h}: {p['frames_per_s_median']:.1f} frames/s (target "
                         f">= 20); {p['steps_per_s_median']:.1f} steps/s vs {p['headless_steps_per_s_median']:.1f} "
                         f"headless = {p['ratio_vs_headless']:.3f}x; event-loop latency p50 "
                         f"{p['latency_ms_p50']:.1f} ms, p99 {p['latency_ms_p99']:.1f} ms")
        rec = g.get("recording", {})
        if rec.get("available"):
            w, h = rec["size"]
            lines.append(f"  recording: MP4 {w}x{h} encode {rec['encode_frames_per_s']:.0f} frames/s (1 ffmpeg "
                         f"thread); grab {rec['grab_ms']:.1f} ms, compose {rec['compose_ms']:.1f} ms per frame")
        elif rec:
            lines.append(f"  recording: not available ({rec['reason']})")
    if "gui_image" in r:
        g = r["gui_image"]
        lines.append(f"  image GAN window ({g['backend']} backend): {g['steps_per_s_median']:.1f} steps/s vs "
                     f"{g['headless_steps_per_s_median']:.1f} headless = {g['ratio_vs_headless']:.3f}x at "
                     f"{g['frames_per_s_median']:.1f} frames/s; latency p99 {g['latency_ms_p99']:.1f} ms")
    if "memory" in r:
        m = r["memory"]
        lines.append(f"  memory: {m['steps']} steps in {m['seconds']:.0f} s with snapshots every 50 ms: resident "
                     f"{m['rss_after_warmup_mb']:.1f} MB after warm-up, {m['rss_final_mb']:.1f} MB at the end, "
                     f"growth {m['rss_growth_mb']:.1f} MB (target < 50)")
    else:
        lines.append("  memory: not measured (add --memory 100000)")
    return "\n".join(lines)
