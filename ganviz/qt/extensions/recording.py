"""Recording and sharing: record the window or a view while it trains, export panels / metrics, save and
open sessions, save and load checkpoints.

- **Record** (toolbar button, Ctrl+R, `window.actions_by_name["record"]`): captures the chosen target
  (the whole window, the data view, or one panel) on every drawn snapshot, at most `fps` times a second,
  into MP4 / GIF / a PNG folder, at its native size or a fixed one, optionally with a caption strip (step,
  objective, learning rates, data) burnt in. The GUI thread only grabs the widget (QWidget.grab) and
  queues the QImage (a bounded queue: if encoding falls behind, frames are dropped and counted, the window
  never waits); a background thread scales, captions, converts to RGB and encodes. The video plays at
  `fps`: one video frame per capture (when snapshots arrive slower than fps, it plays faster than real
  time). Stop (the same action) finalises the file; the dock and the status bar show progress.
- **File menu**: Save session... / Open session... (ganviz.export.session: config + live changes;
  opening replays it exactly and pauses at the step where it was saved), Save checkpoint... / Load
  checkpoint..., Export panel as PNG/SVG..., Export metrics history as CSV... (every step since the run
  started, accumulated here from the first snapshot on: see ganviz.export.history).

Sessions and checkpoints go through `RunAccess`, one API over both backends: with the process backend
the child answers requests (ganviz.core.process REQUESTS); with the thread backend the training thread is
stopped at a step boundary, the trainer used directly, and the thread started again.

Errors (a bad path, no encoder, a full disk, a damaged file) are shown in the status bar, the dock and a
non-blocking message box; no partial file is left and the running session is not touched.

Closing the window never waits long: a recording drops its backlog and is finalised with the frames already
encoded if that takes at most CLOSE_BUDGET seconds, else it is discarded (its temporary removed at once); an
export in progress finishes atomically, and a training thread it stopped is not started again.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import math
import os
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from ...core.commands import Command, SetRunning
from ...core.config import TrainConfig
from ...core.snapshot import EventKind
from ...export.errors import ExportError, check_target, nothing_written, os_error
from ...export.history import HistoryLog
from ...export.session import (
    Session,
    SessionError,
    load_session,
    save_session,
    segments,
    session_from_run,
)
from ...export.video import FORMATS, GIF_WARN_FRAMES, FrameLimitReached, FrameWriter
from .. import text_bounds
from ..background import BackgroundJob, cancel_jobs, run_in_background

DOCK_NAME = "recording"
SIZES: list[tuple[str, tuple[int, int] | None]] = [
    ("Native", None), ("1920x1080", (1920, 1080)), ("1280x720", (1280, 720)), ("854x480", (854, 480)),
    ("640x360", (640, 360)),
]
FORMAT_SUFFIX = {"mp4": ".mp4", "gif": ".gif", "png": ""}
QUEUE_FRAMES = 24  # captured frames waiting for the encoder; beyond this, frames are dropped (and counted)
CLOSE_BUDGET = 0.4  # seconds a closing window gives recordings to finalise (the rest of its second: training)


# ================================================================================== frames (Qt, any thread)
def qimage_to_rgb(image: QtGui.QImage) -> np.ndarray:
    """(h, w, 3) uint8 RGB copy of a QImage (fast path: one memcpy through constBits)."""
    img = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=img.sizeInBytes())
    return buf.reshape(h, bpl)[:, : w * 3].reshape(h, w, 3).copy()


def strip_height(height: int) -> int:
    return max(18, int(round(height * 0.035)))


def output_size(image_size: tuple[int, int], size: tuple[int, int] | None, caption: bool) -> tuple[int, int]:
    """The video frame size: fixed, or the first capture's size (+ the caption strip), made even."""
    if size is not None:
        w, h = size
    else:
        w, h = image_size
        if caption:
            h += strip_height(h)
    return w + w % 2, h + h % 2


