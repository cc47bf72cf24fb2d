"""`ganviz record` (and `replay`, which renders the same way) ends cleanly: the window it rendered is gone when
the command returns, and the program exits 0. Before, the window outlived the command (deleteLater is not run
by processEvents) and the interpreter's teardown destroyed it after the QApplication: SIGSEGV after 'wrote N
frames', in about 4 of 5 runs from an installed wheel (the wheel smoke test records a preset)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("pytestqt")

from PySide6 import QtWidgets  # noqa: E402

from ganviz.cli import main as cli_main  # noqa: E402
from ganviz.qt.main_window import MainWindow  # noqa: E402

ARGS = ["record", "--preset", "dirac-gan", "--steps", "10", "--every", "10", "--view", "data", "--size", "160x120",
        "--quiet"]


def test_record_leaves_no_window_behind(qtbot, tmp_path):
    app = QtWidgets.QApplication.instance()
    before = {id(w) for w in app.topLevelWidgets() if isinstance(w, MainWindow)}
    assert cli_main([*ARGS, "-o", str(tmp_path / "a.gif")]) == 0
    left = [w for w in app.topLevelWidgets() if isinstance(w, MainWindow) and id(w) not in before]
    assert left == []


def test_record_in_its_own_process_exits_0(tmp_path):
    for i in range(2):  # the crash was not every run
        r = subprocess.run([sys.executable, "-m", "ganviz", *ARGS, "-o", str(tmp_path / f"{i}.gif")],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-2000:]
        assert "wrote 2 frames" in r.stderr and (tmp_path / f"{i}.gif").stat().st_size > 0
