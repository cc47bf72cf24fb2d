"""The presentation toolbar: what a lecturer changes live without leaving presentation mode.

The objective (a dropdown that shows what trains, from the window's run state), play/pause, step D, step G,
step, reset (the window's own actions) and the speed (mirroring the run toolbar's box). Shown only while
presenting; the controls dock is hidden then.
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtWidgets
from superqt.utils import signals_blocked

from ..core.commands import SetObjective
from ..core.objectives import OBJECTIVES


class PresentationBar(QtWidgets.QToolBar):
    """A toolbar for `window` (a MainWindow): objective, run actions and speed; hidden until shown."""

    def __init__(self, window: Any) -> None:
        super().__init__("Presentation", window)
        self.setObjectName("toolbar_presentation")
        self.setMovable(False)
        self.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.window_ = window
        self.addWidget(QtWidgets.QLabel(" Loss "))
        self.objective = QtWidgets.QComboBox()
        for name, obj in OBJECTIVES.items():
            self.objective.addItem(obj.label, name)
        self.objective.setToolTip("The objective that trains now; choosing one switches it live")
        self.objective.currentIndexChanged.connect(self._objective_chosen)
        self.addWidget(self.objective)
        self.addSeparator()
        for action in (window.play_action, window.step_d_action, window.step_g_action, window.step_both_action,
                       window.reset_action):
            self.addAction(action)
        self.addSeparator()
        self.addWidget(QtWidgets.QLabel(" Speed "))
        self.speed = QtWidgets.QComboBox()
        for i in range(window.speed.count()):
            self.speed.addItem(window.speed.itemText(i), window.speed.itemData(i))
        self.speed.currentIndexChanged.connect(lambda i: window.speed.setCurrentIndex(i))
        window.speed.currentIndexChanged.connect(self._show_speed)
        self.addWidget(self.speed)
        self._shown: str | None = None  # the objective last shown (a choice stays until the engine applies it)
        window.snapshot_drawn.connect(lambda _snap: self.render())
        self.render()
        self.hide()

    def _objective_chosen(self, _index: int) -> None:
        name = self.objective.currentData()
        if name and name != self.window_.run_state.config.objective:
            self.window_.send(SetObjective(name))

    def _show_speed(self, index: int) -> None:
        with signals_blocked(self.speed):
            self.speed.setCurrentIndex(index)

    def render(self) -> None:
        """Show what trains (the run state) and the speed, without sending anything back."""
        trained = self.window_.run_state.config.objective
        if trained != self._shown:
            self._shown = trained
            with signals_blocked(self.objective):
                self.objective.setCurrentIndex(max(0, self.objective.findData(trained)))
        self._show_speed(self.window_.speed.currentIndex())
