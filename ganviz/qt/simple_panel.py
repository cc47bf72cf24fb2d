"""The beginner layout's panel: the objective, one learning rate, k, and one headline metric.

A view like any other: it sends typed commands (SetObjective, SetLearningRates, SetSteps) and renders what the
engine applied (`set_config(run_state.config)`, echo without re-sending); `update_snapshot` feeds the headline
metric: mode coverage for mixtures, else the exact W1 distance, else (images) class coverage.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from ..core.commands import Command, SetLearningRates, SetObjective, SetSteps
from ..core.objectives import OBJECTIVES
from . import style

LEARNING_RATES = (1e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2)
HEADLINES = (  # (metric key, title, text of a value) in order of preference: the first the snapshot has
    ("modes_covered", "Modes covered", None),
    ("w1", "W1 distance to the data (lower is better)", "{:.3g}"),
    ("classes_fraction", "Classes covered", "{:.0%}"),
)
HEADLINE_POINTS = 2000


def headline(metrics: dict[str, float]) -> tuple[str, str, float] | None:
    """(key, title, value) of the first headline metric the snapshot's metrics have (a finite value)."""
    for key, title, _fmt in HEADLINES:
        v = metrics.get(key)
        if v is not None and math.isfinite(float(v)):
            return key, title, float(v)
    return None


def headline_text(key: str, value: float, metrics: dict[str, float]) -> str:
    if key == "modes_covered":
        n = metrics.get("n_modes")
        return f"{value:.0f} of {n:.0f}" if n else f"{value:.0f}"
    fmt = next(f for k, _t, f in HEADLINES if k == key)
    return fmt.format(value)


class SimplePanel(QtWidgets.QWidget):
    """Objective, learning rate (both networks), k, and the headline metric over time."""

    command = QtCore.Signal(object)  # a Command for the window to send

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QtWidgets.QVBoxLayout(self)
        form = QtWidgets.QFormLayout()
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.objective = QtWidgets.QComboBox()
        for name, obj in OBJECTIVES.items():
            self.objective.addItem(obj.label, name)
        self.objective.setToolTip("The loss D and G play: switch it live and watch D's field and the fakes react")
        self.objective.currentIndexChanged.connect(
            lambda _i: self._send(SetObjective(self.objective.currentData())))
        self.lr = QtWidgets.QComboBox()
        for lr in LEARNING_RATES:
            self.lr.addItem(f"{lr:g}", lr)
        self.lr.setToolTip("Learning rate of both networks (the full lab sets D's and G's apart)")
        self.lr.currentIndexChanged.connect(
            lambda _i: self._send(SetLearningRates(d_lr=self.lr.currentData(), g_lr=self.lr.currentData())))
        self.k = QtWidgets.QSpinBox()
        self.k.setRange(1, 20)
        self.k.setToolTip("k: D updates per G update")
        self.k.valueChanged.connect(lambda v: self._send(SetSteps(d_steps=int(v))))
        form.addRow("Loss", self.objective)
        form.addRow("Learning rate", self.lr)
        form.addRow("D steps per G step (k)", self.k)
        outer.addLayout(form)
        self.lr_note = QtWidgets.QLabel("")
        self.lr_note.setWordWrap(True)
        self.lr_note.setStyleSheet("color: #707070")
        outer.addWidget(self.lr_note)
        self.title = QtWidgets.QLabel("Headline metric")
        self.title.setWordWrap(True)
        self.value = QtWidgets.QLabel("–")
        font = style.font(22, bold=True)
        self.value.setFont(font)
        outer.addWidget(self.title)
        outer.addWidget(self.value)
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setMinimumHeight(90)
        self.plot.getPlotItem().setLabel("bottom", "step")
        self.curve = self.plot.plot(pen=style.pen(style.palette().disc))
        outer.addWidget(self.plot, 1)
        hint = QtWidgets.QLabel("More settings, plots and tools: View → Full lab")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #707070")
        outer.addWidget(hint)
        self._echo = False
        self.key: str | None = None
        self.steps: list[int] = []
        self.values: list[float] = []

    def _send(self, cmd: Command) -> None:
        if not self._echo:
            self.command.emit(cmd)

    def set_config(self, config: Any) -> None:
        """Show what the engine applied (no command is sent back)."""
        self._echo = True
        try:
            i = self.objective.findData(config.objective)
            if i >= 0:
                self.objective.setCurrentIndex(i)
            best = min(range(len(LEARNING_RATES)), key=lambda j: abs(math.log(LEARNING_RATES[j] / config.d_lr)))
            self.lr.setCurrentIndex(best)
            self.k.setValue(int(config.d_steps))
        finally:
            self._echo = False
        both = math.isclose(config.d_lr, config.g_lr) and math.isclose(LEARNING_RATES[best], config.d_lr)
        self.lr_note.setText("" if both else f"now: D {config.d_lr:g}, G {config.g_lr:g}")
        self.lr_note.setVisible(not both)

    def update_snapshot(self, snap: Any) -> None:
        metrics = getattr(snap, "metrics", {}) or {}
        found = headline(metrics)
        if found is None:
            return
        key, title, value = found
        if key != self.key:
            self.key = key
            self.steps, self.values = [], []
            self.title.setText(title)
        step = int(getattr(snap, "metrics_step", getattr(snap, "step", 0)))
        if not self.steps or step > self.steps[-1]:
            self.steps.append(step)
            self.values.append(value)
            del self.steps[:-HEADLINE_POINTS], self.values[:-HEADLINE_POINTS]
            self.curve.setData(np.asarray(self.steps), np.asarray(self.values))
        self.value.setText(headline_text(key, value, metrics))

    def reset(self) -> None:
        self.key = None
        self.steps, self.values = [], []
        self.curve.setData([], [])
        self.value.setText("–")
