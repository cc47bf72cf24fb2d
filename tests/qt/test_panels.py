"""Panels as views: they draw synthetic snapshots correctly, survive NaN and resets, and render non-blank."""

from __future__ import annotations

import math
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6 import QtCore, QtGui  # noqa: E402

from ganviz.core.snapshot import Event, History  # noqa: E402
from ganviz.qt.panels import (  # noqa: E402
    Data1DPanel,
    Data2DPanel,
    HistogramPanel,
    LossPanel,
    MetricsPanel,
)
from ganviz.qt.panels._contour import contour_segments  # noqa: E402
from ganviz.qt.series import Series  # noqa: E402
from tests.qt.snapshots import (  # noqa: E402
    NX,
    NY,
    X_RANGE,
    Y_RANGE,
    make_history,
    make_snapshot,
    snapshot_sequence,
)

pytestmark = pytest.mark.qt

SCREENS = Path(os.environ.get("GANVIZ_SCREENS", "/tmp/ganviz_screens"))
PANELS = {
    "data1d": (Data1DPanel, 1),
    "data2d": (Data2DPanel, 2),
    "losses": (LossPanel, 1),
    "histograms": (HistogramPanel, 1),
    "metrics": (MetricsPanel, 2),
}


def _make(qtbot, cls):
    w = cls()
    qtbot.addWidget(w)
    w.resize(800, 600)
    w.show()
    return w


def _distinct_colours(img: QtGui.QImage, step: int = 3) -> int:
    img = img.convertToFormat(QtGui.QImage.Format.Format_RGB32)
    ptr = img.constBits()
    arr = np.frombuffer(ptr, dtype=np.uint32, count=img.width() * img.height()).reshape(img.height(), img.width())
    return len(np.unique(arr[::step, ::step]))


def _feed(w, snaps) -> None:
    for s in snaps:
        w.update_snapshot(s)


# -- Series -------------------------------------------------------------------------------------------------
def test_series_appends_and_grows():
    s = Series(cap=1000, initial_capacity=4)
    for i in range(10):
        s.append(i, i * 2.0)
    s.append(np.arange(10, 20), np.arange(10, 20) * 2.0)
    assert len(s) == 20
    np.testing.assert_array_equal(s.x, np.arange(20))
    np.testing.assert_array_equal(s.y, np.arange(20) * 2.0)
    assert s.last_x == 19


def test_series_decimation_bounded_and_peak_preserving():
    rng = np.random.default_rng(1)
    s = Series(cap=2000)
    x = np.arange(150_000, dtype=float)
    y = rng.standard_normal(x.size)
    y[12_345] = 50.0  # an early spike
    y[99_999] = -40.0
    for start in range(0, x.size, 997):
        s.append(x[start : start + 997], y[start : start + 997])
        assert len(s) <= 2000
    assert s.decimations > 0
    assert len(s) > 500
    assert s.y.max() == 50.0 and s.y.min() == -40.0
    assert s.x[np.argmax(s.y)] == 12_345 and s.x[np.argmin(s.y)] == 99_999
    assert np.all(np.diff(s.x) >= 0)
    assert s.x[0] < 500 and s.x[-1] >= 149_990  # still spans the whole run
    assert s.last_x == 149_999
    assert s._x.size <= 4 * 2000
    # uniform resolution: the first half of the run is not coarser than the second
    first_half = np.sum(s.x < 75_000)
    assert 0.8 < first_half / (len(s) - first_half) < 1.25


@pytest.mark.parametrize("chunk", [1, 7, 64, 5000])
def test_series_any_append_pattern_keeps_bounds_order_and_extremes(chunk):
    rng = np.random.default_rng(chunk)
    s = Series(cap=1000)
    y = np.cumsum(rng.standard_normal(30_000))
    for start in range(0, y.size, chunk):
        stop = min(start + chunk, y.size)
        if chunk == 1:
            s.append(float(start), float(y[start]))
        else:
            s.append(np.arange(start, stop, dtype=float), y[start:stop])
    assert len(s) <= 1000
    assert np.all(np.diff(s.x) >= 0)
    assert s.y.max() == y.max() and s.y.min() == y.min()
    assert s.last_x == y.size - 1


