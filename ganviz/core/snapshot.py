"""Immutable snapshots: everything a view needs, as numpy arrays, made once per frame.

Views never touch torch tensors: the trainer copies to the host once per snapshot.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np


class EventKind(str, Enum):
    """What an Event records. A str: a kind equals, hashes and prints as its value ("reset"), so events pickled or
    saved with plain strings, and code comparing with strings, see the same kinds."""

    OBJECTIVE = "objective"  # the loss changed
    LR = "lr"  # a learning rate changed
    OPTIMIZER = "optimizer"  # an optimiser (or its betas / momentum) changed: built afresh
    REGULARIZER = "regularizer"  # instance noise changed
    CONFIG = "config"  # any other setting read at every step (k, batch size, penalties, ...)
    DATASET = "dataset"  # the data was hot-swapped (same networks)
    RESET = "reset"  # new networks: a Reset, a re-initialising change, or a loaded checkpoint
    DEVICE = "device"  # the run moved to (or fell back to) a device
    DIVERGED = "diverged"  # NaN / Inf: rolled back (and for an ensemble, frozen seeds)
    CHECKPOINT = "checkpoint"  # a checkpoint was saved
    RUN = "run"  # play / pause
    ERROR = "error"  # a command was refused; the run goes on

    __str__ = str.__str__  # "reset", not "EventKind.RESET" (labels, file formats, f-strings)
    __format__ = str.__format__


@dataclass(frozen=True)
class Event:
    """A live change recorded in the run's event log."""

    step: int
    kind: str  # an EventKind (a known plain string, e.g. from an old file, becomes one; others stay as given)
    label: str  # short text shown at the timeline marker, e.g. "objective: ns -> wgan-gp"
    detail: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.kind, EventKind) and self.kind in _KINDS:
            object.__setattr__(self, "kind", EventKind(self.kind))


_KINDS = frozenset(k.value for k in EventKind)


@dataclass(frozen=True)
class History:
    """Per-step values since the previous snapshot (one host copy per snapshot, not per step).

    steps: (n,) int64 step index of each row; values: name -> (n,) float64. Names include d_loss, g_loss,
    d_real_term, d_fake_term, d_penalty, g_grad_norm, d_grad_norm, d_real_mean, d_fake_mean.
    """

    steps: np.ndarray
    values: dict[str, np.ndarray]


@dataclass(frozen=True)
class Field1D:
    """1D curves on a grid: x (m,), D's displayed output d (m,), and the analytic/estimated densities."""

    x: np.ndarray
    d: np.ndarray  # displayed D output (probability for logit objectives, raw critic otherwise)
    p_data: np.ndarray | None  # analytic density of the data, or None
    p_g: np.ndarray | None  # density of the generator: analytic (fixed generators) or a KDE
    d_star: np.ndarray | None  # optimal D = p_data / (p_data + p_g) (only meaningful for probability D)


@dataclass(frozen=True)
class Field2D:
    """D on a regular grid: values[iy, ix] at (xs[ix], ys[iy]); row-major float32 (ny, nx)."""

    xs: np.ndarray
    ys: np.ndarray
    values: np.ndarray


@dataclass(frozen=True)
class ImageViews:
    """Image-data views of one snapshot (grayscale, values in [-1, 1], float32).

    fake: (n, H, W) G on the fixed noise batch (the same z every snapshot; n = 64 for the 8x8 grid).
    real: (n, H, W) a fixed batch of real images.
    interp: (rows, cols, H, W) latent interpolation: row r runs linearly from z_a[r] to z_b[r] (fixed).
    class_names: the dataset's class names (None when unlabelled).
    fake_labels: (n,) the classifier's class for each grid image (-1 where no classifier is available).
    fake_confidence: (n,) the classifier's probability of that class (NaN without a classifier).
    classifier_status: "ready", "training" (first use, in the background), "loading" (a run's first frame, made
    by the training process before the window has loaded the classifier), "none" (no classifier for this data)
    or "failed: <reason>"; "" in snapshots made before this field existed.
    """

    fake: np.ndarray
    real: np.ndarray
    interp: np.ndarray
    class_names: tuple[str, ...] | None = None
    fake_labels: np.ndarray | None = None
    fake_confidence: np.ndarray | None = None
    classifier_status: str = ""


