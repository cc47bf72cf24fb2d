"""The Scenes menu: every shipped lecture scene by title, Next / Previous / Restart, open and save scene files, and
resuming the last scene on launch (only one that opened cleanly last time)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore, QtGui, QtWidgets
from superqt.utils import signals_blocked

from ....core.config import TrainConfig
from ....core.preflight import data_problem
from ....core.scenes import Scene, SceneError, list_scenes, load_scene, scene_to_toml
from ... import text_bounds as tb
from ...app import safe_mode
from .widgets import SaveSceneDialog

if TYPE_CHECKING:
    from .feature import Classroom

LECTURE_ORDER = ("d-half-1d", "saturating-vs-ns", "k-d-steps", "dirac-gan", "mode-collapse-remedies",
                 "js-vs-wasserstein", "clip-vs-gp", "instance-noise")  # others follow, by name
CLEAN_FRAMES = 3  # frames a loaded scene must draw before it counts as opened cleanly (and may be resumed)


class SceneMenu(QtCore.QObject):
    """The Scenes menu and what the Scene dock shows. Remembered: classroom/last_scene (a shipped scene by name,
    another by path), classroom/scene_pending (set until a loaded scene has drawn CLEAN_FRAMES frames),
    classroom/resume_last_scene, classroom/scene_dir."""

    def __init__(self, classroom: Classroom) -> None:
        super().__init__(classroom)
        self.classroom = classroom
        self.host = classroom.host
        self.scenes: list[Scene] = []
        self.scene_errors: dict[str, str] = {}
        self.current_index: int | None = None
        self.current_scene: Scene | None = None
        self.clean_frames_left = 0  # frames the scene just loaded must still draw to count as opened cleanly
        self._seen_scene: Any = self.host.current_scene
        self._build_menu()

    def _build_menu(self) -> None:
        c = self.classroom
        menu = self.host.menu("Scenes")
        self.scenes_menu = menu
        group = QtGui.QActionGroup(self)
        group.setExclusive(True)
        self.scene_actions: list[QtGui.QAction] = []
        names = list_scenes()
        names = [n for n in LECTURE_ORDER if n in names] + [n for n in names if n not in LECTURE_ORDER]
        for name in names:
            try:
                scene = load_scene(name)
            except SceneError as e:
                self.scene_errors[name] = str(e)
                continue
            idx = len(self.scenes)
            self.scenes.append(scene)
            a = QtGui.QAction(tb.clean(scene.title, tb.TITLE_CHARS), self.host)
            a.setCheckable(True)
            a.setToolTip(tb.breakable(tb.clean(scene.description, 2000, keep_newlines=True)))
            a.setStatusTip(tb.clean(scene.description, 200))
            a.triggered.connect(lambda _c=False, i=idx: self.load_index(i))
            group.addAction(a)
            menu.addAction(a)
            self.scene_actions.append(a)
        if self.scene_errors:
            self.host.show_message("Some scene files could not be read: " + "; ".join(self.scene_errors.values()))
        menu.addSeparator()
        c.action("next_scene", "Next scene", ["PgDown"], self.next_scene, menu, "Load the next lecture scene")
        c.action("previous_scene", "Previous scene", ["PgUp"], self.previous_scene, menu,
                 "Load the previous lecture scene")
        c.action("restart_scene", "Restart scene", ["Home"], self.restart_scene, menu,
                 "Load the current scene again from its first step")
        menu.addSeparator()
        c.action("open_scene", "Open scene file...", ["Ctrl+O"], self.open_scene_dialog, menu,
                 "Load a scene from a .toml file")
        c.action("save_scene", "Save current setup as scene...", ["Ctrl+S"], self.save_scene_dialog, menu,
                 "Write the current set-up (data, objective, optimiser, view) to a .toml scene file")
        menu.addSeparator()
        resume = c.action("resume_last_scene", "Resume last scene on launch", None,
                          lambda on: c.save("classroom/resume_last_scene", bool(on)), menu, checkable=True)
        with signals_blocked(resume):
            resume.setChecked(as_bool(c.settings.value("classroom/resume_last_scene", True)))

    # ------------------------------------------------------------------ loading
    def load_index(self, index: int) -> None:
        if not self.scenes:
            return
        index %= len(self.scenes)
        self.load(self.scenes[index])
        self.current_index = index

    def load(self, scene: Scene) -> bool:
        """Start a scene in the window; the Scene / Formulas docks keep their visibility unless it names them.
        A scene whose data cannot be found (a missing image file) leaves the current run as it is: False."""
        c, w = self.classroom, self.host
        problem = data_problem(scene.config)
        if problem:
            where = tb.path_text(scene.path) if scene.path else tb.clean(scene.name, tb.TITLE_CHARS)
            c.message("ganviz: cannot open the scene", f"{where}: {problem}. The current run goes on.")
            return False
        mine = {n: not w.docks[n].isHidden() for n in ("scene", "formula") if n in w.docks}
        c.user_data.hide_draw_tool()
        c.user_data.ensure_data_choice(scene.config)
        # marked until the scene has drawn a few frames: a scene that crashes the app is not resumed next launch
        c.save("classroom/scene_pending", self.scene_key(scene))
        self.clean_frames_left = CLEAN_FRAMES
        w.load_scene(scene)
        for name, shown in mine.items():
            if name not in scene.view.get("docks", []):
                w.docks[name].setVisible(shown)
        self.current_scene = scene
        self.current_index = next((i for i, s in enumerate(self.scenes) if s is scene), None)
        self._check_current()
        self._seen_scene = scene
        c.info.show_scene(scene)
        c.formula.set_config(scene.config)
        self._open_tool(scene)
        c.save("classroom/last_scene", self.scene_key(scene))
        c.stage.scene_changed()
        return True

    def _check_current(self) -> None:
        for i, a in enumerate(self.scene_actions):
            with signals_blocked(a):
                a.setChecked(i == self.current_index)

    def forget_current(self) -> None:
        """The run no longer plays a scene (the user's own data replaced it)."""
        self.current_scene = None
        self.current_index = None
        self._check_current()

    def _open_tool(self, scene: Scene) -> None:
        """[view] tool: open that Theory window beside the lab (through its Theory menu action, if installed)."""
        tool = scene.view.get("tool")
        if not tool:
            return
        action = self.host.actions_by_name.get(f"theory_{tool}")
        if action is None:  # a missing optional view must not stop the scene
            self.host.show_message(f"This scene opens the Theory view {tool!r}, which is not available: the Theory "
                                   "menu is not installed.")
            return
        action.trigger()

    def adopt_window_scene(self) -> None:
        """A scene the window loaded without this menu (ganviz --preset, another feature): show it here; one
        the window ended (the user changed the data): say so."""
        c = self.classroom
        scene = self.host.current_scene
        if scene is None and self._seen_scene is not None:
            ended, self._seen_scene = self._seen_scene, None
            for a in self.scene_actions:
                with signals_blocked(a):
                    a.setChecked(False)
            title = tb.clean(ended.title, tb.TITLE_CHARS)
            c.info.show_scene(None, f"“{title}” ended: the data changed, so its script stopped. Home "
                              "restarts the scene, PageDown goes to the next one.", title="Scene ended")
            return
        if scene is None or scene is self._seen_scene:
            return
        self._seen_scene = scene
        self.current_scene = scene
        self.current_index = next((i for i, s in enumerate(self.scenes) if s.name == scene.name
                                   and s.path == scene.path), None)
        self._check_current()
        config = self.host.session.config
        c.user_data.ensure_data_choice(config)
        self.host.controls.set_config(config)
        c.info.show_scene(scene)
        c.formula.set_config(config)
        self._open_tool(scene)

    def on_snapshot(self) -> None:
        if self.clean_frames_left > 0:
            self.clean_frames_left -= 1
            if self.clean_frames_left == 0:  # the scene opened cleanly: it may be resumed on the next launch
                self.classroom.save("classroom/scene_pending", "")
        if self.host.current_scene is not self._seen_scene:
            self.adopt_window_scene()

    def next_scene(self) -> None:
        self.load_index(0 if self.current_index is None else self.current_index + 1)

    def previous_scene(self) -> None:
        self.load_index(len(self.scenes) - 1 if self.current_index is None else self.current_index - 1)

    def restart_scene(self) -> None:
        if self.current_scene is not None:
            self.load(self.current_scene)

    # ------------------------------------------------------------------ files
    def open_scene_dialog(self) -> None:
        path = self.classroom.pick_file("classroom/scene_dir", "Open scene", "Scenes (*.toml);;All files (*)")
        if path:
            self.open_scene_file(path)

    def open_scene_file(self, path: str | os.PathLike) -> bool:
        """Load a scene file; a bad file gives a message naming the problem and leaves the run untouched."""
        try:
            scene = load_scene(Path(path))
        except SceneError as e:
            self.classroom.message("ganviz: cannot open the scene", str(e))
            return False
        return self.load(scene)

    def save_scene_dialog(self) -> None:
        c = self.classroom
        title = self.current_scene.title if self.current_scene else "My scene"
        desc = self.current_scene.description if self.current_scene else ""
        dlg = SaveSceneDialog(self.host, title, desc)
        if dlg.exec() != QtWidgets.QDialog.DialogCode.Accepted:
            return
        path = c.pick_file("classroom/scene_dir", "Save scene", "Scenes (*.toml)",
                           name=slug(dlg.title.text()) + ".toml", save=True)
        if path:
            if not path.endswith(".toml"):
                path += ".toml"
            self.save_scene(path, dlg.title.text(), dlg.description.toPlainText())

    def current_view(self) -> dict[str, Any]:
        d2 = self.host.data2d
        view: dict[str, Any] = {"arrows": d2.arrows_checkbox.isChecked(), "z_grid": d2.z_grid_checkbox.isChecked()}
        speed = self.host.speed.currentData()
        view["speed"] = float(speed) if speed else 0
        return view

    def save_scene(self, path: str | os.PathLike, title: str, description: str) -> bool:
        """Write the current set-up as a scene: to a temporary file, then renamed, so no partial file is left."""
        cfg: TrainConfig = self.host.session.config
        if cfg.data_points and not str(cfg.data).startswith("user:"):
            cfg = dc_replace(cfg, data_points=())
        target = Path(path)
        try:
            text = scene_to_toml(title, description, cfg, self.current_view())
        except ValueError as e:  # TomlWriteError: text UTF-8 cannot hold (an undecodable file name)
            self.classroom.message("ganviz: cannot save the scene", f"Could not write {target}:\n{e}")
            return False
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=str(target.parent))
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
            tmp = None
        except OSError as e:
            self.classroom.message("ganviz: cannot save the scene", f"Could not write {target}:\n{e.strerror or e}")
            return False
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        self.host.show_message(f"Scene saved to {target}", 8000)
        return True

    # ------------------------------------------------------------------ resume on launch
    def resume_last(self) -> None:
        """On a plain launch (the default config, no scene, no settings on the command line), load the last scene,
        unless it did not open cleanly last time (then say so, and forget it)."""
        c, w = self.classroom, self.host
        plain_launch = (w.session.is_running() and w.current_scene is None and not w.launched_with_settings
                        and w.session.config == TrainConfig())
        if not (plain_launch and c.actions["resume_last_scene"].isChecked()) or safe_mode():
            return
        last = str(c.settings.value("classroom/last_scene", "") or "")
        if not last:
            return
        if str(c.settings.value("classroom/scene_pending", "") or "") == last:
            # the last launch loaded this scene and never drew a frame with it (a crash, a hang, a kill)
            c.save("classroom/scene_pending", "")
            c.save("classroom/last_scene", "")
            w.show_message(f"The last scene ({tb.path_text(last, 80)}) was not resumed: it did not open cleanly last "
                           "time. Open it from the Scenes menu to try again.", 30000)
            return
        for i, s in enumerate(self.scenes):
            if s.name == last:
                self.load_index(i)
                return
        if last.endswith(".toml") and Path(last).is_file():
            try:
                scene = load_scene(Path(last))
            except SceneError as e:  # changed since: say so, and do not try again next time
                c.save("classroom/last_scene", "")
                w.show_message(f"The last scene was not resumed: {tb.clean(e, 300)}", 30000)
                return
            self.load(scene)

    def scene_key(self, scene: Scene) -> str:
        """How last_scene names a scene: a shipped scene by name, another by its path."""
        shipped = any(s is scene for s in self.scenes)
        return str(scene.path) if not shipped and scene.path else scene.name


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes", "on")
    return bool(value)


def slug(text: str) -> str:
    keep = "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")
    while "--" in keep:
        keep = keep.replace("--", "-")
    return keep[:60] or "scene"
