"""The left dock: one widget per config field, built from the field's own range and help text.

Controls only send typed commands (signal `command`); they never touch the trainer. `set_config()` echoes
the trainer's config back without re-emitting (signals_blocked), so there are no echo loops.
"""

from __future__ import annotations

import html
import os
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets
from superqt.utils import signals_blocked

from ..core.commands import Command, SetConfig, command_for_change
from ..core.config import FIELDS, TrainConfig, control_groups, label_of
from ..core.distributions import DATASETS, DatasetInfo, dataset_info
from ..core.generators import FIXED_PARAMS, generator_kind
from ..core.images.distribution import IMAGE_DEFAULTS, image_default_changes, is_image_data
from ..core.objectives import OBJECTIVES
from .formula import break_between_terms

# the groups, their order and each field's label live in the config schema (its field metadata)
GROUPS: list[tuple[str, list[str]]] = control_groups()

LOG_KEYS = {"d_lr", "g_lr"}  # spin boxes that step by factors, not increments


def _data_text(name: str, dim: int) -> str:
    if dim <= 2:
        return f"{name} ({dim}D)"
    side = int(round(dim ** 0.5))
    return f"{name} ({side}×{side} images)" if side * side == dim else f"{name} (images)"


DATA_GROUPS = (("1D data", lambda dim: dim == 1), ("2D data", lambda dim: dim == 2), ("Images", lambda dim: dim > 2))


def fill_dataset_combo(combo: QtWidgets.QComboBox, current: str, current_info: DatasetInfo | None = None) -> None:
    """The datasets under 1D / 2D / Images headers (not selectable). Of the user's own datasets only the
    current one is listed (current_info: its DatasetInfo, from the config's data_points): others registered in
    this process are left over from earlier imports or drawings."""
    known = {n: i for n, i in DATASETS.items() if not n.startswith("user:") or n == current}
    if current_info is not None:
        known[current] = current_info
    with signals_blocked(combo):
        combo.clear()
        model = combo.model()
        for title, test in DATA_GROUPS:
            entries = [(n, i) for n, i in known.items() if test(i.dim)]
            if not entries:
                continue
            combo.addItem(title)
            header = model.item(combo.count() - 1)
            header.setEnabled(False)
            font = header.font()
            font.setBold(True)
            header.setFont(font)
            for name, info in entries:
                text = (f"{name.split(':', 1)[-1].split('@', 1)[0]} (your data)" if name.startswith("user:")
                        else _data_text(name, info.dim))
                combo.addItem(text, name)
                combo.setItemData(combo.count() - 1, info.description, QtCore.Qt.ItemDataRole.ToolTipRole)
        combo.setCurrentIndex(max(0, combo.findData(current)))


def _user_data_info(cfg: TrainConfig) -> DatasetInfo | None:
    """The DatasetInfo of cfg's user data (built from cfg.data_points), or None for other data."""
    if not cfg.data.startswith("user:"):
        return None
    try:
        return dataset_info(cfg.data, cfg.data_points)
    except (KeyError, ValueError):
        return None


def _choices(key: str) -> list[tuple[str, str, str]]:
    """(value, text, tooltip) for combo-box fields."""
    if key == "data":
        return [(n, _data_text(n, i.dim), i.description) for n, i in DATASETS.items()]
    if key == "objective":
        return [(n, o.label, f"{o.d_formula}\n{o.g_formula}\n[{o.reference}]") for n, o in OBJECTIVES.items()]
    return [(c, c, "") for c in FIELDS[key].metadata["choices"]]


