"""The Mode coverage dock: curves, collapse markers, per-mode bars, fixed-noise trails on the 2D view."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from PySide6 import QtCore

from ganviz.core.config import TrainConfig
from ganviz.core.snapshot import Event
from ganviz.qt.app import make_app
from ganviz.qt.main_window import MainWindow
from ganviz.qt.panels.modes import MAX_TRAILS, TRAIL_LENGTH, FixedNoiseTrails, ModesPanel, mode_tick_labels
from tests.qt.snapshots import make_snapshot


@pytest.fixture(autouse=True, scope="module")
def _app():
    torch.set_num_threads(1)
    make_app()


def ring_snapshot(step: int, covered: int, shares: list[float] | None = None, events=(), seed: int = 0):
    """A 2D snapshot on an 8-mode ring with the given coverage and per-mode shares."""
    snap = make_snapshot(step=step, dim=2, with_mixture=True, seed=seed, events=events)
    if shares is None:
        shares = [1.0 / covered if i < covered else 0.0 for i in range(8)]
    p = np.array(shares)
    nz = p > 0
    metrics = dict(snap.metrics, modes_covered=float(covered), n_modes=8.0, hq_fraction=0.9,
                   reverse_kl=float((p[nz] * np.log(8 * p[nz])).sum()))
    metrics.update({f"mode_share_{i}": float(s) for i, s in enumerate(shares)})
    return dataclasses.replace(snap, metrics=metrics)


def test_curves_bars_and_collapse_markers(qtbot):
    panel = ModesPanel()
    qtbot.addWidget(panel)
    panel.resize(520, 800)
    panel.show()
    coverage = [(100, 4), (300, 8), (500, 8), (700, 2), (900, 2), (1100, 2), (1300, 8), (1500, 8), (1700, 8)]
    for step, covered in coverage:
        panel.update_snapshot(ring_snapshot(step, covered))
    s = panel.series("modes_covered")
    assert list(s.x) == [c[0] for c in coverage] and list(s.y) == [c[1] for c in coverage]
    assert list(panel.series("hq_percent").y) == [90.0] * len(coverage)
    assert panel.series("reverse_kl").y[3] == pytest.approx(math.log(4))
    # collapse at the first low reading (700), detected after the 300-step window; recovery at 1300
    assert panel.collapse_markers.labels == ["collapse: 8 → 2/8 modes", "recovered: 8/8 modes"]
    assert [e.step for e in panel.detector.events] == [700, 1300]
    lines = [it for _, it in panel.collapse_markers._items if hasattr(it, "label")]
    assert sorted({float(line.value()) for line in lines}) == [700.0, 1300.0]
    assert panel.k_line.value() == 8 and panel.log_k_line.value() == pytest.approx(math.log(8))
    # bars: the latest shares, labelled by index and angle on the ring
    assert np.allclose(panel.bar_item.opts["height"], 12.5)
    ticks = panel.plots["shares"].getAxis("bottom")._tickLevels[0]
    assert [t[1] for t in ticks][:3] == ["0\n0°", "1\n45°", "2\n90°"]
    assert "modes covered 8/8" in panel.status.text().replace("\u00a0", " ")  # non-breaking within a part
    panel.update_snapshot(ring_snapshot(1900, 2, shares=[0.75, 0.25] + [0.0] * 6))
    assert np.allclose(panel.bar_item.opts["height"], [75, 25, 0, 0, 0, 0, 0, 0])
    assert len(panel.empty_marks.data) == 6  # an x at each uncovered mode
    panel.reset()
    assert len(panel.series("modes_covered")) == 0 and len(panel.collapse_markers) == 0
    assert panel.detector.events == [] and panel.shares.size == 0


def test_same_metrics_step_is_not_appended_twice_and_events_are_marked(qtbot):
    panel = ModesPanel()
    qtbot.addWidget(panel)
    ev = Event(150, "config", "unroll: 0 -> 5")
    panel.update_snapshot(ring_snapshot(200, 3))
    snap = dataclasses.replace(ring_snapshot(200, 3), step=210, events=(ev,))
    panel.update_snapshot(snap)
    assert len(panel.series("modes_covered")) == 1
    assert panel.event_markers().label_at(150) == "unroll: 0 -> 5"


def test_panel_without_modes_says_na(qtbot):
    panel = ModesPanel()
    qtbot.addWidget(panel)
    snap = make_snapshot(step=50, dim=2)  # no mixture: no mode metrics
    panel.update_snapshot(snap)
    assert panel._notes["covered"].is_visible() and panel._notes["shares"].is_visible()
    assert "n/a" in panel.status.text()
    panel.update_snapshot(ring_snapshot(60, 0, shares=[0.0] * 8))  # no HQ sample at all
    assert panel._notes["shares"].is_visible() and "no high-quality" in panel._notes["shares"].text()
    assert not panel._notes["covered"].is_visible()


def test_ring_without_a_high_quality_sample_says_so_not_no_modes(qtbot):
    """Reverse KL is undefined until a sample lands near a mode: the ring has modes, so its note must not say
    there are none (it did, in the collapse-ring-gan scene's first 200 steps)."""
    panel = ModesPanel()
    qtbot.addWidget(panel)
    snap = ring_snapshot(60, 0, shares=[0.0] * 8)
    panel.update_snapshot(dataclasses.replace(snap, metrics={**snap.metrics, "reverse_kl": float("nan")}))
    note = panel._notes["rkl"]
    assert note.is_visible() and "no high-quality" in note.text() and "no mixture" not in note.text()
    fresh = ModesPanel()
    qtbot.addWidget(fresh)
    fresh.update_snapshot(make_snapshot(step=50, dim=2))  # no mixture at all
    assert fresh._notes["rkl"].is_visible() and "no mixture" in fresh._notes["rkl"].text()


def test_mode_tick_labels():
    ring = 2 * np.column_stack([np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4)])
    labels, axis = mode_tick_labels(ring)
    assert labels[2] == "2\n90°" and labels[5] == "5\n225°" and "angle" in axis
    g = np.array([[x, y] for y in (-4, -2, 0, 2, 4) for x in (-4, -2, 0, 2, 4)], dtype=float)
    labels, axis = mode_tick_labels(g)
    assert labels == [str(i) for i in range(25)] and "(-4, -4), x fastest" in axis
    labels, _ = mode_tick_labels(np.array([[-2.5, -1.5], [0.5, 2.5], [2.5, -0.5]]))
    assert labels[1] == "1\n(0.5, 2.5)"