def test_series_decimation_keeps_nan_gaps_and_ignores_nan_in_bins():
    s = Series(cap=16)
    y = np.array([1, np.nan, 3, 2, np.nan, np.nan, np.nan, np.nan, 5, 4, np.nan, 6] * 2, dtype=float)
    s.append(np.arange(y.size), y)
    assert len(s) <= 16
    assert np.isnan(s.y).any()  # the all-NaN bin is still a gap
    assert np.nanmax(s.y) == 6 and np.nanmin(s.y) == 1


def test_series_clear():
    s = Series(cap=100)
    s.append([1, 2], [3, 4])
    s.clear()
    assert len(s) == 0 and s.last_x is None and not s.has_finite()


# -- contour ------------------------------------------------------------------------------------------------
def test_contour_of_linear_field_is_vertical_line_at_level():
    xs = np.linspace(-3, 5, 33)
    ys = np.linspace(-2, 2, 17)
    values = xs[None, :] * 2 + 0 * ys[:, None]
    seg = contour_segments(values, 1.0, xs, ys)  # 2x = 1 -> x = 0.5
    assert len(seg) == 2 * (len(ys) - 1)
    np.testing.assert_allclose(seg[:, 0], 0.5, atol=1e-12)
    assert seg[:, 1].min() == pytest.approx(-2) and seg[:, 1].max() == pytest.approx(2)


def test_contour_of_circle_has_right_radius_and_skips_nan():
    xs = np.linspace(-2, 2, 81)
    ys = np.linspace(-1.5, 1.5, 61)
    values = np.hypot(xs[None, :], ys[:, None])
    values[0, 0] = np.nan
    seg = contour_segments(values, 1.0, xs, ys)
    r = np.hypot(seg[:, 0], seg[:, 1])
    np.testing.assert_allclose(r, 1.0, atol=0.01)
    assert len(contour_segments(values, 99.0, xs, ys)) == 0


# -- every panel ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(PANELS))
def test_panel_updates_renders_and_saves_png(qtbot, name):
    cls, dim = PANELS[name]
    w = _make(qtbot, cls)
    if isinstance(w, Data2DPanel):
        w.set_show_arrows(True)
        w.set_show_z_grid(True)
    events = (Event(step=60, kind="objective", label="objective: ns -> minimax"),)
    snaps = snapshot_sequence(count=6, dim=dim, realistic_field=True, with_mixture=(dim == 2))
    snaps[2] = make_snapshot(step=60, dim=dim, history_rows=20, events=events, realistic_field=True,
                             with_mixture=(dim == 2))
    _feed(w, snaps)
    qtbot.wait(10)
    img = w.grab().toImage()
    assert img.width() >= 700 and img.height() >= 500
    assert _distinct_colours(img) > 20, f"{name} looks blank"
    SCREENS.mkdir(parents=True, exist_ok=True)
    assert img.save(str(SCREENS / f"{name}.png"))


@pytest.mark.parametrize("objective", ["ns", "minimax", "lsgan", "hinge", "wgan", "wgan-gp"])
@pytest.mark.parametrize("name", list(PANELS))
def test_panels_switch_objectives_without_error(qtbot, name, objective):
    cls, dim = PANELS[name]
    w = _make(qtbot, cls)
    _feed(w, snapshot_sequence(count=2, dim=dim, objective="ns"))
    _feed(w, [make_snapshot(step=200 + 20 * i, dim=dim, objective=objective) for i in range(2)])


