"""JS versus Wasserstein on a fixed, shifted generator (WGAN paper, Arjovsky et al. 2017, Example 1 / Figure 1).

The generator is frozen at p_g = p_data shifted by theta (ganviz's Trainer with generator="shift"). For each
theta in a sweep, three discriminators are trained from scratch on (p_data, p_g) with the Trainer:

- a probability D with the BCE loss (objective "ns"; the G loss is never used since G is fixed). From it the
  Trainer's metric jsd_est = (V + log 4) / 2 with V = E log D(x) + E log(1 - D(x_g)) on 2048 + 2048 fresh
  samples. Because log D < 0, V < 0 and jsd_est < log 2 always; for separated supports it approaches
  log 2 = 0.693147 from below, the same value for every theta: the JS divergence gives no gradient.
- a WGAN-GP critic (lambda = 10, Gulrajani et al.'s default): critic_gap = E f(x) - E f(x_g) estimates W1.
  W1 itself is exactly |theta| (a translate is ||shift|| away), reported as w1_exact, and the Trainer's
  sample metric w1 (sorted samples in 1D, 4096; optimal assignment in 2D, w1_samples per side) checks it.
  Note on "gap <= W1": that holds for a hard 1-Lipschitz constraint. The gradient penalty is soft, and for
  a pure translation the best critic along the shift direction has slope s maximising s|theta| -
  lambda (s - 1)^2, i.e. s = 1 + |theta| / (2 lambda), so its gap is |theta| (1 + |theta| / (2 lambda))
  (= `gp_soft_optimum`; +5% at |theta| = 1 with lambda = 10). The parallel-lines interpolates lie
  uniformly on [0, theta] in x, for which this linear critic is optimal (Jensen); measured gaps sit on it.
- optionally (clipped=True) a weight-clipped WGAN critic (c = 0.01): its gap is only proportional to W1.

Training details (all from `SweepSettings`): small MLPs (2 x 64 ReLU), batch 256, Adam lr 3e-3. The GP
critic's penalty is off for its first `gp_warmup` fraction of steps (default 5%): from a random init the
penalty's pull towards |grad f| = 1 (gradient 2 lambda = 20) is stronger than the gap's pull (about 1) and
can lock in a critic of the wrong sign (measured on disjoint-1d, seed 0, without warm-up: gaps -0.49, -0.93,
-1.73 at theta = 0.5, 1, 2); a few unpenalised steps let the gap choose the orientation first.

True JSD: 1D from the Trainer's quadrature metric jsd_true (analytic p_g for the shift generator);
parallel-lines analytically, JS(P0, P_theta) = JS(N(0, s^2), N(theta, s^2)) with s = 0.005 the lines' width
(exactly log 2 to 1e-20 once |theta| >= 0.1); NaN for other 2D data.

`critic_shapes` trains a clipped and a gradient-penalty critic on the same 2D data against the fixed
generator p_data + N(0, sigma^2) (generator="noise"), the setting of the WGAN-GP paper's Figure 1, and
returns both critics on a grid.

No Qt. The generators here yield often (every `chunk` steps) so a GUI worker can report progress and stop.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from . import metrics as M
from .commands import SetConfig
from .config import TrainConfig
from .distributions import ParallelLines, make_distribution
from .trainer import Trainer

LOG2 = math.log(2.0)
SWEEP_DATASETS = ("parallel-lines", "disjoint-1d", "gaussian-1d")
# default sweep half-range per dataset (data units): the parallel lines of the WGAN paper's Figure 1 use [-1, 1]
THETA_RANGE = {"parallel-lines": 1.0, "disjoint-1d": 2.0, "gaussian-1d": 4.0}
SHAPE_DATASETS = ("ring8", "swissroll", "grid25", "two-blobs", "moons")


@dataclass(frozen=True)
class SweepSettings:
    """How each discriminator is trained at one theta (defaults: ~1 s per theta on one CPU core)."""

    data: str = "parallel-lines"
    steps: int = 400
    width: int = 64
    depth: int = 2
    batch_size: int = 256
    lr: float = 3e-3
    gp_lambda: float = 10.0
    gp_warmup: float = 0.05
    clip: float = 0.01
    clip_lr: float = 1e-3
    clipped: bool = False
    seed: int = 0
    chunk: int = 50  # steps between yields (progress / cancellation granularity)

    def validate(self) -> None:
        make_distribution(self.data)  # KeyError names the available datasets
        if self.steps < 1 or self.chunk < 1:
            raise ValueError("steps and chunk must be >= 1")
        if not 0.0 <= self.gp_warmup < 1.0:
            raise ValueError(f"gp_warmup must be in [0, 1), got {self.gp_warmup!r}")


@dataclass(frozen=True)
class Curve:
    """D and critics along x at one theta. 1D: the real line; 2D: the slice y = `slice_y` (parallel-lines)."""

    theta: float
    x: np.ndarray
    d_prob: np.ndarray  # sigmoid of the BCE discriminator's logit
    critic_gp: np.ndarray  # WGAN-GP critic, shifted so that it is 0 at x = 0 (a critic is defined up to a constant)
    critic_clip: np.ndarray | None  # clipped critic (same shift), or None
    p_data: np.ndarray  # density of p_data along x (2D: on the slice, = the x-marginal for parallel-lines)
    p_g: np.ndarray  # density of p_g = p_data shifted by theta
    slice_y: float | None  # None in 1D


@dataclass(frozen=True)
class ThetaResult:
    theta: float
    jsd_est: float
    jsd_true: float
    w1_exact: float
    w1: float
    critic_gap: float
    critic_gap_clip: float
    gp_soft_optimum: float
    curve: Curve | None


def default_thetas(data: str = "parallel-lines", n: int = 9) -> np.ndarray:
    """n evenly spaced shifts over the dataset's default range (symmetric, includes 0 when n is odd)."""
    r = THETA_RANGE.get(data, 2.0)
    return np.linspace(-r, r, n)


