"""Local image data: MNIST idx files (optionally .gz), .npz / .npy arrays, or a folder of images.

`load_images(path)` returns (images, labels, class_names): uint8 (n, 28, 28) in the MNIST convention
(white ink on black), int64 labels (n,) or None, class names or None. Everything that can go wrong with a
file (missing, truncated, wrong type, too big, NaN pixels, wrong dimensions, labels that do not fit) is an
`ImageDataError` whose message names the file and the problem; no other exception type leaves this
module for a bad file. Nothing is ever unpickled: arrays are read with allow_pickle=False and npy headers
are checked before any array is allocated; sizes are checked before files are read whole.

Conversions, each reported once: in the optional `notes` list, or logged at info level when none is given:

- pixels: the range given by `image_range` (0-1, -1-1, 0-16, 0-255, min-max) or guessed (auto: see
  `pixels`; e.g. whole numbers up to 16 are scikit-learn's digits) is mapped to 0..255, and the note says
  which; NaN / Inf are refused. RGB(A) arrays and images become grayscale (ITU-R 601 luma, transparent image
  pixels are composited onto white).
- size: other sizes are resized to fit 28x28 keeping the aspect ratio (Pillow, Lanczos), padded with the
  image's own border colour.
- polarity: if most images are dark-on-light (median of the per-image mean > 127) all are inverted, so
  the result is white on black like MNIST.

A folder: image files (png, jpg, jpeg, bmp, gif, tif, tiff, webp; hidden files skipped) directly in it are
unlabelled; if it has subfolders holding images, each immediate subfolder is a class (sorted by name) and
images at the top level are ignored (noted).
"""

from __future__ import annotations

import gzip
import logging
import math
import os
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .datasets import IMAGE_SIZE
from .pixels import to_uint8

log = logging.getLogger(__name__)

MAX_IMAGES = 200_000
MAX_BYTES = 512 * 1024 * 1024  # per file, and for a decompressed idx.gz / npz member, and a folder in total
MAX_CLASSES = 255
MAX_IMAGE_PIXELS = 40_000_000  # one image file in a folder (Pillow's own bomb guard is at 89M)
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_NPY_MAGIC = b"\x93NUMPY"


class ImageDataError(ValueError):
    """A file or folder that cannot be used as image data; the message names it and says why."""


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def _note(notes: list[str] | None, src: str, text: str) -> None:
    """Say `text` once: in the caller's `notes` when it asked for them (the caller shows them: `ganviz train`
    prints them, the window lists them), else as an info record (seen with `ganviz -v`)."""
    if notes is not None:
        notes.append(text)
    else:
        log.info("%s: %s", src, text)


# ---------------------------------------------------------------------------------------- pixel handling

def _fit(img, size: int = IMAGE_SIZE) -> np.ndarray:
    """A Pillow 'L' image resized to fit size x size keeping its aspect, padded with its border colour."""
    from PIL import Image

    w, h = img.size
    if (w, h) == (size, size):
        return np.asarray(img, dtype=np.uint8)
    scale = size / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    small = np.asarray(img.resize((nw, nh), Image.Resampling.LANCZOS, reducing_gap=3.0), dtype=np.uint8)
    border = np.concatenate([small[0], small[-1], small[:, 0], small[:, -1]])
    out = np.full((size, size), int(np.median(border)), dtype=np.uint8)
    top, left = (size - nh) // 2, (size - nw) // 2
    out[top:top + nh, left:left + nw] = small
    return out


def _gray(arr: np.ndarray, channel_axis: int) -> np.ndarray:
    """Drop a channel axis: 1 channel is squeezed, 3 or 4 (RGB(A), alpha ignored) become luma."""
    a = np.moveaxis(arr, channel_axis, -1)
    if a.shape[-1] == 1:
        return a[..., 0]
    rgb = a[..., :3].astype(np.float64)
    return rgb @ np.array([0.299, 0.587, 0.114])


