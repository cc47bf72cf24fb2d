"""Themes for a window that is already built: the Qt palette, and every pyqtgraph item re-coloured by palette role.

Panels read the palette when they are built, so a theme switch re-colours every pyqtgraph item in the window by
palette role — each item's colours are recorded the first time they are seen, together with the palette they were
built with, and mapped role by role (the "fake" orange of the light palette becomes the dark palette's "fake"
orange, and so on). Colours that belong to no palette role are left alone. Pen widths, fonts and marker sizes are
scaled from the same records (presentation mode).
"""

from __future__ import annotations

import contextlib
from typing import Any

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from ... import style

SAMPLE_DOT_PX = 8  # scatter items smaller than this are samples (scaled in presentation), larger are markers

HIGH_CONTRAST = style.Palette(
    background="#ffffff", foreground="#000000", real="#000000", fake="#ff5a00", gen="#007a00",
    disc="#0038e0", d_star="#9000c0", reference="#404040", event="#e00000", part_real="#202020",
    part_fake="#d04a00", penalty="#6a2cc0", na_text="#606060", legend_brush="#ffffffe8", contour="#000000",
    arrows="#5a2000", z_grid="#005a00", modes="#ffd000", colormap="CET-D1",
)
PALETTES = {"light": style.LIGHT, "dark": style.DARK, "contrast": HIGH_CONTRAST}
FIELD_NAMES = [f for f in style.Palette.__dataclass_fields__ if f != "colormap"]

_ORIGINAL_PALETTE: list[QtGui.QPalette] = []  # the application's palette before any theme was applied


def qt_palette(kind: str) -> QtGui.QPalette:
    """Qt widget palette for 'light' (the application's own), 'dark' or 'contrast' (black on white)."""
    app = QtWidgets.QApplication.instance()
    if not _ORIGINAL_PALETTE:
        _ORIGINAL_PALETTE.append(QtGui.QPalette(app.palette()))
    if kind == "light":
        return QtGui.QPalette(_ORIGINAL_PALETTE[0])
    pal = QtGui.QPalette(app.style().standardPalette())
    R = QtGui.QPalette.ColorRole
    G = QtGui.QPalette.ColorGroup
    if kind == "dark":
        colours = {R.Window: "#2b2b2b", R.WindowText: "#e0e0e0", R.Base: "#1e1e1e", R.AlternateBase: "#262626",
                   R.ToolTipBase: "#333333", R.ToolTipText: "#f0f0f0", R.Text: "#e0e0e0", R.Button: "#363636",
                   R.ButtonText: "#e8e8e8", R.BrightText: "#ff6b6b", R.Highlight: "#3d6fb4",
                   R.HighlightedText: "#ffffff", R.Link: "#6fa8ff", R.PlaceholderText: "#8a8a8a",
                   R.Light: "#505050", R.Midlight: "#404040", R.Mid: "#303030", R.Dark: "#1a1a1a",
                   R.Shadow: "#000000"}
        disabled = "#7a7a7a"
    else:
        colours = {R.Window: "#ffffff", R.WindowText: "#000000", R.Base: "#ffffff", R.AlternateBase: "#f2f2f2",
                   R.ToolTipBase: "#ffffe0", R.ToolTipText: "#000000", R.Text: "#000000", R.Button: "#f0f0f0",
                   R.ButtonText: "#000000", R.BrightText: "#c00000", R.Highlight: "#0038e0",
                   R.HighlightedText: "#ffffff", R.Link: "#0038e0", R.PlaceholderText: "#505050"}
        disabled = "#6a6a6a"
    for role, colour in colours.items():
        pal.setColor(role, QtGui.QColor(colour))
    for role in (R.WindowText, R.Text, R.ButtonText):
        pal.setColor(G.Disabled, role, QtGui.QColor(disabled))
    return pal


def _rgb(c: Any) -> str | None:
    """'#rrggbb' of a colour-like value (QColor, QPen, QBrush, str), or None."""
    if c is None:
        return None
    if isinstance(c, QtGui.QPen):
        c = c.color()
    elif isinstance(c, QtGui.QBrush):
        if c.style() == QtCore.Qt.BrushStyle.NoBrush:
            return None
        c = c.color()
    try:
        col = QtGui.QColor(c) if not isinstance(c, QtGui.QColor) else c
    except (TypeError, ValueError):
        return None
    return col.name().lower() if col.isValid() else None


def _alpha(c: Any) -> int:
    if isinstance(c, (QtGui.QPen, QtGui.QBrush)):
        return c.color().alpha()
    return QtGui.QColor(c).alpha() if c is not None else 255


