"""Image GANs in the centre of the window: the generated 8x8 grid from the fixed noise batch beside the real
grid, and the latent interpolation strip below.

Each grid is ONE ImageItem fed one tiled numpy array per update (no per-tile items), grayscale with fixed
levels [-1, 1] so a grey or blank generator looks grey or blank, never contrast-stretched. Gaps between
tiles are NaN, drawn transparent over a tinted frame, so they never read as image content.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from ganviz.core.snapshot import ImageViews, Snapshot
from ganviz.qt import style
from ganviz.qt.fit_titles import show_longest
from ganviz.qt.panels._common import canvas, panel_layout

LEVELS = (-1.0, 1.0)  # the generator's tanh range: -1 black, +1 white
GAP = 1  # pixels (in image units) between tiles
GRID_COLS = 8
GAP_COLOUR = "#6f8fb8"  # a tint no grayscale image value can take
MAX_CLASS_CHARS = 6
FAKE_SUBTITLE = "fixed noise batch (same z each frame)"
REAL_TITLES = (("Real data", "a fixed batch of training data"), ("Real data", "fixed training batch"),
               ("Real data", "training data"), ("Real", "training data"))
INTERP_TITLES = tuple((t, "") for t in (
    "Latent interpolation — each row: G(z) for z from z<sub>a</sub> to z<sub>b</sub>",
    "Latent interpolation — rows: G(z), z from z<sub>a</sub> to z<sub>b</sub>",
    "Latent interpolation: z<sub>a</sub> → z<sub>b</sub>", "Interpolation z<sub>a</sub> → z<sub>b</sub>",
    "Interpolation"))
CHECKBOX_TEXTS = ("predicted class on each sample", "predicted class", "classes")
GRID_SHARE = 0.64  # the 8x8 grids get at least this share of the height when the strip would need more
WAITING = "waiting for the first image snapshot"


def fake_titles(step: int | None = None) -> tuple[tuple[str, str], ...]:
    """(title, subtitle) versions of the generated grid's title, the full one first."""
    if step is None:
        return (("Generated", FAKE_SUBTITLE), ("Generated", "fixed noise batch"), ("Generated", "fixed z"))
    return ((f"Generated — step {step}", FAKE_SUBTITLE), (f"Generated — step {step}", "fixed noise batch"),
            ("Generated", f"step {step} · fixed noise batch"), ("Generated", f"step {step} · fixed z"),
            ("Generated", f"step {step}"))


def status_texts(n: int, size: str) -> tuple[str, ...]:
    """Versions of the header's image-format note, the full one first."""
    return (f"{n} × {size} px · grey levels fixed: -1 black, +1 white", f"{n} × {size} px · grey fixed: -1 to +1",
            f"{n} × {size} px", "")


def tile(images: np.ndarray, cols: int, gap: int = GAP) -> np.ndarray:
    """(n, H, W) images -> one (rows*(H+gap)-gap, cols*(W+gap)-gap) float32 array, row-major.

    Image k sits at row k // cols, column k % cols (top-left origin); gaps and empty cells are NaN.
    """
    imgs = np.asarray(images, dtype=np.float32)
    if imgs.ndim != 3 or imgs.shape[0] == 0:
        return np.full((1, 1), np.nan, dtype=np.float32)
    n, h, w = imgs.shape
    cols = max(1, int(cols))
    rows = -(-n // cols)
    buf = np.full((rows * cols, h + gap, w + gap), np.nan, dtype=np.float32)
    buf[:n, :h, :w] = imgs
    out = buf.reshape(rows, cols, h + gap, w + gap).transpose(0, 2, 1, 3).reshape(rows * (h + gap), cols * (w + gap))
    return np.ascontiguousarray(out[: rows * (h + gap) - gap, : cols * (w + gap) - gap])


def tile_origin(k: int, cols: int, h: int, w: int, gap: int = GAP) -> tuple[int, int]:
    """(row, col) pixel of the top-left corner of tile k in the array made by tile()."""
    r, c = divmod(int(k), int(cols))
    return r * (h + gap), c * (w + gap)


def confidence_colour(p: float) -> str:
    """Label colour for a class probability: green when sure, amber when unsure, red below 0.5."""
    if not np.isfinite(p):
        return "#b0b0b0"
    if p >= 0.9:
        return "#3ddc5a"
    if p >= 0.5:
        return "#ffc400"
    return "#ff5a4f"


def _shrinkable(label: pg.LabelItem) -> None:
    """Let a title be clipped instead of widening its column (LabelItem re-imposes its text width as its
    minimum on every setText), so the two grids always get equal columns."""
    original = label.updateMin

    def update_min() -> None:
        original()
        label.setMinimumWidth(0)
        h = label._sizeHint[QtCore.Qt.SizeHint.PreferredSize][1]
        label._sizeHint[QtCore.Qt.SizeHint.PreferredSize] = (0, h)

    label.updateMin = update_min
    label.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape)
    label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)
    update_min()


