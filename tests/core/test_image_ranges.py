"""Image files whose pixels are not 0..255: the range is guessed and said, or given (config image_range); the
notes reach the command line; labels in the file drive class coverage (issue 16, point 6).

The scikit-learn digits case (float64 0..16, 8x8, labels 0..9) is rebuilt here without scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganviz import cli
from ganviz.core.config import ConfigError, TrainConfig
from ganviz.core.images import classifier as K
from ganviz.core.images.distribution import from_file
from ganviz.core.images.files import ImageDataError, describe, load_images
from ganviz.core.images.views import classifier_nowait
from ganviz.core.trainer import Trainer

torch.set_num_threads(1)


def digits_like(n: int = 90, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """8x8 float64 images with whole values 0..16 (like sklearn.datasets.load_digits().images) in 3 classes:
    a horizontal bar, a vertical bar, a diagonal."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 8, 8))
    y = np.arange(n) % 3
    for i, k in enumerate(y):
        img = rng.integers(0, 3, (8, 8)).astype(np.float64)
        j = rng.integers(2, 6)
        if k == 0:
            img[j, 1:7] = 16
        elif k == 1:
            img[1:7, j] = 16
        else:
            img[np.arange(1, 7), np.arange(1, 7)] = 16
        x[i] = img
    return x, y


@pytest.fixture
def sk_file(tmp_path):
    x, y = digits_like()
    path = tmp_path / "sk_digits.npz"
    np.savez(path, x=x, y=y)
    return path


def test_digits_0_to_16_are_guessed_scaled_and_said(tmp_path, sk_file):
    notes: list[str] = []
    images, labels, names = load_images(sk_file, notes)
    assert images.shape == (90, 28, 28) and images.max() == 255  # was 16 -> 16: nearly black
    assert labels is not None and labels[:4].tolist() == [0, 1, 2, 0]
    said = " | ".join(notes)
    assert "pixel range 0-16 (guessed: image_range = auto)" in said and "scikit-learn" in said
    assert "8x8 images resized to fit 28x28" in said
    exact = tmp_path / "exact.npy"  # 28x28: no resizing, so the mapping is visible pixel by pixel
    np.save(exact, np.array([[[0.0, 4.0, 8.0, 16.0] * 7] * 28]))
    img = load_images(exact)[0][0]
    assert img[0, :4].tolist() == [0, 64, 128, 255]  # v * 255 / 16, rounded
    assert "pixel range 0-16" in describe(exact)


def test_an_explicit_image_range_wins_and_is_checked(tmp_path, sk_file):
    notes: list[str] = []
    dark = load_images(sk_file, notes, "0-255")[0]
    assert dark.max() <= 20 and "pixel range 0-255 (image_range = 0-255)" in notes[0]  # 16 + Lanczos overshoot
    p = tmp_path / "mid.npy"
    np.save(p, np.array([[[3.0, 7.0, 11.0] * 9 + [3.0]] * 28]))
    mm = load_images(p, None, "min-max")[0][0]
    assert mm[0, :3].tolist() == [0, 128, 255]
    with pytest.raises(ImageDataError, match=r"image_range = 0-1 but the pixel values reach \[0, 16\]"):
        load_images(sk_file, None, "0-1")
    big = tmp_path / "big.npy"
    np.save(big, np.full((2, 28, 28), 300.5))
    with pytest.raises(ImageDataError, match="float pixel values must lie in .* set image_range = min-max"):
        load_images(big)
    assert load_images(big, None, "min-max")[0].max() == 0  # one value: nothing to spread


def test_dark_float_data_gets_a_loud_warning_and_binary_integers_are_scaled(tmp_path):
    p = tmp_path / "dim.npy"
    np.save(p, np.linspace(0, 10.5, 2 * 28 * 28).reshape(2, 28, 28))
    notes: list[str] = []
    load_images(p, notes)
    assert "pixel range 0-255" in notes[0] and "WARNING: the brightest pixel is 10.5 of 255" in notes[0]
    q = tmp_path / "mask.npy"
    np.save(q, (np.arange(2 * 28 * 28).reshape(2, 28, 28) % 2).astype(np.uint8))
    assert load_images(q)[0].max() == 255