def map_colour(colour: Any, origin: style.Palette, target: style.Palette) -> QtGui.QColor | None:
    """The target palette's colour for the role `colour` plays in origin (alpha kept), or None if no role."""
    rgb = _rgb(colour)
    if rgb is None:
        return None
    for palette in (origin, *[p for p in PALETTES.values() if p is not origin]):
        for name in FIELD_NAMES:
            if QtGui.QColor(getattr(palette, name)).name().lower() == rgb:
                out = QtGui.QColor(getattr(target, name))
                out.setAlpha(_alpha(colour))
                return out
    return None


def _scaled_pen(pen: QtGui.QPen | None, origin: style.Palette, target: style.Palette, width: float) -> Any:
    if pen is None or pen.style() == QtCore.Qt.PenStyle.NoPen:
        return pen
    new = QtGui.QPen(pen)
    colour = map_colour(pen, origin, target)
    if colour is not None:
        new.setColor(colour)
    w = pen.widthF()
    new.setWidthF((w if w > 0 else 1.0) * width if width != 1.0 else w)
    return new


def _brush(b: Any, origin: style.Palette, target: style.Palette) -> Any:
    if b is None:
        return None
    b = pg.mkBrush(b)
    colour = map_colour(b, origin, target)
    if colour is None:
        return b
    new = QtGui.QBrush(b)
    new.setColor(colour)
    return new


def _font_size(text: Any, scale: float) -> Any:
    """'11pt' -> scaled '16.5pt' (other forms unchanged)."""
    if isinstance(text, str) and text.endswith("pt"):
        with contextlib.suppress(ValueError):
            return f"{float(text[:-2]) * scale:.1f}pt"
    return text


