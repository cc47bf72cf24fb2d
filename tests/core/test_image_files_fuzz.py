"""Property-based fuzzing of every image-file loader: random bytes, truncated valid files, mutated headers
and random array contents give either a valid result or ImageDataError, never another exception or a hang.

Run with --hypothesis-show-statistics to see the number of cases per loader (about 150 each)."""

from __future__ import annotations

import gzip
import io
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from ganviz.core.images.datasets import render
from ganviz.core.images.files import IMAGE_EXTENSIONS, MAX_IMAGES, ImageDataError, load_images

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
pytestmark = pytest.mark.timeout(120)

IMAGES, LABELS = render("digits", 6, 3)


def _idx(arr: np.ndarray) -> bytes:
    return bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape) + arr.tobytes()


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _npz(compressed: bool, **arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def _png(arr: np.ndarray, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt)
    return buf.getvalue()


IDX_IMAGES, IDX_LABELS = _idx(IMAGES), _idx(LABELS.astype(np.uint8))
NPY = {"uint8": _npy(IMAGES), "float": _npy(IMAGES / 255.0), "flat": _npy(IMAGES.reshape(6, -1))}
NPZ = {"plain": _npz(False, images=IMAGES, labels=LABELS),
       "keras": _npz(True, x_train=IMAGES[:4], y_train=LABELS[:4], x_test=IMAGES[4:], y_test=LABELS[4:])}
PNG = {"png": _png(IMAGES[0]), "bmp": _png(IMAGES[1], "BMP"), "gif": _png(IMAGES[2], "GIF"),
       "jpg": _png(IMAGES[3], "JPEG")}


def _apply(base: bytes, flips: list[tuple[int, int]], cut: int | None, tail: bytes) -> bytes:
    data = bytearray(base)
    for pos, value in flips:
        if data:
            data[pos % len(data)] = value
    if cut is not None:
        del data[cut:]
    return bytes(data) + tail


def mutated(base: bytes) -> st.SearchStrategy[bytes]:
    """base with a few bytes overwritten (mostly in the header), maybe truncated, maybe with bytes appended."""
    pos = st.one_of(st.integers(0, min(len(base), 128) - 1), st.integers(0, len(base) - 1))
    return st.builds(_apply, st.just(base), st.lists(st.tuples(pos, st.integers(0, 255)), max_size=6),
                     st.one_of(st.none(), st.integers(0, len(base))), st.binary(max_size=8))


def check(path: Path) -> str:
    """Load path: a valid result or ImageDataError with a message naming the file."""
    try:
        images, labels, names = load_images(path)
    except ImageDataError as exc:
        assert path.name in str(exc) or str(path) in str(exc), str(exc)
        event("refused")
        return "refused"
    assert images.dtype == np.uint8 and images.ndim == 3 and images.shape[1:] == (28, 28)
    assert 1 <= len(images) <= MAX_IMAGES
    if labels is not None:
        assert labels.dtype == np.int64 and labels.shape == (len(images),)
        assert labels.min() >= 0 and labels.max() < 255
    if names is not None:
        assert labels is not None and len(names) > labels.max()
    event("loaded, labelled" if labels is not None else "loaded")
    return "loaded"


def _in_tmp(files: dict[str, bytes], target: str) -> str:
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        for name, data in files.items():
            p = root / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        if target.endswith("/"):
            (root / target).mkdir(parents=True, exist_ok=True)
        return check(root / target.rstrip("/"))


# ------------------------------------------------------------------------------------------------ idx

@FUZZ
@given(data=st.one_of(st.binary(max_size=3000), st.binary(max_size=64).map(lambda b: b"\x00\x00\x08\x03" + b)),
       gz=st.booleans())
def test_idx_random_bytes(data, gz):
    name = "train-images-idx3-ubyte" + (".gz" if gz else "")
    _in_tmp({name: gzip.compress(data) if gz and data else data}, name)


@FUZZ
@given(images=mutated(IDX_IMAGES), labels=st.one_of(st.none(), mutated(IDX_LABELS)),
       gz=st.sampled_from(["none", "before", "after"]))
def test_idx_mutated_and_truncated(images, labels, gz):
    """Mutate the plain bytes and maybe gzip them ("before"), or mutate the gzip stream itself ("after")."""
    def encode(raw: bytes, base: bytes) -> bytes:
        if gz == "before":
            return gzip.compress(raw)
        if gz == "after":  # same mutation pattern applied to the compressed stream
            return _apply(gzip.compress(base), [(i * 7919, raw[i % len(raw)] if raw else 0) for i in range(3)],
                          None if len(raw) >= len(base) else len(raw) // 8, b"")
        return raw

    suffix = ".gz" if gz != "none" else ""
    files = {f"train-images-idx3-ubyte{suffix}": encode(images, IDX_IMAGES)}
    if labels is not None:
        files[f"train-labels-idx1-ubyte{suffix}"] = encode(labels, IDX_LABELS)
    _in_tmp(files, f"train-images-idx3-ubyte{suffix}")


# ------------------------------------------------------------------------------------------------ npy

@FUZZ
@given(data=st.one_of(st.binary(max_size=2000), st.binary(max_size=300).map(lambda b: b"\x93NUMPY\x01\x00" + b),
                      mutated(NPY["uint8"]), mutated(NPY["float"]), mutated(NPY["flat"])))
def test_npy_bytes(data):
    _in_tmp({"x.npy": data}, "x.npy")


DTYPES = st.sampled_from([np.uint8, np.int8, np.int16, np.int64, np.uint16, np.float16, np.float32, np.float64,
                          np.bool_, np.complex64])


@FUZZ
@given(arr=hnp.arrays(DTYPES, hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=32)))
def test_npy_random_arrays(arr):
    """Valid .npy files with arbitrary dtype, shape and values (NaN, Inf, out of range, odd sizes)."""
    _in_tmp({"x.npy": _npy(arr)}, "x.npy")


# ------------------------------------------------------------------------------------------------ npz

@FUZZ
@given(data=st.one_of(st.binary(max_size=2000), st.binary(max_size=200).map(lambda b: b"PK\x03\x04" + b),
                      mutated(NPZ["plain"]), mutated(NPZ["keras"])))
def test_npz_bytes(data):
    _in_tmp({"x.npz": data}, "x.npz")


@FUZZ
@given(x=hnp.arrays(DTYPES, hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=30)),
       y=st.one_of(st.none(), hnp.arrays(DTYPES, hnp.array_shapes(min_dims=0, max_dims=2, max_side=12))),
       keys=st.sampled_from([("images", "labels"), ("x", "y"), ("x_train", "y_train"), ("a", "b")]),
       names=st.one_of(st.none(), st.lists(st.text(max_size=5), max_size=12)))
def test_npz_random_arrays(x, y, keys, names):
    arrays = {keys[0]: x}
    if y is not None:
        arrays[keys[1]] = y
    if names is not None:
        arrays["class_names"] = np.array(names, dtype=str)
    _in_tmp({"x.npz": _npz(False, **arrays)}, "x.npz")


# --------------------------------------------------------------------------------------------- folder

folder_file = st.one_of(
    st.binary(max_size=500),
    *(mutated(v) for v in PNG.values()),
    st.builds(lambda h, w, v, mode: _png(np.full((h, w), v, np.uint8)) if mode == "L" else
              _png(np.full((h, w, 4), v, np.uint8)),
              st.integers(1, 64), st.integers(1, 64), st.integers(0, 255), st.sampled_from(["L", "RGBA"])),
)


@FUZZ
@given(files=st.lists(st.tuples(st.sampled_from(["", "a/", "b/", ".h/", "a/.x"]),
                                st.sampled_from(IMAGE_EXTENSIONS + (".txt",)), folder_file),
                      max_size=5))
def test_folder_random_files(files):
    contents = {f"{sub}f{i}{ext}": data for i, (sub, ext, data) in enumerate(files)}
    _in_tmp(contents, "data/" if not contents else "")
