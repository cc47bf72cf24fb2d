"""The run's full per-step history and metrics, accumulated from snapshots, written as CSV.

The window's panels keep decimated, peak-preserving series (flat memory over long runs), which are right
for drawing but not for analysis. This log keeps every step exactly: it is fed each snapshot from the first
one on (every snapshot's `history` holds the steps since the previous one, so nothing is missed) and costs
(1 + 9) float64 per step, about 80 bytes: 10 MB per 125 000 steps.

CSV columns: segment (0, then +1 after every reset: the step count restarts), step, the per-step values
(d_loss, g_loss, d_real_term, d_fake_term, d_penalty, g_grad_norm, d_grad_norm, d_real_mean, d_fake_mean),
then every metric key seen (w1, jsd_est, modes_covered, ...; a metric with the name of a per-step column,
like d_real_mean, is called metric_d_real_mean), filled on the steps where the metrics were computed and
empty elsewhere. Missing / NaN values are empty cells.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..core.snapshot import EventKind
from .errors import ExportError, check_target, write_atomically


class _Rows:
    """A growable float64 table (amortised O(1) appends)."""

    def __init__(self, width: int) -> None:
        self.data = np.empty((1024, width))
        self.n = 0

    def extend(self, block: np.ndarray) -> None:
        need = self.n + len(block)
        if need > len(self.data):
            grown = np.empty((max(need, 2 * len(self.data)), self.data.shape[1]))
            grown[: self.n] = self.data[: self.n]
            self.data = grown
        self.data[self.n: need] = block
        self.n = need

    @property
    def rows(self) -> np.ndarray:
        return self.data[: self.n]


class HistoryLog:
    """Every step's history values and every computed metric of a run (across resets)."""

    def __init__(self) -> None:
        self.keys: list[str] | None = None
        self._rows: _Rows | None = None
        self.metrics: list[tuple[int, int, dict[str, float]]] = []  # (segment, step, metrics)
        self.metric_keys: list[str] = []
        self.segment = 0
        self._last_step = -1
        self._last_metrics_step: tuple[int, int] | None = None

    def __len__(self) -> int:
        return 0 if self._rows is None else self._rows.n

    def clear(self) -> None:
        self.__init__()

    def add(self, snapshot: Any) -> None:
        """Take one snapshot's new rows and (if new) its metrics."""
        if any(e.kind == EventKind.RESET for e in snapshot.events) or snapshot.step < self._last_step:
            if self._last_step >= 0:
                self.segment += 1
            self._last_metrics_step = None
        self._last_step = snapshot.step
        hist = snapshot.history
        n = len(hist.steps)
        if n:
            if self.keys is None:
                self.keys = list(hist.values)
                self._rows = _Rows(2 + len(self.keys))
            block = np.empty((n, 2 + len(self.keys)))
            block[:, 0] = self.segment
            block[:, 1] = hist.steps
            for j, key in enumerate(self.keys):
                col = hist.values.get(key)
                block[:, 2 + j] = np.nan if col is None else col
            assert self._rows is not None
            self._rows.extend(block)
        m_step = getattr(snapshot, "metrics_step", -1)
        if snapshot.metrics and m_step >= 0 and (self.segment, m_step) != self._last_metrics_step:
            self._last_metrics_step = (self.segment, m_step)
            values = {k: float(v) for k, v in snapshot.metrics.items() if isinstance(v, (int, float))}
            for k in values:
                if k not in self.metric_keys:
                    self.metric_keys.append(k)
            self.metrics.append((self.segment, int(m_step), values))

    def table(self) -> tuple[list[str], list[list[float]]]:
        """Header and rows (floats; NaN = empty), sorted by (segment, step)."""
        keys = self.keys or []
        header = ["segment", "step", *keys, *(f"metric_{k}" if k in keys else k for k in self.metric_keys)]
        by_step: dict[tuple[int, int], list[float]] = {}
        if self._rows is not None:
            for row in self._rows.rows:
                by_step[(int(row[0]), int(row[1]))] = [*row[2:].tolist(), *([math.nan] * len(self.metric_keys))]
        width = len(keys)
        for seg, step, values in self.metrics:
            row = by_step.setdefault((seg, step), [math.nan] * (width + len(self.metric_keys)))
            for j, k in enumerate(self.metric_keys):
                if k in values:
                    row[width + j] = values[k]
        rows = [[float(seg), float(step), *vals] for (seg, step), vals in sorted(by_step.items())]
        return header, rows

    def to_csv_text(self) -> str:
        return "".join(text for text, _, _ in self.csv_chunks())

    def csv_chunks(self, rows_per_chunk: int = 20_000) -> Iterator[tuple[str, int, int]]:
        """The CSV as (text, rows done, rows in all), a chunk at a time: memory stays at one chunk (the whole
        text of a million steps was ~1.45 GB). Reads a fixed view of the rows taken at the start, so the GUI
        thread may go on adding snapshots while another thread writes."""
        keys = self.keys or []
        metric_keys = list(self.metric_keys)
        header = ["segment", "step", *keys, *(f"metric_{k}" if k in keys else k for k in metric_keys)]
        rows = self._rows.rows if self._rows is not None else np.empty((0, 2 + len(keys)))
        metrics: dict[int, dict[str, float]] = {}
        for seg, step, values in list(self.metrics):
            metrics.setdefault(_key(seg, step), {}).update(values)  # later entries win, as in table()
        row_keys = _key(rows[:, 0].astype(np.int64), rows[:, 1].astype(np.int64)) if len(rows) else \
            np.empty(0, np.int64)
        extra = np.setdiff1d(np.fromiter(metrics, np.int64, len(metrics)), row_keys)  # metric-only steps
        all_keys = np.concatenate([row_keys, extra])
        source = np.concatenate([np.arange(len(rows)), np.full(len(extra), -1)])
        order = np.argsort(all_keys, kind="stable")
        all_keys, source = all_keys[order], source[order]
        if len(all_keys):  # equal (segment, step): the last row wins, as in table()
            last = np.ones(len(all_keys), bool)
            last[:-1] = all_keys[1:] != all_keys[:-1]
            all_keys, source = all_keys[last], source[last]
        total = len(all_keys)
        yield ",".join(header) + "\n", 0, total
        nan_row = [math.nan] * len(keys)
        for start in range(0, total, rows_per_chunk):
            out = io.StringIO()
            for key, src in zip(all_keys[start:start + rows_per_chunk].tolist(),
                                source[start:start + rows_per_chunk].tolist(), strict=True):
                values = rows[src, 2:].tolist() if src >= 0 else nan_row
                m = metrics.get(key)
                values = [*values, *((m.get(k, math.nan) for k in metric_keys) if m else [math.nan] * len(metric_keys))]
                cells = [str(key >> _STEP_BITS), str(key & _STEP_MASK)]
                cells += ["" if not math.isfinite(v) else repr(v) for v in values]
                out.write(",".join(cells) + "\n")
            yield out.getvalue(), min(start + rows_per_chunk, total), total

    def write_csv(self, path: str | os.PathLike[str], progress: Callable[[int, int], None] | None = None,
                  cancelled: Callable[[], bool] | None = None) -> Path:
        """Write the CSV atomically (temp file + rename), a chunk at a time; ExportError on a bad path or a full
        disk, or when cancelled() turns true (nothing is left behind). progress(rows done, rows in all)."""
        path = Path(path)
        check_target(path, "file")

        def write(f: Any) -> None:
            for text, done, total in self.csv_chunks():
                if cancelled is not None and cancelled():
                    raise ExportError(f"cancelled: {path} was not written")
                f.write(text)
                if progress is not None:
                    progress(done, total)

        write_atomically(path, write, "w", encoding="utf-8", newline="")
        return path


_STEP_BITS = 40  # (segment, step) as one int64 key: segment << 40 | step
_STEP_MASK = (1 << _STEP_BITS) - 1


def _key(segment: Any, step: Any) -> Any:
    return (segment << _STEP_BITS) | step