class PlotStyler:
    """Re-colours and re-scales every pyqtgraph item under a widget (see the module docstring)."""

    def __init__(self) -> None:
        self.target = style.palette()
        self.base = style.palette()
        self.width = 1.0
        self.font = 1.0
        self.marker = 1.0

    def apply(self, root: QtWidgets.QWidget, target: style.Palette, width: float = 1.0, font: float = 1.0,
              origin: style.Palette | None = None, base: style.Palette | None = None) -> int:
        """Restyle all views under root; returns the number of items touched.

        origin: the palette items not seen before were built with; base: the palette new items will be built
        with from now on (legend entries added later take it, and a later apply_new maps them to target).
        """
        self.target, self.width, self.font = target, width, font
        self.base = base or target
        self.marker = min(width, 1.6)
        return self._walk(root, origin or style.palette(), only_new=False)

    def apply_new(self, root: QtWidgets.QWidget, origin: style.Palette | None = None) -> int:
        """Style items created since the last apply (event markers, new curves) with the current settings."""
        return self._walk(root, origin or style.palette(), only_new=True)

    def _walk(self, root: QtWidgets.QWidget, origin: style.Palette, only_new: bool) -> int:
        n = 0
        for view in root.findChildren(pg.GraphicsView):
            rec = view.__dict__.setdefault("_gz_orig", {"origin": origin, "bg": view.backgroundBrush().color()})
            if not only_new or "_gz_done" not in view.__dict__:
                colour = map_colour(rec["bg"], rec["origin"], self.target)
                view.setBackground(colour if colour is not None else rec["bg"])
                view.__dict__["_gz_done"] = True
            scene = view.scene()
            if scene is None:
                continue
            for item in scene.items():
                if only_new and "_gz_orig" in getattr(item, "__dict__", {}):
                    continue
                with contextlib.suppress(RuntimeError, AttributeError, TypeError):
                    n += self._item(item, origin)
        return n

    def _item(self, item: Any, origin: style.Palette) -> int:
        d = getattr(item, "__dict__", None)
        if d is None:
            return 0
        parent = item.parentItem()
        if isinstance(parent, pg.PlotDataItem) or getattr(item, "_gz_skip", False):
            return 0  # a PlotDataItem's own curve / scatter: styled through the PlotDataItem
        tgt, w, fs, ms = self.target, self.width, self.font, self.marker
        if isinstance(item, pg.PlotDataItem):
            o = d.setdefault("_gz_orig", {"origin": origin, "pen": item.opts.get("pen"),
                                          "symbolPen": item.opts.get("symbolPen"),
                                          "symbolBrush": item.opts.get("symbolBrush"),
                                          "fillBrush": item.opts.get("fillBrush"),
                                          "symbolSize": item.opts.get("symbolSize")})
            src = o["origin"]
            if o["pen"] is not None:
                item.setPen(_scaled_pen(pg.mkPen(o["pen"]), src, tgt, w))
            if o["symbolPen"] is not None:
                item.setSymbolPen(_scaled_pen(pg.mkPen(o["symbolPen"]), src, tgt, 1.0))
            if o["symbolBrush"] is not None:
                item.setSymbolBrush(_brush(o["symbolBrush"], src, tgt))
            if o["fillBrush"] is not None:
                item.setFillBrush(_brush(o["fillBrush"], src, tgt))
            if o["symbolSize"] is not None and item.opts.get("symbol") is not None:
                item.setSymbolSize(o["symbolSize"] * ms)
            return 1
        if isinstance(item, pg.PlotCurveItem):
            o = d.setdefault("_gz_orig", {"origin": origin, "pen": item.opts.get("pen"),
                                          "brush": item.opts.get("brush")})
            item.setPen(_scaled_pen(pg.mkPen(o["pen"]), o["origin"], tgt, w))
            if o["brush"] is not None:
                item.setBrush(_brush(o["brush"], o["origin"], tgt))
            return 1
        if isinstance(item, pg.ScatterPlotItem):
            o = d.setdefault("_gz_orig", {"origin": origin, "pen": item.opts.get("pen"),
                                          "brush": item.opts.get("brush"), "size": item.opts.get("size")})
            if o["pen"] is not None:
                item.setPen(_scaled_pen(pg.mkPen(o["pen"]), o["origin"], tgt, 1.0))
            if o["brush"] is not None:
                item.setBrush(_brush(o["brush"], o["origin"], tgt))
            if isinstance(o["size"], (int, float)) and o["size"] < SAMPLE_DOT_PX:
                item.setSize(o["size"] * ms)  # sample dots grow; markers (mode centres) keep their size
            return 1
        if isinstance(item, pg.InfiniteLine):
            o = d.setdefault("_gz_orig", {"origin": origin, "pen": QtGui.QPen(item.pen)})
            item.setPen(_scaled_pen(o["pen"], o["origin"], tgt, w))
            return 1
        if isinstance(item, pg.TextItem):
            o = d.setdefault("_gz_orig", {"origin": origin, "color": QtGui.QColor(item.color),
                                          "fill": QtGui.QBrush(item.fill), "font": QtGui.QFont(item.textItem.font())})
            colour = map_colour(o["color"], o["origin"], tgt)
            item.setColor(colour if colour is not None else o["color"])
            item.fill = _brush(o["fill"], o["origin"], tgt)
            if isinstance(item, pg.InfLineLabel):  # event labels grow; notes inside small plots would clip
                font = QtGui.QFont(o["font"])
                if font.pointSizeF() > 0:
                    font.setPointSizeF(font.pointSizeF() * fs)
                item.setFont(font)
            return 1
        if isinstance(item, pg.LegendItem):  # entries added later are built from these options, in base
            o = d.setdefault("_gz_orig", {"origin": origin, "color": item.opts.get("labelTextColor")})
            colour = map_colour(o["color"], o["origin"], self.base) if o["color"] is not None else None
            item.opts["labelTextColor"] = colour if colour is not None else QtGui.QColor(self.base.foreground)
            return 1
        if isinstance(item, pg.LabelItem):
            o = d.setdefault("_gz_orig", {"origin": origin, "color": item.opts.get("color"),
                                          "size": item.opts.get("size")})
            args: dict[str, Any] = {}
            if o["color"] is not None:
                colour = map_colour(o["color"], o["origin"], tgt)
                if colour is not None:
                    args["color"] = colour.name()
            else:
                args["color"] = tgt.foreground
            if o["size"] is not None:
                args["size"] = _font_size(o["size"], fs)
            item.setText(item.text, **args)
            return 1
        if isinstance(item, pg.AxisItem):
            o = d.setdefault("_gz_orig", {"origin": origin, "pen": QtGui.QPen(item.pen()),
                                          "textPen": QtGui.QPen(item.textPen()),
                                          "tickFont": QtGui.QFont(item.style.get("tickFont") or QtGui.QFont()),
                                          "labelStyle": dict(item.labelStyle)})
            src = o["origin"]
            item.setPen(_scaled_pen(o["pen"], src, tgt, 1.0))
            item.setTextPen(_scaled_pen(o["textPen"], src, tgt, 1.0))
            font = QtGui.QFont(o["tickFont"])
            if font.pointSizeF() > 0:
                font.setPointSizeF(font.pointSizeF() * fs)
                item.setTickFont(font)
            if item.labelText:
                label_style = dict(o["labelStyle"])
                if "color" in label_style:
                    colour = map_colour(label_style["color"], src, tgt)
                    if colour is not None:
                        label_style["color"] = colour.name()
                if "font-size" in label_style:
                    label_style["font-size"] = _font_size(label_style["font-size"], fs)
                item.setLabel(text=item.labelText, units=item.labelUnits or None,
                              unitPrefix=item.labelUnitPrefix or None, **label_style)
            return 1
        return 0
