"""The 2D field: D as a heatmap with a colour bar, its equilibrium contour, samples, arrows, G's manifold."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from ganviz.core.snapshot import Field2D, Snapshot
from ganviz.qt import style
from ganviz.qt.panels._common import FastScatter, canvas, fast_dashes, objective_of, panel_layout
from ganviz.qt.panels._contour import contour_segments
from ganviz.qt.panels.manifold import ManifoldLayer

MAX_ARROWS = 400  # gradient arrows drawn (the first fakes of the fixed noise batch: same subset each frame)
ARROW_FRACTION = 0.08  # the 95th-percentile arrow is this fraction of the view's larger side
LEVEL_SMOOTHING = 0.15  # EMA weight of a new frame's robust colour levels (critics only)
ROBUST_PERCENTILE = 98.0  # half-width of critic levels: this percentile of |value - median|
COLORBAR_ROOM = (85.0, 70.0)  # px the colour bar takes beside the view (vertical) / under it (horizontal)


def grid_rect(xs: np.ndarray, ys: np.ndarray) -> QtCore.QRectF:
    """Scene rectangle covered by a grid whose samples are pixel centres: [x0 - dx/2, x_last + dx/2] etc."""
    nx, ny = len(xs), len(ys)
    dx = (xs[-1] - xs[0]) / (nx - 1) if nx > 1 else 1.0
    dy = (ys[-1] - ys[0]) / (ny - 1) if ny > 1 else 1.0
    return QtCore.QRectF(float(xs[0] - dx / 2), float(ys[0] - dy / 2), float(nx * dx), float(ny * dy))


def robust_levels(values: np.ndarray) -> tuple[float, float] | None:
    """Symmetric levels around the median: median +- the ROBUST_PERCENTILE of |value - median|."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return None
    centre = float(np.median(v))
    half = float(np.percentile(np.abs(v - centre), ROBUST_PERCENTILE))
    if not half > 0:
        half = max(abs(centre) * 1e-3, 1e-6)
    return centre - half, centre + half