class LazyFields:
    """A snapshot's view arrays (fakes, D outputs, fields, arrows), computed on first request by whichever
    thread asks (thread-safe, once).

    The trainer hands over a closure over frozen weight copies, so evaluating D on a 64x64 grid costs the
    view thread (the GUI's core), not the training thread.
    """

    def __init__(self, source: Any) -> None:
        self.source: Any = source  # an object with compute() -> dict (ganviz.core.fields.ViewState)
        self._result: dict | None = None
        self._lock = threading.Lock()

    def get(self) -> dict:
        with self._lock:
            if self._result is None:
                self._result = self.source.compute()
                self.source = None
            return self._result

    def __getstate__(self) -> dict:
        return {"source": self.source, "_result": self._result}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


@dataclass(frozen=True)
class Snapshot:
    """State of the run at one moment.

    step: timeline step (one per full iteration and one per manual single D or G step).
    d_updates / g_updates: optimiser updates of D and G so far.
    """

    step: int
    d_updates: int
    g_updates: int
    objective: str
    dim: int
    data: str
    real: np.ndarray  # (n, dim) real samples
    fake: np.ndarray  # (n, dim) G(z_fixed): the same noise batch every snapshot
    d_real: np.ndarray  # (n,) displayed D output on real
    d_fake: np.ndarray  # (n,) displayed D output on fake
    history: History  # per-step values since the previous snapshot
    metrics: dict[str, float]  # latest metrics (see ganviz.core.metrics); may be stale by < 1 s
    metrics_step: int  # step at which metrics were computed
    events: tuple[Event, ...]  # live changes since the previous snapshot
    field1d: Field1D | None = None
    field2d: Field2D | None = None
    grad_fake: np.ndarray | None = None  # (n, dim) grad_x of D's raw output at the fakes (2D arrows)
    z_grid: np.ndarray | None = None  # (k, k, dim) G's image of a regular z-grid (z_dim <= 2)
    images: ImageViews | None = None  # image data only: sample grids, interpolation strip, class labels
    bounds: tuple[float, ...] = ()  # view range: (xmin, xmax) in 1D, (xmin, xmax, ymin, ymax) in 2D
    modes: np.ndarray | None = None  # (K, dim) mode centres for mixtures
    steps_per_sec: float = 0.0
    device: str = "cpu"
    running: bool = True
    wall_time: float = 0.0
    config: Any = None  # the run's TrainConfig at this moment (controls echo it; None in hand-made snapshots)
    speed_limit: float = -1.0  # the engine's steps/s cap: 0 = full speed, -1 = not reported
    generator: Any = field(default=None, repr=False, compare=False)  # core.manifold.GeneratorWeights: the
    # frozen G of these views, numpy only (the manifold layer evaluates it when shown); None for a fixed G
    lazy: LazyFields | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:  # the arrays would fill a screen; ganviz.core.snapshot_view
        from .snapshot_view import short_repr

        return short_repr(self)

    def _repr_html_(self) -> str:
        """Notebooks show a picture (samples, or the image grid) and a table of losses and metrics."""
        from .snapshot_view import html_view

        return html_view(self)

    def to_png(self) -> bytes | None:
        """The notebook picture as PNG bytes (None when there is nothing to draw)."""
        from .snapshot_view import picture

        return picture(self)

    def prepare_transfer(self) -> None:
        """Move lazy weight copies to the CPU before the snapshot crosses a process boundary."""
        if self.lazy is not None and self.lazy.source is not None:
            self.lazy.source = self.lazy.source.to("cpu")

    def materialized(self) -> Snapshot:
        """This snapshot with its view arrays computed (a no-op when they already are).

        A lazy snapshot (Trainer.snapshot(lazy=True)) carries empty fake / d_real / d_fake arrays and no
        fields until this is called; history, metrics and events are always there.
        """
        if self.lazy is None:
            return self
        return dataclasses.replace(self, **self.lazy.get(), lazy=None)


def repeats(snap: Snapshot, last: Snapshot) -> bool:
    """Whether the lazy `snap` would show nothing that the drawn `last` did not: a paused run sent again (the
    engine's loop sends its state at the frame rate while paused). Any step, history row, event, setting, device,
    speed limit or metrics of a newer step makes it new; so does a snapshot already materialised (not lazy)."""
    if snap.lazy is None or snap.running or last.running or snap.events or len(snap.history.steps):
        return False
    if (snap.step, snap.d_updates, snap.g_updates, snap.objective, snap.data, snap.dim, snap.device,
            snap.speed_limit) != (last.step, last.d_updates, last.g_updates, last.objective, last.data, last.dim,
                                  last.device, last.speed_limit):
        return False
    if snap.config != last.config:
        return False
    metrics_step = getattr(snap.lazy.source, "metrics_step", None)  # deferred metrics it would bring
    return metrics_step is None or metrics_step == last.metrics_step
