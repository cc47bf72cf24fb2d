"""The main window's layout: fitted to the screen it opens on, the data view as the key plot, and saved
layouts checked before they are used.

Default: controls on the left (full height); the data view in the centre, about as wide as it is tall (the
2D view keeps a 1:1 aspect, so a wide centre would only add empty margins); a right column with the losses
(tabbed with the histograms, scene and formulas) above the metrics (tabbed with the class coverage). On a
screen under 1200 px (laptops, 1080p) the right column is one group of tabs, so each plot keeps a readable
size.
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

Qt = QtCore.Qt
MAX_SIZE = (1600, 1000)  # the default window on a large screen
FRAME = (16, 40)  # room for the window manager's frame and title bar, outside the geometry
CHROME_HEIGHT = 110  # menu bar, toolbar and status bar, roughly
MIN_DOCK = (110, 70)  # a dock narrower or lower than this in a saved layout is a drifted one
MIN_CENTRE = 0.3  # the centre (data view) keeps at least this share of the window's width
SMALL_HEIGHT = 1200  # screens lower than this get one tab group on the right (split, the six small
# multiples of the metrics got ~60 px each on a 1080 px screen)
NARROW_WIDTHS = (1000, 1200)  # screens this wide (1024x768 projectors, 1152x864) get smaller minimums: at the
# full ones (controls 320, data view 443, right column 280 px) the window was 1055 px wide on a 1024 px screen.
# Narrower ones (800x600) keep the full minimums: a window larger than such a screen (Qt's offscreen default
# of 800 px among them) would otherwise be shrunk to it when its geometry is restored (presentation mode off)
NARROW_COMBO_CHARS = 12  # a control's combo box there is this many characters wide (its list shows all)


def small_screen(window: QtWidgets.QWidget) -> bool:
    return available(window).height() < SMALL_HEIGHT


def narrow_screen(window: QtWidgets.QWidget) -> bool:
    return NARROW_WIDTHS[0] <= available(window).width() < NARROW_WIDTHS[1]


def min_cap(window: QtWidgets.QWidget) -> tuple[int, int]:
    """The most a plot dock may demand (MIN_CAP); on a narrow screen a quarter of its width (256 px at
    1024), so that three columns fit."""
    if not narrow_screen(window):
        return MIN_CAP
    return min(MIN_CAP[0], available(window).width() // 4), MIN_CAP[1]


def fit_minimums(window: Any) -> None:
    """On a narrow screen, lower the minimums that made the window wider than the screen: the controls'
    combo boxes show NARROW_COMBO_CHARS characters (the dock is the form's width, it scrolls vertically)
    and the data view no longer demands the width of the image page's header while it shows toy data.
    Larger screens keep every minimum as it is."""
    if not narrow_screen(window):
        return
    controls = getattr(window, "controls", None)
    if isinstance(controls, QtWidgets.QScrollArea) and controls.widget() is not None:
        for combo in controls.widget().findChildren(QtWidgets.QComboBox):
            combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(NARROW_COMBO_CHARS)  # its sizeHint; Qt keeps the cached minimum:
            combo.setMinimumWidth(min(combo.minimumSizeHint().width(), combo.sizeHint().width()))
        body = controls.widget()
        for child in body.findChildren(QtWidgets.QWidget):  # their layouts cache the minimums from before
            child.updateGeometry()
        for lay in body.findChildren(QtWidgets.QLayout):
            lay.invalidate()
        controls.setMinimumWidth(body.minimumSizeHint().width() + controls.verticalScrollBar().sizeHint().width()
                                 + 2 * controls.frameWidth())
    stack = getattr(window, "data_stack", None)
    if isinstance(stack, QtWidgets.QStackedWidget):
        stack.setMinimumWidth(min(stack.minimumSizeHint().width(), min_cap(window)[0]))


def screen_of(window: QtWidgets.QWidget) -> QtGui.QScreen | None:
    return window.screen() or QtGui.QGuiApplication.primaryScreen()


def available(window: QtWidgets.QWidget) -> QtCore.QRect:
    screen = screen_of(window)
    return screen.availableGeometry() if screen is not None else QtCore.QRect(0, 0, *MAX_SIZE)


def fit_to_screen(window: QtWidgets.QMainWindow) -> QtCore.QSize:
    """Size the window to the screen it opens on (at most MAX_SIZE) and place it on that screen."""
    avail = available(window)
    size = QtCore.QSize(max(640, min(MAX_SIZE[0], avail.width() - FRAME[0])),
                        max(480, min(MAX_SIZE[1], avail.height() - FRAME[1])))
    window.resize(size)
    x = avail.x() + max(0, (avail.width() - size.width() - FRAME[0]) // 2)
    y = avail.y() + max(0, (avail.height() - size.height() - FRAME[1]) // 2)
    window.move(x, y)
    return size


def default_layout(window: Any) -> None:
    """Arrange the main window's docks (window.docks: controls, losses, histograms, metrics, coverage) and
    size the window to its screen."""
    docks = window.docks
    fit_minimums(window)
    window.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
    window.setCorner(Qt.Corner.TopLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
    window.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
    window.setCorner(Qt.Corner.TopRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
    right = Qt.DockWidgetArea.RightDockWidgetArea
    window.addDockWidget(right, docks["losses"])
    if small_screen(window):
        window.tabifyDockWidget(docks["losses"], docks["metrics"])
    else:
        window.splitDockWidget(docks["losses"], docks["metrics"], Qt.Orientation.Vertical)
    window.tabifyDockWidget(docks["losses"], docks["histograms"])
    window.tabifyDockWidget(docks["metrics"], docks["coverage"])  # image runs raise coverage
    docks["metrics"].raise_()
    docks["losses"].raise_()
    size_docks(window, fit_to_screen(window))


def raise_defaults(window: Any) -> None:
    """The tabs a fresh layout shows: the controls on the left, the losses on the right (the metrics too when
    they have a group of their own)."""
    docks = window.docks
    docks["controls"].raise_()
    if not small_screen(window) and not docks["metrics"].isHidden():
        docks["metrics"].raise_()
    docks["losses"].raise_()


def size_docks(window: Any, size: QtCore.QSize) -> None:
    """Dock sizes for a window of this size: the centre about square, the right column the rest."""
    docks = window.docks
    w, h = size.width(), size.height()
    content = max(200, h - CHROME_HEIGHT)
    controls = int(min(300, max(240, 0.2 * w)))
    right = int(max(0.3 * w, w - controls - content))
    window.resizeDocks([docks["controls"], docks["losses"]], [controls, right], Qt.Orientation.Horizontal)
    if not small_screen(window):
        window.resizeDocks([docks["losses"], docks["metrics"]], [int(content * 0.45), int(content * 0.55)],
                           Qt.Orientation.Vertical)


MIN_CAP = (280, 200)  # plot docks never demand more than this: a growing label must not widen the window


def cap_minimum_sizes(window: Any) -> None:
    """Fix each plot dock's minimum size at what it needs now, at most MIN_CAP, so that content that grows
    later (a longer title, a legend, a readout) cannot widen its dock and the window (layout drift). Forms
    (PanelSpec.cap_minimum False) keep their own; a dock not built yet is capped when it is built (host)."""
    for name, dock in window.docks.items():
        spec = window.panel_specs.get(name)
        widget = dock.widget()
        if spec is not None and (not spec.cap_minimum or not dock.is_built()):
            continue
        if widget is None or getattr(widget, "_min_capped", False):
            continue
        hint, cap = widget.minimumSizeHint(), min_cap(window)
        widget.setMinimumSize(min(max(hint.width(), 1), cap[0]), min(max(hint.height(), 1), cap[1]))
        widget._min_capped = True


def layout_problem(window: Any, screen: bool = True) -> str | None:
    """Why the window's current layout is not fit to keep (or show at launch), or None when it is fine;
    screen=False leaves out whether it fits the screen (the next launch fits it to its own)."""
    avail = available(window)
    frame = window.frameGeometry()
    if screen and (frame.width() > avail.width() + 2 or frame.height() > avail.height() + 2):
        return f"the window ({frame.width()}x{frame.height()}) is larger than the screen " \
               f"({avail.width()}x{avail.height()})"
    centre = window.centralWidget()
    if centre is not None and window.isVisible() and centre.width() < MIN_CENTRE * window.width():
        return f"the data view is {centre.width()} px of {window.width()}"
    for name, dock in window.docks.items():
        if dock.isVisible() and not dock.visibleRegion().isEmpty() and not dock.isFloating() and (
                dock.width() < MIN_DOCK[0] or dock.height() < MIN_DOCK[1]):
            return f"the {name} dock is {dock.width()}x{dock.height()} px"
    return None
