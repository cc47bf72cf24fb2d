"""Readable on stage (issue 15.12/15.13): legends in the dark theme, the 2D view filling its pane."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6 import QtGui  # noqa: E402

from ganviz.qt import style  # noqa: E402
from ganviz.qt.panels import Data2DPanel  # noqa: E402
from tests.qt.snapshots import make_snapshot  # noqa: E402

pytestmark = pytest.mark.qt


def _luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of sRGB colours (..., 3) in 0..255."""
    c = rgb / 255.0
    lin = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return lin @ np.array([0.2126, 0.7152, 0.0722])


def _contrast(a: np.ndarray, b: np.ndarray) -> float:
    la, lb = float(_luminance(a)), float(_luminance(b))
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def _render_sample(sample, background: str) -> np.ndarray:
    img = QtGui.QImage(20, 20, QtGui.QImage.Format.Format_RGB32)
    img.fill(QtGui.QColor(background))
    p = QtGui.QPainter(img)
    sample.paint(p)
    p.end()
    arr = np.frombuffer(img.constBits(), dtype=np.uint8, count=20 * 20 * 4).reshape(20, 20, 4)
    return arr[:, :, [2, 1, 0]].astype(np.float64)  # BGRA -> RGB


def _contour_sample(panel: Data2DPanel):
    return next(s for s, _ in panel.legend.items if s.item is panel.contour)


@pytest.mark.parametrize("dark", [False, True])
def test_the_contour_legend_sample_is_visible_in_both_themes(qtbot, dark):
    style.set_theme(dark)
    try:
        pal = style.palette()
        w = Data2DPanel()
        qtbot.addWidget(w)
        w.update_snapshot(make_snapshot(step=20, dim=2))
        rgb = _render_sample(_contour_sample(w), pal.background)
    finally:
        style.set_theme(False)
    line_colour = np.array(QtGui.QColor(w.contour.opts["pen"].color()).getRgb()[:3], dtype=np.float64)
    row = rgb[11]  # the sample's line is drawn at y = 11
    on_line = np.abs(row - line_colour).sum(axis=1) < 30
    assert on_line.sum() >= 5, "the dashed line is drawn in the contour's colour"
    around = np.median(rgb[8], axis=0)  # what the line is seen against, 3 px above it
    assert _contrast(line_colour, around) >= 4.5, (line_colour, around)


def test_the_contour_legend_keeps_its_swatch_when_the_label_changes(qtbot):
    w = Data2DPanel()
    qtbot.addWidget(w)
    w.update_snapshot(make_snapshot(step=20, dim=2, objective="ns"))
    w.update_snapshot(make_snapshot(step=40, dim=2, objective="wgan-gp"))
    samples = [s for s, _ in w.legend.items if s.item is w.contour]
    assert len(samples) == 1 and isinstance(samples[0], style.SwatchSample)
    labels = [label.text for s, label in w.legend.items if s.item is w.contour]
    assert labels == ["f = (mean f(real) + mean f(fake)) / 2"]



def _square_snapshot(step: int):
    """The ring's square view (-3.2..3.2 on both axes), every fake inside it (the view does not grow)."""
    import dataclasses

    snap = make_snapshot(step=step, dim=2)
    return dataclasses.replace(snap, bounds=(-3.2, 3.2, -3.2, 3.2), fake=np.clip(snap.fake, -3.0, 3.0))


def _show_2d(qtbot, size: tuple[int, int]) -> Data2DPanel:
    w = Data2DPanel()
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    w.update_snapshot(_square_snapshot(20))
    _settle(qtbot, w)
    return w


def _settle(qtbot, w: Data2DPanel) -> None:
    for _ in range(3):  # the colour bar moves after a resize, then the view re-fits
        qtbot.wait(30)
        w.grab()


def test_a_tall_pane_puts_the_colour_bar_under_the_field_and_wastes_less_of_the_view(qtbot):
    """15.13: the 2D view keeps equal aspect; in the tall centre pane of a 1055x760 window (443x680) the field
    filled 62% of the view (y shown -5.2..5.2 for a field of -3.2..3.2). With the colour bar under the field
    the view is squarer: 85% here."""
    tall = _show_2d(qtbot, (443, 680))
    assert tall.colorbar_orientation() == "horizontal"
    assert tall.empty_band() < 0.2, tall.empty_band()
    (x0, x1), _ = tall.plot.getViewBox().viewRange()
    assert (x0, x1) == pytest.approx((-3.2, 3.2), abs=0.01)  # the field's width fills the view's
    assert tall.levels() == (0.0, 1.0)  # the moved bar keeps the map's levels
    wide = _show_2d(qtbot, (800, 500))
    assert wide.colorbar_orientation() == "vertical"
    wide.resize(443, 680)  # and it follows the pane when the pane changes shape
    _settle(qtbot, wide)
    assert wide.colorbar_orientation() == "horizontal"
    assert wide.empty_band() < 0.2, wide.empty_band()


