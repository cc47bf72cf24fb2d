"""The window says what it read from a user's file: the image loader's pixel range / resizing / labels under the
image path (and a range the file does not fit is refused with a message); a points file with more columns
than a point has asks which to use, and the info panel says how the file was read (issue 16, points 6 and 7).
Real windows with the process backend, as users run them."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from tests.core.test_image_ranges import digits_like  # noqa: E402
from tests.qt.windows import window_factory  # noqa: E402

SMALL = dict(d_width=16, g_width=16, d_depth=2, g_depth=2, batch_size=32, n_view=128, grid_size=16,
             mode_samples=200, w1_samples=64, kde_samples=256, conv_channels=4)
START = 90_000  # ms: the first child imports torch (slow on a loaded 2-core machine)


@pytest.fixture
def make_window(qtbot, tmp_path):
    factory = window_factory(qtbot, tmp_path, "files", base=SMALL, interval=0.02, autostart=False)
    yield factory
    for w in factory.made:
        w.close()


def test_choosing_an_image_file_shows_what_the_loader_assumed(make_window, qtbot, tmp_path):
    x, y = digits_like()
    path = tmp_path / "sk_digits.npz"
    np.savez(path, x=x, y=y)
    w = make_window()
    panel = w.controls
    panel._image_path_chosen(str(path))  # as picking it with "Open…"
    notes = panel.image_notes
    assert notes.isVisible()
    text = notes.text()
    assert "sk_digits.npz" in text and "90 images, 3 classes" in text
    assert "pixel range 0-16 (guessed: image_range = auto)" in text and "scikit-learn" in text
    assert "8x8 images resized to fit 28x28" in text
    assert panel.widgets["image_range"].isEnabled()
    combo = panel.widgets["image_range"]
    combo.setCurrentIndex(combo.findData("0-1"))  # the file's values reach 16: refused, nothing changes
    assert panel.error_box is not None and "image_range = 0-1 but the pixel values reach [0, 16]" in \
        panel.error_box.text()
    panel.error_box.close()
    assert combo.currentData() == "auto" and panel._config.image_range == "auto"
    combo.setCurrentIndex(combo.findData("min-max"))
    assert "pixel range min-max (0..16, image_range = min-max)" in notes.text()
    w.session.start()  # the child trains on the file with the chosen range
    qtbot.waitUntil(lambda: w.last_snapshot is not None and w.last_snapshot.step > 0
                    and w.last_snapshot.config.image_range == "min-max", timeout=START)
    assert w.last_snapshot.config.data == "image-file" and w.last_snapshot.images is not None


def test_a_file_named_on_the_command_line_shows_what_the_loader_assumed(qtbot, tmp_path):
    """`ganviz --data image-file --set image_path=FILE`: the window starts training on the file and says under
    the path what the loader assumed, with no file dialog involved."""
    x, y = digits_like()
    path = tmp_path / "sk_digits.npz"
    np.savez(path, x=x, y=y)
    factory = window_factory(qtbot, tmp_path, "cmdline", base=SMALL, interval=0.02, autostart=True)
    try:
        w = factory(data="image-file", image_path=str(path))
        notes = w.controls.image_notes
        qtbot.waitUntil(lambda: notes.isVisible() and "scikit-learn" in notes.text(), timeout=20_000)
        assert "90 images, 3 classes" in notes.text() and "pixel range 0-16 (guessed" in notes.text()
        qtbot.waitUntil(lambda: w.last_snapshot is not None and w.last_snapshot.step > 0, timeout=START)
        assert w.last_snapshot.config.image_path == str(path)
    finally:
        for made in factory.made:
            made.close()


def test_reading_off_the_gui_thread_returns_when_the_work_ended_before_the_wait(qtbot, monkeypatch):
    """The window reads an image file in a thread and waits in a local event loop. When the thread had already
    sent `ended` before the wait connected to it (a fast read on a busy machine; seen when a file named on the
    command line was checked as the run started), the wait never returned and the file's notes never showed."""
    import threading
    import time

    from PySide6 import QtCore, QtWidgets

    from ganviz.qt import background, controls

    sent = threading.Event()
    real_run, real_start = background.BackgroundJob._run, background.run_in_background

    def run_then_linger(job):  # 'ended' is sent, the thread stays alive a moment longer
        real_run(job)
        sent.set()
        time.sleep(0.5)

    def start_and_let_it_end(*args, **kwargs):
        job = real_start(*args, **kwargs)
        assert sent.wait(5)
        return job

    loops: list[QtCore.QEventLoop] = []

    class Loop(QtCore.QEventLoop):
        def __init__(self, *args):
            super().__init__(*args)
            loops.append(self)

    monkeypatch.setattr(background.BackgroundJob, "_run", run_then_linger)
    monkeypatch.setattr(background, "run_in_background", start_and_let_it_end)
    monkeypatch.setattr(QtCore, "QEventLoop", Loop)
    parent = QtWidgets.QWidget()
    qtbot.addWidget(parent)
    rescued: list[bool] = []
    QtCore.QTimer.singleShot(4000, parent, lambda: (rescued.append(True), [loop.quit() for loop in loops]))
    t0 = time.monotonic()
    assert controls._off_gui_thread(parent, "Reading…", lambda: 42) == 42
    assert rescued == [] and time.monotonic() - t0 < 3


def test_a_wide_points_file_asks_for_columns_and_says_how_it_was_read(make_window, qtbot, tmp_path, monkeypatch):
    p = tmp_path / "geo.csv"
    p.write_text("id;lon (deg);lat (deg);alt\n" + "".join(f"P{i};{i},5;-{i % 7},25;{100 + i}\n" for i in range(30)),
                 encoding="utf-8")
    w = make_window()
    c = w.classroom
    asked: list[tuple[str, object]] = []
    monkeypatch.setattr(c.user_data, "ask_columns", lambda name, need: asked.append((name, need)) or "")
    before = w.session.config
    assert not c.import_points(p)  # cancelled: nothing changes
    assert w.session.config == before
    name, need = asked[0]
    assert name == "geo.csv" and "4 columns ('id', 'lon (deg)', 'lat (deg)', 'alt')" in str(need)
    assert need.header == ["id", "lon (deg)", "lat (deg)", "alt"] and need.width == 4 and need.numeric == (1, 2, 3)
    monkeypatch.setattr(c.user_data, "ask_columns", lambda name, need: "lon (deg),lat (deg)")
    assert c.import_points(p)
    qtbot.waitUntil(lambda: w.session.config.data.startswith("user:geo@"), timeout=5000)
    cfg = w.session.config
    assert cfg.data.startswith("user:geo@") and cfg.data_points[:2] == ((0.5, -0.25), (1.5, -1.25))
    info = c.info.text().replace("\u200b", "")  # the panel's break opportunities in long words
    assert "Read geo.csv: semicolon-separated, decimal commas" in info and "using 'lon (deg)' and 'lat (deg)'" in info
    w.session.start()
    qtbot.waitUntil(lambda: w.last_snapshot is not None and w.last_snapshot.step > 0, timeout=START)
    assert w.last_snapshot.data == cfg.data
