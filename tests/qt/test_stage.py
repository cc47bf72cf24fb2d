"""Issue 15, a lecture on stage: what the hall sees is what trains, readable and steady. The window runs on the
app's default PROCESS backend here (the one users get)."""

from __future__ import annotations

import pytest
import torch
from qtpy import QtWidgets

from ganviz.core.config import TrainConfig
from ganviz.core.runstate import RunState
from ganviz.core.scenes import scene_from_dict
from ganviz.qt.app import make_app
from tests.qt.windows import window_factory

SMALL = {"d_width": 16, "g_width": 16, "batch_size": 32, "n_view": 256, "grid_size": 24, "mode_samples": 400,
         "w1_samples": 128, "kde_samples": 512}


@pytest.fixture(autouse=True, scope="module")
def _app():
    torch.set_num_threads(1)
    make_app()


@pytest.fixture
def make_window(qtbot, tmp_path):
    factory = window_factory(qtbot, tmp_path, "stage", base=SMALL, size=(1200, 800))
    yield factory
    for w in factory.made:
        w.shutdown()


def wait_step(qtbot, w, step: int, timeout: int = 30000) -> None:
    qtbot.waitUntil(lambda: w.last_snapshot is not None and w.last_snapshot.step >= step, timeout=timeout)


def combo_value(w, key: str):
    combo = w.controls.widgets[key]
    assert isinstance(combo, QtWidgets.QComboBox)
    return combo.currentData()


# ----------------------------------------------------------------------------- 1: controls show what trains

def test_run_state_takes_the_config_and_speed_from_snapshots_only():
    class Snap:
        def __init__(self, step, config, speed_limit=-1.0, events=(), running=True):
            self.step, self.config, self.speed_limit, self.events, self.running = (
                step, config, speed_limit, events, running)

    start = TrainConfig()
    state = RunState(start)
    assert state.update(Snap(3, start)) == {"step"}
    switched = start.replace(objective="wgan-gp")
    assert state.update(Snap(4, switched, speed_limit=100.0)) == {"step", "config", "speed"}
    assert state.config.objective == "wgan-gp" and state.speed == 100.0
    assert state.update(Snap(5, None, speed_limit=0.0)) == {"step", "speed"}  # config unknown: kept
    assert state.config.objective == "wgan-gp" and state.speed is None


def test_scripted_switch_and_speed_hint_show_in_the_controls_on_the_process_backend(make_window, qtbot):
    w = make_window(data="gaussian-1d", z_dim=1)
    assert w.session.backend == "process"
    scene = scene_from_dict({"title": "switches", "config": {**SMALL, "data": "gaussian-1d", "z_dim": 1,
                                                              "objective": "minimax"},
                             "view": {"speed": 100},
                             "actions": [{"step": 15, "set": {"objective": "ns"}, "label": "to NS"},
                                         {"step": 30, "set": {"objective": "wgan-gp", "d_lr": 0.0002},
                                          "label": "to WGAN-GP"}]})
    seen: list = []  # (step, objective trained, objective the dropdown shows, lr shown) after each frame
    w.snapshot_drawn.connect(lambda s: seen.append((s.step, s.objective, combo_value(w, "objective"),
                                                    w.controls.widgets["d_lr"].value(), s.config.d_lr)))
    w.load_scene(scene)
    wait_step(qtbot, w, 40)
    assert {obj for _, obj, *_ in seen} == {"minimax", "ns", "wgan-gp"}
    assert all(trained == shown for _, trained, shown, *_ in seen), seen
    assert all(shown == pytest.approx(applied) for *_, shown, applied in seen), seen
    assert w.controls.widgets["d_lr"].value() == pytest.approx(0.0002)
    # the speed hint was sent before the child existed: it reached the engine, and the toolbar says so
    assert w.last_snapshot.speed_limit == 100.0 and w.run_state.speed == 100.0
    assert w.speed.currentData() == 100.0
