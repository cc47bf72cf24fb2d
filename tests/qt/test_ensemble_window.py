"""The ensemble window, offscreen: snapshots flow, the W1 fan, collapse share, modes strip and small
multiples are drawn from them, the toolbar commands the engine, the Compare menu opens it, and closing
stops training within a second with no thread left."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch
from PySide6 import QtCore, QtWidgets

from ganviz.core.config import TrainConfig
from ganviz.core.ensemble import EnsembleTrainer
from ganviz.qt import ensemble_window as EW
from ganviz.qt.app import make_app
from ganviz.qt.ensemble_window import EnsembleWindow
from ganviz.qt.main_window import MainWindow
from tests.qt.test_child_faults import START

TINY = dict(d_width=16, g_width=16, d_depth=2, g_depth=2, batch_size=32, w1_samples=64, mode_samples=500,
            kde_samples=512)


@pytest.fixture(autouse=True, scope="module")
def _app():
    torch.set_num_threads(1)
    make_app()


def _no_threads_left(windows: list[EnsembleWindow]) -> None:
    for w in windows:
        assert not w.session.is_running()
        assert w.pool.waitForDone(2000) and w.pool.activeThreadCount() == 0
    assert QtCore.QThreadPool.globalInstance().waitForDone(2000)
    assert QtCore.QThreadPool.globalInstance().activeThreadCount() == 0


@pytest.fixture
def make_window(qtbot):
    made: list[EnsembleWindow] = []

    def factory(n_seeds: int = 4, backend: str = "thread", **cfg) -> EnsembleWindow:
        w = EnsembleWindow(TrainConfig(**{**TINY, **cfg}), n_seeds, interval=0.02, metrics_interval=0.1,
                           backend=backend)
        qtbot.addWidget(w)
        w.resize(1200, 800)
        w.show()
        made.append(w)
        return w

    yield factory
    for w in made:
        assert w.shutdown()
    _no_threads_left(made)


def test_window_draws_fan_share_strip_and_small_multiples(make_window, qtbot):
    threads_before = threading.active_count()
    w = make_window(4)
    assert isinstance(w.session.trainer, EnsembleTrainer) and w.session.trainer.n_seeds == 4
    qtbot.waitUntil(lambda: w.metrics_drawn >= 3 and w.frames >= 5, timeout=30000)
    snap = w.last_snapshot
    assert snap.n_seeds == 4 and snap.fake.shape == (4, 256, 2)
    # the W1 fan: one curve per seed over the metric steps, and the median across seeds in bold
    x = np.asarray(w.m_steps, dtype=float)
    assert len(x) >= 3 and np.all(np.diff(x) > 0)
    w1 = w.w1.values
    assert w1.shape == (len(x), 4) and np.isfinite(w1).all()
    for i, curve in enumerate(w.w1_fan.curves):
        cx, cy = curve.getData()
        np.testing.assert_array_equal(cx, x)
        np.testing.assert_allclose(cy, w1[:, i])
    mx, my = w.w1_fan.median.getData()
    np.testing.assert_allclose(my, np.median(w1, axis=1))
    assert w.w1_fan.median.opts["pen"].width() > w.w1_fan.curves[0].opts["pen"].width()
    # collapse share over time, in [0, 1] and equal to the collapsed flags' mean
    sx, sy = w.share_curve.getData()
    assert len(sy) == len(x) and np.all((sy >= 0) & (sy <= 1))
    m = w.latest_metrics
    assert sy[-1] == pytest.approx(np.mean(m["collapsed"]))
    # modes covered per seed as a heat strip: seeds x resampled steps, values in 0..K
    img = w.strip.image
    assert img.shape == (4, EW.STRIP_COLUMNS) and img.min() >= 0 and img.max() <= 8
    np.testing.assert_array_equal(img[:, -1], w.covered.values[-1])
    # small multiples: each seed's fixed-noise fakes over the data, titled with its modes covered
    qtbot.waitUntil(lambda: "/8 modes" in w.multiples.titles[0], timeout=10000)
    drawn = w.last_snapshot
    for i in range(4):
        pos = np.column_stack([w.multiples.fakes[i].data["x"], w.multiples.fakes[i].data["y"]])
        assert pos.shape == (256, 2)
    assert w.multiples.titles[0].startswith("seed 0 · ")
    assert len(w.multiples.reals[0].data) == 256
    assert "Collapsed:" in w.headline.text() and "W1: median" in w.headline.text()
    lx, ly = w.loss_fan.curves[0].getData()
    assert len(lx) > 0 and np.isfinite(ly).all()
    assert drawn.step > 0 and w.metrics_ms and max(w.materialize_ms) < 5000
    w.grab()  # paints without error
    # closing stops training within a second, and no thread outlives the window
    t0 = time.perf_counter()
    w.close()
    assert time.perf_counter() - t0 < 1.5
    _no_threads_left([w])
    assert threading.active_count() <= threads_before + 1  # + at most the pool's idle bookkeeping


def test_toolbar_pause_step_and_reset(make_window, qtbot):
    w = make_window(3)
    qtbot.waitUntil(lambda: w.frames >= 2, timeout=20000)
    w.toolbar.play_action.trigger()  # pause
    qtbot.waitUntil(lambda: not w.engine.running and w.last_snapshot is not None and not w.last_snapshot.running,
                    timeout=10000)
    step = w.engine.step
    w.toolbar.step_both_action.trigger()
    qtbot.waitUntil(lambda: w.last_snapshot.step == step + 1, timeout=10000)
    assert w.engine.step == step + 1
    w.toolbar.reset_action.trigger()
    qtbot.waitUntil(lambda: w.last_snapshot.step == 0, timeout=10000)
    assert w.m_steps == [] or w.m_steps[0] == 0
    assert w.d_loss.n == 0


def test_process_backend_trains_the_ensemble_in_a_child_process(make_window, qtbot):
    w = make_window(3, backend="process")
    assert w.engine is None and w.session.process is not None  # built in the child from an EnsembleSpec
    # the first frame waits for a cold child: spawn, torch import and engine build took 5-30 s here under load
    # (2 cores, load 7-8), and longer in a full-suite run beside other work; a failed child ends the wait at once
    qtbot.waitUntil(lambda: w.session.failure is not None or w.frames >= 2, timeout=START)
    assert w.session.failure is None, w.banner.text()
    qtbot.waitUntil(lambda: w.metrics_drawn >= 1, timeout=30000)
    snap = w.last_snapshot
    assert snap.n_seeds == 3 and snap.fake.shape[:2] == (3, 256) and w.latest_metrics["w1"].shape == (3,)
    w.toolbar.play_action.trigger()  # pause, then one step of all seeds
    qtbot.waitUntil(lambda: not w.last_snapshot.running, timeout=10000)
    step = w.last_snapshot.step
    w.toolbar.step_both_action.trigger()
    qtbot.waitUntil(lambda: w.last_snapshot.step == step + 1, timeout=10000)
    t0 = time.perf_counter()
    w.close()
    assert time.perf_counter() - t0 < 2.5 and not w.session.is_running()


def test_one_dimensional_data_shows_histograms(make_window, qtbot):
    w = make_window(2, data="bimodal-1d", z_dim=1)
    qtbot.waitUntil(lambda: w.metrics_drawn >= 1 and "/2 modes" in w.multiples.titles[1], timeout=20000)
    edges, counts = w.multiples.fakes[0].getData()
    assert len(edges) == 41 and len(counts) == 40 and counts.sum() > 0


def test_compare_menu_opens_the_ensemble_on_the_session_config(qtbot, tmp_path, monkeypatch):
    settings = QtCore.QSettings(str(tmp_path / "g.ini"), QtCore.QSettings.Format.IniFormat)
    main = MainWindow(TrainConfig(**TINY, objective="hinge"), settings=settings, interval=0.02, backend="thread")
    qtbot.addWidget(main)
    main.show()
    try:
        assert "ensemble" not in main.feature_errors
        actions = {a.text(): a for a in main.menu("Compare").actions()}
        assert "Ensemble of seeds..." in actions
        monkeypatch.setattr(EW, "ask_seeds", lambda parent, default: 3)
        actions["Ensemble of seeds..."].trigger()
        opened = main.features["ensemble"].windows
        assert len(opened) == 1
        ew = opened[0]
        assert ew.n_seeds == 3 and ew.engine.config == main.session.config
        assert ew.engine.config.objective == "hinge"
        assert not main.toolbar.play_action.isChecked()  # the main run is paused
        qtbot.waitUntil(lambda: not main.trainer.running and ew.frames >= 1, timeout=20000)
        # an unsupported set-up is explained, not opened
        shown = []
        monkeypatch.setattr(QtWidgets.QMessageBox, "information", lambda *a: shown.append(a[2]))
        main.session.config = main.session.config.replace(pack=2)
        actions["Ensemble of seeds..."].trigger()
        assert len(main.features["ensemble"].windows) == 1 and "pack=2" in shown[0]
    finally:
        assert main.shutdown()
    assert not ew.isVisible() and not ew.session.is_running()
    _no_threads_left([ew])


def test_loss_history_buffer_grows_and_halves():
    g = EW._Growing(2)
    for _ in range(40):
        g.append(np.ones((5, 2)))
    assert g.values.shape == (200, 2)
    g.append(np.arange(6, dtype=float).reshape(3, 2))
    g.halve()
    assert g.n == 102 and g.values[-1].tolist() == [4.0, 5.0]
