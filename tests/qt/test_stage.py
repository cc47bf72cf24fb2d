"""Issue 15, a lecture on stage: what the hall sees is what trains, readable and steady. The window runs on the
app's default PROCESS backend here (the one users get)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6 import QtWidgets

from ganviz.core.commands import SetObjective
from ganviz.core.config import TrainConfig
from ganviz.core.runstate import RunState
from ganviz.core.scenes import scene_from_dict
from ganviz.qt.app import make_app
from tests.qt.windows import window_factory

SMALL = {"d_width": 16, "g_width": 16, "batch_size": 32, "n_view": 256, "grid_size": 24, "mode_samples": 400,
         "w1_samples": 128, "kde_samples": 512}


@pytest.fixture(autouse=True, scope="module")
def _app():
    torch.set_num_threads(1)
    make_app()


@pytest.fixture
def make_window(qtbot, tmp_path):
    factory = window_factory(qtbot, tmp_path, "stage", base=SMALL, size=(1200, 800))
    yield factory
    for w in factory.made:
        w.shutdown()


def wait_step(qtbot, w, step: int, timeout: int = 30000) -> None:
    qtbot.waitUntil(lambda: w.last_snapshot is not None and w.last_snapshot.step >= step, timeout=timeout)


def combo_value(w, key: str):
    combo = w.controls.widgets[key]
    assert isinstance(combo, QtWidgets.QComboBox)
    return combo.currentData()


# ----------------------------------------------------------------------------- 1: controls show what trains

def test_run_state_takes_the_config_and_speed_from_snapshots_only():
    class Snap:
        def __init__(self, step, config, speed_limit=-1.0, events=(), running=True):
            self.step, self.config, self.speed_limit, self.events, self.running = (
                step, config, speed_limit, events, running)

    start = TrainConfig()
    state = RunState(start)
    assert state.update(Snap(3, start)) == {"step"}
    switched = start.replace(objective="wgan-gp")
    assert state.update(Snap(4, switched, speed_limit=100.0)) == {"step", "config", "speed"}
    assert state.config.objective == "wgan-gp" and state.speed == 100.0
    assert state.update(Snap(5, None, speed_limit=0.0)) == {"step", "speed"}  # config unknown: kept
    assert state.config.objective == "wgan-gp" and state.speed is None


def test_scripted_switch_and_speed_hint_show_in_the_controls_on_the_process_backend(make_window, qtbot):
    w = make_window(data="gaussian-1d", z_dim=1)
    assert w.session.backend == "process"
    scene = scene_from_dict({"title": "switches", "config": {**SMALL, "data": "gaussian-1d", "z_dim": 1,
                                                              "objective": "minimax"},
                             "view": {"speed": 25},
                             "actions": [{"step": 10, "set": {"objective": "ns"}, "label": "to NS"},
                                         {"step": 40, "set": {"objective": "wgan-gp", "d_lr": 0.0002},
                                          "label": "to WGAN-GP"}]})
    seen: list = []  # (step, objective trained, objective the dropdown shows, lr shown) after each frame
    w.snapshot_drawn.connect(lambda s: seen.append((s.step, s.objective, combo_value(w, "objective"),
                                                    w.controls.widgets["d_lr"].value(), s.config.d_lr)))
    w.load_scene(scene)
    wait_step(qtbot, w, 44)
    assert {obj for _, obj, *_ in seen} == {"minimax", "ns", "wgan-gp"}
    assert all(trained == shown for _, trained, shown, *_ in seen), seen
    assert all(shown == pytest.approx(applied) for *_, shown, applied in seen), seen
    assert w.controls.widgets["d_lr"].value() == pytest.approx(0.0002)
    # the speed hint was sent before the child existed: it reached the engine, and the toolbar says so
    assert w.last_snapshot.speed_limit == 25.0 and w.run_state.speed == 25.0
    assert w.speed.currentData() == 25.0


def test_the_chosen_speed_carries_into_a_new_run_on_the_process_backend(make_window, qtbot):
    """The toolbar's speed is what the engine applies: a new run (restart, a sweep's run) is held to it from its
    first step, not shown as 10 steps/s while it trains at full speed."""
    w = make_window(data="gaussian-1d", z_dim=1)
    w.speed.setCurrentIndex(w.speed.findData(10.0))
    qtbot.waitUntil(lambda: w.run_state.speed == 10.0, timeout=20000)
    w.restart(TrainConfig(**{**SMALL, "data": "gaussian-1d", "z_dim": 1, "objective": "hinge"}))
    qtbot.waitUntil(lambda: w.last_snapshot is not None and w.last_snapshot.objective == "hinge", timeout=30000)
    assert w.last_snapshot.speed_limit == 10.0 and w.run_state.speed == 10.0 and w.speed.currentData() == 10.0
    # an upper bound that a loaded machine cannot break (it only slows training), timed by the child's own clock
    # (snapshot wall_time: a frame drawn late is not a step count gone up): at most 10 steps per second, plus the
    # loop's 0.5 s catch-up allowance
    first = w.last_snapshot
    qtbot.waitUntil(lambda: w.last_snapshot.wall_time - first.wall_time >= 1.5, timeout=30000)
    last = w.last_snapshot
    gained, seconds = last.step - first.step, last.wall_time - first.wall_time
    assert gained <= 10 * seconds + 6, (gained, seconds)  # not hundreds of steps per second


def test_the_loss_dropdown_shows_what_trains_after_the_shipped_scene_switch(make_window, qtbot):
    """Issue 14's bug: after `saturating-vs-ns` switched to the non-saturating loss at step 600, the Loss
    dropdown still said "Minimax (saturating)" (process backend, as users run it)."""
    import dataclasses

    from ganviz.core.scenes import load_scene

    shipped = load_scene("saturating-vs-ns")
    assert [(a.step, a.commands) for a in shipped.actions] == [(600, (SetObjective("ns"),))]
    scene = dataclasses.replace(shipped, config=shipped.config.replace(**SMALL))  # its script, small networks
    w = make_window(data="gaussian-1d", z_dim=1, objective="hinge")
    seen: list = []  # (step, objective trained, objective the dropdown shows) after each frame
    w.snapshot_drawn.connect(lambda s: seen.append((s.step, s.objective, combo_value(w, "objective"))))
    assert w.load_scene(scene)
    assert combo_value(w, "objective") == "minimax"  # the scene's start, before its first frame
    assert w.windowTitle() == f"ganviz — {shipped.title}" and w.run_state.scene == shipped.title
    wait_step(qtbot, w, 610, timeout=90000)
    assert all(trained == shown for _, trained, shown in seen), [s for s in seen if s[1] != s[2]]
    assert {obj for _, obj, _ in seen} == {"minimax", "ns"}
    assert max(step for step, obj, _ in seen if obj == "minimax") < 601 <= min(
        step for step, obj, _ in seen if obj == "ns")
    assert w.run_state.config.objective == "ns" and combo_value(w, "objective") == "ns"
    assert [e.step for e in w.run_state.events if e.kind == "objective"] == [600]


def test_the_loss_dropdown_shows_what_a_loaded_session_and_checkpoint_train(make_window, qtbot, tmp_path):
    """A replayed session's live change and a loaded checkpoint's objective show in the controls and the title
    (process backend): the window renders what the engine applied, not what it last asked for."""
    from ganviz.core.checkpoint import save_checkpoint
    from ganviz.core.commands import SetRunning
    from ganviz.core.trainer import Trainer
    from ganviz.export.session import LoggedCommand, Session, save_session

    start = TrainConfig(**{**SMALL, "data": "gaussian-1d", "z_dim": 1, "objective": "minimax"})
    path = save_session(Session(start, (LoggedCommand(30, SetObjective("hinge")),), final_step=50),
                        tmp_path / "lecture.toml")
    w = make_window(data="ring8", objective="wgan-gp")
    assert w.session.backend == "process"
    wait_step(qtbot, w, 2)
    seen: list = []
    w.snapshot_drawn.connect(lambda s: seen.append((s.step, s.objective, combo_value(w, "objective"))))
    assert w.recording.open_session(path) is not None
    assert w.windowTitle() == "ganviz — session lecture.toml"
    qtbot.waitUntil(lambda: w.recording.replay.finished, timeout=60000)
    assert all(trained == shown for _, trained, shown in seen), [s for s in seen if s[1] != s[2]]
    assert {obj for _, obj, _ in seen} == {"minimax", "hinge"}
    assert combo_value(w, "objective") == "hinge" and w.run_state.config.objective == "hinge"
    assert w.last_snapshot.step == 50 and not w.last_snapshot.running

    trainer = Trainer(start.replace(objective="lsgan", d_lr=0.0003))  # a checkpoint of another run
    for _ in range(3):
        trainer.iteration()
    save_checkpoint(trainer, tmp_path / "other.pt")
    assert w.recording.load_checkpoint(tmp_path / "other.pt")
    w.send(SetRunning(True))
    qtbot.waitUntil(lambda: w.run_state.config.objective == "lsgan", timeout=20000)
    qtbot.waitUntil(lambda: combo_value(w, "objective") == "lsgan", timeout=5000)
    assert w.controls.widgets["d_lr"].value() == pytest.approx(0.0003)


def test_a_session_saved_after_loading_a_checkpoint_replays_from_that_checkpoint(make_window, qtbot, tmp_path):
    """The session records the checkpoint it started from; opening it in another window (process backend) loads
    it, replays the change made after it and pauses at the saved step, with the controls showing what trains."""
    from ganviz.core.checkpoint import save_checkpoint
    from ganviz.core.commands import SetRunning
    from ganviz.core.trainer import Trainer
    from ganviz.export.session import load_session

    base = {**SMALL, "data": "gaussian-1d", "z_dim": 1}
    trainer = Trainer(TrainConfig(**base, objective="lsgan"))
    for _ in range(7):
        trainer.iteration()
    save_checkpoint(trainer, tmp_path / "start.pt")
    w = make_window(**base)
    wait_step(qtbot, w, 2)
    assert w.recording.load_checkpoint(tmp_path / "start.pt")
    qtbot.waitUntil(lambda: w.run_state.config.objective == "lsgan", timeout=20000)
    w.send(SetObjective("hinge"))
    qtbot.waitUntil(lambda: w.run_state.config.objective == "hinge", timeout=20000)
    w.send(SetRunning(False))
    qtbot.waitUntil(lambda: not w.last_snapshot.running, timeout=20000)
    saved = w.recording.save_session(tmp_path / "after.toml")
    session = load_session(saved)
    assert session.checkpoint and session.config.objective == "lsgan" and session.final_step == w.last_snapshot.step
    assert [c.command for c in session.commands][0] == SetObjective("hinge")  # (then the pause)
    w2 = make_window(data="ring8")
    assert w2.recording.open_session(saved) is not None
    qtbot.waitUntil(lambda: w2.recording.replay.finished, timeout=60000)
    assert w2.last_snapshot.step == session.final_step and not w2.last_snapshot.running
    assert w2.last_snapshot.objective == "hinge" and combo_value(w2, "objective") == "hinge"
    assert w2.last_snapshot.step > 7  # continued from the checkpoint's step, not from scratch


# ----------------------------------------------------------------------------- 2, 3: robust ranges, scene change

def _history(first: int, n: int, level: float, noise: float, spike: float | None = None, seed: int = 0):
    import numpy as np

    from ganviz.core.snapshot import History

    rng = np.random.default_rng(seed)
    steps = np.arange(first, first + n, dtype=np.int64)
    values = {k: level + noise * rng.standard_normal(n) for k in ("d_loss", "g_loss", "d_real_term",
                                                                   "d_fake_term")}
    values["d_penalty"] = np.zeros(n)
    values["g_grad_norm"] = np.abs(1.0 + 0.2 * rng.standard_normal(n))
    values["d_grad_norm"] = np.abs(0.5 + 0.1 * rng.standard_normal(n))
    if spike is not None:
        for k in ("d_loss", "d_penalty"):
            values[k][0] = spike
        values["d_grad_norm"][0] = spike * 100
    return History(steps, values)


def _snap(step: int, objective: str, history, metrics=None, events=()):
    import dataclasses

    from tests.qt.snapshots import make_snapshot

    base = make_snapshot(step=step, objective=objective, events=tuple(events),
                         metrics=metrics, metrics_step=step if metrics else None)
    return dataclasses.replace(base, history=history)


def test_losses_and_metrics_keep_a_readable_range_after_a_one_step_spike(qtbot):
    from ganviz.core.snapshot import Event
    from ganviz.qt.panels.losses import LossPanel
    from ganviz.qt.panels.metrics import MetricsPanel

    losses, metrics = LossPanel(), MetricsPanel()
    for p in (losses, metrics):
        qtbot.addWidget(p)
        p.resize(600, 400)
        p.show()
    step = 0
    for i in range(30):  # NS: losses near 1.3
        h = _history(step, 20, 1.3, 0.05, seed=i)
        step += 20
        m = {"w1": 0.5, "critic_gap": 0.1, "jsd_est": 0.2, "jsd_true": 0.2}
        for p in (losses, metrics):
            p.update_snapshot(_snap(step, "ns", h, metrics=m))
    switch = step
    ev = Event(switch, "objective", "objective: ns -> wgan-gp")
    for i in range(30):  # WGAN-GP: a 500 spike at the first step, then values near 0
        h = _history(step, 20, 0.0, 0.2, spike=500.0 if i == 0 else None, seed=100 + i)
        step += 20
        gap = 40000.0 if i == 0 else 0.3 + 0.05 * (i % 3)  # the JS-vs-W scene's critic gap spike
        m = {"w1": 0.4, "critic_gap": gap, "jsd_est": 0.2, "jsd_true": 0.2}
        for p in (losses, metrics):
            p.update_snapshot(_snap(step, "wgan-gp", h, metrics=m, events=(ev,) if i == 0 else ()))
    lo, hi = losses.plot.getViewBox().viewRange()[1]
    assert hi < 5.0 and lo > -5.0, (lo, hi)  # the WGAN-GP values (|x| < 1) fill the plot, not 1/500 of it
    assert hi - lo > 0.5  # and they are not flattened to a line either
    assert losses.y_range.clipped >= 1
    assert "500" in losses.y_range.note.toPlainText() and f"step {switch}" in losses.y_range.note.toPlainText()
    glo, ghi = metrics.plots["gap"].getViewBox().viewRange()[1]
    assert ghi < 10.0, (glo, ghi)
    assert "4e+04" in metrics._ranges["gap"].note.toPlainText()
    dlo, dhi = metrics.plots["grad"].getViewBox().viewRange()[1]  # log10 units
    assert dhi < 2.0, (dlo, dhi)  # the 5e4 gradient-norm spike is clipped too
    jlo, jhi = metrics.plots["jsd"].getViewBox().viewRange()[1]
    assert jlo <= 0.0 and jhi >= 0.693  # the JSD plot keeps its bounds 0 .. log 2 in view


def test_losses_panel_is_not_blank_after_a_scene_change(make_window, qtbot):
    w = make_window(data="gaussian-1d", z_dim=1)
    wait_step(qtbot, w, 200)
    first = w.last_snapshot.step
    scene = scene_from_dict({"title": "next", "config": {**SMALL, "data": "gaussian-1d", "z_dim": 1,
                                                          "objective": "hinge"}, "view": {"speed": 25}})
    w.load_scene(scene)
    qtbot.waitUntil(lambda: w.last_snapshot is not None and 20 <= w.last_snapshot.step < first
                    and len(w.losses.series("d_loss")) > 5, timeout=20000)
    w.losses.update_snapshot(w.last_snapshot)  # draw now, not at the panel's next 10 Hz slot
    qtbot.wait(50)
    (x0, x1), (y0, y1) = w.losses.plot.getViewBox().viewRange()
    xs, ys = w.losses.series("d_loss").x, w.losses.series("d_loss").y
    assert x0 <= xs[-1] <= x1 and x1 < first, ((x0, x1), xs[-1], first)  # not the previous scene's x-range
    assert y0 <= ys[-1] <= y1


# ----------------------------------------------------------------------------- 9: scenes belong to their data

def test_a_new_dataset_during_a_scene_cancels_its_script(make_window, qtbot):
    w = make_window(data="gaussian-1d", z_dim=1)
    scene = scene_from_dict({"title": "ring lesson", "config": {**SMALL, "data": "ring8", "objective": "ns"},
                             "view": {"speed": 100},
                             "actions": [{"step": 120, "set": {"objective": "wgan-gp"}, "label": "to WGAN-GP"}]})
    w.classroom.load(scene)
    wait_step(qtbot, w, 2)
    assert w.last_snapshot.step < 100
    combo = w.controls.widgets["data"]
    combo.setCurrentIndex(combo.findData("moons"))  # the user picks other data mid-scene
    qtbot.waitUntil(lambda: w.run_state.config.data == "moons", timeout=10000)
    wait_step(qtbot, w, 140)
    assert w.run_state.config.objective == "ns"  # the ring scene's switch did not fire on moons
    assert not [e for e in w.run_state.events if e.kind == "objective"]
    assert getattr(w, "current_scene", None) is None
    qtbot.waitUntil(lambda: "ended" in w.classroom.info.text(), timeout=5000)


def test_a_launch_that_names_settings_does_not_resume_the_last_scene(make_window, qtbot):
    w = make_window(d_width=128, g_width=128, batch_size=256, n_view=1024, grid_size=64, mode_samples=2500,
                    w1_samples=256, kde_samples=4096)
    w.settings.setValue("classroom/last_scene", w.classroom.scenes[1].name)
    w.settings.setValue("classroom/resume_last_scene", True)
    w.settings.sync()
    w.shutdown()
    path = w.settings.fileName()
    from PySide6 import QtCore

    from ganviz.qt.main_window import MainWindow

    for named in (True, False):
        settings = QtCore.QSettings(path, QtCore.QSettings.Format.IniFormat)
        w2 = MainWindow(TrainConfig(), settings=settings)  # `ganviz --data ring8` gives the default config
        w2.launched_with_settings = named
        qtbot.addWidget(w2)
        make_window.made.append(w2)
        qtbot.wait(300)
        resumed = getattr(w2, "current_scene", None) is not None
        assert resumed is (not named)
        w2.shutdown()


# ----------------------------------------------------------------------------- 11: change markers

def test_change_markers_never_overlap_or_clip_and_pause_is_not_a_marker(qtbot):
    from ganviz.core.snapshot import Event
    from ganviz.qt.panels.losses import LossPanel
    from ganviz.qt.panels.metrics import MetricsPanel

    losses, metrics = LossPanel(), MetricsPanel(columns=2)
    for p, size in ((losses, (700, 360)), (metrics, (700, 900))):
        qtbot.addWidget(p)
        p.resize(*size)
        p.show()
        qtbot.waitExposed(p)
    events = [Event(s, "objective", f"objective: ns -> wgan-gp #{s}") for s in (100, 104, 108, 300, 590, 598)]
    events += [Event(200, "run", "pause"), Event(201, "run", "play")]
    for i in range(30):
        snap = _snap(20 * i + 20, "ns", _history(20 * i, 20, 1.0, 0.05, seed=i), metrics={"w1": 0.5 + 0.01 * i},
                     events=[e for e in events if 20 * i <= e.step < 20 * i + 20])
        for p in (losses, metrics):
            p.update_snapshot(snap)
    qtbot.wait(150)  # the coalesced relayout
    all_markers = [losses.markers] + [metrics.markers(n) for n in ("jsd", "w1", "gap")]
    for markers in all_markers:
        markers.relayout()
        assert len(markers) == 6  # pause / play made no line
        assert markers.label_at(200) is None
        vb = markers._plot.getViewBox()
        area = vb.sceneBoundingRect().adjusted(-1, -1, 1, 1)
        shown = [lab.sceneBoundingRect() for lab in markers.visible_labels()]
        assert shown, ("no label visible at all", all_markers.index(markers), area)
        assert 598 in {int(round(lab.line.value())) for lab in markers.visible_labels()}  # the newest is shown
        for i, r in enumerate(shown):
            assert area.contains(r), (r, area)  # not cut at the plot's edge
            assert not any(r.intersects(o) for o in shown[i + 1:])  # no "objectiveobject"


# ----------------------------------------------------------------------------- 13, 15: screen fit, steady layout

def _plain_window(qtbot, tmp_path, name: str, **cfg):
    from PySide6 import QtCore

    from ganviz.qt.main_window import MainWindow

    settings = QtCore.QSettings(str(tmp_path / name), QtCore.QSettings.Format.IniFormat)
    w = MainWindow(TrainConfig(**{**SMALL, **cfg}), settings=settings, autostart=False)
    qtbot.addWidget(w)
    return w


@pytest.mark.parametrize("screen", [(1366, 768), (1920, 1080)])
def test_the_window_fits_the_screen_it_opens_on_and_the_data_view_is_the_key_plot(qtbot, tmp_path, monkeypatch,
                                                                                   screen):
    from PySide6 import QtCore

    from ganviz.qt import layout

    avail = QtCore.QRect(0, 0, screen[0], screen[1] - 40)  # a panel at the screen's edge
    monkeypatch.setattr(layout, "available", lambda window: avail)
    w = _plain_window(qtbot, tmp_path, "fit.ini")
    w.show()
    qtbot.waitExposed(w)
    qtbot.wait(50)
    assert w.width() + layout.FRAME[0] <= avail.width() and w.height() + layout.FRAME[1] <= avail.height()
    assert w.minimumSizeHint().width() <= avail.width() and w.minimumSizeHint().height() <= avail.height()
    centre = w.centralWidget()
    assert centre.width() * centre.height() >= 0.3 * w.width() * w.height()  # not a quarter any more
    assert 0.75 <= centre.width() / centre.height() <= 1.35  # about square: the 1:1 2D view fills it
    assert layout.layout_problem(w) is None
    assert w.docks["losses"].isVisible() and not w.docks["coverage"].isVisible()  # toy data: no class coverage
    w.shutdown()


def test_layout_does_not_drift_over_switches_and_presentation_and_saved_layouts_are_checked(make_window, qtbot,
                                                                                            tmp_path, monkeypatch):
    from PySide6 import QtCore

    from ganviz.qt import layout

    w = make_window()
    size = w.size()
    widths = {n: w.docks[n].width() for n in ("controls", "losses")}
    wait_step(qtbot, w, 5)
    combo = w.controls.widgets["objective"]
    for obj in ("wgan-gp", "hinge", "wgan-gp", "ns"):
        combo.setCurrentIndex(combo.findData(obj))
        qtbot.waitUntil(lambda o=obj: w.run_state.config.objective == o, timeout=10000)
        qtbot.wait(300)
    w.classroom.toggle_presentation(True)
    qtbot.wait(200)
    w.classroom.toggle_presentation(False)
    qtbot.wait(300)
    # (the offscreen screen is 800 px: restoring a 1200 px window may move its frame by a few pixels)
    assert abs(w.width() - size.width()) <= 8 and w.height() <= size.height(), (w.size(), size)
    for name, width in widths.items():
        assert abs(w.docks[name].width() - width) <= 8, (name, width, w.docks[name].width())
    # a drifted layout on disk (a window larger than the screen) is not restored as it is
    w.settings.setValue("geometry", w.saveGeometry())
    w.save_layout()
    big = QtCore.QSettings(str(tmp_path / "drifted.ini"), QtCore.QSettings.Format.IniFormat)
    w.resize(layout.available(w).width() + 500, layout.available(w).height() + 400)
    big.setValue("geometry", w.saveGeometry())
    big.setValue("state", w.saveState(2))
    big.sync()
    avail = QtCore.QRect(0, 0, 1366, 728)  # the laptop of the issue (the offscreen screen is 800 x 800)
    monkeypatch.setattr(layout, "available", lambda window: avail)
    w2 = _plain_window(qtbot, tmp_path, "drifted.ini")
    w2.show()
    qtbot.waitExposed(w2)
    qtbot.wait(100)
    assert w2.width() <= avail.width() and w2.height() <= avail.height()
    # Reset layout: the default for this screen, with no dock raised that does not apply to toy data
    w2.docks["coverage"].show()
    w2._reset_layout()
    qtbot.wait(50)
    assert not w2.docks["coverage"].isVisible()
    assert w2.docks["losses"].isVisible() and w2.docks["losses"].visibleRegion().isEmpty() is False
    assert layout.layout_problem(w2) is None
    w2.shutdown()


# ----------------------------------------------------------------------------- 12: tick labels

def test_tick_labels_never_run_together_on_a_narrow_plot(qtbot):
    import pyqtgraph as pg
    from PySide6 import QtGui

    from ganviz.qt import style

    glw = pg.GraphicsLayoutWidget()
    qtbot.addWidget(glw)
    plot = glw.addPlot()
    style.style_plot(plot, bottom="step", left="loss")
    plot.plot([0, 7000], [0, 1])
    glw.show()
    axis = plot.getAxis("bottom")
    fm = QtGui.QFontMetrics(axis.style.get("tickFont") or axis.font())

    def crowded(levels, lo, hi, size) -> bool:  # a labelled level whose labels are wider than their spacing
        return any(step * size / (hi - lo) < max(fm.horizontalAdvance(t) for t in axis.tickStrings(
            list(np.arange(np.ceil(lo / step) * step, hi, step)) or [lo], 1.0, step)) + 4 for step, _ in levels)

    plain_crowded = False
    for width in (140, 200, 260, 400):  # small multiples in narrow docks
        glw.resize(width, 150)
        qtbot.wait(30)
        lo, hi = axis.range
        size = axis.geometry().width()
        assert not crowded(axis.tickSpacing(lo, hi, size), lo, hi, size), width  # not "0 20004000 6000"
        plain_crowded |= crowded(type(axis).tickSpacing(axis, lo, hi, size), lo, hi, size)
    assert plain_crowded  # pyqtgraph's own spacing does crowd at some of these widths


# ----------------------------------------------------------------------------- 14: presentation toolbar

def test_presentation_toolbar_switches_the_objective_live_and_shows_what_trains(make_window, qtbot):
    w = make_window(data="gaussian-1d", z_dim=1)
    bar = w.classroom.presentation_bar
    assert bar.isHidden()
    wait_step(qtbot, w, 3)
    w.classroom.toggle_presentation(True)
    qtbot.wait(50)
    assert bar.isVisible() and not w.docks["controls"].isVisible()
    assert bar.objective.currentData() == "ns"
    texts = {a.text() for a in bar.actions()}
    assert {"Step D", "Step G", "Step", "Reset"} <= texts and w.play_action in bar.actions()
    bar.objective.setCurrentIndex(bar.objective.findData("wgan-gp"))  # the lecturer switches on stage
    qtbot.waitUntil(lambda: w.run_state.config.objective == "wgan-gp", timeout=10000)
    assert w.controls.widgets["objective"].currentData() == "wgan-gp"
    bar.speed.setCurrentIndex(bar.speed.findData(100.0))
    qtbot.waitUntil(lambda: w.run_state.speed == 100.0, timeout=10000)
    w.send(SetObjective("hinge"))  # as a scripted switch would
    qtbot.waitUntil(lambda: bar.objective.currentData() == "hinge", timeout=10000)
    w.classroom.toggle_presentation(False)
    qtbot.wait(50)
    assert bar.isHidden() and w.toolbar.isVisible()


# ----------------------------------------------------------------------------- 16: a clean quit

def test_quitting_after_compare_and_ensemble_windows_raises_nothing(qtbot, tmp_path, capfd):
    import shiboken6
    from PySide6 import QtCore, QtWidgets

    from ganviz.qt.extensions.compare import open_comparison
    from ganviz.qt.extensions.ensemble import open_ensemble
    from ganviz.qt.main_window import MainWindow

    settings = QtCore.QSettings(str(tmp_path / "quit.ini"), QtCore.QSettings.Format.IniFormat)
    w = MainWindow(TrainConfig(**SMALL), settings=settings, autostart=False, backend="thread")
    w.show()
    cw = open_comparison(w, ["ns", "wgan-gp"])
    ew = open_ensemble(w, 2)
    assert cw is not None and ew is not None
    qtbot.wait(300)
    ew.close()  # the user closes one, then quits
    w.close()
    assert not cw.isVisible()
    for other in (cw, ew):
        other.deleteLater()
    QtWidgets.QApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
    shiboken6.delete(w)  # what the end of the program does
    qtbot.wait(50)
    err = capfd.readouterr().err
    assert "already deleted" not in err and "Traceback" not in err, err


# ----------------------------------------------------------------------------- 4: compare panes

def test_compare_panes_start_from_their_papers_defaults_and_keep_the_fakes_in_view(qtbot):
    import dataclasses

    from ganviz.qt.compare_window import CompareWindow
    from tests.qt.snapshots import make_snapshot

    w = CompareWindow(TrainConfig(**SMALL), ["ns", "wgan-gp"], interval=0.02)  # the default: process backend
    qtbot.addWidget(w)
    w.show()
    try:
        qtbot.waitUntil(lambda: w.last_snapshot is not None and w.last_snapshot.step >= 2, timeout=30000)
        ns, gp = (s.config for s in w.last_snapshot.runs)
        assert (ns.d_optimizer, ns.d_lr, ns.d_steps) == ("adam", TrainConfig().d_lr, 1)  # NS: the base set-up
        assert (gp.d_lr, gp.g_lr, gp.beta1, gp.beta2, gp.gp_lambda, gp.d_steps) == (1e-4, 1e-4, 0.0, 0.9, 10.0, 5)
        assert w.panes[1].widgets["d_lr"].value() == pytest.approx(1e-4)
        assert w.panes[1].widgets["d_steps"].value() == 5
        assert not w.panes[0].paper_button.isEnabled() and w.panes[1].paper_button.isEnabled()
        w.panes[1].widgets["d_steps"].setValue(2)
        qtbot.waitUntil(lambda: w.last_snapshot.runs[1].config.d_steps == 2, timeout=10000)
        w.panes[1].paper_button.click()
        qtbot.waitUntil(lambda: w.last_snapshot.runs[1].config.d_steps == 5, timeout=10000)
        assert w.panes[1].widgets["d_steps"].value() == 5
    finally:
        w.shutdown()
    # fakes that leave the data's range stay in view (the pane showed no generator)
    view = w.panes[0].view
    snap = make_snapshot(step=5, dim=2)
    far = snap.fake + np.array([6.0, -4.0])
    view.update_snapshot(dataclasses.replace(snap, fake=far))
    (x0, x1), (y0, y1) = view.plot.getViewBox().viewRange()
    inside = (far[:, 0] >= x0) & (far[:, 0] <= x1) & (far[:, 1] >= y0) & (far[:, 1] <= y1)
    assert inside.mean() >= 0.95
    view.update_snapshot(snap)  # back within the data: the data's own range again
    (x0, x1), _ = view.plot.getViewBox().viewRange()
    assert x1 - x0 < 12.0


# ----------------------------------------------------------------------------- 5: D* where it means something

def test_d_star_is_drawn_only_on_the_support_and_the_half_line_is_on_top(qtbot):
    import dataclasses

    from ganviz.core.snapshot import Field1D
    from ganviz.qt.panels.data1d import Data1DPanel
    from tests.qt.snapshots import make_snapshot, normal_pdf

    panel = Data1DPanel()
    qtbot.addWidget(panel)
    x = np.linspace(-12.0, 12.0, 801)
    p_data, p_g = normal_pdf(x, 0.0), normal_pdf(x, 0.3)
    with np.errstate(invalid="ignore", divide="ignore"):
        d_star = p_data / (p_data + p_g)  # far out: 0/0-ish noise between 0 and 1
    d_star[np.abs(x) > 8] = np.where(np.arange((np.abs(x) > 8).sum()) % 2, 0.0, 1.0)
    field = Field1D(x=x, d=np.full_like(x, 0.5), p_data=p_data, p_g=p_g, d_star=d_star)
    snap = dataclasses.replace(make_snapshot(step=10, dim=1), field1d=field, bounds=(-12.0, 12.0))
    panel.update_snapshot(snap)
    xs, ys = panel.d_star_curve.getData()
    shown = np.isfinite(ys)
    assert shown.any() and not shown[np.abs(xs) > 3].any()  # nothing where p_data + p_g ~ 0
    assert np.all(np.abs(ys[shown] - 0.5) < 0.2)
    labels = [label.text for _, label in panel.d_legend.items]
    assert any("5% of peak" in t for t in labels)  # the plot says so
    assert panel.equilibrium_line.zValue() > panel.d_curve.zValue()  # D = 1/2 not hidden by a flat D


# ----------------------------------------------------------------------------- 6: no verdict on untrained nets

def test_ensemble_headline_says_too_early_before_its_warm_up(qtbot):
    from ganviz.qt import ensemble_window as EW

    w = EW.EnsembleWindow(TrainConfig(**{**SMALL, "data": "ring8"}), 4, autostart=False, backend="thread")
    qtbot.addWidget(w)
    try:
        metrics = {"w1": np.array([2.5, 2.4, 2.6, 2.5]), "collapsed": np.array([1, 1, 1, 1]),
                   "collapsed_share": 1.0, "modes_covered": np.array([1, 1, 2, 1]), "n_modes": 8.0}
        w._update_headline(metrics, 14)  # the reported case: untrained networks at step 14
        text = w.headline.text()
        assert "too early to tell" in text and "rule" not in text
        assert f"{EW.VERDICT_WARMUP}-step warm-up" in text and "warm-up" in w.subline.text()
        w._update_headline(metrics, EW.VERDICT_WARMUP + 100)
        assert "collapse here is the rule" in w.headline.text()
    finally:
        w.shutdown()


# ----------------------------------------------------------------------------- 17: menus and the dataset list

def test_menus_follow_desktop_order_and_the_dataset_list_is_grouped(qtbot, tmp_path, capsys):
    from PySide6 import QtWidgets

    from ganviz.core import userdata as U

    w = _plain_window(qtbot, tmp_path, "menus.ini")
    try:
        titles = [a.text().replace("&", "") for a in w.menuBar().actions()]
        known = [t for t in titles if t in ("File", "Edit", "Data", "View", "Scenes", "Compare", "Theory", "Help")]
        assert known == [t for t in ("File", "Edit", "Data", "View", "Scenes", "Compare", "Theory", "Help")
                         if t in titles]
        assert titles[0] == "File" and titles[-1] == "Help"
        file_texts = [a.text() for a in w.menu("File").actions()]
        assert any(t.startswith("Record") for t in file_texts) and file_texts[-1] == "Quit"
        help_texts = [a.text() for a in w.menu("Help").actions()]
        assert "About ganviz" in help_texts and "Documentation" in help_texts
        dialog = next(a for a in w.menu("Help").actions() if a.text() == "Documentation")
        dialog.trigger()
        assert "ganviz" in w.documentation.findChild(QtWidgets.QTextBrowser).toPlainText()
        w.documentation.close()
        combo = w.controls.widgets["data"]
        items = [(combo.itemText(i).strip(), combo.itemData(i), combo.model().item(i).isEnabled())
                 for i in range(combo.count())]
        headers = [t for t, d, on in items if d is None]
        assert headers == ["1D data", "2D data", "Images"] and all(not on for _, d, on in items if d is None)
        i1, i2, i3 = (next(i for i, it in enumerate(items) if it[0] == h) for h in headers)
        assert i1 < [d for _, d, _ in items].index("gaussian-1d") < i2 < [d for _, d, _ in items].index("ring8") < i3
        # the user's own data: only the current entry (an earlier import is stale)
        old = U.user_config(TrainConfig(), U.points_rows(np.random.default_rng(0).normal(size=(50, 2))), "old")
        new = U.user_config(TrainConfig(), U.points_rows(np.random.default_rng(1).normal(size=(60, 2))), "new")
        w.classroom.ensure_data_choice(old)
        w.classroom.ensure_data_choice(new)
        data = [combo.itemData(i) for i in range(combo.count())]
        assert new.data in data and old.data not in data
    finally:
        w.shutdown()
        U.unregister_user_datasets()
    from ganviz import cli

    cli.main(["list"])
    out = capsys.readouterr().out
    assert "d-half-1d" in out and "saturating-vs-ns" in out  # `ganviz list` lists the scenes


# ----------------------------------------------------------------------------- 10: samples visible in every theme

@pytest.mark.parametrize("dark", [False, True])
def test_real_and_fake_samples_stay_visible_over_the_heatmap_and_above_the_mode_crosses(qtbot, dark):
    from PySide6 import QtGui

    from ganviz.qt import style
    from ganviz.qt.panels.data2d import Data2DPanel

    style.set_theme(dark)
    try:
        panel = Data2DPanel()
        qtbot.addWidget(panel)
        for scatter in (panel.real_scatter, panel.fake_scatter):
            fill = QtGui.QColor(scatter.opts["brush"].color())
            edge = QtGui.QColor(scatter.opts["pen"].color())
            # fill and outline far apart in lightness: one of them contrasts with any part of the map
            assert abs(fill.lightness() - edge.lightness()) >= 100, (fill.name(), edge.name())
        assert panel.modes_scatter.zValue() < panel.real_scatter.zValue() < panel.fake_scatter.zValue()
        pal = style.palette()
        assert QtGui.QColor(panel.fake_scatter.opts["brush"].color()).name() == QtGui.QColor(pal.fake).name()
    finally:
        style.set_theme(False)


# ----------------------------------------------------------------------------- 7: coverage gated on quality

def test_class_coverage_counts_only_recognisable_samples_and_says_so(qtbot):
    from ganviz.core.images import classifier as C
    from ganviz.qt.panels.coverage import headline
    from ganviz.qt.panels.images import ImageGridPanel

    labels = np.repeat(np.arange(10), 50)  # every class gets a label: blobs labelled at random ...
    blobs = C.coverage_metrics(labels, 10, confidence=np.full(500, 0.3))  # ... with low confidence
    assert blobs["classes_covered"] == 0 and blobs["confident_share"] == 0.0
    digits = C.coverage_metrics(labels, 10, confidence=np.full(500, 0.97))
    assert digits["classes_covered"] == 10 and digits["confident_share"] == 1.0
    mixed_conf = np.where(labels < 4, 0.95, 0.4)  # four classes drawn well, six still blobs
    assert C.coverage_metrics(labels, 10, confidence=mixed_conf)["classes_covered"] == 4
    assert C.coverage_metrics(labels, 10)["classes_covered"] == 10  # without confidences: as before
    text = headline(0.0, 10, 0.08, 180.0, confident=0.12)
    assert text.startswith("samples not yet recognisable (12%") and "classes covered 0 / 10" in text
    assert "recognisable" not in headline(9.0, 10, 0.05, 12.0, confident=0.93)
    panel = ImageGridPanel()
    qtbot.addWidget(panel)
    panel.set_show_classes(True)
    assert not panel.class_key.isHidden() and "confidence" in panel.class_key.text()  # the colours explained
    panel.set_show_classes(False)
    assert panel.class_key.isHidden()


def test_a_decaying_loss_keeps_its_story_in_view(qtbot):
    """The saturating scene: D's loss falls from 1.4 to ~1e-6; zooming onto the 1e-6 tail would hide it."""
    from ganviz.core.snapshot import History
    from ganviz.qt.panels.losses import LossPanel

    panel = LossPanel()
    qtbot.addWidget(panel)
    steps = np.arange(0, 400)
    decay = 1.4 * np.exp(-steps / 12.0) + 1e-6
    keys = ("d_loss", "g_loss", "d_real_term", "d_fake_term", "d_penalty")
    for i in range(0, 400, 20):
        values = {k: (decay[i:i + 20] if k != "g_loss" else -decay[i:i + 20]) for k in keys}
        values["d_penalty"] = np.zeros(20)
        panel.update_snapshot(_snap(i + 20, "minimax", History(steps[i:i + 20], values)))
    lo, hi = panel.plot.getViewBox().viewRange()[1]
    assert hi >= 1.0 and lo <= -1.0, (lo, hi)  # the fall from 1.4 is on the plot