def test_trails_segments_fade_by_age_and_drop_non_finite():
    trails = FixedNoiseTrails(length=5, max_trails=3)
    for step in range(1, 8):
        fake = np.column_stack([np.arange(4.0) + step, np.zeros(4)])
        if step == 7:
            fake[1] = np.nan
        trails.push(_with_fake(step, fake))
    assert len(trails) == 5  # the last 5 snapshots
    groups = trails.segments()
    n_pairs = [len(g) // 2 for g in groups]
    assert sum(n_pairs) == 4 * 3 - 1  # 4 segments x 3 trails, minus the one into a NaN point
    newest = groups[0].reshape(-1, 2, 2)
    assert np.allclose(newest[:, 1, 0] - newest[:, 0, 0], 1.0)  # each segment moves x by +1
    assert trails.push(_with_fake(7, np.zeros((4, 2)))) is None and len(trails) == 5  # same step: ignored


def _with_fake(step: int, fake: np.ndarray):
    snap = make_snapshot(step=step, dim=2, n=len(fake))
    return dataclasses.replace(snap, fake=fake)


def test_window_dock_and_trails_overlay(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "ganviz.ini"), QtCore.QSettings.Format.IniFormat)
    # radius 0.5, std 0.4: samples near the centre are already high quality (within 3 std of a mode)
    window = MainWindow(TrainConfig(d_width=16, g_width=16, batch_size=32, n_view=300, ring_radius=0.5,
                                    ring_std=0.4), settings=settings,
                        autostart=False, backend="thread")
    qtbot.addWidget(window)
    try:
        window.resize(1400, 900)
        window.show()
        assert "modes" in window.docks and not window.feature_errors.get("collapse")
        dock = window.docks["modes"]
        assert dock.windowTitle() == "Mode coverage"
        panel = window.panel("modes")  # built when first needed (the window host's lazy docks)
        assert isinstance(panel, ModesPanel) and dock.widget() is panel
        assert "dock_metrics" in [d.objectName() for d in window.tabifiedDockWidgets(dock)]
        dock.raise_()
        panel.set_show_trails(True)
        trainer = window.trainer
        for _ in range(4):
            trainer.train(5)
            window.on_snapshot(trainer.snapshot())
        assert len(panel.series("modes_covered")) == 4
        assert panel.shares.shape == (8,) and panel.shares.sum() == pytest.approx(1.0)
        # the overlay lives on the 2D data view's plot, one curve item per age group
        plot_items = window.data2d.plot.items
        assert all(item in plot_items for item in panel.trails.items)
        assert all(item.isVisible() for item in panel.trails.items)
        xs, ys = panel.trails.items[0].getData()
        assert len(xs) == 3 * 2 * MAX_TRAILS  # 4 snapshots: 3 segments for each of the first MAX_TRAILS fakes
        newest = np.column_stack([xs, ys])[-2 * MAX_TRAILS:].reshape(-1, 2, 2)  # (trail, start/end, xy)
        assert np.allclose(newest[:, 1], window.last_snapshot.fake[:MAX_TRAILS])
        legend_labels = [label.text for _, label in window.data2d.legend.items]
        assert f"fixed-noise trails (last {TRAIL_LENGTH} frames)" in legend_labels
        panel.set_show_trails(False)
        assert not any(item.isVisible() for item in panel.trails.items)
        assert f"fixed-noise trails (last {TRAIL_LENGTH} frames)" not in [
            label.text for _, label in window.data2d.legend.items]
        # the remedies row sends typed commands: unrolling applies live, packing rebuilds D
        panel.remedies.widgets["unroll"].setValue(2)
        panel.remedies.widgets["mbstd"].setChecked(True)
        trainer.train(1)
        assert trainer.config.unroll == 2 and trainer.config.mbstd == 1 and trainer.D.mbstd
        window.on_snapshot(trainer.snapshot())
        assert panel.remedies.widgets["unroll"].value() == 2 and panel.remedies.widgets["mbstd"].isChecked()
        # a new run (restart) resets the panel
        window.restart(TrainConfig(d_width=16, g_width=16, batch_size=32), autostart=False)
        window.on_snapshot(window.trainer.snapshot())
        assert len(panel.series("modes_covered")) == 1 and len(panel.trails) == 1
    finally:
        assert window.shutdown()


