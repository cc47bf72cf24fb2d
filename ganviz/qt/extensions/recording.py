"""Recording and sharing: record the window or a view while it trains, export panels / metrics, save and
open sessions, save and load checkpoints.

- **Record** (toolbar button, Ctrl+R, `window.actions_by_name["record"]`; settings in the Recording dock, built
  when first shown): captures the chosen target
  (the whole window, the data view, or one panel) on every drawn snapshot, at most `fps` times a second,
  into MP4 / GIF / a PNG folder, at its native size or a fixed one, optionally with a caption strip (step,
  objective, learning rates, data) burnt in. The GUI thread only grabs the widget (QWidget.grab) and
  queues the QImage (a bounded queue: if encoding falls behind, frames are dropped and counted, the window
  never waits); a background thread scales, captions, converts to RGB and encodes. The video plays at
  `fps`: one video frame per capture (when snapshots arrive slower than fps, it plays faster than real
  time). Stop (the same action) finalises the file; the dock and the status bar show progress.
- **File menu**: Save session... / Open session... (ganviz.export.session: config + live changes;
  opening replays it exactly and pauses at the step where it was saved), Save checkpoint... / Load
  checkpoint..., Export panel as PNG/SVG..., Export metrics history as CSV... (every step since the run
  started, accumulated here from the first snapshot on: see ganviz.export.history).

Sessions and checkpoints (ganviz.qt.extensions.sessions) go through the window's TrainingSession, one API
over both backends. Frames and encoding live in ganviz.qt.recorder.

Errors (a bad path, no encoder, a full disk, a damaged file) are shown in the status bar, the dock and a
non-blocking message box; no partial file is left and the running session is not touched.

Closing the window never waits long: a recording drops its backlog and is finalised with the frames already
encoded if that takes at most CLOSE_BUDGET seconds, else it is discarded (its temporary removed at once); an
export in progress finishes atomically, and a training thread it stopped is not started again.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from ...export.errors import ExportError
from ...export.history import HistoryLog
from ...export.session import SessionError
from ...export.video import FORMATS, GIF_WARN_FRAMES
from .. import text_bounds
from ..background import BackgroundJob, cancel_jobs, run_in_background
from ..host import PanelSpec
from ..recorder import (  # noqa: F401  (re-exported: `ganviz record`, the GUI bench and tests import them here)
    FORMAT_SUFFIX,
    QUEUE_FRAMES,
    Recorder,
    caption_for,
    compose_frame,
    default_video_path,
    export_widget,
    grab_image,
    output_size,
    qimage_to_rgb,
    strip_height,
)
from .sessions import SessionFiles, WindowReplay, _message_of

DOCK_NAME = "recording"
SIZES: list[tuple[str, tuple[int, int] | None]] = [
    ("Native", None), ("1920x1080", (1920, 1080)), ("1280x720", (1280, 720)), ("854x480", (854, 480)),
    ("640x360", (640, 360)),
]
CLOSE_BUDGET = 0.4  # seconds a closing window gives recordings to finalise (the rest of its second: training)


# ================================================================================== the dock
class RecordingDock(QtWidgets.QWidget):
    """Target, format, fps, size, caption, file; the Record button; progress."""

    def __init__(self, record_action: QtGui.QAction, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        form = QtWidgets.QFormLayout()
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.target = QtWidgets.QComboBox()
        self.target.setToolTip("What to record: the whole window, the data view, or one panel")
        form.addRow("Target", self.target)
        self.format = QtWidgets.QComboBox()
        for key, text in FORMATS.items():
            self.format.addItem(text, key)
        self.format.setToolTip("MP4 (H.264, small, plays everywhere), an animated GIF (for slides and chats) or "
                               "a folder of PNG frames")
        form.addRow("Format", self.format)
        self.fps = QtWidgets.QSpinBox()
        self.fps.setRange(1, 60)
        self.fps.setValue(30)
        self.fps.setSuffix(" fps")
        self.fps.setToolTip("Frames per second of the video; the window is captured at most this often")
        form.addRow("Frame rate", self.fps)
        self.size = QtWidgets.QComboBox()
        for text, value in SIZES:
            self.size.addItem(text, value)
        self.size.setToolTip("Native: the target's size on screen. A fixed size scales it (aspect kept)")
        form.addRow("Size", self.size)
        self.caption = QtWidgets.QCheckBox("Caption strip (step, objective, learning rates)")
        self.caption.setChecked(True)
        form.addRow(self.caption)
        path_row = QtWidgets.QHBoxLayout()
        self.path = QtWidgets.QLineEdit()
        folder = str(default_video_path("mp4").parent).replace(str(Path.home()), "~", 1)
        self.path.setPlaceholderText(f"automatic: {folder}/ganviz-<date>-<time>")
        self.path.setToolTip("Where to write; empty: a new name in your Videos folder for every recording")
        self.browse = QtWidgets.QToolButton()
        self.browse.setText("…")
        self.browse.setToolTip("Choose the file (or folder, for PNG frames)")
        path_row.addWidget(self.path, 1)
        path_row.addWidget(self.browse)
        form.addRow("File", path_row)

        self.record_button = QtWidgets.QToolButton()
        self.record_button.setDefaultAction(record_action)
        self.record_button.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.record_button.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding,
                                         QtWidgets.QSizePolicy.Policy.Fixed)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.progress.setTextVisible(True)
        self.status = QtWidgets.QLabel("Ready. Ctrl+R starts and stops a recording.")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)

        lay = QtWidgets.QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.record_button)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addStretch(1)
        self.settings_widgets = [self.target, self.format, self.fps, self.size, self.caption, self.path,
                                 self.browse]

    def set_targets(self, targets: list[tuple[str, str]]) -> None:
        current = self.target.currentData()
        self.target.clear()
        for key, text in targets:
            self.target.addItem(text, key)
        i = self.target.findData(current)
        self.target.setCurrentIndex(max(i, 0))

    def set_recording(self, on: bool) -> None:
        for w in self.settings_widgets:
            w.setEnabled(not on)

    def show_message(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #b00020;" if error else "")


# ================================================================================== the feature
class RecordingFeature(SessionFiles, QtCore.QObject):
    """Everything recording adds to one window (`window.features["recording"]`, also `window.recording`)."""

    def __init__(self, host: Any) -> None:
        QtCore.QObject.__init__(self, host)
        self.host = host
        self.history = HistoryLog()  # every step of the current run, for the CSV export
        self.recorder: Recorder | None = None
        self.replay: WindowReplay | None = None
        self.last_error: str | None = None
        self.last_file: Path | None = None
        self._finishing: list[Recorder] = []
        self._target: QtWidgets.QWidget | None = None
        self._target_key: str | None = None
        icon = host.style().standardIcon(QtWidgets.QStyle.StandardPixmap.SP_DialogNoButton)
        self.record_action = host.add_action(
            "record", "Record", self._on_record_toggled, shortcut="Ctrl+R", checkable=True, icon=icon, toolbar=True,
            tip="Record the chosen view to MP4 / GIF / PNG frames (Ctrl+R); settings in View → Recording")
        self.record_action.setStatusTip("")
        host.add_panel(PanelSpec(DOCK_NAME, "Recording", self._build_dock_widget, area=QtCore.Qt.DockWidgetArea.
                                 LeftDockWidgetArea, tab_with="controls", cap_minimum=False))
        self._build_session_menu()
        host.menu("File").addSeparator()
        host.add_action("export_panel", "Export panel as PNG/SVG...", self._ask_export_panel, menu="File")
        host.add_action("export_csv", "Export metrics history as CSV...", self._ask_export_csv, menu="File")
        self.rec_label = QtWidgets.QLabel("")
        self.rec_label.setStyleSheet("color: #c62828; font-weight: bold;")
        self.rec_label.hide()
        host.statusBar().addPermanentWidget(self.rec_label)
        host.snapshot_drawn.connect(self.on_snapshot)
        host.run_started.connect(self.on_run_started)
        host.closing.connect(self.close_now)

    @property
    def dock_widget(self) -> RecordingDock:
        """The Recording dock's form (built now if its dock was never shown)."""
        return self.host.panel(DOCK_NAME)

    @property
    def dock(self) -> QtWidgets.QDockWidget:
        return self.host.docks[DOCK_NAME]

    def _build_dock_widget(self) -> RecordingDock:
        widget = RecordingDock(self.record_action)
        widget.browse.clicked.connect(self._browse_video)
        widget.target.view().installEventFilter(self)  # refresh the list of docks when it opens
        widget.set_targets(self.targets())
        return widget

    def on_run_started(self, _session: Any) -> None:
        self.history.clear()  # a new run (restart, scene, session): its history starts empty

    # -------------------------------------------------------------- targets
    def targets(self) -> list[tuple[str, str]]:
        out = [("window", "Whole window"), ("data", "Data view")]
        for name, dock in self.host.docks.items():
            if name not in ("controls", DOCK_NAME):
                out.append((name, dock.windowTitle()))
        return out

    def refresh_targets(self) -> None:
        self.dock_widget.set_targets(self.targets())

    def target_widget(self, key: str | None = None) -> QtWidgets.QWidget:
        w = self.host
        key = key or self.dock_widget.target.currentData() or "window"
        if key == "window":
            return w
        if key == "data":
            return w.data_stack.currentWidget()
        dock = w.docks.get(key)
        if dock is None:
            raise ExportError(f"no view named {key!r}")
        if not dock.isVisible():
            dock.show()
            dock.raise_()
        return w.panel(key)

    # -------------------------------------------------------------- recording
    def start_recording(self, path: str | os.PathLike[str] | None = None, fmt: str | None = None,
                        fps: float | None = None, size: tuple[int, int] | None | str = "dock",
                        caption: bool | None = None, target: str | None = None) -> Recorder | None:
        """Start a recording (arguments default to the dock's settings). Returns None on an error (shown)."""
        d = self.dock_widget
        if self.recorder is not None:
            return self.recorder
        fmt = fmt or d.format.currentData()
        text = os.fspath(path) if path is not None else d.path.text().strip()
        if text:
            target_path = Path(os.path.expanduser(text))
            suffix = target_path.suffix.lower()
            if suffix in (".mp4", ".gif"):  # the file name decides the format
                fmt = suffix[1:]
            elif fmt != "png":
                target_path = target_path.with_name(target_path.name + FORMAT_SUFFIX[fmt])
            d.format.setCurrentIndex(d.format.findData(fmt))
        else:
            target_path = default_video_path(fmt)
        fps = float(fps if fps is not None else d.fps.value())
        size = d.size.currentData() if size == "dock" else size
        caption = d.caption.isChecked() if caption is None else caption
        try:
            widget = self.target_widget(target)
            self.recorder = Recorder(target_path, fps=fps, size=size, caption=caption, fmt=fmt, threads=1,
                                     parent=self)
        except ExportError as e:
            self._error("Recording not started", str(e))
            with QtCore.QSignalBlocker(self.record_action):
                self.record_action.setChecked(False)
            return None
        self._target = widget
        self._target_key = target or d.target.currentData()
        rec = self.recorder
        rec.hide = [self.rec_label, *self._record_buttons()]  # the recording chrome stays out of frame
        rec.progress.connect(self._on_progress)
        rec.finished.connect(self._on_finished)
        rec.failed.connect(self._on_failed)
        with QtCore.QSignalBlocker(self.record_action):
            self.record_action.setChecked(True)
        self.record_action.setText("Stop")
        d.set_recording(True)
        d.progress.setRange(0, 0)  # busy
        d.show_message(f"Recording {self._target_key} to {rec.path}")
        self.rec_label.setText("● REC")
        self.rec_label.show()
        rec.capture(widget, caption_for(self.host.last_snapshot))  # the first frame: what is on screen now
        return rec

    def _record_buttons(self) -> list[QtWidgets.QWidget]:
        """The toolbar buttons of the Record / Stop action (in every toolbar of the window)."""
        out = []
        for toolbar in self.host.findChildren(QtWidgets.QToolBar):
            button = toolbar.widgetForAction(self.record_action)
            if button is not None:
                out.append(button)
        return out

    def stop_recording(self, cancel: bool = False) -> None:
        rec = self.recorder
        if rec is None:
            return
        self.recorder = None
        self._finishing.append(rec)
        if cancel:
            rec.cancel()
        else:
            rec.stop()
        with QtCore.QSignalBlocker(self.record_action):
            self.record_action.setChecked(False)
        self.record_action.setText("Record")
        self.dock_widget.show_message(f"Finishing {rec.path.name}: {rec.captured - rec.encoded} frames to "
                                      "encode...")
        self.rec_label.setText("● encoding")

    def _on_record_toggled(self, on: bool) -> None:
        if on:
            self.start_recording()
        else:
            self.stop_recording()

    def _on_progress(self, encoded: int, captured: int, dropped: int) -> None:
        d = self.dock_widget
        rec = self.sender()
        if rec is self.recorder:
            text = f"{captured} captured, {encoded} encoded" + (f", {dropped} dropped" if dropped else "")
            limit = rec.writer.frame_limit
            if limit is not None and encoded >= GIF_WARN_FRAMES and (encoded - GIF_WARN_FRAMES) % 100 == 0:
                d.show_message(f"This GIF stops at {limit} frames ({limit - encoded} to go); what is recorded is "
                               "kept. Record MP4 for longer runs.", error=True)
            d.progress.setFormat(text)
            self.rec_label.setText(f"● REC {captured}")
        else:
            d.progress.setRange(0, max(captured, 1))
            d.progress.setValue(encoded)
            d.progress.setFormat(f"encoding {encoded}/{captured}")

    def _finished_recorder(self) -> Recorder | None:
        rec = self.sender()
        if rec in self._finishing:
            self._finishing.remove(rec)
        if rec is self.recorder:  # failed while recording
            self.recorder = None
            with QtCore.QSignalBlocker(self.record_action):
                self.record_action.setChecked(False)
            self.record_action.setText("Record")
        if not self._finishing and self.recorder is None:
            self.dock_widget.set_recording(False)
            self.rec_label.hide()
            d = self.dock_widget
            d.progress.setRange(0, 1)
        return rec if isinstance(rec, Recorder) else None

    def _on_finished(self, path: str) -> None:
        rec = self._finished_recorder()
        self.last_file = Path(path)
        n = rec.encoded if rec else 0
        dropped = f" ({rec.dropped} dropped: encoding fell behind)" if rec and rec.dropped else ""
        msg = f"Saved {n} frames to {path}{dropped}"
        timing = rec.timing_note() if rec is not None else ""
        if timing:
            msg += f"; {timing}"
        if rec is not None and rec.note:
            msg += f". {rec.note[0].upper()}{rec.note[1:]}"
        self.dock_widget.progress.setValue(1)
        self.dock_widget.progress.setFormat("done")
        self.dock_widget.show_message(msg)
        self.host.statusBar().showMessage(msg, 15000)

    def _on_failed(self, message: str) -> None:
        self._finished_recorder()
        self.dock_widget.progress.setValue(0)
        self.dock_widget.progress.setFormat("failed")
        self._error("Recording failed", message)

    def on_snapshot(self, snap: Any) -> None:
        self.history.add(snap)
        rec = self.recorder
        if rec is not None:
            widget = self.target_widget(self._target_key) if self._target_key == "data" else self._target
            rec.capture(widget, caption_for(snap))
        if self.replay is not None:
            try:
                self.replay.on_snapshot(snap)
            except (ExportError, SessionError) as e:
                self.replay = None
                self._error("Session replay stopped", str(e))

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait for every finishing recorder's encoder (window closing, tests)."""
        deadline = time.monotonic() + timeout
        ok = True
        for rec in list(self._finishing) + ([self.recorder] if self.recorder else []):
            ok = rec.wait(max(0.0, deadline - time.monotonic())) and ok
        return ok

    def close_now(self, budget: float = CLOSE_BUDGET) -> None:
        """The window is closing: within `budget` seconds, finalise every recording with what is already
        encoded, or discard it (no partial file either way); exports in progress will not restart training."""
        cancel_jobs(self.host, 0.1)  # background saves and exports: none leaves a file when cancelled
        if self.recorder is not None:
            self.stop_recording()
        deadline = time.monotonic() + budget
        for rec in list(self._finishing):
            rec.stop(drop_queued=True)
        for rec in list(self._finishing):
            if not rec.finish_within(max(0.05, deadline - time.monotonic())):
                self.last_error = (f"{rec.path.name} was discarded: the window closed before it finished "
                                   "encoding")

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802 (Qt API)
        if event.type() == QtCore.QEvent.Type.Show and obj is self.dock_widget.target.view():  # built: it has a view
            self.refresh_targets()
        return False

    # -------------------------------------------------------------- sessions, checkpoints, exports
    def export_panel(self, key: str, path: str | os.PathLike[str]) -> Path | None:
        try:
            out = export_widget(self.target_widget(key), path)
        except ExportError as e:
            self._error("Panel not exported", str(e))
            return None
        self._info(f"Exported {key} to {out}")
        return out

    def export_csv(self, path: str | os.PathLike[str]) -> Path | None:
        try:
            out = self.history.write_csv(path)
        except ExportError as e:
            self._error("Metrics not exported", str(e))
            return None
        self._info(f"Exported {len(self.history)} steps of history to {out}")
        return out

    # -------------------------------------------------------------- dialogs
    def _browse_video(self) -> None:
        fmt = self.dock_widget.format.currentData()
        if fmt == "png":
            name = QtWidgets.QFileDialog.getExistingDirectory(self.host, "Folder for the PNG frames (empty)")
        else:
            name = self._save_name("Record to", f"{FORMATS[fmt]} (*{FORMAT_SUFFIX[fmt]})",
                                   str(default_video_path(fmt)))
        if name:
            self.dock_widget.path.setText(name)

    def export_csv_in_background(self, path: str | os.PathLike[str]) -> BackgroundJob:
        """Write the metrics CSV in a thread, a chunk at a time, with progress; Cancel leaves no file."""
        def done(out: Path) -> None:
            self._info(f"Exported {len(self.history)} steps of history to {out}")

        return run_in_background(
            self.host, f"Writing {text_bounds.path_text(path, 80)}…",
            lambda progress, cancelled: self.history.write_csv(path, progress, cancelled), done,
            lambda e: self._error("Metrics not exported", _message_of(e)),
            lambda: self._info("The CSV export was cancelled; nothing was written"))

    def _ask_export_panel(self) -> None:
        items = self.targets()
        labels = [text for _, text in items]
        label, ok = QtWidgets.QInputDialog.getItem(self.host, "Export panel", "Panel:", labels, 1, False)
        if not ok:
            return
        key = items[labels.index(label)][0]
        name = self._save_name("Export panel", "PNG image (*.png);;SVG drawing (*.svg)", f"{key}.png")
        if name:
            self.export_panel(key, name)

    def _ask_export_csv(self) -> None:
        name = self._save_name("Export metrics history", "CSV (*.csv)", "metrics.csv")
        if name:
            self.export_csv_in_background(name)

    # -------------------------------------------------------------- messages
    def _info(self, text: str) -> None:
        self.host.statusBar().showMessage(text, 15000)
        self.dock_widget.show_message(text)

    def _error(self, title: str, text: str) -> None:
        self.last_error = text
        self.host.statusBar().showMessage(f"{title}: {text}", 20000)
        self.dock_widget.show_message(f"{title}: {text}", error=True)
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, f"ganviz: {title.lower()}", text,
                                    QtWidgets.QMessageBox.StandardButton.Ok, self.host)
        box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # not exec(): training and drawing go on while the message is shown


RecordingExtension = RecordingFeature  # the name before the window host (issue 14)


def install(host: Any) -> RecordingFeature:
    return RecordingFeature(host)