def _as_images(arr: np.ndarray, src: str, notes: list[str] | None, image_range: str = "auto") -> np.ndarray:
    """An array of images (n, 28, 28), (n, 784), (n, h, w), (n, h*w) square, or with a channel axis
    (n, h, w, c) / (n, c, h, w), c in 1, 3, 4 -> uint8 (n, 28, 28), white on black."""
    arr = np.asarray(arr)
    shape = arr.shape
    if arr.ndim == 2:
        side = math.isqrt(shape[1]) if shape[1] > 0 else 0
        if side == 0 or side * side != shape[1]:
            raise ImageDataError(f"{src}: a 2-D array must be (n, h*w) flattened square images such as "
                                 f"(n, 784), got shape {shape}")
        arr = arr.reshape(shape[0], side, side)
    elif arr.ndim == 4:
        axis = 3 if shape[3] in (1, 3, 4) else 1 if shape[1] in (1, 3, 4) else None
        if axis is None:
            raise ImageDataError(f"{src}: a 4-D array must have 1, 3 or 4 channels first or last, got shape {shape}")
        if shape[axis] > 1:
            if arr.dtype.kind not in "uif":
                raise ImageDataError(f"{src}: pixels must be numbers (integer or float), not dtype {arr.dtype}")
            _note(notes, src, "colour images converted to grayscale")
        arr = _gray(arr, axis)
    elif arr.ndim != 3:
        raise ImageDataError(f"{src}: images must be a 3-D array (n, 28, 28) (or (n, 784), or with a channel "
                             f"axis), got a {arr.ndim}-D array of shape {shape}")
    n, h, w = arr.shape
    if n == 0:
        raise ImageDataError(f"{src}: contains zero images")
    if n > MAX_IMAGES:
        raise ImageDataError(f"{src}: {n} images is more than the limit of {MAX_IMAGES}")
    if h == 0 or w == 0:
        raise ImageDataError(f"{src}: images of size {h}x{w} are empty")
    pixels = to_uint8(arr, src, notes, image_range)
    if (h, w) != (IMAGE_SIZE, IMAGE_SIZE):
        from PIL import Image

        _note(notes, src, f"{h}x{w} images resized to fit {IMAGE_SIZE}x{IMAGE_SIZE}")
        pixels = np.stack([_fit(Image.fromarray(np.ascontiguousarray(p))) for p in pixels])
    return _polarity(np.ascontiguousarray(pixels), src, notes)


def _polarity(images: np.ndarray, src: str, notes: list[str] | None) -> np.ndarray:
    """Invert when most images are dark ink on a light background (median per-image mean > 127)."""
    means = images.reshape(len(images), -1).mean(axis=1)
    if float(np.median(means)) > 127:
        _note(notes, src, "images are dark on light: inverted to white on black (MNIST convention)")
        return 255 - images
    return images


def _as_labels(arr: np.ndarray, n: int, src: str) -> np.ndarray:
    """Class labels: integers (or integral floats) in 0..254, one per image -> int64 (n,)."""
    a = np.asarray(arr)
    if a.ndim == 2 and 1 in a.shape:
        a = a.reshape(-1)
    if a.ndim != 1:
        raise ImageDataError(f"{src}: labels must be a 1-D array, got shape {a.shape}")
    if len(a) != n:
        raise ImageDataError(f"{src}: {len(a)} labels for {n} images")
    if a.dtype == np.bool_:
        a = a.astype(np.int64)
    if a.dtype.kind == "f":
        if not np.isfinite(a).all() or not np.array_equal(a, np.round(a)):
            raise ImageDataError(f"{src}: labels must be whole numbers (found NaN, infinite or fractional values)")
    elif a.dtype.kind not in "ui":
        raise ImageDataError(f"{src}: labels must be integers, not dtype {a.dtype}")
    lo, hi = float(a.min()), float(a.max())
    if lo < 0:
        raise ImageDataError(f"{src}: labels must be >= 0, found {lo:g}")
    if hi > MAX_CLASSES - 1:
        raise ImageDataError(f"{src}: labels must be at most {MAX_CLASSES - 1} (at most {MAX_CLASSES} classes), "
                             f"found {hi:g}")
    return a.astype(np.int64)


def _as_names(arr: np.ndarray, labels: np.ndarray | None, src: str) -> tuple[str, ...] | None:
    a = np.asarray(arr)
    if a.dtype.kind not in "US" or a.ndim != 1:
        raise ImageDataError(f"{src}: class_names must be a 1-D array of strings, got {a.dtype} {a.shape}")
    names = tuple(str(x.decode("utf-8", "replace") if isinstance(x, bytes) else x) for x in a)
    if labels is not None and len(names) <= int(labels.max()):
        raise ImageDataError(f"{src}: {len(names)} class names but labels go up to {int(labels.max())}")
    return names


