"""Tables from sweep rows (pure Python): grouping, mean ± spread, run counts by status, the grid table and
the matrix a phase-diagram heatmap shows. The same functions serve a live sweep and `--from runs.jsonl`,
so both print the same Markdown.

Statistics are over the runs with status "ok". Diverged and failed runs have no final metrics; they are
counted, per group, in their own columns, never silently dropped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

METRICS = {  # key -> (label, scale for display, format)
    "modes_covered": ("modes covered", 1.0, ".1f"),
    "hq_fraction": ("% high quality", 100.0, ".1f"),
    "reverse_kl": ("reverse KL (nats)", 1.0, ".2f"),
    "w1": ("W1", 1.0, ".3f"),
}


def mean_std(values: Iterable[Any]) -> tuple[float, float, int]:
    """Mean and sample std (ddof = 1) of the finite values, and how many there were."""
    v = [float(x) for x in values if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)]
    if not v:
        return float("nan"), float("nan"), 0
    mu = sum(v) / len(v)
    sd = math.sqrt(sum((x - mu) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0
    return mu, sd, len(v)


def sem(sd: float, n: int) -> float:
    """Standard error of the mean from a sample std."""
    return sd / math.sqrt(n) if n > 0 else float("nan")


def pm(mu: float, err: float, fmt: str) -> str:
    return "—" if not math.isfinite(mu) else f"{mu:{fmt}} ± {err:{fmt}}"


def final(row: dict[str, Any], key: str) -> float:
    v = (row.get("final") or {}).get(key) if row.get("status") == "ok" else None
    return float(v) if isinstance(v, (int, float)) else float("nan")


def status_counts(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    out = {"ok": 0, "diverged": 0, "failed": 0}
    for r in rows:
        out[r.get("status", "failed")] = out.get(r.get("status", "failed"), 0) + 1
    return out


def runs_cell(rows: Sequence[dict[str, Any]]) -> str:
    """'5' or '5 (1 diverged, 1 failed)': every run is counted, whatever happened to it."""
    c = status_counts(rows)
    extra = ", ".join(f"{c[k]} {k}" for k in ("diverged", "failed") if c[k])
    return f"{len(rows)}" + (f" ({extra})" if extra else "")


def group(rows: Iterable[dict[str, Any]], keys: Sequence[str]) -> dict[tuple, list[dict[str, Any]]]:
    """Rows grouped by their labels' values for `keys` (first-seen order)."""
    out: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        labels = r.get("labels") or {}
        out.setdefault(tuple(labels.get(k) for k in keys), []).append(r)
    return out


def _fmt_value(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def grid_table(rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> str:
    """Markdown: one line per grid point (sorted by the keys' values), mean ± sample std over ok runs."""
    metrics = [m for m in METRICS if any(m in (r.get("final") or {}) for r in rows)]
    head = [*keys, "steps", "runs"] + [METRICS[m][0] for m in metrics]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    groups = _group_with_steps(rows, keys)
    for point in sorted(groups, key=_sort_key):
        g = groups[point]
        cells = [_fmt_value(v) for v in point[:-1]] + [str(point[-1]), runs_cell(g)]
        for m in metrics:
            _, scale, fmt = METRICS[m]
            mu, sd, n = mean_std(scale * final(r, m) for r in g)
            ok = status_counts(g)["ok"]
            # e.g. reverse KL: a run with no high-quality sample has no mode histogram
            cells.append(pm(mu, sd, fmt) + (f" ({ok - n} of {ok} runs: none)" if n < ok else ""))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _group_with_steps(rows: Iterable[dict[str, Any]], keys: Sequence[str]) -> dict[tuple, list[dict[str, Any]]]:
    out: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        labels = r.get("labels") or {}
        out.setdefault((*(labels.get(k) for k in keys), r.get("steps")), []).append(r)
    return out


def _sort_key(point: tuple) -> tuple:
    return tuple((0, v, "") if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, 0, str(v))
                 for v in point)


@dataclass
class GridMatrix:
    """What a phase-diagram heatmap shows: `values[iy, ix]` = mean of `metric` over the ok runs at
    (x_values[ix], y_values[iy]) (NaN where none), `counts` all runs there, `diverged` the diverged ones,
    and `rows[iy][ix]` the runs of each cell (to open one as a live run)."""

    x_key: str
    y_key: str | None
    metric: str
    x_values: list[Any]
    y_values: list[Any]
    values: list[list[float]]
    counts: list[list[int]]
    diverged: list[list[int]]
    rows: list[list[list[dict[str, Any]]]]


def fixed_range(rows: Sequence[dict[str, Any]], metric: str) -> tuple[float, float] | None:
    """The natural colour range of a metric in display units: 0..K modes, 0..100 % high quality; None for
    metrics without one (reverse KL, W1: their data range is used)."""
    if metric == "hq_fraction":
        return 0.0, 100.0
    if metric == "modes_covered":
        k = max(((r.get("final") or {}).get("n_modes") or 0.0 for r in rows), default=0.0)
        return (0.0, float(k)) if k else None
    return None


def grid_keys(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The label keys that vary across rows (the grid's axes), in first-seen order."""
    seen: dict[str, set] = {}
    for r in rows:
        for k, v in (r.get("labels") or {}).items():
            seen.setdefault(k, set()).add(repr(v))
    varying = [k for k, vals in seen.items() if len(vals) > 1]
    return varying or list(seen)[:1]


def grid_matrix(rows: Sequence[dict[str, Any]], x_key: str, y_key: str | None = None,
                metric: str = "modes_covered") -> GridMatrix:
    """Aggregate rows onto the (x_key, y_key) plane; runs that differ in other keys share a cell."""
    def values_of(key: str) -> list[Any]:
        vals = {repr(v): v for v in ((r.get("labels") or {}).get(key) for r in rows)}
        return [vals[k] for k in sorted(vals, key=lambda k: _sort_key((vals[k],)))]

    xs = values_of(x_key)
    ys = values_of(y_key) if y_key else [None]
    cells: list[list[list[dict[str, Any]]]] = [[[] for _ in xs] for _ in ys]
    xi = {repr(v): i for i, v in enumerate(xs)}
    yi = {repr(v): i for i, v in enumerate(ys)}
    for r in rows:
        labels = r.get("labels") or {}
        cells[yi[repr(labels.get(y_key) if y_key else None)]][xi[repr(labels.get(x_key))]].append(r)
    values = [[mean_std(final(r, metric) for r in c)[0] for c in line] for line in cells]
    counts = [[len(c) for c in line] for line in cells]
    diverged = [[sum(r.get("status") == "diverged" for r in c) for c in line] for line in cells]
    return GridMatrix(x_key, y_key, metric, xs, ys, values, counts, diverged, cells)


def cell_config(rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The config of a cell's run to open live: its first ok run by seed, else its first run."""
    if not rows:
        return None
    ordered = sorted(rows, key=lambda r: (r.get("status") != "ok", r.get("seed", 0)))
    return dict(ordered[0]["config"])
