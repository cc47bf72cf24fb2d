"""The generator manifold layer of the 2D data view (issue 18.3): the mesh it draws is trainer_manifold's for the
snapshot's G, its colours are ordered by density, the key names a slice of higher z, and it computes only while
shown, at most once per interval."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from ganviz.core.config import TrainConfig  # noqa: E402
from ganviz.core.manifold import trainer_manifold  # noqa: E402
from ganviz.core.trainer import Trainer  # noqa: E402
from ganviz.qt.panels.data2d import Data2DPanel  # noqa: E402
from ganviz.qt.panels.manifold import GRID_EVERY, cell_colours, density_lut  # noqa: E402

pytestmark = pytest.mark.qt

SMALL = dict(d_width=32, g_width=32, d_depth=2, g_depth=2, batch_size=64, n_view=64, kde_samples=256,
             grid_size=16, mode_samples=500, w1_samples=64, device="cpu")


def _trained(steps: int = 15, **kw) -> Trainer:
    t = Trainer(TrainConfig(**{**SMALL, **kw}))
    for _ in range(steps):
        t.iteration()
    return t


def _panel(qtbot) -> Data2DPanel:
    w = Data2DPanel()
    qtbot.addWidget(w)
    w.resize(700, 600)
    w.show()
    w.manifold.min_interval = 0.0
    w.set_show_z_grid(True)
    return w


def _snap(t: Trainer):
    return t.snapshot(with_metrics=False, lazy=True).materialized()


def test_mesh_vertices_and_shades_are_trainer_manifold(qtbot):
    t = _trained()
    w = _panel(qtbot)
    w.update_snapshot(_snap(t))
    layer = w.manifold
    assert layer.computed == 1
    m = trainer_manifold(t)
    assert m.kind == "mesh" and m.points.shape == (41, 41, 2)
    np.testing.assert_allclose(layer.mesh.x, m.points[..., 0], rtol=0, atol=1e-6)
    np.testing.assert_allclose(layer.mesh.y, m.points[..., 1], rtol=0, atol=1e-6)
    np.testing.assert_allclose(layer.mesh.z, m.shading(), atol=1e-9)
    assert layer.mesh.getLevels() == (0.0, 1.0)
    # the drawn manifold's shading integrates to the noise mass its grid covers ((Φ(2.5) - Φ(-2.5))^2)
    drawn = layer.manifold
    finite = np.isfinite(drawn.density)
    assert finite.all()
    assert math.isclose(float((drawn.density * drawn.size).sum()), 0.98758067 ** 2, rel_tol=1e-6)
    # grid lines: every GRID_EVERY-th row and column of the warped grid, the first row first
    x, y = layer.grid.getData()
    rows = len(range(0, 41, GRID_EVERY))
    assert len(x) == 2 * rows * 41
    np.testing.assert_allclose(np.column_stack([x[:41], y[:41]]), m.points[0], atol=1e-6)
    np.testing.assert_allclose(np.column_stack([x[41:82], y[41:82]]), m.points[GRID_EVERY], atol=1e-6)
    # the key's ends are the densities at the shading's ends
    lo, hi = drawn.log_density_range()
    assert layer.key.ends == (f"{math.exp(lo):.2g}", f"{math.exp(hi):.2g}")
    assert "per unit area" in layer.key.units and layer.key.slice == ""


def test_colours_are_monotone_in_density(qtbot):
    lut = density_lut()
    lightness = lut[:, :3].astype(float) @ [0.299, 0.587, 0.114]
    assert (np.diff(lightness) <= 1e-9).all() and (np.diff(lut[:, 3].astype(int)) >= 0).all()
    assert lightness[0] - lightness[-1] > 120 and lut[-1, 3] - lut[0, 3] > 150
    t = _trained(10)
    w = _panel(qtbot)
    w.update_snapshot(_snap(t))
    layer = w.manifold
    # the item draws with this very table (PColorMeshItem's lookup table of QColors)
    drawn_lut = np.array([c.getRgb() for c in layer.mesh.lut_qcolor])
    np.testing.assert_array_equal(drawn_lut, lut)
    density = layer.manifold.density.ravel()
    colours = cell_colours(layer).reshape(-1, 4)
    order = np.argsort(density, kind="stable")
    alpha = colours[order, 3].astype(int)
    light = colours[order, :3].astype(float) @ [0.299, 0.587, 0.114]
    assert (np.diff(alpha) >= 0).all() and (np.diff(light) <= 1e-9).all()
    assert alpha[-1] - alpha[0] > 100  # a trained G spans decades of density: the cells are far apart in colour


def test_slice_label_for_higher_z_only(qtbot):
    w = _panel(qtbot)
    w.update_snapshot(_snap(_trained(3, z_dim=4)))
    assert w.manifold.slice_label() == "slice through z: z₁, z₂ ∈ [-2.5, 2.5]; z₃ = 0, z₄ = 0"
    assert w.manifold.key.isVisible() and "slice" in w.manifold.key.units
    w.reset()
    w.update_snapshot(_snap(_trained(3, z_dim=2)))
    assert w.manifold.slice_label() == ""
    assert w.manifold.manifold.label == "z-grid: z₁, z₂ ∈ [-2.5, 2.5]"


def test_hidden_layer_computes_nothing_and_is_throttled(qtbot):
    t = _trained(2)
    w = _panel(qtbot)
    layer = w.manifold
    for _ in range(3):
        t.iteration()
        w.update_snapshot(_snap(t))
    assert layer.computed == 3
    w.set_show_z_grid(False)
    assert not layer.mesh.isVisible() and not layer.key.isVisible()
    for _ in range(3):
        t.iteration()
        w.update_snapshot(_snap(t))
    assert layer.computed == 3  # hidden: not computed
    last = _snap(t)
    w.update_snapshot(last)
    w.set_show_z_grid(True)  # shown again: the latest snapshot's G, once
    assert layer.computed == 4 and layer.mesh.isVisible()
    np.testing.assert_allclose(layer.mesh.x, trainer_manifold(t).points[..., 0], atol=1e-6)
    # throttled: frames within the interval are not computed; the latest is drawn when the interval ends
    layer.min_interval = 0.3
    t.iteration()
    w.update_snapshot(_snap(t))
    assert layer.computed == 4  # within 0.3 s of the last one
    t.iteration()
    newest = _snap(t)
    w.update_snapshot(newest)
    qtbot.waitUntil(lambda: layer.computed == 5, timeout=3000)
    np.testing.assert_allclose(layer.mesh.x, trainer_manifold(t).points[..., 0], atol=1e-6)
    qtbot.wait(400)
    assert layer.computed == 5  # the skipped frame was not drawn afterwards


def test_fixed_generator_has_no_manifold(qtbot):
    w = _panel(qtbot)
    s = _snap(_trained(2, generator="shift"))
    assert s.generator is None
    w.update_snapshot(s)
    assert w.manifold.computed == 0 and "not a map of noise" in w.manifold.key.note


def test_1d_data_shows_the_map_z_to_g_of_z(qtbot):
    from ganviz.qt.panels.data1d import Data1DPanel

    t = _trained(5, data="bimodal-1d", z_dim=1)
    w = Data1DPanel()
    qtbot.addWidget(w)
    w.resize(700, 700)
    w.show()
    layer = w.manifold
    layer.min_interval = 0.0
    w.update_snapshot(_snap(t))
    assert layer.computed == 0 and w.map_plot.scene() is None  # hidden: no plot, nothing computed
    w.set_show_z_grid(True)
    assert layer.computed == 1 and w.map_plot.scene() is not None
    m = trainer_manifold(t)
    assert m.kind == "curve" and m.points.shape == (41, 1)
    # quads join each z cell on y = 0 to its image G(z) on y = 1, shaded by p_g there (mass / length)
    np.testing.assert_allclose(layer.mesh.x[0], m.za, atol=1e-12)
    np.testing.assert_allclose(layer.mesh.x[1], m.points[:, 0], atol=1e-6)
    np.testing.assert_array_equal(layer.mesh.y, np.stack([np.zeros(41), np.ones(41)]))
    np.testing.assert_allclose(layer.mesh.z[0], m.shading(), atol=1e-9)
    np.testing.assert_allclose(m.density, m.mass / np.abs(np.diff(m.points[:, 0])), rtol=1e-9)
    assert "per unit length" in layer.key.units and layer.slice_label() == ""
    w.set_show_z_grid(False)
    t.iteration()
    w.update_snapshot(_snap(t))
    assert layer.computed == 1 and w.map_plot.scene() is None


def test_a_diverged_generator_draws_no_cell_and_the_key_says_no_density(qtbot):
    from dataclasses import replace

    t = _trained(2)
    w = _panel(qtbot)
    s = _snap(t)
    gen = s.generator
    w_nan = [(np.full_like(a, np.nan), b) for a, b in gen.layers]
    w.update_snapshot(replace(s, generator=replace(gen, layers=tuple(w_nan))))
    layer = w.manifold
    assert layer.computed == 1 and np.isnan(layer.mesh.z).all()
    x, _ = layer.grid.getData()
    assert (x is None or len(x) == 0) and layer.key.ends == ("", "")
    w.grab()  # paints
    w.update_snapshot(_snap(t))  # and recovers with the next healthy G
    assert layer.computed == 2 and np.isfinite(layer.mesh.z).all() and layer.key.ends[0]


def test_the_window_draws_the_live_runs_manifold_from_the_process_backend(qtbot, tmp_path):
    """The default window (training process): the snapshots that reach the data view carry G, and the layer
    draws the manifold of the G of a drawn frame while the run goes on."""
    from tests.qt.windows import window_factory

    make = window_factory(qtbot, tmp_path, "manifold", base=SMALL, interval=0.02)
    w = make()
    try:
        layer = w.data2d.manifold
        layer.min_interval = 0.0
        seen = []
        w.snapshot_drawn.connect(lambda s: seen.append(s.generator))
        w.data2d.set_show_z_grid(True)
        qtbot.waitUntil(lambda: layer.computed >= 2 and w.last_snapshot is not None and w.last_snapshot.step > 5,
                        timeout=90_000)
        drawn = layer.source
        assert drawn is not None and any(g is drawn for g in seen)  # the G of a frame the window drew
        np.testing.assert_allclose(layer.mesh.x, drawn.manifold().points[..., 0], atol=1e-6)
        assert layer.key.ends[0] and layer.key.slice == ""
    finally:
        w.close()
