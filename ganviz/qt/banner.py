"""A non-modal strip above the data view that says what happened to the training run and offers what to do.

Shown when the training process died or failed ("failed": red, with Restart training) or stopped answering
("stalled": amber). A modal box would block the window (and any test driving it); this strip leaves the last
drawn state on screen and every control usable.
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtWidgets

from . import text_bounds

COLOURS = {"failed": ("#fdecea", "#8a1c12", "#e0a39c"), "stalled": ("#fff6e0", "#6b4a00", "#e6cf8f"),
           "info": ("#e8f1fb", "#1d3f66", "#a9c6e6")}
MAX_MESSAGE_CHARS = 600  # a child's message is shown in words; the full text is under Details


class RunBanner(QtWidgets.QFrame):
    """One message at a time: kind ("failed", "stalled", "info"), text, optional details and a restart button."""

    restart_requested = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("run_banner")
        self.kind = ""
        self.details = ""
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 6, 6)
        self.label = QtWidgets.QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        lay.addWidget(self.label, 1)
        self.details_button = QtWidgets.QPushButton("Details…")
        self.details_button.setToolTip("The training process's own report (traceback)")
        self.details_button.clicked.connect(self._show_details)
        lay.addWidget(self.details_button)
        self.restart_button = QtWidgets.QPushButton("Restart training")
        self.restart_button.setToolTip("Start a new training process from the current settings (step 0); "
                                       "Reset and Play do the same")
        self.restart_button.clicked.connect(self.restart_requested)
        lay.addWidget(self.restart_button)
        close = QtWidgets.QToolButton()
        close.setText("✕")
        close.setToolTip("Hide this message")
        close.setAutoRaise(True)
        close.clicked.connect(self.clear)
        lay.addWidget(close)
        self.hide()

    def show_message(self, kind: str, text: str, details: str = "", restart: bool = True) -> None:
        self.kind, self.details = kind, details
        bg, fg, border = COLOURS.get(kind, COLOURS["info"])
        self.setStyleSheet(f"QFrame#run_banner {{ background: {bg}; border: 1px solid {border}; border-radius: 4px; }}"
                           f" QFrame#run_banner QLabel {{ color: {fg}; }}")
        self.label.setText(text_bounds.clean(text, MAX_MESSAGE_CHARS))
        self.label.setToolTip(text_bounds.clean(text, 4000) if len(text) > MAX_MESSAGE_CHARS else "")
        self.details_button.setVisible(bool(details))
        self.restart_button.setVisible(restart)
        self.show()

    def show_failure(self, message: str, failure: Any, last_snapshot: Any) -> str:
        """The training process died or failed (`failure`: its ChildFailed, if any): say so, with the last drawn
        state kept and a restart offered. Returns " at step N" of the last snapshot ("" before any)."""
        step = f" at step {last_snapshot.step}" if last_snapshot is not None else ""
        self.show_message("failed", f"{message}\nTraining has stopped{step}; the last state stays on screen. "
                          "Restart training (or Reset, or Play) starts a new training process from the current "
                          "settings.", failure.details if failure is not None else "")
        return step

    def clear(self) -> None:
        self.kind, self.details = "", ""
        self.hide()

    def text(self) -> str:
        return self.label.text() if self.isVisible() or not self.isHidden() else ""

    def _show_details(self) -> None:
        box = QtWidgets.QMessageBox(self.window())
        box.setIcon(QtWidgets.QMessageBox.Icon.Information)
        box.setWindowTitle("ganviz: what the training process reported")
        box.setText(self.label.text())
        box.setDetailedText(text_bounds.clean(self.details, 20000, keep_newlines=True))
        box.setModal(False)
        box.open()
