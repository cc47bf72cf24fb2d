"""Compare menu: open the current set-up as a side-by-side comparison of objectives (compare mode)."""

from __future__ import annotations

from qtpy import QtGui, QtWidgets

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


def install(window) -> None:
    from ..compare_window import ask_objectives

    menu = window.menu("Compare")
    quick = menu.addAction("Non-saturating vs WGAN-GP")
    quick.setShortcut(QtGui.QKeySequence("Ctrl+K"))
    quick.setToolTip("Same data, seed and initial weights; JS-based GAN beside a Wasserstein critic")
    quick.triggered.connect(lambda: open_comparison(window, ["ns", "wgan-gp"]))
    pick = menu.addAction("Compare objectives...")
    pick.setShortcut(QtGui.QKeySequence("Ctrl+Alt+K"))
    pick.triggered.connect(lambda: (lambda objs: objs and open_comparison(window, objs))(ask_objectives(window)))

    def close_all() -> None:
        for cw in getattr(window, "_compare_windows", []):
            cw.close()

    window.destroyed.connect(close_all)
    window.about_to_close = getattr(window, "about_to_close", []) + [close_all]
