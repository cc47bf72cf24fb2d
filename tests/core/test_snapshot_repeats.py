"""core.snapshot.repeats: which lazy snapshots of a paused run would show nothing new (issue 20: the window then
neither materialises nor draws them)."""

from __future__ import annotations

import dataclasses

import torch

from ganviz.core.config import TrainConfig
from ganviz.core.snapshot import Event, EventKind, repeats
from ganviz.core.trainer import Trainer

SMALL = TrainConfig(d_width=16, g_width=16, d_depth=2, g_depth=2, batch_size=32, n_view=64, grid_size=16,
                    mode_samples=200, w1_samples=32, seed=2)


def _paused_pair():
    torch.set_num_threads(1)
    t = Trainer(SMALL)
    t.train(5)
    t.snapshot(lazy=True)  # takes the history rows so far
    t.running = False
    last = t.snapshot(lazy=True, defer_metrics=True).materialized()  # drawn: metrics of this step
    return t, last


def test_a_paused_run_sent_again_repeats_the_drawn_one():
    t, last = _paused_pair()
    again = t.snapshot(lazy=True)
    assert last.metrics_step == last.step == 5 and not last.running
    assert repeats(again, last)
    assert repeats(t.snapshot(lazy=True, defer_metrics=True), last)  # metrics of the same step: nothing new


def test_anything_new_is_not_a_repeat():
    t, last = _paused_pair()
    again = t.snapshot(lazy=True)
    newer_metrics = t.snapshot(lazy=True, defer_metrics=True)
    assert not repeats(newer_metrics, dataclasses.replace(last, metrics_step=4))  # brings step 5's metrics
    assert not repeats(dataclasses.replace(again, events=(Event(5, EventKind.CONFIG, "k: 1 -> 2"),)), last)
    assert not repeats(dataclasses.replace(again, config=SMALL.replace(grid_size=32)), last)
    assert not repeats(dataclasses.replace(again, speed_limit=10.0), last)
    assert not repeats(dataclasses.replace(again, running=True), last)
    assert not repeats(again, dataclasses.replace(last, running=True))  # the first frame after a pause is drawn
    assert not repeats(dataclasses.replace(again, lazy=None), last)  # already materialised: drawn as it is
    t.train(1)  # a step (a manual step while paused too) brings a row and a new step
    stepped = t.snapshot(lazy=True)
    assert stepped.step == 6 and len(stepped.history.steps) == 1 and not repeats(stepped, last)
