"""The generator manifold on the 2D data view (issue 18.3): G's image of a fine z-grid, drawn as a warped mesh
whose cells are shaded by G's density there (noise mass / image area, core.manifold), over the D field.

Colours: a sequential green ramp (the generator's colour; ColorBrewer "Greens", ordered in lightness) whose
opacity rises with the density, so sparse cells barely tint the D field and dense ones stand out, and where G
folds the plane the overlapping sheets add up as p_g does. Thin lines follow every GRID_EVERY-th row and
column of the z-grid. A key in the view's corner names the layer, its units and, for z of more than 2
dimensions, the slice through z that is drawn.

The layer computes the manifold from each drawn snapshot's frozen G (`Snapshot.generator`) only while it is
shown, at most once per MIN_INTERVAL seconds (the latest snapshot wins; a timer draws the last one when the run
pauses), and `computed` counts the computations.
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from ganviz.core.manifold import DEFAULT_K, GeneratorWeights, Manifold
from ganviz.qt import style

MIN_INTERVAL = 0.25  # s: at most four manifolds a second (G moves little between two frames)
GRID_EVERY = 5  # a grid line every 5 cells of the z-grid (9 lines each way on the default 40 x 40 cells)
KEY_TITLE = "G's density (warped z-grid)"
# ColorBrewer Greens (sequential, perceptually ordered), light -> dark; opacity rises with density
GREENS = ("#c7e9c0", "#a1d99b", "#74c476", "#41ab5d", "#238b45", "#006d2c", "#00441b")
ALPHA = (35, 220)  # opacity of the sparsest and of the densest cells (0..255)
GRID_PEN = ("#00441b", 150)  # the grid lines: the ramp's darkest green, half opaque (the D field is the same
# colour map in every theme, so one colour reads on it in all of them)
LUT_SIZE = 256
CURVE_BUCKETS = 12  # a 1D noise curve in 2D data: drawn as this many colour classes of segments
KEY_ROW = 6  # the key's row in the PlotItem's layout (4: the legend under the plot, 5: a horizontal colour bar)


def density_lut(n: int = LUT_SIZE) -> np.ndarray:
    """(n, 4) uint8 RGBA: the shade 0..1 (log density, low to high) -> colour, light and faint to dark and
    opaque; lightness falls and opacity rises monotonically along it."""
    stops = np.array([QtGui.QColor(c).getRgb()[:3] for c in GREENS], dtype=np.float64)
    t = np.linspace(0.0, 1.0, n)
    pos = np.linspace(0.0, 1.0, len(stops))
    rgb = np.stack([np.interp(t, pos, stops[:, i]) for i in range(3)], axis=1)
    alpha = ALPHA[0] + (ALPHA[1] - ALPHA[0]) * t
    return np.round(np.column_stack([rgb, alpha])).astype(np.uint8)


def _qcolors(lut: np.ndarray) -> list[QtGui.QColor]:
    return [QtGui.QColor(int(r), int(g), int(b), int(a)) for r, g, b, a in lut]


def density_text(log_density: float) -> str:
    """A density for the key, from its natural log: two significant digits ('0.031', '1.2', '46', '3.1e+03')."""
    v = math.exp(log_density)
    if not math.isfinite(v):
        return "∞"
    return f"{v:.2g}" if 1e-3 <= v < 1e4 else f"{v:.1e}"


def units_text(m: Manifold) -> str:
    """What the colours measure, in words, for the key."""
    per = "unit length" if m.kind == "curve" else "unit area"
    what = "noise mass of the slice" if any(math.isfinite(f) for f in m.fixed) else "probability"
    return f"{what} per {per} (log scale)"


class DensityKey(pg.GraphicsWidget):
    """The manifold's colour key, a row of the plot's layout under the view (it never covers the data): the
    title and units, the colour ramp between its end values, and the slice through z when the noise has more
    than two dimensions. Drawn in the current theme's colours."""

    def __init__(self, lut: np.ndarray) -> None:
        super().__init__()
        self._lut = lut
        self.title = KEY_TITLE
        self.ends = ("", "")
        self.units = ""
        self.slice = ""
        self.note = ""
        self._font = style.font(style.LEGEND_PT)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)
        self._relayout()

    def set_text(self, ends: tuple[str, str], units: str, slice_label: str, note: str = "") -> None:
        if (ends, units, slice_label, note) != (self.ends, self.units, self.slice, self.note):
            self.ends, self.units, self.slice, self.note = ends, units, slice_label, note
            self._relayout()

    def lines(self) -> list[str]:
        """The key's text lines as drawn ('' stands for the ramp row)."""
        if self.note:
            return [f"{self.title}: {self.note}"]
        out = [f"{self.title}, {self.units}:", ""]
        if self.slice:
            out.append(self.slice)
        return out

    def _relayout(self) -> None:
        fm = QtGui.QFontMetrics(self._font)
        h = len(self.lines()) * (fm.height() + 2) + 4
        self.setMinimumHeight(h)
        self.setMaximumHeight(h)
        self.updateGeometry()
        self.update()

    def paint(self, p: QtGui.QPainter, *args: object) -> None:
        pal = style.palette()
        fg = QtGui.QColor(pal.foreground)
        fm = QtGui.QFontMetrics(self._font)
        width = self.boundingRect().width()
        p.setFont(self._font)
        y = 2.0
        for text in self.lines():
            row = QtCore.QRectF(4, y, width - 8, fm.height())
            y += fm.height() + 2
            p.setPen(fg)
            if text:
                p.drawText(row, QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter,
                           fm.elidedText(text, QtCore.Qt.TextElideMode.ElideRight, int(row.width())))
                continue
            lo, hi = self.ends
            left = fm.horizontalAdvance(lo) + 6
            right = fm.horizontalAdvance(hi) + 6
            p.drawText(QtCore.QPointF(row.left(), row.top() + fm.ascent()), lo)
            ramp = QtCore.QRectF(row.left() + left, row.top() + 2, min(row.width() - left - right, 240),
                                 fm.height() - 4)
            p.drawText(QtCore.QPointF(ramp.right() + 6, row.top() + fm.ascent()), hi)
            grad = QtGui.QLinearGradient(ramp.topLeft(), ramp.topRight())
            stops = self._lut[:: max(len(self._lut) // 16, 1)]
            for n, c in enumerate(_qcolors(stops)):
                grad.setColorAt(n / (len(stops) - 1), c)
            p.fillRect(ramp, QtGui.QColor(style.colormap_middle(pal.colormap)))  # as over the D field's middle
            p.fillRect(ramp, QtGui.QBrush(grad))
            p.setPen(pg.mkPen(pal.foreground, width=1))
            p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            p.drawRect(ramp)


class ManifoldLayer(QtCore.QObject):
    """G's manifold on a PlotItem: a PColorMeshItem (2D noise or a slice), coloured segments (1D noise in 2D
    data), grid lines and the key; with `ribbon` (1D data) the map z -> G(z) as quads joining each z cell on
    the line y = 0 to its image on y = 1, shaded by p_g there. `update_snapshot` schedules a computation;
    `set_visible(False)` stops computing."""

    def __init__(self, plot: pg.PlotItem, z: float = 6.0, k: int = DEFAULT_K, ribbon: bool = False,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.plot = plot
        self.ribbon = ribbon  # 1D data: each z cell (on the line y = 0) joined to its image G(z) (on y = 1)
        self.k = int(k)
        self.min_interval = MIN_INTERVAL
        self.computed = 0  # manifolds computed so far (tests: hiding the layer stops this)
        self.manifold: Manifold | None = None  # the one drawn
        self.shade: np.ndarray | None = None  # its per-cell shade (0..1) as drawn
        self.lut = density_lut()
        self._cmap = pg.ColorMap(np.linspace(0.0, 1.0, len(self.lut)), self.lut)
        self.mesh = pg.PColorMeshItem(colorMap=self._cmap, levels=(0.0, 1.0), enableAutoLevels=False)
        grid_colour = QtGui.QColor(GRID_PEN[0])
        grid_colour.setAlpha(GRID_PEN[1])
        self.grid = pg.PlotCurveItem(pen=pg.mkPen(grid_colour, width=1))
        lut_at = [self.lut[round(i * (LUT_SIZE - 1) / (CURVE_BUCKETS - 1))] for i in range(CURVE_BUCKETS)]
        self.segments = [pg.PlotCurveItem(pen=pg.mkPen(QtGui.QColor(*map(int, c)), width=4)) for c in lut_at]
        for item in (self.mesh, self.grid, *self.segments):
            item.setZValue(z + 0.1 if item is self.grid else z)
            plot.addItem(item, ignoreBounds=True)
        self.key = DensityKey(self.lut)  # in the plot's layout while shown: under the legend and a colour bar
        self._visible = True
        self._pending: GeneratorWeights | None = None
        self._drawn_source: GeneratorWeights | None = None
        self._last_time = -math.inf
        self._waited_for_torch = False
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._run)
        self.set_visible(False)

    # -- public API --------------------------------------------------------------------------------------
    def set_visible(self, on: bool) -> None:
        self._visible = bool(on)
        for item in (self.mesh, self.grid, *self.segments, self.key):
            item.setVisible(self._visible)
        in_layout = self.key.parentItem() is not None
        if self._visible and not in_layout:
            self.plot.layout.addItem(self.key, KEY_ROW, 1)
        elif not self._visible and in_layout:
            self.plot.layout.removeItem(self.key)
            self.key.setParentItem(None)
            if self.key.scene() is not None:
                self.key.scene().removeItem(self.key)
        if not self._visible:
            self._timer.stop()
            self._pending = None
        elif self._pending is not None:
            self._schedule()

    def is_visible(self) -> bool:
        return self._visible

    def update_snapshot(self, snapshot: object) -> None:
        """Draw the manifold of this snapshot's G (now, or within MIN_INTERVAL); nothing while hidden."""
        if not self._visible:
            return
        gen = getattr(snapshot, "generator", None)
        if gen is None:
            self._timer.stop()
            self._pending = None
            self._show_none()
            return
        self._pending = gen
        self._schedule()

    def reset(self) -> None:
        self._timer.stop()
        self._pending = self._drawn_source = self.manifold = self.shade = None
        self._last_time = -math.inf
        self._clear()

    @property
    def source(self) -> GeneratorWeights | None:
        """The snapshot generator the drawn manifold was computed from (None when nothing is drawn)."""
        return self._drawn_source

    def slice_label(self) -> str:
        """The slice through z the key names ('' for a grid over all of z)."""
        return self.key.slice

    # -- internals ---------------------------------------------------------------------------------------
    def _schedule(self) -> None:
        wait = self._last_time + self.min_interval - time.monotonic()
        if wait <= 0:
            self._run()
        elif not self._timer.isActive():
            self._timer.start(int(wait * 1000) + 1)

    def _run(self) -> None:
        gen, self._pending = self._pending, None
        if gen is None or not self._visible:
            return
        if "torch" not in sys.modules and not self._waited_for_torch:
            # the first frame reaches the window before torch does (issue 20): let the start-up go first
            self._waited_for_torch = True
            self._pending = gen
            self._timer.start(500)
            return
        if gen is self._drawn_source:
            return
        try:
            m = gen.manifold(self.k)
        except ValueError as exc:  # e.g. a generator that is not a map of noise: say so, draw nothing
            self._show_none(str(exc))
            return
        self._last_time = time.monotonic()
        self.computed += 1
        self._drawn_source = gen
        self._draw(m)

    def _show_none(self, why: str = "") -> None:
        self.manifold = self.shade = None
        self._drawn_source = None
        self._clear()
        self.key.set_text(("", ""), "", "", why or "none: this generator is not a map of noise z")

    def _clear(self) -> None:
        self.mesh.setData(np.zeros((2, 2)), np.zeros((2, 2)), np.full((1, 1), np.nan))
        self.grid.setData([], [])
        for seg in self.segments:
            seg.setData([], [])

    def _draw(self, m: Manifold) -> None:
        shade = m.shading()
        rng = m.log_density_range()
        ends = ("", "") if rng is None else (density_text(rng[0]), density_text(rng[1]))
        slice_label = m.label if any(math.isfinite(f) for f in m.fixed) else ""
        self.key.set_text(ends, units_text(m), slice_label)
        self._clear()
        pts = np.asarray(m.points, dtype=np.float64)
        if self.ribbon and m.kind == "curve" and pts.shape[1] == 1:  # Goodfellow et al. (2014), figure 1
            x = np.stack([m.za, pts[:, 0]])
            y = np.stack([np.zeros(len(m.za)), np.ones(len(m.za))])
            shade = shade[None, :]
            self._draw_mesh(np.stack([x, y], axis=-1), shade)
        elif m.kind == "mesh":
            self._draw_mesh(pts, shade)
        else:
            self._draw_curve(pts, shade)
        self.manifold, self.shade = m, shade

    def _draw_mesh(self, pts: np.ndarray, shade: np.ndarray) -> None:
        x, y = pts[..., 0], pts[..., 1]
        ok = np.isfinite(x) & np.isfinite(y)
        z = shade.astype(np.float64).copy()
        if not ok.all():  # a diverged G: cells touching a non-finite vertex are not drawn
            bad = ~(ok[:-1, :-1] & ok[1:, :-1] & ok[:-1, 1:] & ok[1:, 1:])
            z[bad] = np.nan
            x, y = np.where(ok, x, 0.0), np.where(ok, y, 0.0)
        self.mesh.setData(x, y, z)
        k1, k2 = pts.shape[0], pts.shape[1]
        rows = list(range(0, k1, GRID_EVERY)) + ([k1 - 1] if (k1 - 1) % GRID_EVERY else [])
        cols = list(range(0, k2, GRID_EVERY)) + ([k2 - 1] if (k2 - 1) % GRID_EVERY else [])
        lines = [pts[r] for r in rows] + [pts[:, c] for c in cols]
        xy = np.concatenate(lines)
        connect = np.concatenate([np.append(np.ones(len(line) - 1, bool), False) for line in lines])
        finite = np.isfinite(xy).all(axis=1)
        if not finite.all():  # never join across a dropped point
            idx = np.nonzero(finite)[0]
            connect = connect[idx] & np.append(np.diff(idx) == 1, False)
            xy = xy[idx]
        self.grid.setData(xy[:, 0], xy[:, 1], connect=connect)

    def _draw_curve(self, pts: np.ndarray, shade: np.ndarray) -> None:
        xy = pts[:, :2] if pts.shape[1] >= 2 else np.column_stack([pts[:, 0], np.zeros(len(pts))])
        seg = np.stack([xy[:-1], xy[1:]], axis=1)  # (k - 1, 2, 2)
        ok = np.isfinite(seg).all(axis=(1, 2))
        bucket = np.clip(np.round(shade * (CURVE_BUCKETS - 1)).astype(int), 0, CURVE_BUCKETS - 1)
        for i, item in enumerate(self.segments):
            s = seg[ok & (bucket == i)].reshape(-1, 2)
            item.setData(s[:, 0], s[:, 1], connect="pairs") if len(s) else item.setData([], [])


def cell_colours(layer: ManifoldLayer) -> np.ndarray:
    """The RGBA (uint8) each drawn mesh cell gets, as PColorMeshItem maps its shade (tests, exports)."""
    if layer.shade is None:
        return np.empty((0, 4), np.uint8)
    idx = np.clip((np.asarray(layer.shade) * (LUT_SIZE - 1)).astype(int), 0, LUT_SIZE - 1)
    return layer.lut[idx]

