"""Your own data: points (1D or 2D) or an edited Gaussian mixture, as a dataset the trainer can use.

A user dataset travels *inside the config*, so the trainer's child process (started with spawn, which
shares nothing with the window) can rebuild it:

    cfg = user_config(TrainConfig(), load_points("my.csv"), label="my")
    cfg.data          # "user:my@1f3a9c2e"  (label @ 8 hex digits of a hash of the rows)
    cfg.data_points   # ((x, y), (x, y), ...)  a tuple of float tuples

Validating such a config (`TrainConfig.validate`, which every Trainer runs) checks the name against the rows
and registers nothing: whoever builds the dataset passes the rows along (`distribution_for(cfg)`,
`dataset_info(cfg.data, cfg.data_points)` in ganviz.core.distributions), in whichever process. Names are
content-addressed: the hash is of the rows, so one name always means one data set (caches keyed by name
never go stale) and a config whose rows do not match its name is refused.

Two kinds of rows, told apart by their width:

- points, (x,) or (x, y): 2..20000 points. Training samples are your points (drawn uniformly, with
  replacement); the density p_data that the views and metrics need (D*, true JSD, the 1D p_data curve) is
  the **Gaussian kernel density estimate** (KDE) of the points with **Scott's bandwidth**: kernel
  covariance = n^(-2/(d+4)) Cov(points), scipy.stats.gaussian_kde's default (`KDEPoints`). It is an
  estimate (density_is_exact False): Scott's rule smooths curved or multi-modal shapes, so D* drawn from it
  is smoother than the point set it stands for.
- mixture components, (m, s, w) or (mx, my, s, w): 1..64 isotropic Gaussians with one common std s > 0 and
  weights w > 0; p_data is the mixture's exact density (a `GaussianMixture`, so mode metrics work too).

Point coordinates are rounded to 7 significant digits when rows are built (`points_rows`), which keeps scene
files small; mixtures keep full precision. No Qt here.
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from .distributions import (
    DATASETS,
    LOG_2PI,
    DatasetInfo,
    Distribution,
    GaussianMixture,
    _logsumexp_rows,
    _square_view,
)
from .lazy import lazy_import
from .pointfiles import MAX_POINTS, PointsError, read_csv
from .safeio import FileRefused, open_regular

torch = lazy_import("torch")  # imported on first use: the window shows before torch loads

MIN_POINTS = 2
MAX_COMPONENTS = 64
MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_COORD = 1e6  # |coordinate|, |mean| and std at most this (beyond it the KDE covariance overflows float64)
MIN_SPREAD = 1e-6  # points span at least this on some axis; a mixture std is at least this (no underflow)
MAX_WEIGHT = 1e6  # mixture weights (they are normalised; a larger sum could overflow)
USER_PREFIX = "user:"
USER_NAME_RE = re.compile(r"^user:([A-Za-z0-9_.\-]{1,40})(?:@([0-9a-f]{8}))?$")
_CHUNK_ELEMENTS = 1 << 22
EIGEN_FLOOR = 1e-4  # data covariance eigenvalues are floored at this fraction of the largest (see KDEPoints)


def _config_error(message: str) -> Exception:
    from .config import ConfigError  # config imports this module lazily; import back lazily too

    return ConfigError(message)


# ------------------------------------------------------------------------------------------ distributions

class KDEPoints(Distribution):
    """User points: samples are the points themselves; the density is their Gaussian KDE (Scott bandwidth).

    `sample` draws points uniformly with replacement (the empirical distribution: what you drew is what
    the GAN trains on). `log_prob` is the Gaussian kernel density estimate with Scott's rule, kernel
    covariance H = n^(-2/(d+4)) * Cov(points) (unbiased covariance, as scipy.stats.gaussian_kde). A point set
    that is (nearly) degenerate — all on a line in 2D, say — has its covariance eigenvalues floored at
    EIGEN_FLOOR times the largest (1% of the largest standard deviation), so the density exists; for any
    other point set log_prob equals scipy.stats.gaussian_kde(points.T).logpdf exactly.

    The density is an estimate (density_is_exact False): a point set has no density of its own, and Scott's
    rule smooths curved or multi-modal shapes.
    """

    density_is_exact = False

    def __init__(self, name: str, points: np.ndarray, description: str = "") -> None:
        pts = np.array(points, dtype=np.float64)  # a writable copy (torch tensors are made from it)
        if pts.ndim == 1:
            pts = pts[:, None]
        if pts.ndim != 2 or pts.shape[1] not in (1, 2) or not MIN_POINTS <= len(pts) <= MAX_POINTS:
            raise ValueError(f"points must be an (n, 1) or (n, 2) array with {MIN_POINTS}..{MAX_POINTS} rows, "
                             f"got shape {pts.shape}")
        if not np.isfinite(pts).all():
            raise ValueError("points must be finite")
        n, d = pts.shape
        self.name = name
        self.dim = d
        self.points = pts
        self.description = description
        self.bandwidth_factor = n ** (-1.0 / (d + 4))  # Scott's rule
        cov = np.atleast_2d(np.cov(pts.T))
        evals, evecs = np.linalg.eigh(cov)
        if not evals.max() > 0:
            raise ValueError("all points are the same; a density needs at least two different points")
        evals = np.maximum(evals, EIGEN_FLOOR * evals.max())
        self.data_cov = (evecs * evals) @ evecs.T
        self.kernel_cov = self.bandwidth_factor ** 2 * self.data_cov
        self.chol = np.linalg.cholesky(self.kernel_cov)  # H = L L^T
        inv_chol = np.linalg.inv(self.chol)
        white = pts @ inv_chol.T  # points in whitened coordinates: the kernel is N(0, I) there
        self._inv_chol_t = inv_chol.T.copy()
        # -|y - p|^2 / 2 = -|y|^2 / 2 + [y, 1] . [p, -|p|^2 / 2]: one matrix product per chunk
        self._aug = np.concatenate([white, -0.5 * (white ** 2).sum(1, keepdims=True)], axis=1).T.copy()
        self._log_norm = -0.5 * d * LOG_2PI - float(np.log(np.diag(self.chol)).sum()) - math.log(n)
        self._torch: dict[str, torch.Tensor] = {}
        self._cache: tuple[bytes, np.ndarray] | None = None

    def sample(self, n: int, gen: torch.Generator, device: torch.device | str = "cpu") -> torch.Tensor:
        key = str(device)
        if key not in self._torch:
            self._torch[key] = torch.as_tensor(self.points, dtype=torch.float32, device=device)
        pts = self._torch[key]
        idx = torch.randint(0, len(self.points), (n,), generator=gen, device=device)
        return pts[idx]

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(-1, self.dim)
        key = x.tobytes() if x.size <= 65536 else None
        cached = self._cache
        if key is not None and cached is not None and cached[0] == key:
            return cached[1].copy()  # views ask for the same grid every frame
        y = x @ self._inv_chol_t
        out = np.empty(len(y))
        step = max(1, _CHUNK_ELEMENTS // self._aug.shape[1])
        for a in range(0, len(y), step):
            yc = y[a:a + step]
            expo = yc @ self._aug[:-1] + self._aug[-1]
            out[a:a + step] = _logsumexp_rows(expo) - 0.5 * (yc ** 2).sum(1)
        out += self._log_norm
        if key is not None:
            self._cache = (key, out.copy())
        return out

    @property
    def bounds(self) -> tuple[float, ...]:
        k_std = np.sqrt(np.diag(self.kernel_cov))
        lo, hi = self.points.min(axis=0), self.points.max(axis=0)
        pad = 3.0 * k_std + 0.1 * (hi - lo).max() + 0.1
        if self.dim == 1:
            return (float(lo[0] - pad[0]), float(hi[0] + pad[0]))
        return _square_view(lo - pad, hi + pad)


# ------------------------------------------------------------------------------------------ rows

class Rows(tuple):
    """data_points as built here: a plain tuple of float tuples that also remembers its float64 array, hash
    and validation, and pickles as raw bytes (the config rides along with every snapshot between processes:
    20000 points unpickle in ~0.2 ms this way instead of ~12 ms as Python floats). Equal to the plain tuple.
    """

    def __new__(cls, rows: Any) -> Rows:
        return super().__new__(cls, rows)

    def array(self) -> np.ndarray:
        arr = self.__dict__.get("_array")
        if arr is None:
            arr = _as_array(tuple(self))
            arr.setflags(write=False)
            self.__dict__["_array"] = arr
        return arr

    def __reduce__(self) -> tuple:
        arr = np.ascontiguousarray(self.array(), dtype="<f8")
        return (_rows_from_bytes, (arr.tobytes(), arr.shape))


_UNPICKLED: dict[bytes, Rows] = {}


def _rows_from_bytes(buf: bytes, shape: tuple[int, ...]) -> Rows:
    """Unpickle Rows; the same bytes give the same object again (snapshots repeat the config many times)."""
    key = hashlib.sha1(buf).digest() + repr(tuple(shape)).encode()
    rows = _UNPICKLED.get(key)
    if rows is None:
        arr = np.frombuffer(buf, dtype="<f8").reshape(shape).astype(np.float64)
        rows = Rows(tuple(map(tuple, arr.tolist())))
        arr.setflags(write=False)
        rows.__dict__["_array"] = arr
        if len(_UNPICKLED) >= 8:
            _UNPICKLED.clear()
        _UNPICKLED[key] = rows
    return rows


def _as_array(value: Any, what: str = "data_points") -> np.ndarray:
    """Rows as a float64 (n, w) array; ConfigError for ragged rows or non-numbers (bools included)."""
    if isinstance(value, Rows) and "_array" in value.__dict__:
        return value.__dict__["_array"]
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "fiu":
            raise _config_error(f"{what}: numbers only, got an array of dtype {value.dtype}")
        arr = value.astype(np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
    else:
        if not isinstance(value, (tuple, list)):
            raise _config_error(f"{what} must be a tuple of rows, got {type(value).__name__}")
        for i, row in enumerate(value):
            if not isinstance(row, (tuple, list)):
                raise _config_error(f"{what}: row {i + 1} is {type(row).__name__}, not a tuple of numbers")
            for v in row:
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise _config_error(f"{what}: row {i + 1} holds {v!r}, not a number")
        widths = {len(row) for row in value}
        if len(widths) > 1:
            raise _config_error(f"{what}: rows have different lengths ({', '.join(map(str, sorted(widths)))})")
        arr = np.array(value, dtype=np.float64).reshape(len(value), -1 if value else 0)
    if arr.ndim != 2:
        raise _config_error(f"{what}: expected rows of numbers, got an array of shape {arr.shape}")
    return arr


def rows_kind(arr: np.ndarray) -> tuple[str, int]:
    """('points' | 'mixture' | 'none', dim) from the row width: 1-2 points, 3-4 mixture components."""
    if arr.shape[0] == 0:
        return "none", 0
    width = arr.shape[1]
    if width in (1, 2):
        return "points", width
    if width in (3, 4):
        return "mixture", width - 2
    return "bad", 0


_checked: list[tuple[Any, tuple[str, int]]] = []  # the last few validated row tuples (by identity)


def check_rows(value: Any, what: str = "data_points") -> tuple[str, int]:
    """Validate data_points; return (kind, dim). Raises ConfigError naming the problem."""
    if isinstance(value, Rows) and "_kind" in value.__dict__:
        return value.__dict__["_kind"]
    for seen, result in _checked:
        if seen is value:
            return result
    if not isinstance(value, tuple) or any(not isinstance(r, tuple) for r in value):
        raise _config_error(f"{what} must be a tuple of tuples of numbers (build it with "
                            f"ganviz.core.userdata.points_rows or mixture_rows), got {type(value).__name__}")
    arr = _as_array(value, what)
    if isinstance(value, Rows):
        arr.setflags(write=False)
        value.__dict__["_array"] = arr
    kind, dim = rows_kind(arr)
    if kind == "bad":
        raise _config_error(f"{what}: rows of {arr.shape[1]} numbers; use (x), (x, y) for points or "
                            "(m, s, w), (mx, my, s, w) for mixture components")
    if kind == "none":
        result = (kind, dim)
    else:
        bad = ~np.isfinite(arr).all(axis=1)
        if bad.any():
            raise _config_error(f"{what}: row {int(np.argmax(bad)) + 1} is not finite (NaN or Inf)")
        if kind == "points":
            if not MIN_POINTS <= len(arr) <= MAX_POINTS:
                raise _config_error(f"{what}: {len(arr)} points; a user dataset has {MIN_POINTS}..{MAX_POINTS}")
            if not (arr.max(axis=0) > arr.min(axis=0)).any():
                raise _config_error(f"{what}: all points are the same; need at least two different points")
            _check_scale(arr, arr, what, "point")
        else:
            if not 1 <= len(arr) <= MAX_COMPONENTS:
                raise _config_error(f"{what}: {len(arr)} mixture components; allowed 1..{MAX_COMPONENTS}")
            stds, weights = arr[:, -2], arr[:, -1]
            if not (stds > 0).all() or not np.all(stds == stds[0]):
                raise _config_error(f"{what}: mixture components need one common std s > 0, got "
                                    f"{', '.join(f'{s:g}' for s in np.unique(stds))}")
            if not (weights > 0).all():
                raise _config_error(f"{what}: mixture weights must be > 0")
            if not MIN_SPREAD <= stds[0] <= MAX_COORD or weights.max() > MAX_WEIGHT:
                raise _config_error(f"{what}: the mixture std must be in [{MIN_SPREAD:g}, {MAX_COORD:g}] and the "
                                    f"weights at most {MAX_WEIGHT:g}")
            _check_scale(arr[:, :-2], None, what, "mean")
        result = (kind, dim)
    if isinstance(value, Rows):
        value.__dict__["_kind"] = result
    else:
        _checked.append((value, result))
        del _checked[:-4]
    return result


def _check_scale(coords: np.ndarray, points: np.ndarray | None, what: str, item: str) -> None:
    """Coordinates within +-MAX_COORD; points spread over at least MIN_SPREAD (else their KDE overflows or
    underflows float64 and the dataset cannot be built)."""
    big = (np.abs(coords) > MAX_COORD).any(axis=1)
    if big.any():
        raise _config_error(f"{what}: row {int(np.argmax(big)) + 1} has a {item} coordinate beyond "
                            f"+-{MAX_COORD:g}; rescale the data")
    if points is not None and not (points.max(axis=0) - points.min(axis=0)).max() >= MIN_SPREAD:
        raise _config_error(f"{what}: the points span less than {MIN_SPREAD:g}; rescale the data")


def normalize_rows(value: Any, what: str = "data_points") -> tuple[tuple[float, ...], ...]:
    """Rows from lists (TOML), tuples or arrays as the config's tuple of float tuples (then validated)."""
    if isinstance(value, Rows):
        check_rows(value, what)
        return value
    arr = _as_array(value, what)
    rows = Rows(tuple(map(tuple, arr.tolist())))
    check_rows(rows, what)
    return rows