class PathChooser(QtWidgets.QWidget):
    """A path field with an "Open..." menu (a file, or a folder of images); emits `chosen(str)` when the user
    picks a path or edits the field. `setValue` / `value` as for the spin boxes."""

    chosen = QtCore.Signal(str)

    def __init__(self, value: str = "", parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.edit = QtWidgets.QLineEdit(value)
        self.edit.setPlaceholderText("MNIST idx, .npz, .npy or a folder")
        self.edit.editingFinished.connect(lambda: self._emit(self.edit.text().strip()))
        self.button = QtWidgets.QToolButton()
        self.button.setText("Open…")
        self.button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QtWidgets.QMenu(self.button)
        menu.addAction("Image data file…", self._pick_file)
        menu.addAction("Folder of images…", self._pick_folder)
        self.button.setMenu(menu)
        lay.addWidget(self.edit, 1)
        lay.addWidget(self.button)
        self._last = value

    def setValue(self, value: str) -> None:  # noqa: N802 (the spin boxes' API)
        self._last = str(value)
        self.edit.setText(self._last)
        self.edit.setToolTip(self._last)

    def value(self) -> str:
        return self.edit.text().strip()

    def _emit(self, path: str) -> None:
        if path != self._last:
            self._last = path
            self.chosen.emit(path)

    def _start_dir(self) -> str:
        return os.path.dirname(self._last) if self._last else os.path.expanduser("~")

    def _pick_file(self) -> None:
        name, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Image data file", self._start_dir(),
            "Image data (*.idx *ubyte* *.gz *.npz *.npy);;All files (*)")
        if name:
            self.edit.setText(name)
            self._emit(name)

    def _pick_folder(self) -> None:
        name = QtWidgets.QFileDialog.getExistingDirectory(self, "Folder of images (subfolders = classes)",
                                                          self._start_dir())
        if name:
            self.edit.setText(name)
            self._emit(name)


def _off_gui_thread(parent: QtWidgets.QWidget, label: str, fn: Any) -> Any:
    """fn() in a background thread while the window keeps drawing (a local event loop waits for it); a progress
    dialog with Cancel appears if it takes over 0.3 s (a 400 MB image file took ~10 s). None if cancelled; fn's
    exception is raised here."""
    from .background import run_in_background

    loop = QtCore.QEventLoop()
    out: dict[str, Any] = {}
    job = run_in_background(parent, label, lambda progress, cancelled: fn(),
                            lambda r: out.__setitem__("result", r), lambda e: out.__setitem__("error", e))
    job.ended.connect(loop.quit)
    # `ended` may have been sent before the line above connected it (the thread is alive a moment longer):
    # waiting for it alone then never returned (notes of a file named on the command line never appeared).
    poll = QtCore.QTimer(interval=20)
    poll.timeout.connect(lambda: job.is_running() or loop.quit())
    if job.is_running():
        poll.start()
        loop.exec()
        poll.stop()
    job.wait()
    QtCore.QCoreApplication.processEvents()  # deliver the result if the thread ended before the loop started
    if "error" in out:
        raise out["error"]
    return out.get("result")


