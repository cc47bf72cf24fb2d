"""`ganviz record`: train (or replay a session) and render the window's views offscreen to a video.

    ganviz record --preset ring-collapse-basic --steps 3000 --fps 30 -o ring.mp4
    ganviz record --config my-scene.toml --view data --size 1280x720 --every 5 -o data.gif
    ganviz record --config session.toml -o replay.mp4          # a session file replays exactly
    ganviz record --set data=bimodal-1d --set z_dim=1 --duration 10 -o frames/   # a PNG sequence

No display is needed (QT_QPA_PLATFORM=offscreen is set when there is none). The trainer is driven
directly, with no thread: every `--every` steps a snapshot (with metrics) is taken, handed to the same
window and panels the app shows (MainWindow, backend "thread", not started), every panel is refreshed,
and the chosen view is grabbed, captioned and encoded. The first frame shows step 0.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from typing import Any

NAME = "record"
HELP = "render the window's views offscreen to MP4 / GIF / PNG frames while training (no display needed)"
VIEWS = ("window", "data", "losses", "metrics", "histograms")
DEFAULT_STEPS = 2000
DEFAULT_EVERY = 10
NATIVE = (1400, 900)
MIN_WINDOW_WIDTH = 1280  # smaller window videos are laid out at this width and scaled down
MIN_PANEL_WIDTH = 800
EXIT_BAD_ARGS = 2


class BadArguments(ValueError):
    pass


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument("--preset", metavar="NAME|FILE", help="start from a scene (assets/scenes/NAME.toml or a path)")
    src.add_argument("--config", metavar="FILE.toml",
                     help="a scene file, or a session file (saved from the window: replayed exactly)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="set any config field (repeatable; not with a session)")
    add_render_arguments(p, steps_help=f"training steps to record (default {DEFAULT_STEPS}; a session: all of it)")
    p.add_argument("-o", "--out", required=True, metavar="OUT",
                   help="out.mp4, out.gif, or a folder (trailing /) for PNG frames")


def add_render_arguments(p: argparse.ArgumentParser, steps_help: str) -> None:
    p.add_argument("--steps", type=int, default=None, help=steps_help)
    p.add_argument("--fps", type=float, default=30.0, help="frames per second of the video (default 30)")
    p.add_argument("--every", type=int, default=None,
                   help=f"training steps per video frame (default {DEFAULT_EVERY}, or from --duration)")
    p.add_argument("--duration", type=float, default=None,
                   help="video length in seconds: frames = fps x duration (sets --every)")
    p.add_argument("--size", default="1280x720", help="WIDTHxHEIGHT of the video (default 1280x720), or native")
    p.add_argument("--view", choices=VIEWS, default="window", help="what to render (default: the whole window)")
    p.add_argument("--no-caption", action="store_true", help="no caption strip (step, objective, learning rates)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def parse_size(text: str) -> tuple[int, int] | None:
    if text.lower() == "native":
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise BadArguments(f"--size must be WIDTHxHEIGHT (e.g. 1280x720) or native, got {text!r}") from None
    if not (16 <= w <= 7680 and 16 <= h <= 4320):
        raise BadArguments(f"--size {text}: width must be in [16, 7680] and height in [16, 4320]")
    return w, h


def frame_plan(total: int, fps: float, every: int | None, duration: float | None) -> int:
    """Steps per frame."""
    if every is not None:
        if every < 1:
            raise BadArguments("--every must be >= 1")
        return every
    if duration is not None:
        if not duration > 0:
            raise BadArguments("--duration must be > 0 seconds")
        frames = max(1, int(round(fps * duration)))
        return max(1, math.ceil(total / frames))
    return DEFAULT_EVERY


def ensure_display() -> None:
    """Offscreen Qt when there is no display (must run before Qt is imported)."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")