def _sig7(a: np.ndarray) -> np.ndarray:
    """Round to 7 significant digits (about float32 precision), elementwise."""
    a = np.asarray(a, dtype=np.float64)
    with np.errstate(divide="ignore"):
        mag = np.floor(np.log10(np.abs(a)))
    mag = np.where(np.isfinite(mag), mag, 0.0)
    scale = 10.0 ** (6 - mag)
    return np.round(a * scale) / scale


def points_rows(points: Any) -> tuple[tuple[float, ...], ...]:
    """Config rows for a point set: an (n,), (n, 1) or (n, 2) array; coordinates to 7 significant digits."""
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] not in (1, 2):
        raise _config_error(f"points must have shape (n,), (n, 1) or (n, 2), got {arr.shape}")
    rows = Rows(tuple(tuple(float(f"{v:.7g}") for v in row) for row in _sig7(arr)))
    check_rows(rows)
    return rows


def mixture_rows(means: Any, std: float, weights: Any = None) -> tuple[tuple[float, ...], ...]:
    """Config rows for a Gaussian mixture: means (K,) / (K, 1) / (K, 2), one common std, weights (default equal)."""
    m = np.asarray(means, dtype=np.float64)
    if m.ndim == 1:
        m = m[:, None]
    if m.ndim != 2 or m.shape[1] not in (1, 2):
        raise _config_error(f"mixture means must have shape (K,), (K, 1) or (K, 2), got {m.shape}")
    k = len(m)
    w = np.full(k, 1.0 / max(k, 1)) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape != (k,):
        raise _config_error(f"mixture weights must be {k} numbers, got shape {w.shape}")
    rows = Rows(tuple(tuple(float(v) for v in (*m[i], std, w[i])) for i in range(k)))
    check_rows(rows)
    return rows


