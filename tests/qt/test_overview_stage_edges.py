"""Slow motion in the Model overview (issue 18.2): each stage lights the EDGES that carry its data (forward
edges for the forward stages, the gradient's path for the gradient stages, the update edge into the network for
the updates), drawn in the highlight colour, thicker, and the only edges whose dashes move; no stage: none."""

from __future__ import annotations

import pytest
from PySide6 import QtGui

from ganviz.core import stages as S
from ganviz.core.commands import SetRunning
from ganviz.core.config import TrainConfig
from ganviz.core.trainer import Trainer
from ganviz.qt.overview_graph import build_graph
from ganviz.qt.overview_view import BACKWARD, FORWARD, HIGHLIGHT, OverviewView
from tests.qt.windows import window_factory

SMALL = dict(d_width=32, g_width=32, d_depth=2, g_depth=2, batch_size=64, n_view=256, grid_size=32,
             mode_samples=500, w1_samples=128, kde_samples=1024, seed=3)

# what each stage carries, for WGAN-GP with R1 on (both penalties feed L_D) and for WGAN (clipping after D's update)
EXPECTED = {
    S.SAMPLE: set(),
    S.G_FORWARD: {("z", "g"), ("g", "fake")},
    S.D_OUTPUTS: {("real", "d"), ("fake", "d"), ("d", "d_real"), ("d", "d_fake")},
    S.D_LOSS: {("d_real", "loss_d"), ("d_fake", "loss_d"), ("gp", "loss_d"), ("r1", "loss_d")},
    S.D_GRADIENT: {("loss_d", "grad_d"), ("grad_d", "update_d")},
    S.D_UPDATE: {("update_d", "d")},
    S.G_LOSS: {("z", "g"), ("g", "fake"), ("fake", "d"), ("d", "d_fake"), ("d_fake", "loss_g")},
    S.G_GRADIENT: {("loss_g", "grad_g"), ("grad_g", "update_g")},
    S.G_UPDATE: {("update_g", "g")},
}


def _view(qtbot, graph, size=(900, 500)) -> OverviewView:
    view = OverviewView()
    qtbot.addWidget(view)
    view.resize(*size)
    view.set_graph(graph)
    return view


def test_each_planned_stage_lights_exactly_its_edges(qtbot):
    cfg = TrainConfig(**{**SMALL, "objective": "wgan-gp", "gp_lambda": 10.0, "r1_gamma": 1.0, "d_steps": 2})
    plan = S.plan(Trainer(cfg))
    assert {name for name, _, _ in plan} == set(EXPECTED)  # every stage the engine plays is named here
    graph = build_graph(cfg, dim=2)
    kinds = {(e.src, e.dst): e.kind for e in graph.edges}
    view = _view(qtbot, graph)
    assert view.highlighted_edges == ()  # live: nothing lit
    for name, _network, _index in plan:
        view.highlight(name)
        lit = view.highlighted_edges
        assert set(lit) == EXPECTED[name] and len(lit) == len(set(lit)), name
        for src, dst in lit:  # real edges of this graph, between its nodes
            assert (src, dst) in kinds and {src, dst} <= set(graph.ids())
        if name in (S.D_GRADIENT, S.D_UPDATE, S.G_GRADIENT, S.G_UPDATE):
            assert {kinds[e] for e in lit} == {"backward"}, name
        elif lit:
            assert {kinds[e] for e in lit} == {"forward"}, name
    view.highlight(None)
    assert view.highlighted_edges == () and view.highlighted == ()
    # WGAN: the D update also drives the clipping; a fixed generator has only G forward's edges of G
    wgan = build_graph(TrainConfig(objective="wgan", clip=0.05), dim=2)
    assert set(wgan.stage_edges(S.D_UPDATE)) == {("update_d", "d"), ("update_d", "clip")}
    assert set(wgan.stage_edges(S.D_LOSS)) == {("d_real", "loss_d"), ("d_fake", "loss_d")}  # no penalty nodes
    fixed = build_graph(TrainConfig(generator="shift"), dim=2)
    assert set(fixed.stage_edges(S.G_FORWARD)) == {("z", "g"), ("g", "fake")}
    assert fixed.stage_edges(S.G_UPDATE) == () and fixed.stage_edges("no such stage") == ()


