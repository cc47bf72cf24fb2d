"""The Data menu: Import points (CSV / .npy)..., Draw points, Edit Gaussian mixture (ganviz.qt.draw, in the
"Make your own data" dock). Applying restarts the run on a user dataset carried in the config
(ganviz.core.userdata). Remembered: classroom/data_dir."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore, QtWidgets
from superqt.utils import signals_blocked

from ....core.config import ConfigError, TrainConfig
from ....core.distributions import make_distribution
from ....core.pointfiles import ColumnsNeeded
from ....core.userdata import PointsError, load_points, points_rows, user_config
from ...draw import DrawTool
from ...host import PanelSpec

if TYPE_CHECKING:
    from .feature import Classroom


class UserData(QtCore.QObject):
    """Your own points: imported from a file, painted with a brush, or a Gaussian mixture you edit."""

    def __init__(self, classroom: Classroom) -> None:
        super().__init__(classroom)
        self.classroom = classroom
        self.host = host = classroom.host
        view = host.data2d.plot.scene().views()[0]
        self.draw = DrawTool(host.data2d.plot, view)
        self.draw_dock = host.add_panel(PanelSpec("draw", "Make your own data", lambda: self.draw,
                                                  area=QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, visible=False),
                                        widget=self.draw)
        self.draw.applied.connect(self.apply_user_rows)
        self.draw.message.connect(lambda text: classroom.message("ganviz: your data", text))
        self.draw_dock.visibilityChanged.connect(self._on_draw_visibility)
        c = classroom
        menu = host.menu("Data")
        c.action("import_points", "Import points (CSV / .npy)...", ["Ctrl+I"], self.import_points_dialog, menu,
                 "Train on your own 1D or 2D points (density: Gaussian KDE, Scott bandwidth)")
        c.action("draw_points", "Draw points", ["Ctrl+D"], lambda on: self.show_draw_tool(0, on), menu,
                 "Click or drag on the 2D view to paint points with a brush", checkable=True)
        c.action("edit_mixture", "Edit Gaussian mixture", ["Ctrl+M"], lambda on: self.show_draw_tool(1, on), menu,
                 "Add and drag Gaussian components on the 2D view (exact density)", checkable=True)

    def show_draw_tool(self, tab: int, on: bool = True) -> None:
        if not on:
            self.draw_dock.hide()
            return
        if tab == 1 and not self.draw.components:
            self._prefill_mixture()
        self.draw.tabs.setCurrentIndex(tab)
        self.draw_dock.show()
        self.draw_dock.raise_()
        self._on_draw_visibility(True)

    def hide_draw_tool(self) -> None:
        if not self.draw_dock.isHidden():
            self.draw_dock.hide()

    def _prefill_mixture(self) -> None:
        cfg = self.host.session.config
        try:
            dist = make_distribution(cfg.data, cfg.ring_radius, cfg.ring_std, data_points=cfg.data_points)
        except (KeyError, ValueError):
            dist = None
        if dist is not None and dist.modes is not None and dist.mode_std is not None:
            self.draw.set_mixture(dist.modes, dist.mode_std)
        else:
            self.draw.set_mixture([[-1.0, 0.0], [1.0, 0.0]], 0.2)

    def ensure_data_choice(self, cfg: TrainConfig) -> None:
        """Give a user dataset an entry in the controls' dataset list, so the dropdown shows it."""
        combo = self.host.controls.widgets.get("data")
        info = user_info(cfg)
        if not isinstance(combo, QtWidgets.QComboBox) or info is None or combo.findData(cfg.data) >= 0:
            return
        from ...controls import fill_dataset_combo

        fill_dataset_combo(combo, cfg.data, info)  # grouped, with this user dataset and no stale ones

    def _on_draw_visibility(self, visible: bool) -> None:
        w = self.host
        visible = bool(visible) and not self.draw_dock.isHidden()
        self.draw.set_active(visible)
        for key, tab in (("draw_points", 0), ("edit_mixture", 1)):
            a = self.classroom.actions.get(key)
            if a is not None:
                with signals_blocked(a):
                    a.setChecked(visible and self.draw.tabs.currentIndex() == tab)
        if visible:
            w.data_stack.setCurrentWidget(w.data2d)
            if w.session.dim == 1 and getattr(w.data2d, "_last", None) is None:
                w.data2d.plot.setRange(xRange=(-4, 4), yRange=(-4, 4), padding=0.0)
        else:
            w.data_stack.setCurrentWidget(w.data1d if w.session.dim == 1 else w.data2d)

    def import_points_dialog(self) -> None:
        path = self.classroom.pick_file("classroom/data_dir", "Import points",
                                        "Points (*.csv *.txt *.npy);;All files (*)")
        if path:
            self.import_points(path)

    def import_points(self, path: str | os.PathLike, columns: str | None = None) -> bool:
        """Train on the points in a CSV / .npy file; a bad file gives a message and changes nothing. A file with
        more columns than a point has asks which to use (ask_columns); what the reader assumed is shown."""
        notes: list[str] = []
        try:
            pts = load_points(path, columns, notes)
            rows = points_rows(pts)
        except ColumnsNeeded as e:
            chosen = self.ask_columns(Path(path).name, e)
            if chosen:
                return self.import_points(path, chosen)
            return False
        except (PointsError, ConfigError) as e:
            self.classroom.message("ganviz: cannot import the points", str(e))
            return False
        return self.apply_user_rows(rows, Path(path).stem, f"Read {Path(path).name}: {'; '.join(notes)}."
                                    if notes else "")

    def ask_columns(self, name: str, need: ColumnsNeeded) -> str:
        """Which columns of a wide points file to use (names or numbers from 1); '' to cancel (tests replace).
        Suggested: the first two columns that hold numbers."""
        header = need.header
        cols = (", ".join(f"{i + 1}: {h}" for i, h in enumerate(header)) if header
                else f"{need.width} columns, no header line")
        pick = list(need.numeric[:2]) or [0, 1]
        names = [header[i] for i in pick] if header else []
        default = ",".join(names) if names and all("," not in n for n in names) else ",".join(str(i + 1) for i in pick)
        text, ok = QtWidgets.QInputDialog.getText(
            self.host, "ganviz: choose the columns",
            f"{name} has {need.width} columns; a point has 1 (x) or 2 (x, y).\n\n{cols}\n\n"
            "Columns to use: their names or numbers from 1, e.g. x,y or 2,3", text=default)
        return text.strip() if ok else ""

    def apply_user_rows(self, rows: tuple, label: str, read: str = "") -> bool:
        """Restart the run on a user dataset (from the draw tool, the mixture editor or an import); `read`: what
        the file reader assumed (shown with it)."""
        c, w = self.classroom, self.host
        try:
            cfg = user_config(w.session.config, rows, label)
        except ConfigError as e:
            c.message("ganviz: cannot use this data", str(e))
            return False
        self.ensure_data_choice(cfg)
        self.draw_dock.hide()
        w.restart(cfg)
        c.scene_menu.forget_current()
        info = f"Training on your data “{label}”: {describe_user(cfg)}"
        c.info.show_scene(None, info + (f" {read}" if read else "") + " The dataset list in the controls keeps "
                          "it; Ctrl+S saves it as a scene.", title="Your data")
        c.formula.set_config(cfg)
        w.show_message(f"{info.rstrip('.')}. {read}" if read else info)
        return True


def user_info(cfg: TrainConfig) -> Any:
    """The DatasetInfo of cfg's data (user data from its data_points), or None."""
    from ....core.distributions import dataset_info

    try:
        return dataset_info(cfg.data, cfg.data_points)
    except (KeyError, ValueError):
        return None


def describe_user(cfg: TrainConfig) -> str:
    info = user_info(cfg)
    return (info.description + ".") if info else ""