class TiledImage:
    """A title, and a mouse-inert, aspect-locked view box holding one grayscale ImageItem over a tinted frame.

    `titles` are (title, subtitle) versions, the full one first: the longest that fits the column is shown
    (refitted on every resize), the full one in the tooltip."""

    def __init__(self, layout: pg.GraphicsLayout, row: int, col: int, titles: Sequence[tuple[str, str]],
                 colspan: int = 1) -> None:
        pal = style.palette()
        self._titles = tuple(titles)
        self.title = layout.addLabel(self._html(*self._titles[0]), row=row, col=col, colspan=colspan,
                                     size=f"{style.TITLE_PT + 1}pt", color=pal.foreground, bold=True)
        _shrinkable(self.title)
        self.title.geometryChanged.connect(self.fit_title)  # a narrower column: a shorter title
        self.view: pg.ViewBox = layout.addViewBox(row=row + 1, col=col, colspan=colspan, lockAspect=True,
                                                  invertY=True, enableMouse=False, enableMenu=False)
        self.view.setDefaultPadding(0.01)
        self.view.setPreferredSize(10, 10)  # rows and columns share space by their stretch factors alone
        self.view.setMinimumSize(10, 10)
        self.frame = QtWidgets.QGraphicsRectItem(0, 0, 1, 1)
        self.frame.setBrush(QtGui.QBrush(QtGui.QColor(GAP_COLOUR)))
        self.frame.setPen(QtGui.QPen(QtCore.Qt.PenStyle.NoPen))
        self.frame.setZValue(-1)
        self.view.addItem(self.frame)
        self.image = pg.ImageItem(axisOrder="row-major", levels=LEVELS)
        self.view.addItem(self.image)
        self.shape: tuple[int, ...] = ()  # of the tiled array shown
        self._src: np.ndarray | None = None  # the images behind it (set_images)

    @staticmethod
    def _html(title: str, subtitle: str = "") -> str:
        if not subtitle:
            return title
        return (f'<div align="center">{title}<br><span style="font-size: {style.LEGEND_PT}pt; font-weight: normal;">'
                f"{subtitle}</span></div>")

    def set_titles(self, titles: Sequence[tuple[str, str]]) -> None:
        """New (title, subtitle) versions, the full one first."""
        titles = tuple(titles)
        if titles != self._titles:
            self._titles = titles
            self.fit_title()

    def fit_title(self) -> None:
        """Show the longest title version that fits the label's width; the full one in the tooltip."""
        label = self.title
        titles = self._titles if label.width() > 0 else self._titles[:1]  # not laid out yet: the full one
        show_longest(label, [self._html(*t) for t in titles])
        title, subtitle = self._titles[0]
        tip = f"{title}<br>{subtitle}" if subtitle else title
        if label.toolTip() != tip:
            label.setToolTip(tip)

    def set_array(self, arr: np.ndarray) -> None:
        self.image.setImage(arr, autoLevels=False, levels=LEVELS)
        if arr.shape != self.shape:
            self.shape = arr.shape
            h, w = arr.shape
            self.frame.setRect(0, 0, w, h)
            self.view.setRange(xRange=(0, w), yRange=(0, h), padding=0.01)

    def set_images(self, images: np.ndarray, cols: int) -> None:
        """Show (N, h, w) images tiled `cols` per row; unchanged images (the fixed real batch, a paused run's
        fakes) are not tiled or uploaded again."""
        src = self._src
        if src is not None and images.shape == src.shape and np.array_equal(images, src):
            return
        self._src = images.copy()
        self.set_array(tile(images, cols))

    def clear(self) -> None:
        self._src = None
        self.set_array(np.full((1, 1), np.nan, dtype=np.float32))


