"""Recording a widget while it draws, and exporting one as PNG / SVG (no window logic here).

`Recorder` captures in the GUI thread (QWidget.grab, at most `fps` times a second) into a bounded queue and
encodes in a background thread (scale, caption strip, RGB, MP4 / GIF / PNG folder): if encoding falls behind,
frames are dropped and counted, the window never waits. `export_widget` writes a panel atomically.
The window's Record button and File menu (ganviz.qt.extensions.recording) and `ganviz record` use these.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import math
import os
import queue
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from ..export.errors import ExportError, check_target, nothing_written, os_error
from ..export.video import FrameLimitReached, FrameWriter

FORMAT_SUFFIX = {"mp4": ".mp4", "gif": ".gif", "png": ""}
QUEUE_FRAMES = 24  # captured frames waiting for the encoder; beyond this, frames are dropped (and counted)


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


# ================================================================================== exporting a panel
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
