"""The recording extension in a live window (offscreen): the Record action writes a valid GIF, errors leave no
file and training goes on, panels / metrics export, sessions saved from the window replay exactly when
opened, checkpoints save and load; and the headless `ganviz record` / `ganviz replay` commands."""

from __future__ import annotations

import errno
import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6 import QtCore, QtGui

from ganviz.cli import main as cli_main
from ganviz.core.commands import Reset, SetLearningRates, SetObjective, SetRunning, StepD
from ganviz.core.config import TrainConfig
from ganviz.export import video as V
from ganviz.export.errors import EncoderMissingError
from ganviz.export.replay import Replayer, replay
from ganviz.export.session import load_session
from ganviz.qt.app import make_app
from ganviz.qt.main_window import MainWindow

SMALL = dict(d_width=16, g_width=16, d_depth=2, g_depth=2, batch_size=32, n_view=128, grid_size=16,
             mode_samples=300, w1_samples=64, kde_samples=512)
CLI_SMALL = [f"--set={k}={v}" for k, v in SMALL.items()]


@pytest.fixture(scope="module")
def window(tmp_path_factory):
    torch.set_num_threads(1)
    make_app()
    ini = tmp_path_factory.mktemp("layout") / "ganviz.ini"
    w = MainWindow(TrainConfig(**SMALL), settings=QtCore.QSettings(str(ini), QtCore.QSettings.Format.IniFormat),
                   interval=0.02, backend="thread")
    w.resize(1100, 700)
    w.show()
    yield w
    assert w.recording.wait_idle(10)
    assert w.shutdown(), "training thread did not stop within 1 s"
    w.close()
    assert QtCore.QThreadPool.globalInstance().waitForDone(2000)
    assert all(not r.is_active() for r in w.recording._finishing)


def frames_grow(qtbot, w, n=3, timeout=15000):
    start = w.frames
    qtbot.waitUntil(lambda: w.frames >= start + n, timeout=timeout)


