"""The ensemble view: N seeds of one set-up trained in lock-step as one batched model, and the spread of
their outcomes live. Answers "is mode collapse bad luck or the rule?".

Left: a fan of exact-W1 curves (one faint line per seed, the median in bold), the share of seeds collapsed
over time, a heat strip of modes covered per seed, and a fan of D losses. Right: small multiples, each
seed's generator on one fixed noise batch over the data (refreshed a few times a second).

The engine (ganviz.core.ensemble.EnsembleTrainer) runs in a worker thread of this process (backend
"thread", the default; `engine` is then inspectable) or in a child process (backend "process", built there
from an EnsembleSpec; no GIL contention with drawing). Its snapshots are lazy: the fixed-noise samples and
the per-seed metrics (N exact-W1 assignments, N mode histograms) are computed by a pool thread here, off
both the training thread and the GUI thread; the next snapshot is requested only when the previous one has
been drawn. A child that dies or fails is said in a banner, and Reset / Play / Restart start a new one
(SessionWindow).
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets
from superqt.utils import create_worker

from ..core.config import TrainConfig
from ..core.distributions import make_distribution
from ..core.ensemble import EnsembleSnapshot, EnsembleSpec, EnsembleTrainer, check_ensemble_config
from ..core.objectives import OBJECTIVES
from ..core.snapshot import EventKind
from . import style
from .panels._common import EventMarkers, FastScatter, ViewNote
from .session_window import SessionWindow
from .toolbar import RunToolbar
from .worker import TrainingSession

SMALL_MULTIPLES_HZ = 4.0  # small multiples and the loss fan redraw at most this often
MAX_FAN_POINTS = 1500  # per-step loss curves are decimated to about this many points per seed
MAX_LOSS_ROWS = 200_000  # per-step loss rows kept (then every second row is dropped): 26 MB at N = 16
STRIP_COLUMNS = 300  # the modes heat strip is resampled to this many columns over the step axis
SEED_ALPHA = 70  # faint per-seed lines
COLLAPSED_COLOUR = "#d62728"
HEALTHY_COLOUR = "#1f5fbf"
DIVERGED_COLOUR = "#7f7f7f"
VERDICT_WARMUP = 500  # steps before the headline judges collapse (untrained generators are all one blob)


class _Growing:
    """A growing (rows, cols) float array with amortised appends."""

    def __init__(self, cols: int) -> None:
        self._buf = np.empty((64, cols))
        self.n = 0

    def append(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, self._buf.shape[1])
        need = self.n + len(rows)
        if need > len(self._buf):
            bigger = np.empty((max(need, 2 * len(self._buf)), self._buf.shape[1]))
            bigger[: self.n] = self._buf[: self.n]
            self._buf = bigger
        self._buf[self.n:need] = rows
        self.n = need

    @property
    def values(self) -> np.ndarray:
        return self._buf[: self.n]

    def clear(self) -> None:
        self.n = 0

    def halve(self) -> None:
        """Keep every second row (bounded memory over long runs; the view is decimated anyway)."""
        kept = self._buf[: self.n: 2].copy()
        self.n = len(kept)
        self._buf[: self.n] = kept


class FanPlot:
    """One faint curve per seed and the median across seeds in bold, on one PlotItem."""

    def __init__(self, plot: pg.PlotItem, n: int, colour: str, median_name: str) -> None:
        self.plot = plot
        faint = QtGui.QColor(colour)
        faint.setAlpha(SEED_ALPHA)
        self.curves = [plot.plot(pen=pg.mkPen(faint, width=1)) for _ in range(n)]
        legend = style.add_legend(plot)
        legend.addItem(self.curves[0], "each seed")
        self.median = plot.plot(pen=style.pen(colour, 3), name=median_name)
        self.median.setZValue(10)

    def set_data(self, x: np.ndarray, y: np.ndarray) -> None:
        """x (m,), y (m, N): NaN values are gaps; the median ignores NaN seeds."""
        if len(x) == 0:
            for c in self.curves:
                c.setData([], [])
            self.median.setData([], [])
            return
        for i, c in enumerate(self.curves):
            c.setData(x, y[:, i], connect="finite")
        with np.errstate(all="ignore"), _quiet_nan():
            med = np.nanmedian(y, axis=1)
        self.median.setData(x, med, connect="finite")


class _quiet_nan:  # noqa: N801 (a context manager used like a function)
    """np.nanmedian warns on all-NaN rows (a row before any metrics): silence just that."""

    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)


class SmallMultiples(pg.GraphicsLayoutWidget):
    """A grid of small plots, one per seed: that seed's G on the fixed noise batch over the data (2D
    scatter), or its histogram over the data density (1D). A red title marks a collapsed seed."""

    def __init__(self, n: int, dim: int, bounds: tuple[float, ...], data_name: str, ring: tuple) -> None:
        super().__init__()
        pal = style.palette()
        self.setBackground(pal.background)
        self.n, self.dim = n, dim
        self.cols = max(1, math.ceil(math.sqrt(n)))
        self.plots: list[pg.PlotItem] = []
        self.fakes: list[FastScatter | pg.PlotCurveItem] = []
        self.reals: list[pg.GraphicsObject] = []
        self.titles: list[str] = []
        dist = make_distribution(data_name, *ring)
        for i in range(n):
            p = self.ci.addPlot(row=i // self.cols, col=i % self.cols)
            p.hideButtons()
            p.setMenuEnabled(False)
            p.setMouseEnabled(False, False)
            for side in ("left", "bottom"):
                p.hideAxis(side)
            p.getViewBox().setBorder(pg.mkPen(pal.reference, width=1))
            style.set_title(p, " ")  # a title that may be clipped but never widens its cell
            if dim == 2:
                p.setRange(xRange=bounds[:2], yRange=bounds[2:], padding=0.0)
                p.setAspectLocked(True)
                real = FastScatter(size=3, pen=None, brush=style.brush(pal.real, 150), pxMode=True)
                fake = FastScatter(size=3, pen=None, brush=style.brush(pal.fake, 170), pxMode=True)
                p.addItem(fake)
                p.addItem(real)  # data on top: the modes stay visible under a cloud of fakes
            else:
                xs = np.linspace(bounds[0], bounds[1], 200)
                real = p.plot(xs, dist.density(xs[:, None]), pen=style.pen(pal.real, 1))
                self._edges = np.linspace(bounds[0], bounds[1], 41)
                fake = pg.PlotCurveItem(self._edges, np.zeros(40), stepMode="center", pen=style.pen(pal.fake, 1.5),
                                        fillLevel=0, brush=style.brush(pal.fake, 60))
                p.addItem(fake)
                p.setXRange(bounds[0], bounds[1], padding=0.0)
                p.enableAutoRange(axis="y", enable=True)
            self.plots.append(p)
            self.fakes.append(fake)
            self.reals.append(real)
            self.titles.append("")
        self.ci.layout.setSpacing(2)

    def set_real(self, real: np.ndarray) -> None:
        if self.dim == 2:
            for r in self.reals:
                r.set_positions(real)  # type: ignore[union-attr]

    def update_seeds(self, snap: EnsembleSnapshot, metrics: dict) -> None:
        """Samples from snap; titles from the latest metrics (they arrive about once a second)."""
        covered = metrics.get("modes_covered")
        k = metrics.get("n_modes")
        collapsed = metrics.get("collapsed")
        w1 = metrics.get("w1")
        for i, seed in enumerate(snap.seeds):
            fake = snap.fake[i]
            if self.dim == 2:
                self.fakes[i].set_positions(fake)  # type: ignore[union-attr]
            else:
                counts, edges = np.histogram(fake[:, 0], bins=self._edges, density=True)
                self.fakes[i].setData(edges, counts)  # type: ignore[union-attr]
            compact = self.cols > 5  # narrow cells: "12: 3/8" instead of "seed 12 · 3/8 modes"
            parts = [str(seed) if compact else f"seed {seed}"]
            colour = style.palette().foreground
            if snap.diverged[i]:
                parts.append("diverged")
                colour = DIVERGED_COLOUR
            elif covered is not None and k and np.isfinite(covered[i]):
                parts.append(f"{covered[i]:.0f}/{k:.0f}" + ("" if compact else " modes"))
                if collapsed is not None and collapsed[i]:
                    colour = COLLAPSED_COLOUR
            elif w1 is not None and np.isfinite(w1[i]):
                parts.append(f"W1 {w1[i]:.2f}")
            title = (": " if compact else " · ").join(parts)
            key = title + colour
            if key != self.titles[i]:
                self.titles[i] = key
                self.plots[i].setTitle(title, size="9pt", color=colour, bold=colour == COLLAPSED_COLOUR)
                tip = f"seed {seed}"
                if w1 is not None and np.isfinite(w1[i]):
                    tip += f": exact W1 {w1[i]:.3f}"
                self.plots[i].setToolTip(tip)


class EnsembleWindow(SessionWindow):
    """N seeds of one config in lock-step; the spread of their outcomes, live."""

    snapshot_drawn = QtCore.Signal(object)

    def __init__(self, config: TrainConfig, n_seeds: int = 16, backend: str = "thread", interval: float = 0.1,
                 metrics_interval: float = 1.0, autostart: bool = True, rng: str = "per-seed") -> None:
        super().__init__()
        check_ensemble_config(config, n_seeds)
        self.n_seeds = n_seeds
        self.backend, self.interval, self.metrics_interval, self.rng = backend, interval, metrics_interval, rng
        self.attach(TrainingSession(config, backend=backend, interval=interval, metrics_interval=metrics_interval,
                                    parent=self, engine=EnsembleSpec(config, n_seeds, rng)))
        self.engine: EnsembleTrainer | None = self.session.trainer  # None with the process backend
        obj = OBJECTIVES[config.objective]
        self.setWindowTitle(f"ganviz — ensemble of {n_seeds} seeds: {config.data}, {obj.label}")
        self.toolbar = RunToolbar(self, self.send)
        self.addToolBar(self.toolbar)
        self._build(config)
        self.frames = 0
        self.materialize_ms: list[float] = []  # per frame, samples only (pool thread)
        self.metrics_ms: list[float] = []  # per metrics job (pool thread)
        self.metrics_drawn = 0
        self.diverged = np.zeros(n_seeds, dtype=bool)
        self._closing = False
        self._generation = 0
        self._idle = threading.Event()  # no frame being materialised
        self._idle.set()
        self._metrics_idle = threading.Event()  # no metrics being computed
        self._metrics_idle.set()
        self._worker = None
        self._metrics_worker = None
        self._next_metrics_t = 0.0
        # the window's own pool: the global one has as many threads as cores, and the training thread
        # (TrainingSession's worker) already holds one of them
        self.pool = QtCore.QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self._last_small = 0.0
        self._reset_series()
        self.resize(1500, 950)
        if autostart:
            self.session.start()

    # -------------------------------------------------------------- layout
    def _build(self, config: TrainConfig) -> None:
        pal = style.palette()
        data = make_distribution(config.data, config.ring_radius, config.ring_std,
                                 data_points=config.data_points)
        self.dim = data.dim
        self.n_modes = None if data.modes is None else len(data.modes)
        central = QtWidgets.QWidget()
        outer = QtWidgets.QVBoxLayout(central)
        outer.setContentsMargins(6, 4, 6, 4)
        self.headline = QtWidgets.QLabel("Is mode collapse bad luck or the rule? Waiting for the first metrics...")
        self.headline.setFont(style.font(12, bold=True))
        self.headline.setWordWrap(True)
        outer.addWidget(self.headline)
        k = self.n_modes
        rule = (f"a seed counts as collapsed when it covers at most {k // 2} of the {k} modes (a mode is covered "
                "by at least one of 2500 samples within 3 std of it)" if k else
                "this dataset has no mixture modes, so collapse is not counted; compare the W1 spread")
        self.subline = QtWidgets.QLabel(
            f"{self.n_seeds} seeds ({config.seed}..{config.seed + self.n_seeds - 1}) of one set-up, trained in "
            f"lock-step as one batched model; {rule}." + (" An untrained generator is one blob, so every seed starts "
                                                          "out collapsed; the headline judges after a "
                                                          f"{VERDICT_WARMUP}-step warm-up." if k else ""))
        self.subline.setWordWrap(True)
        self.subline.setStyleSheet(f"color: {pal.reference};")
        outer.addWidget(self.subline)
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        outer.addWidget(split, 1)

        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground(pal.background)
        split.addWidget(self.plots)
        self.w1_plot = self.plots.addPlot(row=0, col=0)
        style.style_plot(self.w1_plot, "step", "exact W1", "Exact W1 per seed: spread and median")
        self.w1_fan = FanPlot(self.w1_plot, self.n_seeds, pal.disc, "median over seeds")
        self.share_plot = self.plots.addPlot(row=1, col=0)
        style.style_plot(self.share_plot, "step", "share collapsed", "Share of seeds collapsed")
        self.share_plot.setYRange(0.0, 1.0, padding=0.05)
        self.share_curve = self.share_plot.plot(pen=style.pen(COLLAPSED_COLOUR, 3), stepMode=None)
        self.share_note = ViewNote(self.share_plot, "n/a: no mixture\nmodes in this data")
        self.share_note.set_visible(k is None)
        self.strip_plot = self.plots.addPlot(row=2, col=0)
        style.style_plot(self.strip_plot, "step", "seed", "Modes covered per seed")
        self.strip = pg.ImageItem(axisOrder="row-major")
        self.strip_plot.addItem(self.strip)
        self.strip_plot.setMouseEnabled(x=True, y=False)
        self.strip_plot.invertY(True)
        self.strip_plot.getAxis("left").setTicks([self._seed_ticks(config.seed)])
        self.strip_plot.setYRange(0, self.n_seeds, padding=0.0)
        self.colorbar = pg.ColorBarItem(values=(0, k or 1), colorMap=pg.colormap.get("viridis"), width=12,
                                        interactive=False, label="modes covered")
        self.colorbar.setImageItem(self.strip)
        self.plots.addItem(self.colorbar, row=2, col=1)  # its own column: every time axis keeps one width
        self.strip_note = ViewNote(self.strip_plot, "n/a: no mixture\nmodes in this data")
        self.strip_note.set_visible(k is None)
        self.loss_plot = self.plots.addPlot(row=3, col=0)
        obj = OBJECTIVES[config.objective]
        style.style_plot(self.loss_plot, "step", "D loss", "D loss per seed (dashed: at equilibrium)")
        self.loss_fan = FanPlot(self.loss_plot, self.n_seeds, pal.part_fake, "median over seeds")
        self.loss_ref = pg.InfiniteLine(angle=0, pen=style.pen(pal.reference, 1, "dash"))
        self.loss_plot.addItem(self.loss_ref)
        self._set_loss_reference(obj.name)
        for p in (self.share_plot, self.strip_plot, self.loss_plot):
            p.setXLink(self.w1_plot)
        self.markers = [EventMarkers(self.w1_plot), EventMarkers(self.loss_plot, show_labels=False)]

        right = QtWidgets.QWidget()
        rl = QtWidgets.QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        title = QtWidgets.QLabel("Each seed's generator on one fixed noise batch, over the data")
        title.setFont(style.font(style.TITLE_PT))
        rl.addWidget(title)
        self.multiples = SmallMultiples(self.n_seeds, self.dim, data.bounds, config.data,
                                        (config.ring_radius, config.ring_std, "", "auto", config.data_points))
        rl.addWidget(self.multiples, 1)
        legend = (f"<span style='color:{pal.fake}'>■</span> generated &nbsp; <span style='color:{pal.real}'>■"
                  f"</span> data &nbsp; <b style='color:{COLLAPSED_COLOUR}'>red title</b>: collapsed &nbsp; "
                  f"<span style='color:{DIVERGED_COLOUR}'>grey title</span>: diverged (rolled back, frozen)")
        self.legend_label = QtWidgets.QLabel(legend)
        rl.addWidget(self.legend_label)
        split.addWidget(right)
        split.setSizes([700, 800])
        self.setCentralWidget(self.with_banner(central))

    def _seed_ticks(self, seed0: int) -> list[tuple[float, str]]:
        every = 1 if self.n_seeds <= 8 else 2 if self.n_seeds <= 16 else 4
        return [(i + 0.5, str(seed0 + i)) for i in range(0, self.n_seeds, every)]

    def _set_loss_reference(self, objective: str) -> None:
        ref = OBJECTIVES[objective].equilibrium_d_loss
        self.loss_ref.setVisible(ref is not None)
        if ref is not None:
            self.loss_ref.setValue(ref)
            self.loss_ref.setToolTip(f"D loss at equilibrium: {ref:.3f}")

    def _reset_series(self) -> None:
        self._generation += 1  # metrics computed before this reset are dropped when they arrive
        self._need_real = True
        self.latest_metrics: dict = {}
        self.latest_metrics_step = -1
        self.m_steps: list[int] = []
        self.w1 = _Growing(self.n_seeds)
        self.covered = _Growing(self.n_seeds)
        self.share: list[float] = []
        self.h_steps = _Growing(1)
        self.d_loss = _Growing(self.n_seeds)
        for m in self.markers:
            m.clear()

    # -------------------------------------------------------------- traffic
    def make_session(self) -> TrainingSession:
        """A new ensemble of the same seeds from the config the last one trained."""
        spec = EnsembleSpec(self.session.config, self.n_seeds, self.rng)
        return TrainingSession(spec.config, backend=self.backend, interval=self.interval,
                               metrics_interval=self.metrics_interval, parent=self, engine=spec)

    def run_replaced(self) -> None:
        self.engine = self.session.trainer
        self.diverged = np.zeros(self.n_seeds, dtype=bool)
        self._reset_series()  # metrics of the old run still being computed are dropped when they arrive
        self.w1_fan.set_data(np.empty(0), np.empty((0, self.n_seeds)))
        self.loss_fan.set_data(np.empty(0), np.empty((0, self.n_seeds)))
        self.share_curve.setData([], [])

    def on_snapshot(self, snap: EnsembleSnapshot) -> None:
        """A lazy snapshot arrived: its samples are computed in a pool thread, then drawn here. Its deferred
        metrics (if any) go to a second pool thread, unless the previous metrics are still being computed
        (then these are skipped): frames with fresh samples keep flowing while metrics take their time."""
        if self._closing:
            return
        job = snap.pending_metrics
        if job is not None and self._metrics_idle.is_set() and time.perf_counter() >= self._next_metrics_t:
            self._start_metrics(job)
        if snap.lazy is None:
            self._draw(snap)
            return

        def materialise() -> EnsembleSnapshot:
            try:
                t0 = time.perf_counter()
                full = snap.materialized(metrics=False)
                self.materialize_ms.append(1000 * (time.perf_counter() - t0))
                return full
            finally:
                self._idle.set()

        self._idle.clear()
        session = self.session  # a frame of a run replaced meanwhile is dropped (and credits no new run)
        worker = create_worker(materialise, _start_thread=False)
        worker.returned.connect(lambda full: session is self.session and self._draw(full))
        worker.errored.connect(lambda exc: session is self.session and self._draw_failed(str(exc)))
        self._worker = worker
        self.pool.start(worker)

    def _start_metrics(self, job) -> None:
        generation = self._generation

        def compute() -> tuple[int, int, dict]:
            t0 = time.perf_counter()
            try:
                out = job.compute()
                self.metrics_ms.append(1000 * (time.perf_counter() - t0))
                return generation, job.step, out
            finally:
                # at most half of a core for metrics: wait as long as this job took before the next one
                # (scipy's assignment holds the GIL, which the training and GUI threads need too)
                end = time.perf_counter()
                self._next_metrics_t = end + (end - t0)
                self._metrics_idle.set()

        self._metrics_idle.clear()
        worker = create_worker(compute, _start_thread=False)
        worker.returned.connect(self._on_metrics)
        worker.errored.connect(lambda exc: self.statusBar().showMessage(f"metrics failed: {exc}", 10000))
        self._metrics_worker = worker
        self.pool.start(worker)

    def _on_metrics(self, result: tuple[int, int, dict]) -> None:
        generation, step, metrics = result
        if self._closing or generation != self._generation or (self.m_steps and step <= self.m_steps[-1]):
            return  # from before a reset, or late
        self.latest_metrics = metrics
        self.latest_metrics_step = step
        self.m_steps.append(step)
        self.w1.append(metrics["w1"])
        if "modes_covered" in metrics:
            self.covered.append(metrics["modes_covered"])
            self.share.append(float(metrics["collapsed_share"]))
        self._draw_metrics(metrics, step)
        self.metrics_drawn += 1

    def _draw_failed(self, message: str) -> None:
        self.statusBar().showMessage(f"Could not compute this frame: {message}", 10000)
        self.session.frame_done()

    def _draw(self, snap: EnsembleSnapshot) -> None:
        if self._closing:
            return
        try:
            if any(e.kind == EventKind.RESET for e in snap.events):
                self._reset_series()
            for m in self.markers:
                m.add(e for e in snap.events if e.kind != EventKind.RUN)
            for e in snap.events:
                if e.kind == EventKind.OBJECTIVE:
                    self._set_loss_reference(e.detail.get("new", snap.objective))
                elif e.kind == EventKind.DIVERGED:
                    self.statusBar().showMessage(f"step {e.step}: {e.label}", 20000)
                elif e.kind == EventKind.ERROR:
                    self.statusBar().showMessage(e.label, 15000)
            self.diverged = snap.diverged
            h = snap.history
            if len(h.steps):
                self.h_steps.append(h.steps.astype(np.float64))
                self.d_loss.append(h.values["d_loss"])
                if self.d_loss.n > MAX_LOSS_ROWS:
                    self.h_steps.halve()
                    self.d_loss.halve()
            if snap.metrics_step >= 0 and snap.metrics:  # metrics computed by the engine (not deferred)
                self._on_metrics((self._generation, snap.metrics_step, snap.metrics))
            now = time.perf_counter()
            if now - self._last_small >= 1.0 / SMALL_MULTIPLES_HZ:
                self._last_small = now
                if snap.fake.shape[0] == self.n_seeds:
                    if self._need_real or any(e.kind == EventKind.DATASET for e in snap.events):
                        self.multiples.set_real(snap.real)
                        self._need_real = False
                    self.multiples.update_seeds(snap, self.latest_metrics)
                self._draw_losses()
            self._update_status(snap)
            if snap.running != self.toolbar.play_action.isChecked():
                self.toolbar.show_running(snap.running)
            self.last_snapshot = snap
            self.frames += 1
            self.snapshot_drawn.emit(snap)
        finally:
            self.session.frame_done()

    def _draw_metrics(self, metrics: dict, step: int) -> None:
        x = np.asarray(self.m_steps, dtype=np.float64)
        self.w1_fan.set_data(x, self.w1.values)
        if self.share:
            self.share_curve.setData(x[-len(self.share):], np.asarray(self.share))
            self._draw_strip(x[-len(self.share):], self.covered.values, float(metrics["n_modes"]))
        self._update_headline(metrics, step)

    def _draw_strip(self, steps: np.ndarray, covered: np.ndarray, k: float) -> None:
        """Modes covered (seeds x steps), resampled to STRIP_COLUMNS columns: each column shows the latest
        metrics at or before its step, so uneven metric spacing (speed changes) is drawn to scale."""
        if len(steps) == 0:
            return
        lo, hi = steps[0], max(steps[-1], steps[0] + 1)
        centres = np.linspace(lo, hi, STRIP_COLUMNS)
        idx = np.clip(np.searchsorted(steps, centres, side="right") - 1, 0, len(steps) - 1)
        img = covered[idx].T  # (N, columns)
        self.strip.setImage(np.nan_to_num(img, nan=0.0), levels=(0, k), autoLevels=False)
        self.strip.setRect(QtCore.QRectF(lo, 0, hi - lo, self.n_seeds))
        if self.colorbar.levels() != (0, k):
            self.colorbar.setLevels((0, k))

    def _draw_losses(self) -> None:
        x = self.h_steps.values[:, 0]
        y = self.d_loss.values
        if len(x) > MAX_FAN_POINTS:
            stride = math.ceil(len(x) / MAX_FAN_POINTS)
            x, y = x[::stride], y[::stride]
        self.loss_fan.set_data(x, y)

    def _update_headline(self, metrics: dict, step: int) -> None:
        """The verdict, once the seeds have trained for VERDICT_WARMUP steps ("too early to tell" before:
        every untrained generator is one blob, so every seed starts out "collapsed")."""
        w1 = metrics["w1"]
        finite = w1[np.isfinite(w1)]
        parts = []
        collapsed = metrics.get("collapsed")
        if collapsed is not None:
            c = int(np.sum(collapsed))
            share = float(metrics["collapsed_share"])
            verdict = ("the rule (most seeds)" if share >= 0.5 else "bad luck (a minority of seeds)" if share > 0
                       else "absent")
            if step < VERDICT_WARMUP:
                parts.append(f"Collapsed: {c} of {self.n_seeds} seeds at step {step}: too early to tell (the "
                             f"verdict comes after a {VERDICT_WARMUP}-step warm-up)")
            else:
                parts.append(f"Collapsed: {c} of {self.n_seeds} seeds ({100 * share:.0f}%) at step {step}: "
                             f"collapse here is {verdict}")
            with _quiet_nan():
                parts.append(f"modes covered: median {np.nanmedian(metrics['modes_covered']):.0f} of "
                             f"{metrics['n_modes']:.0f}")
        else:
            parts.append(f"Step {step}")
        if finite.size:
            q1, med, q3 = np.percentile(finite, [25, 50, 75])
            parts.append(f"W1: median {med:.3f} (IQR {q1:.3f}–{q3:.3f})")
        n_div = int(np.sum(self.diverged))
        if n_div:
            parts.append(f"{n_div} diverged")
        self.headline.setText("   ·   ".join(parts))

    def _update_status(self, snap: EnsembleSnapshot) -> None:
        rate = snap.steps_per_sec
        self.status.setText(f"step {snap.step}   {rate:.1f} steps/s ({self.n_seeds} seeds per step, "
                            f"{rate * self.n_seeds:.0f} seed-steps/s)   device: {snap.device}")

    # -------------------------------------------------------------- closing
    def shutdown(self) -> bool:
        """Stop training within a second and let a frame being computed finish."""
        self._closing = True
        ok = self.session.stop(timeout=1.0)
        frame_done = self._idle.wait(1.0)
        metrics_done = self._metrics_idle.wait(2.0)  # N assignments of 256 points: about a second at most
        return ok and frame_done and metrics_done and self.pool.waitForDone(1000)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 (Qt API)
        self.shutdown()
        super().closeEvent(event)


def ask_seeds(parent: QtWidgets.QWidget | None, default: int = 16) -> int | None:
    """A small dialog: how many seeds (2..32)."""
    n, ok = QtWidgets.QInputDialog.getInt(
        parent, "Ensemble of seeds", "Seeds to train side by side (2-32).\nEach step trains all of them; "
        "expect about 1/N of the single run's steps/s for full-size networks.", default, 2, 32, 1)
    return int(n) if ok else None