# ---------------------------------------------------------------------------------------------- idx files

def _open(path: Path):
    """The file opened for reading bytes, through gzip when it starts with the gzip magic."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def _idx_header(data: bytes, src: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """(dims, dtype, header length) of an idx file from its first bytes."""
    if len(data) < 4:
        raise ImageDataError(f"{src}: not an idx file (only {len(data)} bytes)")
    if data[0] != 0 or data[1] != 0:
        raise ImageDataError(f"{src}: not an idx file (bad magic number {data[:4].hex()}; expected 0000 then "
                             "type and dimension bytes)")
    code, ndim = data[2], data[3]
    if code not in _IDX_TYPES:
        raise ImageDataError(f"{src}: unknown idx data type 0x{code:02X}")
    if ndim == 0 or ndim > 4:
        raise ImageDataError(f"{src}: idx file with {ndim} dimensions (expected 1 for labels, 3 for images)")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ImageDataError(f"{src}: truncated idx file: header needs {header} bytes, file has {len(data)}")
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return dims, np.dtype(_IDX_TYPES[code]), header


def _idx_what(dims: tuple[int, ...]) -> str:
    if len(dims) >= 3:
        return f"{dims[0]} images of {'x'.join(map(str, dims[1:]))}"
    return f"{dims[0]} labels" if len(dims) == 1 else f"shape {dims}"


def _read_idx(path: Path) -> np.ndarray:
    """An idx file (gzip or not) as an array, with its size checked from the header before reading."""
    src = str(path)
    try:
        with _open(path) as fh:
            head = fh.read(4 + 4 * 4)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ImageDataError(f"{src}: corrupt or truncated gzip data ({exc})") from None
    dims, dtype, header = _idx_header(head, src)
    expected = math.prod(dims) * dtype.itemsize
    if len(dims) >= 3 and dims[0] > MAX_IMAGES:
        raise ImageDataError(f"{src}: header says {dims[0]} images, more than the limit of {MAX_IMAGES}")
    if expected > MAX_BYTES:
        raise ImageDataError(f"{src}: header says {_idx_what(dims)} ({_mib(expected)}), more than the limit "
                             f"of {_mib(MAX_BYTES)}")
    try:
        with _open(path) as fh:
            data = fh.read(header + expected + 1)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ImageDataError(f"{src}: corrupt or truncated gzip data ({exc})") from None
    found = len(data) - header
    if found > expected:
        raise ImageDataError(f"{src}: idx file has more bytes than the {_idx_what(dims)} its header announces "
                             f"({expected} bytes of data): wrong or corrupt file?")
    if found < expected:
        raise ImageDataError(f"{src}: truncated idx file: header says {_idx_what(dims)} ({expected} bytes of "
                             f"data), found {found} bytes of data")
    return np.frombuffer(data, dtype=dtype, count=math.prod(dims), offset=header).reshape(dims)


def _labels_path(path: Path) -> Path | None:
    """The standard labels file beside an idx images file (train-images-idx3-ubyte -> train-labels-idx1-ubyte)."""
    name = path.name
    if "images" not in name and "idx3" not in name:
        return None
    base = name.replace("images", "labels").replace("idx3", "idx1")
    stems = {base, base[:-3] if base.endswith(".gz") else base + ".gz"}
    for candidate in sorted(stems, key=lambda s: s.endswith(".gz") != name.endswith(".gz")):
        p = path.with_name(candidate)
        if p != path and p.is_file():
            return p
    return None


def _load_idx(path: Path, notes: list[str] | None, image_range: str = "auto"
              ) -> tuple[np.ndarray, np.ndarray | None, None]:
    src = str(path)
    arr = _read_idx(path)
    if arr.ndim == 1:
        raise ImageDataError(f"{src}: this is an idx labels file (1 dimension); give the images file "
                             "(for example train-images-idx3-ubyte) and its labels are found beside it")
    if arr.ndim == 2:
        raise ImageDataError(f"{src}: idx file with 2 dimensions {arr.shape}; expected images (n, rows, cols)")
    images = _as_images(arr, src, notes, image_range)
    labels = None
    lpath = _labels_path(path)
    if lpath is not None:
        try:
            _check_size(lpath)
            labels = _as_labels(_read_idx(lpath), len(images), str(lpath))
        except ImageDataError as exc:
            raise ImageDataError(f"{exc} (the labels file found beside {path.name})") from None
        _note(notes, src, f"labels from {lpath.name}")
    return images, labels, None


# ------------------------------------------------------------------------------------------ npy and npz

def _npy_header(fh, size: int, src: str) -> tuple[tuple[int, ...], np.dtype]:
    """Read and check an npy header from an open binary file of `size` bytes (position at the magic)."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(fh)
        else:
            raise ImageDataError(f"{src}: unsupported .npy format version {version}")
    except ImageDataError:
        raise
    except Exception as exc:  # numpy's header parser raises many types (ValueError, SyntaxError, TokenError...)
        raise ImageDataError(f"{src}: not a valid .npy array ({type(exc).__name__}: {exc})") from None
    if dtype.hasobject:
        raise ImageDataError(f"{src}: the array holds Python objects, which would need unpickling "
                             "(refused: loading never executes code from a file)")
    if shape and shape[0] > MAX_IMAGES:
        raise ImageDataError(f"{src}: array of shape {shape} has {shape[0]} rows (images), more than the limit "
                             f"of {MAX_IMAGES}")
    count = math.prod(shape)
    need = count * dtype.itemsize
    have = size - fh.tell()
    if need > MAX_BYTES:
        raise ImageDataError(f"{src}: array of shape {shape} {dtype} needs {_mib(need)}, more than the limit "
                             f"of {_mib(MAX_BYTES)}")
    if have < need:
        raise ImageDataError(f"{src}: truncated .npy array: header says shape {shape} {dtype} = {need} bytes, "
                             f"found {have} bytes")
    return shape, dtype


