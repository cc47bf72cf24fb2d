"""Mode coverage: modes covered, % high quality and reverse KL over steps with collapse markers, the
per-mode share of the generated mass, and fixed-noise trails drawn on the 2D data view."""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets
from superqt.utils import signals_blocked

from ganviz.core.collapse import COLLAPSE, CollapseDetector, CollapseEvent
from ganviz.core.commands import command_for_change
from ganviz.core.config import FIELDS, TrainConfig, describe_range
from ganviz.core.snapshot import EventKind, Snapshot
from ganviz.qt import style
from ganviz.qt.fit_titles import fit_ticks, fit_titles
from ganviz.qt.panels._common import (
    EventMarkers,
    NaNote,
    canvas,
    finite_or_nan,
    panel_layout,
    peak_downsample_per_pixel,
)
from ganviz.qt.panels.mode_labels import MAX_TICK_LABELS, mode_tick_labels, status_text
from ganviz.qt.series import Series

TRAIL_LENGTH = 20  # snapshots a trail remembers
MAX_TRAILS = 128  # fakes of the fixed noise batch that get a trail (the first ones: the same every frame)
TRAIL_ALPHAS = (180, 100, 50, 22)  # newest -> oldest segments, one curve item per alpha
NA_TEXT = "n/a: no mixture\nmodes in this data"
NO_HQ_TEXT = "no high-quality\nsample yet"
TITLES = {  # per plot: title versions, the full one first (the longest that fits is shown: fit_titles)
    "covered": ("(a) modes covered (≥ 1 HQ sample)", "(a) modes covered", "(a) modes"),
    "hq": ("(b) high-quality samples (within 3 std)", "(b) % high-quality", "(b) HQ"),
    "rkl": ("(c) reverse KL of the mode histogram", "(c) reverse KL", "(c) KL"),
    "shares": ("(d) mass per mode now (HQ samples)", "(d) mass per mode", "(d) mass"),
}