def gp_soft_optimum(theta: float | np.ndarray, gp_lambda: float) -> np.ndarray:
    """Best WGAN-GP critic gap along a translation by theta: |theta| (1 + |theta| / (2 lambda)) (module doc)."""
    a = np.abs(np.asarray(theta, dtype=np.float64))
    return a * (1.0 + a / (2.0 * gp_lambda)) if gp_lambda > 0 else np.full_like(a, np.inf)


def true_jsd(data: str, theta: float, n: int = 8192) -> float:
    """JS(p_data || p_data shifted by theta) in nats, from the analytic densities; NaN where not available.

    parallel-lines: JS(N(0, s^2), N(theta, s^2)) (the uniform y factor cancels). 1D data: quadrature (n points)
    of the exact densities on a grid covering both supports, as the Trainer's jsd_true metric does."""
    dist = make_distribution(data)
    theta = float(theta)
    if isinstance(dist, ParallelLines):
        mu = abs(theta) / dist.x_std
        if mu > 80:  # the two Gaussians are > 80 std apart: JS = log 2 to far below float precision
            return LOG2
        return M.gaussian_jsd_reference(mu)
    if dist.dim == 1:
        lo, hi = dist.bounds
        pad = 0.5 * (hi - lo)  # past the view bounds, so that no tail mass is lost
        x = np.linspace(min(lo, lo + theta) - pad, max(hi, hi + theta) + pad, n)
        p, q = dist.density(x[:, None]), dist.density((x - theta)[:, None])
        p[p < 1e-300], q[q < 1e-300] = 0.0, 0.0  # subnormals: (p + q) / 2 would round to 0
        return M.jsd_quadrature(p, q, x)
    return float("nan")


def _config(s: SweepSettings, theta: float, objective: str, **extra) -> TrainConfig:
    base = dict(
        data=s.data, generator="shift", shift_x=float(theta), shift_y=0.0, objective=objective,
        d_width=s.width, d_depth=s.depth, g_width=4, g_depth=1, batch_size=s.batch_size, seed=s.seed,
        device="cpu", n_view=64, grid_size=16, w1_samples=256, kde_samples=4096, mode_samples=100,
        d_lr=s.lr, beta1=0.5, beta2=0.999,
    )
    base.update(extra)
    return TrainConfig(**base)


def _train(trainer: Trainer, steps: int, chunk: int, warm: int = 0, lam: float = 0.0) -> Iterator[int]:
    """Train `steps` D updates, yielding the count done every `chunk`; switch gp_lambda on after `warm`."""
    done = 0
    while done < steps:
        if warm and done == warm:
            trainer.submit(SetConfig({"gp_lambda": lam}))
        n = min(chunk, steps - done, (warm - done) if done < warm else steps)
        trainer.train(n)
        done += n
        yield n


