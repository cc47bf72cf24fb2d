"""The single run's divergence guard: which snapshot windows count as a good state to roll back to.

The guard keeps the last state whose snapshot window was finite *and* sane: every loss and gradient norm within
SANE_FACTOR of its recent peaks (or under a floor that ordinary values never reach). A finite state taken while a
blow-up was already under way was kept before, and the run diverged again at once after the rollback.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .snapshot import EventKind, History

SANE_FLOORS = {"d_loss": 10.0, "g_loss": 10.0, "d_grad_norm": 100.0, "g_grad_norm": 100.0}
SANE_FACTOR = 10.0
SANE_WINDOWS = 20  # the recent windows whose median peaks are the reference
SANE_PATIENCE = 100  # consecutive out-of-range windows (~5 s) after which their range is the new normal
# events that do not change the scale of the losses (any other may)
CALM_EVENTS = frozenset({EventKind.RUN, EventKind.DIVERGED, EventKind.CHECKPOINT, EventKind.DEVICE, EventKind.ERROR})


def window_peaks(history: History) -> dict[str, float]:
    """The largest magnitude of each guarded value in one snapshot's history."""
    out: dict[str, float] = {}
    for key in SANE_FLOORS:
        v = history.values.get(key)
        if v is not None and v.size and np.isfinite(v).any():
            out[key] = float(np.nanmax(np.abs(v)))
    return out


def peaks_in_range(peaks: dict[str, float], recent: Any) -> bool:
    """Whether a window's peaks are within SANE_FACTOR of the median of the recent windows' (or under the floors)."""
    for key, value in peaks.items():
        if value <= SANE_FLOORS[key]:
            continue
        ref = [p[key] for p in recent if key in p]
        if len(ref) < 3 or value > SANE_FACTOR * max(float(np.median(ref)), SANE_FLOORS[key] / SANE_FACTOR):
            return False
    return True