# -- 1D -------------------------------------------------------------------------------------------------------
def test_data1d_draws_densities_and_d_star(qtbot):
    w = _make(qtbot, Data1DPanel)
    s = make_snapshot(dim=1)
    w.update_snapshot(s)
    x, y = w.d_star_curve.getData()
    np.testing.assert_allclose(np.interp([0.0, 1.0, 2.0], x, y), [0.8808, 0.5, 0.1192], atol=2e-3)
    x, y = w.p_g_curve.getData()
    assert x[np.argmax(y)] == pytest.approx(2.0, abs=0.05)
    x, y = w.p_data_curve.getData()
    assert x[np.argmax(y)] == pytest.approx(0.0, abs=0.05)
    assert w.equilibrium_line.isVisible() and w.equilibrium_line.value() == 0.5
    assert w.d_plot.viewRange()[1][0] < 0.0 and w.d_plot.viewRange()[1][1] > 1.0
    # fake histogram is a density of N(2, 1): integrates to ~1 and peaks near 2
    edges, dens = w.fake_hist.getData()
    assert np.sum(dens * np.diff(edges)) == pytest.approx(1.0, abs=0.02)


def test_data1d_hides_d_star_and_equilibrium_for_critics(qtbot):
    w = _make(qtbot, Data1DPanel)
    w.update_snapshot(make_snapshot(dim=1, objective="wgan-gp"))
    x, _ = w.d_star_curve.getData()
    assert x is None or len(x) == 0
    assert not w.equilibrium_line.isVisible()
    assert "critic" in w.d_plot.getAxis("left").labelText


# -- 2D -------------------------------------------------------------------------------------------------------
def test_data2d_heatmap_orientation_and_extent(qtbot):
    w = _make(qtbot, Data2DPanel)
    s = make_snapshot(dim=2, nx=NX, ny=NY)
    w.update_snapshot(s)
    img = w.image.image
    assert img.shape == (NY, NX)  # row-major: rows are y
    assert img.dtype == np.float32
    # the largest x has the largest value; values vary along x only
    col = np.argmax(img.max(axis=0))
    assert col == NX - 1
    np.testing.assert_allclose(img[:, -1], 2 * X_RANGE[1])
    np.testing.assert_allclose(img[0, :], img[-1, :])
    # mapped rect: pixel centres at the grid samples -> extent is the grid range plus half a step each side
    dx = (X_RANGE[1] - X_RANGE[0]) / (NX - 1)
    dy = (Y_RANGE[1] - Y_RANGE[0]) / (NY - 1)
    rect = w.image.mapRectToParent(w.image.boundingRect())
    assert rect.left() == pytest.approx(X_RANGE[0] - dx / 2)
    assert rect.right() == pytest.approx(X_RANGE[1] + dx / 2)
    assert rect.top() == pytest.approx(Y_RANGE[0] - dy / 2)
    assert rect.bottom() == pytest.approx(Y_RANGE[1] + dy / 2)
    # the pixel centred at the grid corner (x = 5, y = -2) is the last column, first row
    p = w.image.mapFromParent(QtCore.QPointF(X_RANGE[1], Y_RANGE[0]))
    assert int(p.x()) == NX - 1 and int(p.y()) == 0
    # levels fixed by the objective's display range
    assert w.levels() == (0.0, 1.0)
    # contour at D = 0.5 of values = 2x is the vertical line x = 0.25
    x, y = w.contour.getData()
    np.testing.assert_allclose(x, 0.25, atol=1e-9)


def test_data2d_rendered_colours_follow_x(qtbot):
    """Render: left of the heatmap is the low colour, right the high colour (catches a transposed image)."""
    w = _make(qtbot, Data2DPanel)
    s = make_snapshot(dim=2, objective="wgan-gp", n=1)  # critic: robust levels; few points to not cover
    w.update_snapshot(s)
    qtbot.wait(10)
    img = w.grab().toImage()
    img.save("/tmp/ganviz_colour_test.png")
    vb = w.plot.getViewBox()
    lo, hi = w.levels()
    cmap = w.colorbar.colorMap()

    def colour_at(x: float, y: float) -> np.ndarray:
        scene_pt = vb.mapViewToScene(QtCore.QPointF(x, y))
        view_pt = w._glw.mapFromScene(scene_pt)
        widget_pt = w._glw.mapTo(w, view_pt)
        c = img.pixelColor(widget_pt.x(), widget_pt.y())
        return np.array([c.red(), c.green(), c.blue()], dtype=float)

    def expected(v: float) -> np.ndarray:
        c = cmap.map(np.array([(v - lo) / (hi - lo)]), mode="qcolor")[0]
        return np.array([c.red(), c.green(), c.blue()], dtype=float)

    for x in (-2.0, 0.5, 3.0):
        for y in (-1.5, 1.5):
            v = float(np.clip(2 * x, lo, hi))
            assert np.abs(colour_at(x, y) - expected(v)).max() < 40, (x, y)


