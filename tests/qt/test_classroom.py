"""The classroom extension: scenes menu, scripted actions in the window, presentation mode, shortcuts, help
sheet, themes, the formula panel, importing / drawing your own data, saving and opening scene files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtTest import QTest

from ganviz.core import userdata as U
from ganviz.core.config import TrainConfig
from ganviz.core.scenes import list_scenes, load_scene, scene_from_dict
from ganviz.qt import style
from ganviz.qt.app import make_app
from ganviz.qt.extensions import classroom as C
from ganviz.qt.main_window import MainWindow

Qt = QtCore.Qt


@pytest.fixture(autouse=True, scope="module")
def _app():
    torch.set_num_threads(1)
    make_app()


@pytest.fixture
def make_window(qtbot, tmp_path, monkeypatch):
    made: list[MainWindow] = []
    app = QtWidgets.QApplication.instance()
    palette, font = QtGui.QPalette(app.palette()), QtGui.QFont(app.font())
    messages: list[tuple[str, str]] = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning",
                        lambda parent, title, text, *a, **k: messages.append((title, text)))

    def factory(settings_name: str = "s.ini", autostart: bool = False, **cfg) -> MainWindow:
        settings = QtCore.QSettings(str(tmp_path / settings_name), QtCore.QSettings.Format.IniFormat)
        w = MainWindow(TrainConfig(**{"d_width": 16, "g_width": 16, "batch_size": 32, **cfg}), settings=settings,
                       autostart=autostart, backend="thread")
        w.messages = messages
        qtbot.addWidget(w)
        made.append(w)
        return w

    yield factory
    for w in made:
        w.features["theory"].close_all()
        w.shutdown()
    style.set_theme(False)
    app.setPalette(palette)
    app.setFont(font)
    U.unregister_user_datasets()


def wait_step(qtbot, w: MainWindow, step: int, timeout: int = 20000) -> None:
    qtbot.waitUntil(lambda: w.last_snapshot is not None and w.last_snapshot.step >= step, timeout=timeout)


def show(qtbot, w: MainWindow) -> None:
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    w.raise_()
    qtbot.wait(20)


# ------------------------------------------------------------------------------------ scenes

def test_scenes_menu_lists_every_shipped_scene_and_next_previous_load_them(make_window, qtbot):
    w = make_window()
    c = w.classroom
    shipped = {load_scene(n).title for n in list_scenes()}
    titles = {a.text() for a in c.scenes_menu.actions()}
    assert shipped <= titles and len(c.scenes) == len(list_scenes())
    assert [s.name for s in c.scenes][:3] == ["d-half-1d", "saturating-vs-ns", "k-d-steps"]
    show(qtbot, w)
    QTest.keyClick(w, Qt.Key.Key_PageDown)  # no scene yet: the first one
    assert c.current_index == 0 and w.current_scene is c.scenes[0]
    assert w.session.config.data == "gaussian-1d" and w.session.config.z_dim == 1
    c.actions["next_scene"].trigger()
    assert c.current_index == 1 and w.session.config.objective == "minimax"
    assert "Saturating" in c.info.text() and "step 600" in c.info.text()
    assert c.scene_actions[1].isChecked() and not c.scene_actions[0].isChecked()
    QTest.keyClick(w, Qt.Key.Key_PageUp)
    assert c.current_index == 0 and w.current_scene.name == "d-half-1d"
    assert w.settings.value("classroom/last_scene") == "d-half-1d"


def test_scripted_action_fires_at_its_step_in_the_window(make_window, qtbot):
    w = make_window()
    scene = scene_from_dict({"title": "t", "config": {"data": "gaussian-1d", "z_dim": 1, "d_width": 16,
                                                      "g_width": 16, "batch_size": 32},
                             "actions": [{"step": 5, "set": {"objective": "hinge"}, "label": "to hinge"}]})
    seen: list = []
    w.snapshot_drawn.connect(lambda s: seen.append((s.step, s.objective, tuple(s.events))))
    w.classroom.load(scene)
    wait_step(qtbot, w, 8)
    trainer = w.session.trainer
    assert [e.step for e in trainer.events if e.kind == "objective"] == [5]
    assert trainer.objective.name == "hinge"
    assert all(obj == "ns" for step, obj, _ in seen if step < 5)
    assert all(obj == "hinge" for step, obj, _ in seen if step > 5)
    assert any(e.label == "objective: ns -> hinge" for *_, evs in seen for e in evs)
    qtbot.waitUntil(lambda: "✓ step 5" in w.classroom.info.text(), timeout=5000)


def test_open_scene_file_good_and_bad(make_window, qtbot, tmp_path):
    w = make_window()
    session = w.session
    bad = tmp_path / "bad.toml"
    bad.write_text('title = "x"\n[config]\nd_lr = 5.0\n')
    assert not w.classroom.open_scene_file(bad)
    assert w.session is session  # the run is untouched
    title, text = w.messages[-1]
    assert "bad.toml" in text and "d_lr" in text and "[1e-07, 1]" in text
    broken = tmp_path / "broken.toml"
    broken.write_text('title = "x"\n\n[config\n')
    assert not w.classroom.open_scene_file(broken)
    assert "line 3" in w.messages[-1][1] and w.session is session
    good = tmp_path / "good.toml"
    good.write_text('title = "Mine"\ndescription = "hello"\n[config]\ndata = "bimodal-1d"\nz_dim = 1\n'
                    'd_width = 16\ng_width = 16\n')
    assert w.classroom.open_scene_file(good)
    assert w.session is not session and w.session.config.data == "bimodal-1d"
    assert "Mine" in w.classroom.info.text() and "hello" in w.classroom.info.text()


def test_save_current_setup_round_trips_and_a_failed_save_leaves_nothing(make_window, tmp_path):
    w = make_window(data="two-blobs", objective="lsgan", r1_gamma=0.5)
    w.data2d.set_show_arrows(True)
    path = tmp_path / "saved.toml"
    assert w.classroom.save_scene(path, "Saved", "two lines\nof text")
    scene = load_scene(path)
    assert scene.config == w.session.config and scene.title == "Saved"
    assert scene.view["arrows"] is True and scene.description == "two lines\nof text"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".saved")] == []
    missing = tmp_path / "no-such-dir" / "x.toml"
    n = len(w.messages)
    assert not w.classroom.save_scene(missing, "x", "")
    assert len(w.messages) == n + 1 and "no-such-dir" in w.messages[-1][1] and not missing.exists()
    # a read-only directory: the temporary file cannot be created; nothing is left behind
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if not (ro / "probe").exists():
            try:
                (ro / "probe").write_text("")
                writable = True
            except OSError:
                writable = False
            if not writable:  # (root ignores permissions)
                assert not w.classroom.save_scene(ro / "x.toml", "x", "")
                assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o700)


def test_last_scene_is_resumed_on_a_plain_launch(make_window, qtbot):
    w = make_window(settings_name="resume.ini", autostart=True)
    w.classroom.load_index(2)
    name = w.current_scene.name
    # only a scene that opened cleanly (drew its first frames) is resumed (issue 19.2)
    qtbot.waitUntil(lambda: w.classroom.scene_menu.clean_frames_left == 0, timeout=60_000)
    w.shutdown()
    w2 = make_window(settings_name="resume.ini", autostart=True, d_width=128, g_width=128, batch_size=256)
    qtbot.waitUntil(lambda: getattr(w2, "current_scene", None) is not None, timeout=5000)
    assert w2.current_scene.name == name and w2.classroom.current_index == 2
    # a launch with explicit settings (not the default config) is left alone
    w3 = make_window(settings_name="resume.ini", autostart=True)
    qtbot.wait(100)
    assert getattr(w3, "current_scene", None) is None


# ------------------------------------------------------------------------------------ presentation, keys

def test_presentation_mode_toggles_full_screen_hides_docks_and_esc_leaves(make_window, qtbot):
    w = make_window()
    c = w.classroom
    show(qtbot, w)
    app = QtWidgets.QApplication.instance()
    font_before = app.font().pointSizeF()
    assert not w.isFullScreen() and not w.docks["controls"].isHidden()
    QTest.keyClick(w, Qt.Key.Key_F5)
    assert c.presenting and w.isFullScreen() and c.actions["presentation"].isChecked()
    assert w.docks["controls"].isHidden() and w.statusBar().isHidden()
    assert app.font().pointSizeF() == pytest.approx(font_before * c.presentation_scale)
    view = w.data2d.plot.scene().views()[0]
    assert view.backgroundBrush().color().name() == C.HIGH_CONTRAST.background
    axis = w.data2d.plot.getAxis("bottom")
    assert axis.pen().color().name() == C.HIGH_CONTRAST.foreground
    fake = w.data2d.fake_scatter
    assert fake.opts["brush"].color().name() == C.HIGH_CONTRAST.fake and fake.opts["size"] > 5  # normal: 5
    QTest.keyClick(w, Qt.Key.Key_Escape)
    assert not c.presenting and not w.isFullScreen()
    assert not w.docks["controls"].isHidden() and not w.statusBar().isHidden()
    assert app.font().pointSizeF() == pytest.approx(font_before)
    assert view.backgroundBrush().color().name() == style.LIGHT.background
    assert fake.opts["brush"].color().name() == style.LIGHT.fake and fake.opts["size"] == 5
    # F11: full screen alone; Esc leaves it too
    QTest.keyClick(w, Qt.Key.Key_F11)
    assert w.isFullScreen() and not c.presenting
    QTest.keyClick(w, Qt.Key.Key_Escape)
    assert not w.isFullScreen()
    # closing while presenting saves the normal layout, not the hidden docks
    c.toggle_presentation(True)
    w.shutdown()
    assert not c.presenting and not w.docks["controls"].isHidden()
    w2 = make_window()
    assert not w2.docks["controls"].isHidden() and not w2.statusBar().isHidden()


def test_presentation_settings_choose_what_is_hidden(make_window, qtbot):
    w = make_window()
    c = w.classroom
    c.set_presentation_options({"losses", "toolbar"}, 2.0)
    c.toggle_presentation(True)
    assert w.docks["losses"].isHidden() and w.toolbar.isHidden() and not w.docks["controls"].isHidden()
    c.toggle_presentation(False)
    assert not w.docks["losses"].isHidden() and not w.toolbar.isHidden()
    w2 = make_window()  # same settings file: remembered
    assert w2.classroom.hide_in_presentation == {"losses", "toolbar"} and w2.classroom.presentation_scale == 2.0


def test_shortcuts_trigger_their_actions(make_window, qtbot):
    w = make_window(data="ring8")
    show(qtbot, w)
    assert not w.data2d.arrows_checkbox.isChecked()
    QTest.keyClick(w, Qt.Key.Key_A)
    assert w.data2d.arrows_checkbox.isChecked()
    index = w.speed.currentIndex()
    QTest.keyClick(w, Qt.Key.Key_BracketLeft)
    assert w.speed.currentIndex() == index - 1
    QTest.keyClick(w, Qt.Key.Key_BracketRight)
    assert w.speed.currentIndex() == index
    QTest.keyClick(w, Qt.Key.Key_F1)
    assert w.classroom.help_open
    QTest.keyClick(w.classroom.help, Qt.Key.Key_Escape)
    assert not w.classroom.help_open
    QTest.keyClick(w, Qt.Key.Key_Question, Qt.KeyboardModifier.ShiftModifier)  # "?" as typed on most layouts
    assert w.classroom.help_open
    QTest.keyClick(w.classroom.help, Qt.Key.Key_Question, Qt.KeyboardModifier.ShiftModifier)
    assert not w.classroom.help_open


def test_help_sheet_lists_the_windows_actions(make_window, qtbot):
    w = make_window()
    c = w.classroom
    entries = c.shortcut_entries()
    keys = {(text, k) for _g, text, k in entries}
    assert ("Next scene", "PgDown") in keys and ("Previous scene", "PgUp") in keys
    assert ("Play / pause", "Space") in keys and ("Step D", "D") in keys and ("Reset", "R") in keys
    assert ("Presentation mode", "F5") in keys and ("Full screen", "F11") in keys
    assert ("Keyboard shortcuts", "F1 or ?") in keys
    extra = QtGui.QAction("Wave at the students", w)
    extra.setShortcut(QtGui.QKeySequence("Ctrl+Shift+W"))
    w.addAction(extra)
    c.toggle_help()
    assert c.help_open and "Wave at the students" in c.help.text() and "Ctrl+Shift+W" in c.help.text()
    c.toggle_help()
    assert not c.help_open


# ------------------------------------------------------------------------------------ theme, formulas

def test_theme_switch_recolours_the_plots_and_is_remembered(make_window, qtbot):
    w = make_window()
    view = w.data2d.plot.scene().views()[0]
    assert view.backgroundBrush().color().name() == style.LIGHT.background
    w.classroom.actions["theme_dark"].trigger()
    assert view.backgroundBrush().color().name() == style.DARK.background
    assert w.data2d.plot.getAxis("left").pen().color().name() == style.DARK.foreground
    assert w.data2d.real_scatter.opts["brush"].color().name() == style.DARK.real
    loss_view = w.losses.findChildren(QtWidgets.QGraphicsView)[0]
    assert loss_view.backgroundBrush().color().name() == style.DARK.background
    assert QtWidgets.QApplication.instance().palette().color(QtGui.QPalette.ColorRole.Window).name() == "#2b2b2b"
    assert style.palette() is style.DARK  # panels built from now on
    w2 = make_window()  # same settings: starts dark
    view2 = w2.data2d.plot.scene().views()[0]
    assert w2.classroom.theme == "dark" and view2.backgroundBrush().color().name() == style.DARK.background
    w2.classroom.set_theme("light")
    assert view2.backgroundBrush().color().name() == style.LIGHT.background
    assert w2.data2d.real_scatter.opts["brush"].color().name() == style.LIGHT.real


def test_formula_panel_follows_the_objective_dropdown_and_regularisers(make_window, qtbot):
    w = make_window()
    panel = w.classroom.formula
    text = panel.plain_text()
    assert "Non-saturating" in text and "log D(G(z))" in text and "R1" not in text
    combo = w.controls.widgets["objective"]
    combo.setCurrentIndex(combo.findData("wgan-gp"))
    text = panel.plain_text()
    assert "WGAN-GP" in text and "λ = 10" in text and "‖∇" in text and "log" not in text.split("Regularisers")[0]
    w.controls.widgets["r1_gamma"].setValue(2.0)
    assert "R1 penalty on real data, γ = 2" in panel.plain_text()
    w.controls.widgets["d_steps"].setValue(5)
    assert "k = 5 D updates per G update" in panel.plain_text()
    combo.setCurrentIndex(combo.findData("minimax"))
    text = panel.plain_text()
    assert "Minimax (saturating)" in text and "LG =\n𝔼z[log(1 − D(G(z)))]" in text
    assert "+ γ⁄2 𝔼x[‖∇xD(x)‖²]" in text  # R1 is part of L_D while it is on
    w.classroom.load_index([s.name for s in w.classroom.scenes].index("instance-noise"))
    text = panel.plain_text()
    assert "instance noise" in text and "σ0 = 1, ρ = 0.998" in text and "R1" not in text


# ------------------------------------------------------------------------------------ your own data

def test_import_accepts_a_good_file_and_trains(make_window, qtbot, tmp_path):
    w = make_window()
    p = tmp_path / "blobs.csv"
    rng = np.random.default_rng(0)
    pts = np.concatenate([rng.normal([-2, 0], 0.2, (100, 2)), rng.normal([2, 1], 0.2, (100, 2))])
    p.write_text("x,y\n" + "".join(f"{a},{b}\n" for a, b in pts))
    assert w.classroom.import_points(p)
    cfg = w.session.config
    assert cfg.data.startswith("user:blobs@") and len(cfg.data_points) == 200
    combo = w.controls.widgets["data"]
    assert combo.currentData() == cfg.data and "your data" in combo.currentText()
    w.session.start()
    wait_step(qtbot, w, 3)
    snap = w.last_snapshot
    assert snap.data == cfg.data and snap.real.shape[1] == 2 and np.isfinite(snap.metrics.get("w1", 0.0))
    assert "blobs" in w.classroom.info.text()


@pytest.mark.parametrize("content,needle", [
    ("1,2\n3,x\n", "line 2: 'x' is not a number"),
    ("1,2\n3,4,5\n", "line 2: 3 columns"),
    ("1,2\nnan,4\n", "line 2: 'nan' is not a finite number"),
    ("", "no points in the file"),
    (None, "more than 20000 points"),
    ("3d", "shape (3, 2, 2)"),
    ("pickle", "Python objects"),
])
def test_import_rejects_bad_files_with_the_right_message(make_window, tmp_path, content, needle):
    w = make_window()
    session, config = w.session, w.session.config
    if content == "3d":
        path = tmp_path / "bad.npy"
        np.save(path, np.zeros((3, 2, 2)))
    elif content == "pickle":
        path = tmp_path / "bad.npy"
        np.save(path, np.array([object(), 1], dtype=object), allow_pickle=True)
    else:
        path = tmp_path / "bad.csv"
        path.write_text(content if content is not None else "".join(f"{i},1\n" for i in range(20001)))
    assert not w.classroom.import_points(path)
    title, text = w.messages[-1]
    assert needle in text and path.name in text and "import" in title
    assert w.session is session and w.session.config == config  # nothing else changed


def test_draw_points_with_the_mouse_and_apply(make_window, qtbot):
    w = make_window(data="gaussian-1d", z_dim=1)
    c = w.classroom
    show(qtbot, w)
    c.actions["draw_points"].trigger()
    assert c.draw.drawing_points and w.data_stack.currentWidget() is w.data2d
    c.draw.radius.setValue(0.3)
    c.draw.per_dab.setValue(5)
    view, vb = c.draw.view, w.data2d.plot.getViewBox()

    def at(x, y):
        return view.mapFromScene(vb.mapViewToScene(QtCore.QPointF(x, y)))

    QTest.mousePress(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(-2, 0))
    for x in np.linspace(-2, 2, 9)[1:]:
        ev = QtGui.QMouseEvent(QtCore.QEvent.Type.MouseMove, QtCore.QPointF(at(x, 0)), QtCore.QPointF(at(x, 0)),
                               Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        QtWidgets.QApplication.sendEvent(view.viewport(), ev)
    QTest.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(2, 0))
    pts = c.draw.points()
    # a 4-unit stroke with dabs every radius / 2 = 0.15: 27 dabs of 5 points, all within the brush of the line
    assert len(pts) == 5 * 27
    assert np.abs(pts[:, 1]).max() <= 0.3 + 1e-6 and pts[:, 0].min() > -2.31 and pts[:, 0].max() < 2.31
    c.draw.undo()
    assert c.draw.n_points() == 0
    c.draw.add_points(pts)
    c.draw.apply_points()
    cfg = w.session.config
    assert cfg.data.startswith("user:drawn@") and len(cfg.data_points) == len(pts)
    assert c.draw_dock.isHidden() and not c.draw.active
    w.session.start()
    wait_step(qtbot, w, 3)
    assert w.last_snapshot.dim == 2 and w.data_stack.currentWidget() is w.data2d


def test_gaussian_mixture_editor_builds_an_exact_mixture(make_window, qtbot):
    w = make_window(data="ring8")
    c = w.classroom
    c.actions["edit_mixture"].trigger()
    assert len(c.draw.components) == 8 and c.draw.std.value() == pytest.approx(0.02)  # from the ring
    c.draw.set_mixture([[-1.0, 0.0], [1.0, 0.5]], 0.15)
    c.draw.components[1].setPos((2.0, 1.0))  # as a drag would
    assert "2: (2.000, 1.000)" in c.draw.component_list.item(1).text()
    c.draw.apply_mixture()
    from ganviz.core.distributions import make_distribution

    d = make_distribution(w.session.config.data, data_points=w.session.config.data_points)
    assert d.density_is_exact and d.mode_std == pytest.approx(0.15)
    np.testing.assert_allclose(d.modes, [[-1.0, 0.0], [2.0, 1.0]])


def test_menu_dialog_paths(make_window, qtbot, tmp_path, monkeypatch):
    """The menu entries that ask for files or options, with the dialogs answered by the test."""
    w = make_window()
    c = w.classroom
    assert not w.windowIcon().isNull()  # set at install
    accepted = QtWidgets.QDialog.DialogCode.Accepted

    def fake_settings_exec(dlg):
        for key, box in dlg.boxes.items():
            box.setChecked(key in ("metrics", "menu bar"))
        dlg.scale.setValue(1.3)
        return accepted

    monkeypatch.setattr(C.PresentationDialog, "exec", fake_settings_exec)
    c.actions["presentation_settings"].trigger()
    assert c.hide_in_presentation == {"metrics", "menu bar"} and c.presentation_scale == pytest.approx(1.3)
    assert sorted(w.settings.value("classroom/presentation_hide")) == ["menu bar", "metrics"]

    def fake_save_exec(dlg):
        dlg.title.setText("From the menu")
        return accepted

    target = tmp_path / "menu-scene.toml"
    monkeypatch.setattr(C.SaveSceneDialog, "exec", fake_save_exec)
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(target)[:-5], ""))
    c.actions["save_scene"].trigger()
    assert load_scene(target).title == "From the menu"  # ".toml" added
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(target), ""))
    c.actions["open_scene"].trigger()
    assert w.current_scene.title == "From the menu" and "From the menu" in c.info.text()
    pts = tmp_path / "line.csv"
    pts.write_text("".join(f"{i * 0.1}\n" for i in range(50)))
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(pts), ""))
    c.actions["import_points"].trigger()
    assert w.session.config.data.startswith("user:line@") and w.session.dim == 1
    assert w.data_stack.currentWidget() is w.data1d


def test_items_added_while_presenting_follow_the_theme_afterwards(make_window, qtbot):
    import pyqtgraph as pg

    w = make_window()
    c = w.classroom
    c.set_theme("dark")
    c.toggle_presentation(True)
    curve = pg.PlotDataItem([0, 1], [0, 1], pen=style.pen(style.palette().gen))  # built in the dark palette
    w.data2d.plot.addItem(curve)
    w.data2d.legend.addItem(curve, "added while presenting")
    label = w.data2d.legend.items[-1][1]
    assert QtGui.QColor(label.opts["color"]).name() == style.DARK.foreground
    c.styler.apply_new(w)  # what the window does once a second while presenting
    assert QtGui.QColor(label.opts["color"]).name() == C.HIGH_CONTRAST.foreground
    assert curve.opts["pen"].color().name() == C.HIGH_CONTRAST.gen
    assert curve.opts["pen"].widthF() == pytest.approx(style.MAIN_WIDTH * c.presentation_scale)
    c.toggle_presentation(False)
    assert QtGui.QColor(label.opts["color"]).name() == style.DARK.foreground
    assert curve.opts["pen"].color().name() == style.DARK.gen and curve.opts["pen"].widthF() == style.MAIN_WIDTH