class Source:
    """What advances the run: a trainer (with scene actions scheduled), or a session replayer."""

    def __init__(self, config: Any, scene: Any = None, session: Any = None, base_dir: Any = None) -> None:
        self.config = config
        self.scene = scene
        self.session = session
        self.base_dir = base_dir
        self.trainer: Any = None
        self.replayer: Any = None

    def bind(self, trainer: Any) -> None:
        self.trainer = trainer
        if self.session is not None:
            from ..export.replay import Replayer

            self.replayer = Replayer(self.session, trainer=trainer, base_dir=self.base_dir)
        elif self.scene is not None:
            self.scene.schedule_on(trainer)

    def default_steps(self) -> int:
        if self.replayer is not None:
            return self.replayer.steps_left()
        return DEFAULT_STEPS

    def advance(self, n: int) -> None:
        if self.replayer is not None:
            self.replayer.advance(n)
        else:
            self.trainer.train(n)


def source_from_args(args: argparse.Namespace) -> Source:
    """Config / scene / session from --preset, --config and --set. Raises BadArguments."""
    from ..core.config import ConfigError, TrainConfig, config_from_pairs
    from ..core.scenes import SceneError, load_scene
    from ..export.session import SessionError, is_session_file, load_session

    try:
        if args.config:
            if not os.path.exists(args.config):
                raise BadArguments(f"--config {args.config}: no such file")
            if is_session_file(args.config):
                if args.set:
                    raise BadArguments("--set cannot change a session: it replays its own config")
                session = load_session(args.config)
                return Source(session.config, session=session, base_dir=os.path.dirname(args.config) or ".")
            scene = load_scene(args.config)
        elif args.preset:
            scene = load_scene(args.preset)
        else:
            scene = None
        base = scene.config if scene is not None else TrainConfig()
        return Source(config_from_pairs(args.set, base), scene=scene)
    except (ConfigError, SceneError, SessionError) as e:
        raise BadArguments(str(e)) from None


def _progress(done: int, total: int, t0: float, extra: str = "") -> None:
    frac = done / max(total, 1)
    bar = "#" * int(frac * 30) + "-" * (30 - int(frac * 30))
    rate = done / max(time.perf_counter() - t0, 1e-9)
    sys.stderr.write(f"\r[{bar}] {done}/{total} frames {rate:5.1f} frames/s {extra}")
    sys.stderr.flush()


