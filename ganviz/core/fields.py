"""What views and metrics compute from frozen weights: pure functions, runnable from any thread or process.

`ViewState` is picklable, so a trainer in a child process ships frozen weights and the window's process
evaluates D on grids and computes the metrics on its own core. The trainer uses the same functions, so
metrics are bitwise identical wherever they are computed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from . import metrics as M
from .config import TrainConfig
from .distributions import Distribution, NoisePrior, make_distribution
from .generators import generator_kind
from .manifold import GeneratorWeights
from .models import FrozenMLP
from .objectives import get_objective
from .snapshot import Field1D, Field2D


def p_g_1d(cfg: TrainConfig, data: Distribution, x: np.ndarray,
           fake_samples: np.ndarray | None) -> np.ndarray | None:
    """Generator density on x: the fixed generator's own when it has one in closed form, else a KDE of samples."""
    analytic = generator_kind(cfg.generator).density_1d(cfg, data, x)
    if analytic is not None:
        return analytic
    if fake_samples is None:
        return None
    return M.kde_1d(fake_samples, x)


def field_1d(d_raw: Callable[[Tensor], Tensor], display: Callable[[Tensor], Tensor], cfg: TrainConfig,
             data: Distribution, fake_samples: np.ndarray | None, device: torch.device) -> Field1D:
    """D's displayed output, p_data, p_g and D* = p_data / (p_data + p_g) on the view grid."""
    lo, hi = data.bounds
    x = np.linspace(lo, hi, max(4 * cfg.grid_size, 64))
    with torch.no_grad():
        raw = d_raw(torch.as_tensor(x, dtype=torch.float32, device=device)[:, None]).reshape(-1)
        d = display(raw).cpu().numpy().astype(np.float64)
    p_data = data.density(x[:, None])
    p_g = p_g_1d(cfg, data, x, fake_samples)
    d_star = M.optimal_d(p_data, p_g) if p_g is not None else None
    return Field1D(x, d, p_data, p_g, d_star)


def field_2d(d_raw: Callable[[Tensor], Tensor], display: Callable[[Tensor], Tensor], grid_size: int,
             bounds: tuple[float, ...], device: torch.device) -> Field2D:
    """D's displayed output on a grid_size^2 grid; values[iy, ix] at (xs[ix], ys[iy]) (row-major)."""
    x0, x1, y0, y1 = bounds
    xs = np.linspace(x0, x1, grid_size, dtype=np.float32)
    ys = np.linspace(y0, y1, grid_size, dtype=np.float32)
    gx, gy = np.meshgrid(xs, ys)
    pts = torch.as_tensor(np.stack([gx.ravel(), gy.ravel()], axis=1), device=device)
    with torch.no_grad():
        vals = display(d_raw(pts).reshape(-1)).reshape(len(ys), len(xs))
    return Field2D(xs, ys, vals.float().cpu().numpy())