# ----------------------------------------------------------------------------- 8: recording

def test_recording_keeps_real_time_hides_its_chrome_and_writes_where_it_says(make_window, qtbot, tmp_path,
                                                                             monkeypatch):
    import time

    import imageio.v3 as iio
    from PySide6 import QtCore

    from ganviz.qt.extensions import recording as R

    w = make_window()
    ext = w.recording
    d = ext.dock_widget
    d.format.setCurrentIndex(d.format.findData("mp4"))
    d.size.setCurrentIndex(d.size.findText("640x360"))
    d.fps.setValue(30)
    d.path.setText(str(tmp_path / "rec.mp4"))
    wait_step(qtbot, w, 2)
    rec = ext.start_recording(target="window")
    assert rec is not None and ext.rec_label.isVisible()
    frame = R.grab_image(w, rec.hide)  # what a recorded frame shows where the REC counter is
    label = ext.rec_label
    top_left = label.mapTo(w, QtCore.QPoint(0, 0))
    ratio = frame.devicePixelRatio()
    reds = sum(1 for x in range(label.width()) for y in range(label.height())
               if frame.pixelColor(int((top_left.x() + x) * ratio), int((top_left.y() + y) * ratio)).red() > 150
               and frame.pixelColor(int((top_left.x() + x) * ratio), int((top_left.y() + y) * ratio)).green() < 90)
    assert reds == 0  # the red "● REC" is not in the frame
    t0 = time.perf_counter()
    qtbot.wait(2500)
    ext.stop_recording()
    real = time.perf_counter() - t0
    qtbot.waitUntil(lambda: ext.last_file is not None, timeout=30000)
    frames = list(iio.imiter(tmp_path / "rec.mp4"))
    video = len(frames) / 30.0
    assert 0.7 * real <= video <= 1.3 * real + 0.2, (video, real, rec.captured)  # was 2.0 s for 20 s
    assert "real time" in d.status.text()
    # the automatic name goes to the folder the dock names (made when missing)
    monkeypatch.setenv("HOME", str(tmp_path))
    path = R.default_video_path("mp4")
    assert path.parent.is_dir() and str(path.parent).startswith(str(tmp_path))


