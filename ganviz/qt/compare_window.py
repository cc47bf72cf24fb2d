"""Compare mode: two to four runs in lock-step in one window, each pane with its own live controls, one
set of play / step / reset controls for all, and shared metric plots overlaying the runs.

Like the main window, the engine (a CompareTrainer) runs in a child process by default and the window only
draws; with two or more cores its runs are spread over one process per core (shard processes, synchronised
at every snapshot, so the panes stay in lock-step). Each run is bit-identical to the same config trained alone.
A child that dies or fails is said in a banner, and Reset / Play / Restart start a new one (SessionWindow).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6 import QtCore, QtWidgets
from superqt.utils import signals_blocked

from ..core.commands import Command, SetConfig, command_for_change
from ..core.compare import MAX_RUNS, CompareSnapshot, ForRun, comparison_configs
from ..core.config import FIELDS, TrainConfig
from ..core.objectives import OBJECTIVES
from ..core.snapshot import EventKind, Snapshot
from .panels.data1d import Data1DPanel
from .panels.data2d import Data2DPanel
from .panels.overlay import RUN_COLOURS, RUN_NAMES, OverlayPanel
from .session_window import SessionWindow
from .toolbar import RunToolbar
from .worker import TrainingSession

PANE_KEYS = ["objective", "d_lr", "g_lr", "d_steps"]


class RunPane(QtWidgets.QFrame):
    """One run: its live controls (objective, learning rates, k) and its data view."""

    def __init__(self, index: int, config: TrainConfig, dim: int, send: Callable[[Command], None]) -> None:
        super().__init__()
        self.index = index
        self._send = send
        self.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self.setStyleSheet(f"RunPane {{ border: 2px solid {RUN_COLOURS[index]}; border-radius: 4px; }}")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        # two rows (the objective, then its numbers): one row made a pane ~750 px wide, so two runs did not fit a
        # 1366 px screen and four needed ~3000 px
        header = QtWidgets.QHBoxLayout()
        numbers = QtWidgets.QHBoxLayout()
        badge = QtWidgets.QLabel(f" Run {RUN_NAMES[index]} ")
        badge.setStyleSheet(f"background: {RUN_COLOURS[index]}; color: white; font-weight: bold; "
                            "border-radius: 3px; padding: 2px;")
        header.addWidget(badge)
        self.widgets: dict[str, QtWidgets.QWidget] = {}
        combo = QtWidgets.QComboBox()
        for i, (name, obj) in enumerate(OBJECTIVES.items()):
            combo.addItem(obj.label, name)
            combo.setItemData(i, f"{obj.d_formula}\n{obj.g_formula}", QtCore.Qt.ItemDataRole.ToolTipRole)
        combo.setCurrentIndex(combo.findData(config.objective))
        combo.setToolTip("This run's objective; changes apply at the next step")
        combo.currentIndexChanged.connect(lambda _i: self._changed("objective", combo.currentData()))
        header.addWidget(combo, 1)
        self.widgets["objective"] = combo
        for key, label in (("d_lr", "D lr"), ("g_lr", "G lr")):
            spin = QtWidgets.QDoubleSpinBox()
            spin.setDecimals(6)
            spin.setRange(FIELDS[key].metadata["lo"], FIELDS[key].metadata["hi"])
            spin.setStepType(QtWidgets.QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
            spin.setKeyboardTracking(False)
            spin.setValue(getattr(config, key))
            spin.setToolTip(FIELDS[key].metadata["help"])
            spin.valueChanged.connect(lambda v, k=key: self._changed(k, float(v)))
            numbers.addWidget(QtWidgets.QLabel(label))
            numbers.addWidget(spin)
            self.widgets[key] = spin
        k = QtWidgets.QSpinBox()
        k.setRange(1, 20)
        k.setValue(config.d_steps)
        k.setToolTip(FIELDS["d_steps"].metadata["help"])
        k.setKeyboardTracking(False)
        k.valueChanged.connect(lambda v: self._changed("d_steps", int(v)))
        numbers.addWidget(QtWidgets.QLabel("k"))
        numbers.addWidget(k)
        numbers.addStretch(1)
        self.widgets["d_steps"] = k
        self.paper_button = QtWidgets.QPushButton("Paper defaults")
        self.paper_button.setToolTip("Set this run's optimiser, learning rates and k to what its objective's paper "
                                     "uses (WGAN-GP: Adam 1e-4, betas (0, 0.9), lambda = 10, n_critic = 5)")
        self.paper_button.clicked.connect(self.apply_paper_defaults)
        header.addWidget(self.paper_button)
        layout.addLayout(header)
        layout.addLayout(numbers)
        self.formula = QtWidgets.QLabel()
        self.formula.setStyleSheet("font-family: monospace; font-size: 9pt;")
        self.formula.setWordWrap(True)
        layout.addWidget(self.formula)
        self.view: Data1DPanel | Data2DPanel = Data1DPanel() if dim == 1 else Data2DPanel()
        layout.addWidget(self.view, 1)
        self.summary = QtWidgets.QLabel("")
        layout.addWidget(self.summary)
        self.config = config  # as the engine applied it (from the snapshots)
        self._show_formula(config.objective)

    def apply_paper_defaults(self) -> None:
        defaults = OBJECTIVES[self.widgets["objective"].currentData()].paper_defaults
        if defaults:
            self._send(SetConfig(dict(defaults)))

    def _changed(self, key: str, value: Any) -> None:
        if key == "objective":
            self._show_formula(value)
        self._send(command_for_change(key, value))

    def _show_formula(self, name: str) -> None:
        o = OBJECTIVES[name]
        self.formula.setText(f"{o.d_formula}\n{o.g_formula}")
        self.paper_button.setEnabled(bool(o.paper_defaults))

    def settings(self) -> TrainConfig:
        """This run's config with what its controls show now (a change made while no child ran included)."""
        return self.config.replace(**{key: w.currentData() if isinstance(w, QtWidgets.QComboBox) else w.value()
                                      for key, w in self.widgets.items()})

    def set_config(self, config: TrainConfig) -> None:
        self.config = config
        for key, w in self.widgets.items():
            with signals_blocked(w):
                if isinstance(w, QtWidgets.QComboBox):
                    w.setCurrentIndex(w.findData(getattr(config, key)))
                else:
                    w.setValue(getattr(config, key))
        self._show_formula(config.objective)

    def update_snapshot(self, snap: Snapshot) -> None:
        self.view.update_snapshot(snap)
        m = snap.metrics
        parts = [f"step {snap.step}"]
        if m.get("w1") is not None:
            parts.append(f"W1 {m['w1']:.3f}")
        if m.get("jsd_est") == m.get("jsd_est") and m.get("jsd_est") is not None:
            parts.append(f"JSD est {m['jsd_est']:.3f} nats")
        if m.get("critic_gap") == m.get("critic_gap") and m.get("critic_gap") is not None:
            parts.append(f"critic gap {m['critic_gap']:.3f}")
        if m.get("modes_covered") is not None:
            parts.append(f"modes {m['modes_covered']:.0f}/{m.get('n_modes', 0):.0f}")
        self.summary.setText("   ".join(parts))


