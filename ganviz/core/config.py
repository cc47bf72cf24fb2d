"""Training configuration: one frozen dataclass whose fields carry their own range and help text.

The same metadata drives `ganviz train --set key=value`, `ganviz list`, and the window's validators,
so a range is written once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any

import numpy as np

OPTIMIZERS = ("adam", "sgd", "rmsprop")
ACTIVATIONS = ("relu", "leaky_relu", "tanh", "elu", "gelu")
NOISE_KINDS = ("gaussian", "uniform")
GENERATOR_MODES = ("learned", "shift", "noise")
DEVICES = ("auto", "cpu", "cuda")
ARCHS = ("auto", "mlp", "dcgan")
IMAGE_RANGES = ("auto", "0-1", "-1-1", "0-16", "0-255", "min-max")  # as images.pixels


class Effect(str, Enum):
    """What applying a live change of a field does to a running engine (core.live dispatches on it)."""

    REBUILD = "rebuild"  # new networks, optimisers and data streams: the run restarts ("reset" event)
    DATA = "data"  # new data: hot-swapped when only data fields change and the dimension stays, else REBUILD
    OBJECTIVE = "objective"  # the loss table row is swapped
    LEARNING_RATE = "learning_rate"  # the optimiser's learning rate is set in place (its state is kept)
    OPTIMIZER = "optimizer"  # that network's optimiser (d_ / g_ prefix), else both, built afresh
    INSTANCE_NOISE = "instance_noise"  # the current instance-noise sigma restarts from the new value
    DEVICE = "device"  # the run moves to the newly resolved device (Engine.to): weights, optimisers, RNG kept
    VIEW_SAMPLING = "view_sampling"  # the fixed view batches are drawn again (not logged: not a training change)
    NONE = "none"  # read at every step: nothing to do but log it


# The control groups of the window's left dock, in order; a field's metadata names its group (or None: no control).
G_SCENE, G_OBJECTIVE, G_OPTIMISATION, G_REGULARISERS = "Scene", "Objective", "Optimisation", "Regularisers"
G_REMEDIES, G_PRIOR, G_ARCH, G_RUN = ("Mode-collapse remedies", "Noise prior", "Architecture (changes re-initialise)",
                                      "Run")
GROUP_TITLES = (G_SCENE, G_OBJECTIVE, G_OPTIMISATION, G_REGULARISERS, G_REMEDIES, G_PRIOR, G_ARCH, G_RUN)


def _f(default: Any, help: str, *, lo: float | None = None, hi: float | None = None,
       choices: tuple[str, ...] | None = None, effect: Effect = Effect.NONE, label: str = "",
       group: str | None = None, order: int = 0) -> Any:
    """A config field: its range / choices, its live effect, and its label and place (group, order) in the
    window's controls. `reinit` (kept for readers of the metadata): whether a change may rebuild the models."""
    assert group is None or group in GROUP_TITLES, group
    meta = {"help": help, "lo": lo, "hi": hi, "choices": choices, "effect": effect,
            "reinit": effect in (Effect.REBUILD, Effect.DATA), "label": label, "group": group, "order": order}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run. A field's `effect` says what a live change of it does (core.live);
    REBUILD fields (and DATA fields that change the data's dimension) rebuild the networks and reset the run."""

    data: str = _f("ring8", "dataset name (see `ganviz list`)",
                   effect=Effect.DATA, label="Dataset", group=G_SCENE, order=0)
    ring_radius: float = _f(2.0, "ring8 radius", lo=0.1, hi=10.0,
                            effect=Effect.DATA, label="Ring radius", group=G_SCENE, order=3)
    ring_std: float = _f(0.02, "ring8 per-mode std", lo=0.001, hi=2.0,
                         effect=Effect.DATA, label="Ring std", group=G_SCENE, order=4)
    data_points: tuple = _f((), "user data (data = 'user:<label>@<hash>'): rows (x) or (x, y) are 2..20000 "
                            "points (density: Gaussian KDE estimate, Scott bandwidth); rows (m, s, w) or "
                            "(mx, my, s, w) are Gaussian-mixture components (exact density). See "
                            "ganviz.core.userdata", effect=Effect.REBUILD, label="Your data points")
    objective: str = _f("ns", "loss / variant (see `ganviz list`)",
                        effect=Effect.OBJECTIVE, label="Loss", group=G_OBJECTIVE, order=0)
    # generator
    generator: str = _f("learned", "learned MLP, or a fixed generator: shift (data + theta), noise (data + "
                        "N(0, sigma^2))", choices=GENERATOR_MODES,
                        effect=Effect.REBUILD, label="Generator", group=G_SCENE, order=5)
    shift_x: float = _f(2.0, "fixed 'shift' generator: x offset theta_x", lo=-50.0, hi=50.0,
                        label="Shift θx", group=G_SCENE, order=6)
    shift_y: float = _f(0.0, "fixed 'shift' generator: y offset theta_y (2D only)", lo=-50.0, hi=50.0,
                        label="Shift θy", group=G_SCENE, order=7)
    noise_sigma: float = _f(0.5, "fixed 'noise' generator: std of the added Gaussian", lo=0.0, hi=10.0,
                            label="Noise σ", group=G_SCENE, order=8)
    z_dim: int = _f(2, "dimension of the noise prior z", lo=1, hi=256,
                    effect=Effect.REBUILD, label="z dimension", group=G_PRIOR, order=1)
    z_prior: str = _f("gaussian", "noise prior p(z): N(0, I) or U[-1, 1]^d", choices=NOISE_KINDS,
                      effect=Effect.REBUILD, label="Prior p(z)", group=G_PRIOR, order=0)
    # architecture
    g_depth: int = _f(3, "generator hidden layers", lo=1, hi=8,
                      effect=Effect.REBUILD, label="G depth", group=G_ARCH, order=2)
    g_width: int = _f(128, "generator hidden units per layer", lo=4, hi=1024,
                      effect=Effect.REBUILD, label="G width", group=G_ARCH, order=3)
    d_depth: int = _f(3, "discriminator hidden layers", lo=1, hi=8,
                      effect=Effect.REBUILD, label="D depth", group=G_ARCH, order=4)
    d_width: int = _f(128, "discriminator hidden units per layer", lo=4, hi=1024,
                      effect=Effect.REBUILD, label="D width", group=G_ARCH, order=5)
    activation: str = _f("relu", "hidden activation", choices=ACTIVATIONS,
                         effect=Effect.REBUILD, label="Activation", group=G_ARCH, order=6)
    arch: str = _f("auto", "network family: mlp, dcgan (convolutional, image data only), or auto (DCGAN for "
                   "image data, MLP otherwise)", choices=ARCHS,
                   effect=Effect.REBUILD, label="Network family", group=G_ARCH, order=0)
    conv_channels: int = _f(32, "DCGAN base channels: G is dense -> 2c x 7x7 -> c x 14x14 -> 1 x 28x28, D the "
                            "mirror (c, 2c)", lo=4, hi=256,
                            effect=Effect.REBUILD, label="Conv channels c", group=G_ARCH, order=1)
    image_path: str = _f("", "local image data for data = 'image-file': an MNIST idx file (optionally .gz), "
                         "an .npz / .npy array, or a folder of images",
                         effect=Effect.DATA, label="Image file", group=G_SCENE, order=1)
    image_range: str = _f("auto", "pixel values of image_path's arrays, mapped to 0..255: 0-1, -1-1, 0-16, 0-255, "
                          "min-max (the file's own), or auto (the first of 0-1, -1-1, 0-16 for whole numbers, "
                          "0-255 that fits; the run's notes say which)", choices=IMAGE_RANGES,
                          effect=Effect.DATA, label="Pixel range", group=G_SCENE, order=2)
    # optimisation
    batch_size: int = _f(256, "samples per batch (real and fake)", lo=2, hi=8192,
                         label="Batch size", group=G_OPTIMISATION, order=9)
    d_steps: int = _f(1, "k: D (critic) updates per iteration", lo=1, hi=20,
                      label="D steps / iter (k)", group=G_OPTIMISATION, order=7)
    g_steps: int = _f(1, "G updates per iteration", lo=1, hi=20,
                      label="G steps / iter", group=G_OPTIMISATION, order=8)
    d_optimizer: str = _f("adam", "D optimiser", choices=OPTIMIZERS,
                          effect=Effect.OPTIMIZER, label="D optimiser", group=G_OPTIMISATION, order=0)
    g_optimizer: str = _f("adam", "G optimiser", choices=OPTIMIZERS,
                          effect=Effect.OPTIMIZER, label="G optimiser", group=G_OPTIMISATION, order=1)
    d_lr: float = _f(1e-3, "D learning rate", lo=1e-7, hi=1.0,
                     effect=Effect.LEARNING_RATE, label="D learning rate", group=G_OPTIMISATION, order=2)
    g_lr: float = _f(1e-3, "G learning rate", lo=1e-7, hi=1.0,
                     effect=Effect.LEARNING_RATE, label="G learning rate", group=G_OPTIMISATION, order=3)
    beta1: float = _f(0.5, "Adam beta1 (both networks)", lo=0.0, hi=0.999,
                      effect=Effect.OPTIMIZER, label="Adam β1", group=G_OPTIMISATION, order=4)
    beta2: float = _f(0.999, "Adam beta2 (both networks)", lo=0.0, hi=0.9999,
                      effect=Effect.OPTIMIZER, label="Adam β2", group=G_OPTIMISATION, order=5)
    momentum: float = _f(0.0, "SGD momentum (both networks)", lo=0.0, hi=0.999,
                         effect=Effect.OPTIMIZER, label="SGD momentum", group=G_OPTIMISATION, order=6)
    # objective parameters and regularisers
    clip: float = _f(0.01, "WGAN weight clipping: D weights clamped to [-c, c]", lo=1e-4, hi=10.0,
                     label="Clip c", group=G_REGULARISERS, order=2)
    gp_lambda: float = _f(10.0, "WGAN-GP lambda: lambda E(||grad f(x_hat)|| - 1)^2", lo=0.0, hi=1000.0,
                          label="GP λ", group=G_REGULARISERS, order=1)
    r1_gamma: float = _f(0.0, "R1 penalty gamma/2 E||grad D(x_real)||^2 (0 = off)", lo=0.0, hi=1000.0,
                         label="R1 γ", group=G_REGULARISERS, order=0)
    instance_noise: float = _f(0.0, "instance noise: std of Gaussian noise added to D's inputs (0 = off)",
                               lo=0.0, hi=10.0,
                               effect=Effect.INSTANCE_NOISE, label="Instance noise σ", group=G_REGULARISERS, order=3)
    instance_noise_decay: float = _f(1.0, "instance noise std multiplied by this every iteration", lo=0.9,
                                     hi=1.0, label="Noise decay / iter", group=G_REGULARISERS, order=4)
    label_smoothing: float = _f(0.0, "one-sided label smoothing: real target 1 - s (probability losses)",
                                lo=0.0, hi=0.5, label="Label smoothing", group=G_REGULARISERS, order=5)
    # run
    seed: int = _f(0, "seed for weights, data and noise", lo=0, hi=2**31 - 1,
                   effect=Effect.REBUILD, label="Seed", group=G_RUN, order=0)
    device: str = _f("auto", "auto (CUDA if available), cpu or cuda", choices=DEVICES,
                     effect=Effect.DEVICE, label="Device", group=G_RUN, order=1)
    # views / metrics
    n_view: int = _f(512, "real and fixed-noise fake samples drawn in each snapshot", lo=16, hi=8192,
                     effect=Effect.VIEW_SAMPLING, label="View samples")
    grid_size: int = _f(64, "D is evaluated on grid_size (1D) or grid_size^2 (2D) points", lo=8, hi=512,
                        label="View grid size")
    w1_samples: int = _f(256, "samples per side for exact W1 (2D: optimal assignment, O(n^3))", lo=16,
                         hi=1024, label="W1 samples")
    mode_samples: int = _f(2500, "generated samples for mode metrics (VEEGAN/PacGAN protocol: 2500)", lo=100,
                           hi=100000, label="Mode-metric samples")
    kde_samples: int = _f(4096, "generated samples for the 1D KDE of p_g (true JSD, D*)", lo=64, hi=100000,
                          label="KDE samples")
    # design hooks for later variants (unrolled D, packing, minibatch features)
    unroll: int = _f(0, "unrolled GAN (Metz et al. 2017): G's loss against D unrolled k steps ahead, "
                     "differentiating through k copies of D's optimiser step on fresh batches (0 = plain)",
                     lo=0, hi=20, label="Unroll k steps", group=G_REMEDIES, order=0)
    pack: int = _f(1, "PacGAN packing: D sees m samples concatenated (1 = off)", lo=1, hi=8,
                   effect=Effect.REBUILD, label="Pack m (PacGAN)", group=G_REMEDIES, order=1)
    # minibatch features (appended to D's last hidden layer, before its output layer)
    mbdisc: int = _f(0, "minibatch discrimination (Salimans et al. 2016): B kernels; each sample gets o_b = "
                     "mean_j exp(-||M_b(x) - M_b(x_j)||_1) over its batch, M = h T (0 = off)", lo=0, hi=64,
                     effect=Effect.REBUILD, label="Minibatch disc. B", group=G_REMEDIES, order=2)
    mbdisc_dim: int = _f(5, "minibatch discrimination: C, the dimension of each kernel's projection M_b",
                         lo=1, hi=64, effect=Effect.REBUILD, label="Minibatch disc. C", group=G_REMEDIES, order=3)
    mbstd: int = _f(0, "minibatch standard deviation (Karras et al. 2018): 1 = append the batch's mean "
                    "per-feature std of D's last hidden layer as one extra feature (0 = off)", lo=0, hi=1,
                    effect=Effect.REBUILD, label="Minibatch std", group=G_REMEDIES, order=4)

    def __post_init__(self) -> None:
        for f in fields(self):  # numpy scalars become Python numbers here, so no file ever sees np.float64(...)
            value = getattr(self, f.name)
            plain = _plain_scalar(f.name, value)
            if plain is not value:
                object.__setattr__(self, f.name, plain)

    def replace(self, **changes: Any) -> TrainConfig:
        """A validated copy with some fields changed."""
        for key in changes:
            if key not in FIELDS:
                raise ConfigError(f"unknown config key {key!r}; see `ganviz list` for the keys")
        new = dataclasses.replace(self, **changes)
        new.validate()
        return new

    def validate(self) -> None:
        """Raise ConfigError naming the first bad key and its allowed range."""
        for f in fields(self):
            check_value(f.name, getattr(self, f.name))
        if isinstance(self.data, str) and self.data.startswith("user:"):
            from .userdata import check_user_data  # the name matches data_points; registers nothing
            check_user_data(self.data, self.data_points)
        from .images.distribution import check_image_config  # cross-field rules of image data / DCGAN
        check_image_config(self)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class ConfigError(ValueError):
    """A config key or value that is out of range; the message names the key and what is allowed."""


def _plain_scalar(key: str, value: Any) -> Any:
    """A numpy scalar as the Python value of the field's type: np.float64 / np.float32 -> float, a whole
    np.int64 -> int (or float for a float field), np.str_ -> str. np.bool_ stays (check_value refuses it
    for a number field) and so does anything else; data_points rows of numpy numbers become float tuples."""
    if type(value) in (int, float, str, tuple) and key != "data_points":
        return value
    if key == "data_points":
        if isinstance(value, tuple) and not hasattr(value, "array") and any(
                isinstance(v, np.generic) for row in value if isinstance(row, tuple) for v in row):
            return tuple(tuple(v.item() if isinstance(v, np.generic) and not isinstance(v, np.bool_) else v
                               for v in row) if isinstance(row, tuple) else row for row in value)
        return value
    if not isinstance(value, np.generic) or isinstance(value, np.bool_):
        return value
    ftype = FIELDS[key].type
    if isinstance(value, np.integer):
        return float(value) if ftype in ("float", float) else int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.str_):
        return str(value)
    return value


