"""Compare menu: "Ensemble of seeds...": the current set-up trained as N seeds in lock-step (one batched
model), in a window of its own that shows the spread of outcomes (ganviz.qt.ensemble_window)."""

from __future__ import annotations

from PySide6 import QtWidgets

from ...core.commands import SetRunning
from ...core.config import ConfigError
from ...core.images.distribution import is_image_data
from ..host import OpenWindows

DEFAULT_SEEDS = 16


def open_ensemble(window, n_seeds: int):
    """Open an EnsembleWindow on the main window's current config; the main run pauses (they would share
    the CPU). An unsupported config (packing, unrolling, minibatch features, a fixed generator) is
    explained in a message box instead, and nothing is paused."""
    from ...core.ensemble import check_ensemble_config  # torch: imported when an ensemble is opened
    from ..ensemble_window import EnsembleWindow

    config = window.session.config
    try:
        if is_image_data(config.data):
            raise ConfigError("the ensemble batches the MLP models of the 1D / 2D toy data; image runs (DCGAN) "
                              "are not batched. Choose a toy dataset first.")
        check_ensemble_config(config, n_seeds)
    except ConfigError as exc:
        QtWidgets.QMessageBox.information(window, "Ensemble of seeds", f"This set-up cannot be batched:\n\n{exc}")
        return None
    window.send(SetRunning(False))
    window.toolbar.show_running(False)
    ew = EnsembleWindow(config, n_seeds, backend=window.session.backend)
    feature = window.features.get("ensemble")
    if feature is None:
        feature = window.features["ensemble"] = OpenWindows(window)
    feature.add(ew)
    ew.show()
    window.statusBar().showMessage(f"Ensemble of {n_seeds} seeds opened; this window's run is paused (Space "
                                   "resumes it).", 8000)
    return ew


def install(host) -> OpenWindows:
    feature = OpenWindows(host)

    def ask_and_open() -> None:
        from .. import ensemble_window

        n = ensemble_window.ask_seeds(host, DEFAULT_SEEDS)
        if n is not None:
            open_ensemble(host, n)

    host.add_action("ensemble", "Ensemble of seeds...", ask_and_open, menu="Compare", shortcut="Ctrl+Shift+E",
                    tip="Train N seeds of this set-up side by side (one batched model): is mode collapse bad luck "
                    "or the rule?")
    return feature
