"""Frames -> MP4 (H.264 via imageio-ffmpeg), GIF (Pillow) or a PNG sequence (a folder). No Qt here.

    with FrameWriter("run.mp4", fps=30, progress=print) as w:
        for frame in frames:            # (h, w, 3) uint8 RGB; the first frame fixes the size
            w.write(frame)
    # leaving the block finalises: the file appears under its name only now, complete

Everything is written to a hidden temporary file (or folder) next to the target and renamed onto it on
success, so an error, a cancel or a full disk never leaves a partial file under the target's name (the
temporary is removed). Problems raise ExportError subclasses with a message meant for the user:
EncoderMissingError (no imageio-ffmpeg for MP4: record GIF or PNG instead), DiskFullError (ENOSPC).

MP4: libx264, yuv420p (plays in browsers, PowerPoint, QuickTime); odd frame sizes are padded to even by
repeating the last row / column (yuv420p needs even dimensions). GIF: each frame gets its own adaptive
256-colour palette (median cut up to 0.5 MP, else Pillow's fast octree; no dithering: flat plot colours
stay flat), loops forever;
consecutive identical frames become one longer frame, so a paused run costs nothing. GIF frames are written
to the temporary file as they come (ganviz.export.gifstream: memory stays at one frame; Pillow's own writer held
every frame, ~9 GB at the limit); a GIF stops at MAX_GIF_FRAMES (FrameLimitReached: the frames so far are kept and
close() commits them); prefer MP4 for long recordings.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import shutil
import threading
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .errors import EncoderMissingError, ExportError, check_target, is_disk_full, os_error


class FrameLimitReached(ExportError):
    """The format's frame limit was reached: nothing was lost, the frames so far can still be committed (close())."""

FORMATS = {"mp4": "MP4 video (H.264)", "gif": "animated GIF", "png": "PNG sequence (a folder)"}
MAX_FPS = 240.0
MAX_GIF_FRAMES = 5000  # a GIF stops here (kept); at 30 fps that is nearly 3 minutes: record MP4 for longer
GIF_WARN_FRAMES = 4000  # the recording says it is nearing the limit from here on
GIF_MEDIANCUT_PIXELS = 500_000  # larger GIF frames use the fast octree palette

Progress = Callable[[int, "int | None"], None]  # (frames written, total frames if known)
_OPEN: weakref.WeakSet[FrameWriter] = weakref.WeakSet()  # writers with a temporary on disk


@atexit.register
def _remove_temporaries() -> None:
    """At interpreter exit, an encoder thread still busy (a window closed mid-recording) leaves no temporary."""
    for writer in list(_OPEN):
        writer.cancel()


def format_for_path(path: str | os.PathLike[str], fmt: str | None = None) -> str:
    """mp4 / gif / png from an explicit format or the target: .mp4, .gif, or a folder (a trailing slash,
    an existing folder, or no suffix) for a PNG sequence."""
    if fmt is not None:
        fmt = fmt.lower().lstrip(".")
        if fmt in ("png-sequence", "pngs", "folder"):
            fmt = "png"
        if fmt not in FORMATS:
            raise ExportError(f"unknown format {fmt!r}: choose mp4, gif or png (a PNG sequence in a folder)")
        return fmt
    text = os.fspath(path)
    p = Path(text)
    if text.endswith(("/", os.sep)) or p.is_dir() or p.suffix == "":
        return "png"
    suffix = p.suffix.lower().lstrip(".")
    if suffix in ("mp4", "gif"):
        return suffix
    raise ExportError(f"cannot tell the format of {text!r}: use a name ending in .mp4 or .gif, or a folder "
                      "(a trailing /) for a PNG sequence")


