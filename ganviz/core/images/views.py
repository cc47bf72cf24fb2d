"""Image-data views and metrics, computed from frozen weights in whichever thread or process asks (the
image counterpart of `ganviz.core.fields.ViewState`).

The coverage classifier is trained on first use (then cached on disk); until it is ready, a background
thread trains it and snapshots carry no coverage numbers, so no frame ever waits for it.
"""

from __future__ import annotations

import threading

import numpy as np
import torch
from torch import Tensor

from ..config import TrainConfig
from ..distributions import NoisePrior
from ..fields import _distribution, d_value_metrics
from ..objectives import get_objective
from ..snapshot import ImageViews

GRID = 64  # images in the 8x8 grids
INTERP_ROWS, INTERP_COLS = 2, 10
METRIC_SAMPLES = 1024  # generated (and real) images per metrics evaluation


def interpolation_path(z_a: Tensor, z_b: Tensor, cols: int, prior: str) -> Tensor:
    """(rows, cols, z_dim) latent points from z_a[r] to z_b[r]: spherical interpolation for a Gaussian
    prior (a straight line would pass through the low-density centre), linear for a uniform prior."""
    t = torch.linspace(0.0, 1.0, cols, device=z_a.device)[None, :, None]
    a, b = z_a[:, None, :], z_b[:, None, :]
    if prior != "gaussian":
        return (1 - t) * a + t * b
    cos = (z_a * z_b).sum(-1) / (z_a.norm(dim=-1) * z_b.norm(dim=-1)).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1 + 1e-7, 1 - 1e-7))[:, None, None]
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / so


# ---------------------------------------------------------------------- classifier, off the frame path
_CLASSIFIERS: dict[str, object] = {}
_LOADING: set[str] = set()
_FAILED: dict[str, str] = {}
_LOCK = threading.Lock()


def classifier_status(name: str | None) -> str:
    """'ready', 'training', 'failed: ...', or 'none' (no classifier for this data)."""
    if name is None:
        return "none"
    with _LOCK:
        if name in _CLASSIFIERS:
            return "ready"
        if name in _FAILED:
            return "failed: " + _FAILED[name]
        return "training" if name in _LOADING else "not started"


def classifier_nowait(name: str | None, wait: bool = False):
    """The coverage classifier for the built-in dataset `name`, or None while it is being trained in a
    background thread (started by the first call). wait=True blocks until it is ready (CLI, tests)."""
    if name is None:
        return None
    with _LOCK:
        if name in _CLASSIFIERS:
            return _CLASSIFIERS[name]
        if name in _FAILED:
            return None
        start = name not in _LOADING
        _LOADING.add(name)
    if wait:
        _load(name)
        return _CLASSIFIERS.get(name)
    if start:
        threading.Thread(target=_load, args=(name,), name=f"ganviz-classifier-{name}", daemon=True).start()
    return None


def _load(name: str) -> None:
    from .classifier import get_classifier, real_feature_stats

    try:
        clf = get_classifier(name, "cpu")
        stats = real_feature_stats(name, "cpu")
        with _LOCK:
            _CLASSIFIERS[name] = (clf, stats)
    except Exception as exc:  # coverage metrics are an extra: a failure must not stop training
        with _LOCK:
            _FAILED[name] = f"{type(exc).__name__}: {exc}"
    finally:
        with _LOCK:
            _LOADING.discard(name)


