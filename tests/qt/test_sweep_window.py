"""Compare -> Open sweep results...: the phase-diagram heatmap of a sweep, and a click opening a run live."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
from PySide6 import QtCore

from ganviz.core.config import TrainConfig
from ganviz.qt.sweep_window import SweepWindow

from .windows import window_factory

SHOTS = "/work/coord/shots"


def grid_rows() -> list[dict]:
    """3 d_lr x 2 d_steps, 2 seeds each; modes covered = 10 * ix + iy + seed (asymmetric, so a transposed
    or flipped heatmap shows); the (d_lr 3e-3, d_steps 5) seed 0 run diverged."""
    rows = []
    for ix, lr in enumerate((1e-4, 1e-3, 3e-3)):
        for iy, ds in enumerate((1, 5)):
            for s in (0, 1):
                bad = (ix, iy, s) == (2, 1, 0)
                cfg = TrainConfig(data="ring8", d_lr=lr, d_steps=ds, seed=s, batch_size=32).to_dict()
                rows.append({"key": f"{ix}{iy}{s}", "labels": {"d_lr": lr, "d_steps": ds}, "config": cfg, "seed": s,
                             "steps": 100, "status": "diverged" if bad else "ok",
                             "final": {} if bad else {"modes_covered": 10.0 * ix + iy + s, "n_modes": 25.0}})
    return rows


def test_heatmap_cells_ticks_and_a_click_emits_the_cells_config(qtbot):
    w = SweepWindow(grid_rows())
    qtbot.addWidget(w)
    w.resize(760, 520)
    w.show()
    qtbot.waitExposed(w)
    img = w.image.image
    assert img.shape == (2, 3)  # rows = d_steps (y), columns = d_lr (x)
    np.testing.assert_allclose(img, [[0.5, 10.5, 20.5], [1.5, 11.5, 22.0]])  # the diverged seed is not averaged
    assert [t for _, t in w.plot.getAxis("bottom")._tickLevels[0]] == ["0.0001", "0.001", "0.003"]
    assert [t for _, t in w.plot.getAxis("left")._tickLevels[0]] == ["1", "5"]
    assert w.plot.getAxis("bottom").labelText == "d_lr" and w.plot.getAxis("left").labelText == "d_steps"
    assert "22.0\nn=2, 1 diverged" in [t.toPlainText() for t in w._texts]
    assert w.colorbar.levels() == (0.0, 25.0)  # modes covered on its natural scale, 0..K
    os.makedirs(SHOTS, exist_ok=True)
    w.grab().save(f"{SHOTS}/sweep_window.png")
    got = []
    w.open_config.connect(got.append)
    # click the centre of cell (d_lr 3e-3, d_steps 5): its ok run is seed 1 (seed 0 diverged)
    scene_pt = w.plot.vb.mapViewToScene(QtCore.QPointF(2.0, 1.0))
    view_pt = w.glw.mapFromScene(scene_pt)
    qtbot.mouseClick(w.glw.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=view_pt)
    qtbot.waitUntil(lambda: len(got) == 1, timeout=2000)
    assert (got[0].d_lr, got[0].d_steps, got[0].seed, got[0].batch_size) == (3e-3, 5, 1, 32)
    w.y_combo.setCurrentIndex(0)  # one axis only: cells pool both d_steps
    assert w.image.image.shape == (1, 3) and math.isclose(float(w.image.image[0, 0]), 1.0)


@pytest.fixture
def window(qtbot, tmp_path):
    factory = window_factory(qtbot, tmp_path, "sweep", base={"data": "ring8"}, autostart=False)
    yield factory
    for w in factory.made:
        w.shutdown()


def test_compare_menu_opens_sweep_results_and_a_cell_runs_live(window, qtbot, tmp_path):
    from ganviz.qt.extensions.compare import open_sweep_results

    path = tmp_path / "runs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in grid_rows()) + '{"key": "cut off', encoding="utf-8")
    w = window()
    assert "Open sweep results..." in [a.text() for a in w.menu("Compare").actions()]
    sw = open_sweep_results(w, str(path))
    qtbot.addWidget(sw)
    assert "1 unreadable line(s) skipped" in sw.info.text()
    cfg = sw.open_cell(0, 1)  # d_lr 1e-4, d_steps 5, seed 0
    assert (cfg.d_lr, cfg.d_steps, cfg.seed) == (1e-4, 5, 0)
    assert w.session.config == cfg  # the main window now runs that config
    qtbot.waitUntil(lambda: w.last_snapshot is not None, timeout=30000)
    assert w.last_snapshot.config.d_lr == 1e-4 and w.last_snapshot.config.d_steps == 5
    empty = tmp_path / "empty.jsonl"
    empty.write_text("not json\n", encoding="utf-8")
    from PySide6 import QtWidgets

    shown = []
    orig = QtWidgets.QMessageBox.warning
    QtWidgets.QMessageBox.warning = lambda *a, **k: shown.append(a[2])
    try:
        assert open_sweep_results(w, str(empty)) is None
    finally:
        QtWidgets.QMessageBox.warning = orig
    assert "has no sweep rows" in shown[0]