def _read_npy(fh, size: int, src: str) -> np.ndarray:
    start = fh.tell()
    _npy_header(fh, size, src)
    fh.seek(start)
    try:
        return np.lib.format.read_array(fh, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ImageDataError(f"{src}: cannot read the .npy array ({exc})") from None


def _load_npy(path: Path, notes: list[str] | None, image_range: str = "auto") -> tuple[np.ndarray, None, None]:
    src = str(path)
    with open(path, "rb") as fh:
        arr = _read_npy(fh, path.stat().st_size, src)
    return _as_images(arr, src, notes, image_range), None, None


_NPZ_KEYS = (("x_train", "y_train"), ("images", "labels"), ("x", "y"))


def _load_npz(path: Path, notes: list[str] | None, image_range: str = "auto"
              ) -> tuple[np.ndarray, np.ndarray | None, tuple[str, ...] | None]:
    src = str(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ImageDataError(f"{src}: not a valid .npz file (truncated, or not a zip archive: {exc})") from None
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        total = sum(i.file_size for i in infos)
        if total > MAX_BYTES:
            raise ImageDataError(f"{src}: arrays total {_mib(total)} uncompressed, more than the limit of "
                                 f"{_mib(MAX_BYTES)}")
        members = {i.filename[:-4] if i.filename.endswith(".npy") else i.filename: i for i in infos}
        if not members:
            raise ImageDataError(f"{src}: the .npz archive is empty")

        def get(key: str) -> np.ndarray:
            info = members[key]
            try:
                with zf.open(info) as fh:
                    return _read_npy(fh, info.file_size, f"{src}[{key}]")
            except ImageDataError:
                raise
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error, ValueError, NotImplementedError,
                    RuntimeError) as exc:  # RuntimeError: an encrypted member
                raise ImageDataError(f"{src}: cannot read array {key!r} ({exc})") from None

        for xk, yk in _NPZ_KEYS:
            if xk in members:
                x = get(xk)
                y = get(yk) if yk in members else None
                test_x = {"x_train": "x_test"}.get(xk)
                if test_x in members:
                    tx, ty = get(test_x), (get("y_test") if "y_test" in members else None)
                    if (y is None) != (ty is None):
                        raise ImageDataError(f"{src}: has labels for only one of x_train / x_test")
                    try:
                        x = np.concatenate([x, tx])
                        y = None if y is None else np.concatenate([np.ravel(y), np.ravel(ty)])
                    except ValueError as exc:
                        raise ImageDataError(f"{src}: x_train and x_test do not match ({exc})") from None
                    _note(notes, src, "x_train and x_test concatenated")
                break
        else:
            arrays = [k for k in members if k != "class_names"]
            if len(arrays) != 1:
                raise ImageDataError(f"{src}: cannot tell which array holds the images: keys {sorted(members)} "
                                     f"(expected x_train/y_train, images/labels, x/y, or a single array)")
            x, y = get(arrays[0]), None
        images = _as_images(x, src, notes, image_range)
        labels = None if y is None else _as_labels(y, len(images), f"{src} labels")
        names = None
        if "class_names" in members:
            if labels is None:
                _note(notes, src, "class_names ignored: the file has no labels")
            else:
                names = _as_names(get("class_names"), labels, src)
        return images, labels, names


# -------------------------------------------------------------------------------------------- a folder

def _image_files(folder: Path) -> list[Path]:
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise ImageDataError(f"{folder}: cannot list the folder ({exc.strerror or exc})") from None
    return [p for p in entries if not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS
            and p.is_file()]


def _wide_to_l(im):
    """A 16/32-bit or float Pillow image as 'L', scaled by its own range (Pillow's convert would clip)."""
    from PIL import Image

    a = np.asarray(im, dtype=np.float64)
    if not np.isfinite(a).all():
        raise ValueError("NaN or infinite pixel values")
    lo, hi = float(a.min()), float(a.max())
    scaled = np.zeros_like(a) if hi <= lo else (a - lo) * (255.0 / (hi - lo))
    return Image.fromarray(np.rint(scaled).astype(np.uint8))


def _read_image(path: Path) -> np.ndarray:
    """One image file -> uint8 (28, 28), grayscale, resized to fit; transparency composited onto white."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if w <= 0 or h <= 0 or w * h > MAX_IMAGE_PIXELS:
                    raise ImageDataError(f"{path}: image of {w}x{h} pixels is empty or too large "
                                         f"(limit {MAX_IMAGE_PIXELS} pixels)")
                im.draft("L", (4 * IMAGE_SIZE, 4 * IMAGE_SIZE))  # fast JPEG downscale while decoding
                if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                    rgba = im.convert("RGBA")
                    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                    gray = Image.alpha_composite(white, rgba).convert("L")
                elif im.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
                    gray = _wide_to_l(im)
                else:
                    gray = im.convert("L")
                return _fit(gray)
    except ImageDataError:
        raise
    except Exception as exc:  # Pillow raises many types for corrupt files (OSError, SyntaxError, struct.error...)
        raise ImageDataError(f"{path}: cannot read the image ({type(exc).__name__}: {exc})") from None


def _load_folder(folder: Path, notes: list[str] | None) -> tuple[np.ndarray, np.ndarray | None, tuple | None]:
    src = str(folder)
    top = _image_files(folder)
    try:
        subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError as exc:
        raise ImageDataError(f"{src}: cannot list the folder ({exc.strerror or exc})") from None
    classes = [(d.name, files) for d in subdirs if (files := _image_files(d))]
    if classes:
        if top:
            _note(notes, src, f"{len(top)} images at the top level ignored (classes come from subfolders)")
        if len(classes) > MAX_CLASSES:
            raise ImageDataError(f"{src}: {len(classes)} class subfolders, more than the limit of {MAX_CLASSES}")
        files = [f for _, fs in classes for f in fs]
        labels = np.concatenate([np.full(len(fs), k, dtype=np.int64) for k, (_, fs) in enumerate(classes)])
        names: tuple[str, ...] | None = tuple(name for name, _ in classes)
    else:
        files, labels, names = top, None, None
    if not files:
        raise ImageDataError(f"{src}: no image files ({', '.join(IMAGE_EXTENSIONS)}) in the folder or its "
                             "immediate subfolders")
    if len(files) > MAX_IMAGES:
        raise ImageDataError(f"{src}: {len(files)} image files, more than the limit of {MAX_IMAGES}")
    total = 0
    for f in files:
        try:
            total += f.stat().st_size
        except OSError as exc:
            raise ImageDataError(f"{f}: cannot open ({exc.strerror or exc})") from None
    if total > MAX_BYTES:
        raise ImageDataError(f"{src}: image files total {_mib(total)}, more than the limit of {_mib(MAX_BYTES)}")
    images = np.stack([_read_image(f) for f in files])
    return _polarity(images, src, notes), labels, names


# ---------------------------------------------------------------------------------------------- entry

def _check_size(path: Path) -> int:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImageDataError(f"{path}: cannot open ({exc.strerror or exc})") from None
    if size > MAX_BYTES:
        raise ImageDataError(f"{path}: file is {_mib(size)}, more than the limit of {_mib(MAX_BYTES)}")
    if size == 0:
        raise ImageDataError(f"{path}: file is empty")
    return size


def _kind(path: Path) -> str:
    """'npy', 'npz', 'idx' or 'image' from the first bytes (the extension only breaks ties)."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    name = path.name.lower()
    if head.startswith(_NPY_MAGIC):
        return "npy"
    if head.startswith(b"PK"):
        return "npz"
    if head.startswith(b"\x1f\x8b") or head[:2] == b"\x00\x00":
        return "idx"
    if name.endswith(".npy"):
        raise ImageDataError(f"{path}: not a valid .npy file (missing the NUMPY magic)")
    if name.endswith(".npz"):
        raise ImageDataError(f"{path}: not a valid .npz file (not a zip archive)")
    if "idx" in name or "ubyte" in name:
        raise ImageDataError(f"{path}: not an idx file (bad magic number {head[:4].hex()})")
    if name.endswith(IMAGE_EXTENSIONS):
        raise ImageDataError(f"{path}: a single image is not a dataset; give the folder that holds the images")
    raise ImageDataError(f"{path}: unsupported file type: expected an MNIST idx file (optionally .gz), an .npz "
                         "or .npy array, or a folder of images")


def _load(path: Path, notes: list[str] | None, image_range: str = "auto"):
    if not os.path.lexists(path):
        raise ImageDataError(f"{path}: no such file or folder")
    if path.is_dir():
        return _load_folder(path, notes)
    if not path.is_file():
        raise ImageDataError(f"{path}: not a regular file or folder")
    _check_size(path)
    kind = _kind(path)
    if kind == "npy":
        return _load_npy(path, notes, image_range)
    if kind == "npz":
        return _load_npz(path, notes, image_range)
    return _load_idx(path, notes, image_range)


def load_images(path: str | os.PathLike, notes: list[str] | None = None, image_range: str = "auto"
                ) -> tuple[np.ndarray, np.ndarray | None, tuple[str, ...] | None]:
    """(images uint8 (n, 28, 28) white on black, labels int64 (n,) or None, class names or None).

    Raises ImageDataError (only) for a path that is missing or holds unusable data. Conversions made
    (rescaled pixels, resizing, inversion, concatenation, the labels file used) are appended to `notes`
    when given, else logged at info level (never both: a caller that asks for them says them)."""
    p = Path(os.fspath(path))
    try:
        images, labels, names = _load(p, notes, image_range)
    except ImageDataError:
        raise
    except MemoryError:
        raise ImageDataError(f"{p}: not enough memory to load the data") from None
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ImageDataError(f"{p}: cannot read the file ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # last line of defence: a hostile file must never surface another type
        raise ImageDataError(f"{p}: unreadable image data ({type(exc).__name__}: {exc})") from None
    if names is not None and labels is not None and len(names) <= int(labels.max()):
        raise ImageDataError(f"{p}: {len(names)} class names but labels go up to {int(labels.max())}")
    return images, labels, names


def describe(path: str | os.PathLike, image_range: str = "auto") -> str:
    """One line about what load_images(path) gives: counts, classes and the conversions made (loads it)."""
    notes: list[str] = []
    images, labels, names = load_images(path, notes, image_range)
    n_classes = len(names) if names else (int(labels.max()) + 1 if labels is not None else 0)
    text = f"{len(images)} images" + (f", {n_classes} classes (labels: class coverage is measured against them)"
                                      if labels is not None else ", unlabelled")
    return text + "".join(f"; {n}" for n in notes)
