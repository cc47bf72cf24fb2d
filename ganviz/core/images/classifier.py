"""Class coverage for image GANs: a small CNN trained on a built-in dataset labels generated samples.

The built-in datasets' classifiers ship with ganviz (assets/classifiers: float16 weights, the held-out accuracy
and the real-feature statistics, made by `scripts/train_coverage_classifier.py` with exactly the recipe below;
`shipped_file`), so the first image scene needs no training and no rendering for its coverage metrics. When the
shipped file is missing or does not match CLASSIFIER_VERSION / RENDER_VERSION, `get_classifier(name)` trains
the classifier once (3 epochs of Adam on bank(name, 20000, 0) with light
pixel-noise augmentation; always on CPU, with the caller's torch thread count, from fixed seeds and without
touching the global RNG; about 5 s of one core) and caches its weights on disk (see `cache`; loaded with
torch.load(weights_only=True), a corrupt file is retrained) and in this process per (name, device). Its
held-out accuracy on render(name, 2000, 12345), images it never saw, is measured after training and kept
with the weights (`heldout_accuracy`).

Image files with labels (npz y / labels, MNIST idx labels beside the images, folder-per-class) get their own
classifier the same way (`register_file_data`): trained on 9 of every 10 of the file's images (at least
FILE_MIN_SAMPLES images seen), its accuracy measured on the tenth, cached under a hash of the data.

Inputs are float tensors in [-1, 1] (x = pixels / 127.5 - 1), shaped (n, 784), (n, 28, 28) or
(n, 1, 28, 28), on any device (moved to the classifier's); results come back on the CPU.

Metrics (`image_metrics`): the Stacked-MNIST style class coverage (classes covered, KL of the class
histogram to uniform, per-class shares; see `coverage_metrics` for the threshold), the mean max-probability
("class_confidence", a quality proxy like VEEGAN's high-quality rate) and "frechet", an FID-like distance
in this small classifier's 64-d feature space. It is NOT comparable to the Inception FID of papers: it only
ranks runs on the same built-in data against each other.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from .cache import cache_dir, write_bytes_atomic
from .datasets import CLASS_NAMES, IMAGE_SIZE, RENDER_VERSION, bank, render

log = logging.getLogger(__name__)

CLASSIFIER_VERSION = 1  # bump when the network or its training changes: cached weights are then retrained
TRAIN_SIZE = 20_000
TRAIN_SEED = 0
EPOCHS = 3
BATCH = 128
HELDOUT_SIZE = 2000
HELDOUT_SEED = 12345  # render() seed of the held-out check (training uses bank seed 0)
REAL_STATS_SIZE = 5000
REAL_STATS_SEED = 1  # the real-feature statistics use images the classifier was not trained on
COVER_SHARE = 0.1  # a class is covered with at least this fraction of its uniform share of the samples
CONFIDENT = 0.9  # ... of samples the classifier labels with at least this probability (recognisable ones)
FEATURES = 64
_PREDICT_CHUNK = 4096


class _Net(nn.Module):
    """conv 5x5 s2 (16) -> conv 3x3 s2 (32) -> dense 64 (the features) -> K logits."""

    def __init__(self, n_classes: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5, stride=2, padding=2)  # 28 -> 14
        self.conv2 = nn.Conv2d(16, 32, 3, stride=2, padding=1)  # 14 -> 7
        self.fc = nn.Linear(32 * 7 * 7, FEATURES)
        self.head = nn.Linear(FEATURES, n_classes)

    def features(self, x: Tensor) -> Tensor:
        h = torch.relu(self.conv1(x))
        h = torch.relu(self.conv2(h))
        return torch.relu(self.fc(h.flatten(1)))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        f = self.features(x)
        return self.head(f), f


class Classifier:
    """A trained coverage classifier for one built-in dataset or labelled file, on one device (inference only)."""

    def __init__(self, name: str, net: _Net, heldout_accuracy: float, device: torch.device | str = "cpu") -> None:
        self.name = name
        self.class_names = class_names(name)
        self.n_classes = len(self.class_names)
        self.device = torch.device(device)
        self.net = net.to(self.device).eval()
        self.heldout_accuracy = float(heldout_accuracy)

    def _prep(self, x: Tensor) -> Tensor:
        x = torch.as_tensor(x)
        if x.dim() == 2 and x.shape[1] == IMAGE_SIZE * IMAGE_SIZE:
            x = x.reshape(-1, 1, IMAGE_SIZE, IMAGE_SIZE)
        elif x.dim() == 3 and tuple(x.shape[1:]) == (IMAGE_SIZE, IMAGE_SIZE):
            x = x.unsqueeze(1)
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"expected images (n, 784), (n, 28, 28) or (n, 1, 28, 28), got {tuple(x.shape)}")
        return x.to(device=self.device, dtype=torch.float32)

    @torch.no_grad()
    def run(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(logits (n, K), features (n, 64)), float32 on the CPU, in chunks of 4096."""
        x = self._prep(x)
        if len(x) == 0:
            return torch.zeros(0, self.n_classes), torch.zeros(0, FEATURES)
        outs = [self.net(x[i:i + _PREDICT_CHUNK]) for i in range(0, len(x), _PREDICT_CHUNK)]
        return torch.cat([o[0] for o in outs]).cpu(), torch.cat([o[1] for o in outs]).cpu()

    def predict(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(labels int64 (n,), max class probability float32 (n,)) on the CPU."""
        logits, _ = self.run(x)
        p, labels = torch.softmax(logits, dim=1).max(dim=1)
        return labels, p

    def features(self, x: Tensor) -> Tensor:
        """Penultimate-layer features float32 (n, 64) on the CPU (for the Fréchet distance)."""
        return self.run(x)[1]

    def accuracy(self, images: np.ndarray, labels: np.ndarray) -> float:
        """Fraction of uint8 images (n, 28, 28) whose predicted label is right."""
        pred, _ = self.predict(to_unit(images))
        return float((pred.numpy() == np.asarray(labels)).mean())


def to_unit(images: np.ndarray) -> Tensor:
    """uint8 images (n, 28, 28) -> float32 tensor (n, 1, 28, 28) in [-1, 1] (pixels / 127.5 - 1)."""
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.uint8)).float()
    return (x / 127.5 - 1.0).reshape(-1, 1, IMAGE_SIZE, IMAGE_SIZE)


# ----------------------------------------------------------------------------------------------- training

# ------------------------------------------------------------------------------------ labelled user files
FILE_MIN_SAMPLES = 40_000  # a labelled file's classifier sees at least this many images (epochs over a small file)
FILE_MAX_EPOCHS = 60
_FILE_DATA: dict[str, tuple[np.ndarray, np.ndarray, tuple[str, ...]]] = {}


def register_file_data(images: np.ndarray, labels: np.ndarray, names: tuple[str, ...]) -> str:
    """Make a labelled image file's classes available as a coverage classifier; returns its name
    ("file-<hash of images, labels, names>": the weights are cached on disk under it). Every 10th image is
    held out to measure its accuracy; the rest train it."""
    h = hashlib.sha256(np.ascontiguousarray(images, np.uint8).tobytes())
    h.update(np.ascontiguousarray(labels, np.int64).tobytes())
    h.update("\0".join(names).encode("utf-8", "replace"))
    name = f"file-{h.hexdigest()[:16]}"
    with _LOCK:
        _FILE_DATA[name] = (np.asarray(images, np.uint8), np.asarray(labels, np.int64), tuple(names))
    return name


def class_names(name: str) -> tuple[str, ...]:
    if name in _FILE_DATA:
        return _FILE_DATA[name][2]
    if name in CLASS_NAMES:
        return CLASS_NAMES[name]
    raise ValueError(f"no coverage classifier for {name!r}; choose from {sorted(CLASS_NAMES)} (or a labelled file)")


def _data(name: str, part: str) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images, labels) of a classifier's data: part = train, heldout or stats."""
    if name in _FILE_DATA:
        images, labels, _ = _FILE_DATA[name]
        held = np.arange(len(images)) % 10 == 0
        if part == "train" and len(images) >= 20:
            return images[~held], labels[~held]
        if part == "heldout" and len(images) >= 20:
            return images[held], labels[held]
        return images[:REAL_STATS_SIZE], labels[:REAL_STATS_SIZE]
    if part == "train":
        return bank(name, TRAIN_SIZE, TRAIN_SEED)
    if part == "heldout":
        return render(name, HELDOUT_SIZE, HELDOUT_SEED)
    return bank(name, REAL_STATS_SIZE, REAL_STATS_SEED)


def _train(name: str) -> tuple[_Net, float, float]:
    """Train on CPU with a fixed seed; (net, held-out accuracy, seconds). The global RNG is left untouched."""
    t0 = time.perf_counter()
    images, labels = _data(name, "train")
    x, y = to_unit(images), torch.from_numpy(labels)
    with torch.random.fork_rng(devices=[]):  # seeds (and then restores) only the CPU default generator
        torch.default_generator.manual_seed(1234)
        net = _Net(len(class_names(name)))
    gen = torch.Generator().manual_seed(4321)
    epochs = EPOCHS if name in CLASS_NAMES else max(EPOCHS, min(FILE_MAX_EPOCHS, math.ceil(FILE_MIN_SAMPLES / len(x))))
    steps = epochs * math.ceil(len(x) / BATCH)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    warm = max(1, steps // 10)  # linear warm-up over the first 10% of steps, then linear decay to 0
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, 1.0 - s / steps))
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), BATCH):
            idx = order[i:i + BATCH]
            xb = x[idx]
            # robustness to generator artefacts: per-image Gaussian pixel noise with std in [0, 0.3]
            sigma = torch.rand(len(xb), 1, 1, 1, generator=gen) * 0.3
            xb = xb + sigma * torch.randn(xb.shape, generator=gen)
            logits, _ = net(xb)
            loss = nn.functional.cross_entropy(logits, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    net.eval()
    clf = Classifier(name, net, float("nan"))
    acc = clf.accuracy(*_data(name, "heldout"))
    seconds = time.perf_counter() - t0
    log.info("trained the %s classifier in %.1f s: held-out accuracy %.4f", name, seconds, acc)
    return net, acc, seconds


def _weights_path(name: str) -> Path:
    return cache_dir() / f"classifier-{name}-v{CLASSIFIER_VERSION}-r{RENDER_VERSION}.pt"


def _load_cached(name: str) -> tuple[_Net, float] | None:
    path = _weights_path(name)
    if not path.is_file():
        return None
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        net = _Net(len(class_names(name)))
        net.load_state_dict(blob["state_dict"])
        acc = float(blob["heldout_accuracy"])
        if int(blob["version"]) != CLASSIFIER_VERSION or not all(
                torch.isfinite(p).all() for p in net.parameters()):
            raise ValueError("stale or non-finite weights")
        return net.eval(), acc
    except Exception as exc:  # any corruption: retrain and rewrite
        log.info("ignoring unreadable classifier cache %s: %s", path, exc)
        return None


_LOCK = threading.RLock()
_MEMO: dict[tuple[str, str], Classifier] = {}
_STATS: dict[str, tuple[np.ndarray, np.ndarray]] = {}
SHIPPED_FOLDER = "classifiers"  # under ganviz.assets


def shipped_name(name: str) -> str:
    return f"{name}-v{CLASSIFIER_VERSION}-r{RENDER_VERSION}.pt"


def shipped_file(name: str):
    """The shipped weights of a built-in dataset's classifier (a Traversable), or None when there are none for
    this CLASSIFIER_VERSION and RENDER_VERSION."""
    if name not in CLASS_NAMES:
        return None
    from ...resources import asset

    try:
        node = asset(f"{SHIPPED_FOLDER}/{shipped_name(name)}")
        return node if node.is_file() else None
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return None


def _load_shipped(name: str) -> tuple[_Net, float] | None:
    """The shipped classifier (its real-feature statistics go to _STATS), or None (missing or unreadable)."""
    node = shipped_file(name)
    if node is None:
        return None
    try:
        blob = torch.load(io.BytesIO(node.read_bytes()), map_location="cpu", weights_only=True)
        if int(blob["version"]) != CLASSIFIER_VERSION or int(blob["render_version"]) != RENDER_VERSION:
            raise ValueError("made for another classifier or rendering version")
        net = _Net(len(class_names(name)))
        net.load_state_dict({k: v.float() for k, v in blob["state_dict"].items()})
        if not all(torch.isfinite(p).all() for p in net.parameters()):
            raise ValueError("non-finite weights")
        _STATS.setdefault(name, (blob["stats_mean"].double().numpy(), blob["stats_cov"].double().numpy()))
        return net.eval(), float(blob["heldout_accuracy"])
    except Exception as exc:  # fall back to the disk cache or training
        log.warning("ignoring the shipped %s classifier: %s", name, exc)
        return None


def export_shipped(name: str, folder: Path) -> dict:
    """Train the built-in dataset's classifier with the recipe above (`_train`: seeded, deterministic) and write
    what ganviz ships: float16 weights, the held-out accuracy and the real-feature statistics. Returns a summary."""
    net, _, seconds = _train(name)
    net.load_state_dict({k: v.half().float() for k, v in net.state_dict().items()})  # as it will be loaded
    clf = Classifier(name, net, float("nan"))
    acc = clf.accuracy(*_data(name, "heldout"))  # of the rounded weights: the figure the app shows
    images, _ = _data(name, "stats")
    mean, cov = feature_stats(clf.features(to_unit(images)))
    path = Path(folder) / shipped_name(name)
    buf = io.BytesIO()
    torch.save({"state_dict": {k: v.half() for k, v in net.state_dict().items()}, "heldout_accuracy": acc,
                "stats_mean": torch.from_numpy(mean), "stats_cov": torch.from_numpy(cov),
                "version": CLASSIFIER_VERSION, "render_version": RENDER_VERSION, "train_seconds": seconds}, buf)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())
    return {"name": name, "path": str(path), "heldout_accuracy": acc, "train_seconds": seconds,
            "bytes": path.stat().st_size}


