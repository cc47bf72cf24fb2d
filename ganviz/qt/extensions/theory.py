"""The Theory menu: Dirac-GAN phase portrait, JS vs Wasserstein sweep, critic shapes (THEORY.md sections 3, 5).

Each opens in its own non-modal top-level window, created on first use and then re-shown. The feature keeps
them (`window.features["theory"].get("dirac")`); closing (or destroying) the main window closes them, which
stops their background training (each view stops its workers in closeEvent).
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtWidgets

from ..host import OpenWindows

# (key, menu text, shortcut, tip). Ctrl+Shift+letter: plain letters belong to the toolbar (Space, D, G, S, R)
# and Ctrl+digit is left free for scene presets and compare panes.
ACTIONS = (
    ("dirac", "Dirac-GAN phase portrait", "Ctrl+Shift+D",
     "The (θ, ψ) plane of the Dirac-GAN: vector field, draggable trajectory, eigenvalues (Mescheder et al. 2018)"),
    ("jsw", "JS vs Wasserstein sweep", "Ctrl+Shift+J",
     "Fixed generator shifted by θ: JSD estimate stuck at log 2 vs the critic's W1 estimate (WGAN Example 1)"),
    ("shapes", "Critic shape: clipping vs gradient penalty", "Ctrl+Shift+K",
     "Weight-clipped vs gradient-penalty critic on the same data (WGAN-GP paper, Figure 1)"),
)


def open_theory_window(window: QtWidgets.QMainWindow, key: str) -> QtWidgets.QWidget:
    """Show the theory window for key ('dirac', 'jsw' or 'shapes'), creating it on first use."""
    windows: OpenWindows = window.features["theory"]
    if key == "dirac":
        w = windows.get("dirac")
        if w is None:
            from ganviz.qt.dirac_view import DiracView

            w = windows.add(DiracView(), "dirac")
    elif key in ("jsw", "shapes"):
        w = windows.get("jsw")
        if w is None:
            from ganviz.qt.jsw_view import JSWWindow

            w = windows.add(JSWWindow(), "jsw")
        w.setCurrentIndex(0 if key == "jsw" else 1)
    else:
        raise KeyError(f"unknown theory window {key!r}")
    w.setWindowIcon(window.windowIcon())
    w.show()
    w.raise_()
    w.activateWindow()
    return w


def install(host: Any) -> OpenWindows:
    """Add the Theory menu with one action per view."""
    windows = OpenWindows(host)
    for key, text, shortcut, tip in ACTIONS:
        action = host.add_action(f"theory_{key}", text, lambda _checked=False, k=key: open_theory_window(host, k),
                                 menu="Theory", shortcut=shortcut, tip=tip)
        action.setToolTip(f"{tip} ({shortcut})")
        action.setShortcutContext(QtCore.Qt.ShortcutContext.ApplicationShortcut)
    return windows
