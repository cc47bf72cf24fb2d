"""Figures from sweep rows, as PNG and SVG (matplotlib: `pip install "ganviz[figures]"`).

- `reproduction_figure`: per dataset, a box plot of modes covered per method (every ok run a dot), the
  papers' numbers beside each box (mean ± the paper's own error measure; a mean alone where the paper gives
  no spread), and how many runs diverged or failed under the box.
- `heatmap_figure`: the phase diagram of a grid sweep: the mean of a metric over the ok runs at each
  (x, y) grid point, each cell labelled with its value and run count, a colour bar with the metric's name.

matplotlib is used through `Figure` objects (no pyplot, no global backend change), so it is safe to call from
a process that also runs Qt.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .reproduction import PUBLISHED, published_key
from .tables import METRICS, final, fixed_range, grid_matrix, status_counts


def _save(fig: Any, stem: str | Path) -> list[str]:
    stem = Path(stem)
    if stem.parent != Path(""):
        stem.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for ext in ("png", "svg"):
        path = stem.with_name(stem.name + f".{ext}")
        fig.savefig(path, dpi=150 if ext == "png" else None, bbox_inches="tight")
        out.append(str(path))
    return out


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def reproduction_figure(rows: Sequence[dict[str, Any]], stem: str | Path, datas: Sequence[str] | None = None,
                        methods: Sequence[str] | None = None) -> list[str]:
    """Box plots of modes covered per method and dataset beside the published numbers -> [png, svg]."""
    datas = list(datas) if datas else list(dict.fromkeys((r.get("labels") or {}).get("data") for r in rows))
    methods = list(methods) if methods else list(dict.fromkeys((r.get("labels") or {}).get("method") for r in rows))
    fig = _figure(3.2 * len(datas) + 0.8, 4.2)
    axes = fig.subplots(1, len(datas), squeeze=False)[0]
    rng = random.Random(0)  # jitter of the dots only
    for ax, data in zip(axes, datas, strict=True):
        here = [m for m in methods if any(_is(r, data, m) for r in rows)]
        k = next((r["final"]["n_modes"] for r in rows if _is(r, data) and (r.get("final") or {}).get("n_modes")), None)
        steps = sorted({r.get("steps") for r in rows if _is(r, data)})
        ticks: list[str] = []
        for i, m in enumerate(here):
            g = [r for r in rows if _is(r, data, m)]
            vals = [v for v in (final(r, "modes_covered") for r in g) if math.isfinite(v)]
            if vals:
                ax.boxplot([vals], positions=[i], widths=0.5, showfliers=False, medianprops={"color": "C0"})
                ax.scatter([i + rng.uniform(-0.12, 0.12) for _ in vals], vals, s=12, color="C0", alpha=0.6,
                           zorder=3, label="ganviz runs" if i == 0 else None)
            c = status_counts(g)
            bad = ", ".join(f"{c[s]} {s}" for s in ("diverged", "failed") if c[s])
            ticks.append(f"{m}\n{len(g)} runs" + (f"\n{bad}" if bad else ""))
            for j, (v, e, _, src) in enumerate(PUBLISHED.get((published_key(m), data), [])):
                x = i + 0.32 + 0.1 * j
                first = i == 0 and j == 0
                ax.errorbar([x], [v], yerr=None if e is None else [[e], [e]], fmt="D", color="C3", ms=5, capsize=3,
                            zorder=4, label="published (± the paper's s.e. where it gives one)" if first else None)
                ax.annotate(src, (x, v), xytext=(3, 3), textcoords="offset points", fontsize=6, color="C3")
        ax.set_xticks(range(len(here)), ticks, fontsize=8)
        ax.set_xlim(-0.6, len(here) - 0.2)
        if k:
            ax.set_ylim(-0.5, k + 0.8)
        ax.set_title(f"{data} ({'/'.join(str(s) for s in steps)} steps)", fontsize=10)
        ax.set_ylabel(f"modes covered (of {k:g})" if k else "modes covered")
        ax.grid(axis="y", alpha=0.3)
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=len(handles), fontsize=8, frameon=False)
    return _save(fig, stem)


def _is(row: dict[str, Any], data: str, method: str | None = None) -> bool:
    lab = row.get("labels") or {}
    return lab.get("data") == data and (method is None or lab.get("method") == method)


def heatmap_figure(rows: Sequence[dict[str, Any]], stem: str | Path, x_key: str, y_key: str | None = None,
                   metric: str = "modes_covered") -> list[str]:
    """Phase diagram: mean `metric` per (x_key, y_key) grid point -> [png, svg]."""
    import numpy as np

    gm = grid_matrix(rows, x_key, y_key, metric)
    label, scale, fmt = METRICS.get(metric, (metric, 1.0, ".3g"))
    vals = np.array(gm.values, dtype=float) * scale
    fig = _figure(1.3 * len(gm.x_values) + 2.6, 1.0 * len(gm.y_values) + 1.8)
    ax = fig.subplots()
    masked = np.ma.masked_invalid(vals)
    lo_hi = fixed_range(rows, metric)
    img = ax.imshow(masked, origin="lower", aspect="auto", cmap="viridis", vmin=lo_hi[0] if lo_hi else None,
                    vmax=lo_hi[1] if lo_hi else None)
    bar = fig.colorbar(img, ax=ax)
    k = next((r["final"]["n_modes"] for r in rows if (r.get("final") or {}).get("n_modes")), None)
    bar.set_label(f"{label} (mean over ok runs" + (f", of {k:g})" if metric == "modes_covered" and k else ")"))
    lo, hi = img.get_clim()
    mid = (lo + hi) / 2
    for iy in range(len(gm.y_values)):
        for ix in range(len(gm.x_values)):
            v, n, d = vals[iy, ix], gm.counts[iy][ix], gm.diverged[iy][ix]
            text = ("—" if not math.isfinite(v) else f"{v:{fmt}}") + f"\nn={n}" + (f", {d} div." if d else "")
            ax.text(ix, iy, text, ha="center", va="center", fontsize=8,
                    color="white" if not math.isfinite(v) or v < mid else "black")
    ax.set_xticks(range(len(gm.x_values)), [_tick(v) for v in gm.x_values])
    ax.set_yticks(range(len(gm.y_values)), [_tick(v) for v in gm.y_values] if y_key else [""])
    ax.set_xlabel(x_key)
    ax.set_ylabel(y_key or "")
    steps = sorted({r.get("steps") for r in rows})
    ax.set_title(f"{label} over {x_key}" + (f" × {y_key}" if y_key else "")
                 + f" ({'/'.join(str(s) for s in steps)} steps)", fontsize=10)
    return _save(fig, stem)


def _tick(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)