def test_data2d_critic_levels_are_symmetric_and_smoothed(qtbot):
    w = _make(qtbot, Data2DPanel)
    w.update_snapshot(make_snapshot(dim=2, objective="wgan"))
    lo, hi = w.levels()
    assert (lo + hi) / 2 == pytest.approx(2.0, abs=0.1)  # median of 2x over x in [-3, 5]
    s = make_snapshot(step=200, dim=2, objective="wgan")
    shifted = type(s.field2d)(xs=s.field2d.xs, ys=s.field2d.ys, values=s.field2d.values + 100.0)
    w.update_snapshot(replace(s, field2d=shifted))
    lo2, hi2 = w.levels()
    centre = (lo2 + hi2) / 2
    assert 1.0 < centre < 100.0  # moved towards the new median, but smoothly, not in one jump
    # the critic contour is at the midway level between mean f(real) and mean f(fake)
    x, _ = w.contour.getData()
    mid = 0.5 * (np.mean(s.d_real) + np.mean(s.d_fake))
    assert x is None or len(x) == 0 or np.allclose(x, (mid - 100.0) / 2, atol=1e-6)


def test_data2d_overlays(qtbot):
    w = _make(qtbot, Data2DPanel)
    s = make_snapshot(dim=2, with_mixture=True)
    w.update_snapshot(s)
    assert not w.arrows.isVisible()
    w.set_show_arrows(True)
    assert w.arrows_checkbox.isChecked() and w.arrows.isVisible()
    x, y = w.arrows.getData()
    assert len(x) == 6 * min(len(s.fake), 400)  # shaft + two head strokes per arrow
    # arrows point along +x (the synthetic gradient) from each fake
    np.testing.assert_allclose(x[0], s.fake[0, 0])
    assert x[1] > x[0]
    w.set_show_z_grid(True)  # a hand-made snapshot carries no G: the manifold layer says so and draws nothing
    # (its drawing of a real G is pinned in tests/qt/test_manifold_layer.py)
    assert w.manifold.is_visible() and w.manifold.computed == 0 and "not a map of noise" in w.manifold.key.note
    assert len(w.modes_scatter.data) == 8
    assert len(w.real_scatter.data) == len(s.real) and len(w.fake_scatter.data) == len(s.fake)
    w.set_show_arrows(False)
    assert not w.arrows.isVisible()


# -- losses -------------------------------------------------------------------------------------------------
def test_losses_accumulate_skip_nan_and_mark_events(qtbot):
    w = _make(qtbot, LossPanel)
    snaps = [make_snapshot(step=(i + 1) * 10, history_rows=10) for i in range(5)]
    snaps[1] = make_snapshot(step=20, history_rows=10,
                             events=(Event(step=15, kind="lr", label="lr D: 1e-4 -> 1e-3"),))
    _feed(w, snaps)
    x, y = w.curves["g_loss"].getData()
    assert len(w.series("g_loss")) == 50
    np.testing.assert_array_equal(w.series("g_loss").x, np.arange(1, 51))
    assert len(w.markers) == 1 and w.markers.lines[0].value() == 15
    # two changes at one step share one marker, labels joined
    w.update_snapshot(make_snapshot(step=55, history_rows=5, events=(
        Event(step=52, kind="objective", label="objective: ns -> wgan-gp"),
        Event(step=52, kind="lr", label="lr {D}: 1e-4"),  # braces must not break the label template
    )))
    assert len(w.markers) == 2
    assert w.markers.label_at(52) == "objective: ns -> wgan-gp; lr {D}: 1e-4"
    assert "lr {D}" in w.markers.lines[1].label.toPlainText()
    assert w.plot.getViewBox().state["mouseEnabled"]  # still interactive
    assert w.equilibrium_line.isVisible() and w.equilibrium_line.value() == pytest.approx(math.log(4))
    # NaN d_loss rows (G-only steps) are skipped, not drawn as zeros
    s = make_snapshot(step=75, history_rows=20)
    s = replace(s, history=make_history(56, 20, nan_every=2))
    w.update_snapshot(s)
    assert len(w.series("d_loss")) == 55 + 10
    assert len(w.series("g_loss")) == 75
    assert np.isfinite(w.series("d_loss").y).all()


