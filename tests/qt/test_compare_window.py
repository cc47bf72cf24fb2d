"""Compare mode in the window: lock-step panes, per-pane live controls, shared controls, clean shutdown."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from ganviz.core.compare import available_cores
from ganviz.core.config import TrainConfig
from ganviz.qt.app import make_app
from ganviz.qt.compare_window import CompareWindow

SMALL = dict(d_width=32, g_width=32, d_depth=2, g_depth=2, batch_size=64, n_view=256, grid_size=32,
             mode_samples=500, w1_samples=64, kde_samples=1024)


@pytest.fixture(autouse=True, scope="module")
def _app():
    torch.set_num_threads(1)
    make_app()


@pytest.fixture
def window(qtbot):
    made = []

    def factory(objectives=("ns", "wgan-gp"), backend="thread", **cfg):
        w = CompareWindow(TrainConfig(**{**SMALL, **cfg}), objectives, backend=backend, interval=0.02)
        qtbot.addWidget(w)
        w.show()
        made.append(w)
        return w

    yield factory
    for w in made:
        assert w.shutdown()


def test_panes_train_in_lock_step_and_overlay_every_run(window, qtbot):
    w = window(("ns", "hinge", "wgan-gp"))
    qtbot.waitUntil(lambda: w.frames >= 3 and w.last_snapshot.step > 10, timeout=20000)
    snap = w.last_snapshot
    assert len(snap.runs) == 3 and len({s.step for s in snap.runs}) == 1  # lock-step
    assert [s.objective for s in snap.runs] == ["ns", "hinge", "wgan-gp"]
    for run in range(3):
        assert w.overlay.series[(run, "d_loss")].x.size > 0
    # the runs are independent: same start, different objectives, different losses
    d0 = w.overlay.series[(0, "d_loss")].y[-5:]
    d2 = w.overlay.series[(2, "d_loss")].y[-5:]
    assert not np.allclose(d0, d2)


def test_pane_dropdown_changes_only_its_run(window, qtbot):
    w = window()
    qtbot.waitUntil(lambda: w.frames >= 2, timeout=20000)
    combo = w.panes[0].widgets["objective"]
    combo.setCurrentIndex(combo.findData("lsgan"))
    qtbot.waitUntil(lambda: w.last_snapshot.runs[0].objective == "lsgan", timeout=10000)
    assert w.trainer.runs[0].objective.name == "lsgan" and w.trainer.runs[1].objective.name == "wgan-gp"
    qtbot.waitUntil(lambda: w.overlay.marker_count() >= 1, timeout=10000)
    w.panes[1].widgets["d_steps"].setValue(3)
    qtbot.waitUntil(lambda: w.trainer.runs[1].config.d_steps == 3, timeout=10000)
    assert w.trainer.runs[0].config.d_steps == 1


def test_one_pause_and_step_drive_every_pane(window, qtbot):
    w = window()
    qtbot.waitUntil(lambda: w.frames >= 2, timeout=20000)
    w.toolbar.play_action.trigger()
    qtbot.waitUntil(lambda: not w.trainer.running, timeout=5000)
    qtbot.wait(100)
    steps = [r.step for r in w.trainer.runs]
    qtbot.wait(300)
    assert [r.step for r in w.trainer.runs] == steps and steps[0] == steps[1]
    w.toolbar.step_d_action.trigger()
    # both runs advance by exactly one step (read once the lock-step iteration has finished for both)
    qtbot.waitUntil(lambda: [r.step for r in w.trainer.runs] == [steps[0] + 1] * 2, timeout=5000)
    qtbot.wait(200)
    assert [r.step for r in w.trainer.runs] == [steps[0] + 1] * 2  # and no further: still paused


def test_process_backend_compare_window_closes_promptly(window, qtbot):
    w = window(backend="process")
    # one process per run where there are cores for it (the second run steps in a shard process)
    assert w.session.process.workers == min(2, available_cores())
    qtbot.waitUntil(lambda: w.frames >= 2, timeout=60000)
    assert w.last_snapshot.runs[1].field2d is not None
    assert len({s.step for s in w.last_snapshot.runs}) == 1  # the panes stay in lock-step
    t0 = time.perf_counter()
    w.close()
    assert time.perf_counter() - t0 < 1.5 and not w.session.is_running()


def test_three_runs_fit_a_laptop_screen(qtbot):
    """Each pane's controls take two rows: in one row a pane needed ~750 px, so three runs needed ~2260 px."""
    w = CompareWindow(TrainConfig(**SMALL), ("ns", "wgan-gp", "hinge"), backend="thread", autostart=False)
    qtbot.addWidget(w)
    assert w.minimumSizeHint().width() <= 1366 - 40  # a 1366 x 768 laptop, with room for the frame
    assert [p.widgets["d_steps"].value() for p in w.panes] == [1, 5, 1]  # paper defaults: WGAN-GP's n_critic
