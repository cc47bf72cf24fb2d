"""Both Theory tabs in one top-level window."""

from __future__ import annotations

from PySide6 import QtGui, QtWidgets

from ganviz.core import jsw

from .shapes import CriticShapeView
from .sweep import JSWSweepView


class JSWWindow(QtWidgets.QTabWidget):
    """Both tabs in one top-level window (the Theory menu opens it on either tab)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None, autostart: bool = True,
                 sweep_settings: jsw.SweepSettings | None = None,
                 shape_settings: jsw.ShapeSettings | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("ganviz — JS versus Wasserstein")
        self.sweep = JSWSweepView(settings=sweep_settings, autostart=autostart)
        self.shapes = CriticShapeView(settings=shape_settings, autostart=autostart)
        self.addTab(self.sweep, "JS vs Wasserstein sweep")
        self.addTab(self.shapes, "Critic shape: clipping vs gradient penalty")
        self.resize(1300, 820)

    def stop_jobs(self, timeout: float = 3.0) -> bool:
        a = self.sweep.stop_jobs(timeout)
        b = self.shapes.stop_jobs(timeout)
        return a and b

    def is_busy(self) -> bool:
        return self.sweep.is_busy() or self.shapes.is_busy()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 (Qt API)
        self.stop_jobs()
        super().closeEvent(event)
