"""Loss curves over steps: D loss and G loss, with the D loss's parts, and live-change markers."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from ganviz.core.snapshot import Snapshot
from ganviz.qt import style
from ganviz.qt.panels._common import EventMarkers, fast_dashes, objective_of, peak_downsample_per_pixel
from ganviz.qt.panels.yrange import RobustYRange
from ganviz.qt.series import Series
from ganviz.qt.timeline_ghosts import BranchGhosts, branch_point, branch_rows

# (history key, legend label, palette attribute, width, pen style)
CURVES: tuple[tuple[str, str, str, int, str], ...] = (
    ("d_loss", "D loss (total)", "disc", style.MAIN_WIDTH, "solid"),
    ("g_loss", "G loss", "gen", style.MAIN_WIDTH, "solid"),
    ("d_real_term", "D real term", "part_real", style.PART_WIDTH, "dash"),
    ("d_fake_term", "D fake term", "part_fake", style.PART_WIDTH, "dash"),
    ("d_penalty", "D penalty", "penalty", style.PART_WIDTH, "dot"),
)
# a min and a max per 2 px column: the curves are 1-2 px wide (3.2 in presentation mode), so the plot looks the
# same and the painter draws half the segments (a dense loss curve was the window's costliest item to paint)
LOSS_BINS_PER_PIXEL = 0.5
HIDDEN_WHILE_ZERO = frozenset({"d_penalty"})  # an all-zero penalty (no regulariser) would only squash the axis


class LossPanel(QtWidgets.QWidget):
    """D and G losses per step, as the trainer minimised them (not halved or rescaled).

    Each curve is fed from `Snapshot.history`; steps where a loss was not computed (NaN, e.g. a manual
    G-only step has no D loss) are skipped, so the curve joins the steps where it was measured. A dotted
    grey line marks the objective's D loss at equilibrium (`equilibrium_d_loss`, e.g. 2 log 2 for BCE).
    The penalty curve is not drawn while every penalty value so far is exactly 0 (no regulariser active).
    If the step counter goes backwards (a run reset the caller did not announce) the panel resets itself.
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None, cap: int = 20_000) -> None:
        super().__init__(parent)
        pal = style.palette()
        self._glw = pg.GraphicsLayoutWidget()
        self._glw.setBackground(pal.background)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self._glw)

        self.plot: pg.PlotItem = self._glw.addPlot()
        style.style_plot(self.plot, bottom="step", left="loss (as minimised)", title="Losses")
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setDownsampling(auto=True, mode="peak")
        self.plot.setClipToView(True)
        self.legend = style.add_legend(self.plot)
        self.plot.getViewBox().setDefaultPadding(0.02)

        self._series: dict[str, Series] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        for key, label, colour, width, pen_style in CURVES:
            self._series[key] = Series(cap=cap)
            curve = self.plot.plot([], [], name=label, pen=style.pen(getattr(pal, colour), width, pen_style))
            curve.setZValue(10 if width == style.MAIN_WIDTH else 5)
            peak_downsample_per_pixel(curve, LOSS_BINS_PER_PIXEL)
            if pen_style != "solid":
                fast_dashes(curve)
            self.curves[key] = curve

        self.equilibrium_line = pg.InfiniteLine(angle=0, movable=False, pen=style.pen(pal.reference, 1, "dot"))
        self.equilibrium_line.setVisible(False)
        self.plot.addItem(self.equilibrium_line, ignoreBounds=True)
        self._eq_sample = pg.PlotDataItem([], [], pen=style.pen(pal.reference, 1, "dot"))
        self.legend.addItem(self._eq_sample, "D loss at equilibrium")
        self._eq_in_legend = True

        self.markers = EventMarkers(self.plot)
        self.ghosts = BranchGhosts(self.plot)  # the old line's curves after a branch (issue 18.5)
        self.y_range = RobustYRange(self.plot)  # a one-step spike (a switch to WGAN-GP) must not flatten the rest
        self._equilibrium: float | None = None
        self._last_step: int | None = None
        self._objective: str | None = None

    # -- public API ------------------------------------------------------------------------------------
    def update_snapshot(self, snapshot: Snapshot) -> None:
        branch = None
        if self._last_step is not None and snapshot.step < self._last_step:
            branch = branch_point(snapshot)  # a branch from a past step (issue 18.5): the old line stays, dimmed
            if branch is None:
                self.reset()
            else:
                self.branch_at(branch)
        self._last_step = snapshot.step
        if snapshot.objective != self._objective:
            if self._objective is not None:  # the new objective's losses have their own scale
                self.y_range.new_segment(_switch_step(snapshot))
            self._objective = snapshot.objective
            self._set_equilibrium(objective_of(snapshot.objective).equilibrium_d_loss)

        hist = snapshot.history
        steps = np.asarray(hist.steps, dtype=np.float64)
        # a row newer than the snapshot is the old line's (a merged snapshot after a branch), never this line's
        mine = steps <= snapshot.step if branch is None else branch_rows(steps, snapshot.step)
        if steps.size:
            for key, series in self._series.items():
                values = hist.values.get(key)
                if values is None:
                    continue
                values = np.asarray(values, dtype=np.float64)
                ok = np.isfinite(values) & mine
                if not ok.any():
                    continue
                last = series.last_x
                if last is not None:
                    ok &= steps > last  # a row re-sent by the engine must not break x ordering
                if ok.any():
                    series.append(steps[ok], values[ok])
                    if key in HIDDEN_WHILE_ZERO and not np.any(series.y != 0):
                        continue
                    self.curves[key].setData(series.x, series.y)
            self.refresh_range()
        if snapshot.events:
            self.markers.add(snapshot.events)

    def refresh_range(self) -> None:
        """Fit the y-range to the drawn curves, robustly (spikes clipped and marked)."""
        shown = [(s.x, s.y) for key, s in self._series.items()
                 if len(s) and not (key in HIDDEN_WHILE_ZERO and not np.any(s.y != 0))]
        self.y_range.refresh(shown, near=[self._equilibrium])

    def branch_at(self, step: int) -> None:
        """The run continues from `step` on a new line: each curve keeps its points up to step, the rest is drawn
        dimmed and dashed beside the branch (ganviz.qt.timeline_ghosts)."""
        for key, series in self._series.items():
            self.ghosts.add(key, self.curves[key], *series.cut_after(step))
            self.curves[key].setData(series.x, series.y)
        self._last_step = step

    def reset(self) -> None:
        self.ghosts.clear()
        for key, series in self._series.items():
            series.clear()
            self.curves[key].setData([], [])
        self.markers.clear()
        self.y_range.reset()
        self._last_step = None
        self._objective = None

    def series(self, key: str) -> Series:
        """The buffer behind one curve (d_loss, g_loss, d_real_term, d_fake_term, d_penalty)."""
        return self._series[key]

    # -- internals -------------------------------------------------------------------------------------
    def _set_equilibrium(self, value: float | None) -> None:
        self._equilibrium = value
        if value is None:
            self.equilibrium_line.setVisible(False)
            if self._eq_in_legend:
                self.legend.removeItem(self._eq_sample)
                self._eq_in_legend = False
            return
        self.equilibrium_line.setPos(float(value))
        self.equilibrium_line.setVisible(True)
        label = f"equilibrium = {value:.4g}"  # short: the legend sits in a narrow dock
        if self._eq_in_legend:
            self.legend.removeItem(self._eq_sample)
        self.legend.addItem(self._eq_sample, label)
        self._eq_in_legend = True


def _switch_step(snapshot: Snapshot) -> float:
    """Where the current objective's segment starts: its switch event's step. The history of skipped frames is
    merged into the next one drawn, so its first row can lie well before the switch (the old objective's
    values then set the new segment's range: a WGAN-GP stretch kept a non-saturating run squeezed)."""
    switches = [int(e.step) for e in snapshot.events if e.kind == "objective"]
    if switches:  # an event at step N: N steps were made with the old objective, the new one trains from N + 1
        return float(max(switches) + 1)
    steps = snapshot.history.steps
    return float(steps[0]) if steps.size else float(snapshot.step)
