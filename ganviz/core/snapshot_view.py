"""A Snapshot in a terminal or a notebook: a one-line repr and an HTML view (metrics table and a picture).

The picture is drawn with Pillow (a dependency already) and embedded as a PNG: real (grey) and generated
(orange) samples in 2D, their histograms in 1D, the generated grid for image data. No plotting library needed.
"""

from __future__ import annotations

import base64
import html
import io
import math
from typing import Any

import numpy as np

SIZE = 240  # pixels of the picture
REAL, FAKE = (110, 110, 110), (230, 90, 0)


def _last(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)] if values.size else values
    return float(finite[-1]) if finite.size else None


def short_repr(s: Any) -> str:
    """One line: where the run is, its losses and a few metrics (never the arrays)."""
    parts = [f"step={s.step}", f"data={s.data!r}", f"objective={s.objective!r}", f"dim={s.dim}",
             f"n={len(s.real)}"]
    for key in ("d_loss", "g_loss"):
        v = _last(s.history.values[key]) if key in s.history.values else None
        if v is not None:
            parts.append(f"{key}={v:.4g}")
    shown = [(k, v) for k, v in s.metrics.items() if isinstance(v, (int, float)) and math.isfinite(v)][:4]
    if shown:
        parts.append("metrics={" + ", ".join(f"{k}: {v:.4g}" for k, v in shown) + "}")
    if s.device != "cpu":
        parts.append(f"device={s.device!r}")
    return "Snapshot(" + ", ".join(parts) + ")"


def picture(s: Any) -> bytes | None:
    """The snapshot as a PNG (bytes), or None when there is nothing to draw."""
    from PIL import Image, ImageDraw

    if s.images is not None and np.asarray(s.images.fake).size:
        fake = np.asarray(s.images.fake, dtype=np.float32)  # (n, H, W) in [-1, 1]
        n, h, w = fake.shape
        cols = int(math.ceil(math.sqrt(n)))
        rows = int(math.ceil(n / cols))
        grid = np.ones((rows * (h + 1), cols * (w + 1)), np.float32)
        for i in range(n):
            r, c = divmod(i, cols)
            grid[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = (fake[i] + 1) / 2
        img = Image.fromarray((np.clip(grid, 0, 1) * 255).astype(np.uint8), "L")
        return _png(img.resize((SIZE, int(SIZE * img.height / img.width)), Image.NEAREST))
    real, fake = np.asarray(s.real, float), np.asarray(s.fake, float)
    if real.size == 0 or fake.size == 0:
        return None
    img = Image.new("RGB", (SIZE, SIZE), "white")
    draw = ImageDraw.Draw(img)
    both = np.concatenate([real, fake])
    both = both[np.isfinite(both).all(axis=1)]
    if both.size == 0:
        return None
    lo, hi = both.min(axis=0), both.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    if s.dim == 1:
        bins = np.linspace(lo[0], lo[0] + span[0], 41)
        for data, color in ((real, REAL), (fake, FAKE)):
            counts, _ = np.histogram(data[:, 0], bins)
            top = max(counts.max(), 1)
            points = [(i * SIZE / 40, SIZE - 4 - c / top * (SIZE - 8)) for i, c in enumerate(counts)]
            draw.line([p for x, y in points for p in ((x, y), (x + SIZE / 40, y))], fill=color, width=2)
    else:
        for data, color in ((real, REAL), (fake, FAKE)):
            xy = (data[:, :2] - lo[:2]) / span[:2].max() * (SIZE - 8) + 4  # one scale: circles stay round
            for x, y in xy[np.isfinite(xy).all(axis=1)]:
                draw.ellipse((x - 1.5, SIZE - y - 1.5, x + 1.5, SIZE - y + 1.5), fill=color)
    return _png(img)


def _png(img: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def html_view(s: Any) -> str:
    """A notebook cell's view: the picture beside a table of the run's state and metrics."""
    rows = [("step", s.step), ("data", s.data), ("objective", s.objective), ("D / G updates",
            f"{s.d_updates} / {s.g_updates}"), ("device", s.device)]
    for key in ("d_loss", "g_loss"):
        if key in s.history.values:
            v = _last(s.history.values[key])
            rows.append((key, "n/a" if v is None else f"{v:.4g}"))
    rows += [(k, f"{v:.4g}" if isinstance(v, float) else v) for k, v in s.metrics.items()]
    table = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    png = picture(s)
    img = (f'<img alt="real (grey) and generated (orange)" src="data:image/png;base64,'
           f'{base64.b64encode(png).decode("ascii")}"/>' if png else "")
    return (f'<div style="display:flex;gap:12px;align-items:flex-start">{img}'
            f'<table><caption>ganviz snapshot</caption>{table}</table></div>')