def test_grid_bars_label_every_row(qtbot):
    panel = ModesPanel()
    qtbot.addWidget(panel)
    grid = np.array([[x, y] for y in (-4, -2, 0, 2, 4) for x in (-4, -2, 0, 2, 4)], dtype=float)
    shares = np.zeros(25)
    shares[[0, 6, 24]] = [0.5, 0.25, 0.25]
    metrics = {"modes_covered": 3.0, "n_modes": 25.0, "hq_fraction": 0.5, "reverse_kl": 2.2,
               **{f"mode_share_{i}": float(v) for i, v in enumerate(shares)}}
    snap = dataclasses.replace(make_snapshot(step=10, dim=2), modes=grid, metrics=metrics)
    panel.update_snapshot(snap)
    axis = panel.plots["shares"].getAxis("bottom")
    assert [t[1] for t in axis._tickLevels[0]] == ["0", "5", "10", "15", "20"]
    assert len(axis._tickLevels[1]) == 20
    assert "x fastest" in axis.labelText
    assert np.allclose(panel.bar_item.opts["height"], 100 * shares)
    assert len(panel.empty_marks.data) == 22 and panel.k_line.value() == 25


def test_collapse_markers_are_capped():
    import pyqtgraph as pg

    from ganviz.core.collapse import CollapseEvent
    from ganviz.qt.panels.modes import CollapseMarkers

    plots = [pg.PlotItem(), pg.PlotItem()]
    markers = CollapseMarkers(plots, max_events=4)
    for i in range(10):
        kind = "collapse" if i % 2 == 0 else "recovered"
        markers.add(CollapseEvent(kind, 100 * i, 100 * i + 50, 2.0, 8.0, 8))
    assert len(markers) == 4 and markers.labels[0] == "collapse: 8 → 2/8 modes"
    lines = [it for p in plots for it in p.items if isinstance(it, pg.InfiniteLine)]
    assert sorted({line.value() for line in lines}) == [600.0, 700.0, 800.0, 900.0]
    markers.clear()
    assert not any(isinstance(it, (pg.InfiniteLine, pg.LinearRegionItem)) for p in plots for it in p.items)
