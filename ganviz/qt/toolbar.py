"""The run toolbar: play/pause, step D, step G, step both, reset, speed. Sends typed commands only."""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtGui, QtWidgets

from ..core.commands import Command, Reset, SetRunning, SetSpeed, StepBoth, StepD, StepG

SPEEDS: list[tuple[str, float | None]] = [
    ("1 step/s", 1.0), ("3 steps/s", 3.0), ("10 steps/s", 10.0), ("1 step per frame (25/s)", 25.0),
    ("100 steps/s", 100.0), ("Full speed", None),
]


class RunToolbar(QtWidgets.QToolBar):
    """Toolbar whose actions call send(command). Keyboard: Space, D, G, S, R."""

    def __init__(self, parent: QtWidgets.QWidget, send: Callable[[Command], None]) -> None:
        super().__init__("Training", parent)
        self.setObjectName("toolbar_training")
        self.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._send = send
        style = parent.style()
        sp = QtWidgets.QStyle.StandardPixmap

        def action(text: str, icon: QtWidgets.QStyle.StandardPixmap, shortcut: str, tip: str, slot) -> QtGui.QAction:
            a = QtGui.QAction(style.standardIcon(icon), text, parent)
            a.setShortcut(QtGui.QKeySequence(shortcut))
            a.setToolTip(f"{tip} ({shortcut})")
            a.triggered.connect(slot)
            self.addAction(a)
            return a

        self.play_action = action("Pause", sp.SP_MediaPause, "Space", "Play / pause training", self.toggle_running)
        self.play_action.setCheckable(True)
        self.play_action.setChecked(True)
        self.step_d_action = action("Step D", sp.SP_MediaSeekForward, "D", "One discriminator update",
                                    lambda: send(StepD()))
        self.step_g_action = action("Step G", sp.SP_MediaSeekForward, "G", "One generator update",
                                    lambda: send(StepG()))
        self.step_both_action = action("Step", sp.SP_MediaSkipForward, "S",
                                       "One full iteration: k D updates, then the G updates",
                                       lambda: send(StepBoth()))
        self.reset_action = action("Reset", sp.SP_BrowserReload, "R", "Re-initialise the networks from the seed",
                                   lambda: send(Reset()))
        self.addSeparator()
        self.addWidget(QtWidgets.QLabel(" Speed "))
        self.speed = QtWidgets.QComboBox()
        for text, value in SPEEDS:
            self.speed.addItem(text, value)
        self.speed.setCurrentIndex(len(SPEEDS) - 1)
        self.speed.setToolTip("Training speed: slow motion shows every single step; full speed trains as fast "
                              "as the machine allows and draws about 20 frames per second")
        self.speed.currentIndexChanged.connect(lambda _i: send(SetSpeed(self.speed.currentData())))
        self.addWidget(self.speed)

    def show_speed(self, speed: float | None) -> None:
        """Show the engine's speed (a scene's hint, a replay) without sending it back."""
        best = min(range(len(SPEEDS)), key=lambda i: abs((SPEEDS[i][1] or 1e9) - (speed or 1e9)))
        if best != self.speed.currentIndex():
            blocked = self.speed.blockSignals(True)
            self.speed.setCurrentIndex(best)
            self.speed.blockSignals(blocked)

    def toggle_running(self) -> None:
        running = self.play_action.isChecked()
        self.show_running(running)
        self._send(SetRunning(running))

    def show_running(self, running: bool) -> None:
        sp = QtWidgets.QStyle.StandardPixmap
        self.play_action.setChecked(running)
        self.play_action.setText("Pause" if running else "Play")
        self.play_action.setIcon(self.parentWidget().style().standardIcon(
            sp.SP_MediaPause if running else sp.SP_MediaPlay))
