"""The beginner layout (issue 18.4): one screen with a big data view, the loss, learning rate and k, the run
toolbar (play, step, reset, speed), the losses and one headline metric; the full lab one toggle away.

View → Simple layout (or `ganviz --layout simple`) hides every dock but the "Simple lab" panel
(ganviz.qt.simple_panel) and the Losses, both in the left column, so the data view takes the rest of the
window. Turning it off restores the lab's docks exactly as they were (their state is kept in the settings).
The choice persists: the next launch opens in the layout last used, unless `--layout` says otherwise.
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore

from ..host import PanelSpec
from ..layout_choice import take_requested_layout
from ..simple_panel import SimplePanel

DOCK_NAME = "simple"
SHOWN = (DOCK_NAME, "losses")  # the docks of the simple layout
MODE_KEY, LAB_KEY = "layout/mode", "layout/lab_state"  # settings: "simple" | "lab"; the lab's dock state
STATE_VERSION = 18  # of the lab state saved here (independent of the window's own saved layout)
COLUMN_WIDTH = 330  # the left column of the simple layout (px)
Area = QtCore.Qt.DockWidgetArea


class SimpleLayout(QtCore.QObject):
    """Switches the window between the full lab and the simple layout; `simple` says which one shows."""

    def __init__(self, host: Any) -> None:
        super().__init__(host)
        self.host = host
        self.simple = False
        self._data = host.run_state.config.data
        host.add_panel(PanelSpec(DOCK_NAME, "Simple lab", self.build_panel, refresh_rate=2.0,
                                 area=Area.LeftDockWidgetArea, visible=False, cap_minimum=False))
        self.action = host.add_action("layout.simple", "Simple layout", self.set_simple, menu="View",
                                      checkable=True, shortcut="Ctrl+Shift+L",
                                      tip="One screen: the data view, the loss, learning rate and k, the losses "
                                          "and one headline metric (off: the full lab)")
        host.run_state_changed.connect(self._on_run_state)
        host.run_started.connect(lambda _session: self.simple and QtCore.QTimer.singleShot(0, self.arrange))
        requested = take_requested_layout()
        remembered = str(host.settings.value(MODE_KEY, "lab") or "lab")
        self._start = requested or remembered
        # after the window has restored its saved layout (right after installing its features) and has checked it
        # (its own zero-time check, which may replace a saved layout that does not fit the screen by the default)
        QtCore.QTimer.singleShot(0, lambda: QtCore.QTimer.singleShot(0, self._apply_start))

    def build_panel(self) -> SimplePanel:
        panel = SimplePanel()
        panel.set_config(self.host.run_state.config)
        panel.command.connect(self.host.send)
        return panel

    def _on_run_state(self, names: Any) -> None:
        data = self.host.run_state.config.data
        if "config" in names and data != self._data:
            self._data = data
            if self.simple:  # new data may have shown the docks that suit it (images: class coverage)
                self.arrange()
        dock = self.host.docks[DOCK_NAME]
        if "config" in names and dock.is_built():
            self.host.panel(DOCK_NAME).set_config(self.host.run_state.config)

    def _apply_start(self) -> None:
        self._hook_reset_layout()
        if self._start == "simple":
            # the lab's state is kept from an earlier session; on a first simple launch, the current one is it
            self.set_simple(True, keep_lab=self.host.settings.value(LAB_KEY) is not None)
        elif self.host.docks[DOCK_NAME].isVisible():  # a simple layout remembered, the lab asked for
            self.simple = True
            self.set_simple(False)

    def _hook_reset_layout(self) -> None:
        """View → Reset layout gives the lab's default layout: the simple one is then off."""
        for action in self.host.menu("View").actions():
            if action.text() == "Reset layout":
                action.triggered.connect(self._on_layout_reset)

    def _on_layout_reset(self) -> None:
        self.simple = False
        self._show_checked(False)
        self.host.docks[DOCK_NAME].hide()
        self.host.settings.setValue(MODE_KEY, "lab")

    def _show_checked(self, on: bool) -> None:
        blocked = self.action.blockSignals(True)
        self.action.setChecked(on)
        self.action.blockSignals(blocked)

    def set_simple(self, on: bool, keep_lab: bool = False) -> None:
        """Show the simple layout (on) or the full lab; keep_lab: the lab's state saved earlier stays."""
        self._show_checked(on)
        if on == self.simple and not (on and keep_lab):
            return
        host = self.host
        if on:
            if not (keep_lab and host.settings.value(LAB_KEY) is not None):
                host.settings.setValue(LAB_KEY, host.saveState(STATE_VERSION))
            self.simple = True
            self.arrange()
        else:
            self.simple = False
            state = host.settings.value(LAB_KEY)
            host.docks[DOCK_NAME].hide()
            if state is None or not host.restoreState(state, STATE_VERSION):
                self._reset_lab()
            host.docks[DOCK_NAME].hide()
        host.settings.setValue(MODE_KEY, "simple" if on else "lab")
        host.show_message("Simple layout: View → Simple layout (Ctrl+Shift+L) gives the full lab back." if on
                          else "The full lab: View → Simple layout for the one-screen view.", 8000)

    def _reset_lab(self) -> None:
        for action in self.host.menu("View").actions():
            if action.text() == "Reset layout":
                action.trigger()
                return

    def arrange(self) -> None:
        """Only the simple docks, in the left column: the panel above the losses; the data view gets the rest."""
        host = self.host
        if not self.simple:
            return
        for name, dock in host.docks.items():
            if name not in SHOWN:
                dock.hide()
        panel, losses = host.docks[DOCK_NAME], host.docks["losses"]
        for dock in (panel, losses):
            dock.setFloating(False)
            dock.show()
        host.addDockWidget(Area.LeftDockWidgetArea, panel)
        host.splitDockWidget(panel, losses, QtCore.Qt.Orientation.Vertical)
        height = max(300, host.height() - 120)
        host.resizeDocks([panel, losses], [int(height * 0.45), int(height * 0.55)], QtCore.Qt.Orientation.Vertical)
        host.resizeDocks([panel], [COLUMN_WIDTH], QtCore.Qt.Orientation.Horizontal)


def install(host: Any) -> SimpleLayout:
    return SimpleLayout(host)
