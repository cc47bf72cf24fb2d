"""Goodfellow et al. (2014), figure 1, live: densities on top, D(x) and D*(x) below, shared x axis."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from ganviz.core.snapshot import Snapshot
from ganviz.qt import style
from ganviz.qt.panels._common import FastScatter, canvas, objective_of, panel_layout
from ganviz.qt.panels.manifold import ManifoldLayer

RUG_MAX = 400  # fake samples drawn as rug ticks (the fixed noise batch: the same subset every frame)
D_STAR_SUPPORT = 0.05  # D* is drawn only where p_data + p_g exceeds this share of its peak: elsewhere it is
# the ratio of two near-zero densities (one a KDE) and swings between 0 and 1 without meaning anything
D_STAR_LABEL = "D*(x), where p_data + p_g > 5% of peak"


def d_star_on_support(d_star: np.ndarray, p_data: np.ndarray | None, p_g: np.ndarray | None) -> np.ndarray:
    """D* with NaN (a gap) where both densities are negligible (D_STAR_SUPPORT)."""
    d_star = np.asarray(d_star, dtype=np.float64).copy()
    if p_data is None or p_g is None:
        return d_star
    total = np.asarray(p_data, dtype=np.float64) + np.asarray(p_g, dtype=np.float64)
    peak = np.nanmax(total) if total.size and np.isfinite(total).any() else 0.0
    d_star[~(total > D_STAR_SUPPORT * peak)] = np.nan
    return d_star


class Data1DPanel(QtWidgets.QWidget):
    """Two stacked plots with linked x axes.

    Top: analytic p_data (black), p_g (green; the engine's KDE or analytic density), a density-normalised
    histogram of the fake samples (orange, normalised by the whole batch so it is comparable to p_g) and
    a rug of up to RUG_MAX fakes. Bottom: learned D(x) (blue); optimal D*(x) (dashed) only when the
    objective outputs a probability and the engine sent d_star; a grey line at `equilibrium_d` when
    defined; y range from the objective's `display_range` (autoscale when None, e.g. WGAN critics).
    G manifold (toggle, `z_grid_checkbox`): a third plot, the map z -> G(z) as in the paper's figure: each cell
    of a fine z-grid on the line y = 0 joined to its image on y = 1, shaded by G's density there (panels/manifold).
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None, bins: int = 60) -> None:
        super().__init__(parent)
        self.bins = int(bins)
        pal = style.palette()
        lay, header = panel_layout(self)
        self.z_grid_checkbox = QtWidgets.QCheckBox("G manifold (z → x)")
        self.z_grid_checkbox.setToolTip(
            "How G maps noise to data: each cell of a fine grid over z (bottom line) joined to its image G(z)"
            " (top line), shaded by G's density there (darker = more samples per unit length): where G squeezes"
            " z, p_g is high. For z of more than 1 dimension, a line through z, named under the plot."
        )
        header.addWidget(self.z_grid_checkbox)
        header.addStretch(1)
        self._glw = canvas(lay)

        # -- top: densities -------------------------------------------------------------------------------
        self.density_plot: pg.PlotItem = self._glw.addPlot(row=0, col=0)
        style.style_plot(self.density_plot, bottom="x", left="density p(x)", title="Data and generator")
        self.density_plot.showGrid(x=True, y=True, alpha=0.15)
        self.density_legend = style.add_legend(self.density_plot)
        self.fake_hist = self.density_plot.plot(
            np.array([0.0, 1.0]), np.array([0.0]), stepMode="center", fillLevel=0,
            pen=style.pen(pal.fake, 1), brush=style.brush(pal.fake, 70), name="fake samples (histogram)",
        )
        self.p_data_curve = self.density_plot.plot(
            [], [], pen=style.pen(pal.real, style.MAIN_WIDTH), name="p_data (analytic)"
        )
        self.p_g_curve = self.density_plot.plot(
            [], [], pen=style.pen(pal.gen, style.MAIN_WIDTH), name="p_g (generator)"
        )
        self.rug = FastScatter(
            symbol="|", size=10, pen=style.pen(pal.fake, 1), brush=None, pxMode=True
        )
        self.density_plot.addItem(self.rug)

        # -- bottom: D ----------------------------------------------------------------------------------
        self.d_plot: pg.PlotItem = self._glw.addPlot(row=1, col=0)
        style.style_plot(self.d_plot, bottom="x", left="D(x)", title="Discriminator")
        self.d_plot.showGrid(x=True, y=True, alpha=0.15)
        self.d_plot.setXLink(self.density_plot)
        self.d_legend = style.add_legend(self.d_plot)
        self.d_curve = self.d_plot.plot([], [], pen=style.pen(pal.disc, style.MAIN_WIDTH), name="D(x) learned")
        self.d_star_curve = self.d_plot.plot(
            [], [], pen=style.pen(pal.d_star, style.MAIN_WIDTH, "dash"), name=D_STAR_LABEL, connect="finite",
        )
        self.equilibrium_line = pg.InfiniteLine(angle=0, movable=False, pen=style.pen(pal.reference, 2, "dash"))
        self.equilibrium_line.setZValue(20)  # on top of the learned D, which lies on it at equilibrium
        self.d_plot.addItem(self.equilibrium_line, ignoreBounds=True)
        self._eq_sample = pg.PlotDataItem([], [], pen=style.pen(pal.reference, 1, "dash"))
        self._eq_in_legend = False
        self._d_star_in_legend = True

        # -- the map z -> G(z) (shown on demand) ---------------------------------------------------------
        self.map_plot = pg.PlotItem()
        style.style_plot(self.map_plot, bottom="x and z", left="", title="G maps z (bottom) to x = G(z) (top)")
        self.map_plot.setXLink(self.density_plot)
        self.map_plot.setYRange(-0.08, 1.08, padding=0.0)
        self.map_plot.setMouseEnabled(y=False)
        self.map_plot.getAxis("left").setTicks([[(0.0, "z"), (1.0, "G(z)")]])
        self.map_plot.setMaximumHeight(210)
        self.manifold = ManifoldLayer(self.map_plot, z=0.0, ribbon=True, parent=self)
        self.z_grid_checkbox.toggled.connect(self._on_z_grid_toggled)
        self._last: Snapshot | None = None

        self._objective: str | None = None
        self._x_range: tuple[float, float] | None = None

    # -- public API --------------------------------------------------------------------------------------
    def update_snapshot(self, snapshot: Snapshot) -> None:
        self._last = snapshot
        self.manifold.update_snapshot(snapshot)  # computes only while shown, at most a few times a second
        obj = objective_of(snapshot.objective)
        if snapshot.objective != self._objective:
            self._objective = snapshot.objective
            self._apply_objective(obj.d_axis_label, obj.display_range, obj.equilibrium_d)
        f = snapshot.field1d
        if f is None:
            return
        x = np.asarray(f.x, dtype=np.float64)
        self._set_x_range(snapshot, x)

        self.d_curve.setData(x, np.asarray(f.d, dtype=np.float64))
        self._set_optional(self.p_data_curve, x, f.p_data)
        self._set_optional(self.p_g_curve, x, f.p_g)
        show_d_star = obj.is_probability and f.d_star is not None
        self._set_optional(self.d_star_curve, x, d_star_on_support(f.d_star, f.p_data, f.p_g)
                           if show_d_star else None)
        self._legend_has_d_star(show_d_star)

        fake = np.asarray(snapshot.fake, dtype=np.float64)
        fake = fake.reshape(len(fake), -1)[:, 0] if fake.size else np.empty(0)
        fake = fake[np.isfinite(fake)]
        lo, hi = self._x_range if self._x_range is not None else (x[0], x[-1])
        edges = np.linspace(lo, hi, self.bins + 1)
        counts, _ = np.histogram(fake, bins=edges)
        n = max(len(snapshot.fake), 1)
        self.fake_hist.setData(edges, counts / (n * (edges[1] - edges[0])))
        rug = fake[:RUG_MAX]
        self.rug.set_positions(np.column_stack([rug, np.zeros_like(rug)]))

    def reset(self) -> None:
        for c in (self.p_data_curve, self.p_g_curve, self.d_curve, self.d_star_curve):
            c.setData([], [])
        self.fake_hist.setData(np.array([0.0, 1.0]), np.array([0.0]))
        self.rug.setData(pos=np.empty((0, 2)))
        self._objective = None
        self._x_range = None
        self._last = None
        self.manifold.reset()

    def set_show_z_grid(self, show: bool) -> None:
        self.z_grid_checkbox.setChecked(bool(show))

    # -- internals ---------------------------------------------------------------------------------------
    def _on_z_grid_toggled(self, on: bool) -> None:
        if on:
            self._glw.addItem(self.map_plot, row=2, col=0)
        else:
            self._glw.removeItem(self.map_plot)
        self.manifold.set_visible(on)
        if on and self._last is not None:
            self.manifold.update_snapshot(self._last)

    @staticmethod
    def _set_optional(curve: pg.PlotDataItem, x: np.ndarray, y: np.ndarray | None) -> None:
        if y is None:
            curve.setData([], [])
        else:
            curve.setData(x, np.asarray(y, dtype=np.float64))

    def _set_x_range(self, snapshot: Snapshot, x: np.ndarray) -> None:
        if len(snapshot.bounds) >= 2:
            rng = (float(snapshot.bounds[0]), float(snapshot.bounds[1]))
        else:
            rng = (float(x[0]), float(x[-1]))
        if rng != self._x_range:
            self._x_range = rng
            self.density_plot.setXRange(*rng, padding=0.0)

    def _apply_objective(
        self, axis_label: str, display_range: tuple[float, float] | None, equilibrium: float | None
    ) -> None:
        style.label_axis(self.d_plot, "left", axis_label)
        if display_range is None:
            self.d_plot.enableAutoRange(y=True)
        else:
            lo, hi = display_range
            self.d_plot.setYRange(lo, hi, padding=0.03)
        if self._eq_in_legend:
            self.d_legend.removeItem(self._eq_sample)
            self._eq_in_legend = False
        if equilibrium is None:
            self.equilibrium_line.setVisible(False)
        else:
            self.equilibrium_line.setPos(float(equilibrium))
            self.equilibrium_line.setVisible(True)
            self.d_legend.addItem(self._eq_sample, f"equilibrium D = {equilibrium:g}")
            self._eq_in_legend = True

    def _legend_has_d_star(self, show: bool) -> None:
        if show == self._d_star_in_legend:
            return
        if show:
            self.d_legend.addItem(self.d_star_curve, D_STAR_LABEL)
        else:
            self.d_legend.removeItem(self.d_star_curve)
        self._d_star_in_legend = show
