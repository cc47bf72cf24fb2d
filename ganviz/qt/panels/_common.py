"""Pieces shared by the panels: event markers on time axes, the faint "n/a" note, small numeric helpers."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6 import QtCore, QtGui, QtWidgets

from ganviz.core.objectives import Objective, get_objective
from ganviz.core.snapshot import Event, EventKind
from ganviz.qt import style


def objective_of(name: str) -> Objective:
    """Display metadata of the snapshot's objective (panels never branch on the name itself)."""
    return get_objective(name)


NOT_CHANGES = frozenset({EventKind.RUN})  # play / pause: not a change of the run, no marker


class EventMarkers:
    """Vertical dashed lines with a short label, one per step with live-change events, on one time axis.

    Play / pause are not changes and get no line. Labels never overlap or leave the plot: after every change
    of the range or size (coalesced), the newest labels are placed first, a horizontal label flips to the
    left of its line at the right edge, a rotated one is elided to the plot's height, and a label that would
    overlap one already placed is hidden (its line keeps the full text as a tooltip).

    Events at the same step share one line, their labels joined with "; ". Events are de-duplicated by
    (step, kind, label), so re-sent events do not stack. Labels are rotated along the line (`rotate=True`,
    for tall plots) or horizontal at the top (small multiples, where a rotated label would not fit).
    At most `max_markers` lines are kept (oldest dropped) so a very long session stays cheap to draw.
    """

    def __init__(
        self, plot: pg.PlotItem, show_labels: bool = True, rotate: bool = True, max_markers: int = 200
    ) -> None:
        self._plot = plot
        self._show_labels = show_labels
        self._rotate = rotate
        self._max = max_markers
        self._lines: dict[int, pg.InfiniteLine] = {}  # step -> line (insertion ordered)
        self._texts: dict[int, list[str]] = {}
        self._seen: set[tuple[int, str, str]] = set()
        self._dropped_to: int | None = None  # markers at or before this step were dropped (over max_markers)
        self._timer: QtCore.QTimer | None = None
        if show_labels:
            self._timer = QtCore.QTimer()
            self._timer.setSingleShot(True)
            self._timer.setInterval(60)
            self._timer.timeout.connect(self.relayout)
            vb = plot.getViewBox()
            vb.sigXRangeChanged.connect(self._schedule)
            vb.sigResized.connect(self._schedule)

    def _schedule(self, *_: object) -> None:
        if self._timer is not None and not self._timer.isActive():
            self._timer.start()

    def __len__(self) -> int:
        return len(self._lines)

    @property
    def lines(self) -> list[pg.InfiniteLine]:
        return list(self._lines.values())

    def label_at(self, step: int) -> str | None:
        texts = self._texts.get(int(step))
        return "; ".join(texts) if texts else None

    def add(self, events: Iterable[Event]) -> None:
        fresh: list[tuple[int, str, str]] = []
        for ev in events:
            if ev.kind in NOT_CHANGES:
                continue
            key = (int(ev.step), str(ev.kind), str(ev.label))
            if key in self._seen or (self._dropped_to is not None and key[0] <= self._dropped_to):
                continue  # shown already, or dropped for good (a snapshot may repeat the run's old events)
            fresh.append(key)
        if not fresh:
            return
        steps = sorted(set(self._lines) | {k[0] for k in fresh})
        if len(steps) > self._max:  # keep the newest max_markers steps; never build a line only to drop it
            cutoff = steps[-self._max - 1]
            for old_step in [s for s in self._lines if s <= cutoff]:
                self._plot.removeItem(self._lines.pop(old_step))
                del self._texts[old_step]
            self._seen = {k for k in self._seen if k[0] > cutoff}
            self._dropped_to = cutoff if self._dropped_to is None else max(self._dropped_to, cutoff)
            fresh = [k for k in fresh if k[0] > cutoff]
        for key in fresh:
            if key in self._seen:
                continue
            self._seen.add(key)
            step = key[0]
            if step in self._lines:
                self._texts[step].append(key[2])
                line = self._lines[step]
                text = "; ".join(self._texts[step])
                if getattr(line, "label", None) is not None:
                    line.label.setFormat(_escape(text))
                line.setToolTip(f"step {step}: {text}")
            else:
                self._lines[step] = self._new_line(step, key[2])
                self._texts[step] = [key[2]]
        self._schedule()

    def _new_line(self, step: int, text: str) -> pg.InfiniteLine:
        pal = style.palette()
        opts = {"color": pal.event, "fill": pg.mkBrush(pal.legend_brush)}
        if self._rotate:
            opts.update(position=0.97, rotateAxis=(1, 0), anchors=[(1, 0), (1, 0)])
        else:
            opts.update(position=0.95, anchors=[(0, 0), (0, 0)])
        line = pg.InfiniteLine(
            pos=float(step), angle=90, movable=False, pen=style.pen(pal.event, 1, "dash"),
            label=_escape(text) if self._show_labels else None, labelOpts=opts,
        )
        line.setZValue(50)
        label = getattr(line, "label", None)  # pyqtgraph creates .label only when a label is given
        if label is not None:
            label.setFont(style.font(style.EVENT_LABEL_PT))
        line.setToolTip(f"step {step}: {text}")
        self._plot.addItem(line, ignoreBounds=True)
        return line

    def visible_labels(self) -> list[pg.InfLineLabel]:
        return [line.label for line in self._lines.values()
                if getattr(line, "label", None) is not None and line.label.isVisible()]

    def relayout(self) -> None:
        """Place the labels so that none overlaps another or leaves the plot (newest first)."""
        if not self._show_labels or not self._lines:
            return
        vb = self._plot.getViewBox()
        if not shiboken6.isValid(vb):  # the plot was deleted (its window closed) while a relayout was pending
            return
        area = vb.sceneBoundingRect()
        if area.width() < 20 or area.height() < 20:
            return
        vb.updateMatrix()  # the range may have changed since the last paint
        x_lo, x_hi = vb.viewRange()[0]
        placed: list[QtCore.QRectF] = []
        for step in sorted(self._lines, reverse=True):
            line = self._lines[step]
            label = getattr(line, "label", None)
            if label is None:
                continue
            if not x_lo <= step <= x_hi:
                label.setVisible(False)
                continue
            text = "; ".join(self._texts[step])
            label.setVisible(True)  # a hidden InfLineLabel ignores setFormat
            if self._rotate:  # along the line: elide to the plot's height
                room = int(area.height() * 0.9)
                shown = QtGui.QFontMetrics(label.textItem.font()).elidedText(
                    text, QtCore.Qt.TextElideMode.ElideRight, max(room, 20))
                label.setFormat(_escape(shown))
                rect = _scene_rect(label)
            else:  # right of the line, or left of it at the right edge
                label.anchors = [(0, 0), (0, 0)]
                label.setFormat(_escape(text))
                rect = _scene_rect(label)
                if rect.right() > area.right():
                    label.anchors = [(1, 0), (1, 0)]
                    label.updatePosition()
                    rect = _scene_rect(label)
            inside = area.adjusted(-1, -1, 1, 1).contains(rect)
            free = not any(rect.intersects(other) for other in placed)
            label.setVisible(inside and free)
            if inside and free:
                placed.append(rect.adjusted(-3, 0, 3, 0))

    def clear(self) -> None:
        for line in self._lines.values():
            self._plot.removeItem(line)
        self._lines.clear()
        self._texts.clear()
        self._seen.clear()
        self._dropped_to = None


