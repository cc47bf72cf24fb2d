"""Application entry: QApplication, the main window, and `--screenshot PNG --after SECONDS`."""

from __future__ import annotations

import os
import sys

from ..core.config import TrainConfig

_collector = None  # the GUI thread's garbage collector (one per process)
WINDOW_INTERVAL = 0.027  # MainWindow's snapshot interval: a prestarted training process is adopted only if equal
# (the frame cap: 33/s; issue 20 asks >= 30 frames/s, docs/BENCHMARKS.md has the A/B against 0.045)


def make_app():
    """The QApplication (made once), with pyqtgraph's options and garbage collection in the GUI thread."""
    import pyqtgraph as pg
    from PySide6 import QtWidgets

    pg.setConfigOptions(antialias=False, useOpenGL=False, background="w", foreground="k")
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("ganviz")
    app.setOrganizationName("ganviz")
    collect_garbage_in_gui_thread()
    return app


def safe_mode() -> bool:
    """`ganviz --safe-mode`: start with the default layout and settings, resume no scene."""
    from PySide6 import QtWidgets

    app = QtWidgets.QApplication.instance()
    return bool(app is not None and app.property("ganviz_safe_mode"))


def set_safe_mode(on: bool) -> None:
    from PySide6 import QtWidgets

    app = QtWidgets.QApplication.instance()
    if app is not None:
        app.setProperty("ganviz_safe_mode", bool(on))


def collect_garbage_in_gui_thread(interval: float = 0.5) -> None:
    """Python's cyclic garbage collector runs in whichever thread happens to allocate: with training in a worker
    thread, that thread would delete closed windows' Qt objects. Qt objects must die in the GUI thread; from a
    worker, shiboken and Qt take their locks in the opposite order to the GUI thread and the process deadlocks
    (seen: the training thread in gc -> ~QMenu waiting for the GIL, the GUI thread holding the GIL and waiting for
    the Qt lock). pyqtgraph's GarbageCollector turns automatic collection off and collects from a GUI-thread timer
    instead, generation by generation with the usual thresholds. Idempotent; call it from the GUI thread."""
    global _collector
    if _collector is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        _collector = GarbageCollector(interval=interval)


def run_events(seconds: float, until=None) -> None:
    """Run Qt's event loop for `seconds` (or until `until()` is true, checked every 50 ms), sleeping while
    idle as app.exec() does. Benchmarks and soaks use this: a processEvents() loop would spin a core and hold
    the GIL, which starves the window's receiver thread and charges the window for the spinning."""
    from PySide6 import QtCore

    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(max(0, int(seconds * 1000)), loop.quit)
    poll = None
    if until is not None:
        if until():
            return
        poll = QtCore.QTimer()
        poll.timeout.connect(lambda: until() and loop.quit())
        poll.start(50)
    loop.exec()
    if poll is not None:
        poll.stop()


def warm_up_after_paint(threads: int, window=None) -> None:
    """Import torch and the engine's view code in a thread, then set torch's thread count in the GUI thread:
    once the window has drawn its first frame (a MainWindow's first frame needs no torch here, see
    process.first_frame; loading torch's libraries holds the GIL, which would stall that frame), else once the
    event loop runs after the first paint (a compare window)."""
    import threading

    from PySide6 import QtCore

    app = QtCore.QCoreApplication.instance()

    def set_threads() -> None:
        import torch

        torch.set_num_threads(max(1, threads))

    def load() -> None:
        try:
            from .worker import yield_cpu_to_training

            yield_cpu_to_training()  # the training process (starting, or training) comes first on 2 cores
            import torch

            from ..core import compare, trainer  # noqa: F401  (what materialising a snapshot needs)

            torch.set_num_threads(max(1, threads))
        except Exception:  # a broken install is reported by the training process, in words
            return
        QtCore.QTimer.singleShot(0, app, set_threads)

    def start(*_args) -> None:
        if not started:
            started.append(True)
            threading.Thread(target=load, name="ganviz-warm-up", daemon=True).start()

    started: list[bool] = []
    drawn = getattr(window, "snapshot_drawn", None)
    if drawn is not None:
        drawn.connect(start)
    else:
        QtCore.QTimer.singleShot(0, start)


def run_app(config: TrainConfig, screenshot: str | None = None, after: float = 3.0, threads: int = 1,
            scene=None, compare: list[str] | None = None, with_settings: bool = False,
            safe: bool = False) -> int:
    """Open the window (training starts at once). With screenshot, save a PNG after `after` s and exit.

    Fast on stage (issue 20): the training process is started first, so it imports torch and builds its
    Trainer on another core while this process builds the window; this process imports torch only after the
    window has drawn its first frame (`warm_up_after_paint`)."""
    if not compare:
        from ..core.process import prestart

        prestart(scene.config if scene is not None else config, WINDOW_INTERVAL, threads=threads)
    from PySide6 import QtCore

    from .main_window import MainWindow

    app = make_app()
    set_safe_mode(safe)
    settings = None
    if safe:  # defaults: a fresh settings file, so no saved layout or scene takes part
        import tempfile

        fd, name = tempfile.mkstemp(prefix="ganviz-safe-", suffix=".ini")
        os.close(fd)
        settings = QtCore.QSettings(name, QtCore.QSettings.Format.IniFormat)
    if screenshot:  # a screenshot run should not read or overwrite the user's saved layout
        settings = QtCore.QSettings(QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Scope.UserScope,
                                    "ganviz", "ganviz-screenshot")
        settings.clear()
    if compare:
        from .compare_window import CompareWindow

        window = CompareWindow(config, compare, threads=threads)
    else:
        window = MainWindow(config, settings=settings, threads=threads, autostart=scene is None)
        window.launched_with_settings = with_settings  # `ganviz --data ...`: never resume the last scene
        if scene is not None:
            window.load_scene(scene)
    window.show()
    warm_up_after_paint(threads, window)
    status = {"code": 0}
    if screenshot:
        def grab() -> None:
            pixmap = window.grab()
            if not pixmap.save(screenshot):
                print(f"ganviz: error: could not write screenshot to {screenshot!r}", file=sys.stderr)
                status["code"] = 1
            else:
                step = window.last_snapshot.step if window.last_snapshot else 0
                print(f"ganviz: screenshot saved to {screenshot} (step {step})")
            window.close()

        QtCore.QTimer.singleShot(int(after * 1000), grab)
    app.exec()
    window.shutdown()
    settle_before_exit()
    return status["code"]


def settle_before_exit(seconds: float = 5.0) -> None:
    """Wait for a torch import still under way in a thread (the warm-up, or the receiver's first lazy snapshot),
    then for the pool threads (the receivers, told to stop) to end, before the interpreter shuts down under them:
    closing the window within a few seconds of launch crashed at exit (SIGSEGV) otherwise."""
    from PySide6 import QtCore

    if "torch" in sys.modules:
        import torch  # noqa: F401  (returns once the other thread's import has finished)
    QtCore.QThreadPool.globalInstance().waitForDone(int(seconds * 1000))