class Data2DPanel(QtWidgets.QWidget):
    """D (or the critic) over the plane, with real (black) and fake (orange) samples.

    Heatmap: `Field2D.values[iy, ix]` drawn as a row-major float32 ImageItem whose pixel centres sit at
    (xs[ix], ys[iy]) (so the image covers half a grid step beyond the first/last sample). Colour levels are
    fixed to the objective's `display_range`; when that is None (critics) they are symmetric robust levels
    around the median (see `robust_levels`), smoothed by an EMA over frames so colours do not flicker.

    Contour: drawn at `equilibrium_d` (D = 1/2 for probability objectives). For objectives with no
    equilibrium value (WGAN critics) it is drawn at the level midway between the mean critic value on the
    real and on the fake batch, (mean f(real) + mean f(fake)) / 2: the critic's own real/fake boundary.

    Gradient arrows (toggle): grad_x of D's raw output at the first MAX_ARROWS fakes, the direction that
    raises D, i.e. where the generator is pushed. One global scale per frame (the 95th-percentile arrow is
    ARROW_FRACTION of the view) so relative magnitudes stay comparable within a frame.
    Generator manifold (toggle, `z_grid_checkbox`): G's image of a fine z-grid as a mesh shaded by density,
    computed from the snapshot's G while shown (panels/manifold.py: ManifoldLayer).
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        pal = style.palette()
        lay, header = panel_layout(self)
        self.arrows_checkbox = QtWidgets.QCheckBox("gradient arrows")
        self.arrows_checkbox.setToolTip(
            "Arrows at the fake samples along grad_x D(x): the direction that makes D call them more real,"
            " which is where the generator's update pushes them."
        )
        self.z_grid_checkbox = QtWidgets.QCheckBox("G manifold")
        self.z_grid_checkbox.setToolTip(
            "The generator manifold: G's image of a fine grid over noise z, a warped mesh shaded by G's density"
            " (noise mass / area of each cell's image; darker = more samples per area). For z of more than 2"
            " dimensions, a 2D slice through z, named on the plot."
        )
        header.addWidget(self.arrows_checkbox)
        header.addWidget(self.z_grid_checkbox)
        header.addStretch(1)

        self._glw = canvas(lay)

        self.plot: pg.PlotItem = self._glw.addPlot()
        self.plot.setAspectLocked(True)
        self.plot.disableAutoRange()
        style.style_plot(self.plot, bottom="x<sub>1</sub>", left="x<sub>2</sub>", title="Discriminator field")

        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-10)
        self.plot.addItem(self.image)
        # Two colour bars, one in the layout at a time: beside the map in a wide pane, under it in a tall one
        # (the view keeps equal aspect, so a tall pane showed wide empty bands above and below the field).
        self._bars = {o: self._make_colorbar(o, pal) for o in ("vertical", "horizontal")}
        self.plot.layout.setColumnFixedWidth(4, 5)  # a gap between the view and the vertical bar
        self.colorbar = self._bars["vertical"]
        self._colorbar_axis = self.colorbar.axis
        self.plot.layout.addItem(self.colorbar, 2, 5)
        # the other bar stays in the scene, hidden and out of the layout, so a theme change recolours it too
        self._bars["horizontal"].setParentItem(self.plot)
        self._bars["horizontal"].hide()
        self._orient_timer = QtCore.QTimer(self)
        self._orient_timer.setSingleShot(True)
        self._orient_timer.setInterval(0)
        self._orient_timer.timeout.connect(self._fit_colorbar)
        self.plot.getViewBox().sigResized.connect(self._orient_timer.start)

        self.legend = style.add_legend(self.plot)
        self.contour = pg.PlotCurveItem(pen=style.pen(pal.contour, 2, "dash"), connect="pairs")
        fast_dashes(self.contour)
        self.contour.setZValue(5)
        self.plot.addItem(self.contour)
        self.manifold = ManifoldLayer(self.plot, z=6.0, parent=self)
        self.real_scatter = FastScatter(
            size=5, pen=style.pen(pal.real_edge, 1), brush=style.brush(pal.real, 230), symbol="o", pxMode=True
        )
        self.real_scatter.setZValue(10)
        self.plot.addItem(self.real_scatter)
        self.fake_scatter = FastScatter(
            size=5, pen=style.pen(pal.fake_edge, 1), brush=style.brush(pal.fake, 230), symbol="o", pxMode=True
        )
        self.fake_scatter.setZValue(11)
        self.plot.addItem(self.fake_scatter)
        self.arrows = pg.PlotCurveItem(pen=style.pen(pal.arrows, 1), connect="pairs")
        self.arrows.setZValue(12)
        self.plot.addItem(self.arrows)
        self.modes_scatter = FastScatter(  # under the samples: the crosses hid the real and converged fakes
            size=11, pen=style.pen(pal.foreground, 1), brush=style.brush(pal.modes, 160), symbol="+", pxMode=True
        )
        self.modes_scatter.setZValue(9)
        self.plot.addItem(self.modes_scatter)

        self.legend.addItem(self.real_scatter, "real samples")
        self.legend.addItem(self.fake_scatter, "fake samples G(z)")
        self._contour_swatch = style.colormap_middle(pal.colormap)  # the legend draws the contour as on the map
        self.legend.addItem(style.SwatchSample(self.contour, self._contour_swatch), "D = 0.5")

        self.arrows.setVisible(False)
        self.arrows_checkbox.toggled.connect(self._on_arrows_toggled)
        self.z_grid_checkbox.toggled.connect(self._on_z_grid_toggled)

        self._objective: str | None = None
        self._fixed_levels: tuple[float, float] | None = None
        self._smoothed: tuple[float, float] | None = None
        self._rect_key: tuple | None = None
        self._view_key: tuple | None = None
        self._last: Snapshot | None = None
        self._contour_label = "D = 0.5"
        self._modes_in_legend = False

    # -- public API --------------------------------------------------------------------------------------
    def update_snapshot(self, snapshot: Snapshot) -> None:
        self._last = snapshot
        obj = objective_of(snapshot.objective)
        if snapshot.objective != self._objective:
            self._objective = snapshot.objective
            self._fixed_levels = None if obj.display_range is None else tuple(map(float, obj.display_range))
            self._smoothed = None
            for bar in self._bars.values():  # new text in the label's current style (theme colour, font size)
                bar.axis.setLabel(obj.d_axis_label, **dict(bar.axis.labelStyle))
        self._set_view(snapshot)

        f = snapshot.field2d
        if f is not None:
            self._draw_field(f)
            self._draw_contour(f, obj.equilibrium_d, snapshot)
        self.real_scatter.set_positions(_finite_rows(_xy(snapshot.real)))
        self.fake_scatter.set_positions(_finite_rows(_xy(snapshot.fake)))
        has_modes = snapshot.modes is not None and len(snapshot.modes) > 0
        self.modes_scatter.set_positions(_finite_rows(_xy(snapshot.modes)) if has_modes else np.empty((0, 2)))
        if has_modes != self._modes_in_legend:
            self._modes_in_legend = has_modes
            self._legend_toggle(self.modes_scatter, "mode centres", has_modes)
        if self.arrows_checkbox.isChecked():
            self._draw_arrows(snapshot)
        self.manifold.update_snapshot(snapshot)  # computes only while shown, at most a few times a second

    def reset(self) -> None:
        self.image.clear()
        for item in (self.contour, self.arrows):
            item.setData([], [])
        self.manifold.reset()
        for sc in (self.real_scatter, self.fake_scatter, self.modes_scatter):
            sc.setData(pos=np.empty((0, 2)))
        self._objective = None
        self._smoothed = None
        self._rect_key = None
        self._view_key = None
        self._last = None

    def set_show_arrows(self, show: bool) -> None:
        self.arrows_checkbox.setChecked(bool(show))

    def set_show_z_grid(self, show: bool) -> None:
        self.z_grid_checkbox.setChecked(bool(show))

    def levels(self) -> tuple[float, float]:
        """Colour levels currently applied to the heatmap."""
        lo, hi = self.colorbar.levels()
        return float(lo), float(hi)

    def colorbar_orientation(self) -> str:
        return "horizontal" if self.colorbar.horizontal else "vertical"

    def empty_band(self) -> float:
        """Share of the visible view that the data's range does not cover (equal aspect leaves bands)."""
        if self._view_key is None:
            return 0.0
        (x0, x1), (y0, y1) = self.plot.getViewBox().viewRange()
        shown = (x1 - x0) * (y1 - y0)
        k = self._view_key
        data = (min(x1, k[1]) - max(x0, k[0])) * (min(y1, k[3]) - max(y0, k[2]))
        return 1.0 - data / shown if shown > 0 else 0.0

    # -- internals ---------------------------------------------------------------------------------------
    def _make_colorbar(self, orientation: str, pal: style.Palette) -> pg.ColorBarItem:
        bar = pg.ColorBarItem(
            values=(0.0, 1.0), width=14, colorMap=pg.colormap.get(pal.colormap), interactive=False,
            colorMapMenu=False, pen=pg.mkPen(pal.foreground), orientation=orientation,
        )
        bar.setImageItem(self.image)
        bar.axis.enableAutoSIPrefix(False)
        bar.axis.setTickFont(style.font(style.TICK_PT))
        bar.axis.setTextPen(pg.mkPen(pal.foreground))
        # a title from the start, so that a theme or presentation mode (which restyle the items they find)
        # sets its colour and size; a frame changes only its text
        bar.axis.setLabel(objective_of("ns").d_axis_label, color=pal.foreground,
                          **{"font-size": f"{style.AXIS_LABEL_PT}pt"})
        if orientation == "vertical":
            # pyqtgraph fixes this axis at 45 px: wider tick labels ("-1.5") then ran under the title; auto
            # width makes room for the widest tick label beside the title
            bar.axis.setWidth(None)
        else:
            style.readable_ticks(bar.axis)
        return bar

    def _fit_colorbar(self) -> None:
        """Put the colour bar where the view loses less to empty bands: beside (wide panes) or under (tall)."""
        vb = self.plot.getViewBox()
        w, h = vb.width(), vb.height()
        if w < 40 or h < 40:
            return
        k = self._view_key or (0.0, 1.0, 0.0, 1.0)
        aspect = (k[3] - k[2]) / max(k[1] - k[0], 1e-12)  # data height / width

        def band(width: float, height: float) -> float:
            r = (height / max(width, 1.0)) / aspect
            return 1.0 - min(r, 1.0 / r) if r > 0 else 1.0

        beside, under = COLORBAR_ROOM
        if self.colorbar.horizontal:
            now, other = band(w, h), band(w - beside, h + under)
        else:
            now, other = band(w, h), band(w + beside, h - under)
        if other < now - 0.05:  # hysteresis: no flapping around the break-even shape
            self._set_colorbar("vertical" if self.colorbar.horizontal else "horizontal")

    def _set_colorbar(self, orientation: str) -> None:
        levels = self.colorbar.levels()
        self.plot.layout.removeItem(self.colorbar)
        self.colorbar.hide()
        self.colorbar = self._bars[orientation]
        self._colorbar_axis = self.colorbar.axis
        if orientation == "horizontal":
            self.plot.layout.addItem(self.colorbar, 5, 1)  # under the legend
        else:
            self.plot.layout.addItem(self.colorbar, 2, 5)
        self.colorbar.show()
        self.colorbar.setLevels(levels)

    def _on_arrows_toggled(self, on: bool) -> None:
        self.arrows.setVisible(on)
        self._legend_toggle(self.arrows, "grad D at fakes", on)
        if on and self._last is not None:
            self._draw_arrows(self._last)

    def _on_z_grid_toggled(self, on: bool) -> None:
        self.manifold.set_visible(on)
        if on and self._last is not None:
            self.manifold.update_snapshot(self._last)

    def _legend_toggle(self, item: pg.GraphicsObject, label: str, on: bool) -> None:
        self.legend.removeItem(item)
        if on:
            self.legend.addItem(item, label)

    def _set_view(self, snapshot: Snapshot) -> None:
        if len(snapshot.bounds) >= 4:
            key = tuple(float(b) for b in snapshot.bounds[:4])
        elif snapshot.field2d is not None:
            r = grid_rect(snapshot.field2d.xs, snapshot.field2d.ys)
            key = (r.left(), r.right(), r.top(), r.bottom())
        else:
            return
        key = _with_fakes(key, _finite_rows(_xy(snapshot.fake)), self._view_key)
        if key != self._view_key:
            self._view_key = key
            self.plot.setRange(xRange=key[0:2], yRange=key[2:4], padding=0.0)

    def _draw_field(self, f: Field2D) -> None:
        xs = np.asarray(f.xs, dtype=np.float64)
        ys = np.asarray(f.ys, dtype=np.float64)
        values = np.asarray(f.values, dtype=np.float32)
        if len(xs) > 1 and xs[1] < xs[0]:
            xs, values = xs[::-1], values[:, ::-1]
        if len(ys) > 1 and ys[1] < ys[0]:
            ys, values = ys[::-1], values[::-1, :]
        levels = self._fixed_levels
        if levels is None:
            new = robust_levels(values)
            if new is not None:
                if self._smoothed is None:
                    self._smoothed = new
                else:
                    a = LEVEL_SMOOTHING
                    self._smoothed = (
                        (1 - a) * self._smoothed[0] + a * new[0], (1 - a) * self._smoothed[1] + a * new[1]
                    )
            levels = self._smoothed or (0.0, 1.0)
        self.image.setImage(np.ascontiguousarray(values), autoLevels=False)
        # through the colour bar, after setImage: ImageItem applies levels deferred from before its first
        # image inside setImage, which would otherwise override ours on the first frame. Only when they
        # change: the bar re-ranges its axis on every call, and that axis was re-laid out every frame.
        levels = (float(levels[0]), float(levels[1]))
        current = self.image.getLevels()
        if tuple(self.colorbar.levels()) != levels or current is None or tuple(map(float, current)) != levels:
            self.colorbar.setLevels(levels)
        key = (len(xs), len(ys), xs[0], xs[-1], ys[0], ys[-1])
        if key != self._rect_key:
            self._rect_key = key
            self.image.setRect(grid_rect(xs, ys))

    def _draw_contour(self, f: Field2D, equilibrium: float | None, snapshot: Snapshot) -> None:
        if equilibrium is not None:
            level = float(equilibrium)
            label = f"D = {level:g}"
        else:
            d_real = np.asarray(snapshot.d_real, dtype=np.float64)
            d_fake = np.asarray(snapshot.d_fake, dtype=np.float64)
            d_real, d_fake = d_real[np.isfinite(d_real)], d_fake[np.isfinite(d_fake)]
            level = 0.5 * (d_real.mean() + d_fake.mean()) if d_real.size and d_fake.size else np.nan
            label = "f = (mean f(real) + mean f(fake)) / 2"
        if label != self._contour_label:
            self._contour_label = label
            self.legend.removeItem(self.contour)
            self.legend.addItem(style.SwatchSample(self.contour, self._contour_swatch), label)
        seg = contour_segments(f.values, level, f.xs, f.ys)
        if len(seg):
            self.contour.setData(seg[:, 0], seg[:, 1], connect="pairs")
        else:
            self.contour.setData([], [])

    def _draw_arrows(self, snapshot: Snapshot) -> None:
        g = snapshot.grad_fake
        if g is None or len(g) == 0:
            self.arrows.setData([], [])
            return
        p = _xy(snapshot.fake)[:MAX_ARROWS]
        g = _xy(g)[: len(p)]
        norm = np.hypot(g[:, 0], g[:, 1])
        ok = np.isfinite(norm) & (norm > 0) & np.isfinite(p).all(axis=1)
        if not ok.any():
            self.arrows.setData([], [])
            return
        p, g, norm = p[ok], g[ok], norm[ok]
        vr = self.plot.getViewBox().viewRange()
        span = max(vr[0][1] - vr[0][0], vr[1][1] - vr[1][0])
        ref = float(np.percentile(norm, 95))
        vec = g * (ARROW_FRACTION * span / ref)
        vec_norm = np.hypot(vec[:, 0], vec[:, 1])
        too_long = vec_norm > 1.5 * ARROW_FRACTION * span
        vec[too_long] *= (1.5 * ARROW_FRACTION * span / vec_norm[too_long])[:, None]
        tip = p + vec
        # arrow heads: two strokes back from the tip, +-25 degrees, 30% of the shaft
        back = -0.3 * vec
        c, s = np.cos(np.radians(25)), np.sin(np.radians(25))
        h1 = np.stack([c * back[:, 0] - s * back[:, 1], s * back[:, 0] + c * back[:, 1]], axis=1)
        h2 = np.stack([c * back[:, 0] + s * back[:, 1], -s * back[:, 0] + c * back[:, 1]], axis=1)
        pts = np.stack([p, tip, tip, tip + h1, tip, tip + h2], axis=1).reshape(-1, 2)
        self.arrows.setData(pts[:, 0], pts[:, 1], connect="pairs")


