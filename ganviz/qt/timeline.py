"""The timeline under the charts (issue 18.5): a strip spanning the run's steps, with the steps whose states are
kept, the branch points and a handle; a banner while the views show the past; the memory used against the cap.

Widgets only: the strip emits `scrubbed(step)` while dragged (every move) and `released(step)`; the buttons emit
`live_requested` and `branch_requested`. What the steps, kept states and memory are is set from outside
(ganviz.qt.extensions.timetravel, from the training process's answers).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6 import QtCore, QtGui, QtWidgets

from . import style

PAST_COLOUR = "#b35a00"  # the banner and the handle while viewing the past (amber: readable on both themes)
LIVE_COLOUR = "#2a7a2a"


def human_bytes(n: float) -> str:
    """Bytes as "61 MB" / "840 kB" (binary units, as the store counts them)."""
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit in ("B", "kB") or n >= 10 else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.0f} B"


class TimelineStrip(QtWidgets.QWidget):
    """Steps 0..tip along the width: a tick per kept state (darker where they are dense), a triangle per branch
    point, and a handle at the step shown (the tip while live). Drag or click to scrub; arrow keys move one
    kept state; Home / End go to the first kept state / back to live."""

    scrubbed = QtCore.Signal(int)  # while dragging: the step under the pointer
    released = QtCore.Signal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.tip = 0  # the live step (the handle's place while live)
        self.span = 0  # the axis runs 0..max(span, tip): the furthest step any line reached (the time axes' range)
        self.kept: list[int] = []
        self.branch_points: list[int] = []
        self.viewing: int | None = None  # the step shown (None: live)
        self._dragging = False
        self.setMinimumHeight(30)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Drag back to see the run as it was at any earlier step (the ticks are the kept states)")
        self.setAccessibleName("Timeline")

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 (Qt API)
        return QtCore.QSize(400, max(30, int(self.fontMetrics().height() * 1.9)))

    def set_state(self, tip: int, kept: Sequence[int] | None = None, branch_points: Sequence[int] | None = None,
                  viewing: int | None = None, span: int | None = None) -> None:
        self.tip = max(0, int(tip))
        if span is not None:
            self.span = int(span)
        if kept is not None:
            self.kept = sorted(int(s) for s in kept)
        if branch_points is not None:
            self.branch_points = [int(s) for s in branch_points]
        self.viewing = viewing
        self.update()

    # -- geometry ----------------------------------------------------------------------------------------
    def _track(self) -> QtCore.QRectF:
        m = 8.0
        h = self.height()
        return QtCore.QRectF(m, h * 0.3, max(1.0, self.width() - 2 * m), h * 0.4)

    def x_of(self, step: float) -> float:
        t = self._track()
        return t.left() + t.width() * (float(step) / max(1, self.tip, self.span))

    def step_at(self, x: float) -> int:
        t = self._track()
        frac = min(1.0, max(0.0, (x - t.left()) / t.width()))
        return int(round(min(frac * max(1, self.tip, self.span), self.tip)))

    # -- painting ----------------------------------------------------------------------------------------
    def paintEvent(self, _event: QtGui.QPaintEvent) -> None:  # noqa: N802 (Qt API)
        pal = style.palette()
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        t = self._track()
        fg = QtGui.QColor(pal.foreground)
        track = QtGui.QColor(fg)
        track.setAlpha(40)
        p.fillRect(t, track)
        tick = QtGui.QColor(fg)
        tick.setAlpha(150)
        p.setPen(QtGui.QPen(tick, 1))
        for s in self.kept:
            x = self.x_of(s)
            p.drawLine(QtCore.QPointF(x, t.top()), QtCore.QPointF(x, t.bottom()))
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        p.setBrush(QtGui.QColor(pal.foreground))
        for s in self.branch_points:  # a small triangle above the track
            x = self.x_of(s)
            p.drawPolygon(QtGui.QPolygonF([QtCore.QPointF(x - 5, 1), QtCore.QPointF(x + 5, 1),
                                           QtCore.QPointF(x, t.top() - 1)]))
        step = self.tip if self.viewing is None else self.viewing
        colour = QtGui.QColor(LIVE_COLOUR if self.viewing is None else PAST_COLOUR)
        if self.viewing is not None:  # the part after the handle: the future, from here
            future = QtCore.QRectF(self.x_of(step), t.top(), self.x_of(self.tip) - self.x_of(step), t.height())
            shade = QtGui.QColor(colour)
            shade.setAlpha(45)
            p.fillRect(future, shade)
        x = self.x_of(step)
        p.setBrush(colour)
        p.setPen(QtGui.QPen(QtGui.QColor(pal.background), 1.5))
        p.drawRoundedRect(QtCore.QRectF(x - 5, 1, 10, self.height() - 2), 3, 3)
        p.end()

    # -- input -------------------------------------------------------------------------------------------
    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if event.button() == QtCore.Qt.MouseButton.LeftButton:
            self._dragging = True
            self.scrubbed.emit(self.step_at(event.position().x()))

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if self._dragging:
            self.scrubbed.emit(self.step_at(event.position().x()))

    def mouseReleaseEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if self._dragging:
            self._dragging = False
            self.released.emit(self.step_at(event.position().x()))

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:  # noqa: N802 (Qt API)
        key = event.key()
        here = self.tip if self.viewing is None else self.viewing
        if key == QtCore.Qt.Key.Key_Left:
            earlier = [s for s in self.kept if s < here]
            if earlier:
                self.scrubbed.emit(earlier[-1])
        elif key == QtCore.Qt.Key.Key_Right:
            later = [s for s in self.kept if s > here]
            if later:
                self.scrubbed.emit(later[0])
        elif key == QtCore.Qt.Key.Key_Home and self.kept:
            self.scrubbed.emit(self.kept[0])
        else:
            super().keyPressEvent(event)


class _Banner(QtWidgets.QFrame):
    """An amber strip (painted: the themes reset widget palettes)."""

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802 (Qt API)
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        p.setBrush(QtGui.QColor(PAST_COLOUR))
        p.drawRoundedRect(QtCore.QRectF(self.rect()), 3, 3)
        p.end()
        super().paintEvent(event)


class TimelineBar(QtWidgets.QWidget):
    """The strip with its labels: "Timeline", the strip, the memory line; above it, while the past is shown, a
    banner "Viewing step 1,200 (past) …" with Back to live and Branch from here."""

    live_requested = QtCore.Signal()
    branch_requested = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(6, 2, 6, 2)
        outer.setSpacing(2)
        self.banner = _Banner()
        row = QtWidgets.QHBoxLayout(self.banner)
        row.setContentsMargins(8, 2, 4, 2)
        self.banner_label = QtWidgets.QLabel()
        self.banner_text = ""
        self.banner_label.setWordWrap(True)
        self.banner_label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.banner_label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding,
                                        QtWidgets.QSizePolicy.Policy.Preferred)
        self.live_button = QtWidgets.QPushButton("Back to live")
        self.live_button.setToolTip("Leave the past: every view shows the live run again (End)")
        self.branch_button = QtWidgets.QPushButton("Branch from here")
        self.branch_button.setToolTip("Continue training from this past state; the next change you make applies "
                                      "to the branch, and the original run stays drawn beside it")
        row.addWidget(self.banner_label, 1)
        row.addWidget(self.branch_button)
        row.addWidget(self.live_button)
        self.banner.hide()
        outer.addWidget(self.banner)
        line = QtWidgets.QHBoxLayout()
        line.setSpacing(8)
        self.title = QtWidgets.QLabel("Timeline")
        self.title.setToolTip("Past states of this run, kept in a bounded store: every 10th step recently, "
                              "fewer further back")
        self.strip = TimelineStrip()
        self.position = QtWidgets.QLabel("live")
        self.position.setMinimumWidth(self.position.fontMetrics().horizontalAdvance("step 000,000 (past)"))
        self.memory = QtWidgets.QLabel("")
        self.memory.setToolTip("States kept for the timeline and their memory against the cap")
        line.addWidget(self.title)
        line.addWidget(self.strip, 1)
        line.addWidget(self.position)
        line.addWidget(self.memory)
        outer.addLayout(line)
        self.live_button.clicked.connect(self.live_requested)
        self.branch_button.clicked.connect(self.branch_requested)

    def set_banner_text(self, text: str) -> None:
        """White bold text on the amber banner (colours in the text, not a palette or a style sheet: the themes
        reset palettes, and a style sheet would freeze the font that presentation mode scales)."""
        self.banner_text = text
        self.banner_label.setText(f'<b style="color: white">{html.escape(text)}</b>')

    def show_memory(self, count: int, nbytes: int, cap: int, note: str = "", pinned: int = 0,
                    pinned_bytes: int = 0) -> None:
        """"kept 84 states, 61 MB of 64 MB" (or why nothing is kept), and the branch points a session's replay
        pins beyond the cap: "+ 2 pinned branch points, 1.1 MB"."""
        text = note or f"kept {count} state{'s' if count != 1 else ''}, {human_bytes(nbytes)} of {human_bytes(cap)}"
        if pinned and not note:
            text += f" + {pinned} pinned branch point{'s' if pinned != 1 else ''}, {human_bytes(pinned_bytes)}"
        self.memory.setText(text)

    def show_past(self, step: int | None, kept: int | None = None, readout: str = "") -> None:
        """The banner for the step shown (kept: the kept state drawn, when not step itself); None: live."""
        if step is None:
            self.banner.hide()
            self.position.setText("live")
            return
        shown = kept if kept is not None else step
        where = f"step {shown:,}" + (f" (nearest kept state to {step:,})" if kept is not None and kept != step
                                     else "")
        text = f"Viewing {where} — the past; training is paused"
        if readout:
            text += f" · {readout}"
        self.set_banner_text(text)
        self.position.setText(f"step {shown:,} (past)")
        self.banner.show()
