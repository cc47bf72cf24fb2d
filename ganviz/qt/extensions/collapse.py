"""The mode-collapse lab in the window: a "Mode coverage" dock (ganviz.qt.panels.modes) fed with every
drawn snapshot of toy data, with the remedy settings (unrolling, packing, minibatch features) sent as
commands, and fixed-noise trails on the 2D data view, toggled from the dock.

The dock is tabbed with the Metrics dock the first time (afterwards the saved layout places it). Loading a
`collapse-*` scene raises the dock and turns the trails on.
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore

from ..host import EVERY_FRAME, PanelSpec
from ..panels.modes import ModesPanel

DOCK_NAME = "modes"


class CollapseFeature(QtCore.QObject):
    """Builds the Mode coverage panel when its dock is first shown and raises it for collapse scenes."""

    def __init__(self, host: Any) -> None:
        super().__init__(host)
        self.host = host
        host.add_panel(PanelSpec(DOCK_NAME, "Mode coverage", self.build_panel, refresh_rate=EVERY_FRAME,
                                 applies_to="toy", tab_with="metrics"))
        host.run_started.connect(self.on_run_started)

    def build_panel(self) -> ModesPanel:
        panel = ModesPanel()
        panel.attach_trails(self.host.data2d.plot, getattr(self.host.data2d, "legend", None))
        panel.remedies.command.connect(self.host.send)
        panel.remedies.set_config(self.host.run_state.config)
        return panel

    def on_run_started(self, _session: Any) -> None:
        scene = self.host.current_scene
        if scene is not None and str(getattr(scene, "name", "")).startswith("collapse-"):
            QtCore.QTimer.singleShot(0, self._show_for_scene)  # after the scene's own view hints

    def _show_for_scene(self) -> None:
        dock = self.host.docks[DOCK_NAME]
        dock.show()
        dock.raise_()
        self.host.panel(DOCK_NAME).set_show_trails(True)


def install(host: Any) -> CollapseFeature:
    return CollapseFeature(host)
