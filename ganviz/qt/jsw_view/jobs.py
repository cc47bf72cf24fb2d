"""A generator function run in superqt's thread pool, stoppable at its next yield (the Theory views' training)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import torch
from PySide6 import QtCore
from superqt.utils import GeneratorWorker


class BackgroundJob(QtCore.QObject):
    """Run a generator function in superqt's thread pool; what it yields arrives as `yielded` in the GUI
    thread. `stop()` asks it to end at its next yield and waits (bounded) until it has. The worker thread
    uses the torch intra-op thread count of the thread that created the job."""

    yielded = QtCore.Signal(object)
    finished = QtCore.Signal(bool)  # True: ran to the end; False: stopped or failed
    failed = QtCore.Signal(str)

    def __init__(self, fn: Callable[..., Iterator], *args: object, parent: QtCore.QObject | None = None,
                 **kwargs: object) -> None:
        super().__init__(parent)
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._stop = threading.Event()
        self._done = threading.Event()
        self._done.set()
        self._worker: GeneratorWorker | None = None
        self._error = False
        self._threads = torch.get_num_threads()

    def _loop(self) -> Iterator[object]:
        try:
            if self._threads is not None:
                # torch's intra-op thread count is per OS thread (OpenMP): a pool thread starts with the default
                # (all cores) and competes with the window for them; use the GUI process's setting (5x faster
                # for these small MLPs on two busy cores)
                torch.set_num_threads(self._threads)
            for item in self._fn(*self._args, **self._kwargs):
                if self._stop.is_set():
                    return
                yield item
                if self._stop.is_set():
                    return
        finally:
            self._done.set()

    def start(self) -> None:
        self._stop.clear()
        self._done.clear()
        worker = GeneratorWorker(self._loop)
        worker.yielded.connect(self._on_yielded)
        worker.errored.connect(self._on_error)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        worker.start()

    def is_running(self) -> bool:
        return not self._done.is_set()

    def stop(self, timeout: float = 3.0) -> bool:
        """Ask the generator to stop at its next yield; True once its thread has left it (within timeout)."""
        self._stop.set()
        # not superqt's quit(): it abandons the generator without resuming it, so the finally block that
        # marks it done would never run; the stop event ends the generator at its next yield instead
        return self._done.wait(timeout)

    def _on_yielded(self, item: object) -> None:
        if not self._stop.is_set():
            self.yielded.emit(item)

    def _on_error(self, exc: Exception) -> None:
        self._error = True
        self.failed.emit(f"{type(exc).__name__}: {exc}")

    def _on_finished(self) -> None:
        self._worker = None
        self.finished.emit(not self._stop.is_set() and not self._error)
