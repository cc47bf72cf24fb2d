"""Pixel values of an image array -> uint8 0..255, by an explicit range or a stated guess.

`image_range` (a config field) names the range the file's pixel values are in; it is mapped linearly onto
0..255:

- "0-1", "-1-1", "0-16", "0-255": that range (values outside it are refused with a message);
- "min-max": the file's own smallest .. largest value;
- "auto": the first that fits, in this order, and the note says which and why:
  values in [0, 1] -> 0-1; in [-1, 1] -> -1-1; whole numbers in [0, 16] -> 0-16 (scikit-learn's 8x8
  digits: floats 0..16); in [0, 255] -> 0-255, with a warning when the brightest value is below 64 (the
  images would look nearly black: a range the guess does not know). Anything else is refused and the message
  names image_range.

Booleans are 0 / 255. NaN / Inf are refused.
"""

from __future__ import annotations

import numpy as np

IMAGE_RANGES = ("auto", "0-1", "-1-1", "0-16", "0-255", "min-max")
SPANS = {"0-1": (0.0, 1.0), "-1-1": (-1.0, 1.0), "0-16": (0.0, 16.0), "0-255": (0.0, 255.0)}
DARK = 64  # auto: a 0-255 guess whose brightest pixel is below this gets a warning
_TOL = 1e-6


def _err(message: str) -> Exception:
    from .files import ImageDataError

    return ImageDataError(message)


def _fits(lo: float, hi: float, span: tuple[float, float]) -> bool:
    return lo >= span[0] - _TOL and hi <= span[1] + _TOL


def guess_range(a: np.ndarray, lo: float, hi: float) -> tuple[str, str]:
    """(range name, why) for image_range = auto; raises ImageDataError when nothing fits."""
    kind = "integer" if a.dtype.kind in "ui" else "float"
    if _fits(lo, hi, SPANS["0-1"]):
        return "0-1", ""
    if _fits(lo, hi, SPANS["-1-1"]):
        return "-1-1", ""
    whole = kind == "integer" or bool(np.all(a == np.round(a)))
    if whole and _fits(lo, hi, SPANS["0-16"]):
        return "0-16", " (whole numbers up to 16, like scikit-learn's 8x8 digits)"
    if _fits(lo, hi, SPANS["0-255"]):
        if hi < DARK:
            return "0-255", (f"; WARNING: the brightest pixel is {hi:g} of 255, so the images will look nearly "
                             "black: if the data has another range, set image_range (0-16, min-max, ...)")
        return "0-255", ""
    if kind == "integer":
        raise _err(f"integer pixel values must lie in 0..255, found {int(lo)}..{int(hi)}; set image_range = "
                   "min-max to scale the file's own range to 0..255")
    raise _err(f"float pixel values must lie in [0, 1], [-1, 1], [0, 16] or [0, 255], found [{lo:.4g}, {hi:.4g}]; "
               "set image_range = min-max to scale the file's own range to 0..255")


def to_uint8(arr: np.ndarray, src: str, notes: list[str] | None, image_range: str = "auto") -> np.ndarray:
    """Pixels of any real dtype -> uint8 0..255 (see the module docstring); the range used goes to notes."""
    from .files import _note

    if image_range not in IMAGE_RANGES:
        raise _err(f"{src}: image_range {image_range!r} is not one of {', '.join(IMAGE_RANGES)}")
    if arr.dtype == np.bool_:
        _note(notes, src, "pixel range: booleans (False -> 0, True -> 255)")
        return arr.astype(np.uint8) * 255
    if arr.dtype.kind not in "uif":
        raise _err(f"{src}: pixels must be numbers (integer or float), not dtype {arr.dtype}")
    a = arr.astype(np.float64 if arr.dtype.itemsize > 4 else np.float32, copy=False)
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        bad = int(np.count_nonzero(~np.isfinite(a)))
        raise _err(f"{src}: {bad} pixel values are NaN or infinite")
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    why = ""
    if image_range == "auto":
        try:
            name, why = guess_range(arr, lo, hi)
        except ValueError as e:
            raise _err(f"{src}: {e}") from None
        chosen = f"pixel range {name} (guessed: image_range = auto)"
    elif image_range == "min-max":
        name, chosen = "min-max", f"pixel range min-max ({lo:g}..{hi:g}, image_range = min-max)"
    else:
        name, chosen = image_range, f"pixel range {image_range} (image_range = {image_range})"
        if not _fits(lo, hi, SPANS[name]):
            raise _err(f"{src}: image_range = {name} but the pixel values reach [{lo:.4g}, {hi:.4g}]; choose "
                       f"another image_range ({', '.join(IMAGE_RANGES)})")
    s0, s1 = (lo, hi) if name == "min-max" else SPANS[name]
    scale = 255.0 / (s1 - s0) if s1 > s0 else 0.0
    _note(notes, src, f"{chosen}: {arr.dtype} values {lo:g}..{hi:g} mapped to 0..255{why}")
    return np.clip(np.rint((a - s0) * scale), 0, 255).astype(np.uint8)
