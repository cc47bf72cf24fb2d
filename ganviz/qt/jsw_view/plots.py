"""Small plot helpers shared by the JS-vs-Wasserstein views."""

from __future__ import annotations

import pyqtgraph as pg

from ganviz.qt import style


def style_colorbar(cb: pg.ColorBarItem, label: str) -> None:
    pal = style.palette()
    axis = cb.getAxis("right")
    axis.enableAutoSIPrefix(False)
    axis.setTickFont(style.font(style.TICK_PT))
    axis.setTextPen(pg.mkPen(pal.foreground))
    axis.setLabel(label, **{"font-size": f"{style.AXIS_LABEL_PT}pt", "color": pal.foreground})
    # setLabel recomputes an SI scale from the current range even with auto-SI off (pyqtgraph 0.14): undo it,
    # or a bar relabelled while showing ~1e-3 values keeps multiplying its ticks by 1000
    axis.autoSIPrefixScale = 1.0
    axis.labelUnitPrefix = ""
    axis.setWidth(68)  # room for ticks like "-0.75" and the rotated label, which otherwise overlap
    axis.picture = None
    axis.update()


def canvas() -> pg.GraphicsLayoutWidget:
    w = pg.GraphicsLayoutWidget()
    w.setBackground(style.palette().background)
    return w
