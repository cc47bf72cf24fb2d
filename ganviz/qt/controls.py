"""The left dock: one widget per config field, built from the field's own range and help text.

Controls only send typed commands (signal `command`); they never touch the trainer. `set_config()` echoes
the trainer's config back without re-emitting (signals_blocked), so there are no echo loops.
"""

from __future__ import annotations

from typing import Any

from qtpy import QtCore, QtWidgets
from superqt.utils import signals_blocked

from ..core.commands import Command, SetConfig, command_for_change
from ..core.config import FIELDS, TrainConfig
from ..core.distributions import DATASETS
from ..core.objectives import OBJECTIVES

GROUPS: list[tuple[str, list[str]]] = [
    ("Scene", ["data", "ring_radius", "ring_std", "generator", "shift_x", "shift_y", "noise_sigma"]),
    ("Objective", ["objective"]),
    ("Optimisation", ["d_optimizer", "g_optimizer", "d_lr", "g_lr", "beta1", "beta2", "momentum",
                      "d_steps", "g_steps", "batch_size"]),
    ("Regularisers", ["r1_gamma", "gp_lambda", "clip", "instance_noise", "instance_noise_decay",
                      "label_smoothing"]),
    ("Mode-collapse remedies", ["unroll", "pack", "mbdisc", "mbdisc_dim", "mbstd"]),
    ("Noise prior", ["z_prior", "z_dim"]),
    ("Architecture (changes re-initialise)", ["g_depth", "g_width", "d_depth", "d_width", "activation"]),
    ("Run", ["seed", "device"]),
]

LABELS = {
    "data": "Dataset", "ring_radius": "Ring radius", "ring_std": "Ring std", "generator": "Generator",
    "shift_x": "Shift θx", "shift_y": "Shift θy", "noise_sigma": "Noise σ", "objective": "Loss",
    "d_optimizer": "D optimiser", "g_optimizer": "G optimiser", "d_lr": "D learning rate",
    "g_lr": "G learning rate", "beta1": "Adam β1", "beta2": "Adam β2", "momentum": "SGD momentum",
    "d_steps": "D steps / iter (k)", "g_steps": "G steps / iter", "batch_size": "Batch size",
    "r1_gamma": "R1 γ", "gp_lambda": "GP λ", "clip": "Clip c", "instance_noise": "Instance noise σ",
    "instance_noise_decay": "Noise decay / iter", "label_smoothing": "Label smoothing",
    "z_prior": "Prior p(z)", "z_dim": "z dimension", "g_depth": "G depth", "g_width": "G width",
    "d_depth": "D depth", "d_width": "D width", "activation": "Activation", "seed": "Seed", "device": "Device",
    "unroll": "Unroll k steps", "pack": "Pack m (PacGAN)", "mbdisc": "Minibatch disc. B",
    "mbdisc_dim": "Minibatch disc. C", "mbstd": "Minibatch std",
}

LOG_KEYS = {"d_lr", "g_lr"}  # spin boxes that step by factors, not increments


def _choices(key: str) -> list[tuple[str, str, str]]:
    """(value, text, tooltip) for combo-box fields."""
    if key == "data":
        return [(n, f"{n} ({i.dim}D)", i.description) for n, i in DATASETS.items()]
    if key == "objective":
        return [(n, o.label, f"{o.d_formula}\n{o.g_formula}\n[{o.reference}]") for n, o in OBJECTIVES.items()]
    return [(c, c, "") for c in FIELDS[key].metadata["choices"]]


