"""An append-only (x, y) buffer for live time series, with flat memory over arbitrarily long runs."""

from __future__ import annotations

import numpy as np


def _minmax_pairs(xb: np.ndarray, yb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bins (k, c) -> 2k points: each bin's min and max, in x order; an all-NaN bin -> a NaN gap."""
    k = xb.shape[0]
    finite = np.isfinite(yb)
    any_finite = finite.any(axis=1)
    imin = np.argmin(np.where(finite, yb, np.inf), axis=1)
    imax = np.argmax(np.where(finite, yb, -np.inf), axis=1)
    first = np.minimum(imin, imax)
    second = np.maximum(imin, imax)
    rows = np.arange(k)
    out_x = np.empty((k, 2))
    out_y = np.empty((k, 2))
    out_x[:, 0] = xb[rows, first]
    out_x[:, 1] = xb[rows, second]
    out_y[:, 0] = yb[rows, first]
    out_y[:, 1] = yb[rows, second]
    gap = ~any_finite
    out_x[gap, 0] = xb[gap, 0]
    out_x[gap, 1] = xb[gap, -1]
    out_y[gap] = np.nan
    return out_x.ravel(), out_y.ravel()


class Series:
    """Append-only (x, y) float64 buffer with amortised growth, a cap, and uniform peak-preserving decimation.

    Appends are amortised O(1) (capacity doubles). When more than `cap` points are held, the buffer is
    decimated in place: bins of 4 stored points keep only their minimum and maximum (in x order), halving
    the length, and the decimation level goes up by one. Points appended afterwards are reduced the same way
    as they arrive (each completed chunk of 2**(level + 1) raw points becomes its min and max; the newest
    partial chunk is kept raw so the curve reaches the latest step), so the whole run has one uniform
    resolution: step 1 is not coarser than step 100 000.

    Peak-preserving: the global min and max (and every spike that was ever visible) survive any number of
    decimations, so a divergence spike at step 3 is still drawn at step 300 000. NaN values are gaps: a bin
    that is all NaN keeps a NaN (a plotted gap stays a gap); NaNs in a bin with finite values are ignored.
    x must be non-decreasing. Length stays <= cap while the raw chunk (2**(level + 1)) is below cap / 2,
    i.e. for runs up to about cap**2 / 8 points (5e7 at the default cap).
    """

    def __init__(self, cap: int = 20_000, initial_capacity: int = 1024) -> None:
        if cap < 16:
            raise ValueError("cap must be >= 16")
        self.cap = int(cap)
        self._x = np.empty(max(initial_capacity, 4), dtype=np.float64)
        self._y = np.empty(max(initial_capacity, 4), dtype=np.float64)
        self._n = 0  # points held
        self._d = 0  # points already at the current decimation level; [d, n) is the raw tail
        self._last_x: float | None = None
        self.level = 0  # decimations so far

    def __len__(self) -> int:
        return self._n

    @property
    def decimations(self) -> int:
        return self.level

    @property
    def x(self) -> np.ndarray:
        """View of the held x values (do not keep across appends)."""
        return self._x[: self._n]

    @property
    def y(self) -> np.ndarray:
        """View of the held y values (do not keep across appends)."""
        return self._y[: self._n]

    @property
    def last_x(self) -> float | None:
        """x of the last appended point (whether or not decimation kept it)."""
        return self._last_x

    def has_finite(self) -> bool:
        """True when at least one held y value is finite (something to draw)."""
        return bool(self._n) and bool(np.isfinite(self._y[: self._n]).any())

    def clear(self) -> None:
        self._n = 0
        self._d = 0
        self._last_x = None
        self.level = 0

    def cut_after(self, x: float) -> tuple[np.ndarray, np.ndarray]:
        """Drop the points after x and return them (copies): a branch from step x (issue 18.5) keeps the curve
        up to x; the old line's rest is drawn dimmed (ganviz.qt.timeline_ghosts) and the branch appends anew."""
        i = int(np.searchsorted(self._x[: self._n], x, side="right"))
        cut = self._x[i : self._n].copy(), self._y[i : self._n].copy()
        self._n = i
        self._d = min(self._d, i)
        self._last_x = float(self._x[i - 1]) if i else None
        return cut

    def append_after(self, x: float, y: float) -> bool:
        """Append one point if x is past the last one (a panel fed the same metrics twice); True if appended."""
        if self._last_x is not None and not x > self._last_x:
            return False
        self.append(x, y)
        return True

    def append(self, x: float | np.ndarray, y: float | np.ndarray) -> None:
        """Append one point or equal-length arrays of points."""
        xa = np.atleast_1d(np.asarray(x, dtype=np.float64))
        ya = np.atleast_1d(np.asarray(y, dtype=np.float64))
        if xa.shape != ya.shape or xa.ndim != 1:
            raise ValueError(f"x and y must be equal-length 1D, got {xa.shape} and {ya.shape}")
        m = xa.size
        if m == 0:
            return
        need = self._n + m
        if need > self._x.size:
            new_cap = max(need, 2 * self._x.size)
            self._x = np.resize(self._x, new_cap)
            self._y = np.resize(self._y, new_cap)
        self._x[self._n : need] = xa
        self._y[self._n : need] = ya
        self._n = need
        self._last_x = float(xa[-1])
        self._compact_tail()
        while self._n > self.cap and self._d >= 8:
            self._decimate()
            self._compact_tail()
        if self._x.size > 4 * self.cap and self._n <= 2 * self.cap:  # a huge append grew it: give memory back
            self._x = self._x[: 2 * self.cap].copy()
            self._y = self._y[: 2 * self.cap].copy()

    def _compact_tail(self) -> None:
        """Reduce complete raw chunks of the tail to their min and max."""
        if self.level == 0:
            self._d = self._n
            return
        c = 2 ** (self.level + 1)
        t = self._n - self._d
        k = t // c
        if k == 0:
            return
        d = self._d
        xs, ys = _minmax_pairs(self._x[d : d + k * c].reshape(k, c), self._y[d : d + k * c].reshape(k, c))
        rest_x = self._x[d + k * c : self._n].copy()
        rest_y = self._y[d + k * c : self._n].copy()
        self._x[d : d + 2 * k] = xs
        self._y[d : d + 2 * k] = ys
        self._d = d + 2 * k
        self._x[self._d : self._d + rest_x.size] = rest_x
        self._y[self._d : self._d + rest_y.size] = rest_y
        self._n = self._d + rest_x.size

    def _decimate(self) -> None:
        """Halve the decimated part [0, d): bins of 4 -> min and max. The raw tail moves down after it."""
        d, n = self._d, self._n
        nb = d // 4
        xs, ys = _minmax_pairs(self._x[: 4 * nb].reshape(nb, 4), self._y[: 4 * nb].reshape(nb, 4))
        keep_x = self._x[4 * nb : n].copy()  # leftover (< 4) decimated points, then the raw tail
        keep_y = self._y[4 * nb : n].copy()
        self._x[: 2 * nb] = xs
        self._y[: 2 * nb] = ys
        self._x[2 * nb : 2 * nb + keep_x.size] = keep_x
        self._y[2 * nb : 2 * nb + keep_y.size] = keep_y
        self._d = 2 * nb + (d - 4 * nb)
        self._n = 2 * nb + keep_x.size
        self.level += 1
