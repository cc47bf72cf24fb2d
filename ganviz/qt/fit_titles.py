"""Plot titles that shorten instead of being clipped: of a few versions (the full one first) a pyqtgraph
PlotItem shows the longest that fits its title label's width, refitted whenever the label is resized; the
full title is the label's tooltip (the pattern of coverage.py's bar title and images.py's grid titles)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pyqtgraph as pg
from PySide6 import QtGui

from ganviz.qt import style


def title_font(label: pg.LabelItem) -> QtGui.QFont:
    """The font a LabelItem draws its text in: its item's font with the size and weight of its style options
    (pyqtgraph puts them in the HTML, not in the item's font)."""
    font = QtGui.QFont(label.item.font())
    size = str(label.opts.get("size", ""))
    if size.endswith("pt"):
        font.setPointSizeF(float(size[:-2]))
    elif size.endswith("px"):
        font.setPixelSize(round(float(size[:-2])))
    if label.opts.get("bold") in (True, False):
        font.setBold(label.opts["bold"])
    return font


def text_width(label: pg.LabelItem, text: str) -> float:
    """Width of plain `text` in the font the label draws it in, with the text item's margins."""
    margins = 2 * label.item.document().documentMargin()
    return QtGui.QFontMetricsF(title_font(label)).horizontalAdvance(text) + margins


def show_longest(label: pg.LabelItem, texts: Sequence[str], set_text: Callable[[str], None] | None = None) -> str:
    """Show the longest of `texts` (as the label takes them, HTML included; the longest first) whose drawn width
    fits the label's width, trying each in turn: the shortest when none does. `set_text` sets one (default
    label.setText). Returns the text shown."""
    set_text = set_text or label.setText
    width = label.width()
    for text in texts:
        if label.text != text:
            set_text(text)
        if label.item.boundingRect().width() <= width:
            break
    return text


def fit_title(plot: pg.PlotItem) -> None:
    """Show the longest of the plot's title versions that fits its title label (the shortest when none does;
    the full one while the label is not laid out yet)."""
    versions: tuple[str, ...] = getattr(plot, "_title_versions", ())
    if not versions:
        return
    label = plot.titleLabel
    width = label.width()
    chosen = versions[0]
    if width > 0:
        chosen = next((v for v in versions if text_width(label, v) <= width), versions[-1])
    if label.text != chosen:
        style.set_title(plot, chosen)
    label.setToolTip(versions[0])


def fit_titles(plot: pg.PlotItem, versions: Sequence[str]) -> None:
    """Title `plot` with the longest of `versions` (plain text, longest first) that fits its width, now and on
    every resize; the full title in the tooltip."""
    plot._title_versions = tuple(versions)
    if not getattr(plot, "_fits_title", False):
        plot._fits_title = True
        plot.titleLabel.geometryChanged.connect(lambda: fit_title(plot))
    fit_title(plot)


def _fit_ticks(plot: pg.PlotItem) -> None:
    axis = plot.getAxis("bottom")
    ticks, axis_label = getattr(axis, "_full_ticks", ([], ""))
    if not ticks:
        return
    metrics = QtGui.QFontMetricsF(axis.style["tickFont"] or axis.font())
    widest = max(metrics.horizontalAdvance(line) for _, s in ticks for line in s.split("\n"))
    full = axis.width() <= 0 or widest + 4 <= axis.width() / len(ticks)
    shown = ticks if full else [(x, s.split("\n")[0]) for x, s in ticks]
    if shown != getattr(axis, "_shown_ticks", None):
        axis._shown_ticks = shown
        axis.setTicks([shown])
    label = axis_label if full or "\n" not in ticks[0][1] else "mode index"
    if axis.labelText != label:
        style.label_axis(plot, "bottom", label)
    axis.setToolTip("" if full else f"{axis_label}: " + ", ".join(s.replace("\n", " ") for _, s in ticks))


def fit_ticks(plot: pg.PlotItem, ticks: Sequence[tuple[float, str]], axis_label: str) -> None:
    """Bottom ticks of evenly spaced bars ('index\\ndetail' labels, axis labelled `axis_label`): the full labels
    where each line fits its bar's width, else the index alone ('mode index' on the axis, the full labels in
    its tooltip); refitted on every resize. Empty `ticks`: `axis_label` only, ticks left to the caller."""
    axis = plot.getAxis("bottom")
    axis._full_ticks = (list(ticks), axis_label)
    axis._shown_ticks = None
    if not getattr(axis, "_fits_ticks", False):
        axis._fits_ticks = True
        axis.geometryChanged.connect(lambda: _fit_ticks(plot))
    if ticks:
        _fit_ticks(plot)
    else:
        axis.setToolTip("")
        style.label_axis(plot, "bottom", axis_label)