def files_in(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_record_action_records_a_captioned_gif(window, qtbot, tmp_path):
    w, ext = window, window.recording
    action = w.actions_by_name["record"]
    assert action in w.toolbar.actions() and action.shortcut() == QtGui.QKeySequence("Ctrl+R")
    d = ext.dock_widget
    d.format.setCurrentIndex(d.format.findData("gif"))
    d.size.setCurrentIndex(d.size.findText("640x360"))
    d.fps.setValue(20)
    d.path.setText(str(tmp_path / "rec.gif"))
    frames_grow(qtbot, w, 1)
    action.trigger()
    assert action.isChecked() and ext.recorder is not None and ext.rec_label.isVisible()
    assert not d.format.isEnabled()  # settings are locked while recording
    rec = ext.recorder
    qtbot.waitUntil(lambda: rec.captured >= 5, timeout=20000)
    action.trigger()
    assert not action.isChecked() and ext.recorder is None
    qtbot.waitUntil(lambda: ext.last_file is not None, timeout=20000)
    assert files_in(tmp_path) == ["rec.gif"]
    assert rec.encoded == rec.captured >= 5 and "Saved" in d.status.text()
    im = Image.open(tmp_path / "rec.gif")
    assert im.size == (640, 360) and im.info["loop"] == 0 and im.info["duration"] == 50
    assert 3 <= im.n_frames <= rec.encoded  # identical consecutive frames merge; training makes them differ
    im.seek(im.n_frames - 1)
    rgb = np.asarray(im.convert("RGB")).astype(int)
    im.close()
    strip = rgb[-14:, :, :]  # caption strip: light grey with dark text
    assert (np.abs(strip - 240) <= 3).all(axis=2).mean() > 0.7
    assert (strip.max(axis=2) < 90).sum() > 30
    assert np.unique(rgb[:300].reshape(-1, 3), axis=0).shape[0] > 20  # the window itself, not blank


def test_a_gif_at_its_frame_limit_is_kept_and_the_recording_ends_by_itself(window, qtbot, tmp_path, monkeypatch):
    """Issue 19.5: a GIF reaching its limit was thrown away whole (after ~9 GB of frames held in memory)."""
    from ganviz.qt.extensions import recording as R

    monkeypatch.setattr(V, "MAX_GIF_FRAMES", 6)
    monkeypatch.setattr(R, "GIF_WARN_FRAMES", 3)
    w, ext = window, window.recording
    d = ext.dock_widget
    said = []
    original = d.show_message
    monkeypatch.setattr(d, "show_message", lambda text, error=False: (said.append(text), original(text, error)))
    d.format.setCurrentIndex(d.format.findData("gif"))
    d.size.setCurrentIndex(d.size.findText("640x360"))
    d.fps.setValue(20)
    d.path.setText(str(tmp_path / "capped.gif"))
    frames_grow(qtbot, w, 1)
    ext.last_file = None
    action = w.actions_by_name["record"]
    action.trigger()
    qtbot.waitUntil(lambda: ext.last_file is not None, timeout=30000)  # it stops by itself at the limit
    assert not action.isChecked() and ext.recorder is None
    assert files_in(tmp_path) == ["capped.gif"]
    assert "Saved 6 frames" in d.status.text() and "limit of 6 frames" in d.status.text()
    assert any("This GIF stops at 6 frames (3 to go)" in t for t in said)  # warned before the limit
    im = Image.open(tmp_path / "capped.gif")
    assert 2 <= im.n_frames <= 6 and im.size == (640, 360)
    im.close()


def test_record_errors_leave_no_file_and_training_goes_on(window, qtbot, tmp_path, monkeypatch):
    w, ext = window, window.recording
    session = w.session
    ext.start_recording(tmp_path / "missing" / "x.mp4", fmt="mp4")
    assert ext.recorder is None and not w.actions_by_name["record"].isChecked()
    assert "does not exist" in ext.last_error and "does not exist" in w.statusBar().currentMessage()

    def no_ffmpeg():
        raise EncoderMissingError("MP4 needs the imageio-ffmpeg package ... Record a GIF or a PNG sequence instead.")

    monkeypatch.setattr(V, "ffmpeg_exe", no_ffmpeg)
    ext.start_recording(tmp_path / "x.mp4", fmt="mp4")
    assert ext.recorder is None and "GIF" in ext.last_error

    original = V.FrameWriter._write
    calls = {"n": 0}

    def full_disk(self, rgb):
        calls["n"] += 1
        if calls["n"] >= 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        original(self, rgb)

    monkeypatch.setattr(V.FrameWriter, "_write", full_disk)
    ext.last_error = None
    assert ext.start_recording(tmp_path / "y.gif", fmt="gif", size=(160, 100), fps=30) is not None
    qtbot.waitUntil(lambda: ext.last_error is not None, timeout=20000)
    assert "disk is full" in ext.last_error and ext.recorder is None
    assert not w.actions_by_name["record"].isChecked() and not ext.rec_label.isVisible()
    assert files_in(tmp_path) == []  # neither the target nor a temporary
    assert w.session is session
    frames_grow(qtbot, w, 3)  # the run was not touched


def test_export_panel_png_svg_and_metrics_csv(window, qtbot, tmp_path):
    w, ext = window, window.recording
    frames_grow(qtbot, w, 2)
    png = ext.export_panel("losses", tmp_path / "losses.png")
    assert png is not None
    assert Image.open(png).size == (w.losses.width(), w.losses.height())
    svg = ext.export_panel("metrics", tmp_path / "metrics.svg")
    assert svg is not None and ET.parse(svg).getroot().tag.endswith("svg")
    csv = ext.export_csv(tmp_path / "m.csv")
    lines = csv.read_text().splitlines()
    header = lines[0].split(",")
    assert header[:3] == ["segment", "step", "d_loss"] and "w1" in header
    assert len(lines) - 1 >= len(ext.history) > 0
    assert ext.export_panel("losses", tmp_path / "x.jpg") is None and ".png or .svg" in ext.last_error
    assert files_in(tmp_path) == ["losses.png", "m.csv", "metrics.svg"]


def test_session_saved_from_the_window_replays_exactly_when_opened(window, qtbot, tmp_path):
    w, ext = window, window.recording
    w.restart(TrainConfig(**SMALL, objective="lsgan"))
    frames_grow(qtbot, w, 2)
    for cmd in (SetObjective("hinge"), Reset(), SetLearningRates(d_lr=5e-4)):
        w.send(cmd)
        frames_grow(qtbot, w, 2)
    w.send(SetRunning(False))
    qtbot.waitUntil(lambda: not w.last_snapshot.running, timeout=10000)
    w.send(StepD())
    w.send(StepD())
    frames_grow(qtbot, w, 1)
    w.send(SetRunning(True))
    frames_grow(qtbot, w, 2)
    path = ext.save_session(tmp_path / "s.toml")
    assert path is not None, ext.last_error
    session = load_session(path)
    assert session.config.objective == "lsgan"
    names = [type(e.command).__name__ for e in session.commands]
    assert names[:3] == ["SetObjective", "Reset", "SetLearningRates"] and names.count("StepD") == 2

    assert ext.open_session(path) is not None
    qtbot.waitUntil(lambda: ext.replay.finished, timeout=60000)
    live = w.session.trainer
    assert live.step == session.final_step and not live.running
    expected = replay(session)
    assert (live.step, live.d_updates, live.g_updates, live.config) == (
        expected.step, expected.d_updates, expected.g_updates, expected.config)
    for u, v in zip(live.D.state_dict().values(), expected.D.state_dict().values(), strict=True):
        assert torch.equal(u, v)
    for u, v in zip(live.G.state_dict().values(), expected.G.state_dict().values(), strict=True):
        assert torch.equal(u, v)
    assert "Session replayed" in w.statusBar().currentMessage()
    w.send(SetRunning(True))


def test_checkpoint_save_load_and_bad_files_in_the_window(window, qtbot, tmp_path):
    w, ext = window, window.recording
    w.restart(TrainConfig(**SMALL))
    frames_grow(qtbot, w, 2)
    assert ext.save_checkpoint(tmp_path / "c.pt") is not None
    saved_step = torch.load(tmp_path / "c.pt", weights_only=True)["step"]
    w.send(SetObjective("wgan"))
    qtbot.waitUntil(lambda: w.last_snapshot.objective == "wgan", timeout=10000)
    assert ext.load_checkpoint(tmp_path / "c.pt")
    qtbot.waitUntil(lambda: w.last_snapshot.objective == "ns", timeout=10000)
    assert saved_step <= w.last_snapshot.step  # continues from the checkpoint, not from scratch

    (tmp_path / "junk.pt").write_bytes(b"junk")
    (tmp_path / "junk.toml").write_text("format = 'ganviz-session'\n[config\n")
    session = w.session
    assert not ext.load_checkpoint(tmp_path / "junk.pt") and "not a ganviz checkpoint" in ext.last_error
    assert ext.open_session(tmp_path / "junk.toml") is None and "not valid TOML" in ext.last_error
    assert ext.save_session(tmp_path / "nope" / "s.toml") is None and "does not exist" in ext.last_error
    assert w.session is session
    frames_grow(qtbot, w, 2)


def test_record_cli_writes_a_valid_mp4(tmp_path, capsys):
    import imageio.v2 as iio

    out = tmp_path / "rec.mp4"
    code = cli_main(["record", *CLI_SMALL, "--steps", "30", "--every", "10", "--size", "320x180", "--quiet",
                     "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    reader = iio.get_reader(out, format="FFMPEG")
    try:
        assert reader.count_frames() == 4 and reader.get_meta_data()["size"] == (320, 180)
        last = reader.get_data(3)
    finally:
        reader.close()
    assert np.unique(last[:150].reshape(-1, 3) // 16, axis=0).shape[0] > 10
    assert files_in(tmp_path) == ["rec.mp4"]
    assert cli_main(["record", "--steps", "-1", "-o", str(tmp_path / "x.mp4")]) == 2
    assert cli_main(["record", "--size", "wide", "-o", str(tmp_path / "x.mp4")]) == 2
    assert cli_main(["record", "-o", str(tmp_path / "x.avi")]) == 2
    assert cli_main(["record", "--set", "d_lr=-1", "-o", str(tmp_path / "x.mp4")]) == 2
    with pytest.raises(SystemExit) as info:
        cli_main(["record", "--view", "sideways", "-o", str(tmp_path / "x.mp4")])
    assert info.value.code == 2
    assert "d_lr=-1.0 is out of range" in capsys.readouterr().err
    assert files_in(tmp_path) == ["rec.mp4"]


def test_replay_cli_renders_a_session(tmp_path, capsys):
    from ganviz.core.trainer import Trainer
    from ganviz.export.session import save_session, session_from_trainer

    cfg = TrainConfig(**SMALL, data="bimodal-1d", z_dim=1)
    t = Trainer(cfg)
    t.train(12)
    t.submit(SetObjective("hinge"))
    t.train(8)
    save_session(session_from_trainer(t, cfg), tmp_path / "s.toml")
    out = tmp_path / "data.gif"
    code = cli_main(["replay", str(tmp_path / "s.toml"), "--view", "data", "--every", "5", "--size", "240x160",
                     "--quiet", "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    im = Image.open(out)
    assert im.size == (240, 160) and im.n_frames == 1 + math.ceil(20 / 5)
    im.close()
    assert Replayer(load_session(tmp_path / "s.toml")).steps_left() == 20
    assert cli_main(["replay", str(tmp_path / "missing.toml")]) == 2
