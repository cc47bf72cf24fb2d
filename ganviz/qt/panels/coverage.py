"""Class coverage of an image GAN (the Stacked-MNIST style metric): a small classifier trained on the built-in
data labels the generated samples; this panel shows the share of each class with the uniform share 1/K, a
headline (classes covered, KL of the class histogram to uniform, Fréchet distance in the classifier's
feature space), and the history of classes covered and of the KL over steps."""

from __future__ import annotations

import math
import re

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from ganviz.core.snapshot import Snapshot
from ganviz.qt import style
from ganviz.qt.fit_titles import show_longest
from ganviz.qt.panels._common import EventMarkers, class_count, finite_or_nan
from ganviz.qt.series import Series

NO_CLASSIFIER = ("No class coverage for this data: its images have no labels, so there is no classifier to "
                 "label the generated samples.\nThe sample grids, losses and D(x) histograms still apply.")
BAR_TITLE = "Generated samples per class (classifier labels)"
# the bar plot's title, longest first: the longest that fits the plot is shown (the first is 360 px, more than
# the plot gets in the dock at 1280x800 or 1440x900), the full one is always the tooltip
BAR_TITLES = ((BAR_TITLE, "dashed line: the uniform share 1/K = {u}"),
              ("Samples per class (classifier labels)", "dashed: uniform share 1/K = {u}"),
              ("Samples per class", "dashed: 1/K = {u}"))
WAITING = "class coverage: waiting for the first metrics"
RECOGNISABLE = 0.5  # below this share of confidently classified samples the headline says they are not yet
TRAINING = ("class coverage: waiting for the classifier (trained once in the background on the built-in "
            "data, then cached)")


def classifier_state(snapshot: Snapshot) -> str:
    """'ready' (coverage numbers or class labels present), 'none' (unlabelled images, or user image files,
    which get no classifier), 'failed' (the classifier could not be trained) or 'waiting' (the built-in
    classifier is still being trained in the background)."""
    views = snapshot.images
    if views is None:
        return "none"
    labels = np.asarray(views.fake_labels) if views.fake_labels is not None else np.zeros(0)
    if (labels >= 0).any() or "class_share_0" in snapshot.metrics or "classes_covered" in snapshot.metrics:
        return "ready"
    status = getattr(views, "classifier_status", "") or ""
    if status.startswith("failed"):
        return "failed"
    if status == "none" or not views.class_names or snapshot.data == "image-file":
        return "none"
    return "waiting"


def _num(v: float, digits: int = 2) -> str:
    if not math.isfinite(v):
        return "–"
    return f"{v:.{digits}f}" if abs(v) < 100 else f"{v:.0f}"


def headline(covered: float, k: int, kl: float, frechet: float, confident: float = float("nan")) -> str:
    """'classes covered 7 / 10 · KL to uniform 0.35 nats · Fréchet (classifier features) 12.3'; with the share of
    recognisable samples (classifier confidence >= 0.9, the only ones that count towards coverage) when it is
    low: 'samples not yet recognisable (12% are) · classes covered 0 / 10 · ...'."""
    cov = f"{covered:g}" if math.isfinite(covered) else "–"
    text = (f"classes covered {cov} / {k} · KL to uniform {_num(kl)} nats · "
            f"Fréchet (classifier features) {_num(frechet, 1)}")
    if math.isfinite(confident) and confident < RECOGNISABLE:
        text = f"samples not yet recognisable ({100 * confident:.0f}% with confidence ≥ 0.9) · " + text
    return text


def wrap_points(text: str) -> str:
    """The headline with the places it may wrap: after each ' · ' and before a parenthesis, nowhere else (other
    spaces become non-breaking), so a narrow dock reads 'classes covered 7 / 10 ·' on one line, never '7 /' on
    one and '10' on the next. Each part unbreakable, 'samples not yet recognisable (26% with confidence ≥ 0.9)'
    was 558 px: wider than the dock at 1366x768, it was cut at both sides; the widest piece is now ~280 px."""
    return "\u00a0· ".join(re.sub(r" (?!\()", "\u00a0", part) for part in text.split(" · "))


