"""Mode-collapse detection on the mode-coverage metric over time. Pure Python, no Qt, deterministic.

Fed with (step, modes_covered, n_modes) as metrics arrive (THEORY.md section 4: modes with at least one
high-quality sample among 2500 generated ones), a `CollapseDetector` tracks the best coverage reached so far
(the *reference*) and reports two kinds of event:

* "collapse": coverage has fallen to reference - drop or below (drop = max(1, round(drop_fraction * K))
  modes) and stayed there for at least `window` steps (every measurement in between is low too);
* "recovered": after a collapse, coverage is back to reference - recover or above (recover =
  round(recover_fraction * K), less than drop: hysteresis) and has stayed there for `window` steps.

An event's `step` is the *onset*: the first measurement of the low (or recovered) stretch, which is where a
timeline marker belongs; `detected_at` is the step at which the window was complete. The reference starts
at the first measurement and only rises while the run is not collapsed; after a recovery it restarts from
the coverage measured during the recovery window, so a run that settles lower than before can collapse
again relative to its new level. NaN coverage (no metric) is ignored. A step that goes backwards or a
change of K (a reset or another dataset) restarts the detector, as does `reset()`.

Example (K = 8, defaults: drop 2 modes, recover within 1 mode, window 300 steps):

    >>> det = CollapseDetector()
    >>> seq = [(0, 1), (200, 8), (400, 8), (600, 3), (800, 3), (1000, 2), (1200, 8), (1600, 8)]
    >>> [(e.kind, e.step, e.detected_at) for s, c in seq for e in det.update(s, c, 8)]
    [('collapse', 600, 1000), ('recovered', 1200, 1600)]
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

COLLAPSE = "collapse"
RECOVERED = "recovered"


@dataclass(frozen=True)
class CollapseEvent:
    kind: str  # "collapse" or "recovered"
    step: int  # onset: first measurement of the low (or recovered) stretch
    detected_at: int  # step at which the stretch had lasted `window` steps
    modes_covered: float  # coverage at detection
    reference: float  # the best coverage the drop is measured from
    n_modes: int

    @property
    def label(self) -> str:
        k, ref, now = self.n_modes, _fmt(self.reference), _fmt(self.modes_covered)
        if self.kind == COLLAPSE:
            return f"collapse: {ref} → {now}/{k} modes"
        return f"recovered: {now}/{k} modes"


def _fmt(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


class CollapseDetector:
    """Hysteresis detector of coverage drops (see the module docstring for the exact rule)."""

    def __init__(self, drop_fraction: float = 0.25, recover_fraction: float = 0.125, window: int = 300) -> None:
        if not 0 < drop_fraction <= 1:
            raise ValueError(f"drop_fraction must be in (0, 1], got {drop_fraction!r}")
        if not 0 <= recover_fraction < drop_fraction:
            raise ValueError(f"recover_fraction must be in [0, drop_fraction), got {recover_fraction!r}")
        if window < 0:
            raise ValueError(f"window must be >= 0 steps, got {window!r}")
        self.drop_fraction = float(drop_fraction)
        self.recover_fraction = float(recover_fraction)
        self.window = int(window)
        self.events: list[CollapseEvent] = []
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new run); the event list is cleared too."""
        self.collapsed = False
        self.reference: float | None = None
        self.n_modes: int | None = None
        self._last_step: int | None = None
        self._onset: int | None = None  # first step of the current candidate stretch
        self._stretch_max = -math.inf  # best coverage within a recovery stretch
        self.events = []

    def thresholds(self, n_modes: int) -> tuple[int, int]:
        """(drop, recover) in modes for K = n_modes."""
        drop = max(1, round(self.drop_fraction * n_modes))
        recover = min(round(self.recover_fraction * n_modes), drop - 1)
        return drop, recover

    def update(self, step: int, modes_covered: float, n_modes: int) -> list[CollapseEvent]:
        """Feed one measurement; returns the events it completes (none or one)."""
        step, k = int(step), int(n_modes)
        if (self._last_step is not None and step < self._last_step) or (self.n_modes not in (None, k)):
            self.reset()
        self._last_step = step
        self.n_modes = k
        c = float(modes_covered)
        if not math.isfinite(c) or k <= 0:
            return []
        if self.reference is None:
            self.reference = c
            return []
        drop, recover = self.thresholds(k)
        if not self.collapsed:
            low = c <= self.reference - drop
            if not low:
                self._onset = None
                self.reference = max(self.reference, c)
                return []
            if self._onset is None:
                self._onset = step
            if step - self._onset >= self.window:
                ev = CollapseEvent(COLLAPSE, self._onset, step, c, self.reference, k)
                self.collapsed = True
                self._onset = None
                self.events.append(ev)
                return [ev]
            return []
        back = c >= self.reference - recover
        if not back:
            self._onset = None
            self._stretch_max = -math.inf
            return []
        if self._onset is None:
            self._onset = step
        self._stretch_max = max(self._stretch_max, c)
        if step - self._onset >= self.window:
            ev = CollapseEvent(RECOVERED, self._onset, step, c, self.reference, k)
            self.collapsed = False
            self.reference = self._stretch_max
            self._onset = None
            self._stretch_max = -math.inf
            self.events.append(ev)
            return [ev]
        return []


def detect(measurements: Iterable[tuple[int, float, int]], **kwargs: float) -> list[CollapseEvent]:
    """Run a fresh detector over (step, modes_covered, n_modes) measurements; all events in order."""
    det = CollapseDetector(**kwargs)  # type: ignore[arg-type]
    out: list[CollapseEvent] = []
    for step, covered, k in measurements:
        out += det.update(step, covered, k)
    return out
