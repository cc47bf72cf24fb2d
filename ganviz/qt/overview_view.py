"""The model overview widget: draws an overview graph (ganviz.qt.overview_graph) with live small multiples.

Nodes are painted once per snapshot into a cached pixmap (noise draws, the fakes and reals coloured by D's
output, D's field, the layer widths of G and D, the latest losses and gradient norms); only the edges are
painted per animation tick, their dashes moving in the direction the data flows (forward: samples and outputs;
backward: gradients and updates returning to the network they change). The tick runs only while the widget is
visible and the run plays, at ANIMATION_HZ. In slow motion (`highlight(stage)`) the stage's edges
(Graph.stage_edges) are drawn thick in the highlight colour and are the only ones moving; the tick runs while
such a stage is shown, the others stand still, faded.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from ..core.objectives import OBJECTIVES
from . import style
from .formula import render
from .overview_graph import COLUMNS, ROWS, Graph, Node

LUT_SIZE = 64  # colours of D's output (the data view's diverging map)
SERIES = {"loss_d": "d_loss", "loss_g": "g_loss", "grad_d": "d_grad_norm", "grad_g": "g_grad_norm",
          "gp": "d_penalty", "r1": "d_penalty"}  # node -> the history series it shows
JITTER = 8192  # 1D samples' jitter table
SMALL = 0.9  # the nodes' detail lines, as a share of the widget's font
SERIES_POINTS = 400  # steps kept per sparkline
ANIMATION_HZ = 12  # dash steps per second (one paint of ~20 lines each: well under 1 % of a core)
NOISE_POINTS = 160  # prior draws shown in the noise node
KIND_FILL = {"noise": "#eef3fb", "net": "#f4f4f4", "fake": "#fff4ea", "real": "#f2f2f2", "d_out": "#ffffff",
             "loss": "#f3eefb", "penalty": "#f6eefc", "grad": "#fbeeee", "update": "#eef8ee"}
FORWARD, BACKWARD = "#5a6b85", "#c0392b"
HIGHLIGHT = "#f0a000"  # the outline of the nodes, and the edges, of the slow-motion stage shown
LIT_WIDTH, EDGE_WIDTH = 4.0, 2.0  # pen widths of the stage's edges and of the others
DIM_ALPHA = 90  # the other edges' opacity (of 255) while a stage is shown


def d_levels(graph_objective: str, *arrays: np.ndarray | None) -> tuple[float, float]:
    """The colour range of D's output: the objective's display range (probabilities: 0..1), else the range of
    the values shown (a critic's scores), never empty."""
    rng = OBJECTIVES[graph_objective].display_range
    if rng is not None:
        return float(rng[0]), float(rng[1])
    vals = [np.asarray(a, dtype=np.float64).ravel() for a in arrays if a is not None and np.size(a)]
    vals = [v[np.isfinite(v)] for v in vals]
    vals = [v for v in vals if v.size]
    if not vals:
        return -1.0, 1.0
    lo, hi = float(min(v.min() for v in vals)), float(max(v.max() for v in vals))
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    return lo, hi


class OverviewView(QtWidgets.QWidget):
    """The graph of one training step, live. `set_graph(graph)` when the run state's config changes;
    `update_snapshot(snap)` for the data; `set_running(bool)` starts / stops the dash animation."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.graph: Graph | None = None
        self.snapshot: Any = None
        self.running = True
        self.phase = 0.0  # dash offset, in pixels
        self._cache: QtGui.QPixmap | None = None
        self._rects: dict[str, QtCore.QRectF] = {}
        self._cmap = pg.colormap.get(style.palette().colormap)
        self._lut = self._cmap.getLookupTable(0.0, 1.0, LUT_SIZE, alpha=False).astype(np.uint8)  # (LUT_SIZE, 3)
        self._colours = [QtGui.QColor(*map(int, rgb)) for rgb in self._lut]
        self._levels: tuple[float, float] | None = None
        self._caption_doc: tuple[Any, QtGui.QTextDocument] | None = None
        self.highlighted: tuple[str, ...] = ()  # nodes of the slow-motion stage shown (see highlight)
        self.highlighted_edges: tuple[tuple[str, str], ...] = ()  # its edges (src, dst): drawn lit and moving
        self.stage: str | None = None
        self.series: dict[str, np.ndarray] = {}  # recent per-step values drawn as sparklines in their nodes
        self._noise = np.random.default_rng(0).standard_normal((NOISE_POINTS, 2))
        self._jitter = np.random.default_rng(1).uniform(-1.0, 1.0, JITTER)  # 1D strips' vertical spread
        self._labels: dict[str, QtGui.QStaticText] = {}
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(int(1000 / ANIMATION_HZ))
        self.timer.timeout.connect(self._tick)
        self.setMinimumSize(280, 200)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding)

    # ------------------------------------------------------------ inputs
    def set_graph(self, graph: Graph) -> None:
        self.graph = graph
        self._light()  # a stage shown stays lit on the new graph (its nodes and edges there)
        self._labels.clear()
        self._invalidate()

    def update_snapshot(self, snap: Any) -> None:
        self.snapshot = snap
        hist = getattr(snap, "history", None)
        for key in set(SERIES.values()):
            vals = None if hist is None else hist.values.get(key)
            if vals is not None and len(vals):
                self.series[key] = np.concatenate([self.series.get(key, np.empty(0)), vals])[-SERIES_POINTS:]
        self.set_running(bool(getattr(snap, "running", True)))
        self._invalidate()

    def reset(self) -> None:
        self.snapshot = None
        self.series.clear()
        self._invalidate()

    def highlight(self, stage: str | None) -> tuple[str, ...]:
        """Light up the nodes and edges of a slow-motion stage (a name from ganviz.core.stages; None: none):
        the nodes outlined, the edges in the highlight colour, thicker, the only ones whose dashes move (the
        other edges stand still, faded). Returns the nodes."""
        self.stage = stage or None
        self._light()
        self._invalidate()
        return self.highlighted

    def _light(self) -> None:
        g, stage = self.graph, self.stage
        self.highlighted = g.stage_nodes(stage) if g is not None and stage else ()
        self.highlighted_edges = g.stage_edges(stage) if g is not None and stage else ()

    def edge_line(self, src: str, dst: str) -> QtCore.QLineF:
        """The segment an edge is drawn along, in widget pixels (between the borders of its two nodes)."""
        self._layout()
        return _edge_segment(self._rects[src], self._rects[dst])

    def set_running(self, running: bool) -> None:
        self.running = running
        self._sync_timer()

    # ------------------------------------------------------------ what it shows (tests read these)
    def levels(self) -> tuple[float, float]:
        """The colour range of D's outputs in this snapshot (computed once per snapshot)."""
        if self._levels is None:
            snap = self.snapshot
            objective = self.graph.objective if self.graph is not None else "ns"
            self._levels = d_levels(objective, getattr(snap, "d_real", None), getattr(snap, "d_fake", None))
        return self._levels

    def colour_index(self, values: np.ndarray) -> np.ndarray:
        """Each value's entry in the colour table (LUT_SIZE entries over `levels()`)."""
        lo, hi = self.levels()
        t = np.clip((np.asarray(values, dtype=np.float64) - lo) / (hi - lo), 0.0, 1.0)
        return (np.nan_to_num(t, nan=0.5) * (LUT_SIZE - 1)).round().astype(int)

    def colour_of(self, value: float) -> QtGui.QColor:
        return QtGui.QColor(self._colours[int(self.colour_index(np.array([value]))[0])])

    def node_colour(self, node_id: str) -> QtGui.QColor:
        """The fill of a node: D's outputs colour their nodes (the mean output), others their kind's colour."""
        node = self.graph.node(node_id) if self.graph is not None else None
        values = self._d_values(node_id)
        if values is not None and values.size:
            return self.colour_of(float(np.mean(values)))
        return QtGui.QColor(KIND_FILL.get(node.kind if node else "", "#ffffff"))

    def sample_colours(self, node_id: str) -> list[QtGui.QColor]:
        """The colour of each sample dot of the fake / real node (D's output on it)."""
        values = self._d_values({"fake": "d_fake", "real": "d_real"}.get(node_id, node_id))
        return [] if values is None else [QtGui.QColor(self._colours[i]) for i in self.colour_index(values)]

    def node_rect(self, node_id: str) -> QtCore.QRectF:
        self._layout()
        return QtCore.QRectF(self._rects[node_id])

    def _d_values(self, node_id: str) -> np.ndarray | None:
        snap = self.snapshot
        if snap is None or node_id not in ("d_fake", "d_real"):
            return None
        values = getattr(snap, node_id, None)
        return None if values is None else np.asarray(values, dtype=np.float64).ravel()

    def latest(self, key: str) -> float | None:
        """The last per-step value of a history series (d_loss, g_loss, d_penalty, ...), if any."""
        hist = getattr(self.snapshot, "history", None)
        vals = None if hist is None else hist.values.get(key)
        if vals is None or not len(vals):
            return None
        return float(vals[-1])

    def text_font(self, share: float = 1.0) -> QtGui.QFont:
        """The widget's font (the application's: presentation mode enlarges it) at `share` of its size."""
        font = QtGui.QFont(self.font())
        if font.pointSizeF() > 0:
            font.setPointSizeF(font.pointSizeF() * share)
        return font

    def changeEvent(self, event: QtCore.QEvent) -> None:  # noqa: N802 (Qt API)
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.FontChange:
            self._labels.clear()
            self._caption_doc = None
            self._invalidate()

    # ------------------------------------------------------------ animation
    def _sync_timer(self) -> None:
        # live: while the run plays; slow motion (the run paused): while a stage with edges is shown
        on = (self.running or bool(self.highlighted_edges)) and self.isVisible() and self.graph is not None
        if on and not self.timer.isActive():
            self.timer.start()
        elif not on and self.timer.isActive():
            self.timer.stop()

    def showEvent(self, event: QtGui.QShowEvent) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        self._sync_timer()

    def hideEvent(self, event: QtGui.QHideEvent) -> None:  # noqa: N802 (Qt API)
        super().hideEvent(event)
        self._sync_timer()

    def _tick(self) -> None:
        self.phase = (self.phase + 1.5) % 1200.0
        self.update()

    # ------------------------------------------------------------ geometry
    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._invalidate()

    def _invalidate(self) -> None:
        self._cache = None
        self._levels = None
        self._rects.clear()
        self._sync_timer()
        self.update()

    def _caption(self) -> QtGui.QTextDocument:
        """The objective's name and formulas (and notes) under the graph, wrapped to the widget's width."""
        key = (self.graph.objective, self.graph.notes, tuple(n.id for n in self.graph.nodes), self.width())
        if self._caption_doc is None or self._caption_doc[0] != key:
            obj = OBJECTIVES[self.graph.objective]
            f = obj.formula
            d_terms = " ".join(f.d_terms) if f is not None else obj.d_formula
            g_terms = " ".join(f.g_terms) if f is not None else obj.g_formula
            penalties = [n.formula[0] for n in self.graph.nodes if n.kind == "penalty" and n.formula
                         and n.formula[0] not in d_terms]
            d_terms = " ".join([d_terms, *penalties])
            lines = [f"<b>{obj.label}</b>: L<sub>D</sub> = {render(d_terms)}", f"L<sub>G</sub> = {render(g_terms)}"]
            if self.graph.notes:
                lines.append("; ".join(self.graph.notes))
            doc = QtGui.QTextDocument()
            doc.setDocumentMargin(2)
            doc.setDefaultFont(self.text_font())
            doc.setHtml("<br>".join(lines))
            doc.setTextWidth(max(100, self.width() - 8))
            self._caption_doc = (key, doc)
        return self._caption_doc[1]

    def portrait(self) -> bool:
        """A tall, narrow dock lays the graph out top to bottom (z at the top, the updates at the bottom)."""
        return self.width() < self.height() - self._caption().size().height()

    def _layout(self) -> None:
        if self._rects or self.graph is None:
            return
        w, h = self.width(), self.height() - self._caption().size().height() - 4
        tall = self.portrait()
        cols, rows = (ROWS, COLUMNS) if tall else (COLUMNS, ROWS)
        cw, ch = w / cols, max(30.0, h / rows)
        mx, my = max(3.0, cw * 0.05), max(3.0, ch * 0.08)
        for n in self.graph.nodes:
            if tall:  # transposed: the graph's columns run down, its rows across
                cell = QtCore.QRectF(n.row * cw, n.col * ch, cw * n.rows, ch)
            else:
                cell = QtCore.QRectF(n.col * cw, n.row * ch, cw, ch * n.rows)
            if n.slots > 1:
                cell = QtCore.QRectF(cell.x() + n.slot * cell.width() / n.slots, cell.y(), cell.width() / n.slots,
                                     cell.height())
            self._rects[n.id] = cell.adjusted(mx / max(1, n.slots), my, -mx / max(1, n.slots), -my)

    # ------------------------------------------------------------ painting
    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802 (Qt API)
        p = QtGui.QPainter(self)
        if self.graph is None:
            p.drawText(self.rect(), QtCore.Qt.AlignmentFlag.AlignCenter, "The model appears with the first run.")
            return
        self._layout()
        if self._cache is None or self._cache.size() != self.size() * self.devicePixelRatioF():
            self._cache = self._render_static()
        p.drawPixmap(0, 0, self._cache)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        lit = set(self.highlighted_edges)
        staged = self.stage is not None  # slow motion: only the stage's edges move, the others are faded
        for edge in sorted(self.graph.edges, key=lambda e: (e.src, e.dst) in lit):  # the lit ones on top
            if edge.src in self._rects and edge.dst in self._rects:
                on = (edge.src, edge.dst) in lit
                self._draw_edge(p, self._rects[edge.src], self._rects[edge.dst], edge.kind == "backward",
                                lit=on, moving=on or not staged, faded=staged and not on)
        p.end()

    def _draw_edge(self, p: QtGui.QPainter, a: QtCore.QRectF, b: QtCore.QRectF, backward: bool,
                   lit: bool = False, moving: bool = True, faded: bool = False) -> None:
        line = _edge_segment(a, b)
        if line.length() < 4:
            return
        colour = QtGui.QColor(HIGHLIGHT if lit else BACKWARD if backward else FORWARD)
        if faded:
            colour.setAlpha(DIM_ALPHA)
        width = LIT_WIDTH if lit else EDGE_WIDTH
        pen = QtGui.QPen(colour, width)
        if lit:
            pen.setCapStyle(QtCore.Qt.PenCapStyle.FlatCap)
        pen.setDashPattern([2.5, 1.0] if lit else [4.0, 3.0])  # pen units: a 14 px period either way
        # dashes move from start to end: 1 px of phase = 1/width pen units
        pen.setDashOffset(-self.phase / width if moving else 0.0)
        p.setPen(pen)
        p.drawLine(QtCore.QLineF(line.p1(), line.pointAt(max(0.0, 1.0 - width * 1.5 / line.length()))) if lit else line)
        _arrow_head(p, line, colour, 11.0 if lit else 7.0)

    def _render_static(self) -> QtGui.QPixmap:
        ratio = self.devicePixelRatioF()
        pix = QtGui.QPixmap(self.size() * ratio)
        pix.setDevicePixelRatio(ratio)
        pix.fill(QtGui.QColor(style.palette().background))
        p = QtGui.QPainter(pix)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        for node in self.graph.nodes:
            self._draw_node(p, node, self._rects[node.id])
        self._draw_caption(p)
        p.end()
        return pix

    def _label(self, node: Node) -> QtGui.QStaticText:
        text = self._labels.get(node.id)
        if text is None:
            text = QtGui.QStaticText(f"<b>{render(node.label)}</b>")
            text.setTextFormat(QtCore.Qt.TextFormat.RichText)
            text.prepare(QtGui.QTransform(), self.text_font())  # laid out once per graph, not per paint
            self._labels[node.id] = text
        return text

    def _draw_node(self, p: QtGui.QPainter, node: Node, r: QtCore.QRectF) -> None:
        fill = self.node_colour(node.id)
        lit = node.id in self.highlighted
        p.setPen(QtGui.QPen(QtGui.QColor(HIGHLIGHT if lit else "#8a8a8a"), 3.5 if lit else 1.0))
        p.setBrush(fill)
        p.drawRoundedRect(r, 6, 6)
        fg = QtGui.QColor("#101010" if fill.lightnessF() > 0.45 else "#ffffff")
        p.setPen(fg)
        p.setFont(self.text_font())
        label = self._label(node)
        size = label.size()
        fit = min(1.0, (r.width() - 4) / max(size.width(), 1.0))  # a label wider than its box is shrunk to fit
        p.save()
        p.translate(r.center().x() - size.width() * fit / 2, r.top() + 2)
        p.scale(fit, fit)
        p.drawStaticText(QtCore.QPointF(0, 0), label)
        p.restore()
        fm = QtGui.QFontMetrics(self.text_font(SMALL))
        body = r.adjusted(4, size.height() + 3, -4, -3)
        value = self._value_text(node)
        lines = [t for t in (value, node.detail) if t]
        text_h = fm.height() * len(lines)
        plot = body.adjusted(0, 0, 0, -text_h)
        if plot.height() > 14 and plot.width() > 14:
            self._draw_multiple(p, node, plot)
        p.setFont(self.text_font(SMALL))
        p.setPen(fg)
        y = body.bottom() - text_h
        for t in lines:
            p.drawText(QtCore.QRectF(body.left(), y, body.width(), fm.height()),
                       QtCore.Qt.AlignmentFlag.AlignHCenter, fm.elidedText(t, QtCore.Qt.TextElideMode.ElideRight,
                                                                          int(body.width())))
            y += fm.height()

    def _value_text(self, node: Node) -> str:
        key = SERIES.get(node.id)
        if node.kind == "d_out":
            vals = self._d_values(node.id)
            return "" if vals is None or not vals.size else f"mean {np.mean(vals):.3g}"
        v = self.latest(key) if key else None
        if v is None:
            return ""
        return f"‖∇‖ = {v:.3g}" if node.kind == "grad" else f"{v:.4g}"

    def _draw_multiple(self, p: QtGui.QPainter, node: Node, r: QtCore.QRectF) -> None:
        snap = self.snapshot
        if node.kind == "noise":
            z_dim = self.graph.node("g").layers[0] if self.graph.node("g").layers else 2
            self._scatter(p, r, self._noise[:, : min(2, z_dim)], None, square=z_dim >= 2)
        elif node.kind == "net":
            field = getattr(snap, "field2d", None) if node.id == "d" else None
            curve = getattr(snap, "field1d", None) if node.id == "d" else None
            draw = self._field if field is not None else (self._curve if curve is not None else None)
            if draw is not None and r.width() > 2 * r.height() * 0.8:  # D's field (or curve) beside its layers
                side = min(r.height(), r.width() / 2)
                draw(p, QtCore.QRectF(r.left(), r.top(), side, r.height()), field or curve)
                r = r.adjusted(side + 4, 0, 0, 0)
            elif draw is not None:
                half = r.height() / 2
                draw(p, QtCore.QRectF(r.left(), r.top(), r.width(), half), field or curve)
                r = r.adjusted(0, half + 2, 0, 0)
            if node.layers:
                _layer_bars(p, r, node.layers)
        elif node.kind in ("fake", "real") and snap is not None:
            images = getattr(snap, "images", None)
            pts = getattr(snap, node.kind, None)
            if images is not None:
                _image_grid(p, r, getattr(images, node.kind))
            elif pts is not None and np.size(pts) and pts.shape[-1] <= 2:
                vals = self._d_values("d_" + node.kind)
                bounds = tuple(getattr(snap, "bounds", ()))  # the data view's range: both nodes alike
                self._scatter(p, r, pts, None if vals is None else self.colour_index(vals), bounds=bounds)
        elif node.id in SERIES and len(self.series.get(SERIES[node.id], ())) > 1:
            _sparkline(p, r, self.series[SERIES[node.id]],
                       QtGui.QColor(BACKWARD if node.kind == "grad" else style.palette().penalty))
        elif node.kind == "d_out":
            vals = self._d_values(node.id)
            if vals is not None and vals.size:
                self._strip(p, r, np.sort(vals))

    def _scatter(self, p: QtGui.QPainter, r: QtCore.QRectF, pts: np.ndarray, index: np.ndarray | None,
                 square: bool = False, bounds: tuple[float, ...] = ()) -> None:
        """Points (first two coordinates; 1D on a line) in r, coloured by colour-table index (None: D's blue)."""
        pts = np.asarray(pts, dtype=np.float64)
        one_d = pts.shape[1] < 2  # 1D: a strip, jittered up and down so that the density shows
        xy = pts[:, :2] if not one_d else np.column_stack([pts[:, 0], self._jitter[np.arange(len(pts)) % JITTER]])
        ok = np.isfinite(xy).all(axis=1)
        if not ok.any():
            return
        if len(bounds) == 4:
            lo, hi = np.array([bounds[0], bounds[2]]), np.array([bounds[1], bounds[3]])
        elif len(bounds) == 2:
            lo, hi = np.array([bounds[0], -2.0]), np.array([bounds[1], 2.0])
        else:
            lo, hi = np.percentile(xy[ok], 1, axis=0), np.percentile(xy[ok], 99, axis=0)
        span = np.maximum(hi - lo, 1e-6)
        if square:
            span[:] = span.max()
        side = min(r.width(), r.height())
        box = QtCore.QRectF(r.center().x() - side / 2, r.center().y() - side / 2, side, side) if square else r
        px = box.left() + (xy[:, 0] - lo[0]) / span[0] * box.width()
        if one_d and len(bounds) != 2:
            lo[1], span[1] = -2.0, 4.0
        py = box.bottom() - (xy[:, 1] - lo[1]) / span[1] * box.height()
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)  # dots: 3 px squares read the same
        inside = ok & (px >= box.left()) & (px <= box.right()) & (py >= box.top()) & (py <= box.bottom())
        index = np.full(len(xy), -1) if index is None or len(index) != len(xy) else index
        pen = QtGui.QPen()
        pen.setWidthF(3.0)
        pen.setCapStyle(QtCore.Qt.PenCapStyle.SquareCap)
        for i in np.unique(index[inside]):  # one call per colour
            pen.setColor(QtGui.QColor(style.palette().disc) if i < 0 else self._colours[int(i)])
            p.setPen(pen)
            sel = inside & (index == i)
            p.drawPoints(QtGui.QPolygonF([QtCore.QPointF(x, y) for x, y in zip(px[sel], py[sel], strict=True)]))
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)

    def _strip(self, p: QtGui.QPainter, r: QtCore.QRectF, vals: np.ndarray) -> None:
        """D's outputs on the batch, sorted, as a strip of colours (low to high)."""
        rgb = np.ascontiguousarray(self._lut[self.colour_index(vals)][None, :, :])
        image = QtGui.QImage(rgb.data, rgb.shape[1], 1, 3 * rgb.shape[1], QtGui.QImage.Format.Format_RGB888)
        h = min(r.height(), 14.0)
        p.drawImage(QtCore.QRectF(r.left(), r.center().y() - h / 2, r.width(), h), image.copy())

    def _field(self, p: QtGui.QPainter, r: QtCore.QRectF, f: Any) -> None:
        """D's 2D field, in the data view's colours and range."""
        rgb = np.ascontiguousarray(self._lut[self.colour_index(f.values)][::-1])
        image = QtGui.QImage(rgb.data, rgb.shape[1], rgb.shape[0], 3 * rgb.shape[1], QtGui.QImage.Format.Format_RGB888)
        side = min(r.width(), r.height())
        p.drawImage(QtCore.QRectF(r.center().x() - side / 2, r.center().y() - side / 2, side, side), image.copy())

    def _curve(self, p: QtGui.QPainter, r: QtCore.QRectF, f: Any) -> None:
        """D's output along x (1D data), in the objective's range."""
        d = np.asarray(f.d, dtype=np.float64)
        ok = np.isfinite(d)
        if ok.sum() < 2:
            return
        lo, hi = self.levels()
        t = np.clip((d - lo) / (hi - lo), 0.0, 1.0)
        xs = r.left() + np.linspace(0.0, r.width(), d.size)
        ys = r.bottom() - t * r.height()
        p.setPen(QtGui.QPen(QtGui.QColor(style.palette().disc), 1.5))
        p.drawPolyline(QtGui.QPolygonF([QtCore.QPointF(x, y) for x, y, k in zip(xs, ys, ok, strict=True) if k]))

    def _draw_caption(self, p: QtGui.QPainter) -> None:
        doc = self._caption()
        p.save()
        p.translate(4, self.height() - doc.size().height() - 2)
        doc.drawContents(p)
        p.restore()