def test_image_range_is_a_config_field_the_trainer_uses(sk_file):
    with pytest.raises(ConfigError, match="image_range"):
        TrainConfig(image_range="0-100").validate()
    small = dict(data="image-file", image_path=str(sk_file), conv_channels=4, z_dim=8, batch_size=16, n_view=16,
                 device="cpu")
    assert Trainer(TrainConfig(**small)).data.images.max() == 255
    t = Trainer(TrainConfig(**small, image_range="0-255"))
    assert t.data.images.max() <= 20 and "image_range = 0-255" in t.data.notes[0]
    t.set_config(image_range="auto")  # a hot swap of the data, as for image_path
    assert t.data.images.max() == 255


def test_labels_in_the_file_drive_class_coverage(sk_file, monkeypatch):
    monkeypatch.setattr(K, "FILE_MIN_SAMPLES", 3000)
    data = from_file(str(sk_file))
    assert data.classifier_name.startswith("file-") and data.class_names == ("0", "1", "2")
    assert any("3 classes from the file's labels" in n for n in data.notes)
    clf, _stats = classifier_nowait(data.classifier_name, wait=True)
    assert clf.n_classes == 3 and clf.heldout_accuracy >= 0.9
    t = Trainer(TrainConfig(data="image-file", image_path=str(sk_file), conv_channels=4, z_dim=8, batch_size=16,
                            n_view=16, device="cpu"))
    t.train(2)
    m = t.snapshot(with_metrics=True, with_fields=False).metrics
    # the file's 3 classes are what coverage counts (an untrained generator may cover none: the quality gate)
    assert 0 <= m["classes_covered"] <= 3 and {"class_share_0", "class_share_2", "frechet"} <= set(m)
    assert abs(sum(m[f"class_share_{c}"] for c in range(3)) - 1.0) < 1e-6
    assert "class_share_3" not in m
    unlabelled = sk_file.with_name("nolabels.npy")
    np.save(unlabelled, digits_like()[0])
    assert from_file(str(unlabelled)).classifier_name is None


def test_train_on_an_image_file_prints_what_the_loader_assumed(sk_file, capsys, monkeypatch):
    monkeypatch.setattr(K, "FILE_MIN_SAMPLES", 3000)
    code = cli.main(["train", "--set", "data=image-file", "--set", f"image_path={sk_file}", "--steps", "2",
                     "--every", "2", "--quiet", "--set", "conv_channels=4", "--set", "batch_size=16",
                     "--set", "n_view=16", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"ganviz: {sk_file}: pixel range 0-16 (guessed: image_range = auto)" in err
    assert "8x8 images resized to fit 28x28" in err and "3 classes from the file's labels" in err
    assert "class coverage: classifier accuracy" in err


@pytest.mark.parametrize("argv", [
    ["--data", "image-file", "--set", "image_path={f}", "train"],
    ["train", "--data", "image-file", "--set", "image_path={f}", "--set", "image_range=0-16"],
    ["--set", "image_path={f}", "train", "--data", "image-file"],
])
def test_data_image_file_with_its_path_in_set(sk_file, argv):
    """`--data image-file --set image_path=FILE` is what a user types: the config is checked once, after
    --set (checked before, data=image-file with no image_path yet was refused)."""
    cfg = cli.config_from_args(cli.parse_args([a.format(f=sk_file) for a in argv]))
    assert (cfg.data, cfg.image_path) == ("image-file", str(sk_file))
    assert cfg.image_range == ("0-16" if "image_range=0-16" in argv else "auto")
    with pytest.raises(ConfigError, match="needs image_path"):
        cli.config_from_args(cli.parse_args(["train", "--data", "image-file"]))