def _colours_along(image: QtGui.QImage, line, n: int = 60) -> list[str]:
    """The pixel colours at n points along the middle 80 % of a drawn line."""
    out = []
    for i in range(n):
        pt = line.pointAt(0.1 + 0.8 * i / (n - 1))
        out.append(image.pixelColor(round(pt.x()), round(pt.y())).name())
    return out


def test_lit_edges_are_drawn_in_the_highlight_colour_and_only_they_move(qtbot):
    view = _view(qtbot, build_graph(TrainConfig(objective="ns"), dim=2))
    view.show()
    qtbot.waitExposed(view)
    view.set_running(False)  # slow motion pauses the run
    assert not view.timer.isActive()  # live and paused: nothing moves
    view.highlight(S.G_FORWARD)
    assert view.timer.isActive()  # a stage is shown: its edges move
    hl = QtGui.QColor(HIGHLIGHT).name()
    view.phase = 0.0
    first = view.grab().toImage()
    for src, dst in (("z", "g"), ("g", "fake")):
        along = _colours_along(first, view.edge_line(src, dst))
        assert along.count(hl) >= 25, (src, dst, along)  # dashes of 10 px, gaps of 4: most samples are lit
    for src, dst in (("real", "d"), ("loss_d", "grad_d"), ("d", "d_fake")):  # edges of other stages
        along = _colours_along(first, view.edge_line(src, dst))
        assert hl not in along and FORWARD not in along and BACKWARD not in along, (src, dst)  # faded
    view.phase = 5.0  # one tick later: the lit edges' dashes moved, the others did not
    second = view.grab().toImage()
    assert _colours_along(first, view.edge_line("z", "g")) != _colours_along(second, view.edge_line("z", "g"))
    assert _colours_along(first, view.edge_line("real", "d")) == _colours_along(second, view.edge_line("real", "d"))
    view.highlight(S.D_GRADIENT)
    image = view.grab().toImage()
    assert _colours_along(image, view.edge_line("loss_d", "grad_d")).count(hl) >= 25
    assert hl not in _colours_along(image, view.edge_line("z", "g"))
    view.highlight(None)  # back to live mode: nothing lit, the edges in their own colours, still while paused
    assert not view.timer.isActive()
    along = _colours_along(view.grab().toImage(), view.edge_line("loss_d", "grad_d"))
    assert hl not in along and BACKWARD in along


@pytest.fixture
def windows(qtbot, tmp_path):
    factory = window_factory(qtbot, tmp_path, "ovedges", SMALL, size=(1366, 768), interval=0.03, autostart=False)
    yield factory
    for w in factory.made:
        w.shutdown()


def test_slow_motion_window_lights_the_stage_edges_in_the_model_dock(windows, qtbot):
    w = windows(objective="ns", d_steps=1, data="ring8")
    w.session.submit(SetRunning(False))
    w.session.start()
    qtbot.waitUntil(lambda: w.last_snapshot is not None, timeout=60000)
    dock = w.docks["overview"]
    dock.show()
    dock.raise_()
    sm = w.features["slowmo"]
    w.actions_by_name["slowmo"].trigger()
    sm.set_auto(False)
    qtbot.waitUntil(lambda: len(sm.played) == 9 and not sm.waiting, timeout=30000)
    view = w.panel("overview")
    hl = QtGui.QColor(HIGHLIGHT).name()
    seen = []
    for i in range(1, 9):
        sm.next()
        name = sm.played[i].stage.name
        assert view.highlighted_edges == view.graph.stage_edges(name)
        if name in (S.G_FORWARD, S.D_GRADIENT):
            image = view.grab().toImage()
            for src, dst in view.highlighted_edges:
                assert _colours_along(image, view.edge_line(src, dst)).count(hl) >= 20, (name, src, dst)
            seen.append(name)
    assert seen == [S.G_FORWARD, S.D_GRADIENT]
    w.actions_by_name["slowmo"].trigger()  # leaving slow motion: nothing lit
    qtbot.waitUntil(lambda: not sm.active, timeout=5000)
    assert view.highlighted_edges == ()
