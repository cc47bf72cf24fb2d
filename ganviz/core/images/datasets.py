"""Built-in image datasets, rendered with numpy at first use (no download): "digits" and "shapes".

Each is ten classes of 28x28 grayscale images in the MNIST convention (uint8, 0 = black background,
255 = white stroke). Every class has one or more hand-designed templates: polylines (lines, arcs, cubic
Béziers) in a unit box, x to the right and y down. Per image the template gets a random smooth warp,
shear (slant), aspect, scale, rotation and translation, is mapped into a 20x20 box centred in 28x28 (as
MNIST), and is drawn with a random stroke width and an anti-aliased edge from the exact distance of each
pixel centre to the nearest segment. Filled templates (disk, diamond, ring, star) also colour their
inside (even-odd rule, so a ring is two circles). The distance field is vectorised over images and
chunked, so memory stays bounded: 10k images take about half a second of one core.

`render(name, n, seed)` is deterministic per (name, n, seed), draws only from np.random.default_rng(seed),
and is exactly class-balanced (n // 10 per class, the remainder to the first classes) in a seeded shuffled
order. `bank(name, n, seed)` is the same images cached on disk (see `cache`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cache import cache_dir, load_arrays, save_arrays

log = logging.getLogger(__name__)

IMAGE_SIZE = 28
BOX = 20.0  # the unit box maps to BOX pixels (MNIST: digits fit a 20x20 box inside 28x28)
RENDER_VERSION = 1  # bump when the templates or the jitter change: old cache files are then ignored
_CHUNK_PIXELS = 1 << 21  # images per chunk = this / 784: bounds the float32 work arrays to ~8 MB each

CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "digits": tuple(str(d) for d in range(10)),
    "shapes": ("circle", "disk", "square", "triangle", "diamond", "cross", "plus", "ring", "star", "arrow"),
}


# ------------------------------------------------------------------------------------------ template pieces

def _line(*pts: tuple[float, float]) -> np.ndarray:
    return np.asarray(pts, dtype=np.float64)


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 12) -> np.ndarray:
    """Elliptic arc from angle a0 to a1 (degrees, counter-clockwise as seen, 90 = top), n segments."""
    a = np.radians(np.linspace(a0, a1, n + 1))
    return np.stack([cx + rx * np.cos(a), cy - ry * np.sin(a)], axis=1)


def _ellipse(cx: float, cy: float, rx: float, ry: float, start: float = 90.0, n: int = 20) -> np.ndarray:
    return _arc(cx, cy, rx, ry, start, start + 360.0, n)


def _bez(p0, p1, p2, p3, n: int = 8) -> np.ndarray:
    """Cubic Bézier through p0 .. p3 as n segments."""
    t = np.linspace(0.0, 1.0, n + 1)[:, None]
    p0, p1, p2, p3 = (np.asarray(p, dtype=np.float64) for p in (p0, p1, p2, p3))
    return (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3


def _join(*pieces: np.ndarray) -> np.ndarray:
    """One polyline from consecutive pieces (each piece starts where the previous ended, or jumps there)."""
    return np.concatenate(pieces, axis=0)


def _polygon(pts: list[tuple[float, float]]) -> np.ndarray:
    return _line(*pts, pts[0])


def _star(cx: float, cy: float, r_out: float, r_in: float, points: int = 5) -> np.ndarray:
    a = np.radians(90.0 + np.arange(2 * points) * 180.0 / points)
    r = np.where(np.arange(2 * points) % 2 == 0, r_out, r_in)
    pts = np.stack([cx + r * np.cos(a), cy - r * np.sin(a)], axis=1)
    return np.concatenate([pts, pts[:1]], axis=0)


@dataclass(frozen=True)
class Template:
    """Polylines in the unit box (x right, y down); filled: the even-odd inside is ink too."""

    strokes: tuple[np.ndarray, ...]
    filled: bool = False

    def segments(self) -> tuple[np.ndarray, np.ndarray]:
        """Segment start and end points, (S, 2) each."""
        a = np.concatenate([s[:-1] for s in self.strokes], axis=0)
        b = np.concatenate([s[1:] for s in self.strokes], axis=0)
        return a, b


def _t(*strokes: np.ndarray, filled: bool = False) -> Template:
    return Template(tuple(strokes), filled)


def _digit_templates() -> list[list[Template]]:
    top_loop_9 = _ellipse(0.5, 0.3, 0.26, 0.28, start=0.0)
    return [
        # 0: an upright oval (slant and aspect come from the jitter)
        [_t(_ellipse(0.5, 0.5, 0.3, 0.48)), _t(_ellipse(0.5, 0.5, 0.24, 0.48))],
        # 1: a bar; with a flag; with a flag and a base
        [_t(_line((0.5, 0.0), (0.5, 1.0))),
         _t(_line((0.3, 0.2), (0.53, 0.0), (0.53, 1.0))),
         _t(_line((0.3, 0.2), (0.53, 0.0), (0.53, 1.0)), _line((0.3, 1.0), (0.76, 1.0)))],
        # 2: hook, straight or curved neck, flat base
        [_t(_join(_arc(0.5, 0.29, 0.28, 0.27, 160, -30, 10), _line((0.2, 0.98), (0.82, 0.98)))),
         _t(_join(_arc(0.5, 0.29, 0.28, 0.27, 160, -20, 10),
                  _bez((0.763, 0.382), (0.7, 0.65), (0.35, 0.8), (0.18, 0.98)), _line((0.82, 0.98))))],
        # 3: two bowls; flat top and one bowl
        [_t(_arc(0.47, 0.27, 0.28, 0.25, 155, -90, 12), _arc(0.47, 0.735, 0.31, 0.265, 90, -155, 12)),
         _t(_join(_line((0.22, 0.02), (0.76, 0.02), (0.42, 0.42)), _arc(0.47, 0.7, 0.31, 0.28, 100, -150, 12)))],
        # 4: closed (triangle) and open tops
        [_t(_line((0.64, 1.0), (0.64, 0.0), (0.16, 0.66), (0.84, 0.66))),
         _t(_line((0.3, 0.0), (0.2, 0.62), (0.84, 0.62)), _line((0.64, 0.25), (0.64, 1.0)))],
        # 5: flag, back, bowl
        [_t(_join(_line((0.76, 0.02), (0.32, 0.02), (0.28, 0.45)), _arc(0.47, 0.69, 0.3, 0.29, 130, -145, 12)))],
        # 6: a falling curve into a bottom loop
        [_t(_join(_bez((0.7, 0.02), (0.42, 0.12), (0.2, 0.42), (0.22, 0.72)), _ellipse(0.49, 0.72, 0.27, 0.27, 180))),
         _t(_join(_line((0.62, 0.0), (0.26, 0.62)), _ellipse(0.49, 0.74, 0.26, 0.25, 150)))],
        # 7: plain; with a bar; with a curved stem
        [_t(_line((0.18, 0.02), (0.82, 0.02), (0.42, 1.0))),
         _t(_line((0.18, 0.02), (0.82, 0.02), (0.42, 1.0)), _line((0.34, 0.52), (0.74, 0.52))),
         _t(_join(_line((0.18, 0.02), (0.82, 0.02)), _bez((0.82, 0.02), (0.6, 0.35), (0.46, 0.65), (0.44, 1.0))))],
        # 8: two stacked loops
        [_t(_ellipse(0.5, 0.26, 0.22, 0.245), _ellipse(0.5, 0.745, 0.27, 0.255))],
        # 9: a top loop with a straight or curved stem
        [_t(top_loop_9, _line((0.76, 0.3), (0.72, 1.0))),
         _t(top_loop_9, _bez((0.76, 0.3), (0.77, 0.6), (0.7, 0.85), (0.5, 1.0)))],
    ]


def _shape_templates() -> list[list[Template]]:
    return [
        [_t(_ellipse(0.5, 0.5, 0.45, 0.45, n=24))],  # circle (outline)
        [_t(_ellipse(0.5, 0.5, 0.42, 0.42, n=24), filled=True)],  # disk
        [_t(_polygon([(0.08, 0.08), (0.92, 0.08), (0.92, 0.92), (0.08, 0.92)]))],  # square (outline)
        [_t(_polygon([(0.5, 0.04), (0.96, 0.9), (0.04, 0.9)]))],  # triangle (outline)
        [_t(_polygon([(0.5, 0.0), (0.84, 0.5), (0.5, 1.0), (0.16, 0.5)]), filled=True)],  # diamond
        [_t(_line((0.1, 0.1), (0.9, 0.9)), _line((0.9, 0.1), (0.1, 0.9)))],  # cross (x)
        [_t(_line((0.5, 0.04), (0.5, 0.96)), _line((0.04, 0.5), (0.96, 0.5)))],  # plus
        [_t(_ellipse(0.5, 0.5, 0.47, 0.47, n=24), _ellipse(0.5, 0.5, 0.26, 0.26, n=16), filled=True)],  # ring
        [_t(_star(0.5, 0.53, 0.5, 0.21), filled=True)],  # star
        [_t(_line((0.04, 0.5), (0.92, 0.5)), _line((0.6, 0.2), (0.94, 0.5), (0.6, 0.8)))],  # arrow (right)
    ]


@dataclass(frozen=True)
class _Jitter:
    rot_deg: float  # rotation: normal std, clipped at 2 std
    scale: tuple[float, float]  # uniform range
    aspect: tuple[float, float]  # x scale relative to y, uniform range
    shear: float  # uniform in +-shear (slant)
    shift: float  # translation in pixels: normal std, clipped at 2.5 std
    warp: float  # std of the quadratic warp coefficients
    width: tuple[float, float]  # stroke width in pixels, uniform range
    soft: tuple[float, float]  # anti-aliasing ramp in pixels, uniform range


_JITTER = {
    "digits": _Jitter(rot_deg=8.0, scale=(0.82, 1.06), aspect=(0.8, 1.15), shear=0.3, shift=0.9, warp=0.12,
                      width=(1.6, 3.4), soft=(0.8, 1.5)),
    "shapes": _Jitter(rot_deg=6.0, scale=(0.68, 1.0), aspect=(0.85, 1.15), shear=0.1, shift=1.0, warp=0.04,
                      width=(1.4, 3.0), soft=(0.8, 1.4)),
}
_TEMPLATES: dict[str, list[list[Template]]] = {}


def templates(name: str) -> list[list[Template]]:
    """The per-class template variants of a built-in dataset."""
    if name not in CLASS_NAMES:
        raise ValueError(f"unknown image dataset {name!r}; choose from {sorted(CLASS_NAMES)}")
    if name not in _TEMPLATES:
        _TEMPLATES[name] = _digit_templates() if name == "digits" else _shape_templates()
    return _TEMPLATES[name]


# ---------------------------------------------------------------------------------------------- rendering

def _pixel_grid() -> tuple[np.ndarray, np.ndarray]:
    ii, jj = np.meshgrid(np.arange(IMAGE_SIZE, dtype=np.float32), np.arange(IMAGE_SIZE, dtype=np.float32),
                         indexing="ij")
    return jj.reshape(1, -1), ii.reshape(1, -1)  # x (column), y (row) of every pixel centre, (1, 784)


def _transform(pts: np.ndarray, p: dict[str, np.ndarray]) -> np.ndarray:
    """Template points (S, 2) -> pixel coordinates (G, S, 2) with the per-image parameters p (each (G,))."""
    qx = pts[None, :, 0] - 0.5
    qy = pts[None, :, 1] - 0.5
    w = p["warp"]
    qx, qy = (qx + w[:, 0:1] * qy**2 + w[:, 1:2] * qx * qy, qy + w[:, 2:3] * qx**2 + w[:, 3:4] * qx * qy)
    qx = qx - p["shear"][:, None] * qy
    qx = qx * (BOX * p["scale"] * p["aspect"])[:, None]
    qy = qy * (BOX * p["scale"])[:, None]
    c, s = np.cos(p["rot"])[:, None], np.sin(p["rot"])[:, None]
    centre = (IMAGE_SIZE - 1) / 2.0
    x = centre + p["dx"][:, None] + c * qx - s * qy
    y = centre + p["dy"][:, None] + s * qx + c * qy
    return np.stack([x, y], axis=-1)


def _draw(a: np.ndarray, b: np.ndarray, filled: bool, half_width: np.ndarray, soft: np.ndarray) -> np.ndarray:
    """Ink in [0, 1], (G, 784) float32, for G images with segments a -> b, (G, S, 2) pixel coordinates."""
    px, py = _pixel_grid()
    g, s_count = a.shape[0], a.shape[1]
    a = a.astype(np.float32)
    d = b.astype(np.float32) - a
    inv_len2 = 1.0 / np.maximum((d**2).sum(-1), 1e-12)
    best = np.full((g, px.shape[1]), np.inf, dtype=np.float32)
    inside = np.zeros(best.shape, dtype=bool) if filled else None
    ex = np.empty_like(best)
    ey = np.empty_like(best)
    t = np.empty_like(best)
    for k in range(s_count):
        ax, ay = a[:, k, 0:1], a[:, k, 1:2]
        dx, dy = d[:, k, 0:1], d[:, k, 1:2]
        np.subtract(px, ax, out=ex)
        np.subtract(py, ay, out=ey)
        np.multiply(ex, dx, out=t)
        t += ey * dy
        t *= inv_len2[:, k:k + 1]
        np.clip(t, 0.0, 1.0, out=t)
        ex -= t * dx
        ey -= t * dy
        ex *= ex
        ey *= ey
        ex += ey
        np.minimum(best, ex, out=best)
        if inside is not None:  # even-odd rule: does a ray to +x from the pixel cross this segment?
            by = ay + dy
            crosses = (ay > py) != (by > py)
            safe_dy = np.where(dy == 0, 1.0, dy)
            x_cross = ax + (py - ay) * dx / safe_dy
            inside ^= crosses & (px < x_cross)
    dist = np.sqrt(best)
    if inside is not None:
        dist[inside] *= -1.0
    ink = (half_width[:, None] - dist) / soft[:, None] + 0.5
    return np.clip(ink, 0.0, 1.0, out=ink)


def _params(rng: np.random.Generator, n: int, j: _Jitter) -> dict[str, np.ndarray]:
    """Per-image jitter, drawn in a fixed order (part of the determinism contract: keep the order)."""
    rot = np.clip(rng.normal(0.0, j.rot_deg, n), -2 * j.rot_deg, 2 * j.rot_deg)
    return {
        "rot": np.radians(rot),
        "scale": rng.uniform(*j.scale, n),
        "aspect": rng.uniform(*j.aspect, n),
        "shear": rng.uniform(-j.shear, j.shear, n),
        "dx": np.clip(rng.normal(0.0, j.shift, n), -2.5 * j.shift, 2.5 * j.shift),
        "dy": np.clip(rng.normal(0.0, j.shift, n), -2.5 * j.shift, 2.5 * j.shift),
        "warp": rng.normal(0.0, j.warp, (n, 4)),
        "width": rng.uniform(*j.width, n),
        "soft": rng.uniform(*j.soft, n),
    }


def render(name: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n images of the built-in dataset name: uint8 (n, 28, 28) and int64 labels (n,), deterministic per
    (name, n, seed), exactly class-balanced, in a seeded shuffled order."""
    variants = templates(name)
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    k = len(variants)
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % k)[rng.permutation(n)].astype(np.int64)
    n_var = np.array([len(v) for v in variants])
    variant = np.floor(rng.random(n) * n_var[labels]).astype(np.int64)
    params = _params(rng, n, _JITTER[name])
    images = np.zeros((n, IMAGE_SIZE * IMAGE_SIZE), dtype=np.uint8)
    chunk = max(1, _CHUNK_PIXELS // (IMAGE_SIZE * IMAGE_SIZE))
    for cls in range(k):
        for v, template in enumerate(variants[cls]):
            idx = np.flatnonzero((labels == cls) & (variant == v))
            if len(idx) == 0:
                continue
            seg_a, seg_b = template.segments()
            for lo in range(0, len(idx), chunk):
                part = idx[lo:lo + chunk]
                p = {key: val[part] for key, val in params.items()}
                ink = _draw(_transform(seg_a, p), _transform(seg_b, p), template.filled, p["width"] / 2, p["soft"])
                images[part] = np.rint(ink * 255.0).astype(np.uint8)
    return images.reshape(n, IMAGE_SIZE, IMAGE_SIZE), labels


# ------------------------------------------------------------------------------------------------ caching

def _bank_path(name: str, n: int, seed: int) -> Path:
    return cache_dir() / f"bank-{name}-n{n}-seed{seed}-v{RENDER_VERSION}.npz"


def _valid_bank(arrays: dict[str, np.ndarray] | None, name: str, n: int) -> bool:
    if arrays is None:
        return False
    images, labels = arrays.get("images"), arrays.get("labels")
    version = arrays.get("render_version")
    return (images is not None and labels is not None and version is not None
            and images.dtype == np.uint8 and images.shape == (n, IMAGE_SIZE, IMAGE_SIZE)
            and labels.dtype == np.int64 and labels.shape == (n,)
            and version.shape == () and int(version) == RENDER_VERSION
            and (n == 0 or (int(labels.min()) >= 0 and int(labels.max()) < len(CLASS_NAMES[name]))))


def bank(name: str, n: int = 10000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """render(name, n, seed), cached on disk as .npz keyed by (name, n, seed, RENDER_VERSION).

    A missing, corrupt or mismatching cache file is re-rendered and rewritten; a cache folder that
    cannot be written only costs the rendering time."""
    templates(name)  # validates the name before it reaches a file name
    n, seed = int(n), int(seed)
    path = _bank_path(name, n, seed)
    arrays = load_arrays(path)
    if _valid_bank(arrays, name, n):
        return arrays["images"], arrays["labels"]
    if arrays is not None:
        log.info("rebuilding invalid image cache %s", path)
    images, labels = render(name, n, seed)
    save_arrays(path, images=images, labels=labels, render_version=np.array(RENDER_VERSION, dtype=np.int64))
    return images, labels


def ink_fraction(images: np.ndarray) -> np.ndarray:
    """Mean ink per image in [0, 1] (a blank image is 0); float64 (n,)."""
    return np.asarray(images, dtype=np.float64).reshape(len(images), -1).mean(axis=1) / 255.0


def _grid(images: np.ndarray, cols: int) -> np.ndarray:
    """Tile images (n, h, w) into one array, rows of `cols` images, with a 1-pixel gray gutter."""
    n, h, w = images.shape
    rows = math.ceil(n / cols)
    out = np.full((rows * (h + 1) + 1, cols * (w + 1) + 1), 64, dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        out[1 + r * (h + 1):1 + r * (h + 1) + h, 1 + c * (w + 1):1 + c * (w + 1) + w] = images[i]
    return out


def contact_sheet(name: str, per_class: int = 12, seed: int = 0) -> np.ndarray:
    """A uint8 grid image: one row per class, per_class samples each (for eyeballing the templates)."""
    k = len(CLASS_NAMES[name])
    images, labels = render(name, k * per_class, seed)
    order = np.argsort(labels, kind="stable")
    return _grid(images[order], per_class)
