"""Compare menu: open the current set-up as a side-by-side comparison of objectives (compare mode), and sweep
results as a phase diagram. The windows it opens are kept by the feature and closed with the main window."""

from __future__ import annotations

from typing import Any

from PySide6 import QtWidgets

from ...core.commands import SetRunning
from ...core.images.distribution import is_image_data
from ..host import OpenWindows


def _windows(window: Any) -> OpenWindows:
    feature = window.features.get("compare")
    if feature is None:  # opened before (or without) the feature's install: keep them anyway
        feature = window.features["compare"] = OpenWindows(window)
    return feature


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
    _windows(window).add(cw)
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
    _windows(window).add(sw)
    sw.show()
    return sw


def ask_objectives(window):
    from ..compare_window import ask_objectives as ask  # torch: imported when the dialog opens (issue 20)

    return ask(window)


def install(host) -> OpenWindows:
    feature = OpenWindows(host)
    host.add_action("compare_quick", "Non-saturating vs WGAN-GP", lambda: open_comparison(host, ["ns", "wgan-gp"]),
                    menu="Compare", shortcut="Ctrl+K",
                    tip="Same data, seed and initial weights; JS-based GAN beside a Wasserstein critic")

    def pick() -> None:
        objectives = ask_objectives(host)
        if objectives:
            open_comparison(host, objectives)

    host.add_action("compare_pick", "Compare objectives...", pick, menu="Compare", shortcut="Ctrl+Alt+K")
    host.add_action("open_sweep", "Open sweep results...", lambda: open_sweep_results(host), menu="Compare",
                    tip="A `ganviz sweep` JSONL file as a phase diagram; click a cell to run it here")
    return feature
