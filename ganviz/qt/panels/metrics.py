"""Small multiples of the run's metrics over steps, x axes linked, with live-change markers on each."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6 import QtGui, QtWidgets

from ganviz.core.snapshot import Snapshot
from ganviz.qt import style
from ganviz.qt.panels._common import (
    EventMarkers,
    LogAxis,
    NaNote,
    ViewNote,
    class_count,
    fast_dashes,
    finite_or_nan,
    objective_of,
    peak_downsample_per_pixel,
)
from ganviz.qt.panels.yrange import RobustYRange
from ganviz.qt.series import Series
from ganviz.qt.timeline_ghosts import BranchGhosts, branch_point, branch_rows

LOG2 = math.log(2.0)
SAME_SCALE = frozenset({"jsd", "w1"})  # plots whose scale does not change with the objective


@dataclass(frozen=True)
class CurveSpec:
    key: str  # name in Snapshot.metrics (source "metrics") or History.values (source "history")
    label: str  # legend text
    colour: str  # palette attribute
    source: str = "metrics"
    pen_style: str = "solid"
    width: int = style.MAIN_WIDTH


@dataclass(frozen=True)
class PlotSpec:
    name: str
    title: str
    y_label: str
    curves: tuple[CurveSpec, ...]
    log_y: bool = False


PLOTS: tuple[PlotSpec, ...] = (
    PlotSpec(
        "jsd", "(a) JS divergence", "JSD (nats)",
        (
            CurveSpec("jsd_est", "from D: (V + log 4) / 2", "disc"),
            CurveSpec("jsd_true", "true (KDE of p_g)", "real", pen_style="dash"),
        ),
    ),
    PlotSpec(
        "w1", "(b) exact W1", "W1 (data units)",
        (CurveSpec("w1", "W1(real, fake)", "real"),),
    ),
    PlotSpec(
        "gap", "(c) critic gap", "E f(real) - E f(fake)",
        (CurveSpec("critic_gap", "critic gap", "disc"),),
    ),
    PlotSpec(
        "grad", "(d) gradient norms", "||grad|| (log scale)",
        (
            CurveSpec("g_grad_norm", "G", "gen", source="history", width=1),
            CurveSpec("d_grad_norm", "D", "disc", source="history", width=1),
        ),
        log_y=True,
    ),
    PlotSpec(
        "d_means", "(e) mean D output", "mean D",
        (
            CurveSpec("d_real_mean", "mean D(real)", "real"),
            CurveSpec("d_fake_mean", "mean D(fake)", "fake"),
        ),
    ),
    PlotSpec(
        "modes", "(f) mode coverage", "fraction",
        (
            CurveSpec("modes_fraction", "modes covered / K", "disc"),
            CurveSpec("hq_fraction", "high-quality samples", "gen", pen_style="dash"),
        ),
    ),
)

# Image data (Snapshot.images set): no true JSD, W1 or mixture modes; the same cells show the image metrics
IMAGE_PLOTS: tuple[PlotSpec, ...] = tuple(
    {
        "jsd": PlotSpec("jsd", "(a) JS divergence", "JSD (nats)", (CurveSpec("jsd_est", "from D: (V + log 4) / 2",
                                                                             "disc"),)),
        "w1": PlotSpec(
            "w1", "(b) Fréchet (classifier)", "Fréchet",
            (CurveSpec("frechet", "real vs fake (not FID)", "real"),),
        ),
        "modes": PlotSpec(
            "modes", "(f) class coverage", "fraction",
            (
                CurveSpec("classes_fraction", "classes covered / K", "disc"),
                CurveSpec("class_confidence", "mean class confidence", "gen", pen_style="dash"),
            ),
        ),
    }.get(spec.name, spec)
    for spec in PLOTS
)


def is_image_snapshot(snapshot: Snapshot) -> bool:
    """Image data: views, image metrics, or a flat (H * W) sample dimension (the toy data is 1D or 2D)."""
    return (snapshot.images is not None or snapshot.dim > 2 or "classes_covered" in snapshot.metrics
            or "frechet" in snapshot.metrics)


class MetricsPanel(QtWidgets.QWidget):
    """Metrics over steps as small multiples (a)-(f) in a grid, all x axes linked to the first.

    Metric points (`Snapshot.metrics`) are appended only when `metrics_step` changes, at x = metrics_step;
    a missing or NaN metric is stored as NaN and drawn as a gap. Gradient norms come per step from
    `Snapshot.history` (non-positive / NaN rows skipped on the log axis). A plot with nothing finite to
    show displays a faint "n/a" note. (f) plots modes_covered / n_modes and hq_fraction; its title shows
    the latest "modes covered k/K" and a corner readout the latest reverse KL (nats).

    Image data (`Snapshot.images` set) has no true JSD, W1 or mixture modes: those cells switch to
    IMAGE_PLOTS, (b) the Fréchet distance in the coverage classifier's feature space and (f) classes
    covered / K with the mean class confidence (readout: KL of the class histogram to uniform).
    """

    def __init__(
        self, parent: QtWidgets.QWidget | None = None, columns: int | None = None, cap: int = 20_000
    ) -> None:
        super().__init__(parent)
        pal = style.palette()
        self._glw = pg.GraphicsLayoutWidget()
        self._glw.setBackground(pal.background)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self._glw)

        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._series: dict[str, Series] = {}
        self._sources: dict[str, str] = {}
        self._markers: dict[str, EventMarkers] = {}
        self.ghosts: dict[str, BranchGhosts] = {}
        self._notes: dict[str, NaNote] = {}
        self._legends: dict[str, pg.LegendItem] = {}
        self._ranges: dict[str, RobustYRange] = {}  # robust y-ranges: a spike must not flatten a plot
        first: pg.PlotItem | None = None
        self._auto_columns = columns is None
        self._columns = 2 if columns is None else int(columns)
        self._plot_keys: dict[str, list[str]] = {}
        for i, (spec, image_spec) in enumerate(zip(PLOTS, IMAGE_PLOTS, strict=True)):
            axes = {"left": LogAxis("left")} if spec.log_y else None
            plot = self._glw.addPlot(row=i // self._columns, col=i % self._columns, axisItems=axes)
            style.style_plot(plot, bottom="step", left=spec.y_label, title=spec.title)
            plot.showGrid(x=False, y=True, alpha=0.15)
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
            if spec.log_y:
                plot.setLogMode(x=False, y=True)
            if first is None:
                first = plot
            else:
                plot.setXLink(first)
            self._legends[spec.name] = style.add_legend(plot)
            self._plot_keys[spec.name] = []
            for c in spec.curves + tuple(c for c in image_spec.curves if c not in spec.curves):
                curve = plot.plot(
                    [], [], name=c.label if c in spec.curves else None,
                    pen=style.pen(getattr(pal, c.colour), c.width, c.pen_style), connect="finite",
                )
                curve.setVisible(c in spec.curves)
                peak_downsample_per_pixel(curve)
                if c.pen_style != "solid":
                    fast_dashes(curve)
                self.curves[c.key] = curve
                self._series[c.key] = Series(cap=cap)
                self._sources[c.key] = c.source
                self._plot_keys[spec.name].append(c.key)
            self._markers[spec.name] = EventMarkers(plot, rotate=False)
            self.ghosts[spec.name] = BranchGhosts(plot)  # the old line's curves after a branch (issue 18.5)
            if spec.name != "modes":  # fractions keep their fixed 0..1 axis
                # W1 and JSD measure the data, not the objective: one scale for the whole run, and a decaying
                # curve is the lesson (only a far-off value is clipped)
                self._ranges[spec.name] = RobustYRange(plot, log=spec.log_y,
                                                       fence=10.0 if spec.name in SAME_SCALE else 2.0)
            self._notes[spec.name] = NaNote(plot)
            self.plots[spec.name] = plot

        self._equal_cells()
        jsd_plot = self.plots["jsd"]
        self.log2_line = pg.InfiniteLine(pos=LOG2, angle=0, movable=False, pen=style.pen(pal.reference, 1, "dash"))
        jsd_plot.addItem(self.log2_line, ignoreBounds=True)
        log2_sample = pg.PlotDataItem([], [], pen=style.pen(pal.reference, 1, "dash"))
        self._legends["jsd"].addItem(log2_sample, "log 2 (disjoint supports)")
        self._extra_legend = {"jsd": [(log2_sample, "log 2 (disjoint supports)")]}
        self.equilibrium_line = pg.InfiniteLine(angle=0, movable=False, pen=style.pen(pal.reference, 1, "dash"))
        self.equilibrium_line.setVisible(False)
        self.plots["d_means"].addItem(self.equilibrium_line, ignoreBounds=True)
        self.reverse_kl_note = ViewNote(self.plots["modes"], "", where="bottom-right")
        self.plots["modes"].setYRange(0.0, 1.05, padding=0.0)
        self.plots["modes"].enableAutoRange(y=False)

        self._last_metrics_step: int | None = None
        self._last_step: int | None = None
        self._objective: str | None = None
        self._modes_title = PLOTS[-1].title
        self._fixed_d_range: tuple[float, float] | None = None
        self.image_mode = False

    # -- public API --------------------------------------------------------------------------------------
    def update_snapshot(self, snapshot: Snapshot) -> None:
        branch = None
        if self._last_step is not None and snapshot.step < self._last_step:
            branch = branch_point(snapshot)  # a branch from a past step (issue 18.5): the old line stays, dimmed
            if branch is None:
                self.reset()
            else:
                self.branch_at(branch)
        self._last_step = snapshot.step
        if snapshot.objective != self._objective:
            if self._objective is not None:
                for name, rng in self._ranges.items():
                    if name not in SAME_SCALE:
                        rng.new_segment(float(snapshot.step))
            self._objective = snapshot.objective
            self._apply_objective(snapshot.objective)
        if is_image_snapshot(snapshot) != self.image_mode:
            self._set_image_mode(not self.image_mode)

        changed: set[str] = set()
        # metrics from past the snapshot's step are an old line's, carried over a branch (issue 18.5): not drawn
        if snapshot.metrics_step != self._last_metrics_step and snapshot.metrics_step <= snapshot.step:
            self._last_metrics_step = snapshot.metrics_step
            m = snapshot.metrics
            values = {key: finite_or_nan(m.get(key)) for key, src in self._sources.items() if src == "metrics"}
            covered, n_modes = finite_or_nan(m.get("modes_covered")), finite_or_nan(m.get("n_modes"))
            values["modes_fraction"] = covered / n_modes if n_modes > 0 else float("nan")
            classes, k = finite_or_nan(m.get("classes_covered")), class_count(snapshot)
            values["classes_fraction"] = classes / k if k > 0 else float("nan")
            for key, v in values.items():
                series = self._series[key]
                last = series.last_x
                if last is None or snapshot.metrics_step > last:
                    series.append(float(snapshot.metrics_step), v)
                    changed.add(key)
            if self.image_mode:
                self._update_modes_title(classes, float(k) if k else float("nan"), finite_or_nan(m.get("class_kl")))
            else:
                self._update_modes_title(covered, n_modes, finite_or_nan(m.get("reverse_kl")))

        hist = snapshot.history
        steps = np.asarray(hist.steps, dtype=np.float64)
        if steps.size:
            for key, src in self._sources.items():
                if src != "history" or key not in hist.values:
                    continue
                y = np.asarray(hist.values[key], dtype=np.float64)
                mine = steps <= snapshot.step if branch is None else branch_rows(steps, snapshot.step)
                ok = np.isfinite(y) & (y > 0) & mine  # a row newer than the snapshot is an old line's
                series = self._series[key]
                if series.last_x is not None:
                    ok &= steps > series.last_x
                if ok.any():
                    series.append(steps[ok], y[ok])
                    changed.add(key)

        for key in changed:
            s = self._series[key]
            self.curves[key].setData(s.x, s.y, connect="finite")
        if changed:
            self._refresh_notes_and_ranges()
        if snapshot.events:
            for markers in self._markers.values():
                markers.add(snapshot.events)

    def branch_at(self, step: int) -> None:
        """The run continues from `step` on a new line: each curve keeps its points up to step, the rest is drawn
        dimmed and dashed beside the branch (ganviz.qt.timeline_ghosts)."""
        for name, keys in self._plot_keys.items():
            for key in keys:
                series = self._series[key]
                self.ghosts[name].add(key, self.curves[key], *series.cut_after(step))
                self.curves[key].setData(series.x, series.y, connect="finite")
        last = self._series["w1"].last_x
        self._last_metrics_step = None if last is None else int(last)
        self._last_step = step

    def reset(self) -> None:
        for ghosts in self.ghosts.values():
            ghosts.clear()
        for key, s in self._series.items():
            s.clear()
            self.curves[key].setData([], [])
        for markers in self._markers.values():
            markers.clear()
        for rng in self._ranges.values():
            rng.reset()
        self._last_metrics_step = None
        self._last_step = None
        self._objective = None
        self._update_modes_title(float("nan"), float("nan"), float("nan"))
        self._refresh_notes_and_ranges()

    def series(self, key: str) -> Series:
        """The buffer behind one curve (a metrics key, 'modes_fraction', or a history key)."""
        return self._series[key]

    def markers(self, plot_name: str) -> EventMarkers:
        """Event markers of one small multiple: jsd, w1, gap, grad, d_means, modes."""
        return self._markers[plot_name]

    def note_visible(self, plot_name: str) -> bool:
        """Whether the plot currently shows its "n/a" note (nothing finite to draw)."""
        return self._notes[plot_name].is_visible()

    def set_columns(self, columns: int | None) -> None:
        """Grid columns of the small multiples; None = choose from the widget's shape on resize."""
        self._auto_columns = columns is None
        if columns is not None:
            self._place(int(columns))

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        if self._auto_columns:
            w, h = event.size().width(), max(event.size().height(), 1)
            self._place(3 if w >= 1.25 * h else 1 if w < 0.6 * h else 2)

    # -- internals ---------------------------------------------------------------------------------------
    def _place(self, columns: int) -> None:
        columns = max(1, min(columns, len(PLOTS)))
        if columns == self._columns:
            return
        self._columns = columns
        layout = self._glw.ci.layout
        for plot in self.plots.values():
            layout.removeItem(plot)
        for i, plot in enumerate(self.plots.values()):
            layout.addItem(plot, i // columns, i % columns)
        self._equal_cells()
        layout.activate()

    def _equal_cells(self) -> None:
        layout = self._glw.ci.layout
        rows = -(-len(PLOTS) // self._columns)
        for c in range(len(PLOTS)):
            layout.setColumnStretchFactor(c, 1 if c < self._columns else 0)
        for r in range(len(PLOTS)):
            layout.setRowStretchFactor(r, 1 if r < rows else 0)

    def _apply_objective(self, name: str) -> None:
        obj = objective_of(name)
        plot = self.plots["d_means"]
        short = obj.d_axis_label.split(" (")[0]
        style.label_axis(plot, "left", f"mean {short}")
        if obj.equilibrium_d is None:
            self.equilibrium_line.setVisible(False)
        else:
            self.equilibrium_line.setPos(float(obj.equilibrium_d))
            self.equilibrium_line.setVisible(True)
        self._fixed_d_range = obj.display_range  # a probability D has its 0..1 axis; a critic is ranged robustly
        if obj.display_range is not None:
            plot.setYRange(*obj.display_range, padding=0.03)

    def _refresh_notes_and_ranges(self) -> None:
        for spec in self.specs():
            has = any(self._series[c.key].has_finite() for c in spec.curves)
            self._notes[spec.name].set_visible(not has)
        for spec in self.specs():
            rng = self._ranges.get(spec.name)
            if rng is None or (spec.name == "d_means" and self._fixed_d_range is not None):
                continue
            curves = [(self._series[c.key].x, self._series[c.key].y) for c in spec.curves
                      if len(self._series[c.key])]
            # the JSD plot always shows 0 and log 2 (its bounds); an estimate's spike is clipped and marked
            include = (0.0, LOG2 * 1.04) if spec.name == "jsd" else ()
            near = (self.equilibrium_line.value(),) if spec.name == "d_means" and \
                self.equilibrium_line.isVisible() else ()
            if curves:
                rng.refresh(curves, include=include, near=near)

    def _update_modes_title(self, covered: float, n_modes: float, kl: float) -> None:
        """(f)'s title and corner readout: modes covered and reverse KL, or for image data classes covered
        and the KL of the class histogram to uniform."""
        title = next(p.title for p in self.specs() if p.name == "modes")
        kl_name = "KL to uniform" if self.image_mode else "reverse KL"
        if np.isfinite(covered) and np.isfinite(n_modes):
            what = "coverage" if self.image_mode else "modes covered"
            title = f"(f) {what} {covered:g}/{n_modes:g}"
        if title != self._modes_title:
            self._modes_title = title
            style.set_title(self.plots["modes"], title)
        self.reverse_kl_note.set_text(f"{kl_name} {kl:.3f} nats" if np.isfinite(kl) else "")

    def specs(self) -> tuple[PlotSpec, ...]:
        """The plots as currently shown: PLOTS for the toy data, IMAGE_PLOTS for image data."""
        return IMAGE_PLOTS if self.image_mode else PLOTS

    def _set_image_mode(self, on: bool) -> None:
        """Swap the cells whose metrics do not exist for this kind of data (curves, legend, title, y label)."""
        self.image_mode = bool(on)
        for toy, image in zip(PLOTS, IMAGE_PLOTS, strict=True):
            if toy is image:
                continue
            spec = image if on else toy
            plot, legend = self.plots[spec.name], self._legends[spec.name]
            active = [c.key for c in spec.curves]
            for key in self._plot_keys[spec.name]:
                self.curves[key].setVisible(key in active)
                legend.removeItem(self.curves[key])
            for c in spec.curves:
                legend.addItem(self.curves[c.key], c.label)
            for item, label in self._extra_legend.get(spec.name, []):
                legend.removeItem(item)
                legend.addItem(item, label)
            style.set_title(plot, spec.title)
            style.label_axis(plot, "left", spec.y_label)
        self._modes_title = next(p.title for p in self.specs() if p.name == "modes")
        self.reverse_kl_note.set_text("")
        self._refresh_notes_and_ranges()