# ----------------------------------------------------------------------------- 12: colour bar, dark formula text

def test_colour_bar_ticks_leave_room_for_its_title_and_formula_text_follows_the_theme(qtbot, tmp_path):
    import dataclasses

    from ganviz.core.snapshot import Field2D
    from ganviz.qt.panels.data2d import Data2DPanel
    from tests.qt.snapshots import make_snapshot

    panel = Data2DPanel()
    qtbot.addWidget(panel)
    panel.resize(600, 500)
    panel.show()
    qtbot.waitExposed(panel)
    snap = make_snapshot(step=5, dim=2, objective="wgan-gp")
    f = snap.field2d
    values = np.linspace(-1.537, 2.713, f.values.size, dtype=np.float32).reshape(f.values.shape)
    panel.update_snapshot(dataclasses.replace(snap, field2d=Field2D(f.xs, f.ys, values)))
    for _ in range(3):
        panel.grab()  # paint: the axis measures its tick labels while drawing
        qtbot.wait(20)
    axis = panel._colorbar_axis
    assert axis.fixedWidth is None  # not pyqtgraph's fixed 45 px
    label_h = axis.label.boundingRect().height()
    assert axis.width() >= axis.textWidth + 0.8 * label_h, (axis.width(), axis.textWidth, label_h)
    from PySide6 import QtCore, QtGui, QtWidgets

    app = QtWidgets.QApplication.instance()
    palette, font = QtGui.QPalette(app.palette()), QtGui.QFont(app.font())
    w = _plain_window(qtbot, tmp_path, "formula.ini")
    try:
        w.show()
        w.classroom.set_theme("dark", save=False)
        qtbot.wait(50)
        label = w.controls.formula
        image = w.grab().toImage()
        ratio = image.devicePixelRatio()
        origin = label.mapTo(w, QtCore.QPoint(0, 0))
        px = [(int((origin.x() + x) * ratio), int((origin.y() + y) * ratio))
              for x in range(0, label.width(), 2) for y in range(0, label.height(), 2)]
        bg = image.pixelColor(*px[0]).lightness()
        ink = [image.pixelColor(x, y).lightness() for x, y in px]
        assert bg < 100 and sum(1 for v in ink if v - bg > 90) > 20  # light text on the dark theme
    finally:
        w.classroom.set_theme("light", save=False)
        w.shutdown()
        app.setPalette(palette)
        app.setFont(font)


