"""Classroom: lecture scenes, presentation mode, formulas on screen, themes, and your own data.

`install(window)` adds (the controller is kept as `window.classroom`):

- **Scenes** menu: every shipped scene (assets/scenes/*.toml) by title; Next / Previous scene (PageDown /
  PageUp), Restart scene (Home), Open scene file... (Ctrl+O), Save current setup as scene... (Ctrl+S), and
  whether the last scene is resumed on launch. A "Scene" dock shows the title, the explanation and the
  scripted timeline (each action ticked once the run has passed its step).
- **View**: Theme → Light / Dark (pyqtgraph plots and the Qt palette), Presentation mode (F5: full screen,
  larger fonts, thicker lines, a high-contrast theme, chosen docks / bars hidden; Esc leaves), Full screen
  (F11), Presentation settings..., and lecture keys: faster / slower ( ] / [ ), gradient arrows (A), z-grid (Z).
- **Help** → Keyboard shortcuts (F1 or ?): an overlay listing every shortcut, read from the window's
  QActions when it opens, so the list is always the true one.
- **Data**: Import points (CSV / .npy)..., Draw points, Edit Gaussian mixture (ganviz.qt.draw). Applying
  restarts the run on a user dataset carried in the config (ganviz.core.userdata).
- A "Formulas" dock (ganviz.qt.formula): the active losses and regularisers, following the controls.

Remembered in window.settings: classroom/theme, classroom/last_scene, classroom/resume_last_scene,
classroom/presentation_hide, classroom/presentation_scale.

Themes on plots that already exist: panels read the palette when they are built, so a theme switch
re-colours every pyqtgraph item in the window by palette role — each item's colours are recorded the first
time they are seen, together with the palette they were built with, and mapped role by role (the "fake"
orange of the light palette becomes the dark palette's "fake" orange, and so on). Colours that belong to
no palette role are left alone. Pen widths, fonts and marker sizes are scaled from the same records.
"""

from __future__ import annotations

import contextlib
import html
import os
import tempfile
import time
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets
from superqt.utils import signals_blocked

from ...core.config import ConfigError, TrainConfig
from ...core.distributions import make_distribution
from ...core.pointfiles import ColumnsNeeded
from ...core.preflight import data_problem
from ...core.scenes import Scene, SceneError, list_scenes, load_scene, scene_to_toml
from ...core.userdata import PointsError, load_points, points_rows, user_config
from ...resources import icon_paths
from .. import style
from .. import text_bounds as tb
from ..app import safe_mode
from ..draw import DrawTool
from ..formula import FormulaPanel
from ..presentation_bar import PresentationBar

HIGH_CONTRAST = style.Palette(
    background="#ffffff", foreground="#000000", real="#000000", fake="#ff5a00", gen="#007a00",
    disc="#0038e0", d_star="#9000c0", reference="#404040", event="#e00000", part_real="#202020",
    part_fake="#d04a00", penalty="#6a2cc0", na_text="#606060", legend_brush="#ffffffe8", contour="#000000",
    arrows="#5a2000", z_grid="#005a00", modes="#ffd000", colormap="CET-D1",
)
PALETTES = {"light": style.LIGHT, "dark": style.DARK, "contrast": HIGH_CONTRAST}
FIELD_NAMES = [f for f in style.Palette.__dataclass_fields__ if f != "colormap"]

DEFAULT_HIDE = ("controls", "histograms", "recording", "status bar")
SAMPLE_DOT_PX = 8  # scatter items smaller than this are samples (scaled in presentation), larger are markers
LECTURE_ORDER = ("d-half-1d", "saturating-vs-ns", "k-d-steps", "dirac-gan", "mode-collapse-remedies",
                 "js-vs-wasserstein", "clip-vs-gp", "instance-noise")  # others follow, by name
PLOT_FONT_SHARE = 0.6  # plots grow their fonts by this share of the presentation factor (small multiples)
SPEED_KEYS = ("]", "[")
CLEAN_FRAMES = 3  # frames a loaded scene must draw before it counts as opened cleanly (and may be resumed)


# ============================================================================================ themes

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


# ============================================================================================ widgets