@pytest.mark.parametrize("size", [(1366, 768), (1055, 760)])
def test_dock_tabs_show_whole_titles_on_a_laptop_screen(qtbot, tmp_path, size):
    """15.13: at 1366x768 and 1055x760 the right dock's tabs read "Lo…", "Me…"."""
    from PySide6 import QtCore, QtWidgets

    from tests.qt.windows import window_factory

    w = window_factory(qtbot, tmp_path, "tabs", size=size, autostart=False)()
    qtbot.waitExposed(w)
    qtbot.wait(100)
    bars = w.findChildren(QtWidgets.QTabBar, options=QtCore.Qt.FindChildOption.FindDirectChildrenOnly)
    titles = [bar.tabText(i) for bar in bars for i in range(bar.count())]
    assert {"Losses", "Metrics", "Controls"} <= set(titles), titles
    for bar in bars:
        fm = bar.fontMetrics()
        for i in range(bar.count()):
            text = bar.tabText(i)
            assert bar.elideMode() == QtCore.Qt.TextElideMode.ElideNone
            assert bar.tabRect(i).width() >= fm.horizontalAdvance(text), (text, bar.tabRect(i).width())
    w.shutdown()


def test_dense_dashed_curves_are_drawn_as_segments(qtbot):
    """Issue 20: a dense dashed curve wider than 1 px (presentation mode widens every pen) stroked as one path
    cost 60-85 ms per 1,000 points in Qt's raster engine; as segments 2-3 ms. The loss parts, the dashed
    metrics and the contour are drawn as segments; solid curves keep pyqtgraph's choice."""
    from ganviz.qt.panels import LossPanel, MetricsPanel

    losses = LossPanel()
    metrics = MetricsPanel()
    field = Data2DPanel()
    for w in (losses, metrics, field):
        qtbot.addWidget(w)
    dashed = {k: c.curve.opts["segmentedLineMode"] for k, c in losses.curves.items()}
    assert dashed == {"d_loss": "auto", "g_loss": "auto", "d_real_term": "on", "d_fake_term": "on",
                      "d_penalty": "on"}
    assert metrics.curves["jsd_true"].curve.opts["segmentedLineMode"] == "on"
    assert metrics.curves["w1"].curve.opts["segmentedLineMode"] == "auto"
    assert field.contour.opts["segmentedLineMode"] == "on"
    # and they still draw: the dashed real term, widened as presentation mode does, leaves its colour
    losses.resize(500, 400)
    losses.show()
    qtbot.waitExposed(losses)
    losses.update_snapshot(make_snapshot(step=400, dim=1))
    for key in ("d_loss", "g_loss", "d_fake_term", "d_penalty"):
        losses.curves[key].setVisible(False)
    curve = losses.curves["d_real_term"]
    pen = QtGui.QPen(curve.opts["pen"])
    pen.setWidthF(3.2)
    curve.setPen(pen)
    img = losses.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB32)
    arr = np.frombuffer(img.constBits(), dtype=np.uint8, count=img.width() * img.height() * 4)
    rgb = arr.reshape(img.height(), img.width(), 4)[:, :, [2, 1, 0]].astype(int)
    target = np.array(pen.color().getRgb()[:3])
    assert (np.abs(rgb - target).sum(axis=2) < 40).sum() > 200