def get_classifier(name: str, device: torch.device | str = "cpu") -> Classifier:
    """The coverage classifier for the built-in dataset name on device: memoised, disk-cached, or trained
    (well under a minute on one core). Thread-safe."""
    class_names(name)  # ValueError for an unknown name
    dev = torch.device(device)
    key = (name, str(dev))
    with _LOCK:
        if key in _MEMO:
            return _MEMO[key]
        cpu = _MEMO.get((name, "cpu"))
        if cpu is not None:
            net, acc = _Net(cpu.n_classes), cpu.heldout_accuracy
            net.load_state_dict(cpu.net.state_dict())
        else:
            cached = _load_shipped(name) or _load_cached(name)
            if cached is not None:
                net, acc = cached
            else:
                net, acc, seconds = _train(name)
                buf = io.BytesIO()
                torch.save({"state_dict": net.state_dict(), "heldout_accuracy": acc, "train_seconds": seconds,
                            "version": CLASSIFIER_VERSION}, buf)
                write_bytes_atomic(_weights_path(name), buf.getvalue())
        clf = Classifier(name, net, acc, dev)
        _MEMO[key] = clf
        return clf


# ------------------------------------------------------------------------------------------------ metrics

def coverage_metrics(labels: np.ndarray, n_classes: int, confidence: np.ndarray | None = None,
                     min_confidence: float = CONFIDENT) -> dict[str, float]:
    """Class coverage of predicted labels (ints in 0..n_classes-1).

    With `confidence` (the classifier's probability of each label), only recognisable samples (confidence
    >= min_confidence, the quality gate, like VEEGAN's high-quality samples) count towards a covered class:
    early blobs are labelled with some class each but cover nothing. "confident_share" is their share.

    "classes_covered": classes holding at least max(1, ceil(COVER_SHARE * n / K)) of the n samples, i.e. a
    tenth of their uniform share (1% of the samples for K = 10; with fewer than 100 samples and K = 10, one
    sample, the Stacked-MNIST rule), so a few misclassified blobs do not count as a mode;
    "class_kl": KL(class histogram || uniform) = log K - H(p) in nats (0 log 0 = 0; NaN for no samples),
    0 for a perfectly uniform batch, log K for a fully collapsed one; "class_share_{i}": fraction of samples
    labelled i."""
    lab = np.asarray(labels).reshape(-1).astype(np.int64)
    k = int(n_classes)
    if k < 1:
        raise ValueError(f"n_classes must be >= 1, got {n_classes}")
    if lab.size and (lab.min() < 0 or lab.max() >= k):
        raise ValueError(f"labels must lie in 0..{k - 1}, found {lab.min()}..{lab.max()}")
    n = lab.size
    counts = np.bincount(lab, minlength=k)
    out: dict[str, float] = {}
    sure = counts
    if confidence is not None:
        ok = np.asarray(confidence, dtype=np.float64).reshape(-1) >= min_confidence
        sure = np.bincount(lab[ok], minlength=k)
        out["confident_share"] = float(ok.mean()) if n else float("nan")
    if n == 0:
        out["classes_covered"] = 0.0
        out["class_kl"] = float("nan")
    else:
        need = max(1, math.ceil(COVER_SHARE * n / k))
        out["classes_covered"] = float(np.count_nonzero(sure >= need))
        out["class_kl"] = float(sum(c / n * math.log(c * k / n) for c in counts.tolist() if c > 0))
    for i, c in enumerate(counts.tolist()):
        out[f"class_share_{i}"] = c / n if n else 0.0
    return out