class FixedNoiseTrails:
    """Fading trails of the fixed-noise fakes G(z_fixed) over the last `length` snapshots, on a 2D plot.

    The fixed noise batch is the same every snapshot, so fake j of one snapshot and fake j of the next are
    the same z: the segment between them shows where G moved that z. Segments are drawn by a few
    PlotCurveItems with connect="pairs" (one per age group, older groups more transparent), so a frame
    costs a few numpy ops and len(TRAIL_ALPHAS) setData calls whatever the number of trails (at most
    `max_trails`, the first fakes of the batch). Frames with an unchanged step (paused) add nothing.
    """

    def __init__(self, length: int = TRAIL_LENGTH, max_trails: int = MAX_TRAILS) -> None:
        pal = style.palette()
        self.length = int(length)
        self.max_trails = int(max_trails)
        self.items = [pg.PlotCurveItem(pen=style.pen(f"{pal.fake}{a:02x}", 1), connect="pairs", antialias=False)
                      for a in TRAIL_ALPHAS]
        for item in self.items:
            item.setZValue(10.5)  # above the real samples (10), under the fakes (11)
        self._history: deque[np.ndarray] = deque(maxlen=self.length)
        self._last_step: int | None = None
        self._legend: pg.LegendItem | None = None
        self.visible = False

    def attach(self, plot: pg.PlotItem, legend: pg.LegendItem | None = None) -> None:
        self._legend = legend
        for item in self.items:
            plot.addItem(item, ignoreBounds=True)
            item.setVisible(self.visible)

    def set_visible(self, on: bool) -> None:
        self.visible = bool(on)
        for item in self.items:
            item.setVisible(self.visible)
        if self._legend is not None:
            self._legend.removeItem(self.items[0])
            if self.visible:
                self._legend.addItem(self.items[0], f"fixed-noise trails (last {self.length} frames)")
        if self.visible:
            self.redraw()

    def push(self, snapshot: Snapshot) -> None:
        """Remember this snapshot's fakes (2D only); redraw when visible."""
        fake = np.asarray(snapshot.fake, dtype=np.float64) if snapshot.dim == 2 else None
        if fake is None or fake.ndim != 2 or fake.shape[1] < 2:
            if self._history or self._last_step is not None:  # not every 1D / image frame: nothing to clear
                self.clear()
            return
        if snapshot.step == self._last_step:
            return
        fake = fake[: self.max_trails, :2]
        if self._history and self._history[-1].shape != fake.shape:
            self._history.clear()
        self._last_step = snapshot.step
        self._history.append(fake.copy())
        if self.visible:
            self.redraw()

    def segments(self) -> list[np.ndarray]:
        """Per age group (newest first): (2m, 2) endpoint pairs of its finite segments."""
        groups: list[list[np.ndarray]] = [[] for _ in self.items]
        hist = list(self._history)
        n_seg = len(hist) - 1
        per_group = max(1, math.ceil((self.length - 1) / len(self.items)))
        for t in range(n_seg):
            age = n_seg - 1 - t  # 0 = the newest segment
            a, b = hist[t], hist[t + 1]
            pairs = np.stack([a, b], axis=1)  # (n, 2, 2)
            ok = np.isfinite(pairs).all(axis=(1, 2))
            groups[min(age // per_group, len(self.items) - 1)].append(pairs[ok].reshape(-1, 2))
        return [np.concatenate(g) if g else np.empty((0, 2)) for g in groups]

    def redraw(self) -> None:
        for item, pts in zip(self.items, self.segments(), strict=True):
            if len(pts):
                item.setData(pts[:, 0], pts[:, 1], connect="pairs")
            else:
                item.setData([], [])

    def clear(self) -> None:
        self._history.clear()
        self._last_step = None
        for item in self.items:
            item.setData([], [])

    def __len__(self) -> int:
        """Snapshots currently remembered."""
        return len(self._history)


class CollapseMarkers:
    """Collapse (red, solid) and recovery (green) lines on the time plots, labelled on the first plot, and
    the collapsed stretches shaded there. At most `max_events` are kept (oldest dropped)."""

    def __init__(self, plots: list[pg.PlotItem], max_events: int = 100) -> None:
        self._plots = plots
        self._max = max_events
        self._groups: deque[list[tuple[pg.PlotItem, pg.GraphicsObject]]] = deque()
        self._open_region: pg.LinearRegionItem | None = None
        self.labels: list[str] = []

    @property
    def _items(self) -> list[tuple[pg.PlotItem, pg.GraphicsObject]]:
        return [pair for group in self._groups for pair in group]

    def add(self, ev: CollapseEvent) -> None:
        pal = style.palette()
        colour = pal.event if ev.kind == COLLAPSE else pal.gen
        group: list[tuple[pg.PlotItem, pg.GraphicsObject]] = []
        self._groups.append(group)
        for i, plot in enumerate(self._plots):
            label = ev.label if i == 0 else None
            line = pg.InfiniteLine(
                pos=float(ev.step), angle=90, movable=False, pen=style.pen(colour, 2), label=label,
                labelOpts={"position": 0.6 if ev.kind == COLLAPSE else 0.35, "color": colour,
                           "fill": pg.mkBrush(pal.legend_brush), "anchors": [(0, 1), (1, 1)]},
            )  # anchors: the label on the side of the line towards the view's centre (pyqtgraph picks), so a
            # marker near the right edge (a fresh one always is) is labelled to its left, not cut at the edge
            if getattr(line, "label", None) is not None:
                line.label.setFont(style.font(style.EVENT_LABEL_PT))
            line.setToolTip(f"step {ev.step}: {ev.label} (detected at step {ev.detected_at})")
            line.setZValue(40)
            plot.addItem(line, ignoreBounds=True)
            group.append((plot, line))
        self.labels.append(ev.label)
        if ev.kind == COLLAPSE:
            region = pg.LinearRegionItem(values=(ev.step, ev.detected_at), movable=False,
                                         brush=style.brush(pal.event, 28), pen=pg.mkPen(None))
            region.setZValue(-5)
            self._plots[0].addItem(region, ignoreBounds=True)
            group.append((self._plots[0], region))
            self._open_region = region
        elif self._open_region is not None:
            lo, _ = self._open_region.getRegion()
            self._open_region.setRegion((lo, ev.step))
            self._open_region = None
        while len(self._groups) > self._max:
            for plot, item in self._groups.popleft():
                plot.removeItem(item)
                if item is self._open_region:
                    self._open_region = None
            self.labels.pop(0)

    def extend_open(self, step: float) -> None:
        """Stretch the shading of an ongoing collapse to the latest step."""
        if self._open_region is not None:
            lo, _ = self._open_region.getRegion()
            self._open_region.setRegion((lo, max(lo, step)))

    def clear(self) -> None:
        for plot, item in self._items:
            plot.removeItem(item)
        self._groups.clear()
        self._open_region = None
        self.labels.clear()

    def __len__(self) -> int:
        return len(self.labels)


REMEDY_KEYS = (("unroll", "unroll k"), ("pack", "pack m"), ("mbdisc", "mb-disc B"), ("mbstd", "mb-std"))


class RemedyControls(QtWidgets.QWidget):
    """One row of the mode-collapse remedies that live in config: unrolling k (applies at the next step),
    packing m, minibatch discrimination kernels B and the minibatch-std feature (these three rebuild D and
    restart the run, and the log says so). Two rows when one does not fit (a 427 px dock at 1440x900 cut
    'mb-std'). Emits typed commands (signal `command`); `set_config` echoes the run's config without
    re-emitting."""

    command = QtCore.Signal(object)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._grid = QtWidgets.QGridLayout(self)
        self._grid.setContentsMargins(6, 0, 6, 0)
        self._grid.setHorizontalSpacing(4)
        self._grid.setVerticalSpacing(2)
        title = QtWidgets.QLabel("Remedies:")
        title.setToolTip("Also: WGAN / WGAN-GP (Loss), instance noise, R1 and k D-steps in the Controls dock")
        self._cells: list[QtWidgets.QWidget] = [title]  # in reading order
        self.widgets: dict[str, QtWidgets.QWidget] = {}
        for key, text in REMEDY_KEYS:
            meta = FIELDS[key].metadata
            tip = f"{meta['help']}\nallowed: {describe_range(key)}\nconfig key: {key}"
            tip += ("\nchanging this re-initialises the networks (the run restarts)" if meta["reinit"]
                    else "\napplies at the next step, while training runs")
            if key == "mbstd":
                w: QtWidgets.QWidget = QtWidgets.QCheckBox(text)
                w.toggled.connect(lambda on, k=key: self._changed(k, int(on)))
            else:
                label = QtWidgets.QLabel(text)
                label.setToolTip(tip)
                label.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                self._cells.append(label)
                w = QtWidgets.QSpinBox()
                w.setRange(int(meta["lo"]), int(meta["hi"]))
                w.setKeyboardTracking(False)
                w.valueChanged.connect(lambda v, k=key: self._changed(k, int(v)))
            w.setToolTip(tip)
            self._cells.append(w)
            self.widgets[key] = w
        self.rows = 0
        self._arrange(1)
        self.set_config(TrainConfig())

    def one_row_width(self) -> int:
        """The width the remedies need on one row."""
        m = self._grid.contentsMargins()
        return (sum(w.sizeHint().width() for w in self._cells) + self._grid.horizontalSpacing() * (len(self._cells) - 1)
                + m.left() + m.right())

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._arrange(1 if event.size().width() >= self.one_row_width() else 2)

    def changeEvent(self, event: QtCore.QEvent) -> None:  # noqa: N802 (Qt API)
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.FontChange:  # presentation mode's larger font: wider controls
            self._arrange(1 if self.width() >= self.one_row_width() else 2)

    def _arrange(self, rows: int) -> None:
        """One row, or two: 'Remedies: unroll k [ ] pack m [ ]' over 'mb-disc B [ ] [ ] mb-std', aligned."""
        if rows == self.rows:
            return
        self.rows = rows
        for w in self._cells:
            self._grid.removeWidget(w)
        if rows == 1:
            places = [(0, c, 1, 1) for c in range(len(self._cells))]
        else:
            places = [(0, 0, 1, 1), (0, 1, 1, 1), (0, 2, 1, 1), (0, 3, 1, 1), (0, 4, 1, 1),
                      (1, 1, 1, 1), (1, 2, 1, 1), (1, 3, 1, 2)]
        for w, place in zip(self._cells, places, strict=True):
            self._grid.addWidget(w, *place)
        for c in range(len(self._cells) + 1):
            self._grid.setColumnStretch(c, 0)
        self._grid.setColumnStretch(len(self._cells) if rows == 1 else 5, 1)  # the room left, at the right

    def _changed(self, key: str, value: int) -> None:
        self.command.emit(command_for_change(key, value))

    def set_config(self, config: TrainConfig) -> None:
        for key, w in self.widgets.items():
            value = int(getattr(config, key))
            with signals_blocked(w):
                if isinstance(w, QtWidgets.QCheckBox):
                    w.setChecked(bool(value))
                else:
                    w.setValue(value)


class ModesPanel(QtWidgets.QWidget):
    """Mode coverage over steps and where the generated mass sits now.

    (a) modes covered (of K, the dashed line), with the collapse detector's markers and shaded collapsed
    stretches; (b) % high-quality samples; (c) reverse KL of the HQ samples' mode histogram against the
    mode weights (nats; log K = all mass on one mode); (d) the share of HQ samples per mode now, with the
    uniform 1/K line. All from `Snapshot.metrics` (2500 samples, VEEGAN/PacGAN protocol, THEORY.md §4),
    appended when `metrics_step` changes. Live changes of the run are marked on (a)-(c) as in the other
    panels. The trails checkbox toggles `FixedNoiseTrails` on the 2D data view (see `attach_trails`).
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None, detector: CollapseDetector | None = None,
                 cap: int = 20_000) -> None:
        super().__init__(parent)
        pal = style.palette()
        self.detector = detector or CollapseDetector()
        lay, header = panel_layout(self)
        self.trails_checkbox = QtWidgets.QCheckBox("fixed-noise trails")
        self.trails_checkbox.setToolTip(
            f"On the 2D data view: each of the first {MAX_TRAILS} fakes G(z) of the fixed noise batch leaves a "
            f"fading trail over the last {TRAIL_LENGTH} frames, so mode hopping and rotation show as motion.")
        header.addWidget(self.trails_checkbox)
        self.status = QtWidgets.QLabel("modes covered: —")
        self.status.setWordWrap(True)  # wraps between its parts (status_text): a 1366 px screen cut off "nats"
        self.status.setToolTip("Latest metrics (2500 generated samples) and the collapse detector's state")
        header.addWidget(self.status, 1)
        self.remedies = RemedyControls()
        lay.addWidget(self.remedies)

        self._glw = canvas(lay)
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._series: dict[str, Series] = {}
        specs = [
            ("covered", TITLES["covered"][0], "modes", "modes_covered", pal.disc),
            ("hq", TITLES["hq"][0], "% HQ", "hq_percent", pal.gen),
            ("rkl", TITLES["rkl"][0], "nats", "reverse_kl", pal.fake),
        ]
        first: pg.PlotItem | None = None
        for row, (name, title, ylabel, key, colour) in enumerate(specs):
            plot = self._glw.addPlot(row=row, col=0)
            style.style_plot(plot, bottom="step" if name == "rkl" else "", left=ylabel, title=title)
            plot.showGrid(x=False, y=True, alpha=0.15)
            plot.setClipToView(True)
            plot.setDownsampling(auto=True, mode="peak")
            if first is None:
                first = plot
            else:
                plot.setXLink(first)
            curve = plot.plot([], [], pen=style.pen(colour, style.MAIN_WIDTH), connect="finite",
                              stepMode=None)
            peak_downsample_per_pixel(curve)
            self.curves[key] = curve
            self._series[key] = Series(cap=cap)
            self.plots[name] = plot
        below = {"color": pal.reference, "anchors": [(0, 0), (0, 0)]}  # text under the line, at the left
        self.k_line = pg.InfiniteLine(angle=0, movable=False, pen=style.pen(pal.reference, 1, "dash"))
        self.k_line.setToolTip("K: all modes covered")
        self.k_line.setVisible(False)
        self.plots["covered"].addItem(self.k_line, ignoreBounds=True)
        self.log_k_line = pg.InfiniteLine(angle=0, movable=False, pen=style.pen(pal.reference, 1, "dash"),
                                          label="log K: all mass on one mode",
                                          labelOpts={"position": 0.02, **below})
        self.log_k_line.setVisible(False)
        self.plots["rkl"].addItem(self.log_k_line, ignoreBounds=True)
        self.plots["hq"].setYRange(0.0, 100.0, padding=0.03)
        self.plots["hq"].getAxis("left").setTicks([[(v, f"{v:g}") for v in (0.0, 50.0, 100.0)],
                                                   [(v, "") for v in (25.0, 75.0)]])  # readable when short
        self.plots["hq"].enableAutoRange(y=False)
        time_plots = [self.plots[n] for n in ("covered", "hq", "rkl")]
        self.collapse_markers = CollapseMarkers(time_plots)
        self._events = [EventMarkers(p, show_labels=(i == 0), rotate=False) for i, p in enumerate(time_plots)]
        self._notes = {name: NaNote(self.plots[name], NA_TEXT) for name in ("covered", "hq", "rkl")}

        bars = self._glw.addPlot(row=3, col=0)
        style.style_plot(bars, bottom="mode", left="% of HQ", title=TITLES["shares"][0])
        bars.setMouseEnabled(x=False, y=False)
        bars.showGrid(x=False, y=True, alpha=0.15)
        self.bar_item = pg.BarGraphItem(x=np.zeros(0), height=np.zeros(0), width=0.8,
                                        brush=style.brush(pal.fake, 220), pen=style.pen(pal.foreground, 1))
        bars.addItem(self.bar_item)
        self.empty_marks = pg.ScatterPlotItem(size=9, symbol="x", pen=style.pen(pal.event, 1.5),
                                              brush=style.brush(pal.event))
        self.empty_marks.setToolTip("modes with no high-quality sample (not covered)")
        bars.addItem(self.empty_marks)
        self.uniform_line = pg.InfiniteLine(angle=0, movable=False, pen=style.pen(pal.reference, 1, "dash"),
                                            label="uniform 1/K", labelOpts={"position": 0.98, "color": pal.reference,
                                                                            "fill": pg.mkBrush(pal.legend_brush),
                                                                            "anchors": [(1, 1), (1, 1)]})
        self.uniform_line.setVisible(False)
        bars.addItem(self.uniform_line, ignoreBounds=True)
        self.plots["shares"] = bars
        self._notes["shares"] = NaNote(bars, NA_TEXT)
        self._columns = 0
        self._place(1)
        for name, titles in TITLES.items():
            fit_titles(self.plots[name], titles)  # a narrow dock (1024 px screen): shorter titles, not cut ones

        self.trails = FixedNoiseTrails()
        self.trails_checkbox.toggled.connect(self.trails.set_visible)

        self._last_metrics_step: int | None = None
        self._last_step: int | None = None
        self._modes_key: tuple | None = None
        self._config: TrainConfig | None = None
        self._k_label: float | None = None
        self.shares = np.zeros(0)
        self._refresh_notes()

    # -- public API --------------------------------------------------------------------------------------
    def attach_trails(self, plot: pg.PlotItem, legend: pg.LegendItem | None = None) -> None:
        """Draw the fixed-noise trails on `plot` (the 2D data view's plot), listed in `legend`."""
        self.trails.attach(plot, legend)

    def set_show_trails(self, on: bool) -> None:
        self.trails_checkbox.setChecked(bool(on))

    def update_snapshot(self, snapshot: Snapshot) -> None:
        if (self._last_step is not None and snapshot.step < self._last_step) or any(
                e.kind == EventKind.RESET for e in snapshot.events):
            self.reset()
        self._last_step = snapshot.step
        if snapshot.config is not None and (self._config is None or snapshot.events):
            self._config = snapshot.config
            self.remedies.set_config(snapshot.config)
        self.trails.push(snapshot)
        if snapshot.events:
            for markers in self._events:
                markers.add(snapshot.events)
        if snapshot.metrics_step == self._last_metrics_step:
            return
        self._last_metrics_step = snapshot.metrics_step
        m = snapshot.metrics
        covered, k = finite_or_nan(m.get("modes_covered")), finite_or_nan(m.get("n_modes"))
        values = {"modes_covered": covered, "hq_percent": 100.0 * finite_or_nan(m.get("hq_fraction")),
                  "reverse_kl": finite_or_nan(m.get("reverse_kl"))}
        x = float(snapshot.metrics_step)
        for key, v in values.items():
            series = self._series[key]
            if series.append_after(x, v):
                self.curves[key].setData(series.x, series.y, connect="finite")
        if math.isfinite(k) and k > 0:
            self.k_line.setPos(k)
            self.k_line.setVisible(True)
            self.log_k_line.setPos(math.log(k))
            self.log_k_line.setVisible(True)
            self.plots["covered"].setYRange(0.0, k * 1.08 + 0.3, padding=0.0)
            if k != self._k_label:
                self._k_label = k
                style.label_axis(self.plots["covered"], "left", f"modes (K = {k:g})")
            self.plots["covered"].enableAutoRange(y=False)
            # reverse KL from 0 to log K at least: the log K line (and its label) stays in view, under the title
            rkl = self._series["reverse_kl"]
            top = max(math.log(k), float(np.nanmax(rkl.y)) if rkl.has_finite() else 0.0, 0.1)
            self.plots["rkl"].setYRange(0.0, top * 1.08, padding=0.0)
            self.plots["rkl"].enableAutoRange(y=False)
            for ev in self.detector.update(snapshot.metrics_step, covered, int(k)):
                self.collapse_markers.add(ev)
            self.collapse_markers.extend_open(x)
        self._update_bars(snapshot, int(k) if math.isfinite(k) else 0)
        self._update_status(values, k)
        self._refresh_notes()

    def reset(self) -> None:
        for key, s in self._series.items():
            s.clear()
            self.curves[key].setData([], [])
        for markers in self._events:
            markers.clear()
        self.collapse_markers.clear()
        self.detector.reset()
        self.trails.clear()
        self.bar_item.setOpts(x=np.zeros(0), height=np.zeros(0))
        self.empty_marks.setData([], [])
        self.uniform_line.setVisible(False)
        self.k_line.setVisible(False)
        self.log_k_line.setVisible(False)
        self.shares = np.zeros(0)
        self._modes_key = None
        self._last_metrics_step = None
        self._last_step = None
        self._config = None
        self.status.setText("modes covered: —")
        self._refresh_notes()

    def series(self, key: str) -> Series:
        """The buffer behind one curve: modes_covered, hq_percent or reverse_kl."""
        return self._series[key]

    def event_markers(self) -> EventMarkers:
        """Live-change markers on plot (a)."""
        return self._events[0]

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        w, h = event.size().width(), max(event.size().height(), 1)
        self._place(2 if w >= 1.3 * h else 1)

    # -- internals ---------------------------------------------------------------------------------------
    def _place(self, columns: int) -> None:
        """One column (a, b, c, d stacked) in a tall dock; two in a wide one (d beside a-c)."""
        layout = self._glw.ci.layout
        if columns == self._columns and layout.count() == len(self.plots):
            return
        self._columns = columns
        for plot in self.plots.values():
            layout.removeItem(plot)
        names = ("covered", "hq", "rkl")
        for r, name in enumerate(names):
            layout.addItem(self.plots[name], r, 0)
        if columns == 1:
            layout.addItem(self.plots["shares"], 3, 0)
            stretches, col_stretch = (4, 3, 3, 4), (1, 0)
        else:
            layout.addItem(self.plots["shares"], 0, 1, 3, 1)
            stretches, col_stretch = (4, 3, 3, 0), (1, 1)
        for r, stretch in enumerate(stretches):
            layout.setRowStretchFactor(r, stretch)
        for c, stretch in enumerate(col_stretch):
            layout.setColumnStretchFactor(c, stretch)
        layout.activate()

    def _update_bars(self, snapshot: Snapshot, k: int) -> None:
        m = snapshot.metrics
        shares = np.array([finite_or_nan(m.get(f"mode_share_{i}")) for i in range(k)], dtype=np.float64)
        if k == 0 or not np.isfinite(shares).any():
            self.shares = np.zeros(0)
            self.bar_item.setOpts(x=np.zeros(0), height=np.zeros(0))
            self.empty_marks.setData([], [])
            self.uniform_line.setVisible(False)
            return
        shares = np.nan_to_num(shares, nan=0.0)
        self.shares = shares
        idx = np.arange(k, dtype=np.float64)
        self.bar_item.setOpts(x=idx, height=100.0 * shares, width=0.8)
        empty = shares <= 0
        self.empty_marks.setData(idx[empty], np.zeros(int(empty.sum())))
        self.uniform_line.setPos(100.0 / k)
        self.uniform_line.setVisible(True)
        bars = self.plots["shares"]
        bars.setYRange(0.0, max(100.0 * float(shares.max()), 100.0 / k) * 1.12, padding=0.0)
        bars.setXRange(-0.6, k - 0.4, padding=0.0)
        modes = snapshot.modes
        key = (k,) if modes is None else (k, np.asarray(modes).tobytes())
        if key != self._modes_key:
            self._modes_key = key
            if modes is not None and len(modes) == k:
                labels, axis_label = mode_tick_labels(np.asarray(modes))
            else:
                labels, axis_label = [str(i) for i in range(k)], "mode index"
            if k <= MAX_TICK_LABELS:
                fit_ticks(bars, [(float(i), s) for i, s in enumerate(labels)], axis_label)  # narrow: index only
            else:  # many bars: label every 5th (a grid row), a short unlabelled tick at every bar
                fit_ticks(bars, [], axis_label)
                bars.getAxis("bottom").setTicks([[(float(i), s) for i, s in enumerate(labels) if i % 5 == 0],
                                                 [(float(i), "") for i in range(k) if i % 5]])

    def _update_status(self, values: dict[str, float], k: float) -> None:
        covered, hq, rkl = values["modes_covered"], values["hq_percent"], values["reverse_kl"]
        if not (math.isfinite(covered) and math.isfinite(k)):
            self.status.setText("modes covered: n/a (no mixture modes in this data)")
            return
        parts = [f"modes covered {covered:g}/{k:g}", f"HQ {hq:.1f}%"]
        if math.isfinite(rkl):
            parts.append(f"reverse KL {rkl:.3f} nats")
        det = self.detector
        if det.collapsed and det.events:
            parts.append(f"<b style='color:{style.palette().event}'>collapsed</b> since step {det.events[-1].step}")
        self.status.setText(status_text(parts))

    def _refresh_notes(self) -> None:
        for name, key in (("covered", "modes_covered"), ("hq", "hq_percent"), ("rkl", "reverse_kl")):
            self._notes[name].set_visible(not self._series[key].has_finite())
        # mixture data with no high-quality sample yet has modes but no reverse KL and no shares
        text = NA_TEXT if self.shares.size == 0 else NO_HQ_TEXT
        for name in ("rkl", "shares"):
            if self._notes[name].text() != text:
                self._notes[name].set_text(text)
        self._notes["shares"].set_visible(self.shares.size == 0 or not self.shares.sum() > 0)
