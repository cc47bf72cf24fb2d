"""The window host (ganviz.qt.host): one registration adds a dock whose widget is built when first needed, fed
at its rate with nothing lost before it was built; actions and the run signals (issue 14.4, issue 20)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from ganviz.core.config import TrainConfig
from ganviz.core.snapshot import History
from ganviz.qt.host import EVERY_FRAME, PanelSpec, WindowHost
from tests.qt.snapshots import make_snapshot


class Recorder(QtWidgets.QLabel):
    """A fed panel that remembers what it was given."""

    made = 0

    def __init__(self) -> None:
        super().__init__("panel")
        Recorder.made += 1
        self.got: list = []
        self.resets = 0

    def update_snapshot(self, snap) -> None:
        self.got.append(snap)

    def reset(self) -> None:
        self.resets += 1
        self.got.clear()


def snap(step: int, metrics_step: int, events=()):
    base = make_snapshot(step=step, events=tuple(events), metrics={"w1": float(step)}, metrics_step=metrics_step)
    history = History(np.array([step], dtype=np.int64), {"d_loss": np.array([float(step)])})
    return dataclasses.replace(base, history=history)


@pytest.fixture
def host(qtbot):
    h = WindowHost()
    h.setCentralWidget(QtWidgets.QLabel("centre"))
    qtbot.addWidget(h)
    Recorder.made = 0
    return h


def test_a_panel_is_built_when_first_shown_and_gets_everything_since_the_run_started(host, qtbot):
    dock = host.add_panel(PanelSpec("rec", "Recorder", Recorder, refresh_rate=2.0, visible=False))
    assert host.docks["rec"] is dock and dock.objectName() == "dock_rec" and Recorder.made == 0
    assert dock.toggleViewAction() in host.menu("View").actions()
    with pytest.raises(ValueError, match="already registered"):
        host.add_panel(PanelSpec("rec", "Again", Recorder))
    with pytest.raises(ValueError, match="applies_to"):
        PanelSpec("x", "X", Recorder, applies_to="images")
    for step in range(1, 7):  # metrics at steps 1, 3, 5 (every other snapshot): three metric points
        host.feed_panels(snap(step, metrics_step=step - (step + 1) % 2), image=False)
    assert Recorder.made == 0  # hidden: nothing built, nothing drawn
    host.show()
    dock.show()  # the user opens it: built now, and handed the backlog
    qtbot.waitUntil(lambda: Recorder.made == 1)
    panel = host.panel("rec")
    assert [s.metrics_step for s in panel.got] == [1, 3, 5]
    steps = np.concatenate([s.history.steps for s in panel.got])
    assert steps.tolist() == [1, 2, 3, 4, 5, 6]  # the history of every step, none twice
    assert host.panel("rec") is panel and Recorder.made == 1


def test_refresh_rates_one_slow_panel_per_frame_and_every_frame_panels(host, qtbot):
    host.add_panel(PanelSpec("slow", "Slow", Recorder, refresh_rate=2.0))
    host.add_panel(PanelSpec("fast", "Fast", Recorder, refresh_rate=EVERY_FRAME))
    host.add_panel(PanelSpec("image", "Image", Recorder, refresh_rate=EVERY_FRAME, applies_to="image"))
    for name in ("slow", "fast", "image"):
        host.panel(name)
    host.feed_panels(snap(1, 1), image=False)  # overdue since the start: drawn
    for step in range(2, 6):  # within half a second: the slow panel waits, the every-frame one draws each
        host.feed_panels(snap(step, 1), image=False)
    slow, fast = host.panel("slow"), host.panel("fast")
    assert [s.step for s in fast.got] == [1, 2, 3, 4, 5] and [s.step for s in slow.got] == [1]
    host.feed_panels(snap(6, 1, events=("x",)), image=False)  # an event refreshes every panel, merged
    assert [s.step for s in slow.got] == [1, 6] and slow.got[-1].history.steps.tolist() == [2, 3, 4, 5, 6]
    assert host.panel("image").got == []  # toy data: an image-only panel is not fed
    host.reset_panels()
    assert slow.resets == fast.resets == 1 and slow.got == []


def test_docks_follow_the_data_kind(host):
    host.add_panel(PanelSpec("toy", "Toy", Recorder, applies_to="toy"))
    host.add_panel(PanelSpec("img", "Img", Recorder, applies_to="image"))
    host.show()
    host.show_data_kind(False)
    assert host.docks["toy"].isVisible() and not host.docks["img"].isVisible()
    host.show_data_kind(True)
    assert not host.docks["toy"].isVisible() and host.docks["img"].isVisible()
    assert host.hidden_for_images() == [host.docks["toy"]]
    host.show_data_kind(False)
    assert host.docks["toy"].isVisible() and not host.docks["img"].isVisible()


def test_actions_are_registered_in_menus(host):
    hits = []
    action = host.add_action("go", "Go", lambda: hits.append(1), menu="Run", shortcut="Ctrl+Shift+G", tip="go!")
    assert host.actions_by_name["go"] is action and action in host.menu("Run").actions()
    assert action.shortcut().toString() == "Ctrl+Shift+G" and action.toolTip() == "go!"
    action.trigger()
    toggled = []
    check = host.add_action("flag", "Flag", toggled.append, checkable=True)
    check.setChecked(True)
    assert hits == [1] and toggled == [True]


def test_the_window_tells_features_about_new_runs_and_closing(qtbot, tmp_path):
    from ganviz.qt.main_window import FEATURES, MainWindow

    settings = QtCore.QSettings(str(tmp_path / "h.ini"), QtCore.QSettings.Format.IniFormat)
    w = MainWindow(TrainConfig(d_width=16, g_width=16, batch_size=32), settings=settings, autostart=False,
                   backend="thread")
    qtbot.addWidget(w)
    assert not w.feature_errors and set(w.features) == {name for name, _ in FEATURES}
    assert w.recording is w.features["recording"]
    assert not w.docks["modes"].is_built()  # tabbed behind, never shown: not built at start-up
    started, closed = [], []
    w.run_started.connect(started.append)
    w.closing.connect(lambda: closed.append(w.session.closing))
    w.restart(TrainConfig(d_width=16, g_width=16, batch_size=32, objective="hinge"), autostart=False,
              title="a lesson")
    assert started == [w.session] and w.session.start_config.objective == "hinge"
    assert w.windowTitle() == "ganviz — a lesson"
    w.shutdown()
    assert closed == [True]  # the session knows it is closing before the features are told