class FastScatter(pg.ScatterPlotItem):
    """A ScatterPlotItem whose every point shares one symbol/size/pen/brush, with a position-only fast path.

    `setData(pos=...)` rebuilds every point's record and looks each one up in the symbol atlas (a Python
    loop: ~2 ms per 2000 points per frame). When the point count is unchanged (the trainer's fixed noise
    and real batches), `set_positions` only overwrites x and y and invalidates bounds and the drawing.
    """

    def set_positions(self, pos: np.ndarray) -> None:
        pos = np.asarray(pos, dtype=np.float64).reshape(-1, 2)
        if len(pos) == 0 or len(pos) != len(self.data):
            self.setData(pos=pos)
            return
        self.data["x"] = pos[:, 0]
        self.data["y"] = pos[:, 1]
        self.prepareGeometryChange()
        self.informViewBoundsChanged()
        self.bounds = [None, None]
        self.invalidate()
        self.sigPlotChanged.emit(self)


class LogAxis(pg.AxisItem):
    """A log-mode axis that labels only 1-2-5 mantissas (only powers of ten over >= 2 decades).

    pyqtgraph labels every minor tick (0.2, 0.3, ... 0.9) when the range spans few decades, which
    prints an unreadable column of numbers on a short plot.
    """

    def logTickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        strings = super().logTickStrings(values, scale, spacing)
        lo, hi = self.range
        keep = {1} if hi - lo >= 2.0 else {1, 2, 5}
        out = []
        for v, s in zip(values, strings, strict=True):
            mantissa = round(10 ** (float(v) - np.floor(float(v) + 1e-9)))
            out.append(s if mantissa in keep else "")
        return out


def _scene_rect(label: pg.TextItem) -> QtCore.QRectF:
    """Where a label is drawn now (a TextItem updates its transform only when painted)."""
    label.updateTransform(force=True)
    return label.sceneBoundingRect()


