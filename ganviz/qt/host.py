"""The window host: the one API through which features add panels, actions and run hooks to the main window.

A feature is an ordinary module with `install(host) -> object`; it talks to the host only (no private
attributes on the window, no wrapped methods, no peeking at another feature):

    from ganviz.qt.host import EVERY_FRAME, PanelSpec, WindowHost

    def install(host: WindowHost) -> ModesFeature:  # (the real one: ganviz/qt/extensions/collapse.py)
        feature = ModesFeature(host)
        host.add_panel(PanelSpec(
            "modes", "Mode coverage", feature.build_panel,  # factory: called when the dock is first shown
            refresh_rate=EVERY_FRAME, applies_to="toy", tab_with="metrics"))
        host.add_action("modes.trails", "Show trails", feature.toggle_trails, menu="View", shortcut="T")
        host.run_started.connect(feature.on_run_started)  # a new run (scene, session, restart): a TrainingSession
        host.closing.connect(feature.close)  # the window is closing: end windows, recordings (quickly)
        return feature  # kept as host.features["modes"]

- `add_panel(spec)`: one registration adds a dock (listed in View, its place remembered with the layout under
  `dock_<name>`). Its widget is built lazily: when the dock is first shown (raised as a tab, or made
  visible), or in idle time once the run draws frames, so hidden docks cost nothing at start-up. A panel with a
  `refresh_rate` is fed snapshots (`update_snapshot(snapshot)`) by the host: throttled to that rate (one slow
  panel per frame, history of skipped frames merged in), only for the data it `applies_to`; what arrives
  before it is built is handed to it when it is built, so nothing is lost.
- `add_action(name, text, slot, ...)`: a QAction in a menu and/or the run toolbar, kept in `actions_by_name`.
- `run_started(session)`: emitted when the window starts a new run (after it replaced its TrainingSession,
  before that run starts: a feature may still schedule commands on it). `closing()`: emitted first when the
  window closes; slots must return quickly (the whole close takes about a second).
- `snapshot_drawn(snapshot)`: every snapshot after the window drew it (materialised).
- `run_state_changed(names)`: what changed in `window.run_state` (ganviz.core.runstate: the config the engine
  applied, the speed, the scene, events): views render what trains from there, never from a copy of their own.
- `panel(name)`: a registered panel's widget (built on demand).
- `features[name]`: what each feature's install returned (the window also answers `window.<name>`);
  `feature_errors[name]`: a feature that failed to install (the window opens without it).

The main window (ganviz.qt.main_window.MainWindow) is a WindowHost; its FEATURES list names the features in the
order they are installed, join tab groups and hear `closing`.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import shiboken6
from PySide6 import QtCore, QtGui, QtWidgets

from ..core.snapshot import History
from .layout import min_cap

Area = QtCore.Qt.DockWidgetArea
EVERY_FRAME = math.inf  # refresh_rate of a panel fed every drawn snapshot (outside the one-slow-panel budget)
APPLIES = ("any", "toy", "image")
BACKLOG_GROUPS = 64  # an unbuilt panel's backlog (snapshots grouped by metrics step); beyond this it is built
MIN_CAP = (280, 200)  # a plot dock never demands more than this: growing content must not widen the window


@dataclasses.dataclass(frozen=True)
class PanelSpec:
    """A dockable panel. `factory()` makes its widget (called once, when the dock is first needed).

    refresh_rate: Hz at which the widget's `update_snapshot` is fed (EVERY_FRAME: every drawn snapshot);
    None: not fed (a form). applies_to: "toy" (1D / 2D data: hidden while images are shown, then restored),
    "image" (shown and raised for image data, hidden otherwise) or "any". tab_with: on a fresh layout the dock
    is tabbed behind this one (else placed in `area`). cap_minimum: plots get a capped minimum size (forms
    need their own: False)."""

    name: str
    title: str
    factory: Callable[[], QtWidgets.QWidget]
    refresh_rate: float | None = None
    applies_to: str = "any"
    area: Area = Area.RightDockWidgetArea
    tab_with: str | None = None
    visible: bool = True
    cap_minimum: bool = True

    def __post_init__(self) -> None:
        if self.applies_to not in APPLIES:
            raise ValueError(f"applies_to must be one of {APPLIES}, got {self.applies_to!r}")
        if self.refresh_rate is not None and not self.refresh_rate > 0:
            raise ValueError(f"refresh_rate must be positive (Hz) or None, got {self.refresh_rate!r}")

    def applies(self, image: bool) -> bool:
        return self.applies_to == "any" or (self.applies_to == "image") == image


def merge_history(parts: list[History]) -> History:
    """Concatenate per-step histories of consecutive snapshots."""
    if len(parts) == 1:
        return parts[0]
    keys = parts[-1].values.keys()
    return History(np.concatenate([h.steps for h in parts]),
                   {k: np.concatenate([h.values[k] for h in parts]) for k in keys})


def merge_snapshots(pending: list[Any]) -> Any:
    """The last snapshot with the history and events of all of them."""
    if len(pending) == 1:
        return pending[0]
    last = pending[-1]
    return dataclasses.replace(last, history=merge_history([s.history for s in pending]),
                               events=tuple(e for s in pending for e in s.events))


def group_backlog(pending: list[Any]) -> list[Any]:
    """Consecutive snapshots with the same metrics step merged into one (metric points stay, one each)."""
    out: list[list[Any]] = []
    for snap in pending:
        if out and getattr(out[-1][-1], "metrics_step", None) == getattr(snap, "metrics_step", None):
            out[-1].append(snap)
        else:
            out.append([snap])
    return [merge_snapshots(group) for group in out]


class PanelDock(QtWidgets.QDockWidget):
    """A dock whose widget is made by its spec's factory the first time it is needed."""

    built = QtCore.Signal(object)  # the widget, once made

    def __init__(self, spec: PanelSpec, parent: QtWidgets.QWidget) -> None:
        super().__init__(spec.title, parent)
        self.spec = spec
        self.setObjectName(f"dock_{spec.name}")
        self._widget: QtWidgets.QWidget | None = None
        self._cap = min_cap(parent)  # MIN_CAP, less on a narrow screen (ganviz.qt.layout.min_cap)
        placeholder = QtWidgets.QWidget()  # as demanding as a plot can be (the cap), so the layout does not
        placeholder.setMinimumSize(*(self._cap if spec.cap_minimum else (120, 80)))  # change when it is built
        self.setWidget(placeholder)
        self.visibilityChanged.connect(self._on_visibility)

    def _on_visibility(self, shown: bool) -> None:
        if shown and not getattr(self.parent(), "is_closing", False):
            self.panel()

    def is_built(self) -> bool:
        return self._widget is not None

    def panel(self) -> QtWidgets.QWidget:
        """The widget, made now if it was not yet."""
        if self._widget is None:
            widget = self.spec.factory()
            if self.spec.cap_minimum:  # see ganviz.qt.layout.cap_minimum_sizes
                hint = widget.minimumSizeHint()
                widget.setMinimumSize(min(max(hint.width(), 1), self._cap[0]), min(max(hint.height(), 1), self._cap[1]))
                widget._min_capped = True
            self._widget = widget
            self.setWidget(widget)
            self.built.emit(widget)
        return self._widget


