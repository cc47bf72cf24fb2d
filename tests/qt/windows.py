"""A MainWindow factory for window tests: each window gets its own layout file under tmp_path, is registered
with qtbot, sized and shown; `factory.made` lists them for the fixture's teardown."""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore

from ganviz.core.config import TrainConfig
from ganviz.qt.main_window import MainWindow


def window_factory(qtbot, tmp_path, prefix: str, base: dict | None = None, size: tuple[int, int] = (1400, 900),
                   **window_kwargs: Any):
    made: list[MainWindow] = []

    def factory(**cfg) -> MainWindow:
        settings = QtCore.QSettings(str(tmp_path / f"{prefix}{len(made)}.ini"), QtCore.QSettings.Format.IniFormat)
        w = MainWindow(TrainConfig(**{**(base or {}), **cfg}), settings=settings, **window_kwargs)
        qtbot.addWidget(w)
        w.resize(*size)
        w.show()
        made.append(w)
        return w

    factory.made = made
    return factory
