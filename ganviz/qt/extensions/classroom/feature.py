"""The classroom feature object: its docks (Scene, Formulas), its parts (SceneMenu, Stage, UserData), the run
hooks it takes from the window host, and the public API the tests and the GUI bench use."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from ....core.config import ConfigError, TrainConfig
from ....core.scenes import Scene
from ....resources import icon_paths
from ...formula import FormulaPanel
from ...host import PanelSpec
from .scenes import SceneMenu
from .stage import Stage
from .user_data import UserData
from .widgets import SceneInfo


class Classroom(QtCore.QObject):
    """Everything the classroom adds to one window (`host.features["classroom"]`, also `window.classroom`)."""

    def __init__(self, host: Any) -> None:
        super().__init__(host)
        self.host = host
        self.settings: QtCore.QSettings = host.settings
        self.actions: dict[str, QtGui.QAction] = {}
        self.info = SceneInfo()
        self.formula = FormulaPanel(host.session.config)
        right = QtCore.Qt.DockWidgetArea.RightDockWidgetArea
        # a fresh layout tabs them with the controls: the scene's text beside its settings
        self.scene_dock = host.add_panel(PanelSpec("scene", "Scene", lambda: self.info, area=right,
                                                   tab_with="controls"), widget=self.info)
        self.formula_dock = host.add_panel(PanelSpec("formula", "Formulas", lambda: self.formula, area=right,
                                                     tab_with="scene"), widget=self.formula)
        self.user_data = UserData(self)
        self.stage = Stage(self)
        self.scene_menu = SceneMenu(self)
        self._set_icon()
        host.snapshot_drawn.connect(self._on_snapshot)
        host.run_started.connect(lambda _session: self.scene_menu.adopt_window_scene())
        host.closing.connect(self._on_close)
        host.controls.command.connect(self._on_command)  # the formulas follow the controls before the next step
        if self.stage.theme == "dark":
            self.stage.set_theme("dark", save=False)
        QtCore.QTimer.singleShot(0, self.scene_menu.resume_last)  # once the window is up and training

    # ------------------------------------------------------------------ shared by the parts
    def action(self, key: str, text: str, shortcuts: list[str] | None, slot: Any, menu: QtWidgets.QMenu | None = None,
               tip: str = "", checkable: bool = False) -> QtGui.QAction:
        """A window action through the host (its shortcuts work with the menu bar hidden), put in `menu`."""
        a = self.host.add_action(key, text, slot, tip=tip, checkable=checkable)
        if shortcuts:
            a.setShortcuts([QtGui.QKeySequence(k) for k in shortcuts])
        if menu is not None:
            menu.addAction(a)
        self.actions[key] = a
        return a

    def message(self, title: str, text: str) -> None:
        QtWidgets.QMessageBox.warning(self.host, title, text)

    def save(self, key: str, value: Any) -> None:
        self.settings.setValue(key, value)
        self.settings.sync()

    def pick_file(self, dir_key: str, title: str, filters: str, name: str = "", save: bool = False) -> str:
        """An open (or save) file dialog starting in the folder remembered under `dir_key` (home at first), with
        `name` proposed there; the chosen file's folder is remembered. Returns the path, "" when cancelled."""
        start = Path(str(self.settings.value(dir_key, str(Path.home()))))
        dialog = QtWidgets.QFileDialog.getSaveFileName if save else QtWidgets.QFileDialog.getOpenFileName
        path, _ = dialog(self.host, title, str(start / name) if name else str(start), filters)
        if path:
            self.save(dir_key, str(Path(path).parent))
        return path

    # ------------------------------------------------------------------ host hooks
    def _on_snapshot(self, snap: Any) -> None:
        self.scene_menu.on_snapshot()
        self.formula.on_snapshot(snap)
        step = getattr(snap, "step", None)
        if step is not None:
            self.info.set_step(int(step))
        self.stage.on_snapshot()

    def _on_command(self, cmd: Any) -> None:
        changes = cmd.changes() if hasattr(cmd, "changes") else {}
        if changes and self.formula.config is not None:
            with contextlib.suppress(ConfigError, ValueError, TypeError):
                self.formula.set_config(self.formula.config.replace(**changes))

    def _on_close(self) -> None:
        self.stage.close()  # before the window saves its layout: never presentation mode's hidden docks
        self.settings.sync()

    def _set_icon(self) -> None:
        for path in icon_paths():  # shipped in the package (ganviz.resources)
            icon = QtGui.QIcon(str(path))
            if not icon.isNull():
                self.host.setWindowIcon(icon)
                app = QtWidgets.QApplication.instance()
                if app is not None and app.windowIcon().isNull():
                    app.setWindowIcon(icon)
                break
        with contextlib.suppress(AttributeError):
            QtGui.QGuiApplication.setDesktopFileName("ganviz")

    # ------------------------------------------------------------------ public API (each part's own)
    @property
    def scenes(self) -> list[Scene]:
        return self.scene_menu.scenes

    @property
    def scene_actions(self) -> list[QtGui.QAction]:
        return self.scene_menu.scene_actions

    @property
    def scenes_menu(self) -> QtWidgets.QMenu:
        return self.scene_menu.scenes_menu

    @property
    def current_index(self) -> int | None:
        return self.scene_menu.current_index

    @property
    def current_scene(self) -> Scene | None:
        return self.scene_menu.current_scene

    def load(self, scene: Scene) -> bool:
        return self.scene_menu.load(scene)

    def load_index(self, index: int) -> None:
        self.scene_menu.load_index(index)

    def open_scene_file(self, path: str | os.PathLike) -> bool:
        return self.scene_menu.open_scene_file(path)

    def save_scene(self, path: str | os.PathLike, title: str, description: str) -> bool:
        return self.scene_menu.save_scene(path, title, description)

    @property
    def theme(self) -> str:
        return self.stage.theme

    def set_theme(self, kind: str, save: bool = True) -> None:
        self.stage.set_theme(kind, save)

    @property
    def presenting(self) -> bool:
        return self.stage.presenting

    def toggle_presentation(self, on: bool | None = None) -> None:
        self.stage.toggle_presentation(on)

    @property
    def presentation_bar(self) -> QtWidgets.QToolBar:
        return self.stage.presentation_bar

    @property
    def presentation_scale(self) -> float:
        return self.stage.presentation_scale

    @property
    def hide_in_presentation(self) -> set[str]:
        return self.stage.hide_in_presentation

    def set_presentation_options(self, hidden: set[str], scale: float) -> None:
        self.stage.set_presentation_options(hidden, scale)

    @property
    def styler(self) -> Any:
        return self.stage.styler

    @property
    def help(self) -> QtWidgets.QWidget:
        return self.stage.help

    @property
    def help_open(self) -> bool:
        return self.stage.help_open

    def toggle_help(self) -> None:
        self.stage.toggle_help()

    def shortcut_entries(self) -> list[tuple[str, str, str]]:
        return self.stage.shortcut_entries()

    @property
    def draw(self) -> Any:
        return self.user_data.draw

    @property
    def draw_dock(self) -> QtWidgets.QDockWidget:
        return self.user_data.draw_dock

    def import_points(self, path: str | os.PathLike, columns: str | None = None) -> bool:
        return self.user_data.import_points(path, columns)

    def apply_user_rows(self, rows: tuple, label: str, read: str = "") -> bool:
        return self.user_data.apply_user_rows(rows, label, read)

    def ensure_data_choice(self, cfg: TrainConfig) -> None:
        self.user_data.ensure_data_choice(cfg)


def install(host: Any) -> Classroom:
    """Add the classroom to a window host; the host keeps it as host.features["classroom"]."""
    return Classroom(host)