def _critic_on(trainer: Trainer, pts: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        out = trainer.D(torch.as_tensor(pts, dtype=torch.float32))
    return out.reshape(-1).double().numpy()


def _curve(s: SweepSettings, theta: float, d: Trainer, gp: Trainer, clip: Trainer | None) -> Curve:
    dist = d.data
    if dist.dim == 1:
        lo, hi = dist.bounds
        x = np.linspace(min(lo, lo + theta), max(hi, hi + theta), 801)
        pts, pts_g, slice_y = x[:, None], (x - theta)[:, None], None
    else:
        x0, x1 = dist.bounds[0], dist.bounds[1]
        pad = 0.5 * (x1 - x0) / 2
        lo, hi = min(0.0, theta) - pad, max(0.0, theta) + pad
        x = np.linspace(lo, hi, 1601)  # fine enough for the 0.005-wide parallel lines
        slice_y = 0.5
        pts = np.column_stack([x, np.full_like(x, slice_y)])
        pts_g = np.column_stack([x - theta, np.full_like(x, slice_y)])
    zero = np.zeros((1, dist.dim))
    if dist.dim == 2:
        zero[0, 1] = slice_y
    d_prob = 1.0 / (1.0 + np.exp(-np.clip(_critic_on(d, pts), -60, 60)))
    critic_gp = _critic_on(gp, pts) - _critic_on(gp, zero)[0]
    critic_clip = None if clip is None else _critic_on(clip, pts) - _critic_on(clip, zero)[0]
    return Curve(float(theta), x, d_prob, critic_gp, critic_clip, dist.density(pts), dist.density(pts_g), slice_y)


def iter_theta(theta: float, settings: SweepSettings | None = None,
               with_curve: bool = True) -> Iterator[tuple[float, ThetaResult | None]]:
    """Train the discriminators at one theta. Yields (fraction done, None) every `chunk` steps and finally
    (1.0, ThetaResult)."""
    s = settings or SweepSettings()
    s.validate()
    theta = float(theta)
    warm = int(round(s.gp_warmup * s.steps))
    d = Trainer(_config(s, theta, "ns"))
    gp = Trainer(_config(s, theta, "wgan-gp", gp_lambda=0.0 if warm else s.gp_lambda, beta2=0.9))
    clip = None
    if s.clipped:
        clip = Trainer(_config(s, theta, "wgan", clip=s.clip, d_optimizer="rmsprop", d_lr=s.clip_lr))
    total = s.steps * (3 if clip else 2)
    done = 0
    jobs = [_train(d, s.steps, s.chunk), _train(gp, s.steps, s.chunk, warm, s.gp_lambda)]
    if clip is not None:
        jobs.append(_train(clip, s.steps, s.chunk))
    for job in jobs:
        for n in job:
            done += n
            yield done / total, None
    md, mg = d.compute_metrics(), gp.compute_metrics()
    gap_clip = clip.compute_metrics()["critic_gap"] if clip is not None else float("nan")
    jsd_true = md.get("jsd_true", float("nan")) if d.dim == 1 else true_jsd(s.data, theta)
    curve = _curve(s, theta, d, gp, clip) if with_curve else None
    yield 1.0, ThetaResult(
        theta=theta, jsd_est=float(md["jsd_est"]), jsd_true=float(jsd_true), w1_exact=abs(theta),
        w1=float(md["w1"]), critic_gap=float(mg["critic_gap"]), critic_gap_clip=float(gap_clip),
        gp_soft_optimum=float(gp_soft_optimum(theta, s.gp_lambda)), curve=curve,
    )


def train_theta(theta: float, settings: SweepSettings | None = None, with_curve: bool = True) -> ThetaResult:
    """`iter_theta` run to the end: the result at one theta (with its D / critic curve)."""
    result = None
    for _, item in iter_theta(theta, settings, with_curve):
        result = item
    assert result is not None
    return result


def discriminator_curve(theta: float, settings: SweepSettings | None = None) -> Curve:
    """D(x) (probability), the GP critic f(x) (and the clipped one), p_data and p_g along x at theta."""
    curve = train_theta(theta, settings, with_curve=True).curve
    assert curve is not None
    return curve


def iter_sweep(thetas: np.ndarray | list[float], settings: SweepSettings | None = None,
               with_curves: bool = True) -> Iterator[tuple[float, ThetaResult | None]]:
    """The sweep, theta by theta: yields (fraction of the whole sweep done, None) while training and
    (fraction, ThetaResult) each time a theta finishes."""
    thetas = [float(t) for t in thetas]
    for i, theta in enumerate(thetas):
        for frac, result in iter_theta(theta, settings, with_curves):
            yield (i + frac) / len(thetas), result


TABLE_KEYS = ("theta", "jsd_est", "jsd_true", "w1_exact", "w1", "critic_gap", "critic_gap_clip", "gp_soft_optimum")


def results_table(results: list[ThetaResult]) -> dict[str, np.ndarray]:
    """Column arrays (float64) keyed by TABLE_KEYS."""
    return {k: np.array([getattr(r, k) for r in results], dtype=np.float64) for k in TABLE_KEYS}


def sweep(thetas: np.ndarray | list[float] | None = None, settings: SweepSettings | None = None,
          **overrides) -> dict[str, np.ndarray]:
    """Retrain D and the critics at every theta and tabulate (dict of arrays, TABLE_KEYS).

    `overrides` replace SweepSettings fields, e.g. sweep([0.5, 2], data="disjoint-1d", steps=300)."""
    s = dataclasses.replace(settings or SweepSettings(), **overrides)
    if thetas is None:
        thetas = default_thetas(s.data)
    results = [r for _, r in iter_sweep(thetas, s, with_curves=False) if r is not None]
    return results_table(results)


# ------------------------------------------------------------------------------------------ critic shapes

@dataclass(frozen=True)
class ShapeSettings:
    """Two critics on the same data against the fixed generator p_data + N(0, noise_sigma^2)."""

    data: str = "ring8"
    noise_sigma: float = 0.5
    steps: int = 2000
    width: int = 64
    depth: int = 3
    batch_size: int = 256
    clip: float = 0.01
    clip_lr: float = 5e-4  # RMSProp (WGAN paper uses 5e-5 over many more steps)
    gp_lambda: float = 10.0
    gp_lr: float = 3e-3  # Adam betas (0.5, 0.9)
    grid: int = 80
    seed: int = 0
    chunk: int = 100


@dataclass(frozen=True)
class CriticShapes:
    """Both critics on a grid after `step` steps: values[iy, ix] at (xs[ix], ys[iy]) (row-major)."""

    step: int
    steps: int
    xs: np.ndarray
    ys: np.ndarray
    clip_values: np.ndarray
    gp_values: np.ndarray
    real: np.ndarray  # (n, 2) data samples
    fake: np.ndarray  # (n, 2) generator samples (data + noise)
    clip_gap: float
    gp_gap: float


def iter_critic_shapes(settings: ShapeSettings | None = None) -> Iterator[CriticShapes]:
    """Train the clipped and the GP critic side by side, yielding both fields every `chunk` steps."""
    s = settings or ShapeSettings()
    common = dict(data=s.data, generator="noise", noise_sigma=s.noise_sigma, d_width=s.width, d_depth=s.depth,
                  g_width=4, g_depth=1, batch_size=s.batch_size, seed=s.seed, device="cpu", n_view=512,
                  grid_size=16, w1_samples=64, mode_samples=100)
    clip = Trainer(TrainConfig(objective="wgan", clip=s.clip, d_optimizer="rmsprop", d_lr=s.clip_lr, **common))
    gp = Trainer(TrainConfig(objective="wgan-gp", gp_lambda=s.gp_lambda, d_lr=s.gp_lr, beta1=0.5, beta2=0.9,
                             **common))
    x0, x1, y0, y1 = clip.data.bounds
    xs = np.linspace(x0, x1, s.grid)
    ys = np.linspace(y0, y1, s.grid)
    gx, gy = np.meshgrid(xs, ys)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    gen = torch.Generator().manual_seed(s.seed + 11)
    real = clip.data.sample(512, gen).numpy().astype(np.float64)
    fake = real + s.noise_sigma * torch.randn(real.shape, generator=gen).double().numpy()
    done = 0
    while True:
        cl = _critic_on(clip, pts).reshape(len(ys), len(xs))
        gv = _critic_on(gp, pts).reshape(len(ys), len(xs))
        clip_gap = float(_critic_on(clip, real).mean() - _critic_on(clip, fake).mean())
        gp_gap = float(_critic_on(gp, real).mean() - _critic_on(gp, fake).mean())
        yield CriticShapes(done, s.steps, xs, ys, cl, gv, real, fake, clip_gap, gp_gap)
        if done >= s.steps:
            return
        n = min(s.chunk, s.steps - done)
        clip.train(n)
        gp.train(n)
        done += n


def critic_shapes(settings: ShapeSettings | None = None) -> CriticShapes:
    """The final fields of `iter_critic_shapes`."""
    last = None
    for frame in iter_critic_shapes(settings):
        last = frame
    assert last is not None
    return last
