"""What the lecture hall sees: View → Theme (light / dark), Presentation mode (F5: full screen, larger fonts,
thicker lines, the high-contrast theme, chosen docks and bars hidden; Esc leaves), Full screen (F11),
Presentation settings..., the lecture keys (faster / slower ] [, gradient arrows A, z-grid Z), and Help →
Keyboard shortcuts (F1 or ?), a sheet read from the window's actions when it opens.

Remembered: classroom/theme, classroom/presentation_hide, classroom/presentation_scale."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore, QtGui, QtWidgets
from superqt.utils import signals_blocked

from ... import style
from ...presentation_bar import PresentationBar
from .themes import HIGH_CONTRAST, PALETTES, PlotStyler, qt_palette
from .widgets import HelpOverlay, PresentationDialog

if TYPE_CHECKING:
    from .feature import Classroom

DEFAULT_HIDE = ("controls", "histograms", "recording", "status bar")
PLOT_FONT_SHARE = 0.6  # plots grow their fonts by this share of the presentation factor (small multiples)
SPEED_KEYS = ("]", "[")


class Stage(QtCore.QObject):
    """Theme, presentation mode, full screen and the shortcut sheet of one window."""

    def __init__(self, classroom: Classroom) -> None:
        super().__init__(classroom)
        self.classroom = classroom
        self.host = host = classroom.host
        settings = classroom.settings
        self.styler = PlotStyler()
        self.theme = "dark" if str(settings.value("classroom/theme", "light")) == "dark" else "light"
        self.presenting = False
        self._saved: dict[str, Any] = {}
        self._last_restyle = 0.0
        self.hide_in_presentation = set(_setting_list(settings, "classroom/presentation_hide", list(DEFAULT_HIDE)))
        try:
            self.presentation_scale = float(settings.value("classroom/presentation_scale", 1.6))
        except (TypeError, ValueError):
            self.presentation_scale = 1.6
        self.presentation_scale = min(3.0, max(1.0, self.presentation_scale))
        self.help = HelpOverlay(host)
        self.presentation_bar = PresentationBar(host)  # objective and run controls while presenting
        host.addToolBar(QtCore.Qt.ToolBarArea.TopToolBarArea, self.presentation_bar)
        self.presentation_bar.hide()
        self._build_view_menu()
        self._build_help_menu()

    def _build_view_menu(self) -> None:
        c, host = self.classroom, self.host
        view = host.menu("View")
        view.addSeparator()
        theme_menu = view.addMenu("Theme")
        group = QtGui.QActionGroup(self)
        for key, text in (("light", "Light"), ("dark", "Dark")):
            a = c.action(f"theme_{key}", text, None, lambda on, k=key: on and self.set_theme(k), theme_menu,
                         checkable=True)
            group.addAction(a)
            with signals_blocked(a):
                a.setChecked(key == self.theme)
        c.action("presentation", "Presentation mode", ["F5"], self.toggle_presentation, view,
                 "Full screen, large fonts, thick lines, high contrast; chosen docks hidden (Esc leaves)",
                 checkable=True)
        c.action("fullscreen", "Full screen", ["F11"], self.toggle_fullscreen, view, checkable=True)
        esc = c.action("leave", "Leave presentation / full screen", ["Esc"], self.leave, view)
        esc.setEnabled(False)
        c.action("presentation_settings", "Presentation settings...", None, self.presentation_settings, view)
        view.addSeparator()
        c.action("faster", "Faster", [SPEED_KEYS[0]], lambda: self.change_speed(+1), view, "Next training speed")
        c.action("slower", "Slower", [SPEED_KEYS[1]], lambda: self.change_speed(-1), view, "Previous training speed")
        c.action("arrows", "Gradient arrows (2D)", ["A"], lambda: host.data2d.arrows_checkbox.toggle(), view)
        c.action("z_grid", "Generator z-grid (2D)", ["Z"], lambda: host.data2d.z_grid_checkbox.toggle(), view)

    def _build_help_menu(self) -> None:
        # "?" is Shift+/ on most layouts, and Qt matches the shifted key only as Shift+?
        self.classroom.action("help", "Keyboard shortcuts", ["F1", "?", "Shift+?"], self.toggle_help,
                              self.host.menu("Help"), "List every keyboard shortcut")

    # ------------------------------------------------------------------ theme
    def change_speed(self, delta: int) -> None:
        combo = self.host.speed
        combo.setCurrentIndex(min(combo.count() - 1, max(0, combo.currentIndex() + delta)))
        self.host.show_message(f"Speed: {combo.currentText()}", 3000)

    def set_theme(self, kind: str, save: bool = True) -> None:
        """'light' or 'dark': Qt palette, pyqtgraph's defaults and every plot already in the window."""
        self.theme = "dark" if kind == "dark" else "light"
        if save:
            self.classroom.save("classroom/theme", self.theme)
        for key in ("light", "dark"):
            a = self.classroom.actions.get(f"theme_{key}")
            if a is not None:
                with signals_blocked(a):
                    a.setChecked(key == self.theme)
        self.restyle()

    def restyle(self) -> None:
        c = self.classroom
        origin = style.palette()
        if self.presenting:
            target, width, font = HIGH_CONTRAST, self.presentation_scale, self.presentation_scale
            plot_font = 1.0 + PLOT_FONT_SHARE * (font - 1.0)
            qt_kind = "contrast"
        else:
            target, width, font = PALETTES[self.theme], 1.0, 1.0
            plot_font = 1.0
            qt_kind = self.theme
        app = QtWidgets.QApplication.instance()
        app.setPalette(qt_palette(qt_kind))
        self.styler.apply(self.host, target, width, plot_font, origin=origin, base=PALETTES[self.theme])
        # panels, markers and axis labels made from now on: in the palette on screen (presenting: high
        # contrast; a label set with the dark theme's light grey was unreadable on the white background)
        style.set_palette(target)
        c.formula.set_scale(font)
        c.info.set_scale(font)
        self.help.scale = font
        self._last_restyle = time.perf_counter()

    def on_snapshot(self) -> None:
        """Items added since the last restyle (e.g. event markers) take the theme on screen, once a second."""
        restyled = self.presenting or self.theme != "light"
        if restyled and time.perf_counter() - self._last_restyle > 1.0:
            self._last_restyle = time.perf_counter()
            self.styler.apply_new(self.host)

    def scene_changed(self) -> None:
        """A new scene's panels are drawn in the presentation style too."""
        if self.presenting:
            QtCore.QTimer.singleShot(0, self.restyle)

    # ------------------------------------------------------------------ presentation mode
    def toggle_presentation(self, on: bool | None = None) -> None:
        """Enter (on=True), leave (False) or toggle (None) presentation mode."""
        on = (not self.presenting) if on is None else bool(on)
        if on == self.presenting:
            self._sync_checks()
            return
        w = self.host
        app = QtWidgets.QApplication.instance()
        if on:
            self._saved = {"state": w.saveState(), "geometry": w.saveGeometry(),
                           "fullscreen": w.isFullScreen(), "maximized": w.isMaximized(),
                           "font": QtGui.QFont(app.font()), "status": not w.statusBar().isHidden(),
                           "menu": not w.menuBar().isHidden(),
                           "toolbars": {bar: not bar.isHidden() for bar in w.findChildren(QtWidgets.QToolBar)}}
            self.presenting = True
            for name, dock in w.docks.items():
                if name in self.hide_in_presentation:
                    dock.hide()
            if "status bar" in self.hide_in_presentation:
                w.statusBar().hide()
            if "menu bar" in self.hide_in_presentation:
                w.menuBar().hide()
            for bar in self._saved["toolbars"]:  # the presentation bar replaces the run toolbar (or nothing)
                if "toolbar" in self.hide_in_presentation or bar is w.run_toolbar():
                    bar.hide()
            self.presentation_bar.render()
            self.presentation_bar.show()
            font = QtGui.QFont(self._saved["font"])
            if font.pointSizeF() > 0:
                font.setPointSizeF(font.pointSizeF() * self.presentation_scale)
            app.setFont(font)
            w.showFullScreen()
            QtCore.QTimer.singleShot(0, self._hide_stale_tab_bars)
        else:
            self.presenting = False
            saved = self._saved
            app.setFont(saved.get("font", app.font()))
            if "state" in saved:
                w.restoreState(saved["state"])
            w.statusBar().setVisible(saved.get("status", True))
            w.menuBar().setVisible(saved.get("menu", True))
            for bar, shown in saved.get("toolbars", {}).items():
                bar.setVisible(shown)
            if not saved.get("fullscreen", False):
                if saved.get("maximized"):
                    w.showMaximized()
                else:
                    w.showNormal()
                    self._restore_frame(saved)
                    QtCore.QTimer.singleShot(0, lambda: self._restore_frame(saved))  # after the fonts settle
        self.restyle()
        self._sync_checks()
        w.show_message("Presentation mode: Esc leaves, F1 lists the keys" if on else "Presentation mode off", 5000)

    def _restore_frame(self, saved: dict) -> None:
        """The window exactly as before presenting: its geometry and its docks' sizes (no drift)."""
        if self.presenting:
            return
        if "geometry" in saved:
            self.host.restoreGeometry(saved["geometry"])
        if "state" in saved:
            self.host.restoreState(saved["state"])

    def _hide_stale_tab_bars(self) -> None:
        """Qt can leave the tab bar of a group of tabbed docks on screen after every dock in it is hidden (it
        then floats over the neighbouring dock); hide such bars while presenting."""
        w = self.host
        hidden_titles = {d.windowTitle() for d in w.docks.values() if d.isHidden()}
        for bar in w.findChildren(QtWidgets.QTabBar):
            if bar.parent() is w and bar.count() and \
                    all(bar.tabText(i) in hidden_titles for i in range(bar.count())):
                bar.hide()

    def toggle_fullscreen(self, _checked: bool = False) -> None:
        w = self.host
        if w.isFullScreen():
            if self.presenting:
                self.toggle_presentation(False)
            w.showNormal()
        else:
            w.showFullScreen()
        self._sync_checks()

    def leave(self) -> None:
        """Esc: close the help sheet, else leave presentation mode, else leave full screen."""
        if self.help_open:
            self.help.hide()
        elif self.presenting:
            self.toggle_presentation(False)
        elif self.host.isFullScreen():
            self.host.showNormal()
        self._sync_checks()

    def _sync_checks(self) -> None:
        actions = self.classroom.actions
        for key, value in (("presentation", self.presenting), ("fullscreen", self.host.isFullScreen())):
            a = actions[key]
            with signals_blocked(a):
                a.setChecked(value)
        actions["leave"].setEnabled(self.presenting or self.host.isFullScreen() or self.help_open)

    def presentation_settings(self) -> None:
        names = [(n, d.windowTitle()) for n, d in self.host.docks.items()]
        names += [("status bar", "Status bar"), ("toolbar", "Toolbar"), ("menu bar", "Menu bar")]
        dlg = PresentationDialog(self.host, names, self.hide_in_presentation, self.presentation_scale)
        if dlg.exec() == QtWidgets.QDialog.DialogCode.Accepted:
            self.set_presentation_options(dlg.hidden(), dlg.scale.value())

    def set_presentation_options(self, hidden: set[str], scale: float) -> None:
        self.hide_in_presentation = set(hidden)
        self.presentation_scale = min(3.0, max(1.0, float(scale)))
        self.classroom.save("classroom/presentation_hide", sorted(self.hide_in_presentation))
        self.classroom.save("classroom/presentation_scale", self.presentation_scale)

    # ------------------------------------------------------------------ help
    def shortcut_entries(self) -> list[tuple[str, str, str]]:
        """(group, action text, keys) for every enabled-or-not QAction of the window with a shortcut."""
        w = self.host
        seen: set[int] = set()
        order = {a.text().replace("&", ""): i for i, a in enumerate(w.menuBar().actions())}
        out: list[tuple[int, str, str, str]] = []
        for a in [*w.actions(), *w.findChildren(QtGui.QAction)]:
            if id(a) in seen or not a.shortcuts() or not a.isVisible():
                continue
            seen.add(id(a))
            group, rank = "Window", 999
            for obj in a.associatedObjects():
                if isinstance(obj, QtWidgets.QMenu) and obj.title():
                    top = obj
                    while isinstance(top.parent(), QtWidgets.QMenu):
                        top = top.parent()
                    group = top.title().replace("&", "")
                    rank = order.get(group, 500)
                    break
                if isinstance(obj, QtWidgets.QToolBar):
                    group, rank = "Training", -1
                    break
            names = [k.toString(QtGui.QKeySequence.SequenceFormat.NativeText) for k in a.shortcuts()]
            names = [k for k in names if not (k.startswith("Shift+") and k[6:] in names and len(k) == 7)]
            keys = " or ".join(names)
            text = a.text().replace("&", "")
            if a is w.play_action:
                text = "Play / pause"
            out.append((rank, group, text, keys))
        out.sort(key=lambda e: (e[0], e[1]))
        return [(g, t, k) for _r, g, t, k in out]

    @property
    def help_open(self) -> bool:
        return not self.help.isHidden()

    def toggle_help(self) -> None:
        if self.help_open:
            self.help.hide()
        else:
            self.help.open(self.shortcut_entries())
        self._sync_checks()

    def close(self) -> None:
        """The window is closing: never leave it in presentation mode (nor remember that layout)."""
        if self.presenting:
            self.toggle_presentation(False)


def _setting_list(settings: QtCore.QSettings, key: str, default: list[str]) -> list[str]:
    value = settings.value(key, None)
    if value is None:
        return list(default)
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value]
