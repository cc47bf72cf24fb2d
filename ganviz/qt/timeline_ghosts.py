"""The old line's curves after a branch (issue 18.5), drawn beside the branch on a time axis.

When the run branches from step s (the training process logs a "branch" event at s and its steps go back to s),
a time-axis panel keeps each curve up to s, moves the rest into a dimmed, dashed "ghost" of the same colour, and
draws the branch in full colour from there: the original and the branch side by side. Several branches add
their ghosts (one item per curve; segments split by NaN gaps).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtGui

BRANCH_EVENT = "branch"  # the event kind core.branches.LiveTimeline logs
GHOST_ALPHA = 110  # of 255: dimmed, yet readable on both themes


def branch_point(snapshot: Any) -> int | None:
    """The step a snapshot's branch event continues from (the newest one), or None when it carries none."""
    steps = [int(e.step) for e in getattr(snapshot, "events", ()) if str(e.kind) == BRANCH_EVENT]
    return max(steps) if steps else None


def branch_rows(steps: np.ndarray, step: int) -> np.ndarray:
    """Which history rows of a snapshot that carries a branch belong to the branch: a snapshot merged from
    several (a panel fed less often) may start with the old line's last rows, so only the rows after the last
    drop in the steps, and none newer than the snapshot itself, count."""
    keep = steps <= step
    drops = np.flatnonzero(np.diff(steps) < 0)
    if drops.size:
        keep[: drops[-1] + 1] = False
    return keep


class BranchGhosts:
    """The dimmed ghosts of one plot's curves: `add(key, curve, x, y)` appends the cut-off part of a curve."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.plot = plot
        self.items: dict[str, pg.PlotDataItem] = {}
        self._data: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def add(self, key: str, curve: pg.PlotDataItem, x: np.ndarray, y: np.ndarray) -> None:
        if not len(x):
            return
        item = self.items.get(key)
        if item is None:
            pen = QtGui.QPen(pg.mkPen(curve.opts.get("pen")))
            colour = QtGui.QColor(pen.color())
            colour.setAlpha(GHOST_ALPHA)
            pen.setColor(colour)
            pen.setStyle(pg.QtCore.Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            item = pg.PlotDataItem([], [], pen=pen, connect="finite")
            item.setZValue(curve.zValue() - 1)
            self.plot.addItem(item)
            self.items[key] = item
            self._data[key] = (np.zeros(0), np.zeros(0))
        old_x, old_y = self._data[key]
        if len(old_x):  # a NaN between two ghosts: separate segments
            old_x, old_y = np.append(old_x, old_x[-1]), np.append(old_y, np.nan)
        new = (np.concatenate([old_x, x]), np.concatenate([old_y, y]))
        self._data[key] = new
        item.setData(new[0], new[1], connect="finite")

    def data(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """The ghost points of one curve (x, y; NaN separates the parts of several branches)."""
        return self._data.get(key, (np.zeros(0), np.zeros(0)))

    def clear(self) -> None:
        for item in self.items.values():
            self.plot.removeItem(item)
        self.items.clear()
        self._data.clear()
