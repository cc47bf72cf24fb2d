"""The Theory menu: Dirac-GAN phase portrait, JS vs Wasserstein sweep, critic shapes (THEORY.md sections 3, 5).

Each opens in its own non-modal top-level window, created on first use and then re-shown. The windows are
kept on the main window (`window._theory_windows`, name -> widget); closing (or destroying) the main window
closes them, which stops their background training (each view stops its workers in closeEvent).
"""

from __future__ import annotations

import contextlib

from PySide6 import QtCore, QtGui, QtWidgets

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


def _close_all(windows: dict[str, QtWidgets.QWidget]) -> None:
    for w in list(windows.values()):
        with contextlib.suppress(RuntimeError):  # RuntimeError: already deleted by Qt
            w.close()  # closeEvent stops the view's workers (bounded wait)


class _CloseWatcher(QtCore.QObject):
    """Closes the theory windows when the main window receives its Close event."""

    def __init__(self, window: QtWidgets.QWidget, windows: dict[str, QtWidgets.QWidget]) -> None:
        super().__init__(window)
        self._windows = windows
        window.installEventFilter(self)

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802 (Qt API)
        if event.type() == QtCore.QEvent.Type.Close:
            _close_all(self._windows)
        return False


def open_theory_window(window: QtWidgets.QMainWindow, key: str) -> QtWidgets.QWidget:
    """Show the theory window for key ('dirac', 'jsw' or 'shapes'), creating it on first use."""
    windows: dict[str, QtWidgets.QWidget] = window._theory_windows  # type: ignore[attr-defined]
    if key == "dirac":
        w = windows.get("dirac")
        if w is None:
            from ganviz.qt.dirac_view import DiracView

            w = windows["dirac"] = DiracView()
    elif key in ("jsw", "shapes"):
        w = windows.get("jsw")
        if w is None:
            from ganviz.qt.jsw_view import JSWWindow

            w = windows["jsw"] = JSWWindow()
        w.setCurrentIndex(0 if key == "jsw" else 1)
    else:
        raise KeyError(f"unknown theory window {key!r}")
    w.setWindowIcon(window.windowIcon())
    w.show()
    w.raise_()
    w.activateWindow()
    return w


def install(window: QtWidgets.QMainWindow) -> None:
    """Add the Theory menu with one action per view."""
    windows: dict[str, QtWidgets.QWidget] = {}
    window._theory_windows = windows  # type: ignore[attr-defined]
    window._theory_watcher = _CloseWatcher(window, windows)  # type: ignore[attr-defined]
    window.destroyed.connect(lambda *_: _close_all(windows))
    menu = window.menu("Theory")
    actions = {}
    for key, text, shortcut, tip in ACTIONS:
        action = QtGui.QAction(text, window)
        action.setShortcut(QtGui.QKeySequence(shortcut))
        action.setShortcutContext(QtCore.Qt.ShortcutContext.ApplicationShortcut)
        action.setToolTip(f"{tip} ({shortcut})")
        action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False, k=key: open_theory_window(window, k))
        menu.addAction(action)
        actions[key] = action
    window._theory_actions = actions  # type: ignore[attr-defined]
