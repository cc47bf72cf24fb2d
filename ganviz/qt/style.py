"""Shared look of every panel: colours, pens, fonts, axis/legend helpers, one place.

Colour semantics are fixed across panels so a lecturer can point at a colour and mean one thing:
real data = black/dark, fake (generator) samples = orange, generator density p_g = green,
discriminator / critic = blue, optimal D* = dashed purple, equilibrium / references = dashed grey,
live-change event markers = dashed red.

`set_theme(dark)` switches the palette and pyqtgraph's global background/foreground; it affects panels
created afterwards (panels read the palette when they are built).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

# Font sizes in points. Axis labels >= 10 pt so a projector audience can read them.
AXIS_LABEL_PT = 11
TICK_PT = 10
LEGEND_PT = 10
TITLE_PT = 11
EVENT_LABEL_PT = 9

# Widths (pixels, cosmetic pens).
MAIN_WIDTH = 2
PART_WIDTH = 1


@dataclass(frozen=True)
class Palette:
    """Colours of one theme, as hex strings (alpha allowed as #RRGGBBAA)."""

    background: str
    foreground: str
    real: str  # real samples / p_data
    fake: str  # fake samples
    gen: str  # generator density p_g, G loss
    disc: str  # D(x), D loss
    d_star: str  # optimal D*
    reference: str  # equilibrium lines, log 2, ...
    event: str  # live-change markers
    part_real: str  # D loss real term
    part_fake: str  # D loss fake term
    penalty: str  # gradient penalty term
    na_text: str  # faint "n/a" text
    legend_brush: str  # legend background
    contour: str  # D = equilibrium contour on the 2D field
    arrows: str  # gradient arrows at the fakes
    z_grid: str  # warped z-grid
    modes: str  # mixture mode centres
    colormap: str  # diverging map for D's 2D field
    # sample outlines: real and fake dots stay visible on the background and on every part of the heatmap
    # (dark theme: white real samples were lost on the map's pale middle). Distinct values: themes are
    # mapped colour by colour.
    real_edge: str = "#fdfdfd"
    fake_edge: str = "#3d1f00"


LIGHT = Palette(
    background="#ffffff",
    foreground="#202020",
    real="#111111",
    fake="#ff7f0e",
    gen="#2ca02c",
    disc="#1f5fbf",
    d_star="#8e44ad",
    reference="#7f7f7f",
    event="#d62728",
    part_real="#444444",
    part_fake="#e08a2c",
    penalty="#9467bd",
    na_text="#a0a0a0",
    legend_brush="#ffffffd0",
    contour="#000000",
    arrows="#5a2600",
    z_grid="#127a12",
    modes="#ffe000",
    colormap="CET-D1",
)

DARK = Palette(
    background="#1e1e1e",
    foreground="#e0e0e0",
    real="#f0f0f0",
    fake="#ff9a3c",
    gen="#5fd35f",
    disc="#6fa8ff",
    d_star="#c39bd3",
    reference="#a0a0a0",
    event="#ff6b6b",
    part_real="#bbbbbb",
    part_fake="#ffb366",
    penalty="#c5a3ff",
    na_text="#707070",
    legend_brush="#1e1e1ed0",
    contour="#000000",  # the contour sits on the colour map's white middle: keep it dark in both themes
    arrows="#ffd0a0",
    z_grid="#8fe38f",
    modes="#ffe000",
    colormap="CET-D1",
    real_edge="#0a0a0a",
)

_palette: Palette = LIGHT


def palette() -> Palette:
    """The palette new panels are built with."""
    return _palette


def configure_pyqtgraph() -> None:
    """Global pyqtgraph options every panel relies on: no antialias, no OpenGL, theme colours."""
    pg.setConfigOptions(
        antialias=False,
        useOpenGL=False,
        background=_palette.background,
        foreground=_palette.foreground,
    )


def set_theme(dark: bool) -> None:
    """Switch light/dark palette (applies to panels created after the call)."""
    set_palette(DARK if dark else LIGHT)


def set_palette(palette: Palette) -> None:
    """The palette new panels, labels and markers are drawn with (presentation mode's high contrast too)."""
    global _palette
    _palette = palette
    configure_pyqtgraph()


def font(pt: int = AXIS_LABEL_PT, bold: bool = False) -> QtGui.QFont:
    f = QtGui.QFont()
    f.setPointSize(pt)
    f.setBold(bold)
    return f


def pen(color: str, width: float = MAIN_WIDTH, style: str = "solid") -> QtGui.QPen:
    """A cosmetic pen; style is 'solid', 'dash', 'dot' or 'dashdot'."""
    styles = {
        "solid": QtCore.Qt.PenStyle.SolidLine,
        "dash": QtCore.Qt.PenStyle.DashLine,
        "dot": QtCore.Qt.PenStyle.DotLine,
        "dashdot": QtCore.Qt.PenStyle.DashDotLine,
    }
    p = pg.mkPen(color=color, width=width)
    p.setStyle(styles[style])
    p.setCosmetic(True)
    return p


def brush(color: str, alpha: int | None = None) -> QtGui.QBrush:
    c = QtGui.QColor(color)
    if alpha is not None:
        c.setAlpha(alpha)
    return QtGui.QBrush(c)


def label_axis(plot: pg.PlotItem, side: str, text: str, units: str | None = None) -> None:
    """Label one axis with the shared font sizes (label and tick font)."""
    axis = plot.getAxis(side)
    axis.setLabel(text, units=units, **{"font-size": f"{AXIS_LABEL_PT}pt", "color": _palette.foreground})
    axis.resizeEvent()  # pyqtgraph centres the label only on resize: a longer new label would hang off the edge
    axis.enableAutoSIPrefix(False)  # never a silent "(x0.001)" on the label
    # setLabel may already have applied an SI scale while auto-prefix was on: reset it, or ticks read x1000
    axis.autoSIPrefixScale = 1.0
    axis.labelUnitPrefix = ""
    axis.setScale(1.0)
    # major + one minor tick level: the third level's grid lines cost ~10 ms per plot per frame (raster)
    axis.setStyle(maxTickLevel=1)
    axis.setTickFont(font(TICK_PT))
    axis.setTextPen(pg.mkPen(_palette.foreground))
    axis.setPen(pg.mkPen(_palette.foreground))


def style_plot(plot: pg.PlotItem, bottom: str, left: str, title: str | None = None) -> None:
    """Label both axes and optionally set a title, with the shared fonts; hide the auto-range 'A' button."""
    label_axis(plot, "bottom", bottom)
    label_axis(plot, "left", left)
    if title:
        set_title(plot, title)
    plot.hideButtons()
    plot.setMenuEnabled(True)
    for side in ("bottom", "left"):
        readable_ticks(plot.getAxis(side))


def _next_nice(step: float) -> float:
    """The next tick interval in the 1-2-5 sequence."""
    mantissa = step / 10 ** math.floor(math.log10(step))
    return step * (2.5 if 1.5 <= mantissa < 3 else 2.0)


def readable_ticks(axis: pg.AxisItem) -> None:
    """Tick labels that never run together ("0 20004000 6000"): the major interval grows until each label
    has room, finer levels whose labels would not fit are dropped; the axis' text space shrinks again after
    a spike's wide labels are gone (autoReduceTextSpace), so a plot never stays wider than it needs."""
    if getattr(axis, "_readable", False):
        return
    axis._readable = True
    axis.setStyle(autoReduceTextSpace=True)
    original = axis.tickSpacing
    horizontal = axis.orientation in ("top", "bottom")

    def spacing(lo: float, hi: float, size: float) -> list:
        levels = original(lo, hi, size)
        if not levels or axis._tickSpacing is not None or axis.logMode or size <= 0 or hi == lo:
            return levels
        px_per_unit = size / abs(hi - lo)
        metrics = QtGui.QFontMetrics(axis.style.get("tickFont") or axis.font())

        def room(step: float) -> float:
            if not horizontal:
                return metrics.height() + 2.0
            strings = axis.tickStrings([lo, hi, lo + step, hi - step], 1.0, step)
            return max(metrics.horizontalAdvance(t) for t in strings) + 12.0

        major = levels[0][0]
        for _ in range(30):
            if major * px_per_unit >= room(major):
                break
            major = _next_nice(major)
        return [(major, 0.0)] + [(step, off) for step, off in levels[1:]
                                 if step < major and step * px_per_unit >= room(step)]

    axis.tickSpacing = spacing


def set_title(plot: pg.PlotItem, title: str) -> None:
    """Title with the shared font; it may be clipped but never forces the plot wider than its cell."""
    label = plot.titleLabel
    if not getattr(label, "_shrinkable", False):
        original = label.updateMin

        def update_min() -> None:  # LabelItem re-imposes its text width as minimum on every change
            original()
            label.setMinimumWidth(0)
            h = label._sizeHint[QtCore.Qt.SizeHint.PreferredSize][1]
            label._sizeHint[QtCore.Qt.SizeHint.PreferredSize] = (0, h)  # equal columns in a grid

        label.updateMin = update_min
        label._shrinkable = True
        label.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape)
    plot.setTitle(title, size=f"{TITLE_PT}pt", color=_palette.foreground)


