"""Make your own data on the 2D view: draw points with a brush, or edit a Gaussian mixture.

`DrawTool` is a dock body bound to a pyqtgraph PlotItem (the 2D data view). Two tabs:

- Points: while the tab is shown and drawing is on, a click adds a dab of points scattered uniformly over a
  disc of the brush radius (radius 0: exactly the clicked point) and a drag paints a stroke of dabs spaced
  half a radius apart. Undo removes the last stroke, Clear all of them. The GAN trains on the points
  themselves; the density the views need (D*, true JSD) is their Gaussian KDE with Scott's bandwidth, an
  estimate (see ganviz.core.userdata).
- Gaussian mixture: components are draggable targets (1σ and 2σ circles drawn around each), one common
  std, equal weights. Apply builds a mixture with its *exact* density (not a sample of it), so the mode
  metrics work as for the built-in mixtures.

Either tab can make 1D data from the x coordinates only. Apply emits `applied(rows, label)`; the window
turns the rows into a config (userdata.user_config) and restarts the run. Nothing here trains or restarts.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from ..core.config import ConfigError
from ..core.userdata import MAX_COMPONENTS, MAX_POINTS, mixture_rows, points_rows

POINT_COLOUR = "#d81b9c"  # magenta: not used by any view for real/fake/D
COMPONENT_COLOUR = "#0a8f8f"


class DrawTool(QtWidgets.QWidget):
    applied = QtCore.Signal(object, str)  # (rows for TrainConfig.data_points, label)
    message = QtCore.Signal(str)  # problems to show (too few points, ...)

    def __init__(self, plot: pg.PlotItem, view: QtWidgets.QGraphicsView,
                 parent: QtWidgets.QWidget | None = None, seed: int = 0) -> None:
        super().__init__(parent)
        self.plot = plot
        self.view = view
        self._rng = np.random.default_rng(seed)
        self._strokes: list[np.ndarray] = []  # each (m, 2)
        self._stroke: list[np.ndarray] = []
        self._last_dab: np.ndarray | None = None
        self._drawing = False
        self.active = False
        self.components: list[pg.TargetItem] = []

        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.tabs = QtWidgets.QTabWidget()
        lay.addWidget(self.tabs)

        # ---- points tab
        pts_tab = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(pts_tab)
        self.radius = QtWidgets.QDoubleSpinBox()
        self.radius.setRange(0.0, 5.0)
        self.radius.setDecimals(3)
        self.radius.setSingleStep(0.05)
        self.radius.setValue(0.15)
        self.radius.setToolTip("Brush radius in data units: each dab scatters points uniformly over a disc of "
                               "this radius (0 = exactly where you click)")
        self.per_dab = QtWidgets.QSpinBox()
        self.per_dab.setRange(1, 200)
        self.per_dab.setValue(6)
        self.per_dab.setToolTip("Points added per dab (a click, or every half radius along a drag)")
        self.points_1d = QtWidgets.QCheckBox("1D data (x only)")
        self.count_label = QtWidgets.QLabel()
        form.addRow("Brush radius", self.radius)
        form.addRow("Points per dab", self.per_dab)
        form.addRow(self.points_1d)
        hint = QtWidgets.QLabel("Click or drag on the 2D view to add points. The GAN trains on these points; "
                                "their density (for D*) is a Gaussian KDE estimate, Scott bandwidth.")
        hint.setWordWrap(True)
        form.addRow(hint)
        form.addRow(self.count_label)
        row = QtWidgets.QHBoxLayout()
        self.apply_points_button = QtWidgets.QPushButton("Apply")
        self.apply_points_button.setToolTip("Train on these points (restarts the run)")
        self.undo_button = QtWidgets.QPushButton("Undo stroke")
        self.clear_button = QtWidgets.QPushButton("Clear")
        for b in (self.apply_points_button, self.undo_button, self.clear_button):
            row.addWidget(b)
        form.addRow(row)
        self.tabs.addTab(pts_tab, "Points")

        # ---- mixture tab
        mix_tab = QtWidgets.QWidget()
        mform = QtWidgets.QFormLayout(mix_tab)
        self.std = QtWidgets.QDoubleSpinBox()
        self.std.setRange(0.005, 5.0)
        self.std.setDecimals(3)
        self.std.setSingleStep(0.02)
        self.std.setValue(0.1)
        self.std.setToolTip("Common standard deviation of every component (circles: 1σ and 2σ)")
        self.mixture_1d = QtWidgets.QCheckBox("1D data (x only)")
        self.component_list = QtWidgets.QListWidget()
        self.component_list.setMaximumHeight(120)
        mform.addRow("Std σ", self.std)
        mform.addRow(self.mixture_1d)
        mform.addRow(self.component_list)
        mrow = QtWidgets.QHBoxLayout()
        self.add_button = QtWidgets.QPushButton("Add")
        self.add_button.setToolTip("Add a component at the centre of the view (then drag it)")
        self.remove_button = QtWidgets.QPushButton("Remove")
        self.remove_button.setToolTip("Remove the selected component (or the last one)")
        self.apply_mixture_button = QtWidgets.QPushButton("Apply")
        self.apply_mixture_button.setToolTip("Train on this mixture: exact density, equal weights (restarts the run)")
        for b in (self.add_button, self.remove_button, self.apply_mixture_button):
            mrow.addWidget(b)
        mform.addRow(mrow)
        mhint = QtWidgets.QLabel("Drag the targets on the 2D view. Equal weights; exact mixture density.")
        mhint.setWordWrap(True)
        mform.addRow(mhint)
        self.tabs.addTab(mix_tab, "Gaussian mixture")
        lay.addStretch(1)

        # ---- plot items
        self.scatter = pg.ScatterPlotItem(size=6, pen=pg.mkPen("#ffffff", width=0.5),
                                          brush=pg.mkBrush(POINT_COLOUR), symbol="o", pxMode=True)
        self.scatter.setZValue(40)
        self.circles = pg.PlotCurveItem(pen=pg.mkPen(COMPONENT_COLOUR, width=2), connect="finite")
        self.circles.setZValue(39)

        self.apply_points_button.clicked.connect(self.apply_points)
        self.undo_button.clicked.connect(self.undo)
        self.clear_button.clicked.connect(self.clear)
        self.add_button.clicked.connect(lambda: self.add_component())
        self.remove_button.clicked.connect(self.remove_component)
        self.apply_mixture_button.clicked.connect(self.apply_mixture)
        self.std.valueChanged.connect(lambda _v: self._update_components())
        self.tabs.currentChanged.connect(lambda _i: self._sync_items())
        self._update_count()

    # ------------------------------------------------------------------ activation
    def set_active(self, on: bool, tab: int | None = None) -> None:
        """Show the tool's items on the plot (and take mouse presses for drawing while on the Points tab)."""
        if tab is not None:
            self.tabs.setCurrentIndex(tab)
        if on == self.active:
            self._sync_items()
            return
        self.active = on
        viewport = self.view.viewport()
        if on:
            viewport.installEventFilter(self)
        else:
            viewport.removeEventFilter(self)
            self._drawing = False
        self._sync_items()

    @property
    def drawing_points(self) -> bool:
        return self.active and self.tabs.currentIndex() == 0

    def _sync_items(self) -> None:
        show_points = self.active and self.tabs.currentIndex() == 0
        show_mix = self.active and self.tabs.currentIndex() == 1
        for item, show in ((self.scatter, show_points), (self.circles, show_mix)):
            if show and item.scene() is None:
                self.plot.addItem(item, ignoreBounds=True)
            elif not show and item.scene() is not None:
                self.plot.removeItem(item)
        for t in self.components:
            if show_mix and t.scene() is None:
                self.plot.addItem(t, ignoreBounds=True)
            elif not show_mix and t.scene() is not None:
                self.plot.removeItem(t)
        cursor = QtCore.Qt.CursorShape.CrossCursor if self.drawing_points else QtCore.Qt.CursorShape.ArrowCursor
        self.view.viewport().setCursor(cursor)

    # ------------------------------------------------------------------ drawing
    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:  # noqa: N802 (Qt API)
        if not self.drawing_points:
            return False
        t = ev.type()
        QEvent = QtCore.QEvent
        if t == QEvent.Type.MouseButtonPress and ev.button() == QtCore.Qt.MouseButton.LeftButton:
            self._drawing = True
            self._stroke = []
            self._last_dab = None
            self.paint_at(self._to_data(ev.position()))
            return True
        if t == QEvent.Type.MouseMove and self._drawing:
            self.paint_at(self._to_data(ev.position()))
            return True
        if t == QEvent.Type.MouseButtonRelease and self._drawing:
            self._drawing = False
            self.end_stroke()
            return True
        return False

    def _to_data(self, pos: QtCore.QPointF) -> np.ndarray:
        scene_pos = self.view.mapToScene(pos.toPoint())
        p = self.plot.getViewBox().mapSceneToView(scene_pos)
        return np.array([p.x(), p.y()])

    def paint_at(self, p: np.ndarray) -> None:
        """Add dabs from the last dab of this stroke to p, spaced half a brush radius apart."""
        p = np.asarray(p, dtype=np.float64)
        r = self.radius.value()
        if self._last_dab is None:
            self._dab(p)
            self._last_dab = p
            return
        dist = float(np.hypot(*(p - self._last_dab)))
        spacing = max(r / 2.0, 1e-9) if r > 0 else self._min_spacing()
        steps = int(dist // spacing)
        for i in range(1, steps + 1):
            self._dab(self._last_dab + (p - self._last_dab) * (i * spacing / dist))
        if steps:
            self._last_dab = self._last_dab + (p - self._last_dab) * (steps * spacing / dist)

    def _min_spacing(self) -> float:
        (x0, x1), (y0, y1) = self.plot.getViewBox().viewRange()
        return max(x1 - x0, y1 - y0) / 100.0

    def _dab(self, centre: np.ndarray) -> None:
        room = MAX_POINTS - self.n_points()
        if room <= 0:
            self.message.emit(f"The drawing has the maximum of {MAX_POINTS} points.")
            return
        r = self.radius.value()
        m = min(self.per_dab.value() if r > 0 else 1, room)
        if r > 0:
            rad = r * np.sqrt(self._rng.random(m))
            ang = 2 * math.pi * self._rng.random(m)
            pts = centre + np.stack([rad * np.cos(ang), rad * np.sin(ang)], axis=1)
        else:
            pts = centre[None, :].copy()
        self._stroke.append(pts)
        self._update_scatter()

    def end_stroke(self) -> None:
        if self._stroke:
            self._strokes.append(np.concatenate(self._stroke))
        self._stroke = []
        self._last_dab = None
        self._update_scatter()

    def add_points(self, pts: np.ndarray) -> None:
        """Add a stroke of points programmatically (tests, scripted demos)."""
        pts = np.asarray(pts, dtype=np.float64).reshape(-1, 2)[: max(0, MAX_POINTS - self.n_points())]
        if len(pts):
            self._strokes.append(pts)
        self._update_scatter()

    def points(self) -> np.ndarray:
        parts = self._strokes + ([np.concatenate(self._stroke)] if self._stroke else [])
        return np.concatenate(parts) if parts else np.empty((0, 2))

    def n_points(self) -> int:
        return sum(len(s) for s in self._strokes) + sum(len(s) for s in self._stroke)

    def undo(self) -> None:
        if self._strokes:
            self._strokes.pop()
        self._update_scatter()

    def clear(self) -> None:
        self._strokes.clear()
        self._stroke = []
        self._update_scatter()

    def _update_scatter(self) -> None:
        self.scatter.setData(pos=self.points())
        self._update_count()

    def _update_count(self) -> None:
        n = self.n_points()
        self.count_label.setText(f"{n} point{'s' if n != 1 else ''} (at most {MAX_POINTS})")
        self.apply_points_button.setEnabled(n >= 2)
        self.undo_button.setEnabled(bool(self._strokes))
        self.clear_button.setEnabled(n > 0)

    def apply_points(self) -> None:
        pts = self.points()
        if self.points_1d.isChecked():
            pts = pts[:, :1]
        try:
            rows = points_rows(pts)
        except ConfigError as e:
            self.message.emit(f"Cannot use these points: {e}")
            return
        self.applied.emit(rows, "drawn")

    # ------------------------------------------------------------------ mixture
    def add_component(self, pos: tuple[float, float] | None = None) -> pg.TargetItem | None:
        if len(self.components) >= MAX_COMPONENTS:
            self.message.emit(f"A mixture has at most {MAX_COMPONENTS} components.")
            return None
        if pos is None:
            (x0, x1), (y0, y1) = self.plot.getViewBox().viewRange()
            jitter = 0.1 * (x1 - x0) * (self._rng.random(2) - 0.5)
            pos = ((x0 + x1) / 2 + jitter[0], (y0 + y1) / 2 + jitter[1])
        target = pg.TargetItem(pos=pos, size=16, movable=True, pen=pg.mkPen(COMPONENT_COLOUR, width=2),
                               brush=pg.mkBrush(COMPONENT_COLOUR + "60"), label=str(len(self.components) + 1),
                               labelOpts={"color": COMPONENT_COLOUR, "offset": (10, -10)})
        target.setZValue(41)
        target.sigPositionChanged.connect(lambda *_: self._update_components())
        self.components.append(target)
        self._sync_items()
        self._update_components()
        return target

    def remove_component(self) -> None:
        if not self.components:
            return
        row = self.component_list.currentRow()
        idx = row if 0 <= row < len(self.components) else len(self.components) - 1
        target = self.components.pop(idx)
        if target.scene() is not None:
            self.plot.removeItem(target)
        for i, t in enumerate(self.components):
            t.setLabel(str(i + 1), {"color": COMPONENT_COLOUR, "offset": (10, -10)})
        self._update_components()

    def set_mixture(self, means: np.ndarray, std: float) -> None:
        """Replace the components (e.g. start from the current dataset's modes)."""
        for t in self.components:
            if t.scene() is not None:
                self.plot.removeItem(t)
        self.components = []
        means = np.asarray(means, dtype=np.float64)
        if means.ndim == 1:
            means = means[:, None]
        self.mixture_1d.setChecked(means.shape[1] == 1)
        self.std.setValue(float(std))
        for m in means[:MAX_COMPONENTS]:
            self.add_component((float(m[0]), float(m[1]) if len(m) > 1 else 0.0))

    def means(self) -> np.ndarray:
        return np.array([[t.pos().x(), t.pos().y()] for t in self.components]).reshape(-1, 2)

    def _update_components(self) -> None:
        means = self.means()
        s = self.std.value()
        ang = np.linspace(0, 2 * math.pi, 49)
        xs, ys = [], []
        for m in means:
            for k in (1.0, 2.0):
                xs += list(m[0] + k * s * np.cos(ang)) + [np.nan]
                ys += list(m[1] + k * s * np.sin(ang)) + [np.nan]
        self.circles.setData(np.array(xs), np.array(ys), connect="finite")
        self.component_list.clear()
        for i, m in enumerate(means):
            self.component_list.addItem(f"{i + 1}: ({m[0]:.3f}, {m[1]:.3f})")
        self.apply_mixture_button.setEnabled(len(means) > 0)

    def apply_mixture(self) -> None:
        means = self.means()
        if self.mixture_1d.isChecked():
            means = means[:, :1]
        try:
            rows = mixture_rows(means, self.std.value())
        except ConfigError as e:
            self.message.emit(f"Cannot use this mixture: {e}")
            return
        self.applied.emit(rows, "mixture")
