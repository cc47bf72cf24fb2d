"""Built-in image datasets (determinism, balance, ink), the disk cache, and the local image-file loaders."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganviz.core.images import cache as C
from ganviz.core.images import datasets as D
from ganviz.core.images import files as F
from ganviz.core.images.files import MAX_BYTES, ImageDataError, describe, load_images

NAMES = sorted(D.CLASS_NAMES)


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("GANVIZ_CACHE_DIR", str(tmp_path / "cache"))


# ------------------------------------------------------------------------------------------------ render

@pytest.mark.parametrize("name", NAMES)
def test_render_deterministic_per_seed_and_seeds_differ(name):
    a, la = D.render(name, 300, 7)
    b, lb = D.render(name, 300, 7)
    c, lc = D.render(name, 300, 8)
    assert np.array_equal(a, b) and np.array_equal(la, lb)
    assert not np.array_equal(la, lc)
    # the same class under two seeds still looks different: compare the first "0" of each
    assert not np.array_equal(a[la == 0][0], c[lc == 0][0])
    assert np.mean(a != c) > 0.05


@pytest.mark.parametrize("name", NAMES)
def test_render_shape_dtype_range_and_exact_balance(name):
    images, labels = D.render(name, 1005, 3)
    assert images.shape == (1005, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (1005,) and labels.dtype == np.int64
    assert np.bincount(labels, minlength=10).tolist() == [101] * 5 + [100] * 5
    assert not np.array_equal(labels[:20], np.arange(20) % 10)  # shuffled, not in class order
    assert images.max() == 255 and np.median(images.reshape(len(images), -1).max(axis=1)) == 255
    # black background: the outer 2-pixel frame is nearly empty, like MNIST
    frame = np.concatenate([images[:, :2].reshape(len(images), -1), images[:, -2:].reshape(len(images), -1),
                            images[:, :, :2].reshape(len(images), -1), images[:, :, -2:].reshape(len(images), -1)],
                           axis=1)
    assert frame.mean() < 2.0


def test_render_edge_cases():
    images, labels = D.render("digits", 0, 0)
    assert images.shape == (0, 28, 28) and labels.shape == (0,)
    images, labels = D.render("shapes", 3, 0)
    assert sorted(labels.tolist()) == [0, 1, 2]
    with pytest.raises(ValueError, match="unknown image dataset"):
        D.render("letters", 10, 0)
    with pytest.raises(ValueError, match="n must be"):
        D.render("digits", -1, 0)


@pytest.mark.parametrize("name", NAMES)
def test_every_class_has_sane_ink_and_is_centred(name):
    images, labels = D.render(name, 1000, 11)
    ink = D.ink_fraction(images)
    assert ink.min() > 0.02  # never blank
    for k in range(10):
        mean = ink[labels == k].mean()
        assert 0.05 < mean < 0.35, (name, k, mean)
    # centre of mass within 2 pixels of the image centre on average (MNIST centres by mass)
    w = images.astype(np.float64)
    grid = np.arange(28)
    cy = (w.sum(axis=2) * grid).sum(axis=1) / w.sum(axis=(1, 2))
    cx = (w.sum(axis=1) * grid).sum(axis=1) / w.sum(axis=(1, 2))
    assert abs(cy.mean() - 13.5) < 2.0 and abs(cx.mean() - 13.5) < 2.0


def test_classes_differ_from_each_other():
    images, labels = D.render("digits", 2000, 5)
    means = np.stack([images[labels == k].mean(axis=0) for k in range(10)]) / 255.0
    dist = np.abs(means[:, None] - means[None]).mean(axis=(2, 3))
    off = dist[~np.eye(10, dtype=bool)]
    assert off.min() > 0.03  # every pair of class-mean images is clearly different


def test_templates_have_variants_and_class_names():
    assert D.CLASS_NAMES["digits"] == tuple("0123456789")
    assert len(set(D.CLASS_NAMES["shapes"])) == 10
    assert [len(v) for v in D.templates("digits")][1] >= 2  # 1 with and without a flag
    assert D.IMAGE_SIZE == 28


# ------------------------------------------------------------------------------------------------- cache

def test_cache_dir_env_and_fallback(tmp_path, monkeypatch):
    monkeypatch.setenv("GANVIZ_CACHE_DIR", str(tmp_path / "a" / "b"))
    assert C.cache_dir() == tmp_path / "a" / "b" and (tmp_path / "a" / "b").is_dir()
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("GANVIZ_CACHE_DIR", str(blocker / "sub"))
    fallback = C.cache_dir()
    assert fallback != blocker / "sub" and fallback.is_dir()
    assert C.write_bytes_atomic(fallback / "probe.bin", b"ok") and (fallback / "probe.bin").read_bytes() == b"ok"


def test_atomic_write_leaves_no_temp_files(tmp_path):
    assert C.write_bytes_atomic(tmp_path / "x.bin", b"1234")
    assert C.write_bytes_atomic(tmp_path / "x.bin", b"56")
    assert [p.name for p in tmp_path.iterdir()] == ["x.bin"] and (tmp_path / "x.bin").read_bytes() == b"56"
    assert not C.write_bytes_atomic(tmp_path / "missing" / "x.bin", b"1")  # failure is reported, not raised


def test_bank_round_trips_through_the_cache(tmp_path, monkeypatch):
    images, labels = D.bank("shapes", 120, 4)
    ref = D.render("shapes", 120, 4)
    assert np.array_equal(images, ref[0]) and np.array_equal(labels, ref[1])
    files = list((tmp_path / "cache").glob("bank-shapes-n120-seed4-v*.npz"))
    assert len(files) == 1

    def boom(*a, **k):
        raise AssertionError("should have come from the cache")

    monkeypatch.setattr(D, "render", boom)
    again = D.bank("shapes", 120, 4)
    assert np.array_equal(again[0], images) and np.array_equal(again[1], labels)
    assert again[0].dtype == np.uint8 and again[1].dtype == np.int64


@pytest.mark.parametrize("damage", ["garbage", "truncated", "wrong-shape", "empty"])
def test_bank_survives_a_corrupt_cache_file(tmp_path, damage):
    images, labels = D.bank("digits", 50, 2)
    path = next((tmp_path / "cache").glob("bank-digits-n50-seed2-*.npz"))
    if damage == "garbage":
        path.write_bytes(b"\x00\x01 not an npz file" * 10)
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    elif damage == "wrong-shape":
        np.savez(path, images=images[:10], labels=labels[:10], render_version=np.array(D.RENDER_VERSION))
    else:
        path.write_bytes(b"")
    again = D.bank("digits", 50, 2)
    assert np.array_equal(again[0], images) and np.array_equal(again[1], labels)
    with np.load(path, allow_pickle=False) as npz:  # rewritten and valid
        assert npz["images"].shape == (50, 28, 28)


def test_bank_rejects_unknown_name():
    with pytest.raises(ValueError, match="unknown image dataset"):
        D.bank("../../etc", 10, 0)


# ----------------------------------------------------------------------------------------- file helpers

def idx_bytes(arr: np.ndarray) -> bytes:
    arr = np.asarray(arr, dtype=np.uint8)
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return header + arr.tobytes()


def write(path: Path, data: bytes, gz: bool = False) -> Path:
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.fixture(scope="module")
def digits():
    return D.render("digits", 60, 1)


# ------------------------------------------------------------------------------------------ good files

@pytest.mark.parametrize("gz", [False, True])
def test_idx_pair_loads_exactly(tmp_path, digits, gz):
    images, labels = digits
    suffix = ".gz" if gz else ""
    p = write(tmp_path / f"train-images-idx3-ubyte{suffix}", idx_bytes(images), gz)
    write(tmp_path / f"train-labels-idx1-ubyte{suffix}", idx_bytes(labels), gz)
    notes: list[str] = []
    x, y, names = load_images(p, notes)
    assert np.array_equal(x, images) and x.dtype == np.uint8
    assert np.array_equal(y, labels) and y.dtype == np.int64
    assert names is None
    assert any("train-labels-idx1-ubyte" in n for n in notes)


def test_idx_without_labels_and_t10k_naming(tmp_path, digits):
    images, labels = digits
    p = write(tmp_path / "t10k-images-idx3-ubyte", idx_bytes(images))
    x, y, _ = load_images(str(p))
    assert np.array_equal(x, images) and y is None
    write(tmp_path / "t10k-labels-idx1-ubyte.gz", idx_bytes(labels), gz=True)  # mixed compression is found
    assert np.array_equal(load_images(p)[1], labels)


def test_npz_keras_layout_concatenates_train_and_test(tmp_path, digits):
    images, labels = digits
    p = tmp_path / "mnist.npz"
    np.savez_compressed(p, x_train=images[:45], y_train=labels[:45], x_test=images[45:], y_test=labels[45:])
    x, y, names = load_images(p)
    assert np.array_equal(x, images) and np.array_equal(y, labels) and names is None


@pytest.mark.parametrize("keys", [("images", "labels"), ("x", "y")])
def test_npz_other_layouts_and_class_names(tmp_path, digits, keys):
    images, labels = digits
    p = tmp_path / "d.npz"
    np.savez(p, **{keys[0]: images, keys[1]: labels}, class_names=np.array([f"c{i}" for i in range(10)]))
    x, y, names = load_images(p)
    assert np.array_equal(x, images) and np.array_equal(y, labels)
    assert names == tuple(f"c{i}" for i in range(10))


def test_npz_single_array_unlabelled(tmp_path, digits):
    p = tmp_path / "one.npz"
    np.savez(p, whatever=digits[0])
    x, y, names = load_images(p)
    assert np.array_equal(x, digits[0]) and y is None and names is None


@pytest.mark.parametrize("form", ["uint8", "flat", "unit", "signed", "float255", "channel", "bool"])
def test_npy_forms_load_exactly(tmp_path, digits, form):
    images = digits[0]
    arr = {
        "uint8": images,
        "flat": images.reshape(len(images), 784),
        "unit": images.astype(np.float32) / 255.0,
        "signed": images.astype(np.float64) / 127.5 - 1.0,
        "float255": images.astype(np.float32),
        "channel": images[:, None],
        "bool": images > 127,
    }[form]
    p = tmp_path / "x.npy"
    np.save(p, arr)
    x, y, names = load_images(p)
    expected = (images > 127).astype(np.uint8) * 255 if form == "bool" else images
    assert np.array_equal(x, expected) and y is None and names is None


def test_npy_other_size_is_resized_and_rgb_is_gray(tmp_path, digits):
    images = digits[0][:10]
    big = images.repeat(2, axis=1).repeat(2, axis=2)  # 56x56
    np.save(tmp_path / "big.npy", big)
    notes: list[str] = []
    x, _, _ = load_images(tmp_path / "big.npy", notes)
    assert x.shape == (10, 28, 28)
    assert np.abs(x.astype(int) - images).mean() < 8  # downscaled back to nearly the original
    assert any("resized" in n for n in notes)
    rgb = np.repeat(images[..., None], 3, axis=3)
    np.save(tmp_path / "rgb.npy", rgb)
    assert np.array_equal(load_images(tmp_path / "rgb.npy")[0], images)
    wide = np.zeros((4, 20, 40), np.uint8)
    wide[:, 5:15, 10:30] = 255
    np.save(tmp_path / "wide.npy", wide)
    x = load_images(tmp_path / "wide.npy")[0]
    assert x.shape == (4, 28, 28) and x[:, :7].max() == 0 and x[:, 21:].max() == 0  # padded top and bottom


def test_dark_on_light_is_inverted_with_a_note(tmp_path, digits):
    np.save(tmp_path / "paper.npy", 255 - digits[0])
    notes: list[str] = []
    x, _, _ = load_images(tmp_path / "paper.npy", notes)
    assert np.array_equal(x, digits[0])
    assert any("inverted" in n for n in notes)
    assert "inverted" in describe(tmp_path / "paper.npy")


def _save_png(path: Path, img: np.ndarray, mode: str = "L") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).convert(mode).save(path)


def test_folder_with_class_subfolders(tmp_path, digits):
    images, labels = digits
    root = tmp_path / "data"
    for i, (img, lab) in enumerate(zip(images[:20], labels[:20], strict=True)):
        _save_png(root / ("odd" if lab % 2 else "even") / f"{i:03d}.png", img)
    _save_png(root / "stray.png", images[0])  # ignored: classes come from subfolders
    (root / "even" / "notes.txt").write_text("not an image")
    (root / "even" / ".hidden.png").write_bytes(b"junk")
    notes: list[str] = []
    x, y, names = load_images(root, notes)
    assert names == ("even", "odd")
    order = [i for i in range(20) if labels[i] % 2 == 0] + [i for i in range(20) if labels[i] % 2]
    assert np.array_equal(x, images[order])
    assert np.array_equal(y, (labels[order] % 2).astype(np.int64))
    assert any("top level ignored" in n for n in notes)
    assert describe(root).startswith("20 images, 2 classes")


def test_flat_folder_dark_on_light_rgb_and_odd_sizes(tmp_path, digits):
    images = digits[0][:6]
    root = tmp_path / "flat"
    for i, img in enumerate(images):
        _save_png(root / f"{i}.png", 255 - img, mode="RGB")
    _save_png(root / "z-wide.bmp", np.full((30, 60), 255, np.uint8))
    x, y, names = load_images(root)
    assert y is None and names is None and x.shape == (7, 28, 28)
    assert np.array_equal(x[:6], images)  # inverted back, exactly
    assert x[6].max() == 0  # a blank white page becomes blank black


def test_transparent_png_is_composited_on_white(tmp_path):
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[8:20, 12:16] = (0, 0, 0, 255)  # a black bar on a transparent background
    root = tmp_path / "t"
    root.mkdir()
    Image.fromarray(rgba, "RGBA").save(root / "a.png")
    x, _, _ = load_images(root)
    assert x[0, 10, 13] == 255 and x[0, 0, 0] == 0  # ink white, background black after inversion


# ----------------------------------------------------------------------------------------- bad files

def _err(path, *fragments: str) -> str:
    with pytest.raises(ImageDataError) as info:
        load_images(path)
    msg = str(info.value)
    assert str(path) in msg or Path(path).name in msg, msg
    for f in fragments:
        assert f in msg, msg
    return msg


def test_missing_empty_and_unknown_files(tmp_path):
    _err(tmp_path / "nope.npz", "no such file")
    _err(write(tmp_path / "empty.npy", b""), "file is empty")
    _err(write(tmp_path / "notes.txt", b"hello world, not data"), "unsupported file type")
    _err(write(tmp_path / "a.npy", b"hello world"), "not a valid .npy")
    _err(write(tmp_path / "a.npz", b"hello world"), "not a valid .npz")
    _err(write(tmp_path / "x-idx3-ubyte", b"\xff\xff\x08\x03"), "not an idx file")
    img = tmp_path / "one.png"
    _save_png(img, np.zeros((28, 28), np.uint8))
    _err(img, "single image is not a dataset")


def test_truncated_and_padded_idx(tmp_path, digits):
    good = idx_bytes(digits[0])
    _err(write(tmp_path / "t-images-idx3-ubyte", good[:16 + 1234]),
         "truncated idx file: header says 60 images of 28x28 (47040 bytes of data), found 1234 bytes of data")
    _err(write(tmp_path / "h-images-idx3-ubyte", good[:10]), "truncated idx file: header needs 16 bytes")
    _err(write(tmp_path / "p-images-idx3-ubyte", good + b"\x00\x00"), "more bytes than the 60 images")
    _err(write(tmp_path / "g-images-idx3-ubyte.gz", gzip.compress(good)[:300]), "corrupt or truncated gzip data")
    _err(write(tmp_path / "z-images-idx3-ubyte.gz", b"\x1f\x8b" + b"garbage" * 20), "corrupt or truncated gzip")


def test_idx_headers_that_lie(tmp_path):
    huge = bytes([0, 0, 8, 3]) + (10**6).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    _err(write(tmp_path / "a-images-idx3-ubyte", huge), "header says 1000000 images, more than the limit of 200000")
    wide = bytes([0, 0, 8, 3]) + (10).to_bytes(4, "big") + (60000).to_bytes(4, "big") * 2
    _err(write(tmp_path / "b-images-idx3-ubyte", wide), "more than the limit of 512.0 MiB")
    _err(write(tmp_path / "c-images-idx3-ubyte", bytes([0, 0, 0x42, 3]) + b"\x00" * 12), "unknown idx data type 0x42")
    _err(write(tmp_path / "d-images-idx3-ubyte", bytes([0, 0, 8, 9]) + b"\x00" * 40), "9 dimensions")
    zero = bytes([0, 0, 8, 3]) + (0).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    _err(write(tmp_path / "e-images-idx3-ubyte", zero), "zero images")


def test_idx_labels_problems(tmp_path, digits):
    images, labels = digits
    p = write(tmp_path / "train-images-idx3-ubyte", idx_bytes(images))
    lab = write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(labels[:50]))
    msg = _err(p, "50 labels for 60 images")
    assert "train-labels-idx1-ubyte" in msg
    _err(lab, "this is an idx labels file")
    lab.write_bytes(idx_bytes(labels)[:20])
    _err(p, "truncated idx file")


def test_npy_bad_contents(tmp_path, digits):
    images = digits[0]
    cases = {
        "nan": (np.where(images > 100, np.nan, 0.5).astype(np.float32), "NaN or infinite"),
        "inf": (np.full((3, 28, 28), np.inf), "NaN or infinite"),
        "range": (images.astype(np.float32) * 3.0, "float pixel values must lie in"),
        "int": (images.astype(np.int32) - 10, "integer pixel values must lie in 0..255, found -10..245"),
        "dims1": (np.zeros(784, np.uint8), "got a 1-D array"),
        "dims5": (np.zeros((2, 1, 1, 28, 28), np.uint8), "got a 5-D array"),
        "flat": (np.zeros((4, 780), np.uint8), "(n, 784)"),
        "zero": (np.zeros((0, 28, 28), np.uint8), "zero images"),
        "complex": (np.zeros((2, 28, 28), np.complex64), "not dtype complex64"),
        "strings": (np.array([["a"] * 28] * 28)[None], "not dtype <U1"),
        "channels": (np.zeros((2, 5, 28, 7), np.uint8), "1, 3 or 4 channels"),
    }
    for key, (arr, fragment) in cases.items():
        p = tmp_path / f"{key}.npy"
        np.save(p, arr)
        _err(p, fragment)


def test_npy_object_array_is_never_unpickled(tmp_path):
    p = tmp_path / "evil.npy"
    np.save(p, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    _err(p, "Python objects")
    q = tmp_path / "evil.npz"
    np.savez(q, images=np.array([object()], dtype=object))
    _err(q, "Python objects")


def test_npy_header_lies(tmp_path):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "|u1", "fortran_order": False, "shape": (60, 28, 28)})
    _err(write(tmp_path / "short.npy", buf.getvalue() + b"\x00" * 100),
         "truncated .npy array: header says shape (60, 28, 28) uint8 = 47040 bytes, found 100 bytes")
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "|u1", "fortran_order": False, "shape": (300000, 28, 28)})
    _err(write(tmp_path / "many.npy", buf.getvalue()), "300000 rows (images), more than the limit of 200000")
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (100000, 1000)})
    _err(write(tmp_path / "big.npy", buf.getvalue()), "more than the limit of 512.0 MiB")


def test_huge_file_is_refused_before_reading(tmp_path):
    p = tmp_path / "huge.npy"
    with open(p, "wb") as fh:  # sparse: costs no disk
        fh.truncate(MAX_BYTES + 1)
    _err(p, "file is 512.0 MiB, more than the limit of 512.0 MiB")


def test_npz_bad_contents(tmp_path, digits):
    images, labels = digits
    p = tmp_path / "a.npz"
    np.savez(p, images=images, labels=labels[:-1])
    _err(p, "59 labels for 60 images")
    np.savez(p, images=images, labels=-labels - 1)
    _err(p, "labels must be >= 0")
    np.savez(p, images=images, labels=labels + 300)
    _err(p, "at most 255 classes")
    np.savez(p, images=images, labels=labels + 0.5)
    _err(p, "whole numbers")
    np.savez(p, a=images, b=images)
    _err(p, "cannot tell which array holds the images")
    np.savez(p, images=images, labels=labels, class_names=np.array(["a", "b"]))
    _err(p, "2 class names but labels go up to 9")
    np.savez(p, x_train=images, y_train=labels, x_test=images[:3])
    _err(p, "labels for only one")
    zipfile.ZipFile(p, "w").close()
    _err(p, "archive is empty")
    good = io.BytesIO()
    np.savez_compressed(good, images=images)
    write(p, good.getvalue()[:len(good.getvalue()) // 2])
    _err(p)


def test_npz_zip_bomb_is_refused_from_the_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(F, "MAX_BYTES", 4 * 2**20)  # the same check as at 512 MiB, without writing 512 MiB
    p = tmp_path / "bomb.npz"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("images.npy", b"\x00" * (5 * 2**20))
    assert p.stat().st_size < 64 * 2**10
    _err(p, "arrays total 5.0 MiB uncompressed, more than the limit of 4.0 MiB")


def test_folder_problems(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no images here")
    _err(empty, "no image files")
    bad = tmp_path / "bad"
    bad.mkdir()
    _save_png(bad / "ok.png", np.zeros((28, 28), np.uint8))
    (bad / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    msg = _err(bad, "cannot read the image")
    assert "broken.png" in msg