def render(source: Source, args: argparse.Namespace, out: str, prog: str = "ganviz record") -> int:
    """Train / replay, render the view every --every steps, encode to out. Returns the exit code."""
    import dataclasses
    import tempfile

    ensure_display()
    import torch

    from ..export.errors import ExportError
    from ..export.session import SessionError
    from ..export.video import FrameWriter

    try:
        size = parse_size(args.size)
        if args.steps is not None and args.steps < 0:
            raise BadArguments("--steps must be >= 0")
        if not (0 < args.fps <= 240):
            raise BadArguments("--fps must be in (0, 240]")
        if args.threads < 1:
            raise BadArguments("--threads must be >= 1")
        writer = FrameWriter(out, fps=args.fps, threads=max(1, (os.cpu_count() or 2) - 1))
    except BadArguments as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return EXIT_BAD_ARGS
    except ExportError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return EXIT_BAD_ARGS

    torch.set_num_threads(args.threads)
    from PySide6 import QtCore

    from ..qt.app import make_app
    from ..qt.extensions.recording import caption_for, compose_frame, grab_image, output_size, qimage_to_rgb
    from ..qt.main_window import MainWindow

    app = make_app()
    previous_handler = QtCore.qInstallMessageHandler(_quiet_offscreen)
    tmpdir = tempfile.TemporaryDirectory(prefix="ganviz-record-")
    settings = QtCore.QSettings(os.path.join(tmpdir.name, "layout.ini"), QtCore.QSettings.Format.IniFormat)
    window = MainWindow(source.config, settings=settings, autostart=False, backend="thread")
    code = 0
    try:
        source.bind(window.session.trainer)
        total = args.steps if args.steps is not None else source.default_steps()
        every = frame_plan(total, args.fps, args.every, args.duration)
        n_frames = 1 + math.ceil(total / every)
        widget = _prepare_view(window, args.view, size, not args.no_caption, app)
        app.processEvents()
        writer.total = n_frames
        show = not args.quiet and sys.stderr.isatty()
        t0 = time.perf_counter()
        out_size = None
        done_steps = 0
        for i in range(n_frames):
            if i:
                n = min(every, total - done_steps)
                source.advance(n)
                done_steps += n
            snap = window.session.trainer.snapshot(with_metrics=True)
            # a paused snapshot makes the window refresh every panel now (not at their live rates)
            window.on_snapshot(dataclasses.replace(snap, running=False))
            window.toolbar.show_running(True)
            app.processEvents()
            image = grab_image(widget)
            caption = None if args.no_caption else caption_for(snap)
            if out_size is None:
                out_size = output_size((image.width(), image.height()), size, caption is not None)
            writer.write(qimage_to_rgb(compose_frame(image, out_size, caption)))
            if show:
                _progress(i + 1, n_frames, t0, f"step {snap.step}")
        path = writer.close()
        if show:
            sys.stderr.write("\n")
        print(f"{prog}: wrote {writer.frames_written} frames ({out_size[0]}x{out_size[1]}, {args.fps:g} fps) to {path}",
              file=sys.stderr)
    except BadArguments as e:
        writer.abort()
        print(f"{prog}: error: {e}", file=sys.stderr)
        code = EXIT_BAD_ARGS
    except (ExportError, SessionError) as e:
        writer.abort()
        print(f"\n{prog}: error: {e}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        writer.abort()
        print(f"\n{prog}: interrupted; no file was written", file=sys.stderr)
        code = 130
    except BaseException:
        writer.abort()  # no partial file, whatever happened
        raise
    finally:
        window.close()
        window.deleteLater()
        app.processEvents()
        # processEvents does not run deferred deletes: the window (and its 100+ menus and docks) outlived
        # the command and the interpreter's teardown destroyed it after the QApplication (SIGSEGV at exit)
        QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
        tmpdir.cleanup()
        QtCore.qInstallMessageHandler(previous_handler)
    return code


def _quiet_offscreen(mode: Any, context: Any, message: str) -> None:
    """Qt messages to stderr, minus the offscreen platform's note about floating docks."""
    if "propagateSizeHints" not in message:
        sys.stderr.write(message + "\n")


def render_size(view: str, size: tuple[int, int] | None, caption: bool) -> tuple[int, int]:
    """The size to lay the view out at: the video's picture area (without the caption strip), scaled up
    for small videos so the layout is not cramped (the frames are scaled down again, aspect kept)."""
    from ..qt.extensions.recording import strip_height

    if size is None:
        return NATIVE if view == "window" else (1280, 720)
    w, h = size
    h = h - strip_height(h) if caption else h
    factor = max(1.0, (MIN_WINDOW_WIDTH if view == "window" else MIN_PANEL_WIDTH) / w)
    return int(round(w * factor)), int(round(h * factor))


def _prepare_view(window: Any, view: str, size: tuple[int, int] | None, caption: bool, app: Any) -> Any:
    """Lay the window out for the view and return the widget to grab."""
    w, h = render_size(view, size, caption)
    if "recording" in window.docks:  # the recorder's own dock is not part of the picture
        window.docks["recording"].hide()
    if view == "window":
        window.resize(w, h)
        window.show()
        return window
    if view == "data":
        for dock in window.docks.values():
            dock.hide()
        for bar in (window.toolbar, window.menuBar(), window.statusBar()):
            bar.hide()
        window.resize(w, h)
        window.show()
        return window.data_stack
    window.resize(*NATIVE)
    window.show()
    dock = window.docks[view]
    dock.setFloating(True)
    dock.show()
    dock.resize(w, h)
    app.processEvents()
    inner = dock.widget()
    dock.resize(w + dock.width() - inner.width(), h + dock.height() - inner.height())  # the title bar
    return inner


def run(args: argparse.Namespace) -> int:
    try:
        source = source_from_args(args)
    except BadArguments as e:
        print(f"ganviz record: error: {e}", file=sys.stderr)
        return EXIT_BAD_ARGS
    return render(source, args, args.out)
