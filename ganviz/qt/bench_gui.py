"""Window measurements for `ganviz bench --gui`: training with the window open versus headless.

The window is opened offscreen at 1400x900 with every dock visible. Render times per view are taken on real
snapshots at the default sizes, and for the 2D view also at a 128x128 D field with 2048 points. Rounds
alternate: the headless engine in this process (the window's run paused), then the window training and
drawing. Event-loop latency is measured by a 10 ms QTimer during the window rounds only: its lateness
(actual minus expected interval) is what a click would wait. Last, recording: real window frames encoded
to MP4 at 1280x720 (`bench_encode`).
"""

from __future__ import annotations

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


def bench_window(cfg: TrainConfig, seconds: float = 5.0, repeats: int = 3, headless_rate: float | None = None,
                 backend: str = "process") -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtCore

    from ..core.trainer import Trainer
    from .app import make_app
    from .main_window import MainWindow

    make_app()
    tmp = tempfile.mkdtemp(prefix="ganviz-bench-")
    settings = QtCore.QSettings(os.path.join(tmp, "layout.ini"), QtCore.QSettings.Format.IniFormat)
    window = MainWindow(cfg, settings=settings, autostart=False, backend=backend)
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
    window.shutdown()
    window.close()
    return {
        **rounds,
        "render_ms_median": {k: 1000 * statistics.median(v) for k, v in render.items()},
        "window_size": [1400, 900],
        "backend": backend,
        "recording": encode,
    }


def _train(trainer, n: int) -> int:
    trainer.train(n)
    return n


def _rounds(window, headless_steps, seconds: float, repeats: int) -> dict:
    """Alternating rounds: `headless_steps()` (trains a local engine, returns steps made) in this process while
    the window's run is paused, then the window training and drawing; steps/s, frames/s, ratios, latency."""
    steps: list[float] = []
    fps: list[float] = []
    latencies: list[float] = []
    from PySide6 import QtCore

    from ..core.commands import SetRunning
    from .app import run_events

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
    run_events(20.0, until=lambda: window.frames >= 20)  # the child process needs a moment to import torch
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
