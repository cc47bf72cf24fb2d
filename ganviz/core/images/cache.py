"""The on-disk cache for rendered image banks and trained classifiers: an optimisation, never a failure.

`cache_dir()` is $GANVIZ_CACHE_DIR when set, else the platform's user cache folder (platformdirs: on Linux
$XDG_CACHE_HOME/ganviz, by default ~/.cache/ganviz); when that cannot be created or written
it falls back to a per-user folder in the system temp dir. Files are written atomically (a temp file in
the same folder, then os.replace), so a reader never sees half a file and concurrent writers cannot
corrupt each other. Write failures are swallowed (the caller already has the data in memory).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
from pathlib import Path

import numpy as np
import platformdirs

log = logging.getLogger(__name__)
ENV_VAR = "GANVIZ_CACHE_DIR"


def _usable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def cache_dir() -> Path:
    """The cache folder (created): $GANVIZ_CACHE_DIR, else the user cache folder, else a temp-dir fallback."""
    env = os.environ.get(ENV_VAR, "").strip()
    preferred = Path(env).expanduser() if env else Path(platformdirs.user_cache_dir("ganviz", appauthor=False))
    if _usable(preferred):
        return preferred
    uid = os.getuid() if hasattr(os, "getuid") else os.getpid()
    fallback = Path(tempfile.gettempdir()) / f"ganviz-cache-{uid}"
    if not _usable(fallback):
        fallback = Path(tempfile.mkdtemp(prefix="ganviz-cache-"))
    log.info("cache folder %s is not writable; using %s", preferred, fallback)
    return fallback


def write_bytes_atomic(path: Path, data: bytes) -> bool:
    """Write data to path via a temp file and os.replace; False (logged) when that fails."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
        return True
    except OSError as exc:
        log.info("could not write cache file %s: %s", path, exc)
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return False


def save_arrays(path: Path, **arrays: np.ndarray) -> bool:
    """Save arrays as a compressed .npz, atomically (no object arrays: readable with allow_pickle=False)."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return write_bytes_atomic(path, buf.getvalue())


def load_arrays(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of a cached .npz, or None when it is missing or unreadable (never raises)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except Exception as exc:  # any corruption: the cache is rebuilt
        log.info("ignoring unreadable cache file %s: %s", path, exc)
        return None