FIELDS = {f.name: f for f in fields(TrainConfig)}
REINIT_KEYS = frozenset(name for name, f in FIELDS.items() if f.metadata["reinit"])
DATA_KEYS = frozenset(name for name, f in FIELDS.items() if f.metadata["effect"] is Effect.DATA)


def effect_of(key: str) -> Effect:
    """What a live change of this field does (see Effect)."""
    return FIELDS[key].metadata["effect"]


def label_of(key: str) -> str:
    """The field's short label for people (controls, change markers); the key itself if it has none."""
    return FIELDS[key].metadata["label"] or key


def control_groups() -> list[tuple[str, list[str]]]:
    """(group title, its fields in order) for every group that has fields: the window's controls."""
    out = []
    for title in GROUP_TITLES:
        keys = [k for k, f in FIELDS.items() if f.metadata["group"] == title]
        out.append((title, sorted(keys, key=lambda k: FIELDS[k].metadata["order"])))
    return [(t, ks) for t, ks in out if ks]


def describe_range(key: str) -> str:
    m = FIELDS[key].metadata
    if m["choices"]:
        return "one of " + ", ".join(m["choices"])
    if key == "data":
        from .distributions import DATASETS
        return "one of " + ", ".join(DATASETS) + " (or user:<label> with data_points)"
    if key == "data_points":
        return ("empty, or rows of 2..20000 points (x) / (x, y), or 1..64 mixture components (m, s, w) / "
                "(mx, my, s, w)")
    if key == "objective":
        from .objectives import OBJECTIVES
        return "one of " + ", ".join(OBJECTIVES)
    if m["lo"] is not None:
        kind = "integer" if FIELDS[key].type in ("int", int) else "number"
        return f"{kind} in [{m['lo']:g}, {m['hi']:g}]"
    return "any value"


