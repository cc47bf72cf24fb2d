"""Render ganviz.svg to ganviz.png (256 px) with Qt: `python assets/icons/render_png.py`."""

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtGui, QtSvg, QtWidgets  # noqa: E402


def render(src: Path, dst: Path, size: int = 256) -> None:
    renderer = QtSvg.QSvgRenderer(str(src))
    if not renderer.isValid():
        raise SystemExit(f"cannot read {src}")
    image = QtGui.QImage(size, size, QtGui.QImage.Format.Format_ARGB32)
    image.fill(QtCore.Qt.GlobalColor.transparent)
    painter = QtGui.QPainter(image)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    if not image.save(str(dst)):
        raise SystemExit(f"cannot write {dst}")


if __name__ == "__main__":
    app = QtWidgets.QApplication(sys.argv[:1])
    here = Path(__file__).resolve().parent
    render(here / "ganviz.svg", here / "ganviz.png")
    print(f"wrote {here / 'ganviz.png'}")