def test_losses_reset_clears_curves_and_markers(qtbot):
    w = _make(qtbot, LossPanel)
    _feed(w, [make_snapshot(step=10, history_rows=10, events=(Event(5, "reset", "reset"),))])
    assert len(w.series("d_loss")) == 10 and len(w.markers) == 1
    w.reset()
    x, _ = w.curves["d_loss"].getData()
    assert len(w.series("d_loss")) == 0 and (x is None or len(x) == 0)
    assert len(w.markers) == 0
    # and it starts again from step 1 without complaint
    w.update_snapshot(make_snapshot(step=10, history_rows=10))
    assert len(w.series("d_loss")) == 10


def test_losses_auto_reset_when_step_goes_back(qtbot):
    w = _make(qtbot, LossPanel)
    _feed(w, [make_snapshot(step=100, history_rows=100)])
    w.update_snapshot(make_snapshot(step=5, history_rows=5))
    np.testing.assert_array_equal(w.series("d_loss").x, np.arange(1, 6))


def test_losses_long_run_memory_is_flat(qtbot):
    w = LossPanel(cap=4000)
    qtbot.addWidget(w)
    for i in range(60):
        w.update_snapshot(make_snapshot(step=(i + 1) * 2000, history_rows=2000, n=8))
    assert len(w.series("d_loss")) <= 4000


def test_losses_empty_history(qtbot):
    w = _make(qtbot, LossPanel)
    s = make_snapshot(step=1)
    s = replace(s, history=History(steps=np.zeros(0, np.int64), values={}))
    w.update_snapshot(s)
    assert len(w.series("d_loss")) == 0


# -- histograms ---------------------------------------------------------------------------------------------
def test_histogram_axis_label_is_shortened_instead_of_clipped(qtbot):
    """The D axis shows the objective's full label where it fits and its short form in a narrow dock."""
    w = _make(qtbot, HistogramPanel)
    w.update_snapshot(make_snapshot(dim=1, n=1000))
    axis = w.plot.getAxis("bottom")
    qtbot.waitUntil(lambda: axis.labelText == "D(x) (probability real)", timeout=3000)
    w.resize(180, 300)
    qtbot.waitUntil(lambda: axis.labelText == "D(x)", timeout=3000)
    w.resize(800, 600)
    qtbot.waitUntil(lambda: axis.labelText == "D(x) (probability real)", timeout=3000)


def test_histograms_bins_and_counts(qtbot):
    w = _make(qtbot, HistogramPanel)
    s = make_snapshot(dim=1, n=1000)
    w.update_snapshot(s)
    edges, counts = w.real_curve.getData()
    assert edges[0] == 0.0 and edges[-1] == 1.0 and len(edges) == len(counts) + 1
    assert counts.sum() == 1000
    _, fake_counts = w.fake_curve.getData()
    # D is high on real, low on fake
    centres = 0.5 * (edges[1:] + edges[:-1])
    assert np.average(centres, weights=counts) > np.average(centres, weights=fake_counts)
    assert w.equilibrium_line.isVisible() and w.equilibrium_line.value() == 0.5
    assert w.plot.getAxis("left").labelText == "count"
    # critics: bins over the data range, no equilibrium line
    s2 = make_snapshot(dim=1, objective="wgan", n=1000)
    w.update_snapshot(s2)
    edges, counts = w.real_curve.getData()
    allv = np.concatenate([s2.d_real, s2.d_fake])
    assert edges[0] == pytest.approx(allv.min()) and edges[-1] == pytest.approx(allv.max())
    assert not w.equilibrium_line.isVisible()
    assert w.plot.getAxis("bottom").labelText == "critic f(x)"