# ------------------------------------------------------------------------------------------ names, registry

def rows_hash(rows: tuple) -> str:
    """8 hex digits of a SHA-256 of the rows (as little-endian float64 with their shape)."""
    if isinstance(rows, Rows) and "_hash" in rows.__dict__:
        return rows.__dict__["_hash"]
    arr = np.ascontiguousarray(_as_array(rows), dtype="<f8")
    digest = hashlib.sha256(f"{arr.shape}".encode() + arr.tobytes()).hexdigest()[:8]
    if isinstance(rows, Rows):
        rows.__dict__["_hash"] = digest
    return digest


def clean_label(label: str) -> str:
    """A label usable in a dataset name: letters, digits, '_', '.', '-' (others become '-'), 1..40 chars."""
    text = re.sub(r"[^A-Za-z0-9_.\-]+", "-", str(label)).strip("-")[:40]
    return text or "data"


def user_name(label: str, rows: tuple) -> str:
    """The dataset name for rows: user:<label>@<hash of the rows>."""
    return f"{USER_PREFIX}{clean_label(label)}@{rows_hash(rows)}"


def is_user_name(name: Any) -> bool:
    return isinstance(name, str) and bool(USER_NAME_RE.match(name))


def complete_user_name(name: str, rows: tuple) -> str:
    """'user:label' (as a scene author writes it) or a stale 'user:label@hash' -> the name for these rows."""
    m = USER_NAME_RE.match(name)
    if not m:
        raise _config_error(f"data={name!r}: a user dataset is named user:<label> (letters, digits, _ . -)")
    return user_name(m.group(1), rows)