class WindowHost(QtWidgets.QMainWindow):
    """A main window that features extend through add_panel / add_action and the run signals (see module doc)."""

    run_started = QtCore.Signal(object)  # the new run's TrainingSession, before it starts
    closing = QtCore.Signal()  # the window is closing (first thing): end recordings and extra windows now
    snapshot_drawn = QtCore.Signal(object)  # the materialised snapshot, after every panel has drawn it
    run_state_changed = QtCore.Signal(object)  # names of what changed in window.run_state ("config", "speed", ...)

    def __init__(self) -> None:
        super().__init__()
        self.docks: dict[str, QtWidgets.QDockWidget] = {}
        self.panel_specs: dict[str, PanelSpec] = {}
        self.features: dict[str, Any] = {}
        self.feature_errors: dict[str, str] = {}
        self.actions_by_name: dict[str, QtGui.QAction] = {}
        self._pending: dict[str, list[Any]] = {}
        self._last_draw: dict[str, float] = {}
        self._fed: set[str] = set()  # panels handed a snapshot at least once
        self._image_mode: bool | None = None
        self._toy_dock_visible: dict[str, bool] = {}
        self.is_closing = False  # set when closing starts: no dock is built from then on

    # -------------------------------------------------------------- registration
    def menu(self, title: str) -> QtWidgets.QMenu:
        """The menu-bar menu with this title, created on first use (e.g. "File", "Scenes", "View")."""
        for action in self.menuBar().actions():
            if action.menu() is not None and action.text().replace("&", "") == title:
                return action.menu()
        return self.menuBar().addMenu(title)

    def add_panel(self, spec: PanelSpec, widget: QtWidgets.QWidget | None = None) -> PanelDock:
        """Add a dock for spec (see PanelSpec); `widget`: one already made (the window's own plots)."""
        if spec.name in self.docks:
            raise ValueError(f"a panel named {spec.name!r} is already registered")
        dock = PanelDock(spec, self)
        if widget is not None:
            dock._widget = widget
            dock.setWidget(widget)
        self.docks[spec.name] = dock
        self.panel_specs[spec.name] = spec
        if spec.refresh_rate is not None:
            self._pending[spec.name] = []
            self._last_draw[spec.name] = 0.0
            dock.built.connect(lambda _widget, n=spec.name: self._deliver(n))  # its backlog, once made
        anchor = self.docks.get(spec.tab_with) if spec.tab_with else None
        if anchor is not None:
            self.tabifyDockWidget(anchor, dock)
        else:
            self.addDockWidget(spec.area, dock)
        self.menu("View").addAction(dock.toggleViewAction())
        dock.setVisible(spec.visible)
        return dock

    def panel(self, name: str) -> QtWidgets.QWidget:
        """The widget of a registered panel (built now if it was not yet)."""
        dock = self.docks[name]
        return dock.panel() if isinstance(dock, PanelDock) else dock.widget()

    def add_action(self, name: str, text: str, slot: Callable[..., Any] | None = None, *, menu: str | None = None,
                   shortcut: str | QtGui.QKeySequence.StandardKey | None = None, tip: str = "",
                   checkable: bool = False, icon: QtGui.QIcon | None = None, toolbar: bool = False) -> QtGui.QAction:
        """A window action (its shortcut works with the menu bar hidden), in `menu` and / or the run toolbar."""
        action = QtGui.QAction(text, self) if icon is None else QtGui.QAction(icon, text, self)
        if shortcut is not None:
            action.setShortcut(QtGui.QKeySequence(shortcut))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.setCheckable(checkable)
        if slot is not None:
            (action.toggled if checkable else action.triggered).connect(slot)
        self.addAction(action)
        if menu is not None:
            self.menu(menu).addAction(action)
        if toolbar:
            bar = self.run_toolbar()
            if bar is not None:
                bar.addSeparator()
                bar.addAction(action)
        self.actions_by_name[name] = action
        return action

    def run_toolbar(self) -> QtWidgets.QToolBar | None:
        """The toolbar that add_action(toolbar=True) adds to (the window's run toolbar)."""
        return None

    def install_features(self, modules: list[tuple[str, str]]) -> None:
        """Import and install each (name, module path); one that fails is reported, the window still opens."""
        import importlib

        for name, path in modules:
            try:
                module = importlib.import_module(path)
                self.features[name] = module.install(self)
            except Exception as exc:  # a feature must never keep the lab from opening
                self.feature_errors[name] = f"{type(exc).__name__}: {exc}"
                self.statusBar().showMessage(f"{name} failed to load: {exc}", 15000)

    def show_message(self, text: str, ms: int = 15000) -> None:
        """A status-bar message."""
        self.statusBar().showMessage(text, ms)

    # -------------------------------------------------------------- data kind
    def show_data_kind(self, image: bool) -> None:
        """Show the docks that apply to this data: "image" docks shown and raised for images, hidden otherwise;
        "toy" docks hidden while images are shown and then restored as the user left them."""
        if image == self._image_mode:
            return
        self._image_mode = image
        for name, spec in self.panel_specs.items():
            dock = self.docks[name]
            if spec.applies_to == "image":
                dock.setVisible(image)
                if image:
                    dock.raise_()
            elif spec.applies_to == "toy":
                if image:
                    self._toy_dock_visible[name] = dock.isVisible()
                    dock.setVisible(False)
                elif name in self._toy_dock_visible:
                    dock.setVisible(self._toy_dock_visible.pop(name))

    def hidden_for_images(self) -> list[QtWidgets.QDockWidget]:
        """Docks the user left shown that are hidden only because image data is shown."""
        return [self.docks[n] for n, shown in self._toy_dock_visible.items() if shown and n in self.docks]

    # -------------------------------------------------------------- feeding panels
    def clear_pending(self) -> None:
        for pending in self._pending.values():
            pending.clear()

    def feed_panels(self, snap: Any, image: bool, force: bool = False) -> list[str]:
        """Queue the snapshot for every fed panel that applies to it; refresh each EVERY_FRAME panel, and at
        most one throttled panel per frame (the most overdue), so no frame pays for several plots at once;
        events, pauses and resets (force) refresh them all. Returns the throttled panels refreshed."""
        now = time.perf_counter()
        fed = {n: s for n, s in self.panel_specs.items() if s.refresh_rate is not None and s.applies(image)}
        for name in fed:
            self._pending[name].append(snap)
        refresh_all = force or bool(snap.events) or not snap.running
        throttled = [n for n, s in fed.items() if s.refresh_rate != EVERY_FRAME]
        overdue = {n: (now - self._last_draw[n]) * fed[n].refresh_rate for n in throttled}
        if refresh_all:
            names = throttled
        elif overdue:
            name = max(overdue, key=overdue.get)
            names = [name] if overdue[name] >= 1.0 else []
        else:
            names = []
        for name in [*names, *(n for n in fed if n not in throttled)]:
            self._last_draw[name] = now
            self._deliver(name)
        for name in fed:  # an unbuilt panel keeps a bounded backlog; past it, it is built in this frame
            if len(self._pending[name]) > BACKLOG_GROUPS:
                self._pending[name] = group_backlog(self._pending[name])
                if len(self._pending[name]) > BACKLOG_GROUPS:
                    self._deliver(name, build=True)
        return names

    def _deliver(self, name: str, build: bool = False) -> None:
        """Hand a panel what is pending: merged into one snapshot; a panel just built gets its backlog as one
        snapshot per metrics step (so its metric curves miss no point)."""
        dock = self.docks[name]
        pending = self._pending[name]
        if not pending or (isinstance(dock, PanelDock) and not dock.is_built() and not build):
            return
        widget = self.panel(name)
        if name in self._fed:
            widget.update_snapshot(merge_snapshots(pending))
        else:  # its first delivery: everything since the run started
            self._fed.add(name)
            for snap in group_backlog(pending):
                widget.update_snapshot(snap)
        pending.clear()

    def build_next_panel(self) -> bool:
        """Build one panel not built yet (idle time after a drawn frame) and hand it its backlog. True if one was."""
        for name, dock in self.docks.items():
            if isinstance(dock, PanelDock) and not dock.is_built():
                dock.panel()
                if name in self._pending:
                    self._deliver(name)
                return True
        return False

    def reset_panels(self) -> None:
        """A new run or a reset: every built panel starts empty, and nothing pending is handed on."""
        for name, dock in self.docks.items():
            widget = dock._widget if isinstance(dock, PanelDock) else dock.widget()
            if widget is not None and name in self._pending and hasattr(widget, "reset"):
                widget.reset()
        self.clear_pending()


class OpenWindows(QtCore.QObject):
    """Top-level windows a feature opened (comparisons, theory views), closed when the host closes or is
    destroyed. `add(widget, key)`; `get(key)` re-finds a keyed one that still exists."""

    def __init__(self, host: QtWidgets.QWidget) -> None:
        super().__init__(host)
        self.windows: list[QtWidgets.QWidget] = []
        self.keyed: dict[str, QtWidgets.QWidget] = {}
        host.closing.connect(self.close_all)
        host.destroyed.connect(self.close_all)

    def add(self, widget: QtWidgets.QWidget, key: str | None = None) -> QtWidgets.QWidget:
        if key is not None:
            self.keyed[key] = widget
        else:
            self.windows = [w for w in self.windows if shiboken6.isValid(w) and w.isVisible()] + [widget]
        return widget

    def get(self, key: str) -> QtWidgets.QWidget | None:
        w = self.keyed.get(key)
        return w if w is not None and shiboken6.isValid(w) else None

    def close_all(self, *_args: Any) -> None:
        for w in [*self.windows, *self.keyed.values()]:
            if shiboken6.isValid(w):  # at exit Qt may have deleted it already (no traceback on quit)
                w.close()  # a view's closeEvent stops its workers (bounded wait)