# -- metrics ------------------------------------------------------------------------------------------------
def test_metrics_append_only_when_metrics_step_changes(qtbot):
    w = _make(qtbot, MetricsPanel)
    w.update_snapshot(make_snapshot(step=10, metrics_step=10, history_rows=10))
    w.update_snapshot(make_snapshot(step=20, metrics_step=10, history_rows=10))  # stale metrics: no new point
    w.update_snapshot(make_snapshot(step=30, metrics_step=30, history_rows=10))
    np.testing.assert_array_equal(w.series("w1").x, [10, 30])
    assert w.series("w1").y[1] == pytest.approx(2.0 * math.exp(-30 / 500) + 0.05)
    assert len(w.series("g_grad_norm")) == 30  # per-step from history


def test_metrics_nan_and_missing_do_not_crash_and_show_na(qtbot):
    w = _make(qtbot, MetricsPanel)
    for i in range(3):
        w.update_snapshot(make_snapshot(step=10 * (i + 1), metrics=make_metrics_partial()))
    w.update_snapshot(make_snapshot(step=40, metrics={}))
    w.update_snapshot(make_snapshot(step=50, metrics={"w1": float("nan"), "jsd_est": None}))
    assert w.note_visible("gap")  # critic_gap never given
    assert w.note_visible("modes")  # not a mixture
    assert not w.note_visible("w1")
    assert np.isnan(w.series("w1").y[-1])  # NaN kept as a gap
    img = w.grab().toImage()
    assert _distinct_colours(img) > 10


def make_metrics_partial() -> dict[str, float]:
    return {"w1": 1.0, "jsd_true": 0.2, "d_real_mean": 0.6, "d_fake_mean": 0.4, "jsd_est": float("nan")}


def test_metrics_events_on_every_plot_and_reset(qtbot):
    w = _make(qtbot, MetricsPanel)
    ev = (Event(step=25, kind="objective", label="objective: ns -> wgan-gp"),)
    w.update_snapshot(make_snapshot(step=20))
    w.update_snapshot(make_snapshot(step=40, events=ev))
    w.update_snapshot(make_snapshot(step=60, events=ev))  # re-sent: not duplicated
    for name in w.plots:
        assert len(w.markers(name)) == 1
        assert w.markers(name).lines[0].value() == 25
    w.reset()
    for name in w.plots:
        assert len(w.markers(name)) == 0
    assert len(w.series("w1")) == 0
    x, _ = w.curves["w1"].getData()
    assert x is None or len(x) == 0


def test_metrics_mixture_fraction_and_log2_line(qtbot):
    w = _make(qtbot, MetricsPanel)
    w.update_snapshot(make_snapshot(step=10, dim=2, with_mixture=True))
    assert w.series("modes_fraction").y[-1] == pytest.approx(5 / 8)
    assert w.log2_line.value() == pytest.approx(0.693147, abs=1e-6)
    assert not w.note_visible("modes")


