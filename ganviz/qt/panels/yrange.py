"""Robust y-ranges for time plots: a one-step spike must not flatten the rest of the run.

The range follows the current segment (since the last objective change or reset; its recent part only in a
long run) and the bulk of the values there (the 10-90 % quantiles, fenced at twice their distance); values
beyond are clipped and marked: a triangle at the
plot's edge over each off-scale step and a corner note with the largest one. Zooming with the mouse hands
the range to the user; pyqtgraph's "A" (auto-range) button hands it back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from ganviz.qt import style

QUANTILES = (0.1, 0.9)  # the bulk: its 80 % (a decaying curve's first values stay in it on short series)
FENCE = 2.0  # values further than FENCE x (q90 - q10) beyond the bulk are spikes, clipped and marked
MAX_MARKS = 60
RECENT = 0.7  # the latest share of the segment's steps that sets the range
TREND_BINS = 50  # ... and the medians of this many stretches of the whole segment (a decay stays in view)
TREND_MIN = 5  # values per stretch at least: a spike shorter than half of it never sets a median


def _refs(levels: Iterable[float | None], log: bool) -> list[float]:
    out = [float(r) for r in levels if r is not None and np.isfinite(r) and (not log or r > 0)]
    return [float(np.log10(r)) for r in out] if log else out


def robust_limits(values: Sequence[np.ndarray], include: Iterable[float | None] = (),
                  near: Iterable[float | None] = (), log: bool = False,
                  pad: float = 0.08, fence: float = FENCE) -> tuple[float, float] | None:
    """(lo, hi) (log10 units if log) that hold the bulk of `values`, the levels in `include` and those in
    `near` that lie near the data (an equilibrium line); None when nothing is finite."""
    parts = [np.asarray(v, dtype=np.float64).ravel() for v in values]
    y = np.concatenate(parts) if parts else np.empty(0)
    y = y[np.isfinite(y) & (y > 0)] if log else y[np.isfinite(y)]
    if log:
        y = np.log10(y)
    if y.size == 0:
        return None
    q_lo, q_hi = (float(v) for v in np.quantile(y, QUANTILES))
    spread = max(q_hi - q_lo, 1e-12)
    lo = max(float(y.min()), q_lo - fence * spread)
    hi = min(float(y.max()), q_hi + fence * spread)
    width = max(hi - lo, spread)
    for r in _refs(near, log):  # a reference level (equilibrium) is shown when it is near the data
        if lo - 2 * width <= r <= hi + 2 * width:
            lo, hi = min(lo, r), max(hi, r)
    for r in _refs(include, log):
        lo, hi = min(lo, r), max(hi, r)
    if hi - lo < 1e-9:
        half = max(abs(hi) * 0.05, 1e-3)
        lo, hi = lo - half, hi + half
    margin = pad * (hi - lo)
    return lo - margin, hi + margin


class RobustYRange:
    """Keeps one PlotItem's y-range robust (see the module doc). Call `refresh(curves)` after new data and
    `new_segment(x)` when the objective changes (scales differ between objectives)."""

    def __init__(self, plot: pg.PlotItem, log: bool = False, recent_points: int = 4000, fence: float = FENCE) -> None:
        self.plot = plot
        self.log = log
        self.recent_points = recent_points  # at most this many of the segment's latest values set the range
        self.fence = fence
        self.segment_start: float | None = None
        self.user_range = False
        self.limits: tuple[float, float] | None = None  # (lo, hi) last applied, view units (log10 if log)
        self.clipped = 0  # values off scale in the last refresh
        self._applying = False
        vb = plot.getViewBox()
        vb.enableAutoRange(y=False)
        vb.sigRangeChangedManually.connect(self._on_manual)
        pal = style.palette()
        self.marks = pg.ScatterPlotItem(size=9, pen=pg.mkPen(pal.event), brush=pg.mkBrush(pal.event))
        self.marks.setZValue(40)
        vb.addItem(self.marks, ignoreBounds=True)
        # on the legend's background: over the top of the plot it crossed change markers and their labels
        self.note = pg.TextItem("", color=pal.foreground, anchor=(1, 0), fill=pg.mkBrush(pal.legend_brush))
        self.note.setFont(style.font(style.LEGEND_PT))
        self.note.setParentItem(vb)
        self.note.setZValue(60)
        vb.sigResized.connect(self._place_note)
        self._place_note()

    def _place_note(self, *_: object) -> None:
        r = self.plot.getViewBox().boundingRect()
        self.note.setPos(QtCore.QPointF(r.right() - 4, r.top() + 2))

    def _on_manual(self, *_: object) -> None:
        if not self._applying:
            self.user_range = True

    def new_segment(self, x: float) -> None:
        self.segment_start = float(x)

    def reset(self) -> None:
        self.segment_start = None
        self.user_range = False
        self.limits = None
        self.clipped = 0
        self.marks.setData([], [])
        self.note.setText("")
        self.plot.getViewBox().enableAutoRange(x=True, y=False)

    def refresh(self, curves: Sequence[tuple[np.ndarray, np.ndarray]], include: Iterable[float | None] = (),
                near: Iterable[float | None] = ()) -> None:
        vb = self.plot.getViewBox()
        if vb.autoRangeEnabled()[1]:  # the "A" button: robust ranging is back
            self.user_range = False
            vb.enableAutoRange(y=False)
        if self.user_range:
            return
        window = [self._window(x, y) for x, y in curves]
        window = [w for w in window if np.any(w != 0)] or window  # a curve at exactly 0 (no penalty) sets nothing
        trend = [v for x, y in curves for v in self._trend(x, y)]
        limits = robust_limits(window, [*include, *trend], near, log=self.log, fence=self.fence)
        if limits is None:
            return
        self.limits = limits
        self._applying = True
        try:
            vb.setYRange(*limits, padding=0.0)
        finally:
            self._applying = False
        self._mark(curves, *limits)

    def _trend(self, x: np.ndarray, y: np.ndarray) -> list[float]:
        """The lowest and highest median of TREND_BINS stretches of the segment: a decay or a drift over many
        steps stays in view (D's loss falling from 1.4 to 1e-6 is the lesson), a spike of a few steps does not
        (a median of several values ignores it)."""
        x, y = np.asarray(x), np.asarray(y, dtype=np.float64)
        if self.segment_start is not None:
            keep = x >= self.segment_start
            x, y = x[keep], y[keep]
        y = y[np.isfinite(y) & (y > 0)] if self.log else y[np.isfinite(y)]
        if not np.any(y != 0):  # a curve at exactly 0 here (no penalty) sets nothing
            return []
        size = max(TREND_MIN, y.size // TREND_BINS)
        if y.size < 2 * size:
            return []
        n = y.size // size * size
        medians = np.median(y[y.size - n:].reshape(-1, size), axis=1)
        return [float(medians.min()), float(medians.max())]

    def _window(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The values that set the range: the recent part of the current segment (its latest RECENT share of
        steps, so the transient right after a switch leaves the range once the run has moved on), at most
        `recent_points` values."""
        x, y = np.asarray(x), np.asarray(y)
        if x.size == 0:
            return y
        start = float(x[0]) if self.segment_start is None else self.segment_start
        seg = x >= start
        if not seg.any():  # none since the segment began: the curve ended with the old objective (the gradient
            return y[:0]  # penalty after leaving WGAN-GP), its old values must not set the new range
        if int(seg.sum()) < 8:  # a segment with only a few values yet: the previous ones fill in
            return y[-self.recent_points:]
        cut = float(x[-1]) - RECENT * (float(x[-1]) - start)
        recent = seg & (x >= cut)
        picked = y[recent] if int(recent.sum()) >= 8 else y[seg]
        return picked[-self.recent_points:]

    def _mark(self, curves: Sequence[tuple[np.ndarray, np.ndarray]], lo: float, hi: float) -> None:
        xs, ys, worst = [], [], None
        for x, y in curves:
            y = np.asarray(y, dtype=np.float64)
            v = np.log10(np.where(y > 0, y, np.nan)) if self.log else y
            with np.errstate(invalid="ignore"):
                above, below = v > hi, v < lo
            for mask, edge in ((above, hi), (below, lo)):
                if mask.any():
                    xs.append(np.asarray(x)[mask])
                    ys.append(np.full(int(mask.sum()), edge))
                    i = int(np.nanargmax(np.abs(np.where(mask, y, np.nan))))
                    if worst is None or abs(y[i]) > abs(worst[1]):
                        worst = (float(np.asarray(x)[i]), float(y[i]))
        if not xs:
            self.clipped = 0
            self.marks.setData([], [])
            self.note.setText("")
            return
        x_all, y_all = np.concatenate(xs), np.concatenate(ys)
        self.clipped = int(x_all.size)
        if x_all.size > MAX_MARKS:
            keep = np.linspace(0, x_all.size - 1, MAX_MARKS).astype(int)
            x_all, y_all = x_all[keep], y_all[keep]
        symbols = ["t1" if v >= hi else "t" for v in y_all]  # t1: a triangle pointing up, t: down
        self.marks.setData(x=x_all, y=y_all, symbol=symbols)
        assert worst is not None
        self.note.setText(f"off scale: {worst[1]:.3g} at step {worst[0]:.0f}")
        room = self.plot.getViewBox().boundingRect().width() - 8
        if self.note.boundingRect().width() > room:  # a narrow plot: the value alone
            self.note.setText(f"off scale: {worst[1]:.3g}")
            if self.note.boundingRect().width() > room:
                self.note.setText(f"{'↑' if worst[1] > hi else '↓'}{worst[1]:.2g}")
        self._place_note()