def _trace_sqrt_product(cov1: np.ndarray, cov2: np.ndarray) -> float:
    """tr(sqrt(cov1 cov2)) as sum of sqrt(eig(A cov2 A)), A = cov1^(1/2): symmetric, so always real."""
    from scipy import linalg  # here, not at import: scipy costs start-up (issue 20)

    w, v = linalg.eigh(cov1)
    a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = a @ cov2 @ a
    return float(np.sqrt(np.clip(linalg.eigvalsh((m + m.T) / 2), 0, None)).sum())


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray,
                     eps: float = 1e-6) -> float:
    """Fréchet distance between Gaussians N(mu1, cov1) and N(mu2, cov2):
    |mu1 - mu2|^2 + tr(cov1 + cov2 - 2 sqrt(cov1 cov2)).

    As the standard FID code: scipy.linalg.sqrtm, with eps added to the diagonals when the product is
    near-singular and the (tiny) imaginary part dropped; where sqrtm still fails, or leaves a large
    imaginary part, the trace comes from a symmetric eigen-decomposition instead. Clipped at 0 (rounding)."""
    from scipy import linalg

    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    cov1, cov2 = np.atleast_2d(np.asarray(cov1, np.float64)), np.atleast_2d(np.asarray(cov2, np.float64))
    if mu1.shape != mu2.shape or cov1.shape != cov2.shape or cov1.shape != (mu1.size, mu1.size):
        raise ValueError(f"shapes do not match: mu {mu1.shape} {mu2.shape}, cov {cov1.shape} {cov2.shape}")
    diff = mu1 - mu2
    tr_covmean = None
    try:
        with warnings.catch_warnings():  # singular products (dead ReLU features, collapsed fakes) are handled here
            warnings.simplefilter("ignore", linalg.LinAlgWarning)
            covmean = linalg.sqrtm(cov1 @ cov2)
            if not np.isfinite(covmean).all():
                offset = np.eye(len(cov1)) * eps
                covmean = linalg.sqrtm((cov1 + offset) @ (cov2 + offset))
        if np.isfinite(covmean).all():
            if np.iscomplexobj(covmean):
                if np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
                    tr_covmean = float(np.trace(covmean.real))
            else:
                tr_covmean = float(np.trace(covmean))
    except (ValueError, np.linalg.LinAlgError):
        tr_covmean = None
    if tr_covmean is None:
        tr_covmean = _trace_sqrt_product(cov1, cov2)
    value = float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * tr_covmean)
    return max(value, 0.0)


