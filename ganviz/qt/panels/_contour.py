"""Vectorised marching squares: one iso-level of a gridded field as line segments (for connect='pairs').

pyqtgraph's IsocurveItem walks the grid in Python (tens of ms at 128x128); this is a few numpy passes.
"""

from __future__ import annotations

import numpy as np


def contour_segments(values: np.ndarray, level: float, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Segments of the `level` iso-line of values[iy, ix] sampled at (xs[ix], ys[iy]).

    Returns an array (2 * n_segments, 2) of (x, y) endpoints, consecutive rows forming one segment.
    Cells touching a NaN are skipped. Saddle cells are resolved by the cell-centre mean.
    """
    v = np.asarray(values, dtype=np.float64)
    xs = np.asarray(xs, dtype=np.float64)
    ys = np.asarray(ys, dtype=np.float64)
    if v.ndim != 2 or v.shape[0] < 2 or v.shape[1] < 2 or not np.isfinite(level):
        return np.empty((0, 2))
    a = v - level
    above = a >= 0
    v00, v01, v11, v10 = a[:-1, :-1], a[:-1, 1:], a[1:, 1:], a[1:, :-1]  # bl, br, tr, tl
    b00, b01, b11, b10 = above[:-1, :-1], above[:-1, 1:], above[1:, 1:], above[1:, :-1]
    valid = np.isfinite(v00) & np.isfinite(v01) & np.isfinite(v11) & np.isfinite(v10)

    x0, x1 = xs[None, :-1], xs[None, 1:]
    y0, y1 = ys[:-1, None], ys[1:, None]

    def frac(p: np.ndarray, q: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            t = p / (p - q)
        return np.clip(np.nan_to_num(t, nan=0.5), 0.0, 1.0)

    shape = v00.shape
    # Edge crossing points, edges ordered bottom, right, top, left.
    px = np.empty((4, *shape))
    py = np.empty((4, *shape))
    t = frac(v00, v01)
    px[0], py[0] = x0 + t * (x1 - x0), np.broadcast_to(y0, shape)
    t = frac(v01, v11)
    px[1], py[1] = np.broadcast_to(x1, shape), y0 + t * (y1 - y0)
    t = frac(v10, v11)
    px[2], py[2] = x0 + t * (x1 - x0), np.broadcast_to(y1, shape)
    t = frac(v00, v10)
    px[3], py[3] = np.broadcast_to(x0, shape), y0 + t * (y1 - y0)
    crossed = np.stack([b00 != b01, b01 != b11, b10 != b11, b00 != b10]) & valid[None]
    n_cross = crossed.sum(axis=0)

    out = []
    # Two crossed edges: one segment between them.
    iy, ix = np.nonzero(n_cross == 2)
    if iy.size:
        c = crossed[:, iy, ix]
        e1 = np.argmax(c, axis=0)
        e2 = 3 - np.argmax(c[::-1], axis=0)
        out.append(_pairs(px, py, iy, ix, e1, e2))
    # Saddles: four crossed edges, two segments; the centre decides which corners are joined.
    iy, ix = np.nonzero(n_cross == 4)
    if iy.size:
        centre_above = (v00[iy, ix] + v01[iy, ix] + v11[iy, ix] + v10[iy, ix]) >= 0
        joined = centre_above == b00[iy, ix]  # bl and tr connected through the centre
        # joined: cut off br (bottom-right) and tl (top-left); else cut off bl (left-bottom) and tr (right-top)
        e_a1 = np.where(joined, 0, 3)
        e_a2 = np.where(joined, 1, 0)
        e_b1 = np.where(joined, 2, 1)
        e_b2 = np.where(joined, 3, 2)
        out.append(_pairs(px, py, iy, ix, e_a1, e_a2))
        out.append(_pairs(px, py, iy, ix, e_b1, e_b2))
    if not out:
        return np.empty((0, 2))
    return np.concatenate(out, axis=0)


def _pairs(
    px: np.ndarray, py: np.ndarray, iy: np.ndarray, ix: np.ndarray, e1: np.ndarray, e2: np.ndarray
) -> np.ndarray:
    seg = np.empty((iy.size, 2, 2))
    seg[:, 0, 0] = px[e1, iy, ix]
    seg[:, 0, 1] = py[e1, iy, ix]
    seg[:, 1, 0] = px[e2, iy, ix]
    seg[:, 1, 1] = py[e2, iy, ix]
    return seg.reshape(-1, 2)