class ViewState:
    """What a snapshot's view arrays are computed from: frozen weights and the fixed batches. Picklable,
    so a trainer in another process can ship it; `compute()` runs in whichever thread or process asks."""

    def __init__(self, cfg: TrainConfig, d: FrozenMLP, g: FrozenMLP | None, z_fixed: Tensor, z_kde: Tensor,
                 x_view: Tensor, x_fixed: Tensor, device: torch.device, metrics_step: int | None = None,
                 with_views: bool = True) -> None:
        self.cfg, self.d, self.g = cfg, d, g
        self.z_fixed, self.z_kde, self.x_view, self.x_fixed = z_fixed, z_kde, x_view, x_fixed
        self.device = torch.device(device)
        self.metrics_step = metrics_step  # compute metrics (seeded by this step) too, when not None
        self.with_views = with_views

    def to(self, device: torch.device | str) -> ViewState:
        """A copy on another device (the CPU before crossing a process boundary)."""
        return ViewState(self.cfg, self.d.to(device), None if self.g is None else self.g.to(device),
                         self.z_fixed.to(device), self.z_kde.to(device), self.x_view.to(device),
                         self.x_fixed.to(device), torch.device(device), self.metrics_step, self.with_views)

    def _fixed_fake(self, base: Tensor, seed: int) -> Tensor:
        gen = torch.Generator(device=self.device).manual_seed(seed)
        return generator_kind(self.cfg.generator).transform(base, self.cfg, gen)

    def compute(self) -> dict:
        """Snapshot fields: fake, d_real, d_fake, grad_fake, z_grid, field1d / field2d (numpy), and
        metrics + metrics_step when this state was made with a metrics_step."""
        out = self.compute_views() if self.with_views else {}
        if self.metrics_step is not None:
            out["metrics"] = compute_metrics(self, self.metrics_step)
            out["metrics_step"] = self.metrics_step
        return out

    def sample_fake(self, n: int, gen: torch.Generator) -> Tensor:
        """n generated samples drawn with gen: G(z) for a learned generator, else the fixed generator's law."""
        cfg, dev = self.cfg, self.device
        if self.g is not None:
            z = NoisePrior(cfg.z_prior, cfg.z_dim).sample(n, gen, dev)
            with torch.no_grad():
                return self.g(z)
        base = _distribution(cfg).sample(n, gen, dev)
        return generator_kind(cfg.generator).transform(base, cfg, gen)

    def compute_views(self) -> dict:
        """View arrays. With minibatch features in D (config mbdisc / mbstd) a point's output depends on its
        batch, so each set is scored in an explicit context: the real view batch as one batch (d_real), the
        fixed-noise fakes as one batch (d_fake and the arrows: exactly what a training step does), and every
        grid point (1D curve, 2D heatmap) as if it joined the batch of fixed-noise fakes, i.e. "what D would
        say to a fake that landed here". Metrics score 2048 real and 2048 fake samples as one batch each."""
        cfg, dev, d_frozen, g_frozen = self.cfg, self.device, self.d, self.g
        data = _distribution(cfg)
        obj = get_objective(cfg.objective)
        dim = data.dim
        with torch.no_grad():
            if g_frozen is not None:
                fake_t = g_frozen(self.z_fixed)
            else:
                fake_t = self._fixed_fake(self.x_fixed, cfg.seed + 104729)
            d_real = obj.display(d_frozen(self.x_view).reshape(-1)).cpu().numpy()
        out: dict = {"real": self.x_view.cpu().numpy(), "fake": fake_t.cpu().numpy(), "d_real": d_real}
        with torch.enable_grad():
            fx = fake_t.detach().requires_grad_(True)
            raw_f = d_frozen(fx).reshape(-1)
            (grad,) = torch.autograd.grad(raw_f.sum(), fx)
        out["d_fake"] = obj.display(raw_f.detach()).cpu().numpy()
        out["grad_fake"] = grad.cpu().numpy() if dim == 2 else None
        fake_ctx = fake_t.detach()

        def d_grid(x: Tensor) -> Tensor:
            # with minibatch features: a grid point is scored as if it joined the fixed fake batch
            return d_frozen(x, context=fake_ctx)

        if g_frozen is not None and dim <= 2:  # the manifold layer's G: numpy views of the frozen copy
            out["generator"] = GeneratorWeights.of(g_frozen, cfg.z_prior, cfg.z_dim)
        with torch.no_grad():
            if g_frozen is not None and cfg.z_dim <= 2 and dim == 2:
                k = 21
                img = g_frozen(NoisePrior(cfg.z_prior, cfg.z_dim).grid(k).to(dev)).cpu().numpy()
                out["z_grid"] = img.reshape(k, k if cfg.z_dim == 2 else 1, dim)
            if dim == 1:
                fake = None
                if g_frozen is not None:
                    fake = g_frozen(self.z_kde).cpu().numpy().ravel()
                elif not generator_kind(cfg.generator).has_density(data):  # p_g from a KDE of its samples
                    gen = torch.Generator(device=dev).manual_seed(cfg.seed + 3)
                    base = data.sample(cfg.kde_samples, gen, dev)
                    fake = self._fixed_fake(base, cfg.seed + 5).cpu().numpy().ravel()
                out["field1d"] = field_1d(d_grid, obj.display, cfg, data, fake, dev)
            else:
                out["field2d"] = field_2d(d_grid, obj.display, cfg.grid_size, data.bounds, dev)
        return out


_DIST_CACHE: dict[tuple, Distribution] = {}