def _xy(a: np.ndarray | None) -> np.ndarray:
    if a is None:
        return np.empty((0, 2))
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] < 2:
        return np.empty((0, 2))
    return a[:, :2]


FAKES_IN_VIEW = 0.98  # the view grows to hold this share of the fakes (they must not vanish off the plot)
MAX_ZOOM_OUT = 4.0  # ... up to this many times the data's own range


def _with_fakes(data: tuple[float, ...], fake: np.ndarray, current: tuple[float, ...] | None) -> tuple[float, ...]:
    """The view range: the data's, grown to show the fakes when they leave it (at most MAX_ZOOM_OUT times
    the data's range); the current range is kept while it still holds them, so the view does not jitter."""
    if fake.size == 0:
        return data
    q = (1.0 - FAKES_IN_VIEW) / 2
    lo, hi = np.quantile(fake, q, axis=0), np.quantile(fake, 1.0 - q, axis=0)
    x0, x1, y0, y1 = data[:4]
    if lo[0] >= x0 and hi[0] <= x1 and lo[1] >= y0 and hi[1] <= y1:
        return data  # the fakes are within the data's range: the data's view
    if current is not None and lo[0] >= current[0] and hi[0] <= current[1] and lo[1] >= current[2] \
            and hi[1] <= current[3]:
        return current
    cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
    pad_x, pad_y = 0.1 * w, 0.1 * h
    nx0 = max(min(x0, lo[0] - pad_x), cx - MAX_ZOOM_OUT * w / 2)
    nx1 = min(max(x1, hi[0] + pad_x), cx + MAX_ZOOM_OUT * w / 2)
    ny0 = max(min(y0, lo[1] - pad_y), cy - MAX_ZOOM_OUT * h / 2)
    ny1 = min(max(y1, hi[1] + pad_y), cy + MAX_ZOOM_OUT * h / 2)
    return (float(nx0), float(nx1), float(ny0), float(ny1))


def _finite_rows(a: np.ndarray) -> np.ndarray:
    """Points with both coordinates finite (a diverged generator can emit NaN / inf)."""
    ok = np.isfinite(a).all(axis=1)
    return a if ok.all() else a[ok]
