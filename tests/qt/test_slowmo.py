"""Slow motion in the window (issue 18.2), process backend: the child plays the next step as its stages, the
window shows them one at a time; the run ends exactly where a headless Trainer's normal step leaves it, and what
each stage shows (narration, Model dock, arrows, D field) is that step's own."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from ganviz.core import stages as S
from ganviz.core.checkpoint import trainer_from_checkpoint
from ganviz.core.commands import SetRunning, StepBoth
from ganviz.core.config import TrainConfig
from ganviz.core.trainer import Trainer
from ganviz.qt.slowmo import unavailable
from ganviz.qt.slowmo_view import arrow_segments, move_magnification
from tests.core.test_stages import tensors  # the tensors of a state tree, in a fixed order
from tests.qt.windows import window_factory

SMALL = dict(d_width=32, g_width=32, d_depth=2, g_depth=2, batch_size=64, n_view=256, grid_size=32,
             mode_samples=500, w1_samples=128, kde_samples=1024, seed=3)


@pytest.fixture
def windows(qtbot, tmp_path):
    factory = window_factory(qtbot, tmp_path, "slowmo", SMALL, size=(1366, 768), interval=0.03, autostart=False)
    yield factory
    for w in factory.made:
        w.shutdown()


def paused_window(windows, qtbot, **cfg):
    """A window whose run is built and paused at step 0 (its first snapshot drawn)."""
    w = windows(**cfg)
    w.session.submit(SetRunning(False))
    w.session.start()
    qtbot.waitUntil(lambda: w.last_snapshot is not None, timeout=60000)
    assert w.last_snapshot.step == 0
    return w


def enter(w, qtbot):
    sm = w.features["slowmo"]
    assert w.actions_by_name["slowmo"].isEnabled()
    w.actions_by_name["slowmo"].trigger()
    sm.set_auto(False)  # the test steps by hand
    assert sm.active and w.data_stack.currentWidget() is sm.view
    return sm


def test_stepping_through_a_step_is_the_normal_step(windows, qtbot, tmp_path):
    cfg = dict(objective="ns", d_steps=2, data="ring8")
    w = paused_window(windows, qtbot, **cfg)
    rows: list[tuple[int, float]] = []  # the history rows the window drew
    w.snapshot_drawn.connect(
        lambda s: rows.extend(zip(s.history.steps.tolist(), s.history.values["d_loss"], strict=True)))
    sm = enter(w, qtbot)
    headless = Trainer(TrainConfig(**{**SMALL, **cfg}))
    plan = S.plan(headless)
    qtbot.waitUntil(lambda: len(sm.played) == len(plan) and not sm.waiting, timeout=30000)
    # the stage sequence is the plan for k = 2: six D stages twice, then G loss, G gradient, G update
    assert [(m.stage.name, m.stage.network, m.stage.index) for m in sm.played] == plan
    assert len(plan) == 15 and plan[6] == (S.SAMPLE, "D", 1)
    headless.train(1)
    ((_, row),) = headless.take_rows()
    view = w.panel("overview")
    graph = view.graph
    d_loss_seen = g_loss_seen = arrows_seen = False
    assert sm.index == 0 and view.highlighted == graph.stage_nodes(S.SAMPLE) == ("z", "real")
    for i in range(1, len(plan)):
        sm.next()
        assert sm.index == i
        stage = sm.played[i].stage
        # the Model dock lights this stage's nodes
        assert view.highlighted == graph.stage_nodes(stage.name) and view.highlighted
        text = sm.view.bar.narration.text()
        assert text.startswith(stage.narration)
        assert sm.view.bar.title.text().startswith(f"Step 1 · {stage.network} update {stage.index + 1} of 2 · "
                                                     if stage.network == "D" else "Step 1 · stage")
        assert sm.view.bar.title.text().endswith(f"stage {i + 1} of 15: {stage.name}")
        if stage.name == S.D_LOSS and stage.index == 1:  # the row keeps the last D update's loss
            assert f"L_D = {float(row['d_loss']):.4g}" in text
            d_loss_seen = True
        if stage.name == S.G_LOSS:
            assert f"L_G = {float(row['g_loss']):.4g}" in text
            g_loss_seen = True
        if stage.name in (S.G_GRADIENT, S.G_UPDATE):
            # one arrow (shaft and two head strokes) per fake of the batch
            assert sm.view.arrow_count == 64
            assert len(sm.view.arrows[2].xData) == 6 * 64
            arrows_seen = True
        if stage.name == S.D_UPDATE:
            assert sm.view.arrow_count == 0
            after, before = sm.fields(i)
            assert np.abs(after.values - before.values).max() > 1e-5  # D's update changed its field
            # the change is animated from the field before the update ...
            assert np.abs(sm.view.panels[2].image.image - before.values).max() < \
                np.abs(sm.view.panels[2].image.image - after.values).max()
            sm.view.finish_animation()
            np.testing.assert_array_equal(sm.view.panels[2].image.image, after.values)  # ... to the one after
            # D = 1/2 before the update stays drawn, dashed: the contour of the field before
            ghost = sm.view.ghosts[2]
            assert len(ghost.xData) > 0 and ghost.xData.min() >= before.xs[0] and ghost.xData.max() <= before.xs[-1]
        else:
            assert sm.view.ghosts[2].xData is None or len(sm.view.ghosts[2].xData) == 0
    assert d_loss_seen and g_loss_seen and arrows_seen
    # the run is where one normal step leaves it: step counters, weights, optimiser states, random stream
    qtbot.waitUntil(lambda: w.last_snapshot.step == 1, timeout=30000)
    snap = w.last_snapshot
    assert (snap.d_updates, snap.g_updates) == (2, 1)
    assert [(step, float(v)) for step, v in rows] == [(1, pytest.approx(float(row["d_loss"]), rel=1e-6))]
    path = tmp_path / "after.pt"
    w.session.save_checkpoint(path)
    child = trainer_from_checkpoint(path)
    a, b = tensors(child.state_dict()), tensors(headless.state_dict())
    assert len(a) == len(b) > 10
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x, y)
    # the last D update's field is the field of D after the step, as the headless run computes it
    field = [m.field for m in sm.played if m.stage.name == S.D_UPDATE][-1]
    np.testing.assert_allclose(field.values, headless.snapshot(with_metrics=False).field2d.values, atol=1e-6)
    # a session replays the step as the normal step it is
    assert (0, StepBoth()) in w.session.run_log()["command_log"]
    # after the last stage, Next asks the engine for the next step
    assert sm.view.bar.next_button.text().startswith("Next step")
    sm.next()
    qtbot.waitUntil(lambda: len(sm.played) == 30 and sm.index == 15, timeout=30000)
    assert sm.played[15].stage.step == 2 and view.highlighted == ("z", "real")
    sm.back()
    assert sm.index == 14 and sm.played[14].stage.name == S.G_UPDATE


def test_leaving_resumes_play_and_gives_the_data_view_back(windows, qtbot):
    w = windows(objective="hinge", data="bimodal-1d", z_dim=1)
    w.session.start()
    qtbot.waitUntil(lambda: w.last_snapshot is not None and w.last_snapshot.step > 3, timeout=60000)
    assert w.run_state.running
    sm = enter(w, qtbot)
    qtbot.waitUntil(lambda: len(sm.played) == 9 and not w.run_state.running, timeout=30000)
    paused_at = w.last_snapshot.step
    g_update = next(i for i, m in enumerate(sm.played) if m.stage.name == S.G_UPDATE)
    sm.show(g_update)
    # 1D: the fakes sit on the D curve at their D outputs, one arrow each along -dL_G/dx
    assert sm.view.arrow_count == 64 and sm.view.stack.currentWidget() is sm.view.panels[1]
    stage = sm.filled(g_update)
    np.testing.assert_allclose(sm.view.origins[1].data["y"], stage.d_fake)
    assert sm.view.magnification >= 1.0
    w.actions_by_name["slowmo"].trigger()  # leave
    assert not sm.active and w.data_stack.currentWidget() is w.data1d
    assert view_cleared(w)
    qtbot.waitUntil(lambda: w.run_state.running and w.last_snapshot.step > paused_at + 5, timeout=30000)


def view_cleared(w) -> bool:
    return w.panel("overview").highlighted == ()


def test_image_data_comparisons_and_ensembles_cannot(windows):
    w = windows(data="digits", batch_size=16, z_dim=16, n_view=64)
    action = w.actions_by_name["slowmo"]
    assert not action.isEnabled() and "image data" in action.toolTip()
    w.features["slowmo"].set_active(True)  # refused in words, nothing changes
    assert not w.features["slowmo"].active and "image data" in w.statusBar().currentMessage()
    host = SimpleNamespace(session=SimpleNamespace(compare=[TrainConfig(), TrainConfig()], engine=None, dim=2),
                           last_snapshot=None)
    assert "comparison or an ensemble" in unavailable(host)
    host.session.compare, host.session.engine = None, object()
    assert "comparison or an ensemble" in unavailable(host)


def test_the_window_names_the_stages_as_the_engine_does():
    from ganviz.qt import slowmo_view as V

    assert (V.SAMPLE, V.D_UPDATE, V.G_GRADIENT, V.G_UPDATE) == (S.SAMPLE, S.D_UPDATE, S.G_GRADIENT, S.G_UPDATE)


def test_arrows_scale_and_magnification():
    pts = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0], [np.nan, 0.0]])
    vec = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0], [1.0, 1.0]])
    seg, scale = arrow_segments(pts, vec, span=10.0)
    assert len(seg) == 2 * 6  # the zero vector and the NaN point draw nothing
    # the 95th-percentile arrow is 8% of the span; each shaft runs from its point along its vector
    np.testing.assert_allclose(seg[1] - seg[0], [scale * 1.0, 0.0])
    assert scale * np.percentile([1.0, 2.0], 95) == pytest.approx(0.8)
    # a move far smaller than the arrows is drawn magnified to 60% of the mean arrow, a large one true to size
    grads = np.ones((4, 2))
    assert move_magnification(np.full((4, 2), 0.001), 1.0, grads) == pytest.approx(0.6 / 0.001)
    assert move_magnification(np.full((4, 2), 5.0), 1.0, grads) == 1.0


def test_thread_backend_plays_the_same_stages(qtbot, tmp_path):
    factory = window_factory(qtbot, tmp_path, "slowmo_thread", SMALL, size=(1366, 768), interval=0.03,
                             autostart=False, backend="thread")
    cfg = dict(objective="lsgan", d_steps=1, g_steps=2, data="two-blobs")
    try:
        w = factory(**cfg)
        w.session.submit(SetRunning(False))
        w.session.start()
        qtbot.waitUntil(lambda: w.last_snapshot is not None, timeout=30000)
        sm = enter(w, qtbot)
        headless = Trainer(TrainConfig(**{**SMALL, **cfg}))
        qtbot.waitUntil(lambda: len(sm.played) == 12 and not sm.waiting, timeout=30000)
        assert [(m.stage.name, m.stage.network, m.stage.index) for m in sm.played] == S.plan(headless)
        headless.train(1)
        assert w.trainer.step == 1
        for x, y in zip(tensors(w.trainer.state_dict()), tensors(headless.state_dict()), strict=True):
            assert torch.equal(x, y)
    finally:
        for w in factory.made:
            w.shutdown()