def _edge_segment(a: QtCore.QRectF, b: QtCore.QRectF) -> QtCore.QLineF:
    """An edge from node a to node b: between their borders, on the line through their centres."""
    return QtCore.QLineF(_border_point(a, b.center()), _border_point(b, a.center()))


def _border_point(r: QtCore.QRectF, toward: QtCore.QPointF) -> QtCore.QPointF:
    """Where the line from r's centre toward a point leaves r."""
    c = r.center()
    dx, dy = toward.x() - c.x(), toward.y() - c.y()
    if dx == 0 and dy == 0:
        return c
    sx = r.width() / 2 / abs(dx) if dx else math.inf
    sy = r.height() / 2 / abs(dy) if dy else math.inf
    s = min(sx, sy)
    return QtCore.QPointF(c.x() + dx * s, c.y() + dy * s)


def _arrow_head(p: QtGui.QPainter, line: QtCore.QLineF, colour: QtGui.QColor, size: float = 7.0) -> None:
    angle = math.atan2(line.dy(), line.dx())
    tip = line.p2()
    pts = [tip, QtCore.QPointF(tip.x() - size * math.cos(angle - 0.45), tip.y() - size * math.sin(angle - 0.45)),
           QtCore.QPointF(tip.x() - size * math.cos(angle + 0.45), tip.y() - size * math.sin(angle + 0.45))]
    p.setPen(QtCore.Qt.PenStyle.NoPen)
    p.setBrush(colour)
    p.drawPolygon(QtGui.QPolygonF(pts))


