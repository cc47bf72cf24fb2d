"""The image page's titles, subtitles and header row are never cut mid-word: on a 1024x768 screen the page is
~380 px wide ("erated — step 375", "noise batch (same z each fr", "predicted class on each sar" before), and each
text shows the longest of its versions that fits, the full text in the tooltip; at 1366x768 and the default
size the texts are the full ones. Measured with each text's own font on the process-backend window."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from ganviz.qt.panels.images import (
    CHECKBOX_TEXTS,
    INTERP_TITLES,
    REAL_TITLES,
    ImageGridPanel,
    TiledImage,
    fake_titles,
    status_texts,
)
from tests.qt.test_image_views import glyph, make_image_snapshot
from tests.qt.windows import window_factory

pytestmark = pytest.mark.qt

SMALL = {"d_width": 16, "g_width": 16, "batch_size": 32, "n_view": 300}
SCREENS = {"1024x768": ((1024, 768), (1008, 728)), "1366x768": ((1366, 768), (1350, 728)),
           "default": ((1920, 1080), (1600, 1000))}
STEP = 12375


def snapshot():
    """A digits snapshot with 28x28 samples and a 5-digit step (the longest generated-grid title)."""
    snap = make_image_snapshot(step=STEP)
    fake = np.stack([glyph(k, 28, 28) for k in range(64)]).astype(np.float32)
    return dataclasses.replace(snap, running=False, images=dataclasses.replace(snap.images, fake=fake))


def text_width(widget: QtWidgets.QWidget) -> float:
    """The width the widget's text needs in its font (rich text laid out as HTML, on one line)."""
    text = widget.text()
    if isinstance(widget, QtWidgets.QCheckBox):
        return QtGui.QFontMetrics(widget.font()).horizontalAdvance(text)
    doc = QtGui.QTextDocument()
    doc.setDefaultFont(widget.font())
    doc.setDocumentMargin(0)
    doc.setHtml(text) if QtCore.Qt.mightBeRichText(text) else doc.setPlainText(text)
    return doc.idealWidth()


def assert_page_fits(panel: ImageGridPanel) -> None:
    for tiled in (panel.fake, panel.real, panel.interp):
        label = tiled.title
        assert label.width() > 50, label.width()
        # the laid-out text (title and subtitle, the label's own fonts) inside its column
        assert label.item.boundingRect().width() <= label.width() + 1, (label.text, label.width())
    room = panel.rect()
    for widget in (panel.class_checkbox, panel.class_key, panel.status):
        if not widget.isVisible() or not widget.text():
            continue
        assert room.contains(widget.geometry()), (widget.text(), widget.geometry(), room)
        need = text_width(widget)
        have = widget.contentsRect().width()
        if isinstance(widget, QtWidgets.QCheckBox):  # the box and its gap come before the text
            have -= widget.sizeHint().width() - QtGui.QFontMetrics(widget.font()).horizontalAdvance(widget.text())
        assert need <= have + 1, (widget.text(), need, have)
    cells = sorted((w.geometry() for w in (panel.class_checkbox, panel.class_key, panel.status)
                    if w.isVisible() and w.text()), key=lambda r: r.left())
    for a, b in zip(cells, cells[1:], strict=False):
        assert a.right() < b.left(), (a, b)  # side by side, not overlapping


def full_texts(panel: ImageGridPanel, header: bool = True) -> None:
    assert panel.fake.title.text == TiledImage._html(*fake_titles(STEP)[0])
    assert "Generated — step 12375" in panel.fake.title.text and "fixed noise batch (same z each frame)" in \
        panel.fake.title.text
    assert panel.real.title.text == TiledImage._html(*REAL_TITLES[0])
    assert panel.interp.title.text == INTERP_TITLES[0][0]
    if not header:
        return
    assert panel.class_checkbox.text() == CHECKBOX_TEXTS[0] == "predicted class on each sample"
    assert panel.status.text() == status_texts(64, "28×28")[0] == \
        "64 × 28×28 px · grey levels fixed: -1 black, +1 white"
    assert not panel.class_key.isVisible() or "confidence: " in panel.class_key.text()  # it shortens first


@pytest.fixture
def digits_window(qtbot, tmp_path, monkeypatch):
    """make(screen): the process-backend window on a digits config as it opens on that screen (not started),
    showing an image snapshot (class labels off, as it opens)."""
    from ganviz.qt import layout

    made = []

    def make(screen: str):
        (sw, sh), size = SCREENS[screen]
        monkeypatch.setattr(layout, "available", lambda window: QtCore.QRect(0, 0, sw, sh))
        w = window_factory(qtbot, tmp_path, "titles", base=SMALL, size=size, autostart=False)(data="digits")
        made.append(w)
        qtbot.waitExposed(w)
        w.on_snapshot(snapshot())
        qtbot.wait(50)
        assert w.data_stack.currentWidget() is w.images
        return w

    yield make
    for w in made:
        w.shutdown()


def test_image_page_texts_fit_at_1024x768(digits_window, qtbot):
    w = digits_window("1024x768")
    panel = w.images
    assert panel.width() < 450, panel.width()  # the narrow page this is about
    assert_page_fits(panel)
    panel.set_show_classes(True)  # the colour key joins the header row
    qtbot.wait(30)
    assert panel.class_key.isVisible()
    assert_page_fits(panel)
    # shorter versions, not cut ones; the full texts in the tooltips
    assert panel.fake.title.text != TiledImage._html(*fake_titles(STEP)[0])
    assert "12375" in panel.fake.title.text and "Generated" in panel.fake.title.text
    assert panel.fake.title.toolTip() == "Generated — step 12375<br>fixed noise batch (same z each frame)"
    assert panel.interp.title.toolTip() == INTERP_TITLES[0][0]
    assert panel.status.toolTip() == status_texts(64, "28×28")[0]
    assert "Predicted class on each sample" in panel.class_checkbox.toolTip()


@pytest.mark.parametrize("screen", ["1366x768", "default"])
def test_image_page_texts_unchanged_on_larger_screens(digits_window, qtbot, screen):
    panel = digits_window(screen).images
    assert_page_fits(panel)
    full_texts(panel)
    panel.set_show_classes(True)  # at 1366 the header then needs more than the page: it shortens, uncut
    qtbot.wait(30)
    assert_page_fits(panel)
    full_texts(panel, header=screen == "default")


def test_image_page_refits_when_resized(qtbot):
    """Down to a 300 px page every text fits; widened again, the full texts come back."""
    panel = ImageGridPanel()
    stack = QtWidgets.QStackedWidget()  # as the window holds the page (its minimum lowered, as layout.fit_minimums)
    stack.addWidget(panel)
    stack.setMinimumWidth(200)
    qtbot.addWidget(stack)
    stack.resize(900, 650)
    stack.show()
    qtbot.waitExposed(stack)
    panel.update_snapshot(snapshot())
    panel.set_show_classes(True)
    qtbot.wait(30)
    full_texts(panel)
    for width in (380, 340, 300):
        stack.resize(width, 600)
        qtbot.wait(30)
        assert panel.width() == width
        assert_page_fits(panel)
    assert panel.interp.title.text != INTERP_TITLES[0][0] and panel.class_checkbox.text() != CHECKBOX_TEXTS[0]
    panel.set_show_classes(False)
    stack.resize(900, 650)
    qtbot.wait(30)
    assert_page_fits(panel)
    full_texts(panel)
    panel.reset()  # no snapshot: the waiting note, the plain title
    stack.resize(300, 600)
    qtbot.wait(30)
    assert_page_fits(panel)
    assert "Generated" in panel.fake.title.text
