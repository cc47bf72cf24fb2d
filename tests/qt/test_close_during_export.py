"""Closing the window while a recording is encoding, or while a panel / CSV / session / checkpoint export is
being written: the window is gone within a second, no partial file is left at the target (nor a temporary next
to it), and no training thread is started again afterwards. Thread backend (fast, inspectable)."""

from __future__ import annotations

import os
import time

import imageio.v2 as iio
import pytest
import torch
from PIL import Image
from PySide6 import QtCore, QtGui

from ganviz.core.config import TrainConfig
from ganviz.export import video as V
from ganviz.export.session import load_session
from ganviz.qt.app import make_app
from ganviz.qt.main_window import MainWindow

SMALL = dict(d_width=16, g_width=16, d_depth=1, g_depth=1, batch_size=32, n_view=128, grid_size=16,
             mode_samples=300, w1_samples=64, kde_samples=512)
# The window budgets 1.0 s for closing (MainWindow.CLOSE_SECONDS; measured 0.3-0.6 s here). The half second
# on top absorbs scheduler stalls on a loaded CI runner (one run there measured 1.37 s before the shared
# deadline existed); encoding the backlog (6 s) or waiting for the slow finalise (2 s) still fails.
CLOSE_LIMIT = 1.5  # seconds


@pytest.fixture(autouse=True, scope="module")
def _app():
    torch.set_num_threads(1)
    make_app()


@pytest.fixture
def window(qtbot, tmp_path):
    w = MainWindow(TrainConfig(**SMALL), settings=QtCore.QSettings(str(tmp_path / "layout.ini"),
                                                                   QtCore.QSettings.Format.IniFormat),
                   interval=0.02, backend="thread")
    qtbot.addWidget(w)
    w.resize(900, 600)
    w.show()
    qtbot.waitUntil(lambda: w.frames >= 2, timeout=20000)
    yield w
    w.close()


