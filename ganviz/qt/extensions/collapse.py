"""The mode-collapse lab in the window: a "Mode coverage" dock (ganviz.qt.panels.modes) fed with every
drawn snapshot, with the remedy settings (unrolling, packing, minibatch features) sent as commands, and
fixed-noise trails on the 2D data view, toggled from the dock.

The dock is tabbed with the Metrics dock the first time (afterwards the saved layout places it). Loading a
`collapse-*` scene raises the dock and turns the trails on.
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore

from ...core.snapshot import Snapshot
from ..panels.modes import ModesPanel

DOCK_NAME = "modes"


def install(window: Any) -> ModesPanel:
    panel = ModesPanel()
    dock = window.add_dock(DOCK_NAME, "Mode coverage", panel, QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
    saved = window.settings.value("state")
    if saved is not None and f"dock_{DOCK_NAME}".encode() in bytes(saved):
        window.restoreDockWidget(dock)  # where the user left it last time
    elif "metrics" in window.docks:
        window.tabifyDockWidget(window.docks["metrics"], dock)
        window.docks["metrics"].raise_()
    panel.attach_trails(window.data2d.plot, getattr(window.data2d, "legend", None))
    panel.remedies.command.connect(window.send)
    panel.remedies.set_config(window.session.config)
    state: dict[str, Any] = {"session": window.session, "scene": getattr(window, "current_scene", None)}

    def on_drawn(snapshot: Any) -> None:
        if not isinstance(snapshot, Snapshot):
            return
        if window.session is not state["session"]:  # window.restart / load_scene: a new run
            state["session"] = window.session
            panel.reset()
            scene = getattr(window, "current_scene", None)
            if scene is not None and scene is not state["scene"]:
                state["scene"] = scene
                if str(getattr(scene, "name", "")).startswith("collapse-"):
                    dock.show()
                    dock.raise_()
                    panel.set_show_trails(True)
        panel.update_snapshot(snapshot)

    window.snapshot_drawn.connect(on_drawn)
    return panel