def ffmpeg_exe() -> str:
    """The ffmpeg binary bundled with imageio-ffmpeg; EncoderMissingError if that is not installed."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise EncoderMissingError("MP4 needs the imageio-ffmpeg package (pip install imageio-ffmpeg), which is "
                                  "not installed. Record a GIF or a PNG sequence instead.") from None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except (RuntimeError, OSError) as e:
        raise EncoderMissingError(f"imageio-ffmpeg found no ffmpeg binary ({e}). Reinstall imageio-ffmpeg, or "
                                  "record a GIF or a PNG sequence instead.") from None


def _pillow() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise EncoderMissingError("GIF and PNG export need Pillow (pip install Pillow), which is not "
                                  "installed.") from None
    return Image


def even_frame(frame: np.ndarray) -> np.ndarray:
    """Pad an (h, w, 3) frame to even h and w by repeating its last row / column."""
    h, w = frame.shape[:2]
    if h % 2 or w % 2:
        frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    return frame


def as_rgb(frame: Any) -> np.ndarray:
    """A C-contiguous (h, w, 3) uint8 array from an (h, w, 3|4) uint8 or float [0, 1] array."""
    a = np.asarray(frame)
    if a.ndim != 3 or a.shape[2] not in (3, 4) or a.shape[0] < 1 or a.shape[1] < 1:
        raise ExportError(f"a frame must be an (height, width, 3) RGB array, got shape {a.shape}")
    if a.dtype != np.uint8:
        if np.issubdtype(a.dtype, np.floating):
            a = np.clip(np.nan_to_num(a) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        else:
            a = np.clip(a, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(a[:, :, :3])


class FrameWriter:
    """Write RGB frames to MP4, GIF or a PNG folder; atomically (temp + rename) and with clear errors.

    fps: playback frame rate. progress(n, total): called after each frame (total may be None).
    threads: encoder threads for MP4 (live recording uses 1, leaving the cores to training and drawing).
    crf: H.264 quality (lower is better; 18-23 is visually lossless for plots).
    """

    def __init__(self, path: str | os.PathLike[str], fps: float = 30.0, fmt: str | None = None,
                 progress: Progress | None = None, total: int | None = None, threads: int | None = None,
                 crf: int = 20, preset: str = "veryfast") -> None:
        self.fmt = format_for_path(path, fmt)
        self.path = Path(os.fspath(path).rstrip("/" + os.sep) or ".")
        if not (isinstance(fps, (int, float)) and 0 < fps <= MAX_FPS):
            raise ExportError(f"fps must be a number in (0, {MAX_FPS:g}], got {fps!r}")
        self.fps = float(fps)
        self.progress = progress
        self.total = total
        self.threads = threads
        self.crf = int(crf)
        self.preset = preset
        self.frames_written = 0
        self.size: tuple[int, int] | None = None  # (width, height) of the input frames
        self._closed = False
        self._cancelled = threading.Event()  # cancel() from another thread: never commit, remove the temporary
        self._commit_lock = threading.Lock()
        self._ffmpeg: Any = None  # imageio-ffmpeg's write generator
        self._gif: Any = None  # a GifStream onto the temporary file, from the first frame
        self._gif_file: Any = None
        self.frame_limit = MAX_GIF_FRAMES if self.fmt == "gif" else None
        # fail early, before any frame is produced: encoder present, target writable
        if self.fmt == "mp4":
            ffmpeg_exe()
        else:
            _pillow()
        check_target(self.path, "dir" if self.fmt == "png" else "file")
        token = secrets.token_hex(4)
        if self.fmt == "png":
            self.tmp = self.path.parent / f".{self.path.name}.{token}.partial"
        else:
            self.tmp = self.path.parent / f".{self.path.stem}.{token}.partial{self.path.suffix}"
        try:
            if self.fmt == "png":
                self.tmp.mkdir()
            else:
                self.tmp.touch()  # proves the folder is writable now, not at the end of a long recording
        except OSError as e:
            raise os_error(e, self.path) from None
        _OPEN.add(self)

    # -------------------------------------------------------------- writing
    def write(self, frame: Any) -> None:
        """Append one (h, w, 3) RGB frame (uint8, or float in [0, 1]); all frames must have one size."""
        if self._closed:
            raise ExportError("this recording is already finished")
        if self._cancelled.is_set():
            self.abort()
            raise ExportError(f"recording cancelled: {self.path} was not written")
        rgb = as_rgb(frame)
        h, w = rgb.shape[:2]
        if self.size is None:
            self.size = (w, h)
        elif self.size != (w, h):
            self.abort()
            raise ExportError(f"frame {self.frames_written} is {w}x{h} but the recording is "
                              f"{self.size[0]}x{self.size[1]}; all frames must have one size")
        try:
            self._write(rgb)
        except FrameLimitReached:
            raise  # not an error in what was written: close() still commits it
        except ExportError:
            self.abort()
            raise
        except (OSError, RuntimeError, ValueError) as e:  # ffmpeg reports a dead pipe as OSError / RuntimeError
            self.abort()
            raise os_error(e, self.path) from None
        self.frames_written += 1
        if self.progress is not None:
            self.progress(self.frames_written, self.total)

    def _write(self, rgb: np.ndarray) -> None:
        if self.fmt == "mp4":
            rgb = even_frame(rgb)
            if self._ffmpeg is None:
                self._ffmpeg = self._open_ffmpeg(rgb.shape[1], rgb.shape[0])
            self._ffmpeg.send(rgb)
        elif self.fmt == "gif":
            if self.frames_written >= MAX_GIF_FRAMES:
                raise FrameLimitReached(f"the GIF reached its limit of {MAX_GIF_FRAMES} frames; the frames so far are "
                                        "kept — record MP4 for longer runs")
            image = _pillow()
            # median cut keeps flat plot colours exact (93% of pixels on a window frame) but costs ~50 ms per
            # megapixel; the fast octree (~7 ms/MP) shifts them slightly (white -> 252): used for big frames
            method = image.Quantize.MEDIANCUT if rgb.shape[0] * rgb.shape[1] <= GIF_MEDIANCUT_PIXELS \
                else image.Quantize.FASTOCTREE
            frame = image.fromarray(rgb).quantize(colors=256, method=method, dither=image.Dither.NONE)
            if self._gif is None:
                from .gifstream import GifStream

                self._gif_file = open(self.tmp, "wb")  # noqa: SIM115 (closed in close() / abort())
                delay_cs = max(2, int(round(100.0 / self.fps)))  # GIF delays are in 1/100 s
                self._gif = GifStream(self._gif_file, delay_cs)
            self._gif.add(frame)
        else:
            _pillow().fromarray(rgb).save(self.tmp / f"frame_{self.frames_written:06d}.png", compress_level=3)

    def _open_ffmpeg(self, width: int, height: int) -> Any:
        import imageio_ffmpeg

        out = ["-crf", str(self.crf), "-preset", self.preset, "-movflags", "+faststart", "-f", "mp4"]
        if self.threads:
            out += ["-threads", str(int(self.threads))]
        gen = imageio_ffmpeg.write_frames(str(self.tmp), (width, height), fps=self.fps, codec="libx264",
                                          pix_fmt_in="rgb24", pix_fmt_out="yuv420p", quality=None,
                                          macro_block_size=2, ffmpeg_log_level="error", output_params=out)
        gen.send(None)  # start ffmpeg
        return gen

    # -------------------------------------------------------------- finishing
    def close(self) -> Path:
        """Finish the file and move it onto the target name. Returns the target path."""
        if self._closed:
            return self.path
        if self.frames_written == 0:
            self.abort()
            raise ExportError(f"nothing was recorded: no frames reached {self.path}")
        try:
            if self.fmt == "mp4":
                gen, self._ffmpeg = self._ffmpeg, None
                gen.close()  # waits for ffmpeg to finish the file
            elif self.fmt == "gif":
                gif, fh, self._gif, self._gif_file = self._gif, self._gif_file, None, None
                gif.close()
                fh.flush()
                os.fsync(fh.fileno())
                fh.close()
            with self._commit_lock:  # a cancel() from another thread wins if it came first
                if self._cancelled.is_set():
                    raise ExportError(f"recording cancelled: {self.path} was not written")
                self._commit()
                _OPEN.discard(self)
        except ExportError:
            self.abort()
            raise
        except (OSError, RuntimeError, ValueError) as e:
            self.abort()
            raise os_error(e, self.path) from None
        self._closed = True
        return self.path

    def _commit(self) -> None:
        if self.fmt == "png":
            if self.path.is_dir():  # an empty folder (checked at the start) is replaced by the frames
                self.path.rmdir()
            os.replace(self.tmp, self.path)
        else:
            os.replace(self.tmp, self.path)

    def cancel(self) -> None:
        """From any thread: the file will not be committed, and the temporary is removed now (the thread that
        writes removes it again if it recreates it). Safe while another thread is inside write() or close()."""
        with self._commit_lock:
            self._cancelled.set()
            _OPEN.discard(self)
        self._remove_tmp()

    def _remove_tmp(self) -> None:
        with contextlib.suppress(OSError):
            if self.tmp.is_dir():
                shutil.rmtree(self.tmp)
            elif self.tmp.exists():
                self.tmp.unlink()

    def abort(self) -> None:
        """Stop and remove the temporary file; the target is left as it was. Safe to call twice."""
        _OPEN.discard(self)
        self._closed = True
        gen, self._ffmpeg = self._ffmpeg, None
        if gen is not None:
            with contextlib.suppress(Exception):
                gen.close()
        self._gif = None
        fh, self._gif_file = self._gif_file, None
        if fh is not None:
            with contextlib.suppress(OSError):
                fh.close()
        self._remove_tmp()

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def encode_frames(frames: Iterable[Any], path: str | os.PathLike[str], fps: float = 30.0, fmt: str | None = None,
                  progress: Progress | None = None, total: int | None = None,
                  cancel: Callable[[], bool] | None = None, threads: int | None = None) -> Path:
    """Encode an iterable of RGB frames to path (see FrameWriter). cancel() -> True stops and removes the
    partial file (ExportError "cancelled")."""
    writer = FrameWriter(path, fps=fps, fmt=fmt, progress=progress, total=total, threads=threads)
    try:
        for frame in frames:
            if cancel is not None and cancel():
                raise ExportError(f"cancelled: {path} was not written")
            writer.write(frame)
    except BaseException:
        writer.abort()
        raise
    return writer.close()


def disk_full(exc: BaseException) -> bool:
    """Whether an exception means the disk is full (re-exported for callers that catch OSError)."""
    return is_disk_full(exc)
