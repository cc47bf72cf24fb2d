"""The menu bar in desktop order (File, Edit, Data, View, Scenes, Compare, Theory, Help), with File -> Record and
Quit, and Help -> Documentation and About. Features add their menus in any order; `arrange` sorts them."""

from __future__ import annotations

import platform
from typing import Any

from PySide6 import QtGui, QtWidgets

ORDER = ("File", "Edit", "Data", "View", "Scenes", "Compare", "Theory")  # then any other, then Help


def _title(menu: QtWidgets.QMenu) -> str:
    return menu.title().replace("&", "")


def arrange(window: Any) -> None:
    """Complete File and Help and put the menus in order (call once every feature has added its own)."""
    file_menu = window.menu("File")
    record = window.actions_by_name.get("record")
    if isinstance(record, QtGui.QAction) and record not in file_menu.actions():
        first = file_menu.actions()[0] if file_menu.actions() else None
        file_menu.insertAction(first, record)
        if first is not None:
            file_menu.insertSeparator(first)
    file_menu.addSeparator()
    quit_action = window.add_action("quit", "Quit", window.close, menu="File",
                                    shortcut=QtGui.QKeySequence.StandardKey.Quit)
    quit_action.setMenuRole(QtGui.QAction.MenuRole.QuitRole)

    help_menu = window.menu("Help")
    help_menu.addSeparator()
    help_menu.addAction("Documentation", lambda: show_documentation(window))
    about = help_menu.addAction("About ganviz", lambda: show_about(window))
    about.setMenuRole(QtGui.QAction.MenuRole.AboutRole)

    bar = window.menuBar()
    menus = [a.menu() for a in bar.actions() if a.menu() is not None]
    rank = {name: i for i, name in enumerate(ORDER)}
    menus.sort(key=lambda m: (len(ORDER) + 1 if _title(m) == "Help" else rank.get(_title(m), len(ORDER))))
    for m in menus:
        bar.removeAction(m.menuAction())
        bar.addAction(m.menuAction())


def _readme() -> str:
    """The README as installed with the package (its long description), or the checkout's README.md."""
    from importlib import metadata
    from pathlib import Path

    try:
        text = metadata.metadata("ganviz").get_payload() or metadata.metadata("ganviz").get("Description", "")
    except metadata.PackageNotFoundError:
        text = ""
    if not text:
        readme = Path(__file__).resolve().parents[2] / "README.md"
        text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    return text or "The README is not installed with this copy of ganviz. `ganviz --help` lists the commands."


def show_documentation(window: QtWidgets.QWidget) -> QtWidgets.QDialog:
    """The README (the window, the menus, every command) in a window of its own; F1 lists the shortcuts."""
    dialog = QtWidgets.QDialog(window)
    dialog.setWindowTitle("ganviz — documentation")
    lay = QtWidgets.QVBoxLayout(dialog)
    browser = QtWidgets.QTextBrowser()
    browser.setOpenExternalLinks(True)
    browser.setMarkdown(_readme())
    lay.addWidget(browser)
    lay.addWidget(QtWidgets.QLabel("Keyboard shortcuts: F1.  Commands: ganviz --help, ganviz list."))
    dialog.resize(820, 640)
    dialog.show()
    window.documentation = dialog
    return dialog


def show_about(window: QtWidgets.QWidget) -> None:
    import PySide6
    import torch

    from .. import __version__

    QtWidgets.QMessageBox.about(
        window, "About ganviz",
        f"<b>ganviz {__version__}</b><p>A desktop lab for watching GANs train: toy data and digits, every "
        "lecture objective switchable live, the optimal discriminator beside the learned one, and "
        "ground-truth metrics.</p>"
        f"<p>Python {platform.python_version()} · PyTorch {torch.__version__} · PySide6 {PySide6.__version__}</p>")
