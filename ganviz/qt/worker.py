"""The bridge between a Trainer and the GUI thread: a superqt GeneratorWorker with back-pressure.

The trainer trains in a pool thread and yields lazy snapshots at most every `interval` seconds, and only
once the GUI has drawn the previous one (`frame_done()`), so the event queue never floods and nothing is
lost: history and events accumulate in the trainer until the next snapshot. Controls call `submit()` with
typed commands; they apply at the next step boundary.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from qtpy.QtCore import QObject, Signal
from superqt.utils import GeneratorWorker

from ..core.commands import Command
from ..core.snapshot import Snapshot
from ..core.trainer import Trainer


class TrainingSession(QObject):
    """Owns the training thread of one Trainer. Signals arrive in the GUI thread."""

    snapshot = Signal(object)  # a lazy Snapshot; call .materialized() before drawing
    failed = Signal(str)  # the training thread raised; the message says what happened
    stopped = Signal()

    def __init__(self, trainer: Trainer, interval: float = 0.04, metrics_interval: float = 0.5,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.trainer = trainer
        self.interval = interval
        self.metrics_interval = metrics_interval
        self._ready = threading.Event()
        self._ready.set()
        self._done = threading.Event()
        self._done.set()
        self._stop = threading.Event()
        self._worker: GeneratorWorker | None = None

    # -------------------------------------------------------------- lifecycle
    def _loop(self) -> Iterator[Snapshot | None]:
        try:
            for snap in self.trainer.run(snapshot_interval=self.interval, metrics_interval=self.metrics_interval,
                                         ready=self._ready.is_set):
                if self._stop.is_set():
                    return  # returning (not superqt's quit) runs this finally block promptly
                if snap is not None:
                    self._ready.clear()
                yield snap
                if self._stop.is_set():
                    return
        finally:
            self._done.set()

    def start(self) -> None:
        if self.is_running():
            return
        self._done.clear()
        self._stop.clear()
        self._ready.set()
        worker = GeneratorWorker(self._loop)
        worker.yielded.connect(self._on_yielded)
        worker.errored.connect(self._on_error)
        worker.finished.connect(self.stopped)
        self._worker = worker
        worker.start()

    def is_running(self) -> bool:
        return not self._done.is_set()

    def stop(self, timeout: float = 1.0) -> bool:
        """Ask the thread to finish and wait up to timeout seconds; True if it has."""
        self._stop.set()
        self._ready.set()
        ok = self._done.wait(timeout)
        self._worker = None
        return ok

    # -------------------------------------------------------------- traffic
    def submit(self, command: Command) -> None:
        self.trainer.submit(command)

    def frame_done(self) -> None:
        """The GUI has drawn the last snapshot; the trainer may send the next."""
        self._ready.set()

    def _on_yielded(self, snap: Snapshot | None) -> None:
        if snap is not None:
            self.snapshot.emit(snap)

    def _on_error(self, exc: Exception) -> None:
        self._done.set()
        self.failed.emit(f"{type(exc).__name__}: {exc}")
