"""A top-level window that draws one training run and outlives its training process (compare, ensemble).

When the child dies (killed, crashed), fails (an exception in a step) or stops answering (SIGSTOP), a
non-modal banner above the views says so in words (the exit code or the child's exception; its traceback under
Details), the last drawn state stays on screen, and Restart training, Reset or Play start a new child from the
current settings (a step starts one paused and steps it). A modal box would block the window, and any test
driving it, until someone clicks it.

A subclass builds its views, calls `attach(session)` once, puts `with_banner(views)` in the window, and
implements `make_session()` (a new TrainingSession from the current settings), `on_snapshot(snapshot)` and
`run_replaced()` (its views start empty for the new run).
"""

from __future__ import annotations

import time

from PySide6 import QtCore, QtWidgets

from ..core.commands import Command, Reset, SetRunning, StepBoth, StepD, StepG
from .banner import RunBanner
from .toolbar import RunToolbar
from .worker import TrainingSession

RESTARTING = (Reset, SetRunning, StepD, StepG, StepBoth)  # commands that start a new child after a failure
STEPS = (StepD, StepG, StepBoth)
STOP_SECONDS = 10.0  # the old child's stop, SIGKILL included (a stopped child is killed at once)


def starts_new_child(session: TrainingSession, cmd: Command) -> bool:
    """Reset, Play or a step once the child has failed, or Reset while it does not answer: start a new one."""
    starts = isinstance(cmd, RESTARTING) and (not isinstance(cmd, SetRunning) or cmd.running)
    return starts and (session.failure is not None or (bool(session.stall) and isinstance(cmd, Reset)))


class SessionWindow(QtWidgets.QMainWindow):
    """The failure handling shared by the compare and ensemble windows (see the module docstring)."""

    session: TrainingSession
    toolbar: RunToolbar

    def __init__(self) -> None:
        super().__init__()
        self.banner = RunBanner()
        self.banner.restart_requested.connect(self.restart_training)
        self.status = QtWidgets.QLabel("")  # step, rate and device; "stopped" when the child has failed
        self.statusBar().addPermanentWidget(self.status)
        self.last_snapshot = None
        self.restarts = 0  # new training processes started after a failure or a stall

    # -------------------------------------------------------------- for subclasses
    def make_session(self) -> TrainingSession:
        """A new TrainingSession (not started) from the current settings."""
        raise NotImplementedError

    def on_snapshot(self, snap: object) -> None:
        raise NotImplementedError

    def run_replaced(self) -> None:
        """A new training process replaced the old one: the views start empty (the new run starts at step 0)."""

    def with_banner(self, views: QtWidgets.QWidget) -> QtWidgets.QWidget:
        """views with the banner above them (hidden until there is something to say)."""
        box = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.banner)
        lay.addWidget(views, 1)
        return box

    def attach(self, session: TrainingSession) -> None:
        self.session = session
        session.snapshot.connect(self.on_snapshot)
        session.failed.connect(self.on_failed)
        session.stalled.connect(self.on_stalled)

    # -------------------------------------------------------------- commands
    def send(self, cmd: Command) -> None:
        if starts_new_child(self.session, cmd):
            self.restart_training(paused=isinstance(cmd, STEPS))
            if isinstance(cmd, STEPS):
                self.session.submit(cmd)
            return
        self.session.submit(cmd)

    def restart_training(self, paused: bool = False) -> None:
        """Start a new training process from the current settings; the old one is ended (SIGKILL if stopped)."""
        old = self.session
        deadline = time.monotonic() + STOP_SECONDS
        while not old.stop(timeout=1.0) and time.monotonic() < deadline:
            QtCore.QCoreApplication.processEvents()
        for signal, slot in ((old.snapshot, self.on_snapshot), (old.failed, self.on_failed),
                             (old.stalled, self.on_stalled)):
            signal.disconnect(slot)
        QtCore.QTimer.singleShot(3000, old.deleteLater)  # after its worker's last queued signal
        self.attach(self.make_session())
        self.banner.clear()
        self.last_snapshot = None
        self.status.setText("starting a new training process...")
        self.run_replaced()
        if paused:
            self.session.submit(SetRunning(False))
        self.toolbar.show_running(not paused)
        self.session.start()
        self.restarts += 1
        self.statusBar().showMessage("Started a new training process from the current settings (step 0).", 10000)

    # -------------------------------------------------------------- what happened
    def on_failed(self, message: str) -> None:
        """The child died or failed: say what happened, keep the last drawn state, offer a restart."""
        self.toolbar.show_running(False)
        step = self.banner.show_failure(message, self.session.failure, self.last_snapshot)
        self.status.setText(f"stopped{step}")

    def on_stalled(self, message: str) -> None:
        """The child stopped answering (message), or answers again ("")."""
        if message:
            self.banner.show_message("stalled", message)
            self.status.setText("not answering")
        elif self.banner.kind == "stalled":
            self.banner.clear()
            self.statusBar().showMessage("The training process answers again.", 8000)
