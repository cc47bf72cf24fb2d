"""Window measurements for `ganviz bench --gui`: training with the window open versus headless.

The window is opened offscreen at 1400x900 with every dock visible. Render times per view are taken on real
snapshots at the default sizes, and for the 2D view also at a 128x128 D field with 2048 points. Rounds
alternate: the headless engine in this process (the window's run paused), then the window training and
drawing. Event-loop latency is measured by a 10 ms QTimer during the window rounds only: its lateness
(actual minus expected interval) is what a click would wait. Last, recording: real window frames encoded
to MP4 at 1280x720 (`bench_encode`).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time

from ..core.config import TrainConfig


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


PRESENTATION_SIZE = (1920, 1080)  # the presentation-mode rounds: full screen on a screen of this size


def offscreen_screen(size: tuple[int, int] = PRESENTATION_SIZE) -> None:
    """Run offscreen on one screen of `size` (Qt's offscreen screen is 800x800, so full screen was 800x800),
    unless a platform was chosen already or the QApplication exists."""
    from PySide6 import QtWidgets

    if QtWidgets.QApplication.instance() is not None or os.environ.get("QT_QPA_PLATFORM", "offscreen") != "offscreen":
        return
    path = os.path.join(tempfile.mkdtemp(prefix="ganviz-screen-"), "screen.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"screens": [{"name": "bench", "x": 0, "y": 0, "width": size[0], "height": size[1],
                                "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}, f)
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={path}"


def bench_window(cfg: TrainConfig, seconds: float = 5.0, repeats: int = 3, headless_rate: float | None = None,
                 backend: str = "process", interval: float | None = None, presentation: bool = True) -> dict:
    """Training and frames with the window open against headless (alternating rounds) at 1400x900, then, with
    `presentation`, the same in presentation mode full screen at 1920x1080; render times per view."""
    offscreen_screen()
    from PySide6 import QtCore

    from ..core.trainer import Trainer
    from .app import WINDOW_INTERVAL, make_app
    from .main_window import MainWindow

    make_app()
    interval = WINDOW_INTERVAL if interval is None else interval
    tmp = tempfile.mkdtemp(prefix="ganviz-bench-")
    settings = QtCore.QSettings(os.path.join(tmp, "layout.ini"), QtCore.QSettings.Format.IniFormat)
    window = MainWindow(cfg, settings=settings, autostart=False, backend=backend, interval=interval)
    window.resize(1400, 900)
    window.show()

    # render time per view on real snapshots (update + paint), from a local trainer after a short warm-up
    trainer = Trainer(cfg)
    trainer.train(50)
    render: dict[str, list[float]] = {}
    for _ in range(15):
        trainer.train(5)
        snap = trainer.snapshot(with_metrics=True, lazy=True)
        t0 = time.perf_counter()
        snap = snap.materialized()
        render.setdefault("materialize", []).append(time.perf_counter() - t0)
        panels = {"data2d" if snap.dim == 2 else "data1d": window.data2d if snap.dim == 2 else window.data1d,
                  "losses": window.losses, "histograms": window.histograms, "metrics": window.metrics}
        for name, panel in panels.items():
            t0 = time.perf_counter()
            panel.update_snapshot(snap)
            panel.grab()
            render.setdefault(name, []).append(time.perf_counter() - t0)
    if trainer.dim == 2:  # the size for the 2D view: a 128x128 D field and 2k points
        big = Trainer(cfg.replace(grid_size=128, n_view=2048))
        big.train(50)
        for _ in range(10):
            big.train(5)
            snap = big.snapshot(with_metrics=False, lazy=True).materialized()
            t0 = time.perf_counter()
            window.data2d.update_snapshot(snap)
            window.data2d.grab()
            render.setdefault("data2d 128x128 2k", []).append(time.perf_counter() - t0)

    rounds = _rounds(window, lambda: _train(trainer, 10), seconds, repeats)
    encode = bench_encode(window, tmp)
    present = None
    if presentation and getattr(window, "classroom", None) is not None:  # the feature that presents
        from .app import run_events

        window.classroom.toggle_presentation(True)  # full screen, fonts and lines scaled, docks as configured
        run_events(1.0)
        present = {**_rounds(window, lambda: _train(trainer, 10), seconds, repeats, start=False),
                   "window_size": [window.width(), window.height()]}
        window.classroom.toggle_presentation(False)
    window.shutdown()
    window.close()
    out = {
        **rounds,
        "render_ms_median": {k: 1000 * statistics.median(v) for k, v in render.items()},
        "window_size": [1400, 900],
        "backend": backend,
        "interval_s": interval,
        "recording": encode,
    }
    if present is not None:
        out["presentation"] = present
    return out


def _train(trainer, n: int) -> int:
    trainer.train(n)
    return n


def _rounds(window, headless_steps, seconds: float, repeats: int, start: bool = True) -> dict:
    """Alternating rounds: `headless_steps()` (trains a local engine, returns steps made) in this process while
    the window's run is paused, then the window training and drawing; steps/s, frames/s, ratios, latency.
    `start`: start the window's session first (False: it runs already)."""
    steps: list[float] = []
    fps: list[float] = []
    latencies: list[float] = []
    from PySide6 import QtCore

    from ..core.commands import SetRunning
    from .app import run_events

    if start:
        window.session.start()
    timer = QtCore.QTimer()
    timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
    last = [time.perf_counter()]

    recording = [False]

    def tick() -> None:
        now = time.perf_counter()
        if recording[0]:
            latencies.append(max(0.0, now - last[0] - 0.010))
        last[0] = now

    timer.timeout.connect(tick)
    timer.start(10)
    first = window.frames
    run_events(20.0, until=lambda: window.frames >= first + 20)  # the child process needs a moment to import torch
    latencies.clear()

    def step_now() -> int:
        return window.last_snapshot.step if window.last_snapshot is not None else 0

    def pump(duration: float) -> None:
        run_events(duration)  # the real event loop, idle-sleeping like app.exec()

    headless: list[float] = []
    ratios: list[float] = []
    for _ in range(repeats):
        # headless engine in this process while the window's run is paused, then the window: alternating
        window.send(SetRunning(False))
        pump(0.3)
        timer.stop()
        t0 = time.perf_counter()
        n = 0
        while time.perf_counter() - t0 < seconds:
            n += headless_steps()
        headless.append(n / (time.perf_counter() - t0))
        window.send(SetRunning(True))
        timer.start(10)
        pump(0.5)
        s0, f0, t0 = step_now(), window.frames, time.perf_counter()
        last[0] = time.perf_counter()
        recording[0] = True
        pump(seconds)
        recording[0] = False
        dt = time.perf_counter() - t0
        steps.append((step_now() - s0) / dt)
        fps.append((window.frames - f0) / dt)
        ratios.append(steps[-1] / headless[-1])
    timer.stop()
    return {
        "steps_per_s_median": statistics.median(steps),
        "frames_per_s_median": statistics.median(fps),
        "headless_steps_per_s_median": statistics.median(headless),
        "ratio_vs_headless": statistics.median(ratios),
        "ratios_per_round": ratios,
        "frames_per_s_per_round": fps,
        "load_average": os.getloadavg()[0],
        "latency_ms_p50": 1000 * _percentile(latencies, 50),
        "latency_ms_p99": 1000 * _percentile(latencies, 99),
    }


def bench_image_window(config: dict, seconds: float = 5.0, repeats: int = 3, backend: str = "process") -> dict:
    """The image GAN with its window open (grids, interpolation, histograms, coverage): training steps/s
    against the same engine headless, in alternating rounds; {"available": False, ...} if it cannot build."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtCore

    from ..core.trainer import Trainer
    from .app import make_app
    from .main_window import MainWindow

    make_app()
    try:
        cfg = TrainConfig(**config)
        trainer = Trainer(cfg)
        trainer.train(5)
    except Exception as exc:  # image data or models unavailable: report, do not fail the bench
        return {"available": False, "config": config, "reason": f"{type(exc).__name__}: {exc}"}
    tmp = tempfile.mkdtemp(prefix="ganviz-bench-")
    settings = QtCore.QSettings(os.path.join(tmp, "layout.ini"), QtCore.QSettings.Format.IniFormat)
    window = MainWindow(cfg, settings=settings, autostart=False, backend=backend)
    window.resize(1400, 900)
    window.show()
    try:
        rounds = _rounds(window, lambda: _train(trainer, 2), seconds, repeats)
    finally:
        window.shutdown()
        window.close()
    return {"available": True, "config": config, "backend": backend, **rounds}


def bench_encode(window, tmp: str, frames: int = 120, size: tuple[int, int] = (1280, 720)) -> dict:
    """Recording: MP4 (H.264, one ffmpeg thread, as live recording uses) encode frames/s of real window frames
    at 1280x720, and the cost of grabbing and composing one; {"available": False, ...} without an encoder."""
    try:
        from ..export.video import FrameWriter
        from .extensions.recording import caption_for, compose_frame, grab_image, qimage_to_rgb

        t0 = time.perf_counter()
        images = [grab_image(window) for _ in range(6)]
        grab_ms = 1000 * (time.perf_counter() - t0) / len(images)
        caption = caption_for(window.last_snapshot) if window.last_snapshot is not None else None
        t0 = time.perf_counter()
        rgb = [qimage_to_rgb(compose_frame(im, size, caption)) for im in images]
        compose_ms = 1000 * (time.perf_counter() - t0) / len(images)
        path = os.path.join(tmp, "encode.mp4")
        t0 = time.perf_counter()
        with FrameWriter(path, fps=30, threads=1) as fw:
            for i in range(frames):
                fw.write(rgb[i % len(rgb)])
        fps = frames / (time.perf_counter() - t0)
    except Exception as exc:  # no ffmpeg, or the recording module is unavailable: report, do not fail
        return {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
    return {"available": True, "format": "mp4", "size": list(size), "ffmpeg_threads": 1, "frames": frames,
            "encode_frames_per_s": fps, "grab_ms": grab_ms, "compose_ms": compose_ms}


def bench_frame_rates(cfg: TrainConfig, intervals: tuple[float, ...], seconds: float = 6.0, repeats: int = 3,
                      presentation: bool = True, warmup_frames: int = 20) -> dict:
    """Frames/s and training vs headless for several snapshot intervals (the window's frame cap), in one run:
    one window per interval (process backend, 1400x900); every round measures the headless engine, then each
    window in turn with the others paused, then (with `presentation`) each window again in presentation mode,
    full screen at PRESENTATION_SIZE. Medians over rounds; every round is kept."""
    offscreen_screen()
    from PySide6 import QtCore

    from ..core.commands import SetRunning
    from ..core.trainer import Trainer
    from .app import make_app, run_events
    from .main_window import MainWindow

    make_app()
    tmp = tempfile.mkdtemp(prefix="ganviz-bench-")
    windows = {}
    for iv in intervals:
        settings = QtCore.QSettings(os.path.join(tmp, f"layout-{iv}.ini"), QtCore.QSettings.Format.IniFormat)
        w = MainWindow(cfg, settings=settings, autostart=False, interval=iv)
        w.resize(1400, 900)
        w.show()
        w.session.start()
        windows[iv] = w
    run_events(60.0, until=lambda: all(w.frames >= warmup_frames for w in windows.values()))
    for w in windows.values():
        w.send(SetRunning(False))
    trainer = Trainer(cfg)
    trainer.train(50)
    modes = ("window", "presentation") if presentation else ("window",)
    rows: dict = {m: {iv: {"steps": [], "fps": [], "ratio": [], "cpu_ms": []} for iv in intervals} for m in modes}
    headless: list[float] = []
    load = [os.getloadavg()[0]]

    def headless_round() -> float:
        t0, n = time.perf_counter(), 0
        while time.perf_counter() - t0 < seconds:
            trainer.train(10)
            n += 10
        rate = n / (time.perf_counter() - t0)
        headless.append(rate)
        return rate

    def window_round(w) -> tuple[float, float, float]:
        w.send(SetRunning(True))
        run_events(0.8)
        s0, f0, t0, c0 = _step_of(w), w.frames, time.perf_counter(), time.process_time()
        run_events(seconds)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        w.send(SetRunning(False))
        run_events(0.3)
        frames = w.frames - f0
        # the window's process CPU (GUI thread and snapshot receiver) per frame drawn: a cost that a loaded
        # machine does not change much, unlike frames/s
        return (_step_of(w) - s0) / dt, frames / dt, 1000 * cpu / max(frames, 1)

    for _ in range(repeats):
        for mode in modes:
            for iv, w in windows.items():
                if mode == "presentation":
                    w.classroom.toggle_presentation(True)
                    run_events(1.0)
                ref = headless_round()
                rate, fps, cpu_ms = window_round(w)
                if mode == "presentation":
                    rows[mode][iv]["size"] = [w.width(), w.height()]
                    w.classroom.toggle_presentation(False)
                    run_events(0.5)
                r = rows[mode][iv]
                r["steps"].append(rate)
                r["fps"].append(fps)
                r["cpu_ms"].append(cpu_ms)
                r["ratio"].append(rate / ref)
        load.append(os.getloadavg()[0])
    for w in windows.values():
        w.shutdown()
        w.close()
    out: dict = {"seconds_each": seconds, "repeats": repeats, "load_average_per_round": load,
                 "headless_steps_per_s": headless, "headless_steps_per_s_median": statistics.median(headless)}
    for mode in modes:
        out[mode] = {str(iv): {"frames_per_s_median": statistics.median(r["fps"]),
                               "steps_per_s_median": statistics.median(r["steps"]),
                               "ratio_vs_headless_median": statistics.median(r["ratio"]),
                               "window_cpu_ms_per_frame_median": statistics.median(r["cpu_ms"]),
                               "frames_per_s": r["fps"], "ratios": r["ratio"], "window_cpu_ms_per_frame": r["cpu_ms"],
                               **({"size": r["size"]} if "size" in r else {})}
                     for iv, r in rows[mode].items()}
    return out


def _step_of(window) -> int:
    return window.last_snapshot.step if window.last_snapshot is not None else 0


def format_frame_rates(r: dict) -> str:
    lines = [f"window frame rates, {r['repeats']} alternating rounds of {r['seconds_each']:g} s; headless engine "
             f"{r['headless_steps_per_s_median']:.1f} steps/s (median); 1-min load average per round: "
             + ", ".join(f"{x:.1f}" for x in r["load_average_per_round"]),
             f"  {'mode':<24}{'interval':>9}{'cap/s':>7}{'frames/s':>10}{'steps/s':>9}{'vs headless':>13}"
             f"{'CPU ms/frame':>14}  rounds"]
    for mode in ("window", "presentation"):
        for iv, row in r.get(mode, {}).items():
            size = "x".join(map(str, row.get("size", [1400, 900])))
            lines.append(f"  {mode + ' ' + size:<24}{float(iv):>9.3f}{1 / float(iv):>7.1f}"
                         f"{row['frames_per_s_median']:>10.1f}{row['steps_per_s_median']:>9.1f}"
                         f"{row['ratio_vs_headless_median']:>13.3f}{row['window_cpu_ms_per_frame_median']:>14.1f}  fps "
                         + " ".join(f"{x:.1f}" for x in row["frames_per_s"])
                         + "; ratio " + " ".join(f"{x:.2f}" for x in row["ratios"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`python -m ganviz.qt.bench_gui`: the window's frame rate against its cap (see bench_frame_rates)."""
    import argparse

    import torch

    p = argparse.ArgumentParser(prog="python -m ganviz.qt.bench_gui", description=bench_frame_rates.__doc__)
    p.add_argument("--interval", type=float, action="append", help="snapshot interval in s (repeatable)")
    p.add_argument("--seconds", type=float, default=6.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-presentation", action="store_true")
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args(argv)
    torch.set_num_threads(1)  # as the window's process runs (ganviz.qt.app)
    from .app import WINDOW_INTERVAL

    r = bench_frame_rates(TrainConfig(), tuple(args.interval or [WINDOW_INTERVAL]), args.seconds, args.repeats,
                          presentation=not args.no_presentation)
    print(format_frame_rates(r))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(r, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
