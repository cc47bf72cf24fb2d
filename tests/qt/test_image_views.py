"""Image-GAN views: tiled sample grids, class coverage, image metrics, and the window's switch between the toy
data views and the image views. Snapshots are hand-made (known pixel values) so placement mistakes show."""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6 import QtCore, QtGui  # noqa: E402

from ganviz.core.config import TrainConfig  # noqa: E402
from ganviz.core.snapshot import Event, ImageViews, Snapshot  # noqa: E402
from ganviz.qt.panels.coverage import CoveragePanel, headline  # noqa: E402
from ganviz.qt.panels.images import GAP, LEVELS, ImageGridPanel, tile, tile_origin  # noqa: E402
from ganviz.qt.panels.metrics import MetricsPanel  # noqa: E402
from tests.qt.snapshots import make_history, make_snapshot  # noqa: E402
from tests.qt.windows import window_factory  # noqa: E402

pytestmark = pytest.mark.qt

H = W = 28
NAMES = tuple(str(i) for i in range(10))
SHARES = (0.30, 0.20, 0.15, 0.10, 0.10, 0.08, 0.07, 0.0, 0.0, 0.0)


# -- hand-made image snapshots ------------------------------------------------------------------------------
def glyph(k: int, h: int = H, w: int = W) -> np.ndarray:
    """A digit-like test image: a ring whose radius and stroke depend on k, on a -1 background."""
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.hypot(yy - h / 2 + 0.5, xx - w / 2 + 0.5)
    radius = 4 + (k % 7)
    img = np.where(np.abs(r - radius) < 1.2 + (k % 3) * 0.6, 1.0, -1.0)
    if k % 2:
        img[h // 2 - 1: h // 2 + 1, 4: w - 4] = 1.0  # a bar through odd ones
    return img.astype(np.float32)


def image_metrics(shares=SHARES, frechet: float = 12.34, confidence: float = 0.87) -> dict[str, float]:
    q = np.asarray(shares, dtype=np.float64)
    nz = q[q > 0]
    kl = float(np.sum(nz * np.log(len(q) * nz)))
    m = {"classes_covered": float((q > 0).sum()), "class_kl": kl, "frechet": frechet,
         "class_confidence": confidence, "d_real_mean": 0.6, "d_fake_mean": 0.4, "value_v": -1.3,
         "jsd_est": 0.04, "w1": float("nan")}
    m.update({f"class_share_{i}": float(v) for i, v in enumerate(q)})
    return m


def make_image_snapshot(step: int = 100, fake: np.ndarray | None = None, metrics: dict | None = None,
                        class_names: tuple[str, ...] | None = NAMES, labels: np.ndarray | None = None,
                        confidence: np.ndarray | None = None, events: tuple[Event, ...] = (),
                        metrics_step: int | None = None, data: str = "digits") -> Snapshot:
    """An image snapshot as the trainer sends it: dim 784, empty real/fake arrays, D outputs filled."""
    if fake is None:
        fake = np.stack([glyph(k) for k in range(64)])
    real = np.stack([glyph(63 - k) for k in range(64)])
    interp = np.stack([np.stack([glyph(r * 10 + c) * (0.5 + c / 18) for c in range(10)]) for r in range(4)])
    rng = np.random.default_rng(step)
    if labels is None:
        labels = np.arange(64) % 10 if class_names else np.full(64, -1)
    if confidence is None:
        confidence = np.linspace(0.3, 1.0, 64) if class_names else np.full(64, np.nan)
    views = ImageViews(fake=fake.astype(np.float32), real=real, interp=interp.astype(np.float32),
                       class_names=class_names, fake_labels=np.asarray(labels), fake_confidence=np.asarray(confidence))
    return Snapshot(
        step=step, d_updates=step, g_updates=step, objective="ns", dim=H * W, data=data,
        real=np.zeros((0, H * W), np.float32), fake=np.zeros((0, H * W), np.float32),
        d_real=rng.uniform(0.5, 0.9, 256), d_fake=rng.uniform(0.1, 0.5, 256),
        history=make_history(step - 19, 20), metrics=image_metrics() if metrics is None else metrics,
        metrics_step=step if metrics_step is None else metrics_step, events=events, images=views,
        bounds=(-1.0, 1.0), modes=None,
    )


def _make(qtbot, cls, w: int = 900, h: int = 650):
    widget = cls()
    qtbot.addWidget(widget)
    widget.resize(w, h)
    widget.show()
    return widget


# -- tiling -------------------------------------------------------------------------------------------------
def test_tile_puts_image_k_at_row_k_div_cols_col_k_mod_cols():
    n, h, w = 64, 5, 3
    imgs = np.stack([np.full((h, w), k, np.float32) + np.arange(h * w, dtype=np.float32).reshape(h, w) / 100
                     for k in range(n)])
    out = tile(imgs, 8, gap=2)
    assert out.shape == (8 * (h + 2) - 2, 8 * (w + 2) - 2)
    for k in (0, 1, 7, 8, 9, 42, 63):
        r0, c0 = tile_origin(k, 8, h, w, gap=2)
        assert (r0, c0) == ((k // 8) * (h + 2), (k % 8) * (w + 2))
        np.testing.assert_array_equal(out[r0:r0 + h, c0:c0 + w], imgs[k])  # not transposed, not flipped
    assert np.isnan(out[h:h + 2, :]).all() and np.isnan(out[:, w:w + 2]).all()  # gaps
    assert np.isfinite(out).sum() == n * h * w


def test_tile_leaves_missing_cells_empty():
    out = tile(np.ones((10, 4, 4), np.float32), 8, gap=1)
    assert out.shape == (2 * 5 - 1, 8 * 5 - 1)
    assert np.isfinite(out[5:9, 0:4]).all() and np.isfinite(out[5:9, 5:9]).all()  # images 8 and 9
    assert np.isnan(out[5:9, 10:]).all()  # cells 10..15 are empty


# -- the image panel -----------------------------------------------------------------------------------------
def test_image_panel_draws_grids_with_fixed_levels_and_step_title(qtbot):
    w = _make(qtbot, ImageGridPanel)
    snap = make_image_snapshot(step=321)
    w.update_snapshot(snap)
    arr = w.fake.image.image
    for k in (0, 9, 63):
        r0, c0 = tile_origin(k, 8, H, W, GAP)
        np.testing.assert_array_equal(arr[r0:r0 + H, c0:c0 + W], snap.images.fake[k])
    r0, c0 = tile_origin(5, 8, H, W, GAP)
    np.testing.assert_array_equal(w.real.image.image[r0:r0 + H, c0:c0 + W], snap.images.real[5])
    assert w.interp.image.image.shape == (4 * (H + GAP) - GAP, 10 * (W + GAP) - GAP)
    r0, c0 = tile_origin(13, 10, H, W, GAP)  # interp row 1, column 3
    np.testing.assert_array_equal(w.interp.image.image[r0:r0 + H, c0:c0 + W], snap.images.interp[1, 3])
    assert tuple(w.fake.image.levels) == LEVELS and tuple(w.real.image.levels) == LEVELS
    assert "step 321" in w.fake.title.text and "fixed noise batch" in w.fake.title.text
    assert "Real data" in w.real.title.text
    assert w.fake.view.state["aspectLocked"]


def test_unchanged_grids_are_not_uploaded_again(qtbot, monkeypatch):
    """A paused run sends the same images every frame: only what changed is tiled and uploaded."""
    w = _make(qtbot, ImageGridPanel)
    uploads = []
    original = type(w.fake).set_array
    monkeypatch.setattr(type(w.fake), "set_array", lambda self, arr: (uploads.append(self), original(self, arr)))
    w.update_snapshot(make_image_snapshot(step=5))
    assert len(uploads) == 3  # generated, real, interpolation
    w.update_snapshot(make_image_snapshot(step=5))
    assert len(uploads) == 3 and "step 5" in w.fake.title.text
    moved = make_image_snapshot(step=6, fake=np.stack([glyph(k + 1) for k in range(64)]))
    w.update_snapshot(moved)
    assert uploads[3:] == [w.fake] and "step 6" in w.fake.title.text
    np.testing.assert_array_equal(w.fake.image.image[:H, :W], moved.images.fake[0])
    w.reset()
    uploads.clear()
    w.update_snapshot(moved)
    assert len(uploads) == 3  # a reset forgets what was shown


def test_grids_stay_square_and_take_the_height_a_short_strip_leaves(qtbot):
    w = _make(qtbot, ImageGridPanel, 800, 600)  # the height limits the grids
    snap = make_image_snapshot()
    w.update_snapshot(snap)
    qtbot.wait(20)
    tall = w.fake.view.geometry().height()
    short = dataclasses.replace(snap.images, interp=snap.images.interp[:2])  # 2 interpolation rows
    w.update_snapshot(dataclasses.replace(snap, images=short))
    qtbot.wait(20)
    assert w.interp.shape == (2 * (H + GAP) - GAP, 10 * (W + GAP) - GAP)
    assert w.fake.view.geometry().height() > tall + 10
    geo = w.fake.view.geometry()
    assert geo.height() <= geo.width() + 1  # never taller than wide: no wasted band above and below


def test_grey_generator_stays_grey(qtbot):
    """Fixed levels: an all-zero (mid-grey) batch is drawn mid-grey, not contrast-stretched to black/white."""
    w = _make(qtbot, ImageGridPanel)
    w.update_snapshot(make_image_snapshot(fake=np.zeros((64, H, W), np.float32)))
    assert tuple(w.fake.image.levels) == LEVELS
    w.fake.image.render()
    img = w.fake.image.qimage
    r0, c0 = tile_origin(10, 8, H, W, GAP)
    grey = img.pixelColor(c0 + 5, r0 + 5)
    assert 120 <= grey.red() <= 135 and grey.red() == grey.green() == grey.blue()
    gap = img.pixelColor(c0 + W, r0 + 5)
    assert gap.alpha() == 0  # gaps are transparent: the tinted frame shows through


def test_class_overlay_labels_and_confidence_colours(qtbot):
    w = _make(qtbot, ImageGridPanel)
    labels = np.arange(64) % 10
    conf = np.where(np.arange(64) % 3 == 0, 0.95, np.where(np.arange(64) % 3 == 1, 0.6, 0.2))
    w.update_snapshot(make_image_snapshot(labels=labels, confidence=conf))
    assert w.class_label(12) == ("", "")  # off by default: no items yet
    w.class_checkbox.setChecked(True)
    assert w.class_label(12)[0] == "2" and w.class_label(13)[0] == "3"
    greens, ambers, reds = w.class_label(0)[1], w.class_label(1)[1], w.class_label(2)[1]
    assert len({greens, ambers, reds}) == 3
    assert QtGui.QColor(greens).green() > QtGui.QColor(greens).red()
    assert QtGui.QColor(reds).red() > QtGui.QColor(reds).green()
    item = w._labels[9]
    r0, c0 = tile_origin(9, 8, H, W, GAP)
    assert (item.pos().x(), item.pos().y()) == (c0, r0) and item.isVisible()
    w.set_show_classes(False)
    assert not item.isVisible()
    # without a classifier every label is -1: nothing is shown
    w.set_show_classes(True)
    w.update_snapshot(make_image_snapshot(class_names=None))
    assert not any(it.isVisible() for it in w._labels)
    assert not w.class_checkbox.isEnabled()


def test_image_panel_update_is_fast(qtbot):
    w = _make(qtbot, ImageGridPanel)
    w.class_checkbox.setChecked(True)
    snaps = [make_image_snapshot(step=i, fake=np.random.default_rng(i).uniform(-1, 1, (64, H, W)))
             for i in range(1, 22)]
    w.update_snapshot(snaps[0])
    w.grab()
    update, paint = [], []
    for s in snaps[1:]:
        t0 = time.perf_counter()
        w.update_snapshot(s)
        t1 = time.perf_counter()
        w.grab()
        paint.append(time.perf_counter() - t1)
        update.append(t1 - t0)
    med_update, med_paint = 1e3 * float(np.median(update)), 1e3 * float(np.median(paint))
    print(f"image panel: update {med_update:.2f} ms, update + paint (grab) {med_update + med_paint:.1f} ms")
    assert med_update < 15.0  # one tiled array per grid, not 64 items


# -- class coverage ------------------------------------------------------------------------------------------
def test_coverage_headline_bars_and_uniform_line(qtbot):
    w = _make(qtbot, CoveragePanel, 700, 600)
    snap = make_image_snapshot(step=50)
    w.update_snapshot(snap)
    kl = snap.metrics["class_kl"]
    assert kl == pytest.approx(0.4862, abs=1e-3)
    text = w.headline.text().replace("\u00a0", " ")  # non-breaking within each part: it wraps at the dots
    assert text == f"classes covered 7 / 10 · KL to uniform {kl:.2f} nats · Fréchet (classifier features) 12.3"
    heights = w.bars.opts["height"]
    np.testing.assert_allclose(heights, SHARES)
    np.testing.assert_array_equal(w.bars.opts["x"], np.arange(10))
    assert w.uniform_line.value() == pytest.approx(0.1)
    ticks = w.bar_plot.getAxis("bottom")._tickLevels[0]
    assert [t[1] for t in ticks] == list(NAMES)
    assert w.bar_plot.getAxis("left").labelText == "share of samples"
    assert w.log_k_line.value() == pytest.approx(math.log(10))
    np.testing.assert_array_equal(w.covered.x, [50])
    np.testing.assert_allclose(w.covered.y, [7]) and np.testing.assert_allclose(w.kl.y, [kl])


def test_coverage_history_appends_per_metrics_step_and_collapse_reads_log10(qtbot):
    w = _make(qtbot, CoveragePanel, 700, 600)
    collapsed = image_metrics(shares=(0, 0, 0, 1.0, 0, 0, 0, 0, 0, 0), frechet=250.0)
    w.update_snapshot(make_image_snapshot(step=10))
    w.update_snapshot(make_image_snapshot(step=20, metrics_step=10))  # stale metrics: no new point
    w.update_snapshot(make_image_snapshot(step=30, metrics=collapsed))
    np.testing.assert_array_equal(w.covered.x, [10, 30])
    np.testing.assert_allclose(w.covered.y, [7, 1])
    assert w.kl.y[-1] == pytest.approx(math.log(10))
    text = w.headline.text().replace("\u00a0", " ")
    assert "classes covered 1 / 10" in text and "2.30 nats" in text
    np.testing.assert_allclose(w.bars.opts["height"], [0, 0, 0, 1, 0, 0, 0, 0, 0, 0])
    # an image snapshot without views (metrics only) still counts; toy snapshots are ignored
    w.update_snapshot(dataclasses.replace(make_image_snapshot(step=40), images=None))
    w.update_snapshot(make_snapshot(step=45, dim=2))
    np.testing.assert_array_equal(w.covered.x, [10, 30, 40])
    assert [t[1] for t in w.bar_plot.getAxis("bottom")._tickLevels[0]] == list(NAMES)
    w.update_snapshot(make_image_snapshot(step=5))  # the step went back: a new run
    np.testing.assert_array_equal(w.covered.x, [5])


def test_coverage_without_classifier_shows_a_message(qtbot):
    w = _make(qtbot, CoveragePanel, 700, 600)
    w.update_snapshot(make_image_snapshot(class_names=None, metrics={"d_real_mean": 0.5}, data="image-file"))
    assert not w.available and w._stack.currentWidget() is w.message
    assert "no labels" in w.message.text() and "n/a" in w.headline.text()
    # a built-in dataset whose classifier is still training: waiting, not "no classifier"
    w2 = _make(qtbot, CoveragePanel, 700, 600)
    w2.update_snapshot(make_image_snapshot(labels=np.full(64, -1), metrics={"d_real_mean": 0.5}))
    assert w2.available and "waiting for the classifier" in w2.headline.text()
    w2.update_snapshot(make_image_snapshot(step=200))
    assert w2.headline.text().replace("\u00a0", " ").startswith("classes covered 7 / 10")


def test_coverage_says_when_the_classifier_could_not_be_trained(qtbot):
    """A failed classifier is not 'waiting' forever: the panel says so and points to the other metrics."""
    w = _make(qtbot, CoveragePanel, 700, 600)
    snap = make_image_snapshot(labels=np.full(64, -1), metrics={"d_real_mean": 0.5})
    views = dataclasses.replace(snap.images, classifier_status="failed: OSError: disk full")
    w.update_snapshot(dataclasses.replace(snap, images=views))
    assert not w.available and w._stack.currentWidget() is w.message
    assert "could not be trained" in w.message.text() and "disk full" in w.message.text()
    assert "could not be trained" in w.headline.text()


def test_headline_formats_missing_values():
    assert headline(float("nan"), 10, float("nan"), float("nan")) == (
        "classes covered – / 10 · KL to uniform – nats · Fréchet (classifier features) –")


# -- metrics panel on image runs -----------------------------------------------------------------------------
def test_metrics_panel_shows_image_metrics_instead_of_w1_and_modes(qtbot):
    w = _make(qtbot, MetricsPanel, 900, 700)
    w.update_snapshot(make_image_snapshot(step=10))
    w.update_snapshot(make_image_snapshot(step=20, metrics=image_metrics(frechet=8.0, confidence=0.9)))
    assert w.image_mode
    np.testing.assert_allclose(w.series("frechet").y, [12.34, 8.0])
    np.testing.assert_allclose(w.series("classes_fraction").y, [0.7, 0.7])
    np.testing.assert_allclose(w.series("class_confidence").y, [0.87, 0.9])
    assert w.curves["frechet"].isVisible() and not w.curves["w1"].isVisible()
    assert not w.curves["modes_fraction"].isVisible() and not w.curves["jsd_true"].isVisible()
    assert not w.note_visible("w1") and not w.note_visible("modes")  # no empty W1 / mode plots
    assert "Fréchet" in w.plots["w1"].titleLabel.text and "coverage 7/10" in w.plots["modes"].titleLabel.text
    assert w.reverse_kl_note.text().startswith("KL to uniform 0.486")
    legend = [label.text for _, label in w._legends["w1"].items]
    assert legend == ["real vs fake (not FID)"]
    # back to toy data: the W1 and mode plots return
    w.update_snapshot(make_snapshot(step=5, dim=2, with_mixture=True))
    assert not w.image_mode and w.curves["w1"].isVisible() and not w.curves["frechet"].isVisible()
    assert [label.text for _, label in w._legends["w1"].items] == ["W1(real, fake)"]
    assert "modes covered 5/8" in w.plots["modes"].titleLabel.text
    assert [label.text for _, label in w._legends["jsd"].items][-1] == "log 2 (disjoint supports)"


# -- the window ----------------------------------------------------------------------------------------------
@pytest.fixture
def window(qtbot, tmp_path):
    from ganviz.qt.app import make_app

    make_app()
    factory = window_factory(qtbot, tmp_path, "w", autostart=False, backend="thread")
    yield factory
    for w in factory.made:
        w.shutdown()


def test_window_switches_to_image_views_and_back(window, qtbot):
    w = window(data="ring8")
    assert w.data_stack.currentWidget() is w.data2d
    assert not w.docks["coverage"].isVisible()
    modes = w.docks.get("modes")
    modes_was_visible = modes is not None and modes.isVisible()
    w.on_snapshot(dataclasses.replace(make_image_snapshot(step=40), running=False))  # paused: all panels draw
    assert w.data_stack.currentWidget() is w.images
    assert w.docks["coverage"].isVisible()
    assert modes is None or not modes.isVisible()  # mixture modes do not apply to images
    assert "step 40" in w.images.fake.title.text
    assert w.coverage.headline.text().replace("\u00a0", " ").startswith("classes covered 7 / 10")
    w.on_snapshot(dataclasses.replace(make_snapshot(step=3, dim=2), running=False))
    assert w.data_stack.currentWidget() is w.data2d
    assert not w.docks["coverage"].isVisible()
    assert modes is None or modes.isVisible() == modes_was_visible


def test_window_shows_metrics_tab_when_the_data_has_no_classifier(window, qtbot):
    w = window(data="ring8")
    unlabelled = make_image_snapshot(class_names=None, metrics={"d_real_mean": 0.5}, data="image-file")
    w.on_snapshot(dataclasses.replace(unlabelled, running=False))
    qtbot.wait(50)
    assert w.docks["coverage"].isVisible() and not w.coverage.available
    assert not w.docks["metrics"].visibleRegion().isEmpty()  # the metrics tab is in front
    assert w.docks["coverage"].visibleRegion().isEmpty()
    w.on_snapshot(dataclasses.replace(make_image_snapshot(step=200), running=False))
    qtbot.wait(50)
    assert not w.docks["coverage"].visibleRegion().isEmpty()


def test_window_opens_on_image_data_config(window):
    w = window(data="digits", z_dim=64, batch_size=64)
    assert w.session.dim == H * W
    assert w.data_stack.currentWidget() is w.images
    assert w.docks["coverage"].isVisible()


# -- controls ------------------------------------------------------------------------------------------------
@pytest.fixture
def controls(qtbot):
    from ganviz.qt.controls import ControlPanel

    panel = ControlPanel(TrainConfig(data="ring8"))
    qtbot.addWidget(panel)
    sent, notices = [], []
    panel.command.connect(sent.append)
    panel.notice.connect(notices.append)
    return panel, sent, notices


def _pick(combo, value) -> None:
    combo.setCurrentIndex(combo.findData(value))  # as a user picking from the dropdown


def test_dataset_list_has_the_image_data(controls):
    panel, _, _ = controls
    combo = panel.widgets["data"]
    texts = {combo.itemData(i): combo.itemText(i) for i in range(combo.count())}
    assert texts["digits"] == "digits (28×28 images)" and texts["ring8"] == "ring8 (2D)"
    assert "shapes" in texts and "image-file" in texts


def test_switch_to_image_data_applies_image_settings_in_one_command(controls):
    from ganviz.core.commands import SetConfig, SetDataset

    panel, sent, notices = controls
    panel.widgets["g_lr"].setValue(5e-4)  # the user's own choice is kept
    sent.clear()
    _pick(panel.widgets["data"], "digits")
    assert len(sent) == 1 and isinstance(sent[0], SetConfig)
    assert sent[0].changes() == {"data": "digits", "z_dim": 64, "batch_size": 64, "d_lr": 2e-4}
    assert panel.widgets["z_dim"].value() == 64 and panel.widgets["batch_size"].value() == 64
    assert panel.widgets["g_lr"].value() == pytest.approx(5e-4)
    assert notices and "z_dim = 64" in notices[-1] and "kept your g_lr" in notices[-1]
    assert not panel.widgets["g_width"].isEnabled() and panel.widgets["conv_channels"].isEnabled()
    assert not panel.widgets["generator"].isEnabled()
    # image -> image: the plain dataset command, nothing else changes
    _pick(panel.widgets["data"], "shapes")
    assert sent[-1] == SetDataset("shapes")
    # back to toy data: the earlier values return
    _pick(panel.widgets["data"], "ring8")
    assert sent[-1].changes() == {"data": "ring8", "z_dim": 2, "batch_size": 256, "d_lr": 1e-3}
    assert "restored" in notices[-1] and panel.widgets["z_dim"].value() == 2
    assert panel.widgets["g_width"].isEnabled()


def test_image_file_with_a_bad_file_shows_a_message_and_sends_nothing(controls, tmp_path):
    panel, sent, _ = controls
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"this is not an array")
    panel.ask_image_path = lambda: str(bad)
    _pick(panel.widgets["data"], "image-file")
    assert sent == []
    assert panel.error_box is not None and "bad.npy" in panel.error_box.text()
    assert panel.widgets["data"].currentData() == "ring8"  # back to the previous dataset
    panel.error_box.close()


def test_image_file_with_a_good_file_sends_data_path_and_settings(controls, tmp_path):
    panel, sent, notices = controls
    good = tmp_path / "imgs.npy"
    np.save(good, np.random.default_rng(0).integers(0, 255, (20, 28, 28), dtype=np.uint8))
    panel.ask_image_path = lambda: str(good)
    _pick(panel.widgets["data"], "image-file")
    assert len(sent) == 1
    changes = sent[0].changes()
    assert changes["data"] == "image-file" and changes["image_path"] == str(good) and changes["z_dim"] == 64
    assert panel.widgets["image_path"].value() == str(good)
    assert any("20 images" in n for n in notices)


# -- real runs (thread backend) ------------------------------------------------------------------------------
SMALL_TOY = dict(d_width=32, g_width=32, d_depth=2, g_depth=2, batch_size=64, n_view=256, grid_size=32,
                 mode_samples=500, w1_samples=128, kde_samples=1024)


@pytest.fixture
def live_window(qtbot, tmp_path):
    import torch

    from ganviz.qt.app import make_app

    torch.set_num_threads(1)
    make_app()
    factory = window_factory(qtbot, tmp_path, "live", SMALL_TOY, interval=0.02, backend="thread")
    yield factory
    for w in factory.made:
        assert w.shutdown(), "training thread did not stop within 1 s"
    assert QtCore.QThreadPool.globalInstance().waitForDone(2000)


def test_live_switch_from_toy_to_digits_and_back(live_window, qtbot):
    w = live_window(data="ring8")
    qtbot.waitUntil(lambda: w.last_snapshot is not None and w.last_snapshot.step > 2, timeout=20000)
    assert w.data_stack.currentWidget() is w.data2d and not w.docks["coverage"].isVisible()
    _pick(w.controls.widgets["data"], "digits")
    qtbot.waitUntil(lambda: w.last_snapshot.images is not None and w.last_snapshot.step > 1, timeout=120000)
    cfg = w.trainer.config
    assert (cfg.data, cfg.z_dim, cfg.batch_size, cfg.d_lr, cfg.g_lr) == ("digits", 64, 64, 2e-4, 2e-4)
    assert w.data_stack.currentWidget() is w.images and w.docks["coverage"].isVisible()
    snap = w.last_snapshot
    assert snap.images.fake.shape == (64, 28, 28) and snap.dim == 784
    qtbot.waitUntil(lambda: w.images.fake.title.text.count(f"step {w.last_snapshot.step}") == 1, timeout=20000)
    shown = w.images.fake.image.image
    np.testing.assert_array_equal(shown, tile(w.last_snapshot.images.fake, 8))
    assert np.nanstd(shown) > 0.05  # a real generator's output, not a blank grid
    assert w.histograms.edges is not None  # the D(x) histograms work as they are
    _pick(w.controls.widgets["data"], "ring8")
    qtbot.waitUntil(lambda: w.last_snapshot.images is None and w.last_snapshot.field2d is not None, timeout=60000)
    assert w.trainer.config.z_dim == 2 and w.trainer.config.batch_size == 64  # the toy run's own batch size
    assert w.data_stack.currentWidget() is w.data2d and not w.docks["coverage"].isVisible()


def test_compare_and_ensemble_explain_that_image_runs_are_not_supported(qtbot, tmp_path, monkeypatch):
    """Compare mode and the ensemble draw toy-data views only: on an image run they explain instead of
    opening a window that cannot show the run."""
    from PySide6 import QtCore, QtWidgets

    from ganviz.core.config import TrainConfig
    from ganviz.qt.extensions.compare import open_comparison
    from ganviz.qt.extensions.ensemble import open_ensemble
    from ganviz.qt.main_window import MainWindow

    shown: list[str] = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "information", lambda parent, title, text: shown.append(text))
    settings = QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat)
    w = MainWindow(TrainConfig(data="digits", batch_size=16, z_dim=16, conv_channels=8), settings=settings,
                   autostart=False, backend="thread")
    qtbot.addWidget(w)
    assert open_comparison(w, ["ns", "wgan-gp"]) is None
    assert open_ensemble(w, 4) is None
    assert len(shown) == 2 and "toy data" in shown[0] and "toy data" in shown[1]
    assert not w.features["compare"].windows and not w.features["ensemble"].windows
    w.shutdown()


def test_closing_during_an_image_run_keeps_the_mode_dock_for_the_next_toy_launch(qtbot, tmp_path):
    from PySide6 import QtCore

    from ganviz.core.config import TrainConfig
    from ganviz.qt.main_window import MainWindow

    ini = str(tmp_path / "layout.ini")
    settings = QtCore.QSettings(ini, QtCore.QSettings.Format.IniFormat)
    w = MainWindow(TrainConfig(), settings=settings, autostart=False, backend="thread")
    qtbot.addWidget(w)
    w.show()
    assert w.docks["modes"].isVisible()
    w._show_dim(784)  # an image run hides the mode-coverage dock
    assert not w.docks["modes"].isVisible()
    w.shutdown()  # saves the layout while the image data is shown
    assert not w.docks["modes"].isVisible()  # still hidden in this window
    w2 = MainWindow(TrainConfig(), settings=QtCore.QSettings(ini, QtCore.QSettings.Format.IniFormat),
                    autostart=False, backend="thread")
    qtbot.addWidget(w2)
    w2.show()
    assert w2.docks["modes"].isVisible()
    w2.shutdown()
