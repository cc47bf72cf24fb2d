"""Text of the Mode coverage dock (ganviz.qt.panels.modes): the bar plot's tick labels per mode and the status
line's parts joined so that a narrow dock wraps it between parts."""

from __future__ import annotations

import re

import numpy as np

MAX_TICK_LABELS = 12  # above this many modes the bars are labelled by index only


def mode_tick_labels(modes: np.ndarray) -> tuple[list[str], str]:
    """Tick text per mode and the axis label: 'i' over the angle for modes on a circle (rings), 'i' over
    '(x, y)' for a few modes elsewhere, the index alone for many (with how the index runs on a grid)."""
    modes = np.asarray(modes, dtype=np.float64).reshape(len(modes), -1)
    k = len(modes)
    if modes.shape[1] >= 2 and k >= 3:
        centre = modes[:, :2].mean(axis=0)
        rel = modes[:, :2] - centre
        radius = np.hypot(rel[:, 0], rel[:, 1])
        if radius.min() > 0 and np.ptp(radius) <= 0.01 * radius.max():
            angles = np.degrees(np.arctan2(rel[:, 1], rel[:, 0])) % 360.0
            return [f"{i}\n{a:.0f}°" for i, a in enumerate(angles)], "mode (index, angle)"
    if k <= MAX_TICK_LABELS:
        if modes.shape[1] == 1:
            return [f"{i}\n{m[0]:g}" for i, m in enumerate(modes)], "mode (index, position)"
        return [f"{i}\n({m[0]:g}, {m[1]:g})" for i, m in enumerate(modes)], "mode (index, position)"
    xs, ys = np.unique(modes[:, 0]), np.unique(modes[:, 1]) if modes.shape[1] > 1 else np.zeros(1)
    if modes.shape[1] > 1 and len(xs) * len(ys) == k:
        order = np.lexsort((modes[:, 0], modes[:, 1]))
        if np.array_equal(order, np.arange(k)):
            return ([str(i) for i in range(k)],
                    f"mode index (grid row by row from ({xs[0]:g}, {ys[0]:g}), x fastest)")
    return [str(i) for i in range(k)], "mode index"


def status_text(parts: list[str]) -> str:
    """The status line's parts joined by ' · ', each part unbreakable (its spaces non-breaking, tags kept): a
    narrow header wraps it between parts, after a dot, never inside 'reverse KL 0.408 nats'."""
    glued = [re.sub(r" (?![^<]*>)", "\u00a0", part) for part in parts]  # not the spaces inside an HTML tag
    return "\u00a0\u00a0·\u00a0 ".join(glued)