def check_value(key: str, value: Any) -> None:
    """Raise ConfigError if value is not allowed for key."""
    if key not in FIELDS:
        raise ConfigError(f"unknown config key {key!r}; see `ganviz list` for the keys")
    if key == "data_points":  # before the message below: repr() of 20000 points is not free
        from .userdata import check_rows
        check_rows(value)
        return
    f = FIELDS[key]
    m = f.metadata
    bad = ConfigError(f"{key}={value!r} is out of range: {key} must be {describe_range(key)}")
    if key == "data":
        from .distributions import DATASETS
        if value not in DATASETS:
            from .userdata import is_user_name
            if not is_user_name(value):  # user data: checked against data_points in validate()
                raise bad
    elif key == "objective":
        from .objectives import OBJECTIVES
        if value not in OBJECTIVES:
            raise bad
    elif key == "image_path":
        if not isinstance(value, str) or len(value) > 4096 or "\0" in value:
            raise ConfigError(f"image_path must be a file or folder path (text, at most 4096 characters), "
                              f"got {value!r:.80}")
    elif m["choices"]:
        if value not in m["choices"]:
            raise bad
    elif m["lo"] is not None:
        is_int = f.type in ("int", int)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        if is_int and not isinstance(value, int):  # 2.0 would reach range() and tensor shapes as a float
            raise ConfigError(f"{key}={value!r} is not an integer: {key} must be {describe_range(key)}")
        if not (m["lo"] <= value <= m["hi"]) or value != value:  # NaN fails too
            raise bad


def parse_value(key: str, text: str) -> Any:
    """Parse a command-line string into the field's type (and validate it)."""
    if key not in FIELDS:
        raise ConfigError(f"unknown config key {key!r}; see `ganviz list` for the keys")
    ftype = FIELDS[key].type
    try:
        if ftype in ("int", int):
            as_float = float(text)
            if not as_float.is_integer():
                raise ValueError
            value: Any = int(as_float)
        elif ftype in ("float", float):
            value = float(text)
        else:
            value = text
    except ValueError:
        raise ConfigError(f"{key}={text!r} is not valid: {key} must be {describe_range(key)}") from None
    check_value(key, value)
    return value


def config_from_pairs(pairs: list[str], base: TrainConfig | None = None) -> TrainConfig:
    """Apply `key=value` strings to base (default config)."""
    changes: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set expects key=value, got {pair!r}")
        key, text = pair.split("=", 1)
        key = key.strip().replace("-", "_")
        changes[key] = parse_value(key, text.strip())
    return (base or TrainConfig()).replace(**changes)