def _describe(kind: str, arr: np.ndarray, dim: int) -> str:
    if kind == "points":
        return f"your {len(arr)} points ({dim}D); density: Gaussian KDE estimate, Scott bandwidth"
    return (f"your Gaussian mixture: {len(arr)} component{'s' if len(arr) != 1 else ''} ({dim}D), "
            f"std {arr[0, -2]:g}; exact density")


def build_distribution(name: str, rows: tuple) -> Distribution:
    """The Distribution for user rows (KDEPoints or GaussianMixture)."""
    kind, dim = check_rows(rows)
    arr = _as_array(rows)
    desc = _describe(kind, arr, dim)
    if kind == "points":
        return KDEPoints(name, arr, description=desc)
    if kind == "mixture":
        return GaussianMixture(name, np.array(arr[:, :dim]), float(arr[0, -2]), weights=np.array(arr[:, -1]),
                               description=desc)
    raise _config_error(f"data={name!r} needs its rows in data_points (it is empty)")


def check_user_data(name: str, rows: tuple) -> tuple[str, int]:
    """Check that name is a user dataset name that matches rows (label @ their hash) and that rows hold data;
    return (kind, dim). Registers nothing: `TrainConfig.validate` uses it."""
    m = USER_NAME_RE.match(name) if isinstance(name, str) else None
    if not m:
        raise _config_error(f"data={name!r} is not a user dataset name (user:<label>@<hash>)")
    kind, dim = check_rows(rows)
    if kind == "none":
        raise _config_error(f"data={name!r} is user data, but data_points is empty: the points travel in "
                            "data_points (build the config with ganviz.core.userdata.user_config)")
    expected = rows_hash(rows)
    if m.group(2) != expected:
        raise _config_error(f"data={name!r} does not match data_points (their hash is {expected}); build "
                            "the name with ganviz.core.userdata.user_name or user_config")
    return kind, dim