class CompareWindow(SessionWindow):
    """Runs of one base config with different objectives, side by side, in lock-step."""

    snapshot_drawn = QtCore.Signal(object)

    def __init__(self, base: TrainConfig, objectives: Sequence[str] = ("ns", "wgan-gp"), backend: str = "process",
                 interval: float = 0.05, autostart: bool = True, threads: int = 1,
                 paper_defaults: bool = True) -> None:
        """paper_defaults: each run starts from its objective's paper settings (WGAN-GP with the NS optimiser
        settings fails where the lesson says it works); same data, seed and initial weights either way."""
        super().__init__()
        configs = comparison_configs(base, objectives)
        if paper_defaults:
            configs = [c.replace(**OBJECTIVES[c.objective].paper_defaults) for c in configs]
        self.setWindowTitle("ganviz — compare: " + " vs ".join(OBJECTIVES[o].label for o in objectives))
        self.base, self.backend, self.interval, self.threads = base, backend, interval, threads
        self.attach(TrainingSession(base, backend=backend, interval=interval, threads=threads, parent=self,
                                    compare=configs))
        self.trainer = self.session.trainer  # a CompareTrainer with backend="thread"
        self.toolbar = RunToolbar(self, self.send_all)
        self.addToolBar(self.toolbar)
        dim = self.session.dim
        central = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        panes_widget = QtWidgets.QWidget()
        panes_layout = QtWidgets.QHBoxLayout(panes_widget)
        panes_layout.setContentsMargins(2, 2, 2, 2)
        self.panes = [RunPane(i, c, dim, lambda cmd, i=i: self.send_all(ForRun(i, cmd)))
                      for i, c in enumerate(configs)]
        for pane in self.panes:
            panes_layout.addWidget(pane)
        central.addWidget(panes_widget)
        self.overlay = OverlayPanel(len(configs))
        self.overlay.set_run_labels([OBJECTIVES[o].label for o in objectives])
        central.addWidget(self.overlay)
        central.setSizes([620, 300])
        self.setCentralWidget(self.with_banner(central))
        self.frames = 0
        self.resize(1500, 950)
        if autostart:
            self.session.start()

    def send_all(self, cmd: Command) -> None:
        self.send(cmd)

    def make_session(self) -> TrainingSession:
        """A new comparison from what each pane shows now."""
        configs = [pane.settings() for pane in self.panes]
        return TrainingSession(self.base, backend=self.backend, interval=self.interval, threads=self.threads,
                               parent=self, compare=configs)

    def run_replaced(self) -> None:
        self.trainer = self.session.trainer
        self.overlay.reset()
        for pane in self.panes:
            pane.view.reset()

    def on_snapshot(self, snap: CompareSnapshot) -> None:
        try:
            snap = snap.materialized()
            if any(e.kind == EventKind.RESET for e in snap.events):
                self.overlay.reset()
                for pane in self.panes:
                    pane.view.reset()
            for pane, s in zip(self.panes, snap.runs, strict=True):
                pane.update_snapshot(s)
                if s.config is not None and s.config != pane.config:  # what trains, whatever changed it
                    pane.set_config(s.config)
            self.overlay.update_compare(snap)
            self.overlay.set_run_labels([OBJECTIVES[s.objective].label for s in snap.runs])
            rate = snap.runs[0].steps_per_sec
            self.status.setText(f"step {snap.step}   {rate:.0f} steps/s (each run)   device: {snap.runs[0].device}")
            if snap.running != self.toolbar.play_action.isChecked():
                self.toolbar.show_running(snap.running)
            for ev in snap.events:
                if ev.kind == EventKind.DIVERGED:
                    self.statusBar().showMessage(f"A run diverged at step {ev.step} (NaN/Inf): rolled back, all runs "
                                                 "paused. Lower its learning rate or add a penalty.", 20000)
            self.last_snapshot = snap
            self.frames += 1
            self.snapshot_drawn.emit(snap)
        finally:
            self.session.frame_done()

    def shutdown(self) -> bool:
        return self.session.stop(timeout=1.0)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.shutdown()
        super().closeEvent(event)


