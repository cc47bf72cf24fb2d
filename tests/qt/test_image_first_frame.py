"""The first image scene on stage (issue 20): its first frame is made by the training process, so the window draws
it without importing torch (it used to import torch first: ~1.4 s on a 2-core machine before the first image)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap

FIRST_IMAGE_FRAME = textwrap.dedent("""
    import json, sys
    from ganviz.core.scenes import load_scene
    from ganviz.core.process import TrainerProcess
    if __name__ == "__main__":
        proc = TrainerProcess(load_scene("digits-dcgan").config, 0.045)
        proc.start()
        first = None
        while first is None:
            first = proc.receive(0.1)
        out = {"torch": "torch" in sys.modules, "drawn": first.lazy is None, "step": first.step,
               "fake": list(first.images.fake.shape), "interp": list(first.images.interp.shape),
               "labels": sorted(set(first.images.fake_labels.tolist())), "status": first.images.classifier_status,
               "d_fake": list(first.d_fake.shape), "metrics_step": first.metrics_step}
        proc.frame_done()
        second = None
        while second is None:
            second = proc.receive(0.1)
        full = second.materialized()  # the window's path from the second frame on: labels once the classifier loads
        out["second_lazy"] = second.lazy is not None and full.images.fake.shape == (64, 28, 28)
        proc.stop(2.0)
        print(json.dumps(out))
""")


def test_the_first_image_frame_crosses_the_pipe_drawn_and_without_torch():
    env = {**os.environ, "GANVIZ_CACHE_DIR": tempfile.mkdtemp(prefix="ganviz-fresh-cache-")}
    done = subprocess.run([sys.executable, "-c", FIRST_IMAGE_FRAME], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["torch"] is False and out["drawn"] and out["step"] >= 1, out
    assert out["fake"] == [64, 28, 28] and out["interp"] == [2, 10, 28, 28] and out["d_fake"] == [64], out
    # no class labels yet (the child never loads the classifier), said as such; metrics come with a later frame
    assert out["labels"] == [-1] and out["status"] == "loading" and out["metrics_step"] == -1, out
    assert out["second_lazy"], out


WINDOW_FIRST_IMAGE = textwrap.dedent("""
    import json, os, sys, tempfile, time
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6 import QtCore
    from ganviz.core.scenes import load_scene
    from ganviz.qt.app import make_app, settle_before_exit
    from ganviz.qt.main_window import MainWindow
    app = make_app()
    settings = QtCore.QSettings(os.path.join(tempfile.mkdtemp(), "s.ini"), QtCore.QSettings.Format.IniFormat)
    w = MainWindow(load_scene("digits-dcgan").config, settings=settings)
    w.show()
    seen = []
    w.snapshot_drawn.connect(lambda s: seen or seen.append(
        {"step": s.step, "torch": "torch" in sys.modules, "images": s.images is not None,
         "shown": w.data_stack.currentWidget() is w.images}))
    t0 = time.monotonic()
    while not seen and time.monotonic() - t0 < 240:
        app.processEvents()
        time.sleep(0.01)
    w.shutdown()
    settle_before_exit()
    print(json.dumps(seen[0] if seen else None), flush=True)
    os._exit(0)
""")


def test_the_window_draws_the_first_image_frame_before_importing_torch():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "GANVIZ_CACHE_DIR": tempfile.mkdtemp(prefix="ganviz-fresh-cache-")}
    done = subprocess.run([sys.executable, "-c", WINDOW_FIRST_IMAGE], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    first = json.loads(done.stdout.strip().splitlines()[-1])
    assert first == {"step": first["step"], "torch": False, "images": True, "shown": True} and first["step"] >= 1
