"""The beginner layout (issue 18.4): View → Simple layout / `ganviz --layout simple` shows the data view, the
loss / learning rate / k controls, the losses and one headline metric; the full lab comes back as it was; the
choice persists; the command line's screenshot works offscreen (process backend throughout)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from PySide6 import QtCore, QtGui

from ganviz.cli.parser import parse_args
from ganviz.core.commands import SetDataset
from ganviz.qt.layout_choice import request_layout, take_requested_layout
from ganviz.qt.simple_panel import headline, headline_text
from tests.qt.windows import window_factory

SMALL = dict(d_width=32, g_width=32, d_depth=2, g_depth=2, batch_size=64, n_view=256, grid_size=32,
             mode_samples=500, w1_samples=128, kde_samples=1024)


@pytest.fixture
def windows(qtbot, tmp_path):
    factory = window_factory(qtbot, tmp_path, "simple", SMALL, size=(1350, 720), interval=0.03)
    yield factory
    request_layout(None)
    for w in factory.made:
        w.shutdown()


def shown(w) -> set[str]:
    return {name for name, dock in w.docks.items() if dock.isVisible()}


def test_simple_layout_round_trip_and_live_controls(windows, qtbot):
    w = windows()
    qtbot.waitUntil(lambda: w.last_snapshot is not None, timeout=60000)
    lab = shown(w)
    assert {"controls", "losses"} <= lab and "simple" not in lab
    feature = w.features["simple"]
    w.actions_by_name["layout.simple"].trigger()  # View → Simple layout
    assert feature.simple and w.actions_by_name["layout.simple"].isChecked()
    qtbot.waitUntil(lambda: shown(w) == {"simple", "losses"}, timeout=5000)
    # the data view takes the rest of the window: more than two thirds of its width
    qtbot.waitUntil(lambda: w.centralWidget().width() > 0.66 * w.width(), timeout=3000)
    panel = w.panel("simple")
    assert panel.objective.currentData() == "ns" and panel.k.value() == 1 and panel.lr.currentData() == 1e-3
    # the panel's controls are live: the engine applies them, and the run state (not the panel) says so
    panel.k.setValue(3)
    panel.objective.setCurrentIndex(panel.objective.findData("hinge"))
    panel.lr.setCurrentIndex(panel.lr.findData(2e-4))
    qtbot.waitUntil(lambda: w.run_state.config.d_steps == 3 and w.run_state.config.objective == "hinge"
                    and w.run_state.config.d_lr == 2e-4 == w.run_state.config.g_lr, timeout=30000)
    assert w.controls.widgets["d_steps"].value() == 3  # the full lab's controls show the same run
    # image data would show its own docks (class coverage): the simple layout stays simple
    w.send(SetDataset("digits"))
    qtbot.waitUntil(lambda: w.run_state.config.data == "digits" and w.last_snapshot.dim == 784, timeout=60000)
    qtbot.waitUntil(lambda: shown(w) == {"simple", "losses"}, timeout=5000)
    # the full lab comes back with the docks it had
    w.actions_by_name["layout.simple"].trigger()
    qtbot.waitUntil(lambda: shown(w) == lab, timeout=5000)
    assert not feature.simple and w.settings.value("layout/mode") == "lab"
    # View → Reset layout (the lab's default) also ends the simple layout
    feature.set_simple(True)
    qtbot.waitUntil(lambda: shown(w) == {"simple", "losses"}, timeout=5000)
    next(a for a in w.menu("View").actions() if a.text() == "Reset layout").trigger()
    assert not feature.simple and not w.actions_by_name["layout.simple"].isChecked()
    qtbot.waitUntil(lambda: "controls" in shown(w) and "simple" not in shown(w), timeout=5000)


def test_the_choice_persists_and_the_command_line_asks_for_it(windows, qtbot, tmp_path):
    w = windows()
    w.features["simple"].set_simple(True)
    qtbot.waitUntil(lambda: shown(w) == {"simple", "losses"}, timeout=5000)
    settings_file = w.settings.fileName()
    w.close()  # saves its layout
    settings = QtCore.QSettings(settings_file, QtCore.QSettings.Format.IniFormat)
    assert settings.value("layout/mode") == "simple"
    from ganviz.core.config import TrainConfig
    from ganviz.qt.main_window import MainWindow

    again = MainWindow(TrainConfig(**SMALL), settings=settings, autostart=False)
    qtbot.addWidget(again)
    again.resize(1350, 720)
    again.show()
    windows.made.append(again)
    qtbot.waitUntil(lambda: again.features["simple"].simple and shown(again) == {"simple", "losses"}, timeout=5000)
    # `--layout lab` wins over the remembered layout, and gives the lab's docks back
    request_layout("lab")
    third = MainWindow(TrainConfig(**SMALL), settings=settings, autostart=False)
    qtbot.addWidget(third)
    third.resize(1350, 720)
    third.show()
    windows.made.append(third)
    qtbot.waitUntil(lambda: not third.features["simple"].simple and "controls" in shown(third), timeout=5000)
    assert "simple" not in shown(third) and take_requested_layout() is None  # asked once, used once
    with pytest.raises(ValueError, match="unknown layout"):
        request_layout("tiny")


def test_headline_metric():
    assert headline({"modes_covered": 6.0, "n_modes": 8.0, "w1": 0.3}) == ("modes_covered", "Modes covered", 6.0)
    assert headline_text("modes_covered", 6.0, {"n_modes": 8.0}) == "6 of 8"
    assert headline({"modes_covered": float("nan"), "w1": 0.25})[0] == "w1"
    assert headline_text("w1", 0.25, {}) == "0.25"
    assert headline({}) is None


def test_layout_flag_parses_and_is_window_only(capsys):
    assert parse_args(["--layout", "simple"]).layout == "simple"
    assert parse_args([]).layout is None
    with pytest.raises(SystemExit):
        parse_args(["--layout", "simple", "train"])
    assert "--layout: only for the window" in capsys.readouterr().err


def test_layout_simple_screenshot_offscreen(tmp_path):
    out = tmp_path / "simple.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "ganviz", "--layout", "simple", "--screenshot", str(out), "--after",
                        "1", "--set", "d_width=32", "--set", "g_width=32"], capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "screenshot saved" in r.stdout
    image = QtGui.QImage(str(out))
    assert image.width() >= 640 and image.height() >= 480
    # the window it grabbed was in the simple layout (the screenshot run's own settings say so)
    ini = list(tmp_path.rglob("ganviz-screenshot.ini"))
    assert ini and "mode=simple" in ini[0].read_text()