class ImageGridPanel(QtWidgets.QWidget):
    """Generated grid (fixed noise batch) | real grid, and the latent interpolation strip below.

    `update_snapshot` draws `Snapshot.images` (an ImageViews); with the class overlay on, each generated tile
    shows the classifier's class in its corner, coloured by the classifier's confidence.
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None, cols: int = GRID_COLS) -> None:
        super().__init__(parent)
        pal = style.palette()
        self.cols = int(cols)
        lay, header = panel_layout(self)
        self.class_checkbox = QtWidgets.QCheckBox("predicted class on each sample")
        self.class_checkbox.setToolTip(
            "Predicted class on each sample: the small classifier's class for each generated image, in the "
            "tile's corner; colour = its "
            "confidence (green >= 0.9, amber >= 0.5, red below)."
        )
        self.class_checkbox.toggled.connect(self.set_show_classes)
        key = "  ".join(f"<span style='color:{confidence_colour(p)}; font-weight:bold'>■</span> {text}"
                        for p, text in ((0.95, "≥ 0.9"), (0.7, "≥ 0.5"), (0.2, "< 0.5")))
        self._key_texts = ("classifier confidence: " + key, "confidence: " + key, key)
        self._status_texts: tuple[str, ...] = (WAITING, "waiting for images", "")
        self.class_key = QtWidgets.QLabel(self._key_texts[0])  # the label colours' meaning, on screen
        self.class_key.setToolTip("classifier confidence of each sample's class label")
        self.class_key.setVisible(False)
        self.class_checkbox.toggled.connect(self.class_key.setVisible)
        self.class_checkbox.toggled.connect(self._fit_header)
        self.status = QtWidgets.QLabel(WAITING)
        self.status.setStyleSheet(f"color: {pal.na_text};")
        header.addWidget(self.class_checkbox)
        header.addWidget(self.class_key)
        header.addStretch(1)
        header.addWidget(self.status)

        self._glw = canvas(lay)
        ci = self._glw.ci
        ci.setSpacing(4)
        self.fake = TiledImage(ci, 0, 0, fake_titles())
        self.real = TiledImage(ci, 0, 1, REAL_TITLES)
        self.interp = TiledImage(ci, 2, 0, INTERP_TITLES, colspan=2)
        for c in (0, 1):
            ci.layout.setColumnStretchFactor(c, 1)
        self._glw.installEventFilter(self)

        self._labels: list[pg.TextItem] = []
        self._label_font = style.font(8, bold=True)
        self._images: ImageViews | None = None

    # -- public API --------------------------------------------------------------------------------------
    @property
    def show_classes(self) -> bool:
        return self.class_checkbox.isChecked()

    def set_show_classes(self, on: bool) -> None:
        if self.class_checkbox.isChecked() != bool(on):
            self.class_checkbox.setChecked(bool(on))  # re-enters through toggled
            return
        if self._images is not None:
            self._update_labels(self._images)
        for item in self._labels:
            item.setVisible(bool(on) and bool(item.toPlainText()))

    def update_snapshot(self, snapshot: Snapshot) -> None:
        views = snapshot.images
        if views is None:
            return
        self._images = views
        fake = np.asarray(views.fake)
        self.fake.set_images(fake, self.cols)
        self.fake.set_titles(fake_titles(snapshot.step))
        self.real.set_images(np.asarray(views.real), self.cols)
        interp = np.asarray(views.interp)
        strip_shape = self.interp.shape
        if interp.ndim == 4 and interp.size:
            rows, cols, h, w = interp.shape
            self.interp.set_images(interp.reshape(rows * cols, h, w), cols)
        else:
            self.interp.clear()
        if self.interp.shape != strip_shape:
            self._fit_rows()  # the strip's aspect changed: share the height again
        labelled = views.fake_labels is not None and bool((np.asarray(views.fake_labels) >= 0).any())
        if labelled != self.class_checkbox.isEnabled():
            self.class_checkbox.setEnabled(labelled)  # unlabelled data, or the classifier is still training
        if self.show_classes:
            self._update_labels(views)
        n = fake.shape[0] if fake.ndim == 3 else 0
        size = f"{fake.shape[1]}×{fake.shape[2]}" if fake.ndim == 3 else "?"
        self._set_status(status_texts(n, size))

    def reset(self) -> None:
        self._images = None
        for t in (self.fake, self.real, self.interp):
            t.clear()
        self.fake.set_titles(fake_titles())
        for item in self._labels:
            item.setText("")
            item.setVisible(False)
        self._set_status((WAITING, "waiting for images", ""))

    def class_label(self, k: int) -> tuple[str, str]:
        """(text, colour) of tile k's class label ("" when it has none)."""
        if k >= len(self._labels):
            return "", ""
        item = self._labels[k]
        return item.toPlainText(), item.color.name()

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._fit_header()

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802 (Qt API)
        if obj is self._glw and event.type() == QtCore.QEvent.Type.Resize:
            self._fit_rows(event.size().width(), event.size().height())
        return super().eventFilter(obj, event)

    # -- internals ---------------------------------------------------------------------------------------
    def _set_status(self, texts: tuple[str, ...]) -> None:
        if texts != self._status_texts:
            self._status_texts = texts
            self.status.setToolTip(texts[0])
            self._fit_header()

    def _fit_header(self) -> None:
        """The longest versions of the header's texts that fit the panel's width side by side; the colour key
        shortens first ("confidence:"), then the status note, the check box, and the key again (bare swatches).
        The full texts are in the tooltips."""
        header = self.layout().itemAt(0).layout()
        margins = header.contentsMargins()
        room = self.width() - margins.left() - margins.right()
        last_c, last_k, last_s = len(CHECKBOX_TEXTS) - 1, len(self._key_texts) - 1, len(self._status_texts) - 1
        levels = [(0, 0, 0)] + [(0, 1, s) for s in range(last_s)]
        levels += [(c, 1, last_s - 1) for c in range(1, last_c + 1)]
        levels += [(last_c, k, last_s - 1) for k in range(2, last_k + 1)] + [(last_c, last_k, last_s)]
        for c, k, s in levels:
            widths = [self._text_width(self.class_checkbox, CHECKBOX_TEXTS[c])]
            if self.class_key.isVisibleTo(self):
                widths.append(self._text_width(self.class_key, self._key_texts[k]))
            if self._status_texts[s]:
                widths.append(self._text_width(self.status, self._status_texts[s]))
            if sum(widths) + header.spacing() * len(widths) <= room:
                break
        for widget, text in ((self.class_checkbox, CHECKBOX_TEXTS[c]), (self.class_key, self._key_texts[k]),
                             (self.status, self._status_texts[s])):
            if widget.text() != text:
                widget.setText(text)

    @staticmethod
    def _text_width(widget: QtWidgets.QWidget, text: str) -> int:
        """The width `widget` asks for showing `text`."""
        if isinstance(widget, QtWidgets.QCheckBox):
            return widget.sizeHint().width() - widget.fontMetrics().horizontalAdvance(widget.text()) \
                + widget.fontMetrics().horizontalAdvance(text)
        doc = QtGui.QTextDocument()
        doc.setDefaultFont(widget.font())
        doc.setDocumentMargin(0)
        doc.setHtml(text) if QtCore.Qt.mightBeRichText(text) else doc.setPlainText(text)
        return int(np.ceil(doc.idealWidth())) + 2 * widget.margin() + 2 * widget.frameWidth()

    def _fit_rows(self, width: int | None = None, height: int | None = None) -> None:
        """Square grids as large as fit, leaving the strip the height it needs at full width (but at least
        1 - GRID_SHARE of the height when it needs more); the strip gets whatever remains."""
        if width is None or height is None:
            width, height = self._glw.width(), self._glw.height()
        layout = self._glw.ci.layout
        title = self.fake.title.preferredHeight() + self.interp.title.preferredHeight()
        avail = max(20.0, height - title - 5 * layout.verticalSpacing() - 20)
        h, w = self.interp.shape if len(self.interp.shape) == 2 and self.interp.shape[1] > 1 else (115, 289)
        strip = min((width - 20) * h / w, (1.0 - GRID_SHARE) * avail)
        side = max(10.0, min((width - 20) / 2 - layout.horizontalSpacing(), avail - strip))
        layout.setRowFixedHeight(1, side)
        layout.setRowFixedHeight(3, max(10.0, avail - side))

    def _update_labels(self, views: ImageViews) -> None:
        fake = np.asarray(views.fake)
        if fake.ndim != 3:
            return
        n, h, w = fake.shape
        names = views.class_names
        labels = np.full(n, -1) if views.fake_labels is None else np.asarray(views.fake_labels).reshape(-1)
        conf = np.full(n, np.nan) if views.fake_confidence is None else np.asarray(views.fake_confidence).reshape(-1)
        while len(self._labels) < n:
            item = pg.TextItem("", anchor=(0, 0), fill=pg.mkBrush(0, 0, 0, 150))
            item.setFont(self._label_font)
            item.setVisible(False)
            self.fake.view.addItem(item, ignoreBounds=True)
            self._labels.append(item)
        for k, item in enumerate(self._labels):
            label = int(labels[k]) if k < n and k < len(labels) else -1
            if label < 0:
                item.setText("")
                item.setVisible(False)
                continue
            text = names[label][:MAX_CLASS_CHARS] if names is not None and label < len(names) else str(label)
            p = float(conf[k]) if k < len(conf) else float("nan")
            colour = confidence_colour(p)
            if text != item.toPlainText() or colour != item.color.name():  # re-layout only what changed
                item.setText(text, color=colour)
            r0, c0 = tile_origin(k, self.cols, h, w)
            if (item.pos().x(), item.pos().y()) != (c0, r0):
                item.setPos(c0, r0)
            tip = f"sample {k}: class {text}, p = {p:.2f}"
            if tip != item.toolTip():
                item.setToolTip(tip)
            if not item.isVisible():
                item.setVisible(True)  # TextItem.setVisible re-runs its transform update
