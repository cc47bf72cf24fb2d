"""Fast on stage (issue 20): the window comes up before its trainer, answers at once, and what the user does
in that time is applied, not dropped. Process backend, as users run it. Nothing here times the machine: the
training process is held (SIGSTOP) to make "not ready yet" certain instead of hoping it is slow."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from ganviz.core import process as process_module
from ganviz.core.config import TrainConfig
from ganviz.qt.app import WINDOW_INTERVAL
from ganviz.qt.main_window import STARTING, MainWindow
from ganviz.qt.toolbar import SPEEDS

from .windows import window_factory

SMALL = dict(d_width=32, g_width=32, d_depth=2, g_depth=2, batch_size=64, n_view=256, grid_size=32,
             mode_samples=500, w1_samples=128, kde_samples=1024)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="holds the child with SIGSTOP")


@pytest.fixture
def windows(qtbot, tmp_path):
    factory = window_factory(qtbot, tmp_path, "cold", base=SMALL)
    yield factory
    for w in factory.made:
        w.shutdown()


def test_window_answers_and_applies_commands_before_the_trainer_is_ready(windows, qtbot):
    w = windows()
    child = w.session.process.process
    os.kill(child.pid, signal.SIGSTOP)  # the trainer cannot get ready until the test lets it
    try:
        assert w.last_snapshot is None
        assert w.status_rate.text() == STARTING  # said honestly until the first snapshot
        ticks = []
        from PySide6 import QtCore

        QtCore.QTimer.singleShot(0, lambda: ticks.append("timer"))
        qtbot.wait(200)
        assert ticks == ["timer"]  # the event loop runs: the window answers
        # the user changes the loss and the speed in the window while the trainer is still starting
        combo = w.controls.widgets["objective"]
        combo.setCurrentIndex(combo.findData("hinge"))
        speed = next(i for i, (_text, value) in enumerate(SPEEDS) if value == 100.0)
        w.toolbar.speed.setCurrentIndex(speed)
        qtbot.wait(100)
        assert w.last_snapshot is None and child.is_alive()
    finally:
        os.kill(child.pid, signal.SIGCONT)
    drawn = []
    w.snapshot_drawn.connect(drawn.append)
    qtbot.waitUntil(lambda: len(drawn) >= 3 and drawn[-1].step >= 3, timeout=120_000)
    assert [s.objective for s in drawn] == ["hinge"] * len(drawn)  # applied from the first frame on
    assert w.run_state.config.objective == "hinge"
    assert w.run_state.speed == 100.0
    assert w.status_rate.text().endswith("steps/s")
    assert combo.currentData() == "hinge"


def test_a_prestarted_training_process_is_adopted_and_released(windows, qtbot):
    config = TrainConfig(**SMALL)
    process_module.prestart(config, WINDOW_INTERVAL)
    prestarted = process_module._PRESTARTED[-1]
    w = windows()
    assert w.session.process is prestarted  # same config and interval: no second process
    assert not process_module._PRESTARTED
    qtbot.waitUntil(lambda: w.last_snapshot is not None and w.last_snapshot.step >= 2, timeout=120_000)


def test_a_prestarted_process_for_another_run_is_stopped_not_adopted():
    process_module.prestart(TrainConfig(**SMALL), WINDOW_INTERVAL)
    stale = process_module._PRESTARTED[-1]
    assert process_module.take_prestarted(TrainConfig(**{**SMALL, "objective": "hinge"}), WINDOW_INTERVAL, 0.5,
                                          1) is None
    assert not stale.process.is_alive() and not process_module._PRESTARTED


CHILD = textwrap.dedent("""
    import json, os, sys, tempfile
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    import ganviz.cli, ganviz.qt.app
    from PySide6 import QtCore
    from ganviz.qt.main_window import MainWindow
    app = ganviz.qt.app.make_app()
    settings = QtCore.QSettings(os.path.join(tempfile.mkdtemp(), "s.ini"), QtCore.QSettings.Format.IniFormat)
    w = MainWindow(settings=settings)  # the default run, process backend, training started
    w.show()
    app.processEvents()
    out = {"painted": w.isVisible(), "torch": "torch" in sys.modules, "scipy": "scipy" in sys.modules}
    w.shutdown()
    import ganviz.core.trainer  # the control: the check sees torch once something imports it
    out["torch_after_trainer"] = "torch" in sys.modules
    print(json.dumps(out))
