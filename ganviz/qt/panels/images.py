"""Image GANs in the centre of the window: the generated 8x8 grid from the fixed noise batch beside the real
grid, and the latent interpolation strip below.

Each grid is ONE ImageItem fed one tiled numpy array per update (no per-tile items), grayscale with fixed
levels [-1, 1] so a grey or blank generator looks grey or blank, never contrast-stretched. Gaps between
tiles are NaN, drawn transparent over a tinted frame, so they never read as image content.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from ganviz.core.snapshot import ImageViews, Snapshot
from ganviz.qt import style
from ganviz.qt.panels._common import canvas, panel_layout

LEVELS = (-1.0, 1.0)  # the generator's tanh range: -1 black, +1 white
GAP = 1  # pixels (in image units) between tiles
GRID_COLS = 8
GAP_COLOUR = "#6f8fb8"  # a tint no grayscale image value can take
MAX_CLASS_CHARS = 6
FAKE_SUBTITLE = "fixed noise batch (same z each frame)"
GRID_SHARE = 0.64  # the 8x8 grids get at least this share of the height when the strip would need more
WAITING = "waiting for the first image snapshot"


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
    """A title, and a mouse-inert, aspect-locked view box holding one grayscale ImageItem over a tinted frame."""

    def __init__(self, layout: pg.GraphicsLayout, row: int, col: int, title: str, subtitle: str = "",
                 colspan: int = 1) -> None:
        pal = style.palette()
        self.subtitle = subtitle
        self.title = layout.addLabel(self._html(title), row=row, col=col, colspan=colspan,
                                     size=f"{style.TITLE_PT + 1}pt", color=pal.foreground, bold=True)
        _shrinkable(self.title)
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
        self._title = title

    def _html(self, title: str) -> str:
        if not self.subtitle:
            return title
        return (f'<div align="center">{title}<br><span style="font-size: {style.LEGEND_PT}pt; font-weight: normal;">'
                f"{self.subtitle}</span></div>")

    def set_title(self, text: str) -> None:
        if text != self._title:
            self._title = text
            self.title.setText(self._html(text))

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
            "The small classifier's class for each generated image, in the tile's corner; colour = its "
            "confidence (green >= 0.9, amber >= 0.5, red below)."
        )
        self.class_checkbox.toggled.connect(self.set_show_classes)
        self.class_key = QtWidgets.QLabel(  # what the label colours mean, on screen (not only in a tooltip)
            "classifier confidence: " + "  ".join(
                f"<span style='color:{confidence_colour(p)}; font-weight:bold'>■</span> {text}"
                for p, text in ((0.95, "≥ 0.9"), (0.7, "≥ 0.5"), (0.2, "< 0.5"))))
        self.class_key.setVisible(False)
        self.class_checkbox.toggled.connect(self.class_key.setVisible)
        self.status = QtWidgets.QLabel(WAITING)
        self.status.setStyleSheet(f"color: {pal.na_text};")
        header.addWidget(self.class_checkbox)
        header.addWidget(self.class_key)
        header.addStretch(1)
        header.addWidget(self.status)

        self._glw = canvas(lay)
        ci = self._glw.ci
        ci.setSpacing(4)
        self.fake = TiledImage(ci, 0, 0, "Generated", FAKE_SUBTITLE)
        self.real = TiledImage(ci, 0, 1, "Real data", "a fixed batch of training data")
        self.interp = TiledImage(ci, 2, 0, "Latent interpolation — each row: G(z) for z from z<sub>a</sub> to "
                                 "z<sub>b</sub>", colspan=2)
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
        self.fake.set_title(f"Generated — step {snapshot.step}")
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
        self.status.setText(f"{n} × {size} px · grey levels fixed: -1 black, +1 white")

    def reset(self) -> None:
        self._images = None
        for t in (self.fake, self.real, self.interp):
            t.clear()
        self.fake.set_title("Generated")
        for item in self._labels:
            item.setText("")
            item.setVisible(False)
        self.status.setText(WAITING)

    def class_label(self, k: int) -> tuple[str, str]:
        """(text, colour) of tile k's class label ("" when it has none)."""
        if k >= len(self._labels):
            return "", ""
        item = self._labels[k]
        return item.toPlainText(), item.color.name()

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802 (Qt API)
        if obj is self._glw and event.type() == QtCore.QEvent.Type.Resize:
            self._fit_rows(event.size().width(), event.size().height())
        return super().eventFilter(obj, event)

    # -- internals ---------------------------------------------------------------------------------------
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