def user_dataset_info(name: str, rows: tuple) -> DatasetInfo:
    """The DatasetInfo of the user dataset that rows hold (checked against name), registered nowhere.
    `ganviz.core.distributions.dataset_info(cfg.data, cfg.data_points)` comes here for user data."""
    kind, dim = check_user_data(name, rows)
    return DatasetInfo(name, dim, _describe(kind, _as_array(rows), dim),
                       lambda name=name, rows=rows: build_distribution(name, rows))


def ensure_registered(name: str, rows: tuple) -> None:
    """Check that name matches rows and register the dataset in this process's DATASETS (idempotent), so that
    it can be looked up by name alone. Only the explicit register_user_* calls do this; validation does not."""
    info = DATASETS.get(name)
    if info is None or info.dim != check_user_data(name, rows)[1]:
        DATASETS[name] = user_dataset_info(name, rows)


def register_user_dataset(points: Any, label: str = "data") -> str:
    """Register a point set (KDE density, Scott bandwidth) in this process; return its dataset name.

    A config that uses it also needs the rows: prefer `user_config`, which sets both data and data_points.
    """
    rows = points_rows(points)
    name = user_name(label, rows)
    ensure_registered(name, rows)
    return name


def register_user_mixture(means: Any, std: float, weights: Any = None, label: str = "mixture") -> str:
    """Register a Gaussian mixture (exact density) in this process; return its dataset name."""
    rows = mixture_rows(means, std, weights)
    name = user_name(label, rows)
    ensure_registered(name, rows)
    return name