class BelowLegend(pg.LegendItem):
    """A frameless legend that lives in the plot's own layout, under the x axis, never over the data.

    It wraps its entries into as many columns as fit the plot's width (re-flowed on resize), and grows
    in height only as much as its rows need.
    """

    def __init__(self) -> None:
        self._width = 0.0  # before super().__init__: it already resizes the widget
        super().__init__(
            offset=None, frame=False, labelTextSize=f"{LEGEND_PT}pt", labelTextColor=_palette.foreground,
            horSpacing=6, verSpacing=-6,
        )
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)

    def updateSize(self) -> None:  # noqa: N802 (pyqtgraph API)
        if getattr(self, "layout", None) is None:
            return
        self.layout.invalidate()
        hint = self.layout.effectiveSizeHint(QtCore.Qt.SizeHint.PreferredSize)
        h = hint.height() if self.items else 0.0
        self.setMinimumHeight(h)
        self.setMaximumHeight(h)
        self.setMinimumWidth(0)
        self.updateGeometry()

    def resizeEvent(self, ev: QtWidgets.QGraphicsSceneResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(ev)
        width = ev.newSize().width()
        if abs(width - self._width) > 1:
            self._width = width
            self._reflow()

    def addItem(self, item: object, name: str) -> None:  # noqa: N802 (pyqtgraph API)
        super().addItem(item, name)
        self._reflow()

    def removeItem(self, item: object) -> None:  # noqa: N802 (pyqtgraph API)
        super().removeItem(item)
        self._reflow()

    def _reflow(self) -> None:
        if not hasattr(self, "items"):
            return
        n = len(self.items)
        if n == 0:
            self.updateSize()
            return
        widths = [
            sample.boundingRect().width() + label.item.boundingRect().width() + 3 * self.layout.horizontalSpacing()
            for sample, label in self.items
        ]
        available = self._width if self._width > 0 else 1e9
        cols = 1
        for c in range(n, 0, -1):
            col_widths = [max(widths[i] for i in range(j, n, c)) for j in range(c)]
            if sum(col_widths) <= available:
                cols = c
                break
        self._relayout(cols)

    def _relayout(self, cols: int) -> None:
        """Place entries row-major in `cols` (sample, label) column pairs, with no holes left by removals."""
        self.columnCount = cols
        self.rowCount = math.ceil(len(self.items) / cols)
        for i in range(self.layout.count() - 1, -1, -1):
            self.layout.removeAt(i)
        for idx, (sample, label) in enumerate(self.items):
            r, c = divmod(idx, cols)
            self.layout.addItem(sample, r, 2 * c, alignment=QtCore.Qt.AlignmentFlag.AlignVCenter)
            self.layout.addItem(label, r, 2 * c + 1)
        self.updateSize()


class SwatchSample(pg.ItemSample):
    """A legend sample drawn on a small patch of the colour the item sits on in the plot.

    The D = 1/2 contour is black because it runs along the colour map's pale middle; drawn on the dark
    theme's background its legend sample was black on dark grey, i.e. invisible. On the swatch it looks as
    it does on the plot, in both themes.
    """

    def __init__(self, item: pg.GraphicsObject, swatch: str) -> None:
        super().__init__(item)
        self.swatch = QtGui.QColor(swatch)

    def paint(self, p: QtGui.QPainter, *args: object) -> None:
        if self.item.isVisible():
            p.fillRect(QtCore.QRectF(0, 4, 20, 14), self.swatch)
        super().paint(p, *args)


class _WholeTabTitles(QtCore.QObject):
    """Keeps the main window's dock tab bars from eliding their titles (see `whole_tab_titles`)."""

    def __init__(self, window: QtWidgets.QMainWindow) -> None:
        super().__init__(window)
        self._window = window
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.apply)
        window.installEventFilter(self)
        self._timer.start()

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802 (Qt API)
        if obj is self._window and event.type() in (QtCore.QEvent.Type.ChildAdded,
                                                    QtCore.QEvent.Type.LayoutRequest):
            self._timer.start()  # after the layout has configured the new tab bar (it sets ElideRight)
        return False

    def apply(self) -> None:
        direct = QtCore.Qt.FindChildOption.FindDirectChildrenOnly  # the dock areas' bars, not a panel's tabs
        for bar in self._window.findChildren(QtWidgets.QTabBar, options=direct):
            if bar.elideMode() != QtCore.Qt.TextElideMode.ElideNone:
                bar.setElideMode(QtCore.Qt.TextElideMode.ElideNone)
                bar.setUsesScrollButtons(True)
                bar.setExpanding(False)


def whole_tab_titles(window: QtWidgets.QMainWindow) -> None:
    """Dock tabs show whole titles: Qt elides a tabified dock's tab to fit the dock's width ("Lo…", "Me…" in
    a 280 px dock of a 1366x768 window); whole titles with scroll arrows when they do not all fit."""
    _WholeTabTitles(window)


def colormap_middle(name: str) -> str:
    """The colour of a (diverging) colour map's middle, as #rrggbb."""
    return pg.colormap.get(name).map(0.5, mode="qcolor").name()


def add_legend(plot: pg.PlotItem) -> BelowLegend:
    """Attach a BelowLegend under the plot's x axis; curves added with name=... register in it."""
    legend = BelowLegend()
    plot.layout.addItem(legend, 4, 1)
    plot.legend = legend
    return legend


configure_pyqtgraph()