class ImageViewState:
    """Frozen G and D copies and the fixed batches of an image run. Picklable; `compute()` returns the
    snapshot fields (images, d_real, d_fake, real/fake placeholders) and, with metrics_step, the metrics."""

    def __init__(self, cfg: TrainConfig, d, g, z_fixed: Tensor, z_interp: Tensor, x_view: Tensor,
                 device: torch.device, metrics_step: int | None = None, with_views: bool = True) -> None:
        self.cfg, self.d, self.g = cfg, d, g
        self.z_fixed, self.z_interp, self.x_view = z_fixed, z_interp, x_view
        self.device = torch.device(device)
        self.metrics_step = metrics_step
        self.with_views = with_views

    def to(self, device: torch.device | str) -> ImageViewState:
        return ImageViewState(self.cfg, self.d.to(device), self.g.to(device), self.z_fixed.to(device),
                              self.z_interp.to(device), self.x_view.to(device), torch.device(device),
                              self.metrics_step, self.with_views)

    def compute(self) -> dict:
        out = self.compute_views() if self.with_views else {}
        if self.metrics_step is not None:
            out["metrics"] = self.metrics(self.metrics_step)
            out["metrics_step"] = self.metrics_step
        return out

    def compute_views(self, labels: bool = True) -> dict:
        """The grids, the interpolation strip and D's outputs; labels=False leaves the classifier alone (the
        training process's first frame: it would load the classifier in a process that never uses it again)."""
        cfg = self.cfg
        data = _distribution(cfg)
        obj = get_objective(cfg.objective)
        side = 28
        with torch.no_grad():
            fake = self.g(self.z_fixed)  # (n_view, 784): one batch, like a training step
            d_real = obj.display(self.d(self.x_view).reshape(-1))
            d_fake = obj.display(self.d(fake).reshape(-1))
            n = self.z_interp.shape[0] // 2
            path = interpolation_path(self.z_interp[:n], self.z_interp[n:], INTERP_COLS, cfg.z_prior)
            interp = self.g(path.reshape(-1, path.shape[-1])).reshape(n, INTERP_COLS, side, side)
            grid = fake[:GRID].float().cpu()  # one host copy, for the classifier and the grid
            name = getattr(data, "classifier_name", None)
            entry = classifier_nowait(name) if labels else None
            status = classifier_status(name) if labels or name is None else "loading"
            labels = conf = None
            if entry is not None:
                lab, p = entry[0].predict(grid)
                labels, conf = lab.cpu().numpy(), p.cpu().numpy()
        views = ImageViews(
            fake=grid.reshape(-1, side, side).numpy(),
            real=self.x_view[:GRID].reshape(-1, side, side).float().cpu().numpy(),
            interp=interp.float().cpu().numpy(),
            class_names=getattr(data, "class_names", None),
            fake_labels=labels if labels is not None else np.full(len(grid), -1, dtype=np.int64),
            fake_confidence=conf if conf is not None else np.full(len(grid), np.nan, dtype=np.float32),
            classifier_status=status,
        )
        return {"images": views, "d_real": d_real.cpu().numpy(), "d_fake": d_fake.cpu().numpy()}

    def sample_fake(self, n: int, gen: torch.Generator) -> Tensor:
        z = NoisePrior(self.cfg.z_prior, self.cfg.z_dim).sample(n, gen, self.device)
        return self.g(z)

    def metrics(self, step: int) -> dict[str, float]:
        """Metrics on fresh samples from a generator seeded by (seed, step): same step, same numbers.

        D's value / JSD estimate (or critic gap) and mean outputs on 1024 real and 1024 generated images;
        with a coverage classifier: classes covered, KL of the class histogram to uniform, per-class shares,
        mean class confidence and a Fréchet distance in the classifier's feature space."""
        cfg = self.cfg
        data = _distribution(cfg)
        obj = get_objective(cfg.objective)
        gen = torch.Generator(device=self.device).manual_seed(cfg.seed * 1_000_003 + step + 17)
        fake = self.sample_fake(METRIC_SAMPLES, gen)
        real = data.sample(METRIC_SAMPLES, gen, self.device)
        out = d_value_metrics(self.d, obj, real, fake)
        if not bool(torch.isfinite(fake).all()):
            return out
        entry = classifier_nowait(getattr(data, "classifier_name", None))
        if entry is not None:
            from .classifier import image_metrics

            clf, stats = entry
            n_classes = len(data.class_names) if data.class_names else 10
            out.update({k: float(v) for k, v in image_metrics(clf, fake.to("cpu"), stats, n_classes).items()})
        return out