class ControlPanel(QtWidgets.QScrollArea):
    """Scrollable form of grouped controls. Emits `command(Command)` on every user change, and `notice(str)`
    with a line for the status bar when a change applied more than the user asked for (image defaults)."""

    command = QtCore.Signal(object)
    notice = QtCore.Signal(str)

    def __init__(self, config: TrainConfig, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._user_keys: set[str] = set()  # fields the user has set in this panel (never overridden)
        self._image_auto: dict[str, tuple[Any, Any]] = {}  # key -> (value before, value applied) for images
        self.error_box: QtWidgets.QMessageBox | None = None
        self._notes_for: tuple[str, str] | None = None  # (image_path, image_range) the notes label describes
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
                label = QtWidgets.QLabel(label_of(key))
                tip = self._tooltip(key)
                label.setToolTip(tip)
                w.setToolTip(tip)
                form.addRow(label, w)
                self.widgets[key] = w
            if title == "Scene":  # what the image loader assumed (pixel range, resizing, inversion, labels)
                self.image_notes = QtWidgets.QLabel()
                self.image_notes.setWordWrap(True)
                self.image_notes.setTextFormat(QtCore.Qt.TextFormat.RichText)
                self.image_notes.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
                self.image_notes.hide()
                form.insertRow(keys.index("image_range") + 1, self.image_notes)
            if title == "Objective":
                self.formula = QtWidgets.QLabel()
                self.formula.setWordWrap(True)
                self.formula.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
                # a font, not a style sheet: a style sheet froze the light theme's black text (dark theme)
                self.formula.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont))
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
        if key == "image_path":
            chooser = PathChooser(str(value))
            chooser.chosen.connect(self._image_path_chosen)
            return chooser
        if key in ("data", "objective") or m["choices"]:
            combo = QtWidgets.QComboBox()
            for i, (val, text, tip) in enumerate(_choices(key)):
                combo.addItem(text, val)
                if tip:
                    combo.setItemData(i, tip, QtCore.Qt.ItemDataRole.ToolTipRole)
            combo.setCurrentIndex(max(0, combo.findData(value)))
            if key == "data":
                fill_dataset_combo(combo, value, _user_data_info(self._config))
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
        if key == "data":
            self._data_changed(value)
            return
        if key == "image_range" and self._config.data == "image-file" and not self.check_image_path(
                self._config.image_path, value):
            self.set_config(self._config)  # a range the file does not fit: the message says why; nothing changes
            return
        self._user_keys.add(key)
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
        self._user_keys.update(obj.paper_defaults)
        self.set_config(cfg)
        self.command.emit(SetConfig(dict(obj.paper_defaults)))

    # -------------------------------------------------------------- image data
    def _data_changed(self, name: str, image_path: str | None = None) -> None:
        """A new dataset: one command with the settings that go with it (image defaults on the way in,
        the earlier values on the way out). image-file needs a readable image_path first."""
        old = self._config
        changes: dict[str, Any] = {"data": name}
        if name == "image-file":
            path = image_path if image_path is not None else old.image_path or self.ask_image_path()
            if not path or not self.check_image_path(path):
                self.set_config(old)  # back to the previous dataset (and path), without commands
                return
            if path != old.image_path:
                changes["image_path"] = path
        notes = self._switch_settings(old, name, changes)
        # a same-kind switch sends the plain dataset command (a hot swap); else one SetConfig with everything
        cmd = self.command_for("data", name) if set(changes) == {"data"} else SetConfig(changes)
        self._config = old.replace(**changes)
        self.set_config(self._config)
        self.command.emit(cmd)
        if notes:
            self.notice.emit(notes)

    def _switch_settings(self, old: TrainConfig, name: str, changes: dict[str, Any]) -> str:
        """Add the settings a toy <-> image switch brings to changes; a status-bar line saying what changed."""
        was, now = is_image_data(old.data), is_image_data(name)
        if now and not was:
            applied = image_default_changes(old, self._user_keys)
            self._image_auto = {k: (getattr(old, k), v) for k, v in applied.items()}
            changes.update(applied)
            kept = sorted(k for k in IMAGE_DEFAULTS if k in self._user_keys)
            if not applied:
                return ""
            text = "Image data: applied " + ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}"
                                                      for k, v in applied.items())
            return text + (f" (kept your {', '.join(kept)})" if kept else "") + " — the DCGAN settings"
        if was and not now:
            restored = {k: before for k, (before, applied) in self._image_auto.items()
                        if getattr(old, k) == applied and k not in self._user_keys}
            self._image_auto = {}
            changes.update(restored)
            if restored:
                return "Toy data: restored " + ", ".join(
                    f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in restored.items())
        return ""

    def _image_path_chosen(self, path: str) -> None:
        if not path:
            self.set_config(self._config)  # an emptied field: keep the current path
            return
        if self._config.data != "image-file":
            self._data_changed("image-file", image_path=path)  # picking a file means: train on it
            return
        if not self.check_image_path(path):
            self.set_config(self._config)
            return
        self._user_keys.add("image_path")
        self._config = self._config.replace(image_path=path)
        self.command.emit(SetConfig({"image_path": path}))

    def check_image_path(self, path: str, image_range: str | None = None, quiet: bool = False) -> bool:
        """Load the file once here, so a bad one gets a clear message box instead of a failed run; what the
        loader assumed (pixel range, resizing, inversion, labels) is shown under the path and in the status
        bar. quiet: no message box (the label says what is wrong)."""
        try:
            from ..core.images.files import ImageDataError, describe
        except ImportError:  # no image support in this build: the trainer reports any problem
            return True
        rng = image_range or self._config.image_range
        name = os.path.basename(os.path.normpath(path))
        QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.CursorShape.WaitCursor)
        try:
            line = _off_gui_thread(self, f"Reading {name}…", lambda: describe(path, rng))
            if line is None:  # cancelled: the current data stays
                return False
        except ImageDataError as exc:
            if quiet:
                self._show_image_notes(name, [], str(exc))
            else:
                self.show_error("This image data cannot be used", str(exc))
            return False
        finally:
            QtWidgets.QApplication.restoreOverrideCursor()
        self._show_image_notes(name, line.split("; "))
        self._notes_for = (path, rng)
        self.notice.emit(f"{name}: {line}")
        return True

    def _show_image_notes(self, name: str, parts: list[str], error: str = "") -> None:
        """The loader's notes under the image path: the counts, then one line per assumption; warnings in red."""
        esc = html.escape
        rows = [f"<b>{esc(name)}</b>: {esc(parts[0])}" if parts else f"<b>{esc(name)}</b>"]
        for part in parts[1:] + ([error] if error else []):
            text, _, warning = part.partition("WARNING: ")
            bad = bool(warning) or part is error
            text = esc(text.rstrip("; "))
            item = (f"{text}<br>" if text and warning else text) + (
                f"<b>Warning:</b> {esc(warning)}" if warning else "")
            rows.append(f"<span style='color:#c0392b'>• {item}</span>" if bad else f"• {item}")
        self.image_notes.setText("<br>".join(rows))
        self.image_notes.setVisible(True)

    def show_error(self, title: str, text: str) -> None:
        box = QtWidgets.QMessageBox(
            QtWidgets.QMessageBox.Icon.Warning, "ganviz: image data", f"{title}.\n\n{text}\n\n"
            "Image data for data = image-file: an MNIST idx file (optionally .gz), an .npz / .npy array of "
            "images (n, H, W), or a folder of images (subfolders = classes).",
            QtWidgets.QMessageBox.StandardButton.Ok, self.window())
        box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # not exec(): training and drawing go on while it is shown
        self.error_box = box

    def ask_image_path(self) -> str:
        """Ask for an image data file (a dialog; tests replace this)."""
        name, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Image data file", os.path.expanduser("~"),
            "Image data (*.idx *ubyte* *.gz *.npz *.npy);;All files (*)")
        return name

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
        self.formula.setText(f"{break_between_terms(o.d_formula)}\n{break_between_terms(o.g_formula)}")
        self.paper_button.setEnabled(bool(o.paper_defaults))

    def _update_visibility(self, cfg: TrainConfig) -> None:
        """Grey out controls that have no effect in the current set-up (they stay visible: no jumping)."""
        obj = OBJECTIVES[cfg.objective]
        image = is_image_data(cfg.data)
        dcgan = cfg.arch == "dcgan" or (cfg.arch == "auto" and image)
        enabled = {
            "ring_radius": cfg.data == "ring8", "ring_std": cfg.data == "ring8",
            "generator": not image,
            **{k: k in generator_kind(cfg.generator).params and not image for k in FIXED_PARAMS},
            "conv_channels": dcgan, "image_range": cfg.data == "image-file",
            **{k: not dcgan for k in ("g_depth", "g_width", "d_depth", "d_width", "activation")},
            **{k: any(h.config_key == k for h in obj.hooks) for k in ("clip", "gp_lambda")},
            "label_smoothing": obj.label_smoothing,
            "beta1": "adam" in (cfg.d_optimizer, cfg.g_optimizer),
            "beta2": "adam" in (cfg.d_optimizer, cfg.g_optimizer),
            "momentum": "sgd" in (cfg.d_optimizer, cfg.g_optimizer),
            "instance_noise_decay": cfg.instance_noise > 0,
        }
        for key, on in enabled.items():
            self.widgets[key].setEnabled(on)
        shown = cfg.data == "image-file" and bool(cfg.image_path)
        self.image_notes.setVisible(shown and bool(self.image_notes.text()))
        if shown and self._notes_for != (cfg.image_path, cfg.image_range):  # a file set from outside (a scene,
            self._notes_for = (cfg.image_path, cfg.image_range)  # a session, the command line): say what it is
            QtCore.QTimer.singleShot(0, self, lambda: self.check_image_path(self._config.image_path, quiet=True))
