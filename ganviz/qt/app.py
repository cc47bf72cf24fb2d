"""Application entry: QApplication, the main window, and `--screenshot PNG --after SECONDS`."""

from __future__ import annotations

import sys

from ..core.config import TrainConfig


def make_app():
    import pyqtgraph as pg
    from qtpy import QtWidgets

    pg.setConfigOptions(antialias=False, useOpenGL=False, background="w", foreground="k")
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("ganviz")
    app.setOrganizationName("ganviz")
    return app


def run_events(seconds: float, until=None) -> None:
    """Run Qt's event loop for `seconds` (or until `until()` is true, checked every 50 ms), sleeping while
    idle as app.exec() does. Benchmarks and soaks use this: a processEvents() loop would spin a core and hold
    the GIL, which starves the window's receiver thread and charges the window for the spinning."""
    from qtpy import QtCore

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


def run_app(config: TrainConfig, screenshot: str | None = None, after: float = 3.0, threads: int = 1,
            scene=None, compare: list[str] | None = None) -> int:
    """Open the window (training starts at once). With screenshot, save a PNG after `after` s and exit."""
    import torch
    from qtpy import QtCore

    from .main_window import MainWindow

    torch.set_num_threads(max(1, threads))
    app = make_app()
    settings = None
    if screenshot:  # a screenshot run should not read or overwrite the user's saved layout
        settings = QtCore.QSettings(QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Scope.UserScope,
                                    "ganviz", "ganviz-screenshot")
        settings.clear()
    if compare:
        from .compare_window import CompareWindow

        window = CompareWindow(config, compare, threads=threads)
    else:
        window = MainWindow(config, settings=settings, threads=threads, autostart=scene is None)
        if scene is not None:
            window.load_scene(scene)
    window.show()
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
    return status["code"]