def _escape(text: str) -> str:
    """InfLineLabel treats its text as a str.format template: keep literal braces literal."""
    return text.replace("{", "{{").replace("}", "}}")


class ViewNote:
    """Faint text pinned to a plot's view box (pixel coordinates, independent of the data range).

    where="center" for the "n/a" note shown while nothing is drawn; "bottom-right" for a small readout.
    """

    def __init__(
        self, plot: pg.PlotItem, text: str = "n/a for this\nobjective / data", where: str = "center"
    ) -> None:
        self._vb = plot.getViewBox()
        self._where = where
        anchor = (0.5, 0.5) if where == "center" else (1.0, 1.0)
        self._item = pg.TextItem(text, color=style.palette().na_text if where == "center"
                                 else style.palette().foreground, anchor=anchor)
        self._item.setFont(style.font(style.AXIS_LABEL_PT if where == "center" else style.LEGEND_PT))
        doc = self._item.textItem.document()
        option = doc.defaultTextOption()
        option.setAlignment(QtCore.Qt.AlignmentFlag.AlignHCenter)
        doc.setDefaultTextOption(option)
        self._fit_width()
        self._item.setParentItem(self._vb)
        self._item.setZValue(60)
        self._vb.sigResized.connect(self._place)
        self._place()

    def _place(self, *_: object) -> None:
        r = self._vb.boundingRect()
        if self._where == "center":
            self._item.setPos(QtCore.QPointF(r.center()))
        else:
            self._item.setPos(QtCore.QPointF(r.right() - 4, r.bottom() - 2))

    def set_visible(self, visible: bool) -> None:
        if self._item.isVisible() != visible:
            self._item.setVisible(visible)

    def is_visible(self) -> bool:
        return self._item.isVisible()

    def set_text(self, text: str) -> None:
        self._item.setText(text)
        self._fit_width()

    def _fit_width(self) -> None:
        text_item = self._item.textItem
        text_item.setTextWidth(-1)
        text_item.setTextWidth(text_item.document().idealWidth())
        self._item.updateTextPos()

    def text(self) -> str:
        return self._item.toPlainText()


NaNote = ViewNote  # the "n/a" use


def peak_downsample_per_pixel(curve: pg.PlotDataItem, samples_per_pixel: float = 1.0) -> None:
    """Auto 'peak' downsampling to one bin (= a min and a max) per pixel column instead of pyqtgraph's 5:
    visually identical for a line, and ~5x fewer segments for the raster engine to draw."""
    curve.opts["autoDownsampleFactor"] = float(samples_per_pixel)


def fast_dashes(curve: pg.PlotDataItem | pg.PlotCurveItem) -> None:
    """Draw a dense dashed or dotted curve as separate segments (QPainter.drawLines).

    Qt's raster engine strokes one long, jagged dashed polyline wider than 1 px very slowly: 60-85 ms for
    1,000 peak-downsampled points at 1.6-3.2 px (presentation mode widens every pen), against 2-3 ms as
    segments. pyqtgraph segments only solid pens, since the dash pattern restarts at each segment; on a
    curve of 1-3 px segments the dashes were not visible either, and the contour's segments are separate
    pieces already.
    """
    item = curve.curve if isinstance(curve, pg.PlotDataItem) else curve
    item.setSegmentedLineMode("on")


def finite_or_nan(value: object) -> float:
    """A metric value as float; missing, None, non-numeric or infinite -> NaN (drawn as a gap)."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
    return v if math.isfinite(v) else float("nan")


def panel_layout(panel: QtWidgets.QWidget) -> tuple[QtWidgets.QVBoxLayout, QtWidgets.QHBoxLayout]:
    """A panel's layout with a row for its controls on top: (the panel's layout, the header row). Add the
    plots with `canvas(lay)`."""
    lay = QtWidgets.QVBoxLayout(panel)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(2)
    header = QtWidgets.QHBoxLayout()
    header.setContentsMargins(6, 2, 6, 0)
    lay.addLayout(header)
    return lay, header


def canvas(lay: QtWidgets.QBoxLayout) -> pg.GraphicsLayoutWidget:
    """A pyqtgraph canvas in the theme's background, taking the rest of lay."""
    glw = pg.GraphicsLayoutWidget()
    glw.setBackground(style.palette().background)
    lay.addWidget(glw, 1)
    return glw


def class_count(snapshot) -> int:
    """K for image data: the number of class names, else of class_share_i metrics (0 when neither is there)."""
    views = snapshot.images
    if views is not None and views.class_names:
        return len(views.class_names)
    k = 0
    while f"class_share_{k}" in snapshot.metrics:
        k += 1
    return k