def _distribution(cfg: TrainConfig) -> Distribution:
    key = (cfg.data, cfg.ring_radius, cfg.ring_std, cfg.image_path, cfg.image_range)
    if key not in _DIST_CACHE:
        if len(_DIST_CACHE) > 16:
            _DIST_CACHE.clear()
        _DIST_CACHE[key] = make_distribution(*key, data_points=cfg.data_points)
    return _DIST_CACHE[key]


def d_value_metrics(d: Callable[[Tensor], Tensor], obj, real: Tensor, fake: Tensor) -> dict[str, float]:
    """D's view of a real and a fake batch (each scored as one batch), with one host copy: for probability
    objectives the value V = E log D(x) + E log(1 - D(G(z))) and the JSD estimate (V + log 4) / 2, for
    critics the gap E f(real) - E f(fake); and the mean displayed output on each side."""
    with torch.no_grad():
        raw_r = d(real).reshape(-1)
        raw_f = d(fake).reshape(-1)
        if obj.is_probability:
            logsig = torch.nn.functional.logsigmoid
            v = logsig(raw_r).mean() + logsig(-raw_f).mean()
        else:
            v = raw_r.mean() - raw_f.mean()
        packed = torch.stack([v, obj.display(raw_r).mean(), obj.display(raw_f).mean()]).cpu().numpy()
    out: dict[str, float] = {}
    if obj.is_probability:
        out["value_v"] = float(packed[0])
        out["jsd_est"] = M.jsd_from_value(float(packed[0]))
        out["critic_gap"] = float("nan")
    else:
        out["jsd_est"] = float("nan")
        out["critic_gap"] = float(packed[0])
    out["d_real_mean"] = float(packed[1])
    out["d_fake_mean"] = float(packed[2])
    return out


def compute_metrics(view: ViewState, step: int) -> dict[str, float]:
    """Metrics on fresh samples from a generator seeded by (seed, step): same step, same numbers.

    Sample counts come from the config: w1_samples (2D exact W1; 1D uses kde_samples), mode_samples
    (VEEGAN/PacGAN protocol), kde_samples (1D KDE / true JSD); V, critic gap and mean D use 2048 each.
    """
    cfg, dev = view.cfg, view.device
    data = _distribution(cfg)
    obj = get_objective(cfg.objective)
    dim = data.dim
    gen = torch.Generator(device=dev).manual_seed(cfg.seed * 1_000_003 + step + 17)
    out: dict[str, float] = {}
    n_w1 = cfg.kde_samples if dim == 1 else cfg.w1_samples
    n_mode = cfg.mode_samples if data.modes is not None and dim == 2 else 0
    n_fake = max(n_w1, n_mode, cfg.kde_samples if dim == 1 else 0, 512)
    fake_t = view.sample_fake(n_fake, gen)
    real_t = data.sample(n_fake, gen, dev)
    out.update(d_value_metrics(view.d, obj, real_t[:2048], fake_t[:2048]))
    fake = fake_t.cpu().numpy().astype(np.float64)
    real = real_t.cpu().numpy().astype(np.float64)
    if not np.all(np.isfinite(fake)):
        out["w1"] = float("nan")
        return out
    out["w1"] = M.w1_exact(real[:n_w1], fake[:n_w1])
    if n_mode:
        mm = M.mode_metrics(fake[:n_mode], data.modes, data.mode_std, weights=getattr(data, "weights", None))
        counts = mm.pop("counts")
        out.update({k: float(v) for k, v in mm.items()})
        out.update({f"mode_share_{i}": float(c) / max(float(counts.sum()), 1.0) for i, c in enumerate(counts)})
    if dim == 1:
        out["jsd_true"] = true_jsd_1d(cfg, data, fake[: cfg.kde_samples])
    return out


def true_jsd_1d(cfg: TrainConfig, data: Distribution, fake: np.ndarray) -> float:
    """JSD(p_data || p_g) by quadrature on a grid wide enough for both (p_g analytic or a KDE of fake)."""
    lo, hi = data.bounds
    bw = M.scott_bandwidth(fake)
    lo = min(lo, float(fake.min()) - 5 * bw)
    hi = max(hi, float(fake.max()) + 5 * bw)
    x = np.linspace(lo, hi, 4096)
    return M.jsd_quadrature(data.density(x[:, None]), p_g_1d(cfg, data, x, fake), x)