class ControlPanel(QtWidgets.QScrollArea):
    """Scrollable form of grouped controls. Emits `command(Command)` on every user change."""

    command = QtCore.Signal(object)

    def __init__(self, config: TrainConfig, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QtWidgets.QWidget()
        outer = QtWidgets.QVBoxLayout(body)
        outer.setContentsMargins(4, 4, 4, 4)
        self.widgets: dict[str, QtWidgets.QWidget] = {}
        self._config = config
        for title, keys in GROUPS:
            box = QtWidgets.QGroupBox(title)
            form = QtWidgets.QFormLayout(box)
            form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            for key in keys:
                w = self._make_widget(key, getattr(config, key))
                label = QtWidgets.QLabel(LABELS.get(key, key))
                tip = self._tooltip(key)
                label.setToolTip(tip)
                w.setToolTip(tip)
                form.addRow(label, w)
                self.widgets[key] = w
            if title == "Objective":
                self.formula = QtWidgets.QLabel()
                self.formula.setWordWrap(True)
                self.formula.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
                self.formula.setStyleSheet("font-family: monospace;")
                form.addRow(self.formula)
                self.paper_button = QtWidgets.QPushButton("Apply paper defaults")
                self.paper_button.setToolTip("Set the optimiser, learning rates and k that the objective's paper "
                                             "uses (WGAN: RMSProp 5e-5, c = 0.01, n_critic = 5; WGAN-GP: Adam "
                                             "1e-4, betas (0, 0.9), lambda = 10, n_critic = 5)")
                self.paper_button.clicked.connect(self._apply_paper_defaults)
                form.addRow(self.paper_button)
            outer.addWidget(box)
        outer.addStretch(1)
        self.setWidget(body)
        self.setMinimumWidth(body.sizeHint().width() + 24)
        self._update_formula(config.objective)
        self._update_visibility(config)

    # -------------------------------------------------------------- construction
    def _tooltip(self, key: str) -> str:
        from ..core.config import describe_range

        m = FIELDS[key].metadata
        tip = f"{m['help']}\nallowed: {describe_range(key)}\nconfig key: {key}"
        if m["reinit"]:
            tip += "\nchanging this re-initialises the networks (the run restarts)"
        return tip

    def _make_widget(self, key: str, value: Any) -> QtWidgets.QWidget:
        f = FIELDS[key]
        m = f.metadata
        if key in ("data", "objective") or m["choices"]:
            combo = QtWidgets.QComboBox()
            for i, (val, text, tip) in enumerate(_choices(key)):
                combo.addItem(text, val)
                if tip:
                    combo.setItemData(i, tip, QtCore.Qt.ItemDataRole.ToolTipRole)
            combo.setCurrentIndex(max(0, combo.findData(value)))
            combo.currentIndexChanged.connect(lambda _i, k=key, c=combo: self._changed(k, c.currentData()))
            return combo
        if f.type in ("int", int):
            spin = QtWidgets.QSpinBox()
            spin.setRange(int(m["lo"]), int(m["hi"]))
            spin.setValue(int(value))
            spin.setKeyboardTracking(False)
            spin.valueChanged.connect(lambda v, k=key: self._changed(k, int(v)))
            return spin
        dspin = QtWidgets.QDoubleSpinBox()
        dspin.setDecimals(6 if key in LOG_KEYS or m["lo"] < 1e-3 else 4)
        dspin.setRange(float(m["lo"]), float(m["hi"]))
        dspin.setKeyboardTracking(False)
        dspin.setStepType(QtWidgets.QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        dspin.setValue(float(value))
        dspin.valueChanged.connect(lambda v, k=key: self._changed(k, float(v)))
        return dspin

    # -------------------------------------------------------------- user changes -> commands
    def _changed(self, key: str, value: Any) -> None:
        cmd = self.command_for(key, value)
        self._config = self._config.replace(**cmd.changes()) if cmd.changes() else self._config
        if key == "objective":
            self._update_formula(value)
        self._update_visibility(self._config)
        self.command.emit(cmd)

    @staticmethod
    def command_for(key: str, value: Any) -> Command:
        """The typed command for a change of one field."""
        return command_for_change(key, value)

    def _apply_paper_defaults(self) -> None:
        obj = OBJECTIVES[self._config.objective]
        if not obj.paper_defaults:
            return
        cfg = self._config.replace(**obj.paper_defaults)
        self.set_config(cfg)
        self.command.emit(SetConfig(dict(obj.paper_defaults)))

    # -------------------------------------------------------------- trainer -> controls
    def set_config(self, config: TrainConfig) -> None:
        """Show config without emitting commands."""
        self._config = config
        for key, w in self.widgets.items():
            value = getattr(config, key)
            with signals_blocked(w):
                if isinstance(w, QtWidgets.QComboBox):
                    w.setCurrentIndex(max(0, w.findData(value)))
                else:
                    w.setValue(value)
        self._update_formula(config.objective)
        self._update_visibility(config)

    def _update_formula(self, name: str) -> None:
        o = OBJECTIVES[name]
        self.formula.setText(f"{o.d_formula}\n{o.g_formula}")
        self.paper_button.setEnabled(bool(o.paper_defaults))

    def _update_visibility(self, cfg: TrainConfig) -> None:
        """Grey out controls that have no effect in the current set-up (they stay visible: no jumping)."""
        obj = OBJECTIVES[cfg.objective]
        enabled = {
            "ring_radius": cfg.data == "ring8", "ring_std": cfg.data == "ring8",
            "shift_x": cfg.generator == "shift", "shift_y": cfg.generator == "shift",
            "noise_sigma": cfg.generator == "noise",
            "clip": obj.weight_clip, "gp_lambda": obj.gradient_penalty,
            "label_smoothing": obj.is_probability or obj.name == "lsgan",
            "beta1": "adam" in (cfg.d_optimizer, cfg.g_optimizer),
            "beta2": "adam" in (cfg.d_optimizer, cfg.g_optimizer),
            "momentum": "sgd" in (cfg.d_optimizer, cfg.g_optimizer),
            "instance_noise_decay": cfg.instance_noise > 0,
        }
        for key, on in enabled.items():
            self.widgets[key].setEnabled(on)
