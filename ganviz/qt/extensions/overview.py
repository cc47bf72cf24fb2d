"""The model overview (issue 18.1): a "Model" dock that draws the run as a data-flow graph, GAN Lab style.

z -> G (its layers) -> fakes; real samples; D -> D(x) on both -> the objective's D and G losses (formula
under the graph) -> gradients -> updates, with penalties (WGAN-GP's GP, R1) and WGAN's clipping as their own
nodes and k D steps on D's update. The graph is rebuilt from the window's run state (ganviz.core.runstate:
the config the engine applied), so a switch made anywhere (controls, a scene's script, a replayed session)
shows here; snapshots feed the small multiples on the nodes (ganviz.qt.overview_view).
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore

from ..host import PanelSpec
from ..overview_graph import Graph, build_graph, data_dim
from ..overview_view import OverviewView

DOCK_NAME = "overview"
REFRESH_HZ = 3.0  # small multiples per second (~10 ms a render at 480x900: ~3 % of a core); the graph: per change


class OverviewFeature(QtCore.QObject):
    """Registers the Model dock and keeps its graph equal to the run state's config."""

    def __init__(self, host: Any) -> None:
        super().__init__(host)
        self.host = host
        self.view: OverviewView | None = None
        host.add_panel(PanelSpec(DOCK_NAME, "Model", self.build_panel, refresh_rate=REFRESH_HZ,
                                 tab_with="losses"))
        host.run_state_changed.connect(self.on_run_state_changed)
        host.run_started.connect(lambda _session: self.render_graph())

    def build_panel(self) -> OverviewView:
        self.view = OverviewView()
        self.render_graph()
        return self.view

    def graph(self) -> Graph:
        """The graph of what trains now (the run state's config)."""
        config = self.host.run_state.config
        snap = getattr(self.host, "last_snapshot", None)
        dim = snap.dim if snap is not None and getattr(snap, "config", None) == config else data_dim(config)
        return build_graph(config, dim)

    def render_graph(self) -> None:
        if self.view is not None:
            self.view.set_graph(self.graph())
            self.view.set_running(self.host.run_state.running)

    def show_stage(self, stage: str | None) -> tuple[str, ...]:
        """Slow motion (issue 18.2): light up the nodes of this stage and the edges that carry its data
        (ganviz.core.stages names; None: none). Returns the nodes."""
        view = self.host.panel(DOCK_NAME)
        return view.highlight(stage)

    def on_run_state_changed(self, names: Any) -> None:
        if self.view is None:
            return
        if "config" in names:
            self.render_graph()
        elif "running" in names:
            self.view.set_running(self.host.run_state.running)


def install(host: Any) -> OverviewFeature:
    return OverviewFeature(host)