def feature_stats(features: Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean (F,), covariance (F, F)) of features (n, F), float64."""
    f = features.double().numpy() if isinstance(features, Tensor) else np.asarray(features, np.float64)
    return f.mean(axis=0), np.cov(f, rowvar=False)


def real_feature_stats(name: str, device: torch.device | str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Feature mean and covariance of 5000 real images (bank seed 1, not the training images); cached per
    name in this process."""
    with _LOCK:
        if name not in _STATS:
            clf = get_classifier(name, device)
            images, _ = _data(name, "stats")
            _STATS[name] = feature_stats(clf.features(to_unit(images)))
        return _STATS[name]


def image_metrics(classifier: Classifier, fake: Tensor, real_stats: tuple[np.ndarray, np.ndarray],
                  n_classes: int) -> dict[str, float]:
    """Coverage of generated images plus quality proxies.

    `coverage_metrics` of the predicted labels, "class_confidence" (mean max class probability: how sure
    the classifier is, a quality proxy like VEEGAN's high-quality rate) and "frechet": the Fréchet distance
    between Gaussians fitted to the fakes' and the real images' features in this small classifier's
    feature space. An FID-like score, NOT comparable to Inception FID (NaN with fewer than 2 fakes)."""
    logits, feats = classifier.run(fake)
    p, labels = torch.softmax(logits, dim=1).max(dim=1)
    out = coverage_metrics(labels.numpy(), n_classes, confidence=p.numpy())
    out["class_confidence"] = float(p.mean()) if len(p) else float("nan")
    if len(feats) < 2:
        out["frechet"] = float("nan")
    else:
        mu, cov = feature_stats(feats)
        out["frechet"] = frechet_distance(mu, cov, *real_stats)
    return out
