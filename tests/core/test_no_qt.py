"""The engine (ganviz.core, ganviz.sweep, the CLI's train path) never imports Qt.

A child interpreter installs an import blocker for every Qt binding and helper, imports every module of
ganviz.core plus ganviz.cli / ganviz.cli.bench, trains and snapshots, and reports which blocked modules ended
up in sys.modules. Two controls prove the check can fail: with the blocker on, an explicit Qt import is
refused; with it off, the sys.modules check sees the Qt import.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("PySide6")  # the controls need a Qt that *could* be imported

CHILD = textwrap.dedent(
    """
    import json, os, sys, tempfile
    BLOCKED = ("PySide6", "shiboken6", "pyqtgraph", "superqt", "qtpy")
    mode = sys.argv[1]

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.startswith(BLOCKED):
                raise ImportError(f"blocked Qt import: {name}")
            return None

    if mode != "unblocked":
        sys.meta_path.insert(0, Blocker())

    result = {}
    if mode in ("control", "unblocked"):
        try:
            import PySide6.QtCore  # noqa: F401
            result["qt_import"] = "ok"
        except ImportError as e:
            result["qt_import"] = str(e)
    else:
        import importlib, pkgutil
        import ganviz.core
        import ganviz.sweep
        names = sorted(m.name for m in pkgutil.iter_modules(ganviz.core.__path__, "ganviz.core."))
        names += sorted(m.name for m in pkgutil.iter_modules(ganviz.sweep.__path__, "ganviz.sweep."))
        for name in names + ["ganviz", "ganviz.cli", "ganviz.cli.bench"]:
            importlib.import_module(name)
        result["imported"] = names
        import torch
        torch.set_num_threads(1)
        from ganviz.core.config import TrainConfig
        from ganviz.core.trainer import Trainer
        t = Trainer(TrainConfig(d_width=16, g_width=16, d_depth=1, g_depth=1, batch_size=32, n_view=32,
                                mode_samples=200, w1_samples=32, device="cpu"))
        t.train(5)
        snap = t.snapshot(with_metrics=True).materialized()
        result["step"] = snap.step
        result["fake_rows"] = int(snap.fake.shape[0])
        from ganviz import cli
        out = os.path.join(tempfile.mkdtemp(), "o.jsonl")
        result["cli_rc"] = cli.main(["train", "--data", "gaussian-1d", "--steps", "4", "--every", "2", "--quiet",
                                     "--set", "d_width=16", "--set", "g_width=16", "--set", "kde_samples=128",
                                     "--out", out])
    result["qt_modules"] = sorted(m for m in sys.modules if m.startswith(BLOCKED))
    print(json.dumps(result))
    """
)


def run_child(mode: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_engine_imports_and_trains_without_qt():
    r = run_child("engine")
    assert r["qt_modules"] == []
    assert {"ganviz.core.trainer", "ganviz.core.metrics", "ganviz.core.config", "ganviz.core.objectives",
            "ganviz.core.commands", "ganviz.core.snapshot", "ganviz.core.fields", "ganviz.core.models",
            "ganviz.core.regularizers", "ganviz.core.distributions", "ganviz.sweep.tasks", "ganviz.sweep.runner",
            "ganviz.sweep.figures", "ganviz.sweep.backends"} <= set(r["imported"])
    assert r["step"] == 5 and r["fake_rows"] == 32 and r["cli_rc"] == 0


def test_the_blocker_and_the_check_can_fail():
    blocked = run_child("control")
    assert blocked["qt_import"].startswith("blocked Qt import: PySide6")
    assert blocked["qt_modules"] == []
    free = run_child("unblocked")
    assert free["qt_import"] == "ok"
    assert "PySide6" in free["qt_modules"] and "PySide6.QtCore" in free["qt_modules"]
