"""Image datasets as trainer `Distribution`s: flat (n, 784) float32 samples in [-1, 1] (row-major 28x28).

Built in: "digits" and "shapes" (ten classes each, rendered at first use from stroke templates and cached,
see `datasets`), and "image-file" (config image_path: an MNIST idx / npz / npy file or a folder of images,
see `files`). Samples are drawn uniformly from a fixed bank of images with the caller's torch.Generator,
so training stays deterministic per seed. Images have no closed-form density: `log_prob` is NaN.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

from ..dataset_base import DATASETS, Distribution, register
from ..lazy import lazy_import

torch = lazy_import("torch")  # imported on first use: the window shows before torch loads

BANK_SIZE = 10_000  # images per built-in dataset (1000 per class), rendered once and cached on disk
BANK_SEED = 0  # the data is the same for every training seed; the seed picks the draws
IMAGE_DIM = 28 * 28


class ImageDistribution(Distribution):
    """A fixed bank of grayscale images. `labels` / `class_names` are None for unlabelled data;
    `classifier_name` names the built-in coverage classifier for this data (None: no coverage metrics)."""

    dim = IMAGE_DIM
    is_image = True
    density_is_exact = False

    def __init__(self, name: str, images: np.ndarray, labels: np.ndarray | None,
                 class_names: tuple[str, ...] | None, description: str = "",
                 classifier_name: str | None = None, notes: tuple[str, ...] = ()) -> None:
        images = np.asarray(images)
        if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) == 0:
            raise ValueError(f"{name}: expected (n, 28, 28) images, got shape {images.shape}")
        self.name = name
        self.description = description
        self.images = np.ascontiguousarray(images, dtype=np.uint8)
        self.labels = None if labels is None else np.asarray(labels, dtype=np.int64)
        self.class_names = class_names
        self.classifier_name = classifier_name
        self.notes = tuple(notes)  # what the file loader assumed (pixel range, resizing, inversion, labels)
        self._banks: dict[str, torch.Tensor] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.images)

    def bank_on(self, device: torch.device | str) -> torch.Tensor:
        """All images as a float32 (n, 784) tensor in [-1, 1] on device (made once per device)."""
        key = str(torch.device(device))
        with self._lock:
            if key not in self._banks:
                flat = torch.from_numpy(self.images.reshape(len(self.images), -1))
                self._banks[key] = (flat.to(device=device, dtype=torch.float32) / 127.5 - 1.0).contiguous()
            return self._banks[key]

    def sample(self, n: int, gen: torch.Generator, device: torch.device | str = "cpu") -> torch.Tensor:
        bank = self.bank_on(device)
        idx = torch.randint(len(self.images), (n,), generator=gen, device=gen.device)
        return bank[idx.to(bank.device)]

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        return np.full(np.asarray(x).reshape(-1, self.dim).shape[0], np.nan)

    @property
    def bounds(self) -> tuple[float, ...]:
        return (-1.0, 1.0)

    def __getstate__(self) -> dict:  # device banks are rebuilt on demand
        state = dict(self.__dict__)
        state["_banks"] = {}
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


_BUILTIN: dict[str, ImageDistribution] = {}
_FILES: dict[tuple, ImageDistribution] = {}
_CACHE_LOCK = threading.Lock()


def builtin(name: str) -> ImageDistribution:
    """The built-in dataset `name` ("digits" or "shapes"), rendered or read from the disk cache once per
    process."""
    with _CACHE_LOCK:
        if name not in _BUILTIN:
            from .datasets import CLASS_NAMES, bank

            images, labels = bank(name, BANK_SIZE, BANK_SEED)
            desc = _DESCRIPTIONS[name]
            _BUILTIN[name] = ImageDistribution(name, images, labels, CLASS_NAMES[name], desc, classifier_name=name)
        return _BUILTIN[name]


def from_file(path: str, image_range: str = "auto") -> ImageDistribution:
    """The images at path (see `files.load_images`); raises files.ImageDataError with a message when the
    path is missing or the file is bad. Loaded once per process per (path, size, mtime, range). `notes` says
    what the loader assumed. Labels in the file drive class coverage: a classifier is trained on them
    (`classifier.register_file_data`)."""
    from .files import ImageDataError, load_images

    if not path:
        raise ImageDataError("data = 'image-file' needs image_path: an MNIST idx file, an .npz / .npy array, "
                             "or a folder of images")
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ImageDataError(f"{path}: cannot open ({exc.strerror or exc})") from None
    key = (os.path.abspath(path), st.st_size, st.st_mtime_ns, image_range)
    with _CACHE_LOCK:
        if key not in _FILES:
            notes: list[str] = []
            images, labels, names = load_images(path, notes, image_range)
            clf = None
            if labels is not None:
                from .classifier import register_file_data

                k = len(names) if names else int(labels.max()) + 1
                names = names or tuple(str(i) for i in range(k))
                clf = register_file_data(images, labels, names)
                notes.append(f"{k} classes from the file's labels: class coverage uses a classifier trained on them")
            if len(_FILES) > 4:
                _FILES.clear()
            _FILES[key] = ImageDistribution("image-file", images, labels, names,
                                            f"{len(images)} images from {os.path.basename(path)}",
                                            classifier_name=clf, notes=tuple(notes))
        return _FILES[key]


_DESCRIPTIONS = {
    "digits": "handwriting-like digits 0-9, 28x28, rendered from stroke templates (10 classes, no download)",
    "shapes": "ten simple shapes, 28x28, rendered with random jitter (10 classes, no download)",
}


@register("digits", IMAGE_DIM, _DESCRIPTIONS["digits"])
def _digits() -> ImageDistribution:
    return builtin("digits")


@register("shapes", IMAGE_DIM, _DESCRIPTIONS["shapes"])
def _shapes() -> ImageDistribution:
    return builtin("shapes")


@register("image-file", IMAGE_DIM, "your own images: config image_path = an MNIST idx / npz / npy file or a folder")
def _image_file(image_path: str = "", image_range: str = "auto") -> ImageDistribution:
    return from_file(image_path, image_range)


# The DCGAN settings image data starts with (the window applies them when switching to image data, the
# command line when it names image data without a scene), except for keys the user has set.
IMAGE_DEFAULTS: dict[str, Any] = {"z_dim": 64, "batch_size": 64, "d_lr": 2e-4, "g_lr": 2e-4, "beta1": 0.5,
                                  "arch": "auto"}


def image_default_changes(cfg, chosen: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """The changes that give cfg the DCGAN settings (IMAGE_DEFAULTS) except for the keys in `chosen` (the
    user's own), and a learned generator (image data has no fixed generators)."""
    changes = {k: v for k, v in IMAGE_DEFAULTS.items() if k not in chosen and getattr(cfg, k) != v}
    if cfg.generator != "learned":
        changes["generator"] = "learned"
    return changes


def is_image_data(name: str) -> bool:
    """Whether the registered dataset `name` is image data."""
    info = DATASETS.get(name)
    return info is not None and info.dim == IMAGE_DIM


def check_image_config(cfg) -> None:
    """Raise ConfigError for settings that do not apply to image data (or DCGAN to toy data)."""
    from ..config import ConfigError

    image = is_image_data(cfg.data)
    if cfg.arch == "dcgan" and not image:
        raise ConfigError(f"arch=dcgan needs image data (digits, shapes, image-file), not data={cfg.data!r}; "
                          "use arch=auto or arch=mlp")
    if cfg.data == "image-file" and not cfg.image_path:
        raise ConfigError("data='image-file' needs image_path: an MNIST idx file, an .npz / .npy array, or a "
                          "folder of images")
    if image and cfg.generator != "learned":
        raise ConfigError(f"generator={cfg.generator!r} is for the toy data; image data needs generator=learned")