# -- robustness -----------------------------------------------------------------------------------------------
def _diverged(s):
    """A snapshot from a run that blew up: NaN/inf in fields, samples, gradients, history and metrics."""
    nan = float("nan")
    hist = History(steps=s.history.steps, values={k: np.full(len(s.history.steps), np.inf if k == "d_loss" else nan)
                                                  for k in s.history.values})
    kw = dict(
        real=np.where(np.arange(len(s.real))[:, None] % 2 == 0, nan, s.real),
        fake=np.full_like(s.fake, nan),
        d_real=np.full_like(s.d_real, nan),
        d_fake=np.full_like(s.d_fake, np.inf),
        history=hist,
        metrics={"w1": np.inf, "jsd_est": nan, "g_grad_norm": -np.inf},
    )
    if s.field1d is not None:
        kw["field1d"] = replace(s.field1d, d=np.full_like(s.field1d.d, nan), p_g=None, d_star=None)
    if s.field2d is not None:
        kw["field2d"] = replace(s.field2d, values=np.full_like(s.field2d.values, nan))
        kw["grad_fake"] = np.full_like(s.grad_fake, nan)
        kw["z_grid"] = np.full_like(s.z_grid, nan)
    return replace(s, **kw)


@pytest.mark.parametrize("objective", ["ns", "wgan-gp"])
@pytest.mark.parametrize("name", list(PANELS))
def test_panels_survive_a_diverged_run(qtbot, name, objective):
    cls, dim = PANELS[name]
    w = _make(qtbot, cls)
    if isinstance(w, Data2DPanel):
        w.set_show_arrows(True)
        w.set_show_z_grid(True)
    w.update_snapshot(make_snapshot(step=20, dim=dim, objective=objective))
    w.update_snapshot(_diverged(make_snapshot(step=40, dim=dim, objective=objective)))
    w.update_snapshot(_diverged(make_snapshot(step=60, dim=dim, objective=objective, n=0 if dim == 1 else 8)))
    w.grab()
    w.update_snapshot(make_snapshot(step=80, dim=dim, objective=objective))
    assert _distinct_colours(w.grab().toImage()) > 10


def test_dark_theme_panels_build_and_render(qtbot):
    from ganviz.qt import style

    style.set_theme(True)
    try:
        for cls, dim in PANELS.values():
            w = _make(qtbot, cls)
            _feed(w, snapshot_sequence(count=2, dim=dim))
            img = w.grab().toImage()
            corner = img.pixelColor(img.width() - 3, img.height() - 3)
            assert corner.lightness() < 80  # dark background
    finally:
        style.set_theme(False)


def test_series_append_after_keeps_x_increasing():
    s = Series()
    assert s.append_after(10.0, 1.0) and s.append_after(20.0, 2.0)
    assert not s.append_after(20.0, 9.0) and not s.append_after(5.0, 9.0)  # the same metrics again, or older
    assert list(s.x) == [10.0, 20.0] and list(s.y) == [1.0, 2.0] and s.last_x == 20.0


def test_event_markers_do_not_recreate_dropped_markers_when_old_events_come_again(qtbot):
    """A snapshot may carry the run's whole event log: markers dropped over max_markers must stay dropped (they
    were re-created and dropped again on every frame, quadratic in a session of thousands of changes)."""
    import pyqtgraph as pg

    from ganviz.core.snapshot import Event
    from ganviz.qt.panels._common import EventMarkers

    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    markers = EventMarkers(plot.getPlotItem(), max_markers=5)
    made = []
    original = markers._new_line
    markers._new_line = lambda step, text: made.append(step) or original(step, text)
    log = [Event(step=s, kind="lr", label=f"lr {s}") for s in range(1, 41)]
    markers.add(log)
    # only the lines kept are built (a 3,000-change replay once built 3,000 lines per plot to drop 2,800)
    assert made == [36, 37, 38, 39, 40] and len(markers) == 5 and sorted(markers._lines) == [36, 37, 38, 39, 40]
    markers.add(log + [Event(step=41, kind="lr", label="lr 41")])  # the next frame repeats the log
    assert made[5:] == [41] and sorted(markers._lines) == [37, 38, 39, 40, 41]
    markers.add([Event(step=41, kind="d_steps", label="k 3")])  # a second change at a kept step joins its line
    assert made[6:] == [] and markers.label_at(41) == "lr 41; k 3"
    markers.clear()
    markers.add(log[:3])  # a new run (clear) shows early steps again
    assert sorted(markers._lines) == [1, 2, 3]
