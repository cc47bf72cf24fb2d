"""Histograms of D's displayed output on the real batch and on the fake batch."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from ganviz.core.snapshot import Snapshot
from ganviz.qt import style
from ganviz.qt.panels._common import objective_of


def bin_edges(values: list[np.ndarray], display_range: tuple[float, float] | None, bins: int) -> np.ndarray:
    """Edges over the objective's display range, or over the finite data range when it has none."""
    if display_range is not None:
        lo, hi = float(display_range[0]), float(display_range[1])
    else:
        finite = [v[np.isfinite(v)] for v in values]
        finite = [v for v in finite if v.size]
        if not finite:
            lo, hi = -1.0, 1.0
        else:
            lo = float(min(v.min() for v in finite))
            hi = float(max(v.max() for v in finite))
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, bins + 1)


def counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Histogram counts; values outside the edges are counted in the edge bins (so counts sum to n)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    v = np.clip(v, edges[0], edges[-1])
    c, _ = np.histogram(v, bins=edges)
    return c.astype(np.float64)


class HistogramPanel(QtWidgets.QWidget):
    """Counts of D's displayed output on real (`d_real`) and fake (`d_fake`) samples.

    Bins span the objective's `display_range` (values outside are counted in the edge bins), or the data
    range for critics with no fixed range. A dashed vertical line marks `equilibrium_d` when defined.
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None, bins: int = 50) -> None:
        super().__init__(parent)
        self.bins = int(bins)
        pal = style.palette()
        self._glw = pg.GraphicsLayoutWidget()
        self._glw.setBackground(pal.background)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self._glw)

        self.plot: pg.PlotItem = self._glw.addPlot()
        style.style_plot(self.plot, bottom="D(x)", left="count", title="D output on real vs fake")
        self.plot.showGrid(x=False, y=True, alpha=0.15)
        self.legend = style.add_legend(self.plot)
        empty_x, empty_y = np.array([0.0, 1.0]), np.array([0.0])
        self.real_curve = self.plot.plot(
            empty_x, empty_y, stepMode="center", fillLevel=0, name="D on real",
            pen=style.pen(pal.real, style.MAIN_WIDTH), brush=style.brush(pal.real, 50),
        )
        self.fake_curve = self.plot.plot(
            empty_x, empty_y, stepMode="center", fillLevel=0, name="D on fake",
            pen=style.pen(pal.fake, style.MAIN_WIDTH), brush=style.brush(pal.fake, 80),
        )
        self.equilibrium_line = pg.InfiniteLine(angle=90, movable=False, pen=style.pen(pal.reference, 1, "dash"))
        self.equilibrium_line.setVisible(False)
        self.plot.addItem(self.equilibrium_line, ignoreBounds=True)
        self._eq_sample = pg.PlotDataItem([], [], pen=style.pen(pal.reference, 1, "dash"))
        self._eq_in_legend = False
        self._objective: str | None = None
        self.edges: np.ndarray | None = None
        self._axis_label: str | None = None  # the objective's D-axis label
        self._shown_label: str | None = None  # it, or its short form when the axis is too narrow
        self._full_width: float | None = None  # of the full label as rendered (pixels)
        self.plot.getAxis("bottom").geometryChanged.connect(self._fit_axis_label)

    def update_snapshot(self, snapshot: Snapshot) -> None:
        obj = objective_of(snapshot.objective)
        if snapshot.objective != self._objective:
            self._objective = snapshot.objective
            if obj.d_axis_label != self._axis_label:
                self._axis_label, self._full_width = obj.d_axis_label, None
            self._fit_axis_label()
            self._set_equilibrium(obj.equilibrium_d)
            if obj.display_range is not None:
                self.plot.enableAutoRange(x=False)
                self.plot.setXRange(*obj.display_range, padding=0.02)
            else:
                self.plot.enableAutoRange(x=True)
        d_real = np.asarray(snapshot.d_real, dtype=np.float64).ravel()
        d_fake = np.asarray(snapshot.d_fake, dtype=np.float64).ravel()
        self.edges = bin_edges([d_real, d_fake], obj.display_range, self.bins)
        self.real_curve.setData(self.edges, counts(d_real, self.edges))
        self.fake_curve.setData(self.edges, counts(d_fake, self.edges))

    def reset(self) -> None:
        empty_x, empty_y = np.array([0.0, 1.0]), np.array([0.0])
        self.real_curve.setData(empty_x, empty_y)
        self.fake_curve.setData(empty_x, empty_y)
        self._objective = None
        self.edges = None

    def _fit_axis_label(self) -> None:
        """Label the D axis with the objective's label, or with its short form ("D(x)") while the axis is too
        narrow for it (a narrow dock, or wide count ticks): never a clipped label."""
        full = self._axis_label
        if full is None:
            return
        axis = self.plot.getAxis("bottom")
        if self._full_width is None:  # measure the full label as the axis renders it
            style.label_axis(self.plot, "bottom", full)
            self._shown_label = full
            self._full_width = axis.label.boundingRect().width()
        text = full if self._full_width + 8 <= axis.width() else full.split(" (")[0]
        if text != self._shown_label:
            self._shown_label = text
            style.label_axis(self.plot, "bottom", text)

    def _set_equilibrium(self, value: float | None) -> None:
        if self._eq_in_legend:
            self.legend.removeItem(self._eq_sample)
            self._eq_in_legend = False
        if value is None:
            self.equilibrium_line.setVisible(False)
            return
        self.equilibrium_line.setPos(float(value))
        self.equilibrium_line.setVisible(True)
        self.legend.addItem(self._eq_sample, f"equilibrium D = {value:g}")
        self._eq_in_legend = True
