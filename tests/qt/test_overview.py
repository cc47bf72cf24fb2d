"""The model overview (issue 18.1): the graph follows the run's config (objective, k, penalties, layers), its
D-output nodes are coloured by a real snapshot's D outputs, and a live switch redraws it (process backend)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtGui

from ganviz.core.commands import SetConfig, SetObjective, SetSteps
from ganviz.core.config import TrainConfig
from ganviz.qt.overview_graph import build_graph
from tests.qt.windows import window_factory

SMALL = dict(d_width=32, g_width=32, d_depth=2, g_depth=2, batch_size=64, n_view=256, grid_size=32,
             mode_samples=500, w1_samples=128, kde_samples=1024)


def test_ns_and_wgan_gp_graphs():
    ns = build_graph(TrainConfig(objective="ns"))
    gp = build_graph(TrainConfig(objective="wgan-gp", gp_lambda=10.0))
    assert "gp" not in ns.ids() and "clip" not in ns.ids()
    assert gp.node("gp").label == "GP λ = 10" and gp.node("gp").kind == "penalty"
    assert ("gp", "loss_d") in [(e.src, e.dst) for e in gp.edges]
    assert "+ λ E_{x̂}" in gp.node("gp").formula[0]
    # labels from the objective row: a probability D for ns, a critic f for WGAN-GP
    assert ns.node("d_fake").label == "D(G(z))" and gp.node("d_fake").label == "f(G(z))"
    assert ns.node("loss_d").formula == ("− E_{x}[log D(x)]", "− E_{z}[log(1 − D(G(z)))]")
    assert gp.node("loss_g").formula == ("− E_{z}[f(G(z))]",)
    # the data flows forward from z to the losses, gradients flow back to the networks they change
    flow = {(e.src, e.dst): e.kind for e in ns.edges}
    assert flow[("z", "g")] == flow[("g", "fake")] == flow[("d_fake", "loss_g")] == "forward"
    assert flow[("update_d", "d")] == flow[("update_g", "g")] == flow[("loss_d", "grad_d")] == "backward"
    # GP weight 0 is off: no node; R1 and WGAN's clipping are nodes of their own
    assert "gp" not in build_graph(TrainConfig(objective="wgan-gp", gp_lambda=0.0)).ids()
    r1 = build_graph(TrainConfig(objective="ns", r1_gamma=2.0))
    assert r1.node("r1").label == "R1 γ = 2" and ("r1", "loss_d") in [(e.src, e.dst) for e in r1.edges]
    assert build_graph(TrainConfig(objective="wgan", clip=0.05)).node("clip").detail.endswith("c = 0.05")


def test_k_and_layers_follow_the_config():
    g = build_graph(TrainConfig(d_steps=3, g_depth=5, g_width=64, d_depth=2, d_width=16, z_dim=4), dim=2)
    assert g.d_steps == 3 and g.node("update_d").label == "D update ×3" and "k = 3" in g.node("update_d").detail
    assert g.node("g").layers == (4, 64, 64, 64, 64, 64, 2)  # z, five hidden layers, the data
    assert g.node("d").layers == (2, 16, 16, 1)
    assert build_graph(TrainConfig(d_steps=1)).node("update_d").label == "D update"
    # a fixed generator has no G to update
    fixed = build_graph(TrainConfig(generator="shift"))
    assert "update_g" not in fixed.ids() and "fixed" in fixed.node("g").label


@pytest.fixture
def windows(qtbot, tmp_path):
    factory = window_factory(qtbot, tmp_path, "overview", SMALL, size=(1400, 900), interval=0.03)
    yield factory
    for w in factory.made:
        w.shutdown()


def test_overview_dock_renders_the_run_and_follows_a_live_switch(windows, qtbot):
    w = windows(objective="ns", d_steps=3, g_depth=4)
    dock = w.docks["overview"]
    dock.show()
    dock.raise_()
    view = w.panel("overview")
    assert view.graph is not None and view.graph.node("update_d").label == "D update ×3"
    assert len(view.graph.node("g").layers) == 6  # z, 4 hidden layers, x
    qtbot.waitUntil(lambda: view.snapshot is not None and view.snapshot.step > 5, timeout=60000)
    snap = view.snapshot
    # D(x) and D(G(z)) nodes take the colour of D's mean output on that batch, in the 2D view's colour map
    cmap = pg.colormap.get("CET-D1")
    for node, values in (("d_real", snap.d_real), ("d_fake", snap.d_fake)):
        expected = cmap.map(float(np.mean(values)), mode="qcolor")  # ns: D is a probability, range 0..1
        got = view.node_colour(node)
        assert max(abs(got.red() - expected.red()), abs(got.green() - expected.green()),
                   abs(got.blue() - expected.blue())) <= 8, (node, got.name(), expected.name())
    assert len(view.sample_colours("fake")) == len(snap.fake) == 256
    # a sample D rates higher is drawn redder (CET-D1: blue = low, red = high)
    order = np.argsort(snap.d_fake)
    lo, hi = view.sample_colours("fake")[order[0]], view.sample_colours("fake")[order[-1]]
    assert snap.d_fake[order[-1]] - snap.d_fake[order[0]] < 0.02 or hi.red() - hi.blue() > lo.red() - lo.blue()
    assert view.timer.isActive()  # the edges animate while the run plays and the dock shows
    phase = view.phase
    qtbot.waitUntil(lambda: view.phase != phase, timeout=3000)
    dock.hide()  # hidden: no animation at all (no CPU)
    assert not view.timer.isActive()
    dock.show()
    assert view.timer.isActive()
    view.set_running(False)  # paused: the data does not flow
    assert not view.timer.isActive()
    view.set_running(True)
    grab = view.grab().toImage()
    assert grab.width() > 200 and grab.pixelColor(view.node_rect("d_real").center().toPoint()).isValid()

    # a live switch (any source: here a command, as a scene's script sends) redraws the graph from the run state
    w.send(SetObjective("wgan-gp"))
    w.send(SetSteps(d_steps=2))
    w.send(SetConfig({"r1_gamma": 1.5}))
    qtbot.waitUntil(lambda: view.graph.objective == "wgan-gp" and view.graph.d_steps == 2
                    and "r1" in view.graph.ids(), timeout=30000)
    assert view.graph.node("gp").label == "GP λ = 10" and view.graph.node("d_real").label == "f(x)"
    assert view.graph.node("update_d").label == "D update ×2"
    assert w.run_state.config.objective == "wgan-gp"  # drawn from what the engine applied


def test_slow_motion_stages_light_up_their_nodes(qtbot):
    from ganviz.core.stages import D_STAGES, G_STAGES
    from ganviz.qt.overview_graph import STAGE_NODES
    from ganviz.qt.overview_view import HIGHLIGHT, OverviewView

    assert set(STAGE_NODES) == set(D_STAGES + G_STAGES)  # every stage the engine plays has its nodes
    view = OverviewView()
    qtbot.addWidget(view)
    view.resize(900, 500)
    view.set_graph(build_graph(TrainConfig(objective="wgan-gp"), dim=2))
    assert view.highlight("D loss") == ("loss_d", "gp")
    image = view.grab().toImage()
    r = view.node_rect("gp")
    border = image.pixelColor(int(r.left() + r.width() / 4), int(r.top()) + 1)  # off the edges' path
    assert border.name() == QtGui.QColor(HIGHLIGHT).name()
    plain = view.node_rect("grad_g")
    assert image.pixelColor(int(plain.left() + plain.width() / 4), int(plain.top()) + 1).name() != border.name()
    assert view.highlight(None) == () and view.highlight("G update") == ("update_g",)