def user_config(base: Any, rows: tuple, label: str = "data") -> Any:
    """base (a TrainConfig) switched to the user dataset given by rows (see points_rows / mixture_rows)."""
    rows = normalize_rows(rows)
    return base.replace(data=user_name(label, rows), data_points=rows)


def unregister_user_datasets() -> None:
    """Forget every user dataset registered in this process (tests)."""
    for name in [n for n in DATASETS if n.startswith(USER_PREFIX)]:
        del DATASETS[name]


# ------------------------------------------------------------------------------------------ files

def load_points(path: str | Path, columns: Any = None, notes: list[str] | None = None) -> np.ndarray:
    """Points from a CSV/text file or a .npy array, as a float64 (n, 1) or (n, 2) array.

    CSV: one point per line; delimiter, quoting, decimal commas, a header line (names with units too) and a
    pandas index column are recognised (ganviz.core.pointfiles); `columns` picks columns by header name or
    number from 1 ("x,y", "2,3"); what was assumed is appended to `notes`. .npy: a numeric array of shape
    (n,), (n, 1) or (n, 2), loaded with allow_pickle=False (a file of Python objects is refused).
    Every problem raises PointsError naming the file and the line and column (CSV) or the row / shape /
    dtype (.npy).
    """
    p = Path(path)
    if p.suffix.lower() not in (".npy", ".csv", ".txt", ".tsv", ".dat", ""):
        raise PointsError(f"{p.name}: unsupported file type {p.suffix!r}; use .csv (or .txt) or .npy")
    try:
        with open_regular(p, MAX_FILE_BYTES) as fh:  # a folder, device or FIFO is refused, never read
            head = fh.read(6) if p.suffix.lower() == ".npy" else fh.read()
    except FileRefused as e:
        raise PointsError(f"{p.name}: {e} (point files are at most {MAX_FILE_BYTES // 2**20} MiB, "
                          f"{MAX_POINTS} points)") from None
    except OSError as e:
        raise PointsError(f"{p.name}: cannot read the file ({e.strerror or e})") from None
    if p.suffix.lower() == ".npy" and columns:
        raise PointsError(f"{p.name}: columns pick columns of a CSV file; a .npy array must already be (n,), "
                          "(n, 1) or (n, 2)")
    pts = _load_npy(p, head) if p.suffix.lower() == ".npy" else read_csv(p, head, columns, notes)
    if len(pts) < MIN_POINTS:
        raise PointsError(f"{p.name}: only {len(pts)} point{'s' if len(pts) != 1 else ''}; "
                          f"a dataset needs at least {MIN_POINTS}")
    if not (pts.max(axis=0) > pts.min(axis=0)).any():
        raise PointsError(f"{p.name}: all {len(pts)} points are the same; a density needs different points")
    try:
        _check_scale(pts, pts, "points", "point")
    except ValueError as e:
        raise PointsError(f"{p.name}: {str(e).removeprefix('points: ')}") from None
    return pts