class SceneInfo(QtWidgets.QWidget):
    """The active scene: title, explanation, and the scripted timeline with actions ticked once passed."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        self.title = QtWidgets.QLabel()
        self.title.setWordWrap(True)
        self.body = QtWidgets.QLabel()
        self.body.setWordWrap(True)
        self.body.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.body.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop)
        self.body.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setWidget(self.body)
        lay.addWidget(self.title)
        lay.addWidget(scroll, 1)
        self.scale = 1.0
        self.scene: Scene | None = None
        self.note = ""
        self.empty_title = "No scene"
        self.step = -1
        self._html = ""
        self.show_scene(None)

    def show_scene(self, scene: Scene | None, note: str = "", title: str = "No scene") -> None:
        self.scene = scene
        self.note = note
        self.empty_title = title
        self.step = -1
        self._render()

    def set_step(self, step: int) -> None:
        if self.scene is None or not self.scene.actions:
            return
        passed_before = sum(a.step <= self.step for a in self.scene.actions)
        passed_now = sum(a.step <= step for a in self.scene.actions)
        self.step = step
        if passed_before != passed_now:
            self._render()

    def set_scale(self, scale: float) -> None:
        self.scale = scale
        self._render()

    def _render(self) -> None:
        pt = 11 * self.scale
        if self.scene is None:
            self.title.setText(f"<span style='font-size:{pt * 1.25:.1f}pt'><b>"
                               f"{tb.label_html(self.empty_title, tb.TITLE_CHARS)}</b></span>")
            text = self.note or ("Pick a lecture scene from the Scenes menu (PageDown: next scene), or open "
                                 "a scene file. Every scene says here what to watch.")
            body = f"<p>{tb.label_html(text, tb.TEXT_CHARS)}</p>"
        else:  # a scene file's text is bounded and made wrappable: a long word widened the whole window
            self.title.setText(f"<span style='font-size:{pt * 1.25:.1f}pt'><b>"
                               f"{tb.label_html(self.scene.title, tb.TITLE_CHARS)}</b></span>")
            description = tb.clean(self.scene.description, tb.TEXT_CHARS, keep_newlines=True)
            paras = [p.replace("\n", " ").strip() for p in description.split("\n\n")]
            body = "".join(f"<p>{tb.label_html(p, tb.TEXT_CHARS)}</p>" for p in paras if p)
            if self.scene.actions:
                items = []
                for a in sorted(self.scene.actions, key=lambda a: a.step):
                    done = self.step >= a.step
                    mark = "✓" if done else "○"
                    colour = "gray" if done else "inherit"
                    items.append(f"<li style='color:{colour}'>{mark} step {a.step}: {tb.label_html(a.label)}</li>")
                body += "<p><b>Script</b></p><ul style='-qt-list-indent:0'>" + "".join(items) + "</ul>"
            if self.scene.path is not None:
                name = tb.label_html(self.scene.path.name, tb.PATH_CHARS)
                body += f"<p style='color:gray; font-size:{0.8 * pt:.1f}pt'>{name}</p>"
        body = f"<div style='font-size:{pt:.1f}pt'>{body}</div>"
        if body != self._html:
            self._html = body
            self.body.setText(body)

    def text(self) -> str:
        doc = QtGui.QTextDocument()
        doc.setHtml(self.title.text() + self._html)
        return doc.toPlainText()


class HelpOverlay(QtWidgets.QWidget):
    """A dark sheet over the whole window listing every keyboard shortcut (read from the QActions)."""

    COLUMNS = 3

    def __init__(self, window: QtWidgets.QMainWindow) -> None:
        super().__init__(window)
        self.window_ = window
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(30, 20, 30, 20)
        self.title = QtWidgets.QLabel()
        self.title.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.footer = QtWidgets.QLabel()
        self.footer.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.row = QtWidgets.QHBoxLayout()
        self.row.setSpacing(48)
        self.columns: list[QtWidgets.QLabel] = []
        for _ in range(self.COLUMNS):
            label = QtWidgets.QLabel()
            label.setTextFormat(QtCore.Qt.TextFormat.RichText)
            label.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft)
            self.columns.append(label)
        self.row.addStretch(1)
        for label in self.columns:
            self.row.addWidget(label, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        self.row.addStretch(1)
        outer.addStretch(1)
        outer.addWidget(self.title)
        outer.addSpacing(12)
        outer.addLayout(self.row)
        outer.addSpacing(12)
        outer.addWidget(self.footer)
        outer.addStretch(1)
        for w in (self.title, self.footer, *self.columns):
            w.setStyleSheet("color: white; background: transparent;")
        self.entries: list[tuple[str, str, str]] = []
        self.conflicts: list[str] = []
        self.scale = 1.0
        self.hide()
        window.installEventFilter(self)

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:  # noqa: N802 (Qt API)
        if obj is self.window_ and ev.type() == QtCore.QEvent.Type.Resize and self.isVisible():
            self.setGeometry(self.window_.rect())
        return False

    def open(self, entries: list[tuple[str, str, str]]) -> None:
        self.entries = entries
        pt = 12 * self.scale
        groups: dict[str, list[tuple[str, str]]] = {}
        uses: dict[str, int] = {}
        for group, text, keys in entries:
            groups.setdefault(group, []).append((keys, text))
            for k in keys.split(" or "):
                uses[k] = uses.get(k, 0) + 1
        self.conflicts = sorted(k for k, n in uses.items() if n > 1)

        def key_cell(keys: str) -> str:
            parts = [f"<span style='color:#ff7070'>{html.escape(k)} ⚠</span>" if k in self.conflicts
                     else html.escape(k) for k in keys.split(" or ")]
            return " or ".join(parts)

        blocks = []
        for group, rows in groups.items():
            cells = "".join(f"<tr><td align='right' style='white-space:nowrap; padding-right:12px'>"
                            f"<b>{key_cell(k)}</b></td><td style='white-space:nowrap'>{html.escape(t)}</td></tr>"
                            for k, t in rows)
            blocks.append((len(rows) + 2, f"<p style='font-size:{pt * 1.05:.1f}pt; color:#ffd27f'>"
                                          f"<b>{html.escape(group)}</b></p><table cellspacing='3' "
                                          f"style='font-size:{pt:.1f}pt'>{cells}</table>"))
        total = sum(n for n, _ in blocks)
        per_column = total / self.COLUMNS
        cols: list[list[str]] = [[] for _ in range(self.COLUMNS)]
        filled, c = 0.0, 0
        for n, block in blocks:  # groups stay in order, a new column once this one holds its share
            if c < self.COLUMNS - 1 and filled > 0 and filled + n / 2 > per_column * (c + 1):
                c += 1
            cols[c].append(block)
            filled += n
        for label, col in zip(self.columns, cols, strict=True):
            label.setText("".join(col))
            label.setVisible(bool(col))
        self.title.setText(f"<span style='font-size:{pt * 1.6:.1f}pt'><b>Keyboard shortcuts</b></span>")
        clash = (f"<br><span style='color:#ff7070'>⚠ bound to more than one action (Qt runs neither): "
                 f"{html.escape(', '.join(self.conflicts))}</span>") if self.conflicts else ""
        self.footer.setText(f"<span style='font-size:{pt * 0.95:.1f}pt; color:#c8c8c8'>Esc, F1 or a click "
                            f"closes this sheet{clash}</span>")
        self.setGeometry(self.window_.rect())
        self.show()
        self.raise_()
        self.setFocus()

    def text(self) -> str:
        doc = QtGui.QTextDocument()
        doc.setHtml("".join(label.text() for label in self.columns))
        return doc.toPlainText()

    def paintEvent(self, ev: QtGui.QPaintEvent) -> None:  # noqa: N802 (Qt API)
        p = QtGui.QPainter(self)
        p.fillRect(self.rect(), QtGui.QColor(12, 14, 22, 242))
        p.end()

    def mousePressEvent(self, ev: QtGui.QMouseEvent) -> None:  # noqa: N802 (Qt API)
        self.hide()

    def keyPressEvent(self, ev: QtGui.QKeyEvent) -> None:  # noqa: N802 (Qt API)
        if ev.key() in (QtCore.Qt.Key.Key_Escape, QtCore.Qt.Key.Key_F1, QtCore.Qt.Key.Key_Question):
            self.hide()
            ev.accept()
            return
        super().keyPressEvent(ev)


class PresentationDialog(QtWidgets.QDialog):
    """Which docks and bars presentation mode hides, and how much larger it draws."""

    def __init__(self, parent: QtWidgets.QWidget, names: list[tuple[str, str]], hidden: set[str],
                 scale: float) -> None:
        super().__init__(parent)
        self.setWindowTitle("Presentation settings")
        lay = QtWidgets.QVBoxLayout(self)
        box = QtWidgets.QGroupBox("Hide in presentation mode")
        blay = QtWidgets.QVBoxLayout(box)
        self.boxes: dict[str, QtWidgets.QCheckBox] = {}
        for key, title in names:
            cb = QtWidgets.QCheckBox(title)
            cb.setChecked(key in hidden)
            blay.addWidget(cb)
            self.boxes[key] = cb
        lay.addWidget(box)
        form = QtWidgets.QFormLayout()
        self.scale = QtWidgets.QDoubleSpinBox()
        self.scale.setRange(1.0, 3.0)
        self.scale.setSingleStep(0.1)
        self.scale.setDecimals(1)
        self.scale.setValue(scale)
        self.scale.setToolTip("Fonts and line widths are multiplied by this in presentation mode")
        form.addRow("Size factor", self.scale)
        lay.addLayout(form)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                             | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def hidden(self) -> set[str]:
        return {k for k, cb in self.boxes.items() if cb.isChecked()}


class SaveSceneDialog(QtWidgets.QDialog):
    """Title and explanation for a saved scene."""

    def __init__(self, parent: QtWidgets.QWidget, title: str, description: str) -> None:
        super().__init__(parent)
        self.setWindowTitle("Save current setup as scene")
        form = QtWidgets.QFormLayout(self)
        self.title = QtWidgets.QLineEdit(title)
        self.description = QtWidgets.QPlainTextEdit(description)
        self.description.setMinimumSize(420, 120)
        form.addRow("Title", self.title)
        form.addRow("Explanation", self.description)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                             | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


# ============================================================================================ controller

class Classroom(QtCore.QObject):
    """Everything the extension adds, as one object (`window.classroom`)."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.settings: QtCore.QSettings = window.settings
        self.scenes: list[Scene] = []
        self.scene_errors: dict[str, str] = {}
        self.current_index: int | None = None
        self.current_scene: Scene | None = None
        self._seen_scene: Any = getattr(window, "current_scene", None)
        self.styler = PlotStyler()
        self.theme = "dark" if str(self.settings.value("classroom/theme", "light")) == "dark" else "light"
        self.presenting = False
        self._saved: dict[str, Any] = {}
        self._last_restyle = 0.0
        self.hide_in_presentation = set(self._setting_list("classroom/presentation_hide", list(DEFAULT_HIDE)))
        try:
            self.presentation_scale = float(self.settings.value("classroom/presentation_scale", 1.6))
        except (TypeError, ValueError):
            self.presentation_scale = 1.6
        self.presentation_scale = min(3.0, max(1.0, self.presentation_scale))
        self.actions: dict[str, QtGui.QAction] = {}

        self._build_docks()
        self.presentation_bar = PresentationBar(window)  # objective and run controls while presenting
        window.addToolBar(QtCore.Qt.ToolBarArea.TopToolBarArea, self.presentation_bar)
        self.presentation_bar.hide()
        self._build_scenes_menu()
        self._build_view_menu()
        self._build_data_menu()
        self._build_help()
        self._set_icon()
        window.snapshot_drawn.connect(self._on_snapshot)
        window.controls.command.connect(self._on_command)
        window.about_to_close = [*getattr(window, "about_to_close", []), self._on_close]
        save_layout = window.save_layout

        def save_normal_layout() -> None:  # never remember presentation mode's hidden docks as the layout
            if self.presenting:
                self.toggle_presentation(False)
            save_layout()

        window.save_layout = save_normal_layout
        if self.theme == "dark":
            self.set_theme("dark", save=False)
        QtCore.QTimer.singleShot(0, self._after_install)

    # ------------------------------------------------------------------ helpers
    def _setting_list(self, key: str, default: list[str]) -> list[str]:
        value = self.settings.value(key, None)
        if value is None:
            return list(default)
        if isinstance(value, str):
            return [value] if value else []
        return [str(v) for v in value]

    def _action(self, key: str, text: str, shortcuts: str | list[str] | None, slot: Any,
                menu: QtWidgets.QMenu | None = None, tip: str = "", checkable: bool = False) -> QtGui.QAction:
        a = QtGui.QAction(text, self.window)
        if shortcuts:
            keys = [shortcuts] if isinstance(shortcuts, str) else shortcuts
            a.setShortcuts([QtGui.QKeySequence(k) for k in keys])
        a.setCheckable(checkable)
        if tip:
            a.setToolTip(tip)
            a.setStatusTip(tip)
        a.triggered.connect(slot)
        if menu is not None:
            menu.addAction(a)
        self.window.addAction(a)  # shortcuts keep working with the menu bar hidden (presentation mode)
        self.actions[key] = a
        return a

    def _message(self, title: str, text: str) -> None:
        QtWidgets.QMessageBox.warning(self.window, title, text)

    # ------------------------------------------------------------------ docks
    def _build_docks(self) -> None:
        w = self.window
        Area = QtCore.Qt.DockWidgetArea
        self.info = SceneInfo()
        self.scene_dock = w.add_dock("scene", "Scene", self.info, Area.RightDockWidgetArea)
        self.formula = FormulaPanel(w.session.config)
        self.formula_dock = w.add_dock("formula", "Formulas", self.formula, Area.RightDockWidgetArea)
        saved_layout = w.settings.value("state") is not None
        restored = saved_layout and w.restoreDockWidget(self.scene_dock) and w.restoreDockWidget(self.formula_dock)
        if not restored and "histograms" in w.docks:
            # tabbed with the controls: the scene's text beside its settings, the plots keep the right column
            w.tabifyDockWidget(w.docks["controls"], self.scene_dock)
            w.tabifyDockWidget(self.scene_dock, self.formula_dock)
            w.docks["controls"].raise_()
        view = w.data2d.plot.scene().views()[0]
        self.draw = DrawTool(w.data2d.plot, view)
        self.draw_dock = w.add_dock("draw", "Make your own data", self.draw, Area.LeftDockWidgetArea,
                                    visible=False)
        self.draw.applied.connect(self.apply_user_rows)
        self.draw.message.connect(lambda text: self._message("ganviz: your data", text))
        self.draw_dock.visibilityChanged.connect(self._on_draw_visibility)
        self.help = HelpOverlay(w)

    # ------------------------------------------------------------------ scenes
    def _build_scenes_menu(self) -> None:
        menu = self.window.menu("Scenes")
        self.scenes_menu = menu
        group = QtGui.QActionGroup(self)
        group.setExclusive(True)
        self.scene_actions: list[QtGui.QAction] = []
        names = list_scenes()
        names = [n for n in LECTURE_ORDER if n in names] + [n for n in names if n not in LECTURE_ORDER]
        for name in names:
            try:
                scene = load_scene(name)
            except SceneError as e:
                self.scene_errors[name] = str(e)
                continue
            idx = len(self.scenes)
            self.scenes.append(scene)
            a = QtGui.QAction(tb.clean(scene.title, tb.TITLE_CHARS), self.window)
            a.setCheckable(True)
            a.setToolTip(tb.breakable(tb.clean(scene.description, 2000, keep_newlines=True)))
            a.setStatusTip(tb.clean(scene.description, 200))
            a.triggered.connect(lambda _c=False, i=idx: self.load_index(i))
            group.addAction(a)
            menu.addAction(a)
            self.scene_actions.append(a)
        if self.scene_errors:
            self.window.statusBar().showMessage(
                "Some scene files could not be read: " + "; ".join(self.scene_errors.values()), 15000)
        menu.addSeparator()
        self._action("next_scene", "Next scene", ["PgDown"], self.next_scene, menu,
                     "Load the next lecture scene")
        self._action("previous_scene", "Previous scene", ["PgUp"], self.previous_scene, menu,
                     "Load the previous lecture scene")
        self._action("restart_scene", "Restart scene", ["Home"], self.restart_scene, menu,
                     "Load the current scene again from its first step")
        menu.addSeparator()
        self._action("open_scene", "Open scene file...", ["Ctrl+O"], self.open_scene_dialog, menu,
                     "Load a scene from a .toml file")
        self._action("save_scene", "Save current setup as scene...", ["Ctrl+S"], self.save_scene_dialog, menu,
                     "Write the current set-up (data, objective, optimiser, view) to a .toml scene file")
        menu.addSeparator()
        resume = self._action("resume_last_scene", "Resume last scene on launch", None,
                              lambda on: self._save("classroom/resume_last_scene", bool(on)), menu,
                              checkable=True)
        resume.setChecked(_as_bool(self.settings.value("classroom/resume_last_scene", True)))

    def load_index(self, index: int) -> None:
        if not self.scenes:
            return
        index %= len(self.scenes)
        self.load(self.scenes[index])
        self.current_index = index

    def load(self, scene: Scene) -> bool:
        """Start a scene in the window; the Scene / Formulas docks keep their visibility unless it names them.
        A scene whose data cannot be found (a missing image file) leaves the current run as it is: False."""
        w = self.window
        problem = data_problem(scene.config)
        if problem:
            where = tb.path_text(scene.path) if scene.path else tb.clean(scene.name, tb.TITLE_CHARS)
            self._message("ganviz: cannot open the scene", f"{where}: {problem}. The current run goes on.")
            return False
        mine = {n: not w.docks[n].isHidden() for n in ("scene", "formula") if n in w.docks}
        if not self.draw_dock.isHidden():
            self.draw_dock.hide()
        self.ensure_data_choice(scene.config)
        # marked until the scene has drawn a few frames: a scene that crashes the app is not resumed next launch
        self._save("classroom/scene_pending", self._scene_key(scene))
        self._clean_frames = CLEAN_FRAMES
        w.load_scene(scene)
        for name, shown in mine.items():
            if name not in scene.view.get("docks", []):
                w.docks[name].setVisible(shown)
        self.current_scene = scene
        self.current_index = next((i for i, s in enumerate(self.scenes) if s is scene), None)
        for i, a in enumerate(self.scene_actions):
            with signals_blocked(a):
                a.setChecked(i == self.current_index)
        self._seen_scene = scene
        self.info.show_scene(scene)
        self.formula.set_config(scene.config)
        self._open_tool(scene)
        self._save("classroom/last_scene", self._scene_key(scene))
        if self.presenting:
            QtCore.QTimer.singleShot(0, self._restyle)
        return True

    def _open_tool(self, scene: Scene) -> None:
        """[view] tool: open that Theory window beside the lab (if the theory extension is installed)."""
        tool = scene.view.get("tool")
        if not tool:
            return
        try:
            from . import theory

            if "theory" not in getattr(self.window, "features", {}):
                raise RuntimeError("the Theory menu is not installed")
            theory.open_theory_window(self.window, tool)
        except Exception as e:  # a missing optional view must not stop the scene
            self.window.statusBar().showMessage(f"This scene opens the Theory view {tool!r}, which is not "
                                                f"available: {e}", 15000)

    def adopt_window_scene(self) -> None:
        """A scene the window loaded without this menu (ganviz --preset, another extension): show it here."""
        scene = getattr(self.window, "current_scene", None)
        if scene is None and self._seen_scene is not None:  # the window ended it: the user changed the data
            ended, self._seen_scene = self._seen_scene, None
            for a in self.scene_actions:
                with signals_blocked(a):
                    a.setChecked(False)
            title = tb.clean(ended.title, tb.TITLE_CHARS)
            self.info.show_scene(None, f"“{title}” ended: the data changed, so its script stopped. Home "
                                 "restarts the scene, PageDown goes to the next one.", title="Scene ended")
            return
        if scene is None or scene is self._seen_scene:
            return
        self._seen_scene = scene
        self.current_scene = scene
        self.current_index = next((i for i, s in enumerate(self.scenes) if s.name == scene.name
                                   and s.path == scene.path), None)
        for i, a in enumerate(self.scene_actions):
            with signals_blocked(a):
                a.setChecked(i == self.current_index)
        self.ensure_data_choice(self.window.session.config)
        self.window.controls.set_config(self.window.session.config)
        self.info.show_scene(scene)
        self.formula.set_config(self.window.session.config)
        self._open_tool(scene)

    def next_scene(self) -> None:
        self.load_index(0 if self.current_index is None else self.current_index + 1)

    def previous_scene(self) -> None:
        self.load_index(len(self.scenes) - 1 if self.current_index is None else self.current_index - 1)

    def restart_scene(self) -> None:
        if self.current_scene is not None:
            self.load(self.current_scene)

    def open_scene_dialog(self) -> None:
        start = str(self.settings.value("classroom/scene_dir", str(Path.home())))
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self.window, "Open scene", start,
                                                        "Scenes (*.toml);;All files (*)")
        if path:
            self._save("classroom/scene_dir", str(Path(path).parent))
            self.open_scene_file(path)

    def open_scene_file(self, path: str | os.PathLike) -> bool:
        """Load a scene file; a bad file gives a message naming the problem and leaves the run untouched."""
        try:
            scene = load_scene(Path(path))
        except SceneError as e:
            self._message("ganviz: cannot open the scene", str(e))
            return False
        return self.load(scene)

    def save_scene_dialog(self) -> None:
        title = self.current_scene.title if self.current_scene else "My scene"
        desc = self.current_scene.description if self.current_scene else ""
        dlg = SaveSceneDialog(self.window, title, desc)
        if dlg.exec() != QtWidgets.QDialog.DialogCode.Accepted:
            return
        start = str(self.settings.value("classroom/scene_dir", str(Path.home())))
        default = str(Path(start) / (_slug(dlg.title.text()) + ".toml"))
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.window, "Save scene", default, "Scenes (*.toml)")
        if path:
            if not path.endswith(".toml"):
                path += ".toml"
            self._save("classroom/scene_dir", str(Path(path).parent))
            self.save_scene(path, dlg.title.text(), dlg.description.toPlainText())

    def current_view(self) -> dict[str, Any]:
        d2 = self.window.data2d
        view: dict[str, Any] = {"arrows": d2.arrows_checkbox.isChecked(), "z_grid": d2.z_grid_checkbox.isChecked()}
        speed = self.window.speed.currentData()
        view["speed"] = float(speed) if speed else 0
        return view

    def save_scene(self, path: str | os.PathLike, title: str, description: str) -> bool:
        """Write the current set-up as a scene: to a temporary file, then renamed, so no partial file is left."""
        cfg: TrainConfig = self.window.session.config
        if cfg.data_points and not str(cfg.data).startswith("user:"):
            cfg = dc_replace(cfg, data_points=())
        target = Path(path)
        try:
            text = scene_to_toml(title, description, cfg, self.current_view())
        except ValueError as e:  # TomlWriteError: text UTF-8 cannot hold (an undecodable file name)
            self._message("ganviz: cannot save the scene", f"Could not write {target}:\n{e}")
            return False
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=str(target.parent))
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
            tmp = None
        except OSError as e:
            self._message("ganviz: cannot save the scene", f"Could not write {target}:\n{e.strerror or e}")
            return False
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        self.window.statusBar().showMessage(f"Scene saved to {target}", 8000)
        return True

    def _after_install(self) -> None:
        """Deferred: adopt a recording extension's action, and resume the last scene on a plain launch."""
        abn = getattr(self.window, "actions_by_name", None)
        if isinstance(abn, dict):
            for key, a in self.actions.items():
                abn.setdefault(key, a)
        record = abn.get("record") if isinstance(abn, dict) else None
        if isinstance(record, QtGui.QAction):
            if record.shortcut().isEmpty():
                record.setShortcut(QtGui.QKeySequence("F9"))
            if record not in self.window.actions():
                self.window.addAction(record)
        w = self.window
        plain_launch = (w.session.is_running() and getattr(w, "current_scene", None) is None
                        and not getattr(w, "launched_with_settings", False) and w.session.config == TrainConfig())
        if not (plain_launch and self.actions["resume_last_scene"].isChecked()) or safe_mode():
            return
        last = str(self.settings.value("classroom/last_scene", "") or "")
        if not last:
            return
        if str(self.settings.value("classroom/scene_pending", "") or "") == last:
            # the last launch loaded this scene and never drew a frame with it (a crash, a hang, a kill)
            self._save("classroom/scene_pending", "")
            self._save("classroom/last_scene", "")
            self.window.statusBar().showMessage(
                f"The last scene ({tb.path_text(last, 80)}) was not resumed: it did not open cleanly last time. "
                "Open it from the Scenes menu to try again.", 30000)
            return
        for i, s in enumerate(self.scenes):
            if s.name == last:
                self.load_index(i)
                return
        if last.endswith(".toml") and Path(last).is_file():
            try:
                scene = load_scene(Path(last))
            except SceneError as e:  # changed since: say so, and do not try again next time
                self._save("classroom/last_scene", "")
                self.window.statusBar().showMessage(f"The last scene was not resumed: {tb.clean(e, 300)}", 30000)
                return
            self.load(scene)

    def _scene_key(self, scene: Scene) -> str:
        """How last_scene names a scene: a shipped scene by name, another by its path."""
        shipped = any(s is scene for s in self.scenes)
        return str(scene.path) if not shipped and scene.path else scene.name

    # ------------------------------------------------------------------ view menu: theme, presentation
    def _build_view_menu(self) -> None:
        view = self.window.menu("View")
        view.addSeparator()
        theme_menu = view.addMenu("Theme")
        group = QtGui.QActionGroup(self)
        for key, text in (("light", "Light"), ("dark", "Dark")):
            a = self._action(f"theme_{key}", text, None, lambda _c=False, k=key: self.set_theme(k), theme_menu,
                             checkable=True)
            group.addAction(a)
            a.setChecked(key == self.theme)
        self._action("presentation", "Presentation mode", ["F5"], self.toggle_presentation, view,
                     "Full screen, large fonts, thick lines, high contrast; chosen docks hidden (Esc leaves)",
                     checkable=True)
        self._action("fullscreen", "Full screen", ["F11"], self.toggle_fullscreen, view, checkable=True)
        esc = self._action("leave", "Leave presentation / full screen", ["Esc"], self.leave, view)
        esc.setEnabled(False)
        self._action("presentation_settings", "Presentation settings...", None, self.presentation_settings, view)
        view.addSeparator()
        self._action("faster", "Faster", ["]"], lambda: self.change_speed(+1), view, "Next training speed")
        self._action("slower", "Slower", ["["], lambda: self.change_speed(-1), view, "Previous training speed")
        self._action("arrows", "Gradient arrows (2D)", ["A"],
                     lambda: self.window.data2d.arrows_checkbox.toggle(), view)
        self._action("z_grid", "Generator z-grid (2D)", ["Z"],
                     lambda: self.window.data2d.z_grid_checkbox.toggle(), view)

    def change_speed(self, delta: int) -> None:
        combo = self.window.speed
        combo.setCurrentIndex(min(combo.count() - 1, max(0, combo.currentIndex() + delta)))
        self.window.statusBar().showMessage(f"Speed: {combo.currentText()}", 3000)

    def set_theme(self, kind: str, save: bool = True) -> None:
        """'light' or 'dark': Qt palette, pyqtgraph's defaults and every plot already in the window."""
        self.theme = "dark" if kind == "dark" else "light"
        if save:
            self._save("classroom/theme", self.theme)
        for key in ("light", "dark"):
            a = self.actions.get(f"theme_{key}")
            if a is not None:
                with signals_blocked(a):
                    a.setChecked(key == self.theme)
        self._restyle()

    def _restyle(self) -> None:
        origin = style.palette()
        if self.presenting:
            target, width, font = HIGH_CONTRAST, self.presentation_scale, self.presentation_scale
            plot_font = 1.0 + PLOT_FONT_SHARE * (font - 1.0)
            qt_kind = "contrast"
        else:
            target, width, font = PALETTES[self.theme], 1.0, 1.0
            plot_font = 1.0
            qt_kind = self.theme
        app = QtWidgets.QApplication.instance()
        app.setPalette(qt_palette(qt_kind))
        self.styler.apply(self.window, target, width, plot_font, origin=origin, base=PALETTES[self.theme])
        # panels, markers and axis labels made from now on: in the palette on screen (presenting: high
        # contrast; a label set with the dark theme's light grey was unreadable on the white background)
        style.set_palette(target)
        self.formula.set_scale(font)
        self.info.set_scale(font)
        self.help.scale = font
        self._last_restyle = time.perf_counter()

    def toggle_presentation(self, on: bool | None = None) -> None:
        """Enter (on=True), leave (False) or toggle (None) presentation mode."""
        on = (not self.presenting) if on is None else bool(on)
        if on == self.presenting:
            self._sync_checks()
            return
        w = self.window
        app = QtWidgets.QApplication.instance()
        if on:
            self._saved = {"state": w.saveState(), "geometry": w.saveGeometry(),
                           "fullscreen": w.isFullScreen(), "maximized": w.isMaximized(),
                           "font": QtGui.QFont(app.font()), "status": not w.statusBar().isHidden(),
                           "menu": not w.menuBar().isHidden(),
                           "toolbars": {tb: not tb.isHidden() for tb in w.findChildren(QtWidgets.QToolBar)}}
            self.presenting = True
            for name, dock in w.docks.items():
                if name in self.hide_in_presentation:
                    dock.hide()
            if "status bar" in self.hide_in_presentation:
                w.statusBar().hide()
            if "menu bar" in self.hide_in_presentation:
                w.menuBar().hide()
            for tb in self._saved["toolbars"]:  # the presentation bar replaces the run toolbar (or nothing)
                if "toolbar" in self.hide_in_presentation or tb is getattr(w, "toolbar", None):
                    tb.hide()
            self.presentation_bar.render()
            self.presentation_bar.show()
            font = QtGui.QFont(self._saved["font"])
            if font.pointSizeF() > 0:
                font.setPointSizeF(font.pointSizeF() * self.presentation_scale)
            app.setFont(font)
            w.showFullScreen()
            QtCore.QTimer.singleShot(0, self._hide_stale_tab_bars)
        else:
            self.presenting = False
            saved = self._saved
            app.setFont(saved.get("font", app.font()))
            if "state" in saved:
                w.restoreState(saved["state"])
            w.statusBar().setVisible(saved.get("status", True))
            w.menuBar().setVisible(saved.get("menu", True))
            for tb, shown in saved.get("toolbars", {}).items():
                tb.setVisible(shown)
            if not saved.get("fullscreen", False):
                if saved.get("maximized"):
                    w.showMaximized()
                else:
                    w.showNormal()
                    self._restore_frame(saved)
                    QtCore.QTimer.singleShot(0, lambda: self._restore_frame(saved))  # after the fonts settle
        self._restyle()
        self._sync_checks()
        w.statusBar().showMessage("Presentation mode: Esc leaves, F1 lists the keys" if on else
                                  "Presentation mode off", 5000)

    def _restore_frame(self, saved: dict) -> None:
        """The window exactly as before presenting: its geometry and its docks' sizes (no drift)."""
        if self.presenting:
            return
        if "geometry" in saved:
            self.window.restoreGeometry(saved["geometry"])
        if "state" in saved:
            self.window.restoreState(saved["state"])

    def _hide_stale_tab_bars(self) -> None:
        """Qt can leave the tab bar of a group of tabbed docks on screen after every dock in it is hidden (it
        then floats over the neighbouring dock); hide such bars while presenting."""
        w = self.window
        hidden_titles = {d.windowTitle() for d in w.docks.values() if d.isHidden()}
        for bar in w.findChildren(QtWidgets.QTabBar):
            if bar.parent() is w and bar.count() and \
                    all(bar.tabText(i) in hidden_titles for i in range(bar.count())):
                bar.hide()

    def toggle_fullscreen(self, _checked: bool = False) -> None:
        w = self.window
        if w.isFullScreen():
            if self.presenting:
                self.toggle_presentation(False)
            w.showNormal()
        else:
            w.showFullScreen()
        self._sync_checks()

    def leave(self) -> None:
        """Esc: close the help sheet, else leave presentation mode, else leave full screen."""
        if self.help_open:
            self.help.hide()
        elif self.presenting:
            self.toggle_presentation(False)
        elif self.window.isFullScreen():
            self.window.showNormal()
        self._sync_checks()

    def _sync_checks(self) -> None:
        for key, value in (("presentation", self.presenting), ("fullscreen", self.window.isFullScreen())):
            a = self.actions[key]
            with signals_blocked(a):
                a.setChecked(value)
        self.actions["leave"].setEnabled(self.presenting or self.window.isFullScreen() or self.help_open)

    def presentation_settings(self) -> None:
        names = [(n, d.windowTitle()) for n, d in self.window.docks.items()]
        names += [("status bar", "Status bar"), ("toolbar", "Toolbar"), ("menu bar", "Menu bar")]
        dlg = PresentationDialog(self.window, names, self.hide_in_presentation, self.presentation_scale)
        if dlg.exec() == QtWidgets.QDialog.DialogCode.Accepted:
            self.set_presentation_options(dlg.hidden(), dlg.scale.value())

    def set_presentation_options(self, hidden: set[str], scale: float) -> None:
        self.hide_in_presentation = set(hidden)
        self.presentation_scale = min(3.0, max(1.0, float(scale)))
        self._save("classroom/presentation_hide", sorted(self.hide_in_presentation))
        self._save("classroom/presentation_scale", self.presentation_scale)

    # ------------------------------------------------------------------ help
    def _build_help(self) -> None:
        menu = self.window.menu("Help")
        # "?" is Shift+/ on most layouts, and Qt matches the shifted key only as Shift+?
        self._action("help", "Keyboard shortcuts", ["F1", "?", "Shift+?"], self.toggle_help, menu,
                     "List every keyboard shortcut")

    def shortcut_entries(self) -> list[tuple[str, str, str]]:
        """(group, action text, keys) for every enabled-or-not QAction of the window with a shortcut."""
        w = self.window
        seen: set[int] = set()
        order = {a.text().replace("&", ""): i for i, a in enumerate(w.menuBar().actions())}
        out: list[tuple[int, str, str, str]] = []
        for a in [*w.actions(), *w.findChildren(QtGui.QAction)]:
            if id(a) in seen or not a.shortcuts() or not a.isVisible():
                continue
            seen.add(id(a))
            group, rank = "Window", 999
            for obj in a.associatedObjects():
                if isinstance(obj, QtWidgets.QMenu) and obj.title():
                    top = obj
                    while isinstance(top.parent(), QtWidgets.QMenu):
                        top = top.parent()
                    group = top.title().replace("&", "")
                    rank = order.get(group, 500)
                    break
                if isinstance(obj, QtWidgets.QToolBar):
                    group, rank = "Training", -1
                    break
            names = [k.toString(QtGui.QKeySequence.SequenceFormat.NativeText) for k in a.shortcuts()]
            names = [k for k in names if not (k.startswith("Shift+") and k[6:] in names and len(k) == 7)]
            keys = " or ".join(names)
            text = a.text().replace("&", "")
            if a is w.play_action:
                text = "Play / pause"
            out.append((rank, group, text, keys))
        out.sort(key=lambda e: (e[0], e[1]))
        return [(g, t, k) for _r, g, t, k in out]

    @property
    def help_open(self) -> bool:
        return not self.help.isHidden()

    def toggle_help(self) -> None:
        if self.help_open:
            self.help.hide()
        else:
            self.help.open(self.shortcut_entries())
        self._sync_checks()

    # ------------------------------------------------------------------ your own data
    def _build_data_menu(self) -> None:
        menu = self.window.menu("Data")
        self._action("import_points", "Import points (CSV / .npy)...", ["Ctrl+I"], self.import_points_dialog, menu,
                     "Train on your own 1D or 2D points (density: Gaussian KDE, Scott bandwidth)")
        self._action("draw_points", "Draw points", ["Ctrl+D"], lambda on: self.show_draw_tool(0, on), menu,
                     "Click or drag on the 2D view to paint points with a brush", checkable=True)
        self._action("edit_mixture", "Edit Gaussian mixture", ["Ctrl+M"], lambda on: self.show_draw_tool(1, on),
                     menu, "Add and drag Gaussian components on the 2D view (exact density)", checkable=True)

    def show_draw_tool(self, tab: int, on: bool = True) -> None:
        if not on:
            self.draw_dock.hide()
            return
        if tab == 1 and not self.draw.components:
            self._prefill_mixture()
        self.draw.tabs.setCurrentIndex(tab)
        self.draw_dock.show()
        self.draw_dock.raise_()
        self._on_draw_visibility(True)

    def _prefill_mixture(self) -> None:
        cfg = self.window.session.config
        try:
            dist = make_distribution(cfg.data, cfg.ring_radius, cfg.ring_std, data_points=cfg.data_points)
        except (KeyError, ValueError):
            dist = None
        if dist is not None and dist.modes is not None and dist.mode_std is not None:
            self.draw.set_mixture(dist.modes, dist.mode_std)
        else:
            self.draw.set_mixture([[-1.0, 0.0], [1.0, 0.0]], 0.2)

    def ensure_data_choice(self, cfg: TrainConfig) -> None:
        """Give a user dataset an entry in the controls' dataset list, so the dropdown shows it."""
        combo = self.window.controls.widgets.get("data")
        info = _user_info(cfg)
        if not isinstance(combo, QtWidgets.QComboBox) or info is None or combo.findData(cfg.data) >= 0:
            return
        from ..controls import fill_dataset_combo

        fill_dataset_combo(combo, cfg.data, info)  # grouped, with this user dataset and no stale ones

    def _on_draw_visibility(self, visible: bool) -> None:
        w = self.window
        visible = bool(visible) and not self.draw_dock.isHidden()
        self.draw.set_active(visible)
        for key, tab in (("draw_points", 0), ("edit_mixture", 1)):
            a = self.actions.get(key)
            if a is not None:
                with signals_blocked(a):
                    a.setChecked(visible and self.draw.tabs.currentIndex() == tab)
        if visible:
            w.data_stack.setCurrentWidget(w.data2d)
            if w.session.dim == 1 and getattr(w.data2d, "_last", None) is None:
                w.data2d.plot.setRange(xRange=(-4, 4), yRange=(-4, 4), padding=0.0)
        else:
            w.data_stack.setCurrentWidget(w.data1d if w.session.dim == 1 else w.data2d)

    def import_points_dialog(self) -> None:
        start = str(self.settings.value("classroom/data_dir", str(Path.home())))
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self.window, "Import points", start,
                                                        "Points (*.csv *.txt *.npy);;All files (*)")
        if path:
            self._save("classroom/data_dir", str(Path(path).parent))
            self.import_points(path)

    def import_points(self, path: str | os.PathLike, columns: str | None = None) -> bool:
        """Train on the points in a CSV / .npy file; a bad file gives a message and changes nothing. A file with
        more columns than a point has asks which to use (ask_columns); what the reader assumed is shown."""
        notes: list[str] = []
        try:
            pts = load_points(path, columns, notes)
            rows = points_rows(pts)
        except ColumnsNeeded as e:
            chosen = self.ask_columns(Path(path).name, e)
            if chosen:
                return self.import_points(path, chosen)
            return False
        except (PointsError, ConfigError) as e:
            self._message("ganviz: cannot import the points", str(e))
            return False
        return self.apply_user_rows(rows, Path(path).stem, f"Read {Path(path).name}: {'; '.join(notes)}."
                                    if notes else "")

    def ask_columns(self, name: str, need: ColumnsNeeded) -> str:
        """Which columns of a wide points file to use (names or numbers from 1); '' to cancel (tests replace).
        Suggested: the first two columns that hold numbers."""
        header = need.header
        cols = (", ".join(f"{i + 1}: {h}" for i, h in enumerate(header)) if header
                else f"{need.width} columns, no header line")
        pick = list(need.numeric[:2]) or [0, 1]
        names = [header[i] for i in pick] if header else []
        default = ",".join(names) if names and all("," not in n for n in names) else ",".join(str(i + 1) for i in pick)
        text, ok = QtWidgets.QInputDialog.getText(
            self.window, "ganviz: choose the columns",
            f"{name} has {need.width} columns; a point has 1 (x) or 2 (x, y).\n\n{cols}\n\n"
            "Columns to use: their names or numbers from 1, e.g. x,y or 2,3", text=default)
        return text.strip() if ok else ""

    def apply_user_rows(self, rows: tuple, label: str, read: str = "") -> bool:
        """Restart the run on a user dataset (from the draw tool, the mixture editor or an import); `read`: what
        the file reader assumed (shown with it)."""
        w = self.window
        try:
            cfg = user_config(w.session.config, rows, label)
        except ConfigError as e:
            self._message("ganviz: cannot use this data", str(e))
            return False
        self.ensure_data_choice(cfg)
        self.draw_dock.hide()
        w.restart(cfg)
        self.current_scene = None
        self.current_index = None
        for a in self.scene_actions:
            with signals_blocked(a):
                a.setChecked(False)
        info = f"Training on your data “{label}”: {_describe_user(cfg)}"
        self.info.show_scene(None, info + (f" {read}" if read else "") + " The dataset list in the controls keeps "
                             "it; Ctrl+S saves it as a scene.", title="Your data")
        self.formula.set_config(cfg)
        w.statusBar().showMessage(f"{info.rstrip('.')}. {read}" if read else info, 15000)
        return True

    # ------------------------------------------------------------------ signals
    def _on_snapshot(self, snap: Any) -> None:
        if getattr(self, "_clean_frames", 0) > 0:
            self._clean_frames -= 1
            if self._clean_frames == 0:  # the scene opened cleanly: it may be resumed on the next launch
                self._save("classroom/scene_pending", "")
        if getattr(self.window, "current_scene", None) is not self._seen_scene:
            self.adopt_window_scene()
        self.formula.on_snapshot(snap)
        step = getattr(snap, "step", None)
        if step is not None:
            self.info.set_step(int(step))
        restyled = self.presenting or self.theme != "light"
        if restyled and time.perf_counter() - self._last_restyle > 1.0:
            self._last_restyle = time.perf_counter()
            self.styler.apply_new(self.window)  # e.g. event markers added since

    def _on_command(self, cmd: Any) -> None:
        changes = cmd.changes() if hasattr(cmd, "changes") else {}
        if changes and self.formula.config is not None:
            with contextlib.suppress(ConfigError, ValueError, TypeError):
                self.formula.set_config(self.formula.config.replace(**changes))

    def _on_close(self) -> None:
        if self.presenting:
            self.toggle_presentation(False)
        self.settings.sync()

    def _save(self, key: str, value: Any) -> None:
        self.settings.setValue(key, value)
        self.settings.sync()

    def _set_icon(self) -> None:
        for path in icon_paths():  # shipped in the package (ganviz.resources)
            icon = QtGui.QIcon(str(path))
            if not icon.isNull():
                self.window.setWindowIcon(icon)
                app = QtWidgets.QApplication.instance()
                if app is not None and app.windowIcon().isNull():
                    app.setWindowIcon(icon)
                break
        with contextlib.suppress(AttributeError):
            QtGui.QGuiApplication.setDesktopFileName("ganviz")


def _describe_user(cfg: TrainConfig) -> str:
    info = _user_info(cfg)
    return (info.description + ".") if info else ""


def _user_info(cfg: TrainConfig):
    """The DatasetInfo of cfg's data (user data from its data_points), or None."""
    from ...core.distributions import dataset_info

    try:
        return dataset_info(cfg.data, cfg.data_points)
    except (KeyError, ValueError):
        return None


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes", "on")
    return bool(value)


def _slug(text: str) -> str:
    keep = "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")
    while "--" in keep:
        keep = keep.replace("--", "-")
    return keep[:60] or "scene"


def install(window: Any) -> Classroom:
    window.classroom = Classroom(window)
    return window.classroom