def test_dirac_start_label_is_readable_on_the_trajectory(qtbot):
    from PySide6 import QtGui

    from ganviz.qt import style
    from ganviz.qt.dirac_view import DiracView

    for dark in (False, True):
        style.set_theme(dark)
        try:
            view = DiracView()
            qtbot.addWidget(view)
            label = view.start_handle.label()
            assert label.fill.style() != 0  # a patch behind the text, not blue text on the blue trajectory
            text = QtGui.QColor(label.color)
            assert text.name() == QtGui.QColor(style.palette().foreground).name()
            view.close()
        finally:
            style.set_theme(False)


def test_labels_made_while_presenting_use_the_presentation_palette(qtbot, tmp_path):
    from PySide6 import QtGui, QtWidgets

    from ganviz.qt import style
    from ganviz.qt.extensions import classroom as C

    app = QtWidgets.QApplication.instance()
    palette, font = QtGui.QPalette(app.palette()), QtGui.QFont(app.font())
    w = _plain_window(qtbot, tmp_path, "present.ini")
    try:
        w.show()
        w.classroom.set_theme("dark", save=False)
        w.classroom.toggle_presentation(True)
        assert style.palette() is C.HIGH_CONTRAST  # an axis label set now is black on the white background
        w.classroom.toggle_presentation(False)
        assert style.palette() is style.DARK
    finally:
        w.classroom.set_theme("light", save=False)
        w.shutdown()
        style.set_theme(False)
        app.setPalette(palette)
        app.setFont(font)