class CoveragePanel(QtWidgets.QWidget):
    """Bars of the generated class shares (dashed line at 1/K), a headline, and a small history plot.

    History points are appended only when `metrics_step` changes. Without a classifier (unlabelled images)
    the panel shows a message instead of empty plots.
    """

    available_changed = QtCore.Signal(bool)  # the run's data has (True) or has no (False) classifier

    def __init__(self, parent: QtWidgets.QWidget | None = None, cap: int = 20_000) -> None:
        super().__init__(parent)
        pal = style.palette()
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 0)
        lay.setSpacing(2)
        self.headline = QtWidgets.QLabel(WAITING)
        self.headline.setWordWrap(True)
        self.headline.setFont(style.font(style.TITLE_PT + 2, bold=True))
        self.headline.setToolTip(
            "classes covered: classes with at least one generated sample labelled by the classifier;\n"
            "KL to uniform: sum_k q_k log(K q_k) of the generated class histogram q (0 = balanced, log K = one "
            "class);\nFréchet: distance of Gaussians fitted to the classifier's features of real vs generated "
            "images (lower is better; not Inception FID)."
        )
        lay.addWidget(self.headline)

        self._stack = QtWidgets.QStackedWidget()
        lay.addWidget(self._stack, 1)
        self._glw = pg.GraphicsLayoutWidget()
        self._glw.setBackground(pal.background)
        self._stack.addWidget(self._glw)
        self.message = QtWidgets.QLabel(NO_CLASSIFIER)
        self.message.setWordWrap(True)
        self.message.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.message.setFont(style.font(style.AXIS_LABEL_PT + 1))
        self.message.setStyleSheet(f"color: {pal.na_text}; background: {pal.background};")
        self._stack.addWidget(self.message)

        self.bar_plot: pg.PlotItem = self._glw.addPlot(row=0, col=0, colspan=2)
        style.style_plot(self.bar_plot, bottom="class", left="share of samples",
                         title=BAR_TITLE)
        self.bar_plot.showGrid(x=False, y=True, alpha=0.15)
        self.bar_plot.setMouseEnabled(x=False, y=False)
        self.bars = pg.BarGraphItem(x=np.zeros(0), height=np.zeros(0), width=0.7, pen=style.pen(pal.fake, 1),
                                    brush=style.brush(pal.fake, 200))
        self.bar_plot.addItem(self.bars)
        # the line is named in the title: a label on it would cover a bar
        self.uniform_line = pg.InfiniteLine(angle=0, movable=False, pen=style.pen(pal.reference, 2, "dash"))
        self.bar_plot.addItem(self.uniform_line, ignoreBounds=True)

        self.covered_plot: pg.PlotItem = self._glw.addPlot(row=1, col=0)
        style.style_plot(self.covered_plot, bottom="step", left="classes", title="classes covered")
        self.kl_plot: pg.PlotItem = self._glw.addPlot(row=1, col=1)
        style.style_plot(self.kl_plot, bottom="step", left="nats", title="KL to uniform")
        self.kl_plot.setXLink(self.covered_plot)
        self.covered_curve = self.covered_plot.plot([], [], pen=style.pen(pal.disc), connect="finite")
        self.kl_curve = self.kl_plot.plot([], [], pen=style.pen(pal.disc), connect="finite")
        self.k_line = pg.InfiniteLine(angle=0, movable=False, pen=style.pen(pal.reference, 1, "dash"))
        self.covered_plot.addItem(self.k_line, ignoreBounds=True)
        self.log_k_line = pg.InfiniteLine(angle=0, movable=False, pen=style.pen(pal.reference, 1, "dash"),
                                          label="log K: one class", labelOpts={
                                              "position": 0.02, "anchors": [(0, 0), (0, 0)],
                                              "color": pal.reference, "fill": pg.mkBrush(pal.legend_brush)})
        self.log_k_line.label.setFont(style.font(style.EVENT_LABEL_PT))
        self.kl_plot.addItem(self.log_k_line, ignoreBounds=True)
        for p in (self.covered_plot, self.kl_plot):
            p.showGrid(x=False, y=True, alpha=0.15)
        self._markers = [EventMarkers(p, show_labels=False) for p in (self.covered_plot, self.kl_plot)]
        self._glw.ci.layout.setRowStretchFactor(0, 3)
        self._glw.ci.layout.setRowStretchFactor(1, 2)

        self.covered = Series(cap=cap)
        self.kl = Series(cap=cap)
        self.shares = np.zeros(0)
        self.k = 0
        self._names: tuple[str, ...] = ()
        self._last_metrics_step: int | None = None
        self._last_step: int | None = None
        self.available = True
        self.bar_plot.titleLabel.geometryChanged.connect(self._fit_bar_title)  # a narrower plot: a shorter title

    # -- public API --------------------------------------------------------------------------------------
    def update_snapshot(self, snapshot: Snapshot) -> None:
        if self._last_step is not None and snapshot.step < self._last_step:
            self.reset()
        self._last_step = snapshot.step
        if snapshot.images is None and snapshot.dim <= 2:
            return  # toy data
        if snapshot.images is not None:
            state = classifier_state(snapshot)
        else:  # an image snapshot without views (metrics only): keep what the last views said
            state = "ready" if "class_share_0" in snapshot.metrics else "waiting" if self.available else "none"
        self._set_available(state not in ("none", "failed"))
        if state in ("none", "failed"):
            failed = state == "failed" and snapshot.images is not None
            self.message.setText(NO_CLASSIFIER if not failed else
                                 "No class coverage for this run: the classifier could not be trained "
                                 f"({snapshot.images.classifier_status[len('failed: '):]}). Training is not "
                                 "affected; the other metrics are in the Metrics tab.")
            if failed:
                self.headline.setText("class coverage: n/a (the classifier could not be trained)")
            return
        k = class_count(snapshot)
        names = tuple(snapshot.images.class_names or ()) if snapshot.images is not None else self._names
        if len(names) != k:
            names = tuple(str(i) for i in range(k))
        if k != self.k or names != self._names:
            self._set_classes(k, names)
        if snapshot.events:
            for markers in self._markers:
                markers.add(snapshot.events)
        m = snapshot.metrics
        covered = finite_or_nan(m.get("classes_covered"))
        kl = finite_or_nan(m.get("class_kl"))
        if not any(f"class_share_{i}" in m for i in range(k)):
            self.headline.setText(TRAINING if state == "waiting" else WAITING)
            return
        text = headline(covered, k, kl, finite_or_nan(m.get("frechet")), finite_or_nan(m.get("confident_share")))
        self.headline.setText(wrap_points(text))
        if snapshot.metrics_step == self._last_metrics_step:
            return
        self._last_metrics_step = snapshot.metrics_step
        self.shares = np.array([finite_or_nan(m.get(f"class_share_{i}")) for i in range(k)])
        heights = np.nan_to_num(self.shares, nan=0.0)
        self.bars.setOpts(x=np.arange(k), height=heights, width=0.7)
        top = max(2.0 / k if k else 1.0, float(heights.max()) if heights.size else 0.0)
        self.bar_plot.setYRange(0.0, min(1.0, top * 1.1) if top < 0.95 else 1.02, padding=0.0)
        step = float(snapshot.metrics_step)
        for series, v, curve in ((self.covered, covered, self.covered_curve), (self.kl, kl, self.kl_curve)):
            if series.append_after(step, v):
                curve.setData(series.x, series.y, connect="finite")

    def reset(self) -> None:
        self.covered.clear()
        self.kl.clear()
        self.covered_curve.setData([], [])
        self.kl_curve.setData([], [])
        for markers in self._markers:
            markers.clear()
        self.shares = np.zeros(0)
        self.bars.setOpts(x=np.zeros(0), height=np.zeros(0))
        self._last_metrics_step = None
        self._last_step = None
        self.headline.setText(WAITING)

    # -- internals ---------------------------------------------------------------------------------------
    def _set_available(self, on: bool) -> None:
        if on == self.available and self._stack.currentIndex() == (0 if on else 1):
            return
        changed = on != self.available
        self.available = on
        self._stack.setCurrentIndex(0 if on else 1)
        pal = style.palette()
        self.headline.setStyleSheet("" if on else f"color: {pal.na_text};")
        if not on:
            self.headline.setText("class coverage: n/a (no classifier for this data)")
        if changed:
            self.available_changed.emit(on)

    def _fit_bar_title(self) -> None:
        """Title the bar plot with the longest of BAR_TITLES that fits its width (called on every resize);
        the tooltip holds the full title."""
        label = self.bar_plot.titleLabel
        u = f"{1.0 / self.k:.3g}" if self.k else ""
        sub = '<br><span style="font-size: {pt}pt;">{text}</span>'
        titles = [main + (sub.format(pt=style.LEGEND_PT, text=line.format(u=u)) if self.k else "")
                  for main, line in BAR_TITLES]
        show_longest(label, titles, lambda title: style.set_title(self.bar_plot, title))
        label.setToolTip(f"{BAR_TITLE}\n{BAR_TITLES[0][1].format(u=u)}" if self.k else BAR_TITLE)

    def _set_classes(self, k: int, names: tuple[str, ...]) -> None:
        self.k, self._names = k, names
        self.bar_plot.getAxis("bottom").setTicks([[(i, names[i] if i < len(names) else str(i)) for i in range(k)]])
        self.bar_plot.setXRange(-0.6, k - 0.4, padding=0.0)
        if k:
            self.uniform_line.setPos(1.0 / k)
            self._fit_bar_title()
            self.k_line.setPos(float(k))
            self.log_k_line.setPos(math.log(k) if k > 1 else 0.0)
        self.covered_plot.setYRange(0.0, max(k, 1) + 0.8, padding=0.0)
        self.kl_plot.setYRange(0.0, max(math.log(max(k, 2)), 0.1) * 1.08, padding=0.0)