def test_both_colour_bars_follow_the_dark_theme_and_presentation_mode(qtbot, tmp_path):
    """The bar under the field (hidden when the theme changed) kept dark tick labels on the dark background,
    and either bar's title lost its colour (black on dark) and its presentation size when a frame set it."""
    from tests.qt.windows import window_factory

    w = window_factory(qtbot, tmp_path, "dark", autostart=False)()
    try:
        w.classroom.set_theme("dark", save=False)
        w.data2d.update_snapshot(make_snapshot(step=20, dim=2))
        for orientation, bar in w.data2d._bars.items():
            assert bar.axis.textPen().color().name() == style.DARK.foreground, orientation
            assert bar.axis.labelStyle.get("color") == style.DARK.foreground, orientation
        # presentation mode enlarges the title, and a new objective's title keeps that size (it was set back)
        w.classroom.toggle_presentation(True)
        w.data2d.update_snapshot(make_snapshot(step=40, dim=2, objective="wgan-gp"))
        for orientation, bar in w.data2d._bars.items():
            assert bar.axis.labelText != "D(x) (probability real)"
            assert float(bar.axis.labelStyle["font-size"].rstrip("pt")) > style.AXIS_LABEL_PT, orientation
    finally:
        w.classroom.toggle_presentation(False)
        w.classroom.set_theme("light", save=False)
        w.shutdown()


def test_a_switch_back_ranges_the_losses_on_the_new_segment_only(qtbot):
    """15.2: a frame drawn after a switch back to NS can carry merged history from before the switch (the
    frames skipped in between); the WGAN-GP values there set the NS segment's range, squeezing its curves."""
    import dataclasses

    from ganviz.core.snapshot import Event, History
    from ganviz.qt.panels import LossPanel

    def snap(objective: str, steps: np.ndarray, level: float, spread: float, events=()):
        rng = np.random.default_rng(int(steps[0]))
        vals = {k: level + spread * rng.standard_normal(steps.size)
                for k in ("d_loss", "g_loss", "d_real_term", "d_fake_term")}
        vals["d_penalty"] = np.zeros(steps.size)
        base = make_snapshot(step=int(steps[-1]), dim=1, objective=objective)
        return dataclasses.replace(base, history=History(steps=steps, values=vals), events=tuple(events))

    w = LossPanel()
    qtbot.addWidget(w)
    w.update_snapshot(snap("ns", np.arange(0, 200), 1.0, 0.1))
    w.update_snapshot(snap("wgan-gp", np.arange(200, 400), 0.0, 4.0,
                           [Event(200, "objective", "objective: ns -> wgan-gp")]))
    # one frame: 50 more WGAN-GP steps, the switch back at 450, then 150 NS steps
    steps = np.arange(400, 600)
    mixed = snap("ns", steps, 1.0, 0.1, [Event(450, "objective", "objective: wgan-gp -> ns")])
    wgan = np.random.default_rng(1).normal(0.0, 4.0, 50)
    for key in ("d_loss", "g_loss", "d_real_term", "d_fake_term"):
        mixed.history.values[key][:50] = wgan
    w.update_snapshot(mixed)
    lo, hi = w.plot.getViewBox().viewRange()[1]
    assert 0.3 < lo < 1.0 < hi < 2.0, (lo, hi)


def test_a_curve_that_ended_with_the_old_objective_does_not_set_the_new_range(qtbot):
    """The gradient penalty has values only while WGAN-GP trains; after the switch back to NS its old values
    (up to ~300 here) kept the NS losses (0.6-1.4) squeezed at the bottom of a -0.1..3.2 range."""
    import dataclasses

    from ganviz.core.snapshot import Event, History
    from ganviz.qt.panels import LossPanel

    rng = np.random.default_rng(0)

    def snap(objective, steps, level, spread, penalty, events=()):
        vals = {k: level + spread * rng.standard_normal(steps.size)
                for k in ("d_loss", "g_loss", "d_real_term", "d_fake_term")}
        vals["d_penalty"] = penalty
        base = make_snapshot(step=int(steps[-1]), dim=1, objective=objective)
        return dataclasses.replace(base, history=History(steps=steps, values=vals), events=tuple(events))

    w = LossPanel()
    qtbot.addWidget(w)
    nan = np.full(200, np.nan)
    w.update_snapshot(snap("ns", np.arange(0, 200), 1.0, 0.1, nan))
    # an objective event at step N: steps up to N trained with the old objective (row N is WGAN-GP's last)
    w.update_snapshot(snap("wgan-gp", np.arange(200, 401), 0.0, 1.0, np.abs(rng.normal(0, 50, 201)),
                           [Event(199, "objective", "objective: ns -> wgan-gp")]))
    w.update_snapshot(snap("ns", np.arange(401, 601), 1.0, 0.1, nan, [Event(400, "objective", "back")]))
    lo, hi = w.plot.getViewBox().viewRange()[1]
    assert 0.3 < lo < 1.0 < hi < 2.0, (lo, hi)