def files_in(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def timed_close(w) -> float:
    t0 = time.perf_counter()
    w.close()
    elapsed = time.perf_counter() - t0
    print(f"[close] {elapsed:.2f} s")  # pytest -s shows the measured times
    return elapsed


def training_stopped(w, qtbot) -> bool:
    """The training thread has ended and stays ended (nothing started it again after the close)."""
    qtbot.wait(150)
    return not w.session.is_running() and QtCore.QThreadPool.globalInstance().waitForDone(2000)


def slow_encoder(monkeypatch, seconds: float) -> None:
    """Every frame takes `seconds` to encode (a big frame on a busy machine)."""
    original = V.FrameWriter._write

    def write(self, rgb):
        time.sleep(seconds)
        original(self, rgb)

    monkeypatch.setattr(V.FrameWriter, "_write", write)


def queue_frames(rec, n: int) -> None:
    image = QtGui.QImage(320, 200, QtGui.QImage.Format.Format_RGB888)
    for i in range(n):
        image.fill(QtGui.QColor(8 * i % 256, 90, 160))
        rec.add_image(image.copy(), f"frame {i}")


def check_saved(target, fmt: str, n: int) -> None:
    if fmt == "mp4":
        frames = iio.mimread(target, memtest=False)
        assert len(frames) == n and frames[0].shape == (200, 320, 3)
    elif fmt == "gif":
        with Image.open(target) as im:
            assert im.size == (320, 200) and 1 <= im.n_frames <= n
    else:
        assert len(list(target.glob("frame_*.png"))) == n


@pytest.mark.parametrize("fmt", ["mp4", "gif", "png"])
def test_close_while_encoding_a_backlog_keeps_what_was_encoded(window, qtbot, tmp_path, monkeypatch, fmt):
    """20 frames queued at 0.3 s each (6 s of work): closing drops the backlog and finalises the frames
    already encoded, within a second."""
    w, ext = window, window.recording
    out = tmp_path / "out"
    out.mkdir()
    target = out / ("rec" + {"mp4": ".mp4", "gif": ".gif", "png": ""}[fmt])
    slow_encoder(monkeypatch, 0.3)
    rec = ext.start_recording(target, fmt=fmt, size=(320, 200), fps=30)
    assert rec is not None, ext.last_error
    queue_frames(rec, 20)
    qtbot.waitUntil(lambda: rec.encoded >= 1, timeout=10000)  # the encoder is busy, the temporary exists
    assert any(name.startswith(".") for name in files_in(out))
    elapsed = timed_close(w)
    assert elapsed < CLOSE_LIMIT, f"closing took {elapsed:.2f} s"
    assert not rec.is_active() and rec.dropped >= 15 and 1 <= rec.encoded <= 5
    assert files_in(out) == [target.name]  # complete, and no temporary beside it
    check_saved(target, fmt, rec.encoded)
    assert training_stopped(w, qtbot)


@pytest.mark.parametrize("fmt", ["mp4", "gif", "png"])
def test_close_while_finalising_takes_too_long_discards_the_file(window, qtbot, tmp_path, monkeypatch, fmt):
    """Finalising would take 2 s (a long GIF, a slow disk): the window does not wait; the recording is
    discarded, and the temporary goes even though the encoder thread is still inside close()."""
    w, ext = window, window.recording
    out = tmp_path / "out"
    out.mkdir()
    target = out / ("rec" + {"mp4": ".mp4", "gif": ".gif", "png": ""}[fmt])
    original = V.FrameWriter.close

    def slow_close(self):
        time.sleep(2.0)
        return original(self)

    monkeypatch.setattr(V.FrameWriter, "close", slow_close)
    rec = ext.start_recording(target, fmt=fmt, size=(320, 200), fps=30)
    assert rec is not None, ext.last_error
    queue_frames(rec, 3)
    qtbot.waitUntil(lambda: rec.encoded >= 3, timeout=10000)
    elapsed = timed_close(w)
    assert elapsed < CLOSE_LIMIT, f"closing took {elapsed:.2f} s"
    assert "discarded" in (ext.last_error or "") and rec.is_active()
    assert files_in(out) == []  # removed at once, while the encoder is still busy
    assert rec.wait(5.0) and rec.result is None and "cancelled" in (rec.error or "")
    assert files_in(out) == []  # and it did not commit afterwards
    assert training_stopped(w, qtbot)


def close_inside(monkeypatch, w, module) -> dict:
    """Close the window from inside the export, just before its temporary file is renamed onto the target:
    the worst moment (a close event delivered while the export is in progress)."""
    original = os.replace
    seen = {"closed_in": None}

    def replace(src, dst):
        if seen["closed_in"] is None:
            seen["closed_in"] = timed_close(w)
            seen["tmp_during_close"] = os.path.exists(src)
        return original(src, dst)

    monkeypatch.setattr(module.os, "replace", replace)
    return seen


def test_close_during_a_session_save(window, qtbot, tmp_path, monkeypatch):
    from ganviz.export import session as S

    w, ext = window, window.recording
    seen = close_inside(monkeypatch, w, S)
    path = ext.save_session(tmp_path / "s.toml")
    assert path is not None, ext.last_error
    assert seen["closed_in"] < CLOSE_LIMIT and seen["tmp_during_close"]
    assert files_in(tmp_path) == ["layout.ini", "s.toml"] and load_session(path).config == w.session.config
    assert training_stopped(w, qtbot)  # the save stopped the training thread; the close must win: not started again


def test_close_during_a_checkpoint_save(window, qtbot, tmp_path, monkeypatch):
    from ganviz.core import checkpoint as CK

    w, ext = window, window.recording
    seen = close_inside(monkeypatch, w, CK)
    assert ext.save_checkpoint(tmp_path / "c.pt") is not None, ext.last_error
    assert seen["closed_in"] < CLOSE_LIMIT
    assert files_in(tmp_path) == ["c.pt", "layout.ini"]
    assert torch.load(tmp_path / "c.pt", weights_only=True)["format"] == "ganviz-checkpoint"
    assert training_stopped(w, qtbot)


def test_close_during_csv_and_panel_exports(window, qtbot, tmp_path, monkeypatch):
    from ganviz.export import history as H
    from ganviz.qt.extensions import recording as R

    w, ext = window, window.recording
    qtbot.waitUntil(lambda: len(ext.history) > 0, timeout=10000)
    seen = close_inside(monkeypatch, w, H)
    assert ext.export_csv(tmp_path / "m.csv") is not None, ext.last_error
    assert seen["closed_in"] < CLOSE_LIMIT
    lines = (tmp_path / "m.csv").read_text().splitlines()
    assert lines[0].startswith("segment,step,d_loss") and len(lines) == len(ext.history) + 1
    monkeypatch.undo()
    seen = close_inside(monkeypatch, w, R)  # the window is closed already: exporting still works, atomically
    assert ext.export_panel("losses", tmp_path / "losses.png") is not None, ext.last_error
    assert files_in(tmp_path) == ["layout.ini", "losses.png", "m.csv"]
    assert Image.open(tmp_path / "losses.png").size[0] > 0
    assert training_stopped(w, qtbot)


def test_a_session_whose_image_file_is_missing_leaves_the_run_untouched(window, qtbot, tmp_path):
    """Found by the session fuzz test: such a session loads (its config is valid), so opening it used to stop
    the current run and then fail building the new one."""
    from ganviz.export.session import Session, save_session

    w, ext = window, window.recording
    session = w.session
    path = save_session(Session(TrainConfig(data="image-file", image_path=str(tmp_path / "gone.npz"))),
                        tmp_path / "img.toml")
    assert ext.open_session(path) is None and "image data cannot be loaded" in ext.last_error
    assert w.session is session and session.is_running()
    frames = w.frames
    qtbot.waitUntil(lambda: w.frames > frames, timeout=10000)
