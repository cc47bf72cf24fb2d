"""Shared metric plots for compare mode: one colour per run, each run's live changes marked in its colour."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from ganviz.core.compare import CompareSnapshot
from ganviz.qt import style
from ganviz.qt.series import Series

RUN_COLOURS = ["#1f5fbf", "#e0601c", "#2a9d3a", "#8e44ad"]
RUN_NAMES = ["A", "B", "C", "D"]

# (plot key, title, y label, [(series key, source, source key, dashed)])
PLOTS = [
    ("w1", "Exact W1 (real, fake)", "W1 (data units)", [("w1", "metrics", "w1", False)]),
    ("jsd", "JSD: from D (solid), true (dashed)", "JSD (nats)",
     [("jsd_est", "metrics", "jsd_est", False), ("jsd_true", "metrics", "jsd_true", True)]),
    ("d_loss", "D / critic loss", "loss (as minimised)", [("d_loss", "history", "d_loss", False)]),
    ("g_loss", "G loss", "loss (as minimised)", [("g_loss", "history", "g_loss", False)]),
]


class OverlayPanel(QtWidgets.QWidget):
    """Four small plots (W1, JSD, D loss, G loss) overlaying every run of a comparison."""

    def __init__(self, n_runs: int, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.n_runs = n_runs
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.glw = pg.GraphicsLayoutWidget()
        layout.addWidget(self.glw)
        self.plots: dict[str, pg.PlotItem] = {}
        self.series: dict[tuple[int, str], Series] = {}
        self.curves: dict[tuple[int, str], pg.PlotDataItem] = {}
        self._markers: list[pg.InfiniteLine] = []
        self._last_metrics_step = [-1] * n_runs
        first: pg.PlotItem | None = None
        for col, (key, title, ylabel, specs) in enumerate(PLOTS):
            plot = self.glw.addPlot(row=0, col=col)
            style.style_plot(plot, "step", ylabel, title)
            plot.showGrid(x=True, y=True, alpha=0.15)
            if key == "jsd":
                plot.addItem(pg.InfiniteLine(np.log(2.0), angle=0, pen=style.pen("#7f7f7f", 1, "dash"),
                                             label="log 2", labelOpts={"position": 0.05, "color": "#7f7f7f"}))
            if first is None:
                first = plot
            else:
                plot.setXLink(first)
            legend = style.add_legend(plot) if col == 0 else None
            for run in range(n_runs):
                for skey, _src, _k, dashed in specs:
                    pen = style.pen(RUN_COLOURS[run], 2 if not dashed else 1.5, "dash" if dashed else "solid")
                    name = f"run {RUN_NAMES[run]}" if (legend is not None and not dashed) else None
                    curve = plot.plot([], [], pen=pen, name=name)
                    curve.setDownsampling(auto=True, method="peak")
                    curve.setClipToView(True)
                    self.curves[(run, skey)] = curve
                    self.series[(run, skey)] = Series()
            self.plots[key] = plot

    def set_run_labels(self, labels: list[str]) -> None:
        """Legend text per run, e.g. 'A: Non-saturating'."""
        legend = self.plots["w1"].legend
        if legend is None:
            return
        for run, (_sample, label) in enumerate(legend.items[: self.n_runs]):
            label.setText(f"{RUN_NAMES[run]}: {labels[run]}")

    def update_compare(self, snap: CompareSnapshot) -> None:
        changed: set[tuple[int, str]] = set()
        for run, s in enumerate(snap.runs):
            if s.metrics_step != self._last_metrics_step[run] and s.metrics_step >= 0:
                self._last_metrics_step[run] = s.metrics_step
                for _key, _title, _y, specs in PLOTS:
                    for skey, src, k, _d in specs:
                        if src == "metrics":
                            v = s.metrics.get(k)
                            if v is not None and np.isfinite(v):
                                self.series[(run, skey)].append(float(s.metrics_step), float(v))
                                changed.add((run, skey))
            steps = s.history.steps
            if steps.size:
                for _key, _title, _y, specs in PLOTS:
                    for skey, src, k, _d in specs:
                        if src == "history":
                            y = s.history.values[k]
                            ok = np.isfinite(y)
                            if ok.any():
                                self.series[(run, skey)].append(steps[ok].astype(float), y[ok])
                                changed.add((run, skey))
            for ev in s.events:
                self._add_marker(run, ev.step, ev.label)
        for key in changed:
            ser = self.series[key]
            self.curves[key].setData(ser.x, ser.y)

    def _add_marker(self, run: int, step: int, label: str) -> None:
        for plot in self.plots.values():
            line = pg.InfiniteLine(step, angle=90, pen=style.pen(RUN_COLOURS[run], 1, "dash"))
            line.setToolTip(f"run {RUN_NAMES[run]}, step {step}: {label}")
            plot.addItem(line)
            self._markers.append(line)
        first = self.plots["d_loss"]
        text = pg.TextItem(f"{RUN_NAMES[run]}: {label}", color=RUN_COLOURS[run], anchor=(0, 0))
        text.setPos(step, 0)
        first.addItem(text)
        self._markers.append(text)
        # keep the label at the top of the view
        vb = first.getViewBox()
        text.setPos(step, vb.viewRange()[1][1])

    def marker_count(self) -> int:
        return sum(isinstance(m, pg.InfiniteLine) for m in self._markers) // len(self.plots)

    def reset(self) -> None:
        for ser in self.series.values():
            ser.clear()
        for curve in self.curves.values():
            curve.setData([], [])
        for m in self._markers:
            for plot in self.plots.values():
                if m.scene() is plot.scene() and m in plot.items:
                    plot.removeItem(m)
        self._markers.clear()
        self._last_metrics_step = [-1] * self.n_runs
