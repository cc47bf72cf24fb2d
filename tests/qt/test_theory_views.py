"""Theory views offscreen: the Dirac-GAN phase portrait, the JS-vs-W sweep, critic shapes, the Theory menu.

Background training is kept tiny (tens of steps, 16-unit MLPs); every test ends with no worker thread left.
Screenshots go to /tmp/ganviz_screens/theory_*.png for a human look.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6 import QtCore

from ganviz.core import dirac, jsw
from ganviz.core.config import TrainConfig
from ganviz.qt.app import make_app
from ganviz.qt.dirac_view import DiracView
from ganviz.qt.jsw_view import CriticShapeView, JSWSweepView

SCREENS = Path("/tmp/ganviz_screens")
TINY_SWEEP = dict(steps=40, width=16, depth=1, batch_size=64, chunk=20)
TINY_SHAPES = dict(steps=60, width=16, depth=2, batch_size=64, grid=24, chunk=30)


@pytest.fixture(autouse=True, scope="module")
def _app():
    torch.set_num_threads(1)
    make_app()
    SCREENS.mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def _no_leaked_threads():
    yield
    pool = QtCore.QThreadPool.globalInstance()
    assert pool.waitForDone(5000), "a background worker outlived its test"
    assert pool.activeThreadCount() == 0


def save(qtbot, widget, name: str) -> None:
    qtbot.wait(150)  # let debounced redraws and legend re-layouts land before the grab
    assert widget.grab().save(str(SCREENS / f"theory_{name}.png"))


# ------------------------------------------------------------------------------------------ Dirac-GAN

def test_dirac_view_shows_theory_numbers_and_recomputes_on_method_change(qtbot):
    view = DiracView()
    qtbot.addWidget(view)
    view.resize(1180, 760)
    view.show()
    text = view.info_text()
    assert "λ = 0 ± 0.5i" in text
    assert "final radius after 500 steps: 3.097" in text
    assert "spirals out" in text
    assert view.trajectory_data.shape == (501, 2)
    assert dirac.radius(view.trajectory_data)[-1] == pytest.approx(3.0969487, abs=1e-6)
    save(qtbot, view, "dirac_standard_simultaneous")

    with qtbot.waitSignal(view.recomputed, timeout=2000):
        view.set_method("r1")
    text = view.info_text()
    assert "λ = -0.15 ± 0.477i" in text  # THEORY.md: R1 gamma = 0.3
    assert "converges locally" in text
    assert dirac.radius(view.trajectory_data)[-1] < 1e-4
    assert view._form.isRowVisible(view.param_spins["gamma"])
    assert not view._form.isRowVisible(view.param_spins["sigma"])
    save(qtbot, view, "dirac_r1")

    view.param_spins["gamma"].setValue(1.0)  # gamma = 1: -0.5 +- 0i, a double real root
    assert "λ = -0.5" in view.info_text()
    view.set_method("consensus")
    view.param_spins["gamma"].setValue(0.3)
    assert "λ = -0.075 ± 0.5i" in view.info_text()
    view.set_method("wgan-gp")
    assert "undefined" in view.info_text() and "not differentiable" in view.info_text()
    view.set_method("instance-noise")
    assert "λ = -0.25 ± 0.433i" in view.info_text()  # sigma = 1


def test_dirac_alternating_and_dragging_the_start(qtbot):
    view = DiracView()
    qtbot.addWidget(view)
    view.show()
    view.set_scheme("alternating")
    assert view._form.isRowVisible(view.n_critic_spin)
    r = dirac.radius(view.trajectory_data)
    assert r.min() == pytest.approx(1.34353, abs=1e-4) and r.max() == pytest.approx(1.42204, abs=1e-4)
    drawn_x, _ = view.traj_curve.getData()
    assert len(drawn_x) == 2 * 500 + 2  # the handle, then each player's update (the staircase)
    before = view.trajectory_data.copy()

    with qtbot.waitSignal(view.recomputed, timeout=2000):
        view.start_handle.setPos((0.5, -1.5))  # what a drag does
    assert tuple(view.trajectory_data[0]) == (0.5, -1.5)
    assert view.theta0_spin.value() == 0.5 and view.psi0_spin.value() == -1.5
    assert not np.allclose(view.trajectory_data[-1], before[-1])
    expected = dirac.trajectory("standard", "alternating", 0.2, 500, (0.5, -1.5))
    np.testing.assert_array_equal(view.trajectory_data, expected)

    view.theta0_spin.setValue(2.0)  # and the spin box moves the handle
    assert view.start_handle.pos().x() == pytest.approx(2.0)
    assert view.trajectory_data[0, 0] == 2.0

    view.set_method("wgan")
    view.n_critic_spin.setValue(5)
    assert np.all(np.abs(view.trajectory_data[:, 1]) <= 0.3 + 1e-12)
    ys = view.clip_lines.getData()[1]
    assert sorted(set(ys.tolist())) == [-0.3, 0.3]
    save(qtbot, view, "dirac_wgan_alternating_ncritic5")


def test_dirac_field_image_is_row_major_and_right_way_up(qtbot):
    """The |v| background on an asymmetric field: pixel (iy, ix) must be the speed at (x_ix, y_iy)."""
    view = DiracView()
    qtbot.addWidget(view)
    view.show()
    view.set_method("r1")
    view.param_spins["gamma"].setValue(2.0)
    img = view.image.image
    rect = view.image.mapRectToParent(view.image.boundingRect())
    ny, nx = img.shape
    for iy, ix in [(5, 100), (100, 7), (60, 30)]:
        x = rect.left() + (ix + 0.5) * rect.width() / nx
        y = rect.top() + (iy + 0.5) * rect.height() / ny
        vt, vp = dirac.vector_field("r1", x, y, gamma=2.0)
        assert img[iy, ix] == pytest.approx(math.log10(math.hypot(float(vt), float(vp))), abs=1e-4)
    seg_x, _ = view.arrows.getData()
    assert len(seg_x) % 6 == 0 and len(seg_x) > 6 * 100


# ------------------------------------------------------------------------------------------ JS vs W

def test_sweep_worker_finishes_and_plots_points(qtbot):
    view = JSWSweepView(settings=jsw.SweepSettings(**TINY_SWEEP), autostart=False)
    qtbot.addWidget(view)
    view.resize(1300, 800)
    view.show()
    added = []
    view.result_added.connect(added.append)
    with qtbot.waitSignal(view.sweep_finished, timeout=60000) as blocker:
        view.start_sweep([0.5, 1.0])
    assert blocker.args == [True]
    assert [r.theta for r in added] == [0.5, 1.0]  # points appear one theta at a time
    xs, ys = view.jsd_points.getData()
    np.testing.assert_allclose(xs, [0.5, 1.0])
    np.testing.assert_allclose(ys, view.table()["jsd_est"])
    assert np.all(ys < math.log(2))  # (V + log 4)/2 < log 2 always (40 steps: far from trained)
    xs, ys = view.gap_points.getData()
    np.testing.assert_allclose(ys, view.table()["critic_gap"])  # (values: see tests/core/test_jsw.py)
    np.testing.assert_allclose(view.w1_line.getData()[1], np.abs(view.w1_line.getData()[0]))
    assert view.curve is not None and view.curve.theta == 1.0  # the slider followed the sweep
    assert view.theta == pytest.approx(1.0)
    assert "Sweep done (2 thetas)" in view.status.text()
    t = view.table()
    np.testing.assert_allclose(t["w1_exact"], [0.5, 1.0])
    save(qtbot, view, "jsw_sweep_tiny")

    # the slider at a swept theta shows its curve at once; at a new theta it retrains there
    with qtbot.waitSignal(view.curve_shown, timeout=2000):
        view.set_theta(0.5)
    assert view.curve.theta == 0.5
    with qtbot.waitSignal(view.result_added, timeout=60000) as blocker:
        view.set_theta(-0.25)
    assert blocker.args[0].theta == pytest.approx(-0.25)
    assert len(view.jsd_points.getData()[0]) == 3
    qtbot.waitUntil(lambda: not view.is_busy(), timeout=5000)


def test_sweep_stop_is_prompt(qtbot):
    view = JSWSweepView(settings=jsw.SweepSettings(steps=5000, width=16, depth=1, batch_size=64, chunk=10),
                        autostart=False)
    qtbot.addWidget(view)
    view.show()
    view.start_sweep([0.5, 1.0, 1.5])
    qtbot.waitUntil(lambda: view.progress.value() > 0, timeout=20000)
    assert view.is_sweeping() and view.sweep_button.text() == "Stop"
    assert view.stop_jobs(timeout=5.0)
    assert not view.is_busy() and view.sweep_button.text() == "Sweep"


def test_critic_shape_view_trains_in_background_and_draws_both_critics(qtbot):
    view = CriticShapeView(settings=jsw.ShapeSettings(data="two-blobs", **TINY_SHAPES), autostart=False)
    qtbot.addWidget(view)
    view.resize(1300, 700)
    view.show()
    frames = []
    view.updated.connect(frames.append)
    with qtbot.waitSignal(view.training_finished, timeout=60000) as blocker:
        view.start_training(jsw.ShapeSettings(data="two-blobs", **TINY_SHAPES))
    assert blocker.args == [True]
    assert [f.step for f in frames] == [0, 30, 60]
    s = view.shapes
    for i, values in enumerate((s.clip_values, s.gp_values)):
        img = view.images[i]
        assert img.axisOrder == "row-major"
        shown = img.image.astype(np.float64)
        centred = values - values.mean()  # shown as f - mean f, possibly in units of 10^e
        scale = centred[0, 0] / shown[0, 0]
        np.testing.assert_allclose(shown * scale, centred, rtol=1e-4, atol=1e-6 * np.abs(centred).max())
        lo, hi = view.colorbars[i].levels()
        assert np.isfinite(lo) and np.isfinite(hi) and hi > lo
        assert len(view.contours[i].getData()[0]) > 0
    axis = view.colorbars[0].getAxis("right")
    assert "units of 10^" in axis.labelText  # the tiny clipped critic
    assert axis.autoSIPrefixScale == 1.0  # ticks are the values shown, no hidden SI factor
    save(qtbot, view, "critic_shapes_tiny")


# ------------------------------------------------------------------------------------------ the menu

def test_theory_menu_opens_windows_and_main_window_close_stops_them(qtbot, tmp_path, monkeypatch):
    from ganviz.qt import jsw_view
    from ganviz.qt.main_window import MainWindow

    sweep_cls, shape_cls = jsw.SweepSettings, jsw.ShapeSettings
    monkeypatch.setattr(jsw_view.jsw, "SweepSettings", lambda: sweep_cls(**TINY_SWEEP))
    monkeypatch.setattr(jsw_view.jsw, "ShapeSettings", lambda: shape_cls(**{**TINY_SHAPES, "steps": 3000}))
    settings = QtCore.QSettings(str(tmp_path / "ganviz.ini"), QtCore.QSettings.Format.IniFormat)
    window = MainWindow(TrainConfig(d_width=16, g_width=16, batch_size=32), settings=settings, autostart=False,
                        backend="thread")
    qtbot.addWidget(window)
    window.show()
    try:
        assert "theory" not in window.feature_errors
        menu = window.menu("Theory")
        actions = {a.text(): a for a in menu.actions()}
        assert set(actions) == {"Dirac-GAN phase portrait", "JS vs Wasserstein sweep",
                                "Critic shape: clipping vs gradient penalty"}
        shortcuts = {a.shortcut().toString() for a in actions.values()}
        assert shortcuts == {"Ctrl+Shift+D", "Ctrl+Shift+J", "Ctrl+Shift+K"}
        assert not shortcuts & {"Space", "D", "G", "S", "R"}

        actions["Dirac-GAN phase portrait"].trigger()
        dirac_win = window.features["theory"].get("dirac")
        assert dirac_win.isVisible() and dirac_win.isWindow() and not dirac_win.isModal()
        assert "0 ± 0.5i" in dirac_win.info_text()

        actions["JS vs Wasserstein sweep"].trigger()
        jsw_win = window.features["theory"].get("jsw")
        assert jsw_win.isVisible() and jsw_win.currentIndex() == 0
        with qtbot.waitSignal(jsw_win.sweep.result_added, timeout=60000):
            pass  # opening trains D and the critic at the slider's theta, in the background
        actions["Critic shape: clipping vs gradient penalty"].trigger()
        assert window.features["theory"].get("jsw") is jsw_win and jsw_win.currentIndex() == 1
        qtbot.waitUntil(lambda: jsw_win.shapes.shapes is not None and jsw_win.shapes.shapes.step > 0,
                        timeout=60000)
        assert jsw_win.is_busy()  # 3000 steps: still training when the main window closes
        save(qtbot, jsw_win, "menu_jsw_window")

        window.close()  # closes the theory windows, which stop their workers
        assert not dirac_win.isVisible() and not jsw_win.isVisible()
        assert not jsw_win.is_busy()
    finally:
        window.shutdown()
