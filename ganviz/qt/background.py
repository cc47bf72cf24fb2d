"""Slow file work off the GUI thread, with a progress dialog and Cancel (issue 19.8).

Saving a session while steps take seconds, opening a session of 100k changes, writing the CSV of a million steps:
each froze the window for seconds to minutes. `run_in_background` runs the work in a Python thread; the window keeps
drawing and answering; a non-modal progress dialog shows what is happening (a busy bar until the work reports
progress) and its Cancel asks the work to stop (work that cannot stop midway has its result discarded). The result
or the error arrives in the GUI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6 import QtCore, QtWidgets

Work = Callable[[Callable[[int, int], None], Callable[[], bool]], Any]  # work(progress, cancelled) -> result


class BackgroundJob(QtCore.QObject):
    """One piece of work in a thread. Signals arrive in the GUI thread."""

    progressed = QtCore.Signal(int, int)
    succeeded = QtCore.Signal(object)
    failed = QtCore.Signal(object)  # the exception
    ended = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget, label: str, work: Work, show_after_ms: int = 300) -> None:
        super().__init__(parent)
        self.work = work
        self.result: Any = None
        self.error: BaseException | None = None
        self._cancel = threading.Event()
        self.dialog = QtWidgets.QProgressDialog(label, "Cancel", 0, 0, parent)
        self.dialog.setWindowTitle("ganviz")
        self.dialog.setWindowModality(QtCore.Qt.WindowModality.NonModal)  # the window keeps working
        self.dialog.setMinimumDuration(show_after_ms)  # quick work shows no dialog at all
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.dialog.canceled.connect(self.cancel)
        self.progressed.connect(self._show_progress)
        self._thread = threading.Thread(target=self._run, name="ganviz-background", daemon=True)

    def start(self) -> BackgroundJob:
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._cancel.set()
        self.dialog.setLabelText(self.dialog.labelText() + "\nCancelling…")

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the thread (tests, closing); True if it has ended."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def is_running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            self.result = self.work(self.progressed.emit, self._cancel.is_set)
        except BaseException as e:  # delivered to the GUI thread as a message
            self.error = e
        if self.error is None and not self._cancel.is_set():
            self.succeeded.emit(self.result)
        elif self.error is not None:
            self.failed.emit(self.error)
        self.ended.emit()

    def _show_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.dialog.setMaximum(total)
            self.dialog.setValue(min(done, total))


def run_in_background(parent: QtWidgets.QWidget, label: str, work: Work, on_done: Callable[[Any], None],
                      on_error: Callable[[BaseException], None],
                      on_cancelled: Callable[[], None] | None = None) -> BackgroundJob:
    """Start work(progress, cancelled) in a thread; on_done(result) / on_error(exception) / on_cancelled() then run
    in the GUI thread. The job is kept on the parent (parent.background_jobs) until it ends."""
    job = BackgroundJob(parent, label, work)
    jobs: list[BackgroundJob] = parent.__dict__.setdefault("background_jobs", [])
    jobs.append(job)

    def ended() -> None:
        job.dialog.reset()
        job.dialog.hide()
        if job in jobs:
            jobs.remove(job)
        if job.cancelled and job.error is None and on_cancelled is not None:
            on_cancelled()
        job.dialog.deleteLater()
        job.deleteLater()

    job.succeeded.connect(on_done)
    job.failed.connect(on_error)
    job.ended.connect(ended)
    return job.start()


def cancel_jobs(parent: QtWidgets.QWidget, wait: float = 0.3) -> bool:
    """Ask every job of parent to stop and wait up to `wait` seconds in all (closing the window)."""
    jobs = list(parent.__dict__.get("background_jobs", []))
    for job in jobs:
        job.cancel()
    deadline = QtCore.QDeadlineTimer(int(wait * 1000))
    return all(job.wait(max(0.0, deadline.remainingTime() / 1000)) for job in jobs)
