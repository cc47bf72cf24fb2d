"""Start-up marks of the `ganviz` window, for `ganviz bench --startup` (a script; standard library at the top).

    python path/to/startup_probe.py MARKS_FILE STOP_FILE -- [ganviz options]

runs `ganviz.cli.main(options)` and appends one line per mark to MARKS_FILE, "name<TAB>time.time()<TAB>value":
- "torch": torch has finished importing in the window's process (value: the thread that imported it);
- "window": the window is up: the main window and its controls have been painted, and then the event loop
  has run a zero-delay timer posted after those paints (so the window is drawn, shows the controls, and
  answers events);
- "frame": the first snapshot of a trained step (step >= 1) has been drawn by every panel;
- "snap": every drawn snapshot after that (value: its step), from which the bench reads the training rate.
The window closes (a normal shutdown) as soon as STOP_FILE exists. The bench times from just before it
starts this process, so Python's own start-up counts.

The hooks sit outside the application (an import hook wraps `ganviz.qt.app.make_app` and reads the main
window's `snapshot_drawn` signal), so the same probe measures the code of any revision that has those two,
which is how docs/BENCHMARKS.md compares before and after. It is run as a file, so the training process
(started with spawn) imports it as `__mp_main__`: nothing below runs there but these imports.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
import threading
import time

_out = None
_lock = threading.Lock()


def mark(name: str, value: object = "") -> None:
    with _lock:
        if _out is not None:
            _out.write(f"{name}\t{time.time():.6f}\t{value}\n")
            _out.flush()


class _AfterImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Runs a callback right after a module has been executed (the module's own loader does the work)."""

    def __init__(self, hooks: dict) -> None:
        self.hooks = hooks
        self._busy: set[str] = set()

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.hooks or fullname in self._busy:
            return None
        self._busy.add(fullname)
        try:
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        finally:
            self._busy.discard(fullname)
        if spec is None or spec.loader is None:
            return None
        self._inner = getattr(self, "_inner", {})
        self._inner[fullname] = spec.loader
        spec.loader = self
        return spec

    def create_module(self, spec):
        return self._inner[spec.name].create_module(spec)

    def exec_module(self, module) -> None:
        self._inner[module.__name__].exec_module(module)
        self.hooks[module.__name__](module)


def _watch_app(app_module) -> None:
    make_app = app_module.make_app

    def wrapped(*args, **kwargs):
        app = make_app(*args, **kwargs)
        _install(app)
        return app

    app_module.make_app = wrapped


def _install(app) -> None:
    from PySide6 import QtCore, QtWidgets

    stop_file = os.environ["GANVIZ_PROBE_STOP"]
    state = {"window": None, "painted": set(), "marked": False, "frame": False}

    def main_window():
        for w in app.topLevelWidgets():
            if type(w).__name__ == "MainWindow" and hasattr(w, "controls"):
                return w
        return None

    def on_snapshot(snap) -> None:
        step = getattr(snap, "step", 0)
        if step >= 1 and not state["frame"]:
            state["frame"] = True
            mark("frame", step)
        if state["frame"]:
            mark("snap", step)

    class Filter(QtCore.QObject):
        def eventFilter(self, obj, event):  # noqa: N802 (Qt API)
            if event.type() == QtCore.QEvent.Type.Paint and not state["marked"] and isinstance(obj, QtWidgets.QWidget):
                win = state["window"] or main_window()
                if win is not None and obj.window() is win:
                    if state["window"] is None:
                        state["window"] = win
                        win.snapshot_drawn.connect(on_snapshot)
                    controls = getattr(win, "controls", None)
                    if obj is win:
                        state["painted"].add("window")
                    elif controls is not None and (obj is controls or controls.isAncestorOf(obj)):
                        state["painted"].add("controls")
                    if state["painted"] == {"window", "controls"}:
                        state["marked"] = True
                        QtCore.QTimer.singleShot(0, lambda: mark("window"))
            return False

    probe_filter = Filter(app)
    app.installEventFilter(probe_filter)

    def check_stop() -> None:
        if os.path.exists(stop_file):
            timer.stop()
            win = state["window"] or main_window()
            if win is not None:
                win.close()
            app.quit()

    timer = QtCore.QTimer(app)
    timer.timeout.connect(check_stop)
    timer.start(50)
    app._ganviz_probe = (probe_filter, timer)  # kept alive with the app


def _watch_torch(module) -> None:
    mark("torch", threading.current_thread().name)


def main(argv: list[str]) -> int:
    global _out
    sep = argv.index("--") if "--" in argv else len(argv)
    marks, stop = argv[:sep]
    _out = open(marks, "a", encoding="utf-8")  # noqa: SIM115 (open for the process's life)
    os.environ["GANVIZ_PROBE_STOP"] = stop
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or ".") == here:
        sys.path.pop(0)  # this file's folder (ganviz/cli/) would shadow top-level modules by its files' names
    sys.meta_path.insert(0, _AfterImport({"ganviz.qt.app": _watch_app, "torch": _watch_torch}))
    from ganviz.cli import main as ganviz_main

    return ganviz_main(argv[sep + 1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