def ask_objectives(parent: QtWidgets.QWidget, default: Sequence[str] = ("ns", "wgan-gp")) -> list[str] | None:
    """A small dialog: how many runs (2-4) and each run's objective."""
    dialog = QtWidgets.QDialog(parent)
    dialog.setWindowTitle("Compare objectives")
    form = QtWidgets.QFormLayout(dialog)
    count = QtWidgets.QSpinBox()
    count.setRange(2, MAX_RUNS)
    count.setValue(len(default))
    form.addRow("Runs", count)
    combos = []
    for i in range(MAX_RUNS):
        combo = QtWidgets.QComboBox()
        for name, obj in OBJECTIVES.items():
            combo.addItem(obj.label, name)
        combo.setCurrentIndex(combo.findData(default[i] if i < len(default) else "lsgan"))
        combos.append(combo)
        form.addRow(f"Run {RUN_NAMES[i]}", combo)

    def show_rows() -> None:
        for i, combo in enumerate(combos):
            combo.setEnabled(i < count.value())

    count.valueChanged.connect(show_rows)
    show_rows()
    buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                         | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    form.addRow(buttons)
    if dialog.exec() != QtWidgets.QDialog.DialogCode.Accepted:
        return None
    return [combos[i].currentData() for i in range(count.value())]
