"""Sweep results as a phase diagram: the heatmap of `ganviz sweep --figures`, in a window.

Compare -> Open sweep results... loads a sweep's JSONL file. Each cell is one grid point: the colour is the
mean of the chosen metric over the point's ok runs (blank where no run ended ok), the text its value and how
many runs it had (and how many diverged). Clicking a cell emits `open_config` with the config of that point's
first ok run (lowest seed), which the main window starts as a live run. The numbers come from
ganviz.sweep.tables.grid_matrix, the same as the PNG / SVG figure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from ..core.config import TrainConfig
from ..sweep.tables import METRICS, cell_config, fixed_range, grid_keys, grid_matrix
from ..sweep.tasks import config_from_dict
from . import style


class SweepWindow(QtWidgets.QWidget):
    """Heatmap of a grid sweep with selectable axes and metric; a click opens that cell's run."""

    open_config = QtCore.Signal(object)  # TrainConfig of the clicked cell's run

    def __init__(self, rows: Sequence[dict[str, Any]], title: str = "Sweep results",
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.rows = list(rows)
        self.keys = grid_keys(self.rows)
        pal = style.palette()
        self.x_combo, self.y_combo, self.metric_combo = (QtWidgets.QComboBox() for _ in range(3))
        self.x_combo.addItems(self.keys)
        self.y_combo.addItems(["(none)", *self.keys])
        if len(self.keys) > 1:
            self.y_combo.setCurrentIndex(2)
        present = [m for m in METRICS if any(m in (r.get("final") or {}) for r in self.rows)] or ["modes_covered"]
        for m in present:
            self.metric_combo.addItem(METRICS[m][0], m)
        bar = QtWidgets.QHBoxLayout()
        for label, w in (("x:", self.x_combo), ("y:", self.y_combo), ("colour:", self.metric_combo)):
            bar.addWidget(QtWidgets.QLabel(label))
            bar.addWidget(w)
        bar.addStretch(1)
        self.info = QtWidgets.QLabel()
        self.info.setWordWrap(True)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setBackground(pal.background)
        self.plot: pg.PlotItem = self.glw.addPlot()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(values=(0, 1), width=14, colorMap=pg.colormap.get("viridis"),
                                        interactive=False, colorMapMenu=False, pen=pg.mkPen(pal.foreground))
        self.colorbar.setImageItem(self.image, insert_in=self.plot)
        self._texts: list[pg.TextItem] = []
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.glw, 1)
        layout.addWidget(self.info)
        self.matrix = None
        self.glw.scene().sigMouseClicked.connect(self._on_click)
        for c in (self.x_combo, self.y_combo, self.metric_combo):
            c.currentIndexChanged.connect(self.redraw)
        self.resize(760, 520)
        self.redraw()

    # ------------------------------------------------------------------ drawing
    def redraw(self) -> None:
        x_key = self.x_combo.currentText()
        y_key = self.y_combo.currentText() if self.y_combo.currentIndex() > 0 else None
        if y_key == x_key:
            y_key = None
        metric = self.metric_combo.currentData() or "modes_covered"
        if not self.rows or not x_key:
            self.info.setText("No runs in this file.")
            return
        gm = self.matrix = grid_matrix(self.rows, x_key, y_key, metric)
        label, scale, fmt = METRICS[metric]
        vals = np.array(gm.values, dtype=np.float32) * scale  # NaN (no ok run) is drawn transparent
        finite = vals[np.isfinite(vals)]
        lo, hi = fixed_range(self.rows, metric) or ((float(finite.min()), float(finite.max())) if finite.size
                                                     else (0.0, 1.0))
        if hi <= lo:
            hi = lo + 1.0
        self.image.setImage(vals, levels=(lo, hi), autoLevels=False)
        self.image.setRect(QtCore.QRectF(-0.5, -0.5, len(gm.x_values), len(gm.y_values)))
        self.colorbar.setLevels((lo, hi))
        pal = style.palette()
        axis = self.colorbar.getAxis("right")
        axis.setTickFont(style.font(style.TICK_PT))
        axis.setTextPen(pg.mkPen(pal.foreground))
        axis.setLabel(label, **{"font-size": f"{style.AXIS_LABEL_PT}pt", "color": pal.foreground})
        for t in self._texts:
            self.plot.removeItem(t)
        self._texts = []
        for iy in range(len(gm.y_values)):
            for ix in range(len(gm.x_values)):
                v = float(vals[iy, ix])
                text = ("no ok run" if not math.isfinite(v) else f"{v:{fmt}}") + f"\nn={gm.counts[iy][ix]}"
                if gm.diverged[iy][ix]:
                    text += f", {gm.diverged[iy][ix]} diverged"
                dark = not math.isfinite(v) or (v - lo) / (hi - lo) < 0.6
                item = pg.TextItem(text, anchor=(0.5, 0.5), color=(255, 255, 255) if dark and math.isfinite(v)
                                   else pal.foreground)
                item.setFont(style.font(style.TICK_PT))
                item.setPos(ix, iy)
                self.plot.addItem(item)
                self._texts.append(item)
        self.plot.getAxis("bottom").setTicks([[(i, _tick(v)) for i, v in enumerate(gm.x_values)]])
        self.plot.getAxis("left").setTicks([[(i, _tick(v)) for i, v in enumerate(gm.y_values)]] if y_key
                                           else [[(0, "")]])
        style.label_axis(self.plot, "bottom", x_key)
        style.label_axis(self.plot, "left", y_key or "")
        steps = sorted({r.get("steps") for r in self.rows})
        style.set_title(self.plot, f"{label} over {x_key}" + (f" × {y_key}" if y_key else "")
                        + f" ({'/'.join(str(s) for s in steps)} steps, mean over ok runs)")
        self.plot.setXRange(-0.5, len(gm.x_values) - 0.5, padding=0)
        self.plot.setYRange(-0.5, len(gm.y_values) - 0.5, padding=0)
        others = [k for k in self.keys if k not in (x_key, y_key)]
        self.info.setText(f"{len(self.rows)} runs. Click a cell to open its run (the lowest ok seed) live."
                          + (f" Cells pool runs over {', '.join(others)}." if others else ""))

    # ------------------------------------------------------------------ clicks
    def cell_at(self, scene_pos: QtCore.QPointF) -> tuple[int, int] | None:
        if self.matrix is None or not self.plot.vb.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.plot.vb.mapSceneToView(scene_pos)
        ix, iy = int(round(p.x())), int(round(p.y()))
        if 0 <= ix < len(self.matrix.x_values) and 0 <= iy < len(self.matrix.y_values):
            return ix, iy
        return None

    def _on_click(self, ev: Any) -> None:
        cell = self.cell_at(ev.scenePos())
        if cell is not None:
            self.open_cell(*cell)

    def open_cell(self, ix: int, iy: int) -> TrainConfig | None:
        """Emit open_config with the config of cell (ix, iy)'s run; None (and a note) if it has none."""
        assert self.matrix is not None
        cfg = cell_config(self.matrix.rows[iy][ix])
        if cfg is None:
            self.info.setText("That cell has no run.")
            return None
        try:
            config = config_from_dict(cfg)
        except ValueError as e:  # a row written by another version with a value out of today's range
            self.info.setText(f"Cannot open that run: {e}")
            return None
        self.info.setText(f"Opened seed {config.seed} at {self.matrix.x_key} = {_tick(self.matrix.x_values[ix])}"
                          + (f", {self.matrix.y_key} = {_tick(self.matrix.y_values[iy])}" if self.matrix.y_key
                             else "") + " in the main window.")
        self.open_config.emit(config)
        return config


def _tick(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)
