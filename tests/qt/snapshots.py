"""Synthetic snapshots for panel tests: known, ASYMMETRIC data so orientation mistakes show.

1D: p_data = N(0, 1), p_g = N(2, 1), D*(x) = sigmoid(2 - 2x) (THEORY.md section 1 worked example).
2D: the field is values[iy, ix] = 2 * xs[ix] (+ 0 * ys) on a non-square grid (nx != ny), so a transposed
heatmap would vary along y instead of x.
"""

from __future__ import annotations

import math

import numpy as np

from ganviz.core.snapshot import Event, Field1D, Field2D, History, Snapshot

NX, NY = 96, 64
X_RANGE = (-3.0, 5.0)
Y_RANGE = (-2.0, 2.0)
HISTORY_KEYS = ("d_loss", "g_loss", "d_real_term", "d_fake_term", "d_penalty", "g_grad_norm", "d_grad_norm")


def normal_pdf(x: np.ndarray, mu: float, sigma: float = 1.0) -> np.ndarray:
    return np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def make_history(first_step: int, n: int, seed: int = 0, nan_every: int = 0) -> History:
    """n rows of plausible losses from first_step; every `nan_every`-th row has NaN D values (G-only step)."""
    rng = np.random.default_rng(abs(seed + first_step))
    steps = np.arange(first_step, first_step + n, dtype=np.int64)
    t = steps.astype(np.float64)
    d_real = 0.69 + 0.2 * np.exp(-t / 300) + 0.02 * rng.standard_normal(n)
    d_fake = 0.69 - 0.1 * np.exp(-t / 300) + 0.02 * rng.standard_normal(n)
    values = {
        "d_real_term": d_real,
        "d_fake_term": d_fake,
        "d_penalty": np.zeros(n),
        "d_loss": d_real + d_fake,
        "g_loss": 0.69 + 0.3 * np.exp(-t / 200) + 0.03 * rng.standard_normal(n),
        "g_grad_norm": np.abs(1.0 + 0.3 * rng.standard_normal(n)),
        "d_grad_norm": np.abs(0.5 + 0.2 * rng.standard_normal(n)),
    }
    if nan_every:
        for key in ("d_loss", "d_real_term", "d_fake_term", "d_penalty", "d_grad_norm"):
            values[key][::nan_every] = np.nan
    return History(steps=steps, values=values)


def make_metrics(step: int, nan: bool = False) -> dict[str, float]:
    if nan:
        return {k: float("nan") for k in ("w1", "jsd_est", "jsd_true", "critic_gap", "d_real_mean", "d_fake_mean")}
    decay = math.exp(-step / 500)
    return {
        "w1": 2.0 * decay + 0.05,
        "jsd_est": 0.3 * decay + 0.01,
        "jsd_true": 0.336831 * decay,
        "critic_gap": 0.4 * decay,
        "d_real_mean": 0.5 + 0.3 * decay,
        "d_fake_mean": 0.5 - 0.3 * decay,
        "g_grad_norm": 1.0,
        "d_grad_norm": 0.5,
    }


def make_snapshot(
    step: int = 100,
    dim: int = 1,
    objective: str = "ns",
    n: int = 512,
    history_rows: int = 20,
    events: tuple[Event, ...] = (),
    metrics: dict[str, float] | None = None,
    metrics_step: int | None = None,
    nx: int = NX,
    ny: int = NY,
    seed: int = 0,
    with_mixture: bool = False,
    realistic_field: bool = False,
) -> Snapshot:
    """A consistent snapshot at `step` whose history covers (step - history_rows, step]."""
    rng = np.random.default_rng(seed + step)
    field1d = field2d = grad_fake = z_grid = modes = None
    if dim == 1:
        real = rng.normal(0.0, 1.0, size=(n, 1))
        fake = rng.normal(2.0, 1.0, size=(n, 1))
        x = np.linspace(-4.0, 6.0, 400)
        p_data, p_g = normal_pdf(x, 0.0), normal_pdf(x, 2.0)
        d_star = sigmoid(2.0 - 2.0 * x)
        d = sigmoid(1.5 - 1.4 * x)
        field1d = Field1D(x=x, d=d, p_data=p_data, p_g=p_g, d_star=d_star)
        d_real, d_fake = sigmoid(1.5 - 1.4 * real[:, 0]), sigmoid(1.5 - 1.4 * fake[:, 0])
        bounds: tuple[float, ...] = (-4.0, 6.0)
    else:
        xs = np.linspace(*X_RANGE, nx)
        ys = np.linspace(*Y_RANGE, ny)
        values = (xs[None, :] * 2 + 0 * ys[:, None]).astype(np.float32)
        if realistic_field:  # D high near the real cloud (-1, 0.5), low near the fakes (2.5, -0.5)
            px, py = xs[None, :], ys[:, None]
            dist_f = np.hypot(px - 2.5, py + 0.5)
            dist_r = np.hypot(px + 1.0, py - 0.5)
            values = sigmoid(1.5 * (dist_f - dist_r)).astype(np.float32)
        field2d = Field2D(xs=xs, ys=ys, values=values)
        real = np.column_stack([rng.normal(-1.0, 0.4, n), rng.normal(0.5, 0.3, n)])
        fake = np.column_stack([rng.normal(2.5, 0.6, n), rng.normal(-0.5, 0.5, n)])
        d_real, d_fake = 2 * real[:, 0], 2 * fake[:, 0]
        grad_fake = np.tile([2.0, 0.0], (n, 1)) + 0.1 * rng.standard_normal((n, 2))
        k = 9
        z = np.linspace(-1, 1, k)
        zz = np.stack(np.meshgrid(z, z, indexing="ij"), axis=-1)
        z_grid = np.stack([2.5 + 1.2 * zz[..., 0] + 0.3 * zz[..., 1] ** 2, -0.5 + 0.9 * zz[..., 1]], axis=-1)
        bounds = (X_RANGE[0], X_RANGE[1], Y_RANGE[0], Y_RANGE[1])
        if with_mixture:
            ang = 2 * np.pi * np.arange(8) / 8
            modes = np.column_stack([1.5 * np.cos(ang), 1.5 * np.sin(ang)])
    if metrics is None:
        metrics = make_metrics(step)
        if with_mixture:
            metrics.update(modes_covered=5.0, n_modes=8.0, hq_fraction=0.8, reverse_kl=0.3)
    return Snapshot(
        step=step,
        d_updates=step,
        g_updates=step,
        objective=objective,
        dim=dim,
        data="gaussian" if dim == 1 else "synthetic",
        real=real,
        fake=fake,
        d_real=d_real,
        d_fake=d_fake,
        history=make_history(step - history_rows + 1, history_rows, seed=seed),
        metrics=metrics,
        metrics_step=step if metrics_step is None else metrics_step,
        events=events,
        field1d=field1d,
        field2d=field2d,
        grad_fake=grad_fake,
        z_grid=z_grid,
        bounds=bounds,
        modes=modes,
    )


def snapshot_sequence(count: int = 5, dim: int = 1, objective: str = "ns", every: int = 20, **kw) -> list[Snapshot]:
    return [make_snapshot(step=(i + 1) * every, dim=dim, objective=objective, history_rows=every, **kw)
            for i in range(count)]
