"""Compare menu: open the current set-up as a side-by-side comparison of objectives (compare mode)."""

from __future__ import annotations

import shiboken6
from PySide6 import QtGui, QtWidgets

from ...core.commands import SetRunning
from ...core.images.distribution import is_image_data


def open_comparison(window, objectives: list[str]):
    """Open a CompareWindow on the main window's current config; the main run pauses (one CPU, two runs)."""
    from ..compare_window import CompareWindow

    if is_image_data(window.session.config.data):
        QtWidgets.QMessageBox.information(
            window, "Compare objectives", "Compare mode draws the 1D / 2D toy data (D's field, exact W1 and JSD "
            "side by side); it has no image panes yet. Choose a toy dataset first, or run the image scenes "
            "one after the other (Scenes: DCGAN on digits, WGAN-GP on digits).")
        return None
    window.send(SetRunning(False))
    window.toolbar.show_running(False)
    cw = CompareWindow(window.session.config, objectives, backend=window.session.backend)
    window._compare_windows = [w for w in getattr(window, "_compare_windows", []) if w.isVisible()] + [cw]
    cw.show()
    window.statusBar().showMessage("Comparison opened; this window's run is paused (Space resumes it).", 8000)
    return cw


def open_sweep_results(window, path: str | None = None):
    """Compare -> Open sweep results...: a JSONL file of `ganviz sweep` as a heatmap; a click on a cell starts
    that run in this window. Returns the SweepWindow (None if nothing was opened)."""
    from ...sweep.store import read_rows
    from ..sweep_window import SweepWindow

    if path is None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(window, "Open sweep results", "",
                                                        "Sweep results (*.jsonl);;All files (*)")
        if not path:
            return None
    try:
        rows, bad = read_rows(path)
    except (OSError, UnicodeDecodeError) as e:
        QtWidgets.QMessageBox.warning(window, "Open sweep results", f"Cannot read {path}: {e}")
        return None
    if not rows:
        QtWidgets.QMessageBox.warning(window, "Open sweep results", f"{path} has no sweep rows "
                                      "(one JSON object per line, as `ganviz sweep --out` writes).")
        return None

    def open_run(config) -> None:
        window.restart(config)
        window.raise_()
        window.statusBar().showMessage(f"Opened a sweep run (seed {config.seed}) from {path}", 8000)

    sw = SweepWindow(rows, title=f"Sweep results: {path}")
    sw.open_config.connect(open_run)
    if bad:
        sw.info.setText(sw.info.text() + f" ({bad} unreadable line(s) skipped.)")
    window._sweep_windows = [w for w in getattr(window, "_sweep_windows", []) if w.isVisible()] + [sw]
    sw.show()
    return sw


def ask_objectives(window):
    from ..compare_window import ask_objectives as ask  # torch: imported when the dialog opens (issue 20)

    return ask(window)


def install(window) -> None:
    menu = window.menu("Compare")
    quick = menu.addAction("Non-saturating vs WGAN-GP")
    quick.setShortcut(QtGui.QKeySequence("Ctrl+K"))
    quick.setToolTip("Same data, seed and initial weights; JS-based GAN beside a Wasserstein critic")
    quick.triggered.connect(lambda: open_comparison(window, ["ns", "wgan-gp"]))
    pick = menu.addAction("Compare objectives...")
    pick.setShortcut(QtGui.QKeySequence("Ctrl+Alt+K"))
    pick.triggered.connect(lambda: (lambda objs: objs and open_comparison(window, objs))(ask_objectives(window)))
    sweep = menu.addAction("Open sweep results...")
    sweep.setToolTip("A `ganviz sweep` JSONL file as a phase diagram; click a cell to run it here")
    sweep.triggered.connect(lambda: open_sweep_results(window))

    def close_all() -> None:
        for cw in getattr(window, "_compare_windows", []) + getattr(window, "_sweep_windows", []):
            if shiboken6.isValid(cw):  # at exit Qt may have deleted it already (no traceback on quit)
                cw.close()

    window.destroyed.connect(close_all)
    window.about_to_close = getattr(window, "about_to_close", []) + [close_all]
