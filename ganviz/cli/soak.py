"""`ganviz soak`: a bounded long run with resident memory and thread counts sampled, headless and (with
--window SECONDS) with the window open offscreen. Exits 1 if memory grows more than --max-growth MB."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time

NAME = "soak"
HELP = "long run (default 100k steps headless) sampling memory and threads; fails if memory grows"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--steps", type=int, default=100_000, help="headless training steps (default 100000)")
    p.add_argument("--window", type=float, default=0.0, metavar="SECONDS",
                   help="then keep the window open offscreen for this long (default: no window)")
    p.add_argument("--max-growth", type=float, default=50.0, help="allowed RSS growth in MB (default 50)")
    p.add_argument("--json", metavar="FILE", help="write the samples as JSON")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config fields")
    p.add_argument("--storm", type=int, default=0, metavar="ACTIONS",
                   help="instead: open the window (offscreen, process backend) and fire this many random control "
                        "actions (play/pause, steps, resets, objectives, rates, data, speed, new training processes; "
                        "600 in docs/RELIABILITY.md), sampling memory, threads and open files")
    p.add_argument("--seed", type=int, default=0, help="the storm's random seed (default 0: repeatable)")


def rss_mb(pid: int | str = "self") -> float:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * 4096 / 2**20
    except OSError:
        return float("nan")


def headless_soak(cfg, steps: int, progress: bool = True) -> tuple[dict, list[dict]]:
    """Train `steps` steps with the GUI's loop (snapshots every 50 ms, each materialised as a consumer
    would) and sample resident memory and threads 50 times. Growth is measured after the first 10%."""
    from ..core.trainer import Trainer

    t = Trainer(cfg)
    samples: list[dict] = []
    every = max(steps // 50, 100)
    it = t.run(snapshot_interval=0.05, max_steps=steps)
    t0 = time.perf_counter()
    n_snaps = 0
    next_sample = 0
    for snap in it:
        if snap is not None:
            n_snaps += 1
            snap.materialized()
        if t.step >= next_sample:
            samples.append({"phase": "headless", "step": t.step, "t": time.perf_counter() - t0, "rss_mb": rss_mb(),
                            "threads": threading.active_count()})
            next_sample += every
            if progress:
                print(f"\rstep {t.step:>7}/{steps}  rss {samples[-1]['rss_mb']:.1f} MB", end="", file=sys.stderr)
    if progress:
        print(file=sys.stderr)
    warm = samples[len(samples) // 10]["rss_mb"]  # after warm-up (first 10%)
    result = {"config": cfg.to_dict(), "steps": t.step, "snapshots": n_snaps, "seconds": time.perf_counter() - t0,
              "rss_after_warmup_mb": warm,
              "rss_growth_mb": max(s["rss_mb"] for s in samples[len(samples) // 10:]) - warm,
              "rss_final_mb": samples[-1]["rss_mb"],
              "threads_min_max": [min(s["threads"] for s in samples), max(s["threads"] for s in samples)]}
    return result, samples


def run(args: argparse.Namespace) -> int:
    import torch

    from ..core.config import ConfigError, config_from_pairs

    torch.set_num_threads(1)
    try:
        cfg = config_from_pairs(args.set)
    except ConfigError as e:
        print(f"ganviz soak: error: {e}", file=sys.stderr)
        return 2
    if args.storm:
        return _report(storm_soak(cfg, args.storm, args.seed), args)
    if args.steps < 1000:
        print("ganviz soak: error: --steps must be >= 1000", file=sys.stderr)
        return 2
    result, samples = headless_soak(cfg, args.steps)
    if args.window > 0:
        result["window"] = _window_soak(cfg, args.window, samples)
    win = result.get("window", {})
    ok = result["rss_growth_mb"] < args.max_growth and all(
        not win.get(k, 0) >= args.max_growth for k in ("rss_growth_mb", "child_rss_growth_mb"))
    print(json.dumps({k: v for k, v in result.items() if k != "config"}, indent=1))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({**result, "samples": samples}, f, indent=1)
    if not ok:
        print(f"ganviz soak: memory grew by more than {args.max_growth} MB", file=sys.stderr)
    return 0 if ok else 1


def _report(result: dict, args: argparse.Namespace) -> int:
    samples = result.pop("samples")
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({**result, "samples": samples}, f, indent=1)
    ok = result["rss_growth_mb"] < args.max_growth and result["child_failures"] == 0
    if not ok:
        print(f"ganviz soak: memory grew by more than {args.max_growth} MB or a training process failed",
              file=sys.stderr)
    return 0 if ok else 1


def os_threads() -> int:
    """Threads of this process as the OS counts them (Qt's pool threads too, which threading does not list)."""
    try:
        import os

        return len(os.listdir("/proc/self/task"))
    except OSError:
        return -1


def open_fds() -> int:
    try:
        import os

        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1


def open_pipes() -> int:
    """Pipes and sockets among this process's open file descriptors (a child's pipe left open shows here; font
    and cache files that Qt opens as new text is drawn do not), or -1 where /proc is not available."""
    import contextlib
    import os

    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return -1
    n = 0
    for name in names:
        with contextlib.suppress(OSError):  # closed meanwhile (the listing's own descriptor)
            n += os.readlink(f"/proc/self/fd/{name}").startswith(("pipe:", "socket:"))
    return n


def storm_soak(cfg, actions: int, seed: int = 0, pause: float = 0.05, restart_weight: int = 1) -> dict:
    """The window (offscreen, default process backend) under `actions` random control actions, `pause` seconds
    apart, drawn from a seeded generator (the same seed, the same storm). Samples the window's and the child's
    resident memory, threads and open file descriptors every 50 actions; growth is measured after the first 10%."""
    import os
    import random
    import tempfile

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtCore

    from ..core.commands import (
        Reset,
        SetDataset,
        SetLearningRates,
        SetObjective,
        SetRunning,
        SetSpeed,
        SetSteps,
        StepBoth,
        StepD,
        StepG,
    )
    from ..qt.app import make_app, run_events
    from ..qt.main_window import MainWindow

    make_app()
    settings = QtCore.QSettings(os.path.join(tempfile.mkdtemp(), "storm.ini"), QtCore.QSettings.Format.IniFormat)
    w = MainWindow(cfg, settings=settings)
    w.resize(1400, 900)
    w.show()
    run_events(120, until=lambda: w.frames >= 5)
    rng = random.Random(seed)
    failures: list[str] = []
    w.session.failed.connect(failures.append)
    restarts = {"n": 0}

    def restart() -> None:
        restarts["n"] += 1
        w.restart_training()
        w.session.failed.connect(failures.append)

    menu = [
        ("play/pause", 12, lambda: w.toggle_running() if rng.random() < 0.5 else w.send(SetRunning(True))),
        ("step D", 6, lambda: w.send(StepD())), ("step G", 6, lambda: w.send(StepG())),
        ("step", 6, lambda: w.send(StepBoth())), ("reset", 5, lambda: w.send(Reset())),
        ("objective", 8, lambda: w.send(SetObjective(rng.choice(["ns", "minimax", "lsgan", "hinge", "wgan-gp"])))),
        ("rates", 8, lambda: w.send(SetLearningRates(d_lr=10 ** rng.uniform(-4.5, -2.5),
                                                    g_lr=10 ** rng.uniform(-4.5, -2.5)))),
        ("k steps", 4, lambda: w.send(SetSteps(d_steps=rng.randint(1, 5)))),
        ("data", 4, lambda: w.send(SetDataset(rng.choice(["ring8", "grid25", "bimodal-1d", "spiral"])))),
        ("speed", 5, lambda: w.send(SetSpeed(rng.choice([None, 3.0, 25.0, 100.0])))),
        ("new training process", restart_weight, restart),
    ]
    names = [m[0] for m in menu]
    weights = [m[1] for m in menu]
    counts = dict.fromkeys(names, 0)
    samples: list[dict] = []
    t0 = time.perf_counter()

    def sample(i: int) -> None:
        child = w.session.process.process.pid if w.session.process is not None else None
        samples.append({"phase": "storm", "action": i, "t": time.perf_counter() - t0, "rss_mb": rss_mb(),
                        "child_rss_mb": rss_mb(child) if child else float("nan"),
                        "threads": os_threads(), "fds": open_fds(), "pipes": open_pipes(), "frames": w.frames})

    for i in range(actions):
        if i % 50 == 0:
            sample(i)
        name = rng.choices(names, weights)[0]
        counts[name] += 1
        menu[names.index(name)][2]()
        run_events(pause)
    w.send(SetRunning(True))
    drawn = w.frames  # let the last actions apply (a new training process imports torch first)
    run_events(60.0, until=lambda: w.frames >= drawn + 5 and w.last_snapshot is not None and w.last_snapshot.step > 0)
    run_events(1.0)  # sessions ended by the last actions finish closing (their receivers hold the child's pipes)
    sample(actions)
    step = w.last_snapshot.step if w.last_snapshot is not None else 0
    t_close = time.perf_counter()
    ok_close = w.shutdown()
    w.close()
    close_seconds = time.perf_counter() - t_close
    import multiprocessing as mp

    run_events(0.5)
    children_left = len(mp.active_children())
    warm = samples[max(1, len(samples) // 10)]
    valid = samples[max(1, len(samples) // 10):]
    return {"actions": actions, "seed": seed, "counts": counts, "seconds": time.perf_counter() - t0,
            "frames": w.frames, "final_step": step, "new_training_processes": restarts["n"],
            "child_failures": len(failures), "failure_messages": failures[:5], "closed_in_time": ok_close,
            "close_seconds": close_seconds, "children_left": children_left,
            "rss_after_warmup_mb": warm["rss_mb"],
            "rss_growth_mb": max(s["rss_mb"] for s in valid) - warm["rss_mb"],
            "threads_min_max": [min(s["threads"] for s in samples), max(s["threads"] for s in samples)],
            "fds_first_last": [samples[0]["fds"], samples[-1]["fds"]],
            "pipes_first_last": [samples[0]["pipes"], samples[-1]["pipes"]], "samples": samples}


def _window_soak(cfg, seconds: float, samples: list) -> dict:
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import tempfile

    from PySide6 import QtCore

    from ..qt.app import make_app, run_events
    from ..qt.main_window import MainWindow

    make_app()
    settings = QtCore.QSettings(os.path.join(tempfile.mkdtemp(), "soak.ini"), QtCore.QSettings.Format.IniFormat)
    w = MainWindow(cfg, settings=settings)
    w.resize(1400, 900)
    w.show()
    deadline = time.perf_counter() + 120
    run_events(max(0.0, deadline - time.perf_counter()), until=lambda: w.frames >= 5)  # the child imports torch
    child = w.session.process.process.pid if w.session.process is not None else None
    t0 = time.perf_counter()
    local = []
    next_t = 0.0
    while time.perf_counter() - t0 < seconds:
        run_events(0.05)  # the real event loop (a processEvents() loop would spin a core)
        if time.perf_counter() - t0 >= next_t:
            step = w.last_snapshot.step if w.last_snapshot else 0
            local.append({"phase": "window", "step": step, "t": time.perf_counter() - t0, "rss_mb": rss_mb(),
                          "child_rss_mb": rss_mb(child) if child else float("nan"),
                          "threads": threading.active_count(), "frames": w.frames})
            next_t += max(seconds / 60, 1.0)
    w.shutdown()
    w.close()
    samples += local
    warm = local[len(local) // 5]["rss_mb"]
    child_warm = local[len(local) // 5]["child_rss_mb"]
    return {"seconds": seconds, "frames": w.frames, "steps": local[-1]["step"], "rss_after_warmup_mb": warm,
            "rss_growth_mb": max(s["rss_mb"] for s in local[len(local) // 5:]) - warm,
            "child_rss_after_warmup_mb": child_warm,
            "child_rss_growth_mb": max(s["child_rss_mb"] for s in local[len(local) // 5:]) - child_warm,
            "threads_min_max": [min(s["threads"] for s in local), max(s["threads"] for s in local)]}
