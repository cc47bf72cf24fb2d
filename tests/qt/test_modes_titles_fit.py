"""On a 1024x768 screen the Mode coverage dock is 256 px wide: its plot titles shorten instead of being cut on both
sides (") modes covered (≥ 1 HQ sampl"), keeping their letters, with the full title in the tooltip, and the
ring's angle ticks of (d) give way to the index alone instead of crowding ("0° 45° 90°135°"). At 1366x768 and
the default size nothing changes. Measured with the title's own font on the process-backend window."""

from __future__ import annotations

import pytest
from PySide6 import QtCore, QtGui

from ganviz.qt import layout
from ganviz.qt.panels.modes import TITLES
from tests.qt.test_coverage_text_fit import ring_snapshot
from tests.qt.windows import window_factory

pytestmark = pytest.mark.qt

SMALL = {"d_width": 16, "g_width": 16, "batch_size": 32, "n_view": 300}


def fitted_size(sw: int, sh: int) -> tuple[int, int]:
    """The size layout.fit_to_screen gives the window on an sw x sh screen."""
    return (min(layout.MAX_SIZE[0], sw - layout.FRAME[0]), min(layout.MAX_SIZE[1], sh - layout.FRAME[1]))


FULL = {"covered": "(a) modes covered (≥ 1 HQ sample)", "hq": "(b) high-quality samples (within 3 std)",
        "rkl": "(c) reverse KL of the mode histogram", "shares": "(d) mass per mode now (HQ samples)"}
RING_TICKS = ["0\n0°", "1\n45°", "2\n90°", "3\n135°", "4\n180°", "5\n225°", "6\n270°", "7\n315°"]


@pytest.fixture
def modes_panel(qtbot, tmp_path, monkeypatch):
    """make(screen): the Mode coverage panel of the window (ring8, not started) on that screen, fed a ring."""
    made = []

    def make(screen: tuple[int, int]):
        monkeypatch.setattr(layout, "available", lambda window: QtCore.QRect(0, 0, *screen))
        make_window = window_factory(qtbot, tmp_path, "modes", base=SMALL, size=fitted_size(*screen), autostart=False)
        w = make_window(data="ring8")
        made.append(w)
        qtbot.waitExposed(w)
        w.docks["modes"].raise_()
        panel = w.panel("modes")
        for step in (100, 200, 300):
            panel.update_snapshot(ring_snapshot(step, 8))
        qtbot.wait(100)
        return w, panel

    yield make
    for w in made:
        w.shutdown()


def title_metrics(plot) -> QtGui.QFontMetricsF:
    """Metrics of the font the title is drawn in (its size is in the label's options, set by style.set_title)."""
    label = plot.titleLabel
    font = QtGui.QFont(label.item.font())
    font.setPointSizeF(float(label.opts["size"].removesuffix("pt")))
    return QtGui.QFontMetricsF(font)


def title_width(plot) -> float:
    return title_metrics(plot).horizontalAdvance(plot.titleLabel.item.toPlainText())


def tick_texts(plot) -> list[str]:
    return [text for _, text in plot.getAxis("bottom")._tickLevels[0]]


def test_titles_fit_a_1024_screen(modes_panel):
    w, panel = modes_panel((1024, 768))
    assert panel.width() < 320  # the narrow right-hand column
    for name, plot in panel.plots.items():
        text = plot.titleLabel.item.toPlainText()
        assert text in TITLES[name] and text.startswith(FULL[name][:4]), text  # a version, with its letter
        versions = TITLES[name]
        i = versions.index(text)
        if i:  # the longest that fits: the one before it does not
            longer = title_metrics(plot).horizontalAdvance(versions[i - 1])
            assert longer > plot.titleLabel.width() - 10, (versions[i - 1], text)  # 10: the text item's margins
        assert title_width(plot) <= plot.titleLabel.width() <= plot.width(), (text, plot.titleLabel.width())
        assert len(text) >= 9  # "(a) modes" at least, not just the letter
        assert plot.titleLabel.toolTip() == FULL[name]
        assert text != FULL[name]  # none of the full titles fits (each was cut before)
    axis = panel.plots["shares"].getAxis("bottom")
    assert tick_texts(panel.plots["shares"]) == [str(i) for i in range(8)]  # index only: the angles crowded
    assert axis.labelText == "mode index"
    assert "3 135°" in axis.toolTip() and axis.toolTip().startswith("mode (index, angle)")


@pytest.mark.parametrize("screen", [(1366, 768), (1920, 1080)])
def test_titles_unchanged_on_larger_screens(modes_panel, screen):
    w, panel = modes_panel(screen)
    for name, plot in panel.plots.items():
        assert plot.titleLabel.item.toPlainText() == FULL[name]
        assert title_width(plot) <= plot.titleLabel.width()
    assert tick_texts(panel.plots["shares"]) == RING_TICKS
    assert panel.plots["shares"].getAxis("bottom").labelText == "mode (index, angle)"