def _sparkline(p: QtGui.QPainter, r: QtCore.QRectF, values: np.ndarray, colour: QtGui.QColor) -> None:
    """Recent values of a series as a line (its own range; the latest value is written under it)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return
    lo, hi = float(v.min()), float(v.max())
    span = hi - lo if hi > lo else 1.0
    xs = r.left() + np.linspace(0.0, r.width(), v.size)
    ys = r.bottom() - (v - lo) / span * r.height()
    p.setPen(QtGui.QPen(colour, 1.2))
    p.drawPolyline(QtGui.QPolygonF([QtCore.QPointF(x, y) for x, y in zip(xs, ys, strict=True)]))


def _image_grid(p: QtGui.QPainter, r: QtCore.QRectF, images: np.ndarray, n: int = 3) -> None:
    """The first n x n images of a batch (values in [-1, 1]) as a grey grid, centred in r."""
    imgs = np.asarray(images, dtype=np.float32)
    if imgs.ndim != 3 or not len(imgs):
        return
    n = max(1, min(n, int(np.sqrt(len(imgs)))))
    h, w = imgs.shape[1:]
    grid = np.ones((n * (h + 1), n * (w + 1)), dtype=np.float32)
    for i in range(n * n):
        row, col = divmod(i, n)
        grid[row * (h + 1):row * (h + 1) + h, col * (w + 1):col * (w + 1) + w] = imgs[i]
    grey = np.ascontiguousarray(((np.clip(grid, -1, 1) + 1) * 127.5).astype(np.uint8))
    image = QtGui.QImage(grey.data, grey.shape[1], grey.shape[0], grey.shape[1], QtGui.QImage.Format.Format_Grayscale8)
    side = min(r.width(), r.height())
    p.drawImage(QtCore.QRectF(r.center().x() - side / 2, r.center().y() - side / 2, side, side), image.copy())


def _layer_bars(p: QtGui.QPainter, r: QtCore.QRectF, layers: tuple[int, ...]) -> None:
    """A network's layers as bars, height growing with the layer's width (log scale), so depth and width read
    at a glance."""
    n = len(layers)
    top = math.log2(max(layers) + 1)
    gap = r.width() / n
    bar = max(2.0, min(10.0, gap * 0.5))
    p.setPen(QtCore.Qt.PenStyle.NoPen)
    for i, width in enumerate(layers):
        h = max(3.0, r.height() * math.log2(width + 1) / top)
        x = r.left() + gap * (i + 0.5) - bar / 2
        p.setBrush(QtGui.QColor("#7f8fa6" if 0 < i < n - 1 else "#b0b0b0"))
        p.drawRoundedRect(QtCore.QRectF(x, r.center().y() - h / 2, bar, h), 2, 2)
