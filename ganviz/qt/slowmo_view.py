"""What slow motion shows (issue 18.2): a narration bar over the data view, drawn from the stages the engine played.

`SlowMotionView` takes the window's data-view place while slow motion is on: on top a bar with the stage's name and
where it sits in the step (a strip of the step's stages, D's in blue, G's in purple, as GAN Lab colours them), the
one-line narration with the step's real numbers in a large font (it grows with presentation mode's font), and the
controls (Back, Next, Auto, seconds per stage, Leave); under it a data view of its own (the same 1D / 2D panels as
the lab) showing the stage's state: the D field as that stage left it (a D update: the field changing from before
to after), the batches of the update, and on the G stages the fakes with arrows along -dL_G/dx (where the G update
pushes them) and, on the G update, the fakes moving to where the updated G puts them.

Views only: what is drawn comes from `core.messages.StagePlayed` and the window's last snapshot (bounds, objective).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from . import style
from .panels._common import objective_of
from .panels._contour import contour_segments
from .panels.data1d import Data1DPanel
from .panels.data2d import Data2DPanel

# core.stages' names of the stages drawn differently (not imported: that module loads torch, which the window's
# process does not before its first frame; tests/qt/test_slowmo.py checks they are the same)
SAMPLE, D_UPDATE, G_GRADIENT, G_UPDATE = "sample z", "D update", "G gradient", "G update"
ARROW_FRACTION = 0.08  # the 95th-percentile arrow is this share of the view's larger side (as the lab's arrows)
VISIBLE_MOVE = 0.6  # a G update's fakes are drawn moving at least this share of their arrow (magnified, labelled)
ANIMATION_HZ = 30
NARROW = 700  # px: a bar narrower than this sets its narration at 1.15x the font instead of 1.3x
D_COLOUR, G_COLOUR = "#4080f7", "#aa4fc0"  # GAN Lab's colours for the D and G halves of a step


def arrow_segments(points: np.ndarray, vectors: np.ndarray, span: float,
                   fraction: float = ARROW_FRACTION) -> tuple[np.ndarray, float]:
    """Arrows at points along vectors, scaled so the 95th-percentile arrow is `fraction` of `span`: (segments as
    consecutive point pairs (6 per arrow: shaft and two head strokes), the scale applied). Rows that are not finite
    or have a zero vector draw nothing."""
    p = np.asarray(points, dtype=np.float64).reshape(len(points), -1)[:, :2]
    v = np.asarray(vectors, dtype=np.float64).reshape(len(vectors), -1)[:, :2]
    norm = np.hypot(v[:, 0], v[:, 1])
    ok = np.isfinite(norm) & (norm > 0) & np.isfinite(p).all(axis=1)
    if not ok.any():
        return np.empty((0, 2)), 0.0
    p, v, norm = p[ok], v[ok], norm[ok]
    scale = fraction * span / float(np.percentile(norm, 95))
    vec = v * scale
    length = norm * scale
    cap = 1.5 * fraction * span
    long = length > cap
    vec[long] *= (cap / length[long])[:, None]
    tip = p + vec
    back = -0.3 * vec
    c, s = np.cos(np.radians(25)), np.sin(np.radians(25))
    h1 = np.stack([c * back[:, 0] - s * back[:, 1], s * back[:, 0] + c * back[:, 1]], axis=1)
    h2 = np.stack([c * back[:, 0] + s * back[:, 1], -s * back[:, 0] + c * back[:, 1]], axis=1)
    return np.stack([p, tip, tip, tip + h1, tip, tip + h2], axis=1).reshape(-1, 2), scale


def move_magnification(moves: np.ndarray, arrow_scale: float, grads: np.ndarray) -> float:
    """How much a G update's moves are magnified to be seen: the fakes' mean move is drawn as at least VISIBLE_MOVE
    of the mean arrow (1: drawn true to size when that already shows)."""
    moved = float(np.nanmean(np.linalg.norm(moves, axis=1))) if len(moves) else 0.0
    arrow = float(np.nanmean(np.linalg.norm(grads, axis=1))) * arrow_scale if len(grads) else 0.0
    if not (moved > 0 and arrow > 0):
        return 1.0
    return max(1.0, VISIBLE_MOVE * arrow / moved)


class StageStrip(QtWidgets.QWidget):
    """The step's stages as a row of boxes (D's blue, G's purple), the current one filled: where in the step we are."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.plan: list[tuple[str, str, int]] = []
        self.current = -1
        self.setMinimumHeight(12)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 (Qt API)
        return QtCore.QSize(300, max(12, self.fontMetrics().height() // 2 + 6))

    def set_plan(self, plan: list[tuple[str, str, int]], current: int) -> None:
        self.plan, self.current = plan, current
        self.setToolTip("\n".join(f"{i + 1}. {n} ({net} {j + 1})" for i, (n, net, j) in enumerate(plan)))
        self.update()

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802 (Qt API)
        if not self.plan:
            return
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        w = self.width() / len(self.plan)
        h = self.height() - 2
        for i, (_name, net, _j) in enumerate(self.plan):
            colour = QtGui.QColor(D_COLOUR if net == "D" else G_COLOUR)
            r = QtCore.QRectF(i * w + 1.5, 1, max(w - 3, 2), h)
            p.setPen(QtGui.QPen(colour, 1.5))
            if i == self.current:
                p.setBrush(colour)
            elif i < self.current:
                faded = QtGui.QColor(colour)
                faded.setAlpha(90)
                p.setBrush(faded)
            else:
                p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            p.drawRoundedRect(r, 3, 3)
        p.end()


class NarrationBar(QtWidgets.QFrame):
    """The stage's title, the strip of the step's stages, the narration (large, wrapped) and the controls."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self.setObjectName("slowmo_bar")
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 6)
        lay.setSpacing(4)
        self.title = QtWidgets.QLabel("Slow motion")
        self.title.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)
        lay.addWidget(self.title)
        self.strip = StageStrip()
        lay.addWidget(self.strip)
        self.controls = QtWidgets.QWidget()  # the player's row: SlowMotionView puts it under the data view
        row = QtWidgets.QHBoxLayout(self.controls)
        row.setContentsMargins(6, 0, 6, 2)
        row.setSpacing(6)
        row.addStretch(1)
        self.back_button = QtWidgets.QPushButton("◀ Back")
        self.next_button = QtWidgets.QPushButton("Next ▶")
        self.auto_button = QtWidgets.QPushButton("Auto")
        self.auto_button.setCheckable(True)
        self.back_button.setToolTip("The previous stage (B)")
        self.next_button.setToolTip("The next stage; after a step's last stage the engine plays the next step (N)")
        self.auto_button.setToolTip("Play the stages one after another at the pace set beside")
        self.speed = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.speed.setRange(2, 30)  # tenths of a second per stage
        self.speed.setValue(8)
        self.speed.setMinimumWidth(60)
        self.speed.setMaximumWidth(140)
        self.speed.setToolTip("Seconds each stage is shown in Auto")
        self.speed_label = QtWidgets.QLabel()
        self.leave_button = QtWidgets.QPushButton("Leave")
        self.leave_button.setToolTip("Leave slow motion: training goes on as it was before (Ctrl+Shift+M)")
        for w in (self.back_button, self.next_button, self.auto_button, self.speed, self.speed_label,
                  self.leave_button):
            row.addWidget(w)
        row.addStretch(1)
        self.narration = QtWidgets.QLabel("Waiting for the engine to play the next step…")
        self.narration.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.narration.setWordWrap(True)
        self.narration.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.narration.setMinimumHeight(10)
        lay.addWidget(self.narration)
        self.speed.valueChanged.connect(self._show_speed)
        self._show_speed(self.speed.value())
        self._apply_fonts()

    def set_text(self, title: str, narration: str) -> None:
        self.title.setText(title)
        self.narration.setText(narration)
        self.refit()

    def refit(self) -> None:
        """Wrapped labels keep the height their text needs at their width (a box layout does not always ask)."""
        for label in (self.title, self.narration):
            if label.width() > 10:
                label.setMinimumHeight(label.heightForWidth(label.width()))

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        if (event.oldSize().width() >= NARROW) != (event.size().width() >= NARROW):
            self._apply_fonts()  # a narrow bar (presentation mode beside docks) reads a size smaller
        QtCore.QTimer.singleShot(0, self.refit)  # once the labels have their new widths

    def seconds(self) -> float:
        return self.speed.value() / 10.0

    def _show_speed(self, value: int) -> None:
        self.speed_label.setText(f"{value / 10:.1f} s / stage")

    def _apply_fonts(self) -> None:
        """Title 1.1x (bold) and narration 1.3x the widget's font (the application's: presentation mode enlarges
        it, so in a hall the narration reads at about twice the lab's size)."""
        base = QtGui.QFont(self.font())
        size = base.pointSizeF() if base.pointSizeF() > 0 else 10.0
        title = QtGui.QFont(base)
        title.setPointSizeF(size * 1.1)
        title.setBold(True)
        self.title.setFont(title)
        big = QtGui.QFont(base)
        big.setPointSizeF(size * (1.3 if self.width() >= NARROW else 1.15))
        self.narration.setFont(big)
        self.strip.setFixedHeight(max(12, int(QtGui.QFontMetrics(base).height() * 0.7)))
        self.refit()

    def changeEvent(self, event: QtCore.QEvent) -> None:  # noqa: N802 (Qt API)
        if event.type() in (QtCore.QEvent.Type.FontChange, QtCore.QEvent.Type.ApplicationFontChange):
            self._apply_fonts()
        super().changeEvent(event)


class SlowMotionView(QtWidgets.QWidget):
    """The bar over a data view of its own (1D or 2D, made when first needed) with the stage overlays."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.bar = NarrationBar()
        lay.addWidget(self.bar)
        self.stack = QtWidgets.QStackedWidget()
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.bar.controls)
        self.panels: dict[int, Any] = {}
        self.arrows: dict[int, pg.PlotCurveItem] = {}
        self.origins: dict[int, pg.ScatterPlotItem] = {}
        self.movers: dict[int, pg.ScatterPlotItem] = {}
        self.ghosts: dict[int, pg.PlotCurveItem] = {}  # a D update: D before it (1D: its curve; 2D: its contour)
        self.arrow_count = 0  # arrows drawn for the stage shown (tests read it)
        self.magnification = 1.0  # how much the G update's moves are magnified to be seen (1: true size)
        self._anim: dict[str, Any] = {}
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(int(1000 / ANIMATION_HZ))
        self._timer.timeout.connect(self._tick)

    # ------------------------------------------------------------ panels
    def panel(self, dim: int) -> Any:
        """The data panel for this dimension (1 or 2), made with its overlay items on first use."""
        dim = 1 if dim == 1 else 2
        if dim not in self.panels:
            pal = style.palette()
            panel = Data1DPanel() if dim == 1 else Data2DPanel()
            plot = panel.d_plot if dim == 1 else panel.plot
            for box in panel.findChildren(QtWidgets.QCheckBox):  # the stage decides what shows: not the lab's toggles
                box.hide()
            self.arrows[dim] = pg.PlotCurveItem(pen=style.pen(pal.arrows, 1.5), connect="pairs")
            self.origins[dim] = pg.ScatterPlotItem(size=6, pen=style.pen(pal.fake, 1), brush=None, pxMode=True)
            self.movers[dim] = pg.ScatterPlotItem(size=7, pen=style.pen(pal.fake_edge, 1),
                                                  brush=style.brush(pal.fake, 230), pxMode=True)
            self.ghosts[dim] = pg.PlotCurveItem(pen=style.pen(pal.reference, 2, "dash"),
                                                connect="all" if dim == 1 else "pairs")
            for z, item in ((12, self.arrows[dim]), (13, self.origins[dim]), (14, self.movers[dim]),
                            (6, self.ghosts[dim])):
                item.setZValue(z)
                plot.addItem(item)
            self.panels[dim] = panel
            self.stack.addWidget(panel)
        return self.panels[dim]

    # ------------------------------------------------------------ showing a stage
    def show_stage(self, stage: Any, field: Any, before: Any, base: Any, animate_ms: int) -> None:
        """Draw one stage (its arrays filled in from the earlier stages of its update, see SlowMotion.filled):
        `field` the D field it leaves (before: the field before it, for a D update's change), `base` the window's
        last snapshot (bounds, objective, modes). animate_ms: how long the change takes (0: at once)."""
        self._timer.stop()
        self._anim = {}
        dim = int(base.dim) if base is not None else (1 if field is not None and hasattr(field, "x") else 2)
        panel = self.panel(dim)
        self.stack.setCurrentWidget(panel)
        g_side = stage.network == "G"
        real = None if g_side or stage.real is None else stage.real
        # the sample stage has no fakes yet; a 2D G update draws its own, moving (1D: the histogram stays)
        fake = None if stage.name == SAMPLE or (stage.name == G_UPDATE and dim == 2) else stage.fake
        snap = self._snapshot(base, dim, field, real, fake, stage)
        if snap is not None:
            panel.update_snapshot(snap)
        self._draw_g_overlay(dim, stage)
        self._draw_ghost(dim, before if stage.name == D_UPDATE and before is not field else None, base)
        if stage.name == D_UPDATE and before is not None and field is not None and animate_ms > 0 and snap is not None:
            self._start({"kind": "field", "panel": panel, "snap": snap, "from": before, "to": field}, animate_ms)
        elif stage.name == G_UPDATE and stage.fake_after is not None and animate_ms > 0:
            self._start({"kind": "move", "dim": dim}, animate_ms)

    def finish_animation(self) -> None:
        """Jump to the end of the change being animated (a D field or the fakes' move)."""
        if self._anim:
            self._anim["t0"] = -1e9
            self._tick()

    def _snapshot(self, base: Any, dim: int, field: Any, real: Any, fake: Any, stage: Any) -> Any:
        if base is None or field is None:
            return None
        empty = np.empty((0, dim), dtype=np.float32)
        d_real = stage.d_real if stage.d_real is not None else base.d_real
        d_fake = stage.d_fake if stage.d_fake is not None else base.d_fake
        return dataclasses.replace(
            base, field1d=field if dim == 1 else None, field2d=field if dim == 2 else None,
            real=empty if real is None else real, fake=empty if fake is None else fake, d_real=d_real,
            d_fake=d_fake, grad_fake=None, z_grid=None, history=base.history, events=())

    def _draw_g_overlay(self, dim: int, stage: Any) -> None:
        """Arrows along -dL_G/dx at the fakes (G gradient, G update) and, on the G update, the fakes moving."""
        arrows, origins, movers = self.arrows[dim], self.origins[dim], self.movers[dim]
        self.arrow_count, self.magnification = 0, 1.0
        grad, fake = stage.fake_grad, stage.fake
        if stage.name not in (G_GRADIENT, G_UPDATE) or grad is None or fake is None:
            arrows.setData([], [])
            origins.setData(pos=np.empty((0, 2)))
            movers.setData(pos=np.empty((0, 2)))
            self._legend(dim, arrows, None)
            self._legend(dim, movers, None)
            return
        pts, push = self._plane(dim, fake, stage), -np.asarray(grad, dtype=np.float64)
        if dim == 1:  # along x only: the fakes sit on the D curve (their own D outputs)
            push = np.column_stack([push.reshape(len(push), -1)[:, 0], np.zeros(len(push))])
        vb = self.panels[dim].plot.getViewBox() if dim == 2 else self.panels[dim].d_plot.getViewBox()
        (x0, x1), (y0, y1) = vb.viewRange()
        span = max(x1 - x0, y1 - y0) if dim == 2 else x1 - x0
        segments, scale = arrow_segments(pts, push, span)
        self.arrow_count = len(segments) // 6
        if len(segments):
            arrows.setData(segments[:, 0], segments[:, 1], connect="pairs")
        else:
            arrows.setData([], [])
        if stage.name == G_UPDATE and stage.fake_after is not None:
            after = self._plane(dim, stage.fake_after, stage)
            self.magnification = move_magnification(after - pts, scale, push)
            self._anim_points = (pts, after)
            origins.setData(pos=pts)
            movers.setData(pos=pts + self.magnification * (after - pts))

        else:
            origins.setData(pos=np.empty((0, 2)))
            movers.setData(pos=pts if dim == 1 else np.empty((0, 2)))
            self._legend(dim, movers, "fakes at D(G(z))" if dim == 1 else None)

    def _draw_ghost(self, dim: int, before: Any, base: Any) -> None:
        """A D update: D as it was before, dashed (1D: the curve; 2D: its equilibrium contour), else nothing."""
        ghost = self.ghosts[dim]
        segments, label = None, "D(x) before this update"
        if before is not None and dim == 1:
            ghost.setData(np.asarray(before.x, dtype=np.float64), np.asarray(before.d, dtype=np.float64))
        elif before is not None:
            level = objective_of(base.objective).equilibrium_d if base is not None else None
            if level is not None:
                segments = contour_segments(before.values, float(level), before.xs, before.ys)
                label = f"D = {float(level):g} before this update"
        if dim == 2:
            if segments is not None and len(segments):
                ghost.setData(segments[:, 0], segments[:, 1], connect="pairs")
            else:
                ghost.setData([], [])
                before = None
        elif before is None:
            ghost.setData([], [])
        self._legend(dim, ghost, label if before is not None else None)

    def caption(self, stage: Any) -> str:
        """What the overlay of this stage shows, in words (the bar adds it to the narration)."""
        if stage.name == G_UPDATE and self.arrow_count:
            size = f" (moves drawn ×{self.magnification:.0f})" if self.magnification >= 1.5 else ""
            return f"Fakes move ○ → ● along their arrows{size}."
        return ""

    def _legend(self, dim: int, item: Any, label: str | None) -> None:
        """Show item in its plot's legend under label (None: not listed)."""
        panel = self.panels[dim]
        legend = panel.d_legend if dim == 1 else panel.legend
        legend.removeItem(item)
        if label:
            legend.addItem(item, label)

    @staticmethod
    def _plane(dim: int, x: np.ndarray, stage: Any) -> np.ndarray:
        """Points where the overlay draws them: (x1, x2) in 2D; (x, D(x)) on the D plot in 1D."""
        x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        if dim == 2:
            return x[:, :2]
        y = np.asarray(stage.d_fake, dtype=np.float64) if stage.d_fake is not None else np.zeros(len(x))
        return np.column_stack([x[:, 0], y[: len(x)]])

    # ------------------------------------------------------------ animation
    def _start(self, anim: dict, ms: int) -> None:
        self._anim = {**anim, "ms": max(ms, 1), "t0": QtCore.QTime.currentTime().msecsSinceStartOfDay()}
        self._tick()
        self._timer.start()

    def _tick(self) -> None:
        a = self._anim
        if not a:
            self._timer.stop()
            return
        now = QtCore.QTime.currentTime().msecsSinceStartOfDay()
        t = min(1.0, max(0.0, (now - a["t0"]) / a["ms"]))
        t = t * t * (3 - 2 * t)  # ease in and out
        if a["kind"] == "field":
            f0, f1 = a["from"], a["to"]
            if hasattr(f1, "values"):
                mid = dataclasses.replace(f1, values=((1 - t) * f0.values + t * f1.values).astype(np.float32))
                a["panel"].update_snapshot(dataclasses.replace(a["snap"], field2d=mid))
            else:
                mid = dataclasses.replace(f1, d=(1 - t) * np.asarray(f0.d) + t * np.asarray(f1.d))
                a["panel"].update_snapshot(dataclasses.replace(a["snap"], field1d=mid))
        else:
            pts, after = self._anim_points
            self.movers[a["dim"]].setData(pos=pts + t * self.magnification * (after - pts))
        if t >= 1.0:
            self._anim = {}
            self._timer.stop()