""")


def test_the_window_is_built_and_shown_without_torch_or_scipy():
    """`python -X importtime` showed the window's process importing torch (via the controls, the session and
    two extensions) and scipy (via the metrics) before its first paint; the window now shows first."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out == {"painted": True, "torch": False, "scipy": False, "torch_after_trainer": True}


def test_starting_label_returns_when_the_run_restarts(windows, qtbot):
    w: MainWindow = windows()
    qtbot.waitUntil(lambda: w.last_snapshot is not None, timeout=120_000)
    assert w.status_rate.text() != STARTING
    w.restart(w.session.config, autostart=False)
    assert w.status_rate.text() == STARTING and w.last_snapshot is None


FIRST_FRAME = textwrap.dedent("""
    import json, sys
    from ganviz.core.config import TrainConfig
    from ganviz.core.process import TrainerProcess
    proc = TrainerProcess(TrainConfig(), 0.045)
    proc.start()
    snap = None
    while snap is None:
        snap = proc.receive(0.1)
    out = {"torch": "torch" in sys.modules, "drawn": snap.lazy is None, "fake": list(snap.fake.shape),
           "field": snap.field2d is not None, "step": snap.step}
    proc.stop(2.0)
    print(json.dumps(out))
""")


def test_the_first_frame_crosses_the_pipe_without_torch():
    """The training process computes its first frame's views (process.first_frame), so the window can draw it
    while its own torch import is still under way."""
    done = subprocess.run([sys.executable, "-c", FIRST_FRAME], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["torch"] is False and out["drawn"] and out["field"] and out["fake"] == [512, 2], out


WINDOW_FIRST_FRAME = textwrap.dedent("""
    import json, os, sys, tempfile, time
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6 import QtCore
    from ganviz.qt.app import make_app
    from ganviz.qt.main_window import MainWindow
    app = make_app()
    settings = QtCore.QSettings(os.path.join(tempfile.mkdtemp(), "s.ini"), QtCore.QSettings.Format.IniFormat)
    w = MainWindow(settings=settings)
    w.show()
    seen = []
    w.snapshot_drawn.connect(lambda s: seen or seen.append({"step": s.step, "torch": "torch" in sys.modules}))
    t0 = time.monotonic()
    while not seen and time.monotonic() - t0 < 240:
        app.processEvents()
        time.sleep(0.01)
    w.shutdown()
    from ganviz.qt.app import settle_before_exit
    settle_before_exit()  # as run_app does: no interpreter shutdown under the receiver's torch import
    print(json.dumps(seen[0] if seen else None), flush=True)
    os._exit(0)  # a script that leaves a QApplication and a window to interpreter exit may crash there (also
    # with torch imported first, as before issue 20): not what this test is about
""")


def test_the_window_draws_its_first_frame_before_importing_torch():
    """The receiver reads nothing after the first (child-drawn) frame until the window has drawn it: the next,
    lazy snapshot would import torch in that thread and hold the GIL while the first frame is drawn."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", WINDOW_FIRST_FRAME], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    first = json.loads(done.stdout.strip().splitlines()[-1])
    assert first is not None and first["step"] >= 1 and first["torch"] is False, first


def test_the_window_and_its_prestarted_process_share_one_frame_interval():
    """`ganviz` starts the training process with app.WINDOW_INTERVAL before the window exists; the window adopts it
    only if its own default interval is the same (else the prestarted child is stopped and the start-up gain lost)."""
    import inspect

    from ganviz.qt.main_window import MainWindow

    assert inspect.signature(MainWindow.__init__).parameters["interval"].default == WINDOW_INTERVAL
