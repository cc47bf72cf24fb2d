"""The lab window: controls on the left, the data view in the centre, dockable panels around it.

The window owns one TrainingSession. Snapshots arrive (throttled, lazy), are materialised here (the GUI
thread's core, not the trainer's), handed to every panel (ganviz.qt.host feeds the docks at their rates),
and then the session is told the frame is done. What trains (config, speed, scene) is read from the run state
(ganviz.core.runstate), which only the engine's snapshots update. The window holds no training logic; its
features (recording, scenes, comparisons, ...) are modules that talk to it through the host API.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from ..core.commands import ClearSchedule, Command, SetRunning, SetSpeed
from ..core.config import TrainConfig
from ..core.preflight import data_problem
from ..core.runstate import RunState
from ..core.snapshot import EventKind, Snapshot
from . import layout, menus, style, text_bounds
from .banner import RunBanner
from .controls import ControlPanel
from .host import PanelSpec, WindowHost
from .panels.data1d import Data1DPanel
from .panels.data2d import Data2DPanel
from .panels.images import ImageGridPanel
from .session_window import STEPS, starts_new_child
from .toolbar import RunToolbar
from .worker import TrainingSession

Area = QtCore.Qt.DockWidgetArea
SETTINGS_VERSION = 2  # 2: the right-column layout (a version-1 layout is not restored)
CLOSE_SECONDS = 1.0  # closing the window ends recordings, extra windows and training within this
STARTING = "starting the trainer…"  # the rate label until the training process sends its first snapshot
TITLE = "ganviz — GAN lab"
BUILD_AFTER_FRAMES = 2  # docks not shown yet are built one per frame once this many frames are drawn
# the window's features, installed in this order, which is also the order their docks join a tab group and the
# order they hear `closing` (recordings are finalised before extra windows are closed: the larger share of time)
FEATURES = [("classroom", "ganviz.qt.extensions.classroom"), ("recording", "ganviz.qt.extensions.recording"),
            ("collapse", "ganviz.qt.extensions.collapse"), ("compare", "ganviz.qt.extensions.compare"),
            ("ensemble", "ganviz.qt.extensions.ensemble"), ("theory", "ganviz.qt.extensions.theory"),
            ("overview", "ganviz.qt.extensions.overview"), ("simple", "ganviz.qt.extensions.simple"),
            ("timetravel", "ganviz.qt.extensions.timetravel"), ("slowmo", "ganviz.qt.extensions.slowmo")]


def is_image_dim(dim: int) -> bool:
    """Image data is flat (dim = H * W); the toy data is 1D or 2D."""
    return dim > 2


def shows_images(snap: Snapshot) -> bool:
    """Whether a snapshot is drawn by the image views (it carries image views, or its data is images)."""
    return snap.images is not None or is_image_dim(snap.dim)


class MainWindow(WindowHost):
    """ganviz's main window. `settings` (a QSettings) stores the layout; tests pass a temporary one.
    Features are reachable as `window.features[name]` (and `window.<name>`, e.g. `window.recording`)."""

    def __init__(self, config: TrainConfig | None = None, settings: QtCore.QSettings | None = None,
                 autostart: bool = True, interval: float = 0.027, backend: str = "process",
                 threads: int = 1) -> None:
        super().__init__()
        self.setWindowTitle(TITLE)
        self.settings = settings if settings is not None else QtCore.QSettings("ganviz", "ganviz")
        self.session = TrainingSession(config or TrainConfig(), backend=backend, interval=interval,
                                       threads=threads, parent=self)
        self.trainer = self.session.trainer  # only with backend="thread" (tests, notebooks); else None
        self.run_state = RunState(self.session.config)  # what trains, from the engine's snapshots only
        self.current_scene: Any = None  # the scene (ganviz.core.scenes.Scene) this run plays, if any
        self.launched_with_settings = False  # `ganviz --data ...`: the app sets it (no scene is resumed)
        self._connect_session()
        self.last_snapshot: Snapshot | None = None
        self.frames = 0
        self._frame_times: deque[float] = deque(maxlen=30)
        self._last_dim = self.session.dim

        self._build_views()
        self._build_controls()
        self._build_panels()
        self._build_toolbar()
        self._build_status()
        self._default_layout()
        self.install_features(FEATURES)  # before the saved layout is restored: every dock is known by then
        view_menu = self.menu("View")
        view_menu.addSeparator()
        view_menu.addAction("Reset layout").triggered.connect(self._reset_layout)
        menus.arrange(self)  # File, Data, View, Scenes, Compare, Theory, Help; File -> Record, Quit
        self._restore_layout()
        self.controls.set_config(self.session.config)
        self._show_dim(self.session.dim)
        if self.settings.value("state") is None:
            layout.raise_defaults(self)
        layout.cap_minimum_sizes(self)
        style.whole_tab_titles(self)  # dock tabs show whole titles, never "Lo…" (issue 15.13)
        for ev in self.session.startup_events:
            self.statusBar().showMessage(ev.label, 15000)
        if autostart:
            self.session.start()

    def __getattr__(self, name: str) -> Any:
        """A feature by name (`window.recording`), as installed (see FEATURES)."""
        features = self.__dict__.get("features")
        if features is not None and name in features and features[name] is not None:
            return features[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _connect_session(self) -> None:
        self.session.snapshot.connect(self.on_snapshot)
        self.session.failed.connect(self.on_failed)
        self.session.stalled.connect(self.on_stalled)

    # -------------------------------------------------------------- construction
    def _build_views(self) -> None:
        self.data1d = Data1DPanel()
        self.data2d = Data2DPanel()
        self.data_stack = QtWidgets.QStackedWidget()
        self.data_stack.addWidget(self.data1d)
        self.data_stack.addWidget(self.data2d)
        self.images = ImageGridPanel()
        self.data_stack.addWidget(self.images)
        self.banner = RunBanner()  # what happened to the training process (dead, failed, stopped), non-modal
        self.banner.restart_requested.connect(self.restart_training)
        centre = QtWidgets.QWidget()
        centre_layout = QtWidgets.QVBoxLayout(centre)
        centre_layout.setContentsMargins(0, 0, 0, 0)
        centre_layout.setSpacing(2)
        centre_layout.addWidget(self.banner)
        centre_layout.addWidget(self.data_stack, 1)
        self.setCentralWidget(centre)
        self.data_views = [self.data1d, self.data2d, self.images]

    def _build_controls(self) -> None:
        self.controls = ControlPanel(self.session.config)
        self.controls.command.connect(self.send)
        self.controls.notice.connect(lambda text: self.statusBar().showMessage(text, 15000))
        self.add_panel(PanelSpec("controls", "Controls", lambda: self.controls, area=Area.LeftDockWidgetArea,
                                 cap_minimum=False), widget=self.controls)

    def _build_panels(self) -> None:
        """The plot docks, each built when first shown. Refresh rates: plots of slow-moving curves refresh less
        often than the data view (every frame); skipped frames' history and events are merged in, nothing is lost."""
        from .panels.coverage import CoveragePanel
        from .panels.histograms import HistogramPanel
        from .panels.losses import LossPanel
        from .panels.metrics import MetricsPanel

        def coverage() -> CoveragePanel:
            panel = CoveragePanel()
            # no classifier (unlabelled images): the metrics tab is the more useful one to show
            panel.available_changed.connect(lambda ok: self.docks["coverage" if ok else "metrics"].raise_())
            return panel

        bottom = Area.BottomDockWidgetArea
        for spec in (PanelSpec("losses", "Losses", LossPanel, refresh_rate=10.0, area=bottom),
                     PanelSpec("histograms", "D(x) histograms", HistogramPanel, refresh_rate=10.0, area=bottom),
                     PanelSpec("metrics", "Metrics", MetricsPanel, refresh_rate=2.0),
                     PanelSpec("coverage", "Class coverage", coverage, refresh_rate=2.0, applies_to="image")):
            self.add_panel(spec)

    @property
    def losses(self) -> Any:
        return self.panel("losses")

    @property
    def histograms(self) -> Any:
        return self.panel("histograms")

    @property
    def metrics(self) -> Any:
        return self.panel("metrics")

    @property
    def coverage(self) -> Any:
        return self.panel("coverage")

    def _build_toolbar(self) -> None:
        self.toolbar = RunToolbar(self, self.send)
        self.addToolBar(self.toolbar)
        tb = self.toolbar
        self.play_action, self.step_d_action, self.step_g_action = tb.play_action, tb.step_d_action, tb.step_g_action
        self.step_both_action, self.reset_action, self.speed = tb.step_both_action, tb.reset_action, tb.speed

    def run_toolbar(self) -> QtWidgets.QToolBar:
        return self.toolbar

    def _build_status(self) -> None:
        bar = self.statusBar()
        self.status_step = QtWidgets.QLabel("step 0")
        self.status_rate = QtWidgets.QLabel(STARTING)  # until the first snapshot (issue 20)
        self.status_fps = QtWidgets.QLabel("0 frames/s")
        self.status_device = QtWidgets.QLabel(f"device: {self.session.device}")
        for w in (self.status_step, self.status_rate, self.status_fps, self.status_device):
            w.setMinimumWidth(90)
            bar.addPermanentWidget(w)

    def restart(self, config: TrainConfig, autostart: bool = True, scene: Any = None, title: str | None = None) -> None:
        """Replace the run with a new one from config (scenes, replays): the old run stops cleanly. scene: the
        scene this run plays (load_scene); title: what the run is, for the window title (a scene's or a session's
        name). run_started(session) is emitted before the new run starts."""
        # the old run must have ended before a new one starts: two training threads would overlap in torch
        # (and the new one sets torch's thread count); stop() normally returns within ~100 ms
        deadline = time.perf_counter() + 10.0
        while not self.session.stop(timeout=1.0) and time.perf_counter() < deadline:
            QtCore.QCoreApplication.processEvents()
        self.session.snapshot.disconnect(self.on_snapshot)
        self.session.failed.disconnect(self.on_failed)
        self.session.stalled.disconnect(self.on_stalled)
        backend, interval, threads = self.session.backend, self.session.interval, self.session.threads
        old = self.session
        QtCore.QTimer.singleShot(3000, old.deleteLater)  # after its worker's last queued signal
        self.session = TrainingSession(config, backend=backend, interval=interval, threads=threads, parent=self)
        self.trainer = self.session.trainer
        self._connect_session()
        if self.run_state.speed is not None:  # the speed carries on into the new run (held until it starts)
            self.session.submit(SetSpeed(self.run_state.speed))
        self.banner.clear()
        for p in self.data_views:
            p.reset()
        self.reset_panels()
        self.last_snapshot = None
        self.status_rate.setText(STARTING)
        self.current_scene = scene
        self.run_state.restart(config, scene=title)
        self._render_title()
        self.controls.set_config(config)
        self._last_dim = self.session.dim
        self._show_dim(self.session.dim)
        self._show_running(True)
        self.run_started.emit(self.session)
        if autostart:
            self.session.start()

    def load_scene(self, scene) -> bool:
        """Start a scene (ganviz.core.scenes.Scene): its config, scripted actions and view hints. A scene whose data
        cannot be found (a missing image file) is not started: the current run goes on, and the banner says why."""
        problem = data_problem(scene.config)
        if problem:
            title = text_bounds.clean(scene.title, text_bounds.TITLE_CHARS)
            self.banner.show_message("info", f"The scene “{title}” was not started: {problem}. The current run goes "
                                     "on.", restart=False)
            return False
        title = text_bounds.clean(scene.title, text_bounds.TITLE_CHARS)  # a scene file's title is any text
        self.restart(scene.config, autostart=False, scene=scene, title=title)
        scene.schedule_on(self.session)  # before the run starts, so no action can be late
        view = scene.view
        if "arrows" in view:
            self.data2d.set_show_arrows(bool(view["arrows"]))
        if "z_grid" in view:  # the generator manifold, on the 2D and the 1D data view
            self.data2d.set_show_z_grid(bool(view["z_grid"]))
            self.data1d.set_show_z_grid(bool(view["z_grid"]))
        if "docks" in view:
            for name, dock in self.docks.items():
                if name != "controls":
                    dock.setVisible(name in view["docks"])
        if "speed" in view:  # held by the session until its run starts; the toolbar shows it once applied
            speed = float(view["speed"]) or None
            self.send(SetSpeed(speed))
        self.session.start()
        self.statusBar().showMessage(f"Scene: {title}", 10000)
        return True

    # -------------------------------------------------------------- layout memory
    def _default_layout(self) -> None:
        """Fitted to the screen: controls on the left, the data view about square in the centre, losses over
        metrics on the right (ganviz.qt.layout)."""
        layout.default_layout(self)

    def _restore_layout(self) -> None:
        """The saved layout, when it fits this screen; one that does not (a drifted or a foreign one) is
        replaced by the default once the window shows."""
        self._default_state = self.saveState(SETTINGS_VERSION)
        geometry = self.settings.value("geometry")
        state = self.settings.value("state")
        if geometry is not None and self.restoreGeometry(geometry) and layout.layout_problem(self):
            layout.fit_to_screen(self)
        if state is not None:
            self.restoreState(state, SETTINGS_VERSION)
            QtCore.QTimer.singleShot(0, self._check_layout)

    def _check_layout(self) -> None:
        problem = layout.layout_problem(self) if self.isVisible() else None
        if problem:
            self._reset_layout()
            notice = f"The saved layout was not used ({problem}); View → Reset layout gives this one."
            earlier = self.statusBar().currentMessage()  # e.g. a scene not resumed: joined, not replaced
            self.statusBar().showMessage(f"{earlier}  ·  {notice}" if earlier else notice, 30000 if earlier else 10000)

    def _reset_layout(self) -> None:
        """The default layout for this screen; only the docks that apply to the data shown are raised."""
        if self.isFullScreen() or self.isMaximized():
            self.showNormal()
        self.restoreState(self._default_state, SETTINGS_VERSION)
        layout.size_docks(self, layout.fit_to_screen(self))
        image = bool(self._image_mode)
        self._image_mode = None  # re-apply which docks suit the data (coverage only for images, ...)
        self._show_dim(self._last_dim, image)
        layout.raise_defaults(self)

    def save_layout(self) -> None:
        """Remember geometry and docks. Docks hidden only because image data is shown are saved as the user
        left them (shown), so the next toy-data launch has them back."""
        if self.isVisible() and layout.layout_problem(self, screen=False):
            return  # never remember a drifted layout (the last good one stays)
        hidden_for_images = self.hidden_for_images()
        for dock in hidden_for_images:
            dock.setVisible(True)
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("state", self.saveState(SETTINGS_VERSION))
        self.settings.sync()
        for dock in hidden_for_images:
            dock.setVisible(False)

    # -------------------------------------------------------------- commands
    def send(self, cmd: Command) -> None:
        self._end_script_on_new_data(cmd)
        if starts_new_child(self.session, cmd):
            # the training process is gone (or stopped): Reset, Play and the steps start a new one
            self.restart_training(paused=isinstance(cmd, STEPS))
            if isinstance(cmd, STEPS):
                self.session.submit(cmd)
            return
        if isinstance(cmd, SetRunning) and not cmd.running and self.session.failure is None:
            self._note_pausing()
        self.session.submit(cmd)

    def restart_training(self, paused: bool = False) -> None:
        """Start a new training process from the current settings (after the last one died, failed or
        stopped answering); the old one is ended (SIGKILL if it is stopped)."""
        config = self.session.config
        self.restart(config, autostart=False, scene=self.current_scene, title=self.run_state.scene)
        if paused:
            self.session.submit(SetRunning(False))
            self._show_running(False)
        self.session.start()
        self.statusBar().showMessage("Started a new training process from the current settings (step 0).", 10000)

    def _note_pausing(self) -> None:
        """Pause applies at the next step boundary: with slow steps, say so instead of seeming to ignore it."""
        snap = self.last_snapshot
        if snap is None or not snap.running or snap.steps_per_sec <= 0 or snap.steps_per_sec >= 2.0:
            return
        self.statusBar().showMessage(f"Pausing after this step (steps take about {1 / snap.steps_per_sec:.0f} s "
                                     "each)…", 60000)

    def _end_script_on_new_data(self, cmd: Command) -> None:
        """A scene's script belongs to its data: a dataset the user picks cancels the steps still to come."""
        scene = self.current_scene
        try:
            new_data = "data" in cmd.changes() and cmd.changes()["data"] != self.run_state.config.data
        except ValueError:
            return
        if scene is None or not new_data:
            return
        left = [a for a in scene.actions if a.step > self.run_state.step]
        self.current_scene = None
        self.run_state.scene = None
        self._render_title()
        if left:
            self.session.submit(ClearSchedule())
            title = text_bounds.clean(scene.title, text_bounds.TITLE_CHARS)
            self.statusBar().showMessage(f"New data: the scene “{title}” ends here; its "
                                         f"{len(left)} scripted step(s) still to come are cancelled.", 15000)

    def toggle_running(self) -> None:
        self.toolbar.toggle_running()

    def _show_running(self, running: bool) -> None:
        self.toolbar.show_running(running)

    # -------------------------------------------------------------- snapshots
    def _show_dim(self, dim: int, image: bool | None = None) -> None:
        """Show the data view for this dimension (1D, 2D, or image grids; `image` overrides what dim says)
        and the docks that apply to it."""
        image = is_image_dim(dim) if image is None else image
        self.data_stack.setCurrentWidget(self.images if image else self.data1d if dim == 1 else self.data2d)
        if image == self._image_mode:
            return
        self.show_data_kind(image)  # docks that apply to image data only (coverage) or to toy data only
        if not image and self.docks["losses"] not in self.tabifiedDockWidgets(self.docks["metrics"]):
            self.docks["metrics"].raise_()

    def _data_panel(self, snap: Snapshot) -> QtWidgets.QWidget:
        if shows_images(snap):
            return self.images
        return self.data1d if snap.dim == 1 else self.data2d

    def on_snapshot(self, snap: Snapshot) -> None:
        try:
            snap = snap.materialized()
            if any(e.kind == EventKind.RESET for e in snap.events):
                for p in self.data_views:
                    p.reset()
                self.reset_panels()
            image = shows_images(snap)
            if snap.dim != self._last_dim or image != bool(self._image_mode):
                self._last_dim = snap.dim
                self._show_dim(snap.dim, image)
            refreshed = self.feed_panels(snap, image)
            if "metrics" not in refreshed or bool(snap.events) or not snap.running:
                # frame budget: the metrics plots (the heaviest panel, 2 Hz) and the data view never paint
                # in the same frame; the data view shows only the latest snapshot, so nothing is lost
                self._data_panel(snap).update_snapshot(snap)
            self._update_status(snap)
            self.last_snapshot = snap
            self.frames += 1
            self.snapshot_drawn.emit(snap)
            if self.frames >= BUILD_AFTER_FRAMES and not self.is_closing:
                QtCore.QTimer.singleShot(0, self.build_next_panel)  # docks not shown yet, one per frame
        finally:
            self.session.frame_done()

    def _update_status(self, snap: Snapshot) -> None:
        now = time.perf_counter()
        self._frame_times.append(now)
        fps = 0.0
        if len(self._frame_times) > 1:
            fps = (len(self._frame_times) - 1) / max(self._frame_times[-1] - self._frame_times[0], 1e-9)
        self.status_step.setText(f"step {snap.step}  (D {snap.d_updates}, G {snap.g_updates})")
        self.status_rate.setText(f"{snap.steps_per_sec:.0f} steps/s")
        self.status_fps.setText(f"{fps:.0f} frames/s")
        self.status_device.setText(f"device: {snap.device}")
        if snap.running != self.play_action.isChecked():
            self._show_running(snap.running)
        if not snap.running and self.statusBar().currentMessage().startswith("Pausing after this step"):
            self.statusBar().showMessage(f"Paused at step {snap.step}.", 8000)
        for ev in snap.events:
            if ev.kind == EventKind.DIVERGED:
                back = ev.detail.get("steps_back")
                where = (f"{back} steps, to step {ev.detail.get('rolled_back_to')} (the last state with finite "
                         "and bounded losses and gradients)," if back is not None else "to the last good state")
                self.statusBar().showMessage(
                    f"Step {ev.step}: training diverged (NaN/Inf). Rolled back {where} and paused — try lower "
                    "learning rates or a penalty (R1, gradient penalty).", 20000)
            elif ev.kind in (EventKind.DEVICE, EventKind.ERROR):
                self.statusBar().showMessage(ev.label, 15000)
        self._render_run_state(self.run_state.update(snap))

    def _render_run_state(self, changed: set[str]) -> None:
        """Controls and toolbar show what the engine applied (a scripted, replayed or loaded change too)."""
        if "config" in changed:
            self.controls.set_config(self.run_state.config)  # echo without re-emitting
        if "speed" in changed:
            self.toolbar.show_speed(self.run_state.speed)
        if changed:
            self.run_state_changed.emit(changed)

    def _render_title(self) -> None:
        """The window title names what runs (a scene, a session), from the run state."""
        self.setWindowTitle(f"ganviz — {self.run_state.scene}" if self.run_state.scene else TITLE)

    def on_failed(self, message: str) -> None:
        """The training process died or failed: say what happened, keep the last drawn state, offer a restart."""
        self._show_running(False)
        self.banner.show_failure(message, self.session.failure, self.last_snapshot)
        self.status_rate.setText("stopped")

    def on_stalled(self, message: str) -> None:
        """The child stopped answering (message), or answers again ("")."""
        if message:
            self.banner.show_message("stalled", message)
            self.status_rate.setText("not answering")
        elif self.banner.kind == "stalled":
            self.banner.clear()
            self.statusBar().showMessage("The training process answers again.", 8000)

    # -------------------------------------------------------------- closing
    def shutdown(self) -> bool:
        """Save the layout, let the extensions close (recordings, extra windows), then stop training: all of
        it within CLOSE_SECONDS, which the training thread gets whatever the extensions left of (at least
        0.3 s)."""
        start = time.monotonic()
        self.is_closing = True  # no dock is built from here on
        self.session.closing = True  # a training thread stopped for an export is not started again
        self.closing.emit()
        self.save_layout()
        left = CLOSE_SECONDS - 0.05 - (time.monotonic() - start)
        return self.session.stop(timeout=max(0.3, left))

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 (Qt API)
        self.shutdown()
        super().closeEvent(event)