def compose_frame(image: QtGui.QImage, out: tuple[int, int], caption: str | None) -> QtGui.QImage:
    """The capture scaled into out (aspect kept, centred on white) with an optional caption strip below.
    Pure QImage / QPainter work: safe in a worker thread."""
    w, h = out
    strip = strip_height(h) if caption else 0
    content_h = h - strip
    canvas = QtGui.QImage(w, h, QtGui.QImage.Format.Format_RGB888)
    canvas.fill(QtGui.QColor("white"))
    p = QtGui.QPainter(canvas)
    try:
        if (image.width(), image.height()) == (w, content_h):
            p.drawImage(0, 0, image)
        else:
            scaled = image.scaled(w, content_h, QtCore.Qt.AspectRatioMode.KeepAspectRatio,
                                  QtCore.Qt.TransformationMode.SmoothTransformation)
            p.drawImage((w - scaled.width()) // 2, (content_h - scaled.height()) // 2, scaled)
        if caption:
            p.fillRect(0, content_h, w, strip, QtGui.QColor("#f0f0f0"))
            p.setPen(QtGui.QColor("#cccccc"))
            p.drawLine(0, content_h, w, content_h)
            font = QtGui.QFont()
            font.setPixelSize(max(10, int(strip * 0.6)))
            p.setFont(font)
            p.setPen(QtGui.QColor("#202020"))
            rect = QtCore.QRect(8, content_h, w - 16, strip)
            p.drawText(rect, int(QtCore.Qt.AlignmentFlag.AlignVCenter | QtCore.Qt.AlignmentFlag.AlignLeft), caption)
            p.setPen(QtGui.QColor("#808080"))
            p.drawText(rect, int(QtCore.Qt.AlignmentFlag.AlignVCenter | QtCore.Qt.AlignmentFlag.AlignRight), "ganviz")
    finally:
        p.end()
    return canvas


def caption_for(snapshot: Any) -> str:
    """"step 1200 · objective wgan-gp · lr D 0.0001 / G 0.0001 · data ring8" from a snapshot."""
    if snapshot is None:
        return ""
    parts = [f"step {snapshot.step}", f"objective {snapshot.objective}"]
    cfg = getattr(snapshot, "config", None)
    if cfg is not None:
        parts.append(f"lr D {cfg.d_lr:g} / G {cfg.g_lr:g}")
    parts.append(f"data {snapshot.data}")
    return "  ·  ".join(parts)


def grab_image(widget: QtWidgets.QWidget, hide: Sequence[QtWidgets.QWidget] = ()) -> QtGui.QImage:
    """The widget as drawn now (GUI thread only), with the widgets in `hide` (the recording's own Stop button
    and REC counter) painted over in their background colour, so the recording chrome stays out of frame."""
    image = widget.grab().toImage()
    if hide:
        painter = QtGui.QPainter(image)
        try:
            ratio = image.devicePixelRatio()
            for h in hide:
                if h is None or not h.isVisible() or not widget.isAncestorOf(h):
                    continue
                top_left = h.mapTo(widget, QtCore.QPoint(0, 0))
                rect = QtCore.QRectF(top_left.x() * ratio, top_left.y() * ratio, h.width() * ratio,
                                     h.height() * ratio)
                parent = h.parentWidget() or widget
                painter.fillRect(rect, parent.palette().color(parent.backgroundRole()))
        finally:
            painter.end()
    return image


# ================================================================================== the recorder
class Recorder(QtCore.QObject):
    """Captures in the GUI thread, encodes in a background thread; never blocks the caller.

    `capture(widget, caption)` grabs at most fps times a second and queues the image (drops, and counts, a
    frame when QUEUE_FRAMES are waiting). `stop()` finishes: the worker encodes what is queued, finalises
    the file and emits `finished(path)`; `cancel()` discards everything. Errors emit `failed(message)`.
    """

    progress = QtCore.Signal(int, int, int)  # encoded, captured, dropped
    finished = QtCore.Signal(str)
    failed = QtCore.Signal(str)

    def __init__(self, path: str | os.PathLike[str], fps: float = 30.0, size: tuple[int, int] | None = None,
                 caption: bool = True, fmt: str | None = None, threads: int | None = 1,
                 queue_frames: int = QUEUE_FRAMES, rate_limit: bool = True,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.writer = FrameWriter(path, fps=fps, fmt=fmt, threads=threads)  # ExportError now, not later
        self.path = self.writer.path
        self.fps = float(fps)
        self.size = size
        self.caption = caption
        self.rate_limit = rate_limit
        self.out_size: tuple[int, int] | None = None
        self.captured = 0
        self.encoded = 0
        self.dropped = 0
        self.error: str | None = None
        self.result: Path | None = None
        self.note = ""  # e.g. the GIF reached its frame limit (what was recorded is kept)
        self.grab_seconds = 0.0  # time spent in the GUI thread grabbing (for measurements)
        self._queue: queue.Queue[tuple[QtGui.QImage, str | None, int]] = queue.Queue(maxsize=queue_frames)
        self._last = -math.inf
        # recorded time = real time: a capture stands for the time until the next one (an MP4 repeats it;
        # a GIF or PNG folder has one frame per capture and plays compressed, which finishing says)
        self.realtime = rate_limit and self.writer.fmt == "mp4"
        self.hide: Sequence[QtWidgets.QWidget] = ()  # painted over in every frame (the recording chrome)
        self.first_capture: float | None = None
        self.last_capture: float | None = None
        self.frames_out = 0  # video frames written (captures x repeats)
        self._stopping = threading.Event()
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._encode_loop, name="ganviz-recorder", daemon=True)
        self._thread.start()

    # -------------------------------------------------------------- GUI thread
    def due(self, now: float | None = None) -> bool:
        now = time.perf_counter() if now is None else now
        return not self.rate_limit or now - self._last >= 1.0 / self.fps - 1e-3

    def capture(self, widget: QtWidgets.QWidget, caption: str | None = None) -> bool:
        """Grab the widget now if a frame is due; True if a frame was queued."""
        if self._stopping.is_set():
            return False
        now = time.perf_counter()
        if not self.due(now):
            return False
        t0 = time.perf_counter()
        image = grab_image(widget, self.hide)
        self.grab_seconds += time.perf_counter() - t0
        repeats = 1
        if self.realtime and self.last_capture is not None:  # frames the time since the last capture fills
            repeats = max(1, min(int(round((now - self.last_capture) * self.fps)), int(2 * self.fps)))
        self._last = now
        if self.first_capture is None:
            self.first_capture = now
        self.last_capture = now
        return self.add_image(image, caption, repeats=repeats)

    def timing_note(self) -> str:
        """How recorded time relates to real time (said when a recording is saved)."""
        if self.first_capture is None or self.last_capture is None or self.frames_out == 0:
            return ""
        real = self.last_capture - self.first_capture + 1.0 / self.fps
        video = self.frames_out / self.fps
        if video >= 0.8 * real:
            return f"{video:.1f} s of video for {real:.1f} s of training (real time)"
        return (f"{video:.1f} s of video for {real:.1f} s of training: time compressed {real / video:.1f}x (the "
                f"window drew {self.captured / max(real, 1e-9):.1f} frames/s; MP4 keeps real time)")

    def add_image(self, image: QtGui.QImage, caption: str | None = None, block: bool = False,
                  repeats: int = 1) -> bool:
        if self.out_size is None:
            self.out_size = output_size((image.width(), image.height()), self.size, self.caption)
        try:
            self._queue.put((image, caption if self.caption else None, max(1, int(repeats))), block=block)
        except queue.Full:
            self.dropped += 1
            return False
        self.captured += 1
        return True

    def stop(self, drop_queued: bool = False) -> None:
        """Finish: encode what is queued (or drop it: window closing), then finalise the file (in the
        background)."""
        self._stopping.set()
        if drop_queued:
            with contextlib.suppress(queue.Empty):
                while True:
                    self._queue.get_nowait()
                    self.dropped += 1

    def cancel(self) -> None:
        """Discard the recording (no file is written); the temporary goes now, even mid-frame."""
        self._cancel.set()
        self._stopping.set()
        self.writer.cancel()

    def finish_within(self, seconds: float) -> bool:
        """Finalise what is encoded (queued frames are dropped) if that takes at most `seconds`, else cancel:
        either way no partial file remains. Returns whether the file was saved (the window closing)."""
        self.stop(drop_queued=True)
        if not self.wait(seconds):
            self.cancel()  # removes the temporary now; the encoder leaves after the frame or save it is in
            self.wait(0.05)
        return self.result is not None

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the encoder to finish; True if it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def is_active(self) -> bool:
        return self._thread.is_alive()

    # -------------------------------------------------------------- encoder thread
    def _encode_loop(self) -> None:
        try:
            while True:
                if self._cancel.is_set():
                    raise ExportError(f"recording cancelled: {self.path} was not written")
                try:
                    image, caption, repeats = self._queue.get(timeout=0.05)
                except queue.Empty:
                    if self._stopping.is_set():
                        break
                    continue
                assert self.out_size is not None
                try:
                    rgb = qimage_to_rgb(compose_frame(image, self.out_size, caption))
                    for _ in range(repeats):
                        self.writer.write(rgb)
                        self.frames_out += 1
                except FrameLimitReached as e:  # keep what was recorded: finalise it, take no more frames
                    self.note = str(e)
                    self._stopping.set()
                    break
                self.encoded += 1
                self.progress.emit(self.encoded, self.captured, self.dropped)
            self.result = self.writer.close()
            self.finished.emit(str(self.result))
        except ExportError as e:
            self.writer.abort()
            self.error = str(e)
            self.failed.emit(self.error)
        except Exception as e:  # never leave a partial file, whatever happened
            self.writer.abort()
            self.error = f"recording failed: {type(e).__name__}: {e}"
            self.failed.emit(self.error)
        finally:
            with contextlib.suppress(queue.Empty):
                while True:
                    self._queue.get_nowait()


# ================================================================================== run access
class RunAccess:
    """Command log and checkpoints of the window's run, whichever backend trains it.

    Process backend: requests to the child (answered at a step boundary). Thread backend: the training
    thread is stopped (it stops at a step boundary), the trainer is used directly, the thread restarted.
    """

    def __init__(self, window: Any) -> None:
        self.window = window
        self._initial: tuple[Any, TrainConfig] = (window.session, window.session.config)
        self.closing = False  # the window is closing: a stopped training thread is not started again

    def note_restart(self, config: TrainConfig) -> None:
        """The window started a new run from config (called after window.restart)."""
        self._initial = (self.window.session, config)

    def initial_config(self) -> TrainConfig:
        session = self.window.session
        if self._initial[0] is session:
            return self._initial[1]
        return session.config

    @contextlib.contextmanager
    def stopped_trainer(self) -> Iterator[Any]:
        """The thread backend's trainer, with its training thread stopped for the duration."""
        session = self.window.session
        trainer = session.trainer
        if trainer is None:
            raise ExportError("this run trains in another process; use the request API")
        was_running = session.is_running()
        if was_running and not session.stop(timeout=3.0):
            raise ExportError("the training thread did not stop at a step boundary in time; try again")
        try:
            yield trainer
        finally:
            if was_running and not self.closing and self.window.session is session:
                session.start()

    def _request(self, kind: str, arg: Any = None, timeout: float = 15.0) -> Any:
        from ...core.process import RequestError

        snap = getattr(self.window, "last_snapshot", None)  # the child answers at its next step boundary
        if snap is not None and snap.running and 0 < snap.steps_per_sec < 1:
            timeout = max(timeout, 10.0 + 3.0 / snap.steps_per_sec)  # slow steps (a big network): wait for one
        process = self.window.session.process
        if process is None:
            raise ExportError("training has not started yet")
        try:
            return process.request(kind, arg, timeout=timeout)
        except RequestError as e:
            raise ExportError(str(e)) from None

    def run_log(self) -> dict[str, Any]:
        """{"config": initial config, "command_log", "events", "step"} of the current run."""
        session = self.window.session
        if session.trainer is not None:
            with self.stopped_trainer() as t:
                return {"config": self.initial_config(), "command_log": list(t.command_log),
                        "events": [e for e in t.events if e.kind == EventKind.RESET], "step": t.step}
        if session.process is None:
            return {"config": self.initial_config(), "command_log": [], "events": [], "step": 0}
        return self._request("command_log")

    def session(self, scene: str | None = None) -> Session:
        log = self.run_log()
        return session_from_run(log["config"], log["command_log"], log["events"], log["step"], scene)

    def save_checkpoint(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        from ...core.checkpoint import save_checkpoint

        check_target(Path(path), "file")
        if self.window.session.trainer is not None:
            with self.stopped_trainer() as t:
                save_checkpoint(t, path)
                return {"path": str(path), "step": t.step}
        return self._request("save_checkpoint", str(path))

    def load_checkpoint(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        from ...core.checkpoint import load_checkpoint, read_checkpoint

        read_checkpoint(path)  # a clear error here, before the run is touched
        if self.window.session.trainer is not None:
            with self.stopped_trainer() as t:
                load_checkpoint(t, path)
                return {"step": t.step, "config": t.config}
        return self._request("load_checkpoint", str(path))

    def schedule(self, items: list[tuple[int, Command]]) -> None:
        """Schedule commands on the live run (safely: the thread backend's heap is not thread-safe)."""
        session = self.window.session
        if session.trainer is not None and session.is_running():
            with self.stopped_trainer() as t:
                for step, cmd in items:
                    t.schedule(step, cmd)
            return
        for step, cmd in items:
            session.schedule(step, cmd)


# ================================================================================== opening a session
class WindowReplay:
    """Replays a session in the window, exactly: the commands of one reset-segment are scheduled at a
    time (the step count restarts after a reset, so later ones cannot be scheduled up front); the run
    pauses right after each reset until the next segment is scheduled, and pauses at the session's final
    step. (Pausing does not change the run: pauses only stop iterations between logged steps.)"""

    def __init__(self, ext: RecordingExtension, session: Session, base_dir: Path | None = None) -> None:
        self.ext = ext
        self.window = ext.window
        self.session = session
        self.segments = segments(session)
        self.final_step = session.final_step if session.final_step is not None else (
            session.commands[-1].step if session.commands else 0)
        self.armed = 0  # segments scheduled so far
        self.resets_seen = 0
        self.finished = False
        self.base_dir = base_dir
        self.awaiting_checkpoint = bool(session.checkpoint)

    def start(self) -> None:
        w = self.window
        w.restart(self.session.config, autostart=False)
        if self.awaiting_checkpoint:
            path = self._checkpoint_path()
            if w.session.trainer is not None:
                from ...core.checkpoint import load_checkpoint

                load_checkpoint(w.session.trainer, path)
                self.awaiting_checkpoint = False
                self._arm(resume_at=None)
            else:  # the child does not exist yet: start paused, load, then schedule (on_snapshot)
                w.session.schedule(0, SetRunning(False))
        else:
            self._arm(resume_at=None)
        w.session.start()

    def _checkpoint_path(self) -> Path:
        return self.checkpoint_path_of(self.session, self.base_dir)

    @staticmethod
    def checkpoint_path_of(session: Session, base_dir: Path | None) -> Path:
        p = Path(session.checkpoint or "")
        return p if p.is_absolute() or base_dir is None else base_dir / p

    def _arm(self, resume_at: int | None) -> None:
        seg = self.segments[self.armed]
        items: list[tuple[int, Command]] = []
        if resume_at is not None:
            items.append((resume_at, SetRunning(True)))
        items += [(e.step, e.command) for e in seg]
        last = self.armed == len(self.segments) - 1
        if last:
            items.append((self.final_step, SetRunning(False)))
        else:
            items.append((seg[-1].step, SetRunning(False)))  # right after the reset that ends the segment
        self.armed += 1
        if resume_at is None and not self.window.session.is_running():
            for step, cmd in items:
                self.window.session.schedule(step, cmd)
        else:
            self.ext.access.schedule(items)

    def on_snapshot(self, snap: Any) -> None:
        if self.finished:
            return
        if self.awaiting_checkpoint:
            if not snap.running:
                self.awaiting_checkpoint = False
                result = self.ext.access.load_checkpoint(self._checkpoint_path())
                self._arm(resume_at=int(result["step"]))
            return
        self.resets_seen += sum(1 for e in snap.events
                                if e.kind == EventKind.RESET and "checkpoint" not in e.detail)
        if self.armed < len(self.segments):
            if self.resets_seen >= self.armed and not snap.running and snap.step == 0:
                self._arm(resume_at=0)
            return
        if not snap.running and snap.step >= self.final_step:
            self.finished = True
            self.window.statusBar().showMessage(
                f"Session replayed to step {snap.step} and paused. Press Play (Space) to continue training.",
                20000)


def _check_data_file(config: TrainConfig) -> None:
    """Data that lives in a file (image-file) must load before the current run is replaced by a session's."""
    if config.data != "image-file":
        return  # built-in data always builds; user points were checked with the session
    from ...core.distributions import make_distribution

    try:
        make_distribution(config.data, config.ring_radius, config.ring_std, config.image_path, config.image_range)
    except ValueError as e:  # ImageDataError names the file and the problem
        raise SessionError(f"the session's image data cannot be loaded: {e}") from None


# ================================================================================== export helpers
def _message_of(exc: BaseException) -> str:
    """An error from background work in words: ganviz's own errors as they are, others with their type."""
    if isinstance(exc, (ExportError, SessionError)):
        return str(exc)
    return f"{exc} ({type(exc).__name__})"


def export_widget(widget: QtWidgets.QWidget, path: str | os.PathLike[str]) -> Path:
    """A panel as PNG (what is on screen) or SVG (pyqtgraph's vector exporter), written atomically."""
    import secrets

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise ExportError(f"cannot export {path.name}: choose a name ending in .png or .svg")
    check_target(path, "file")
    tmp = path.parent / f".{path.stem}.{secrets.token_hex(4)}.partial{suffix}"
    try:
        if suffix == ".png":
            if not widget.grab().save(str(tmp), "PNG"):
                raise nothing_written(path, "the PNG writer")
        else:
            import pyqtgraph as pg
            import pyqtgraph.exporters  # noqa: F401  (registers pg.exporters)

            views = [widget] if isinstance(widget, pg.GraphicsView) else widget.findChildren(pg.GraphicsView)
            views = [v for v in views if v.isVisible()] or views
            if not views:
                raise ExportError(f"{type(widget).__name__} has no plot to export as SVG; export it as PNG")
            view = max(views, key=lambda v: v.width() * v.height())
            try:
                pg.exporters.SVGExporter(view.scene()).export(fileName=str(tmp))
            except (ValueError, IndexError, AttributeError):
                # pyqtgraph 0.13-0.14's exporter cannot parse some paths Qt 6 writes; Qt's own SVG painter
                # draws the same items as vectors (images stay embedded rasters)
                _svg_via_qt(widget, tmp)
            if not tmp.exists() or tmp.stat().st_size == 0:
                raise nothing_written(path, "the SVG exporter")
        os.replace(tmp, path)
    except ExportError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise os_error(e, path) from None
    return path


def _svg_via_qt(widget: QtWidgets.QWidget, path: Path) -> None:
    from PySide6 import QtSvg

    gen = QtSvg.QSvgGenerator()
    gen.setFileName(str(path))
    gen.setSize(widget.size())
    gen.setViewBox(QtCore.QRect(0, 0, widget.width(), widget.height()))
    gen.setTitle("ganviz")
    painter = QtGui.QPainter(gen)
    try:
        widget.render(painter, QtCore.QPoint(0, 0))
    finally:
        painter.end()


def default_video_path(fmt: str) -> Path:
    """~/Videos (or ~, or the current folder)/ganviz-YYYYmmdd-HHMMSS.mp4|.gif|/"""
    base = QtCore.QStandardPaths.writableLocation(QtCore.QStandardPaths.StandardLocation.MoviesLocation)
    if base and not Path(base).exists():  # the folder the dock promises: made when missing
        with contextlib.suppress(OSError):
            Path(base).mkdir(parents=True)
    folder = Path(base) if base and Path(base).is_dir() else Path.home()
    if not os.access(folder, os.W_OK):
        folder = Path.cwd()
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return folder / f"ganviz-{stamp}{FORMAT_SUFFIX[fmt]}"


# ================================================================================== the dock
class RecordingDock(QtWidgets.QWidget):
    """Target, format, fps, size, caption, file; the Record button; progress."""

    def __init__(self, record_action: QtGui.QAction, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        form = QtWidgets.QFormLayout()
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.target = QtWidgets.QComboBox()
        self.target.setToolTip("What to record: the whole window, the data view, or one panel")
        form.addRow("Target", self.target)
        self.format = QtWidgets.QComboBox()
        for key, text in FORMATS.items():
            self.format.addItem(text, key)
        self.format.setToolTip("MP4 (H.264, small, plays everywhere), an animated GIF (for slides and chats) or "
                               "a folder of PNG frames")
        form.addRow("Format", self.format)
        self.fps = QtWidgets.QSpinBox()
        self.fps.setRange(1, 60)
        self.fps.setValue(30)
        self.fps.setSuffix(" fps")
        self.fps.setToolTip("Frames per second of the video; the window is captured at most this often")
        form.addRow("Frame rate", self.fps)
        self.size = QtWidgets.QComboBox()
        for text, value in SIZES:
            self.size.addItem(text, value)
        self.size.setToolTip("Native: the target's size on screen. A fixed size scales it (aspect kept)")
        form.addRow("Size", self.size)
        self.caption = QtWidgets.QCheckBox("Caption strip (step, objective, learning rates)")
        self.caption.setChecked(True)
        form.addRow(self.caption)
        path_row = QtWidgets.QHBoxLayout()
        self.path = QtWidgets.QLineEdit()
        folder = str(default_video_path("mp4").parent).replace(str(Path.home()), "~", 1)
        self.path.setPlaceholderText(f"automatic: {folder}/ganviz-<date>-<time>")
        self.path.setToolTip("Where to write; empty: a new name in your Videos folder for every recording")
        self.browse = QtWidgets.QToolButton()
        self.browse.setText("…")
        self.browse.setToolTip("Choose the file (or folder, for PNG frames)")
        path_row.addWidget(self.path, 1)
        path_row.addWidget(self.browse)
        form.addRow("File", path_row)

        self.record_button = QtWidgets.QToolButton()
        self.record_button.setDefaultAction(record_action)
        self.record_button.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.record_button.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding,
                                         QtWidgets.QSizePolicy.Policy.Fixed)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.progress.setTextVisible(True)
        self.status = QtWidgets.QLabel("Ready. Ctrl+R starts and stops a recording.")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)

        lay = QtWidgets.QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.record_button)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addStretch(1)
        self.settings_widgets = [self.target, self.format, self.fps, self.size, self.caption, self.path,
                                 self.browse]

    def set_targets(self, targets: list[tuple[str, str]]) -> None:
        current = self.target.currentData()
        self.target.clear()
        for key, text in targets:
            self.target.addItem(text, key)
        i = self.target.findData(current)
        self.target.setCurrentIndex(max(i, 0))

    def set_recording(self, on: bool) -> None:
        for w in self.settings_widgets:
            w.setEnabled(not on)

    def show_message(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #b00020;" if error else "")


# ================================================================================== the extension
class RecordingExtension(QtCore.QObject):
    """Everything recording.py adds to one window."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.access = RunAccess(window)
        self.history = HistoryLog()
        self.recorder: Recorder | None = None
        self.replay: WindowReplay | None = None
        self.last_error: str | None = None
        self.last_file: Path | None = None
        self._session = window.session
        self._finishing: list[Recorder] = []
        self._wrap_restart()
        self._build_actions()
        self._build_dock()
        self._build_menus()
        self._build_status()
        window.snapshot_drawn.connect(self.on_snapshot)
        window.about_to_close = [self.close_now, *getattr(window, "about_to_close", [])]  # first: the biggest share

    # -------------------------------------------------------------- construction
    def _wrap_restart(self) -> None:
        """Remember the config each run starts from (the thread backend's trainer does not keep it)."""
        window = self.window
        original = window.restart

        def restart(config: TrainConfig, autostart: bool = True) -> None:
            original(config, autostart=autostart)
            self.access.note_restart(config)

        window.restart = restart

    def _build_actions(self) -> None:
        w = self.window
        style = w.style()
        self.record_action = QtGui.QAction(style.standardIcon(QtWidgets.QStyle.StandardPixmap.SP_DialogNoButton),
                                           "Record", w)
        self.record_action.setCheckable(True)
        self.record_action.setShortcut(QtGui.QKeySequence("Ctrl+R"))
        self.record_action.setToolTip("Record the chosen view to MP4 / GIF / PNG frames (Ctrl+R); settings in "
                                      "View → Recording")
        self.record_action.toggled.connect(self._on_record_toggled)
        if not hasattr(w, "actions_by_name") or not isinstance(w.actions_by_name, dict):
            w.actions_by_name = {}
        w.actions_by_name["record"] = self.record_action
        w.addAction(self.record_action)
        toolbar = getattr(w, "toolbar", None)
        if toolbar is not None:
            toolbar.addSeparator()
            toolbar.addAction(self.record_action)

    def _build_dock(self) -> None:
        self.dock_widget = RecordingDock(self.record_action)
        w = self.window
        self.dock = w.add_dock(DOCK_NAME, "Recording", self.dock_widget, QtCore.Qt.DockWidgetArea.LeftDockWidgetArea)
        fresh_layout = w.settings.value("state") is None
        if (fresh_layout or not w.restoreDockWidget(self.dock)) and "controls" in w.docks:
            w.tabifyDockWidget(w.docks["controls"], self.dock)
            w.docks["controls"].raise_()
        self.dock_widget.browse.clicked.connect(self._browse_video)
        self.dock_widget.target.view().installEventFilter(self)  # refresh the list of docks when it opens
        self.refresh_targets()

    def _build_menus(self) -> None:
        w = self.window
        menu = w.menu("File")
        menu.addSeparator()
        self.actions = {}

        def add(name: str, text: str, slot: Any, shortcut: str | None = None) -> QtGui.QAction:
            a = menu.addAction(text)
            a.triggered.connect(slot)
            if shortcut:
                a.setShortcut(QtGui.QKeySequence(shortcut))
            self.actions[name] = a
            w.actions_by_name[name] = a
            return a

        add("save_session", "Save session...", self._ask_save_session)
        add("open_session", "Open session...", self._ask_open_session)
        menu.addSeparator()
        add("save_checkpoint", "Save checkpoint...", self._ask_save_checkpoint)
        add("load_checkpoint", "Load checkpoint...", self._ask_load_checkpoint)
        menu.addSeparator()
        add("export_panel", "Export panel as PNG/SVG...", self._ask_export_panel)
        add("export_csv", "Export metrics history as CSV...", self._ask_export_csv)

    def _build_status(self) -> None:
        self.rec_label = QtWidgets.QLabel("")
        self.rec_label.setStyleSheet("color: #c62828; font-weight: bold;")
        self.rec_label.hide()
        self.window.statusBar().addPermanentWidget(self.rec_label)

    # -------------------------------------------------------------- targets
    def targets(self) -> list[tuple[str, str]]:
        out = [("window", "Whole window"), ("data", "Data view")]
        for name, dock in self.window.docks.items():
            if name not in ("controls", DOCK_NAME):
                out.append((name, dock.windowTitle()))
        return out

    def refresh_targets(self) -> None:
        self.dock_widget.set_targets(self.targets())

    def target_widget(self, key: str | None = None) -> QtWidgets.QWidget:
        w = self.window
        key = key or self.dock_widget.target.currentData() or "window"
        if key == "window":
            return w
        if key == "data":
            return w.data_stack.currentWidget()
        dock = w.docks.get(key)
        if dock is None:
            raise ExportError(f"no view named {key!r}")
        if not dock.isVisible():
            dock.show()
            dock.raise_()
        return dock.widget()

    # -------------------------------------------------------------- recording
    def start_recording(self, path: str | os.PathLike[str] | None = None, fmt: str | None = None,
                        fps: float | None = None, size: tuple[int, int] | None | str = "dock",
                        caption: bool | None = None, target: str | None = None) -> Recorder | None:
        """Start a recording (arguments default to the dock's settings). Returns None on an error (shown)."""
        d = self.dock_widget
        if self.recorder is not None:
            return self.recorder
        fmt = fmt or d.format.currentData()
        text = os.fspath(path) if path is not None else d.path.text().strip()
        if text:
            target_path = Path(os.path.expanduser(text))
            suffix = target_path.suffix.lower()
            if suffix in (".mp4", ".gif"):  # the file name decides the format
                fmt = suffix[1:]
            elif fmt != "png":
                target_path = target_path.with_name(target_path.name + FORMAT_SUFFIX[fmt])
            d.format.setCurrentIndex(d.format.findData(fmt))
        else:
            target_path = default_video_path(fmt)
        fps = float(fps if fps is not None else d.fps.value())
        size = d.size.currentData() if size == "dock" else size
        caption = d.caption.isChecked() if caption is None else caption
        try:
            widget = self.target_widget(target)
            self.recorder = Recorder(target_path, fps=fps, size=size, caption=caption, fmt=fmt, threads=1,
                                     parent=self)
        except ExportError as e:
            self._error("Recording not started", str(e))
            with QtCore.QSignalBlocker(self.record_action):
                self.record_action.setChecked(False)
            return None
        self._target = widget
        self._target_key = target or d.target.currentData()
        rec = self.recorder
        rec.hide = [self.rec_label, *self._record_buttons()]  # the recording chrome stays out of frame
        rec.progress.connect(self._on_progress)
        rec.finished.connect(self._on_finished)
        rec.failed.connect(self._on_failed)
        with QtCore.QSignalBlocker(self.record_action):
            self.record_action.setChecked(True)
        self.record_action.setText("Stop")
        d.set_recording(True)
        d.progress.setRange(0, 0)  # busy
        d.show_message(f"Recording {self._target_key} to {rec.path}")
        self.rec_label.setText("● REC")
        self.rec_label.show()
        rec.capture(widget, caption_for(self.window.last_snapshot))  # the first frame: what is on screen now
        return rec

    def _record_buttons(self) -> list[QtWidgets.QWidget]:
        """The toolbar buttons of the Record / Stop action (in every toolbar of the window)."""
        out = []
        for toolbar in self.window.findChildren(QtWidgets.QToolBar):
            button = toolbar.widgetForAction(self.record_action)
            if button is not None:
                out.append(button)
        return out

    def stop_recording(self, cancel: bool = False) -> None:
        rec = self.recorder
        if rec is None:
            return
        self.recorder = None
        self._finishing.append(rec)
        if cancel:
            rec.cancel()
        else:
            rec.stop()
        with QtCore.QSignalBlocker(self.record_action):
            self.record_action.setChecked(False)
        self.record_action.setText("Record")
        self.dock_widget.show_message(f"Finishing {rec.path.name}: {rec.captured - rec.encoded} frames to "
                                      "encode...")
        self.rec_label.setText("● encoding")

    def _on_record_toggled(self, on: bool) -> None:
        if on:
            self.start_recording()
        else:
            self.stop_recording()

    def _on_progress(self, encoded: int, captured: int, dropped: int) -> None:
        d = self.dock_widget
        rec = self.sender()
        if rec is self.recorder:
            text = f"{captured} captured, {encoded} encoded" + (f", {dropped} dropped" if dropped else "")
            limit = rec.writer.frame_limit
            if limit is not None and encoded >= GIF_WARN_FRAMES and (encoded - GIF_WARN_FRAMES) % 100 == 0:
                d.show_message(f"This GIF stops at {limit} frames ({limit - encoded} to go); what is recorded is "
                               "kept. Record MP4 for longer runs.", error=True)
            d.progress.setFormat(text)
            self.rec_label.setText(f"● REC {captured}")
        else:
            d.progress.setRange(0, max(captured, 1))
            d.progress.setValue(encoded)
            d.progress.setFormat(f"encoding {encoded}/{captured}")

    def _finished_recorder(self) -> Recorder | None:
        rec = self.sender()
        if rec in self._finishing:
            self._finishing.remove(rec)
        if rec is self.recorder:  # failed while recording
            self.recorder = None
            with QtCore.QSignalBlocker(self.record_action):
                self.record_action.setChecked(False)
            self.record_action.setText("Record")
        if not self._finishing and self.recorder is None:
            self.dock_widget.set_recording(False)
            self.rec_label.hide()
            d = self.dock_widget
            d.progress.setRange(0, 1)
        return rec if isinstance(rec, Recorder) else None

    def _on_finished(self, path: str) -> None:
        rec = self._finished_recorder()
        self.last_file = Path(path)
        n = rec.encoded if rec else 0
        dropped = f" ({rec.dropped} dropped: encoding fell behind)" if rec and rec.dropped else ""
        msg = f"Saved {n} frames to {path}{dropped}"
        timing = rec.timing_note() if rec is not None else ""
        if timing:
            msg += f"; {timing}"
        if rec is not None and rec.note:
            msg += f". {rec.note[0].upper()}{rec.note[1:]}"
        self.dock_widget.progress.setValue(1)
        self.dock_widget.progress.setFormat("done")
        self.dock_widget.show_message(msg)
        self.window.statusBar().showMessage(msg, 15000)

    def _on_failed(self, message: str) -> None:
        self._finished_recorder()
        self.dock_widget.progress.setValue(0)
        self.dock_widget.progress.setFormat("failed")
        self._error("Recording failed", message)

    def on_snapshot(self, snap: Any) -> None:
        if self.window.session is not self._session:  # a new run (restart, scene, session)
            self._session = self.window.session
            self.history.clear()
        self.history.add(snap)
        rec = self.recorder
        if rec is not None:
            widget = self.target_widget(self._target_key) if self._target_key == "data" else self._target
            rec.capture(widget, caption_for(snap))
        if self.replay is not None:
            try:
                self.replay.on_snapshot(snap)
            except (ExportError, SessionError) as e:
                self.replay = None
                self._error("Session replay stopped", str(e))

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait for every finishing recorder's encoder (window closing, tests)."""
        deadline = time.monotonic() + timeout
        ok = True
        for rec in list(self._finishing) + ([self.recorder] if self.recorder else []):
            ok = rec.wait(max(0.0, deadline - time.monotonic())) and ok
        return ok

    def close_now(self, budget: float = CLOSE_BUDGET) -> None:
        """The window is closing: within `budget` seconds, finalise every recording with what is already
        encoded, or discard it (no partial file either way); exports in progress will not restart training."""
        self.access.closing = True
        cancel_jobs(self.window, 0.1)  # background saves and exports: none leaves a file when cancelled
        if self.recorder is not None:
            self.stop_recording()
        deadline = time.monotonic() + budget
        for rec in list(self._finishing):
            rec.stop(drop_queued=True)
        for rec in list(self._finishing):
            if not rec.finish_within(max(0.05, deadline - time.monotonic())):
                self.last_error = (f"{rec.path.name} was discarded: the window closed before it finished "
                                   "encoding")

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802 (Qt API)
        if event.type() == QtCore.QEvent.Type.Show and obj is self.dock_widget.target.view():
            self.refresh_targets()
        return False

    # -------------------------------------------------------------- sessions, checkpoints, exports
    def _scene_name(self, config: TrainConfig) -> str | None:
        scene = getattr(self.window, "current_scene", None)
        if scene is not None and getattr(scene, "config", None) == config:
            return getattr(scene, "name", None)
        return None

    def save_session(self, path: str | os.PathLike[str]) -> Path | None:
        try:
            initial = self.access.initial_config()
            session = self.access.session(scene=self._scene_name(initial))
            out = save_session(session, path)
        except (ExportError, SessionError) as e:
            self._error("Session not saved", str(e))
            return None
        self._info(f"Session saved: {out} ({len(session.commands)} changes, step {session.final_step})")
        return out

    def open_session(self, path: str | os.PathLike[str]) -> WindowReplay | None:
        try:
            session = self._read_session(path)
        except (ExportError, SessionError) as e:
            self._error("Session not opened", str(e))
            return None
        return self._start_session(session, path)

    def _read_session(self, path: str | os.PathLike[str]) -> Session:
        """Read and check a session file and what it names (no Qt: runs in a background thread too)."""
        session = load_session(path)
        if session.checkpoint:
            from ...core.checkpoint import read_checkpoint

            read_checkpoint(WindowReplay.checkpoint_path_of(session, Path(path).parent))
        _check_data_file(session.config)
        return session

    def _start_session(self, session: Session, path: str | os.PathLike[str]) -> WindowReplay | None:
        self.replay = WindowReplay(self, session, Path(path).parent)
        try:
            self.replay.start()
        except (ExportError, SessionError) as e:
            self.replay = None
            self._error("Session not opened", str(e))
            return None
        self.window.setWindowTitle(f"ganviz — session {Path(path).name}")
        self._info(f"Replaying {Path(path).name}: {len(session.commands)} changes up to step "
                   f"{self.replay.final_step}; it pauses there")
        return self.replay

    def save_checkpoint(self, path: str | os.PathLike[str]) -> Path | None:
        try:
            result = self.access.save_checkpoint(path)
        except ExportError as e:
            self._error("Checkpoint not saved", str(e))
            return None
        self._info(f"Checkpoint saved: {path} (step {result['step']})")
        return Path(path)

    def load_checkpoint(self, path: str | os.PathLike[str]) -> bool:
        try:
            result = self.access.load_checkpoint(path)
        except ExportError as e:
            self._error("Checkpoint not loaded", str(e))
            return False
        self.replay = None
        self._info(f"Checkpoint loaded: {Path(path).name}, continuing from step {result['step']}")
        return True

    def export_panel(self, key: str, path: str | os.PathLike[str]) -> Path | None:
        try:
            out = export_widget(self.target_widget(key), path)
        except ExportError as e:
            self._error("Panel not exported", str(e))
            return None
        self._info(f"Exported {key} to {out}")
        return out

    def export_csv(self, path: str | os.PathLike[str]) -> Path | None:
        try:
            out = self.history.write_csv(path)
        except ExportError as e:
            self._error("Metrics not exported", str(e))
            return None
        self._info(f"Exported {len(self.history)} steps of history to {out}")
        return out

    # -------------------------------------------------------------- dialogs
    def _save_name(self, title: str, filters: str, suggested: str) -> str | None:
        name, _ = QtWidgets.QFileDialog.getSaveFileName(self.window, title, suggested, filters)
        return name or None

    def _open_name(self, title: str, filters: str) -> str | None:
        name, _ = QtWidgets.QFileDialog.getOpenFileName(self.window, title, "", filters)
        return name or None

    def _browse_video(self) -> None:
        fmt = self.dock_widget.format.currentData()
        if fmt == "png":
            name = QtWidgets.QFileDialog.getExistingDirectory(self.window, "Folder for the PNG frames (empty)")
        else:
            name = self._save_name("Record to", f"{FORMATS[fmt]} (*{FORMAT_SUFFIX[fmt]})",
                                   str(default_video_path(fmt)))
        if name:
            self.dock_widget.path.setText(name)

    def _ask_save_session(self) -> None:
        name = self._save_name("Save session", "ganviz session (*.toml);;JSON (*.json)", "session.toml")
        if name:
            self.save_session_in_background(name)

    def _ask_open_session(self) -> None:
        name = self._open_name("Open session", "ganviz session (*.toml *.json)")
        if name:
            self.open_session_in_background(name)

    # -------------------------------------------------------------- the same, off the GUI thread (issue 19.8)
    def save_session_in_background(self, path: str | os.PathLike[str]) -> BackgroundJob:
        """Ask the training process for its log (it answers at its next step boundary: seconds with a big network)
        and write the file in a thread; the window keeps drawing. The thread backend's trainer is stopped and
        started in the GUI thread, so only the file is written in the thread there."""
        initial = self.access.initial_config()
        scene = self._scene_name(initial)
        session = self.access.session(scene=scene) if self.window.session.trainer is not None else None

        def work(progress: Any, cancelled: Any) -> tuple[Path, Session]:
            s = session if session is not None else self.access.session(scene=scene)
            if cancelled():
                raise ExportError(f"cancelled: {path} was not written")
            return save_session(s, path), s

        def done(result: tuple[Path, Session]) -> None:
            out, s = result
            self._info(f"Session saved: {out} ({len(s.commands)} changes, step {s.final_step})")

        return run_in_background(self.window, f"Saving the session to {text_bounds.path_text(path, 80)}…", work,
                                 done, lambda e: self._error("Session not saved", _message_of(e)),
                                 lambda: self._info("Saving the session was cancelled; nothing was written"))

    def open_session_in_background(self, path: str | os.PathLike[str]) -> BackgroundJob:
        """Read a session file in a thread (a session of 100k changes took minutes in the GUI thread); Cancel
        discards it. The replay then starts in the GUI thread."""
        return run_in_background(
            self.window, f"Reading the session {text_bounds.path_text(path, 80)}…",
            lambda progress, cancelled: self._read_session(path), lambda s: self._start_session(s, path),
            lambda e: self._error("Session not opened", _message_of(e)),
            lambda: self._info("Opening the session was cancelled; the run is unchanged"))

    def export_csv_in_background(self, path: str | os.PathLike[str]) -> BackgroundJob:
        """Write the metrics CSV in a thread, a chunk at a time, with progress; Cancel leaves no file."""
        def done(out: Path) -> None:
            self._info(f"Exported {len(self.history)} steps of history to {out}")

        return run_in_background(
            self.window, f"Writing {text_bounds.path_text(path, 80)}…",
            lambda progress, cancelled: self.history.write_csv(path, progress, cancelled), done,
            lambda e: self._error("Metrics not exported", _message_of(e)),
            lambda: self._info("The CSV export was cancelled; nothing was written"))

    def _ask_save_checkpoint(self) -> None:
        name = self._save_name("Save checkpoint", "ganviz checkpoint (*.pt)", "checkpoint.pt")
        if name:
            self.save_checkpoint(name)

    def _ask_load_checkpoint(self) -> None:
        name = self._open_name("Load checkpoint", "ganviz checkpoint (*.pt)")
        if name:
            self.load_checkpoint(name)

    def _ask_export_panel(self) -> None:
        items = self.targets()
        labels = [text for _, text in items]
        label, ok = QtWidgets.QInputDialog.getItem(self.window, "Export panel", "Panel:", labels, 1, False)
        if not ok:
            return
        key = items[labels.index(label)][0]
        name = self._save_name("Export panel", "PNG image (*.png);;SVG drawing (*.svg)", f"{key}.png")
        if name:
            self.export_panel(key, name)

    def _ask_export_csv(self) -> None:
        name = self._save_name("Export metrics history", "CSV (*.csv)", "metrics.csv")
        if name:
            self.export_csv_in_background(name)

    # -------------------------------------------------------------- messages
    def _info(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 15000)
        self.dock_widget.show_message(text)

    def _error(self, title: str, text: str) -> None:
        self.last_error = text
        self.window.statusBar().showMessage(f"{title}: {text}", 20000)
        self.dock_widget.show_message(f"{title}: {text}", error=True)
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, f"ganviz: {title.lower()}", text,
                                    QtWidgets.QMessageBox.StandardButton.Ok, self.window)
        box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # not exec(): training and drawing go on while the message is shown


def install(window: Any) -> RecordingExtension:
    ext = RecordingExtension(window)
    window.recording = ext
    return ext