def _load_npy(p: Path, magic: bytes) -> np.ndarray:
    if magic != b"\x93NUMPY":
        raise PointsError(f"{p.name}: not a .npy file (it does not start with the NumPy header); "
                          "save points with np.save")
    try:  # memory-mapped first: shape and dtype are checked before any data is read
        mapped = np.load(p, mmap_mode="r", allow_pickle=False)
    except ValueError as e:
        if "pickle" in str(e) or "object" in str(e).lower():
            raise PointsError(f"{p.name}: the array holds Python objects (pickled), which ganviz never "
                              "loads; save a numeric array instead (np.save with a float array)") from None
        raise PointsError(f"{p.name}: not a valid .npy file ({e})") from None
    except Exception as e:  # a damaged header reaches numpy's parser: TokenError, SyntaxError, EOFError, ...
        raise PointsError(f"{p.name}: not a valid .npy file ({type(e).__name__}: {str(e)[:200]})") from None
    if not isinstance(mapped, np.ndarray):
        raise PointsError(f"{p.name}: not a single .npy array")
    dtype, shape = mapped.dtype, mapped.shape
    if dtype.hasobject:
        raise PointsError(f"{p.name}: the array holds Python objects (dtype {dtype}); save a numeric array")
    if dtype.kind not in "fiu":
        raise PointsError(f"{p.name}: dtype {dtype} is not numeric; points must be integers or floats")
    if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] not in (1, 2)):
        raise PointsError(f"{p.name}: array of shape {tuple(shape)}; points must have shape (n,), (n, 1) "
                          "or (n, 2)")
    if shape[0] > MAX_POINTS:
        raise PointsError(f"{p.name}: {shape[0]} points; ganviz takes at most {MAX_POINTS} (subsample the array)")
    if shape[0] == 0:
        raise PointsError(f"{p.name}: the array is empty (no points)")
    arr = np.array(mapped, dtype=np.float64)
    del mapped
    if arr.ndim == 1:
        arr = arr[:, None]
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        raise PointsError(f"{p.name}: row {int(np.argmax(bad))} (0-based) is not finite (NaN or Inf)")
    return arr
