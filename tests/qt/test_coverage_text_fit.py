"""The Mode coverage and Class coverage docks show their whole text at a 1366x768 laptop screen and at the default
window size: the status line and the headline wrap between their parts instead of being cut ("reverse KL 1.386 r"),
and the plot titles fit their plots. Measured with the label's own font on the real window's docks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from ganviz.qt.panels.coverage import BAR_TITLE, wrap_points
from ganviz.qt.panels.modes import status_text
from tests.qt.snapshots import make_snapshot
from tests.qt.test_image_views import image_metrics, make_image_snapshot
from tests.qt.windows import window_factory

pytestmark = pytest.mark.qt

# screen -> the window default_layout fits to it (layout.fit_to_screen: at most 1600x1000, less the frame)
SCREENS = {"laptop-1366x768": ((1366, 768), (1350, 728)), "default-1920x1080": ((1920, 1080), (1600, 1000)),
           "1440x900": ((1440, 900), (1424, 860))}  # 1440: the class coverage dock is 427 px, its bar title 360
SMALL = {"d_width": 16, "g_width": 16, "batch_size": 32, "n_view": 300}


def needed(label: QtWidgets.QLabel) -> tuple[float, float]:
    """(widest line, height) of the label's text laid out as the label lays it out: its font, word wrap at its
    contents width (rich text as HTML, so a tag's spaces are not wrap points)."""
    doc = QtGui.QTextDocument()
    doc.setDefaultFont(label.font())
    doc.setDocumentMargin(0)
    option = doc.defaultTextOption()
    option.setWrapMode(QtGui.QTextOption.WrapMode.WordWrap)  # as QLabel: an unbreakable piece wider than the
    doc.setDefaultTextOption(option)  # label sticks out (the document's default would break it anywhere)
    text = label.text()
    doc.setHtml(text) if QtCore.Qt.mightBeRichText(text) else doc.setPlainText(text)
    doc.setTextWidth(label.contentsRect().width() if label.wordWrap() else -1)
    return doc.idealWidth(), doc.size().height()


def assert_fits(label: QtWidgets.QLabel) -> None:
    width, height = needed(label)
    rect = label.contentsRect()
    assert label.isVisible() and rect.width() > 100, (label.text(), rect)
    assert width <= rect.width() + 1 and height <= rect.height() + 1, (label.text(), (width, height), rect.size())


def assert_controls_fit(row: QtWidgets.QWidget) -> None:
    """Each label and check box of a row of controls has its whole text, inside the row (at 1440x900 the
    remedies row was cut after 'mb-st')."""
    cells = row.findChildren(QtWidgets.QWidget)
    assert len(cells) >= 8
    for cell in cells:
        if isinstance(cell, QtWidgets.QLabel | QtWidgets.QCheckBox) and cell.isVisible():
            assert row.rect().contains(cell.geometry()), (cell.text(), cell.geometry(), row.rect())
            need = cell.fontMetrics().horizontalAdvance(cell.text()) if isinstance(cell, QtWidgets.QLabel) \
                else cell.sizeHint().width()
            assert cell.contentsRect().width() >= need, (cell.text(), cell.contentsRect().width(), need)


def assert_titles_fit(plots) -> None:
    for plot in plots:
        title = plot.titleLabel
        assert title.item.boundingRect().width() <= title.width() + 1, (title.text, title.width())


def assert_marker_labels_in_view(panel, expected: list[str]) -> None:
    """The collapse markers' labels on plot (a) lie inside its view box (a marker near the right edge, as every
    fresh one is, drew its label off the plot: "colla")."""
    view = panel.plots["covered"].getViewBox()
    box = view.mapRectToScene(view.boundingRect()).adjusted(-1, -1, 1, 1)
    labels = [it.label for _, it in panel.collapse_markers._items if getattr(it, "label", None) is not None]
    labels = [lab for lab in labels if lab.isVisible() and lab.toPlainText()]
    assert [lab.toPlainText() for lab in labels] == expected
    for lab in labels:
        rect = lab.mapRectToScene(lab.boundingRect())
        assert box.contains(rect), (lab.toPlainText(), rect, box)


def ring_snapshot(step: int, covered: int):
    """An 8-mode ring snapshot with `covered` modes holding all high-quality mass, evenly."""
    snap = make_snapshot(step=step, dim=2, with_mixture=True, seed=0)
    shares = np.array([1.0 / covered if i < covered else 0.0 for i in range(8)])
    nz = shares > 0
    metrics = dict(snap.metrics, modes_covered=float(covered), n_modes=8.0, hq_fraction=1.0,
                   reverse_kl=float((shares[nz] * np.log(8 * shares[nz])).sum()))
    metrics.update({f"mode_share_{i}": float(s) for i, s in enumerate(shares)})
    return dataclasses.replace(snap, metrics=metrics, metrics_step=step)


@pytest.fixture
def fitted_window(qtbot, tmp_path, monkeypatch):
    """make(screen_name, **cfg): the process-backend window as it opens on that screen (not started)."""
    from ganviz.qt import layout

    made = []

    def make(screen: str, **cfg):
        (sw, sh), size = SCREENS[screen]
        monkeypatch.setattr(layout, "available", lambda window: QtCore.QRect(0, 0, sw, sh))
        w = window_factory(qtbot, tmp_path, "fit", base=SMALL, size=size, autostart=False)(**cfg)
        made.append(w)
        qtbot.waitExposed(w)
        return w

    yield make
    for w in made:
        w.shutdown()


def test_status_text_breaks_only_between_parts():
    text = status_text(["modes covered 8/8", "HQ 100.0%", "reverse KL 1.386 nats",
                        "<b style='color:#d62728'>collapsed</b> since step 12000"])
    assert text.count(" ") == 4  # one wrap point after each dot, one inside the tag
    assert "reverse\u00a0KL\u00a01.386\u00a0nats" in text and "<b style=" in text
    assert text.replace("\u00a0", " ").startswith("modes covered 8/8  ·  HQ 100.0%  ·  reverse KL")


def test_headline_breaks_between_parts_and_before_a_parenthesis():
    text = wrap_points("samples not yet recognisable (26% with confidence ≥ 0.9) · classes covered 1 / 10 · "
                       "KL to uniform 1.94 nats · Fréchet (classifier features) 1982")
    assert text.replace("\u00a0", " ") == ("samples not yet recognisable (26% with confidence ≥ 0.9) · classes covered "
                                           "1 / 10 · KL to uniform 1.94 nats · Fréchet (classifier features) 1982")
    pieces = [p.replace("\u00a0", "_") for p in text.split(" ")]  # the wrap points: the only plain spaces
    assert pieces == ["samples_not_yet_recognisable", "(26%_with_confidence_≥_0.9)_·", "classes_covered_1_/_10_·",
                      "KL_to_uniform_1.94_nats_·", "Fréchet", "(classifier_features)_1982"]


@pytest.mark.parametrize("screen", list(SCREENS))
def test_mode_coverage_dock_shows_its_whole_status_line(fitted_window, qtbot, screen):
    w = fitted_window(screen)
    dock = w.docks["modes"]
    dock.raise_()
    panel = w.panel("modes")
    # the longest status: all parts, a 5-digit step, collapsed (8 modes at first, then one from step 12000 on)
    for step, covered in ((100, 8), (300, 8), (500, 8), (12000, 1), (12200, 1), (12400, 1)):
        panel.update_snapshot(ring_snapshot(step, covered))
    qtbot.wait(50)
    text = panel.status.text().replace("\u00a0", " ")
    assert "modes covered 1/8  ·  HQ 100.0%  ·  reverse KL 2.079 nats" in text and "since step 12000" in text
    assert_fits(panel.status)
    assert_titles_fit(panel.plots.values())
    assert_controls_fit(panel.remedies)
    assert panel.remedies.rows == (2 if screen == "1440x900" else 1)  # two rows only where one does not fit
    # the log K line (2.079) is in view, so its label is not drawn at the plot's edge
    lo, hi = panel.plots["rkl"].viewRange()[1]
    assert lo == 0.0 and np.log(8) < hi <= 1.1 * np.log(8)
    assert_marker_labels_in_view(panel, ["collapse: 8 → 1/8 modes"])  # at the right edge: drawn to its left
    for step in (12600, 12800, 13000):  # recovered: the status is short again and still fits
        panel.update_snapshot(ring_snapshot(step, 8))
    qtbot.wait(50)
    assert_fits(panel.status)
    assert_marker_labels_in_view(panel, ["collapse: 8 → 1/8 modes", "recovered: 8/8 modes"])


@pytest.mark.parametrize("screen", list(SCREENS))
def test_class_coverage_dock_shows_its_whole_headline(fitted_window, qtbot, screen):
    w = fitted_window(screen)
    dock = w.docks["coverage"]
    dock.show()
    dock.raise_()
    panel = w.panel("coverage")
    metrics = dict(image_metrics(frechet=1982.0), confident_share=0.26)  # the longest headline: early training
    panel.update_snapshot(make_image_snapshot(step=12000, metrics=metrics))
    qtbot.wait(50)
    assert dock.isVisible() and dock.width() < 500, dock.size()  # the right column's width, as users get it
    assert panel.headline.text().replace("\u00a0", " ").startswith("samples not yet recognisable (26%")
    assert_fits(panel.headline)
    assert_titles_fit([panel.bar_plot, panel.covered_plot, panel.kl_plot])
    # the longest title that fits; the full one in the tooltip
    title = panel.bar_plot.titleLabel
    assert title.text.startswith(BAR_TITLE if screen != "1440x900" else "Samples per class (classifier labels)")
    assert title.toolTip() == f"{BAR_TITLE}\ndashed line: the uniform share 1/K = 0.1"
    panel.update_snapshot(make_image_snapshot(step=12200, metrics=image_metrics(frechet=74.8)))
    qtbot.wait(50)
    assert "classes covered 7 / 10" in panel.headline.text().replace("\u00a0", " ")
    assert_fits(panel.headline)


def test_remedies_take_two_rows_when_a_larger_font_makes_one_too_wide(qtbot):
    """Presentation mode scales the application font: the remedies row re-checks its fit on a font change."""
    from ganviz.qt.panels.modes import RemedyControls

    row = RemedyControls()
    qtbot.addWidget(row)
    row.resize(row.one_row_width() + 10, 60)
    row.show()
    qtbot.waitExposed(row)
    assert row.rows == 1
    assert_controls_fit(row)
    font = QtGui.QFont(row.font())
    font.setPointSizeF(font.pointSizeF() * 1.5)
    row.setFont(font)
    qtbot.wait(20)
    assert row.width() < row.one_row_width() and row.rows == 2
    row.resize(row.width(), row.minimumSizeHint().height())
    qtbot.wait(20)
    assert_controls_fit(row)
