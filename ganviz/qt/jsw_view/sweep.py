"""The JS-versus-Wasserstein sweep tab (WGAN paper, Example 1 / Figure 1): a theta slider and Sweep; the JSD
estimate and the critic gap against theta; D(x) and the critic along x at the current theta."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets
from superqt.utils import signals_blocked

from ganviz.core import jsw
from ganviz.qt import style

from .jobs import BackgroundJob
from .plots import canvas

LOG2 = math.log(2.0)
SLIDER_TICKS = 40  # slider positions on each side of 0


def slopes_at_generator(curve: jsw.Curve) -> tuple[float, float]:
    """|dD/dx| and |df/dx| averaged under p_g along the curve's x: the gradients the generator would get."""
    w = np.asarray(curve.p_g, dtype=np.float64)
    if not w.sum() > 0:
        return float("nan"), float("nan")
    w = w / w.sum()
    d = np.abs(np.gradient(curve.d_prob, curve.x))
    f = np.abs(np.gradient(curve.critic_gp, curve.x))
    return float(np.dot(w, d)), float(np.dot(w, f))


class JSWSweepView(QtWidgets.QWidget):
    """Theta slider + Sweep; JSD and W estimates against theta; D(x) and the critic at the current theta."""

    result_added = QtCore.Signal(object)  # a jsw.ThetaResult, after it is drawn
    curve_shown = QtCore.Signal(object)  # a jsw.Curve, after it is drawn
    sweep_finished = QtCore.Signal(bool)  # True if the sweep ran to the end

    def __init__(self, parent: QtWidgets.QWidget | None = None, settings: jsw.SweepSettings | None = None,
                 autostart: bool = True) -> None:
        super().__init__(parent)
        pal = style.palette()
        self.settings = settings or jsw.SweepSettings()
        self.autostart = autostart
        self.results: dict[float, jsw.ThetaResult] = {}
        self.curve: jsw.Curve | None = None
        self._sweep_job: BackgroundJob | None = None
        self._theta_job: BackgroundJob | None = None
        self._theta_job_theta: float | None = None
        self._started = False

        # -- controls -------------------------------------------------------------------------------------
        bar = QtWidgets.QHBoxLayout()
        self.data_combo = QtWidgets.QComboBox()
        labels = {"parallel-lines": "parallel lines (2D, WGAN Example 1)", "disjoint-1d": "disjoint bumps (1D)",
                  "gaussian-1d": "N(0, 1) (1D)"}
        for name in jsw.SWEEP_DATASETS:
            self.data_combo.addItem(labels.get(name, name), name)
        self.data_combo.setCurrentIndex(self.data_combo.findData(self.settings.data))
        self.data_combo.setToolTip("p_data; the generator is p_data shifted by theta along x")
        bar.addWidget(QtWidgets.QLabel("Data"))
        bar.addWidget(self.data_combo)
        bar.addSpacing(10)
        self.theta_label = QtWidgets.QLabel()
        self.theta_label.setMinimumWidth(90)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(-SLIDER_TICKS, SLIDER_TICKS)
        self.slider.setMinimumWidth(180)
        self.slider.setToolTip("theta: the generator's shift. Moving the slider retrains D and the critic there "
                               "(after a short pause; thetas already trained are shown at once)")
        bar.addWidget(self.theta_label)
        bar.addWidget(self.slider, 1)
        self.n_spin = QtWidgets.QSpinBox()
        self.n_spin.setRange(2, 41)
        self.n_spin.setValue(9)
        self.n_spin.setToolTip("number of thetas in the sweep (evenly spaced over the slider's range)")
        self.steps_spin = QtWidgets.QSpinBox()
        self.steps_spin.setRange(20, 5000)
        self.steps_spin.setSingleStep(100)
        self.steps_spin.setValue(self.settings.steps)
        self.steps_spin.setToolTip("D / critic updates at each theta (each network trains from scratch)")
        self.clip_check = QtWidgets.QCheckBox("clipped critic")
        self.clip_check.setChecked(self.settings.clipped)
        self.clip_check.setToolTip(f"also train a weight-clipped WGAN critic (c = {self.settings.clip:g}); its gap "
                                   "is only proportional to W1, so it is drawn rescaled")
        bar.addWidget(QtWidgets.QLabel("thetas"))
        bar.addWidget(self.n_spin)
        bar.addWidget(QtWidgets.QLabel("steps"))
        bar.addWidget(self.steps_spin)
        bar.addWidget(self.clip_check)
        self.sweep_button = QtWidgets.QPushButton("Sweep")
        self.sweep_button.setToolTip("retrain at every theta of the grid; points appear as each theta finishes")
        bar.addWidget(self.sweep_button)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(140)
        self.progress.setTextVisible(True)
        self.progress.setFormat("idle")
        bar.addWidget(self.progress)

        # -- plots against theta --------------------------------------------------------------------------
        left = canvas()
        self.jsd_plot: pg.PlotItem = left.addPlot(row=0, col=0)
        style.style_plot(self.jsd_plot, bottom="θ (shift, data units)", left="JSD (nats)",
                         title="JS divergence: estimate from the trained D")
        self.jsd_plot.showGrid(x=True, y=True, alpha=0.15)
        self.jsd_plot.setYRange(-0.03, 0.75, padding=0)
        self.jsd_legend = style.add_legend(self.jsd_plot)
        self.jsd_true_curve = self.jsd_plot.plot([], [], pen=style.pen(pal.real, 1.5), name="true JSD")
        self.log2_line = self.jsd_plot.plot([], [], pen=style.pen(pal.event, 1.5, "dash"), name="log 2 = 0.6931")
        self.log2_line.setZValue(3)
        self.jsd_points = pg.ScatterPlotItem(size=10, symbol="o", pen=pg.mkPen(pal.foreground),
                                             brush=style.brush(pal.disc))
        self.jsd_plot.addItem(self.jsd_points)
        self.jsd_legend.addItem(self.jsd_points, "estimate (V + log 4) / 2")

        self.w_plot: pg.PlotItem = left.addPlot(row=1, col=0)
        style.style_plot(self.w_plot, bottom="θ (shift, data units)", left="W1 (data units)",
                         title="Wasserstein-1: critic estimate vs exact")
        self.w_plot.showGrid(x=True, y=True, alpha=0.15)
        self.w_plot.setXLink(self.jsd_plot)
        self.w_legend = style.add_legend(self.w_plot)
        self.w1_line = self.w_plot.plot([], [], pen=style.pen(pal.real, 2), name="exact W1 = |θ|")
        self.soft_curve = self.w_plot.plot([], [], pen=style.pen(pal.disc, 1, "dot"),
                                           name="GP optimum |θ|(1 + |θ|/2λ)")
        self.gap_points = pg.ScatterPlotItem(size=10, symbol="o", pen=pg.mkPen(pal.foreground),
                                             brush=style.brush(pal.disc))
        self.w_plot.addItem(self.gap_points)
        self.w_legend.addItem(self.gap_points, "WGAN-GP critic gap E f(x) − E f(x_g)")
        self.w1_sample_points = pg.ScatterPlotItem(size=9, symbol="x", pen=style.pen(pal.reference, 1.5))
        self.w_plot.addItem(self.w1_sample_points)
        self.w_legend.addItem(self.w1_sample_points, "W1 on samples")
        self.clip_points = pg.ScatterPlotItem(size=9, symbol="t", pen=pg.mkPen(pal.penalty),
                                              brush=style.brush(pal.penalty, 160))
        self.w_plot.addItem(self.clip_points)
        self._clip_legend_text: str | None = None
        self.theta_lines = []
        for plot in (self.jsd_plot, self.w_plot):
            line = pg.InfiniteLine(angle=90, movable=False, pen=style.pen(pal.event, 1, "dash"))
            plot.addItem(line, ignoreBounds=True)
            self.theta_lines.append(line)

        # -- curves at the current theta ------------------------------------------------------------------
        right = canvas()
        self.dens_plot: pg.PlotItem = right.addPlot(row=0, col=0)
        style.style_plot(self.dens_plot, bottom="x (data units)", left="density", title="p_data and p_g")
        self.dens_plot.showGrid(x=True, y=True, alpha=0.15)
        self.dens_legend = style.add_legend(self.dens_plot)
        self.p_data_curve = self.dens_plot.plot([], [], pen=style.pen(pal.real, 2), name="p_data")
        self.p_g_curve = self.dens_plot.plot([], [], pen=style.pen(pal.gen, 2), name="p_g = p_data shifted by θ")
        self.d_plot: pg.PlotItem = right.addPlot(row=1, col=0)
        style.style_plot(self.d_plot, bottom="x (data units)", left="D(x) (probability real)",
                         title="BCE discriminator D(x)")
        self.d_plot.showGrid(x=True, y=True, alpha=0.15)
        self.d_plot.setXLink(self.dens_plot)
        self.d_plot.setYRange(-0.03, 1.03, padding=0)
        self.d_legend = style.add_legend(self.d_plot)
        self.d_curve = self.d_plot.plot([], [], pen=style.pen(pal.disc, 2), name="D(x) = sigmoid(logit)")
        half = self.d_plot.plot([], [], pen=style.pen(pal.reference, 1, "dash"), name="D = 1/2")
        self._half_line = half
        # where the mass is: p_data and p_g scaled to [0, 1], filled, behind D
        self.d_data_fill = pg.PlotDataItem([], [], pen=None, fillLevel=0.0, brush=style.brush(pal.real, 40))
        self.d_gen_fill = pg.PlotDataItem([], [], pen=None, fillLevel=0.0, brush=style.brush(pal.gen, 70))
        for item in (self.d_data_fill, self.d_gen_fill):
            item.setZValue(-5)
            self.d_plot.addItem(item)
        self.d_legend.addItem(self.d_data_fill, "p_data (scaled)")
        self.d_legend.addItem(self.d_gen_fill, "p_g (scaled)")
        self.critic_plot: pg.PlotItem = right.addPlot(row=2, col=0)
        style.style_plot(self.critic_plot, bottom="x (data units)", left="f(x) (data units)",
                         title="WGAN-GP critic f(x)")
        self.critic_plot.showGrid(x=True, y=True, alpha=0.15)
        self.critic_plot.setXLink(self.dens_plot)
        self.critic_legend = style.add_legend(self.critic_plot)
        self.critic_curve = self.critic_plot.plot([], [], pen=style.pen(pal.disc, 2), name="critic f(x), f(0) = 0")
        self.lipschitz_curve = self.critic_plot.plot([], [], pen=style.pen(pal.reference, 1, "dash"),
                                                     name="optimal 1-Lipschitz f = −sign(θ) x")
        self.critic_clip_curve = self.critic_plot.plot([], [], pen=style.pen(pal.penalty, 1.5, "dashdot"))
        self._clip_curve_in_legend = False

        self.status = QtWidgets.QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(QtCore.Qt.TextFormat.RichText)
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([600, 600])
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(bar)
        lay.addWidget(splitter, 1)
        lay.addWidget(self.status)

        self._slider_timer = QtCore.QTimer(self, singleShot=True, interval=300)
        self._slider_timer.timeout.connect(self._train_current)
        self.slider.valueChanged.connect(self._on_slider)
        self.sweep_button.clicked.connect(self.toggle_sweep)
        self.data_combo.currentIndexChanged.connect(self._on_settings_changed)
        self.steps_spin.valueChanged.connect(self._on_settings_changed)
        self.clip_check.toggled.connect(self._on_settings_changed)
        self._apply_data(initial=True)

    # -- settings ----------------------------------------------------------------------------------------
    @property
    def theta_range(self) -> float:
        return jsw.THETA_RANGE.get(self.settings.data, 2.0)

    @property
    def theta(self) -> float:
        return self.slider.value() * self.theta_range / SLIDER_TICKS

    def set_theta(self, theta: float) -> None:
        """Move the slider to the nearest position to theta (retrains there after a short pause)."""
        self.slider.setValue(int(round(theta * SLIDER_TICKS / self.theta_range)))

    def sweep_thetas(self) -> np.ndarray:
        return jsw.default_thetas(self.settings.data, int(self.n_spin.value()))

    def _on_settings_changed(self) -> None:
        self.stop_jobs()
        data = str(self.data_combo.currentData())
        data_changed = data != self.settings.data
        self.settings = dataclasses.replace(self.settings, data=data, steps=int(self.steps_spin.value()),
                                            clipped=self.clip_check.isChecked())
        self._apply_data(initial=False, data_changed=data_changed)

    def _apply_data(self, initial: bool, data_changed: bool = True) -> None:
        self.results.clear()
        self.curve = None
        r = self.theta_range
        if data_changed:
            with signals_blocked(self.slider):
                self.slider.setValue(SLIDER_TICKS // 2)  # theta = half the range: supports already apart
        grid = np.linspace(-r, r, 801)
        self.w1_line.setData(grid, np.abs(grid))
        self.soft_curve.setData(grid, jsw.gp_soft_optimum(grid, self.settings.gp_lambda))
        self.log2_line.setData([-r, r], [LOG2, LOG2])
        true = np.array([jsw.true_jsd(self.settings.data, t) for t in np.linspace(-r, r, 161)])
        self.jsd_true_curve.setData(np.linspace(-r, r, 161), true)
        self.jsd_plot.setXRange(-r, r, padding=0.04)
        self.w_plot.setYRange(0, float(jsw.gp_soft_optimum(r, self.settings.gp_lambda)) * 1.08, padding=0)
        self._redraw_results()
        self._draw_curve(None)
        self._show_theta()
        if not initial and self.autostart:
            self._slider_timer.start()

    # -- jobs --------------------------------------------------------------------------------------------
    def showEvent(self, event: QtGui.QShowEvent) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        if self.autostart and not self._started:
            self._started = True
            self._train_current()

    def is_busy(self) -> bool:
        return any(j is not None and j.is_running() for j in (self._sweep_job, self._theta_job))

    def is_sweeping(self) -> bool:
        return self._sweep_job is not None and self._sweep_job.is_running()

    def stop_jobs(self, timeout: float = 3.0) -> bool:
        """Stop any training (within a chunk of steps); True when no worker thread is left in it."""
        self._slider_timer.stop()
        ok = True
        for job in (self._sweep_job, self._theta_job):
            if job is not None:
                ok = job.stop(timeout) and ok
        self._sweep_job = self._theta_job = None
        self._theta_job_theta = None
        self.sweep_button.setText("Sweep")
        self.progress.setFormat("idle")
        return ok

    def toggle_sweep(self) -> None:
        if self.is_sweeping():
            self.stop_jobs()
            self.status.setText("Sweep stopped.")
            return
        self.start_sweep()

    def start_sweep(self, thetas: np.ndarray | list[float] | None = None) -> None:
        """Retrain at every theta (default: the grid of the thetas spin box), animated: each finished theta
        adds its points and moves the slider there to show its curves."""
        self.stop_jobs()
        thetas = self.sweep_thetas() if thetas is None else np.asarray(thetas, dtype=np.float64)
        self.results.clear()
        self._redraw_results()
        job = BackgroundJob(jsw.iter_sweep, thetas, self.settings, True, parent=self)
        job.yielded.connect(self._on_sweep_item)
        job.finished.connect(self._on_sweep_finished)
        job.failed.connect(self._on_failed)
        self._sweep_job = job
        self.sweep_button.setText("Stop")
        self.progress.setValue(0)
        self.progress.setFormat("sweep %p%")
        self.status.setText(f"Sweeping {len(thetas)} thetas: each trains a BCE D and a WGAN-GP critic from scratch "
                            f"for {self.settings.steps} steps…")
        job.start()

    def _on_sweep_item(self, item: tuple[float, jsw.ThetaResult | None]) -> None:
        frac, result = item
        self.progress.setValue(int(1000 * frac))
        if result is not None:
            self._add_result(result)
            with signals_blocked(self.slider):
                self.set_theta(result.theta)
            self._show_theta()
            self._draw_curve(result.curve)

    def _on_sweep_finished(self, completed: bool) -> None:
        self.sweep_button.setText("Sweep")
        self.progress.setFormat("done" if completed else "idle")
        if completed:
            self.progress.setValue(1000)
            self.status.setText(self._summary())
        self.sweep_finished.emit(completed)

    def _on_slider(self) -> None:
        self._show_theta()
        cached = self._cached(self.theta)
        if cached is not None and cached.curve is not None:
            self._draw_curve(cached.curve)
            self.status.setText(self._describe(cached))
            return
        if not self.is_sweeping():
            self._slider_timer.start()

    def _cached(self, theta: float) -> jsw.ThetaResult | None:
        tol = 0.5 * self.theta_range / SLIDER_TICKS
        near = [t for t in self.results if abs(t - theta) < tol]
        return self.results[min(near, key=lambda t: abs(t - theta))] if near else None

    def _train_current(self) -> None:
        """Train at the slider's theta in the background (unless cached, or a sweep is running)."""
        theta = self.theta
        if self.is_sweeping():
            return
        cached = self._cached(theta)
        if cached is not None and cached.curve is not None:
            self._draw_curve(cached.curve)
            return
        if self._theta_job is not None and self._theta_job.is_running():
            if self._theta_job_theta == theta:
                return
            self._theta_job.stop(timeout=0.0)  # don't block the slider: it ends at its next chunk, unseen
        job = BackgroundJob(jsw.iter_theta, theta, self.settings, True, parent=self)
        job.yielded.connect(self._on_theta_item)
        job.failed.connect(self._on_failed)
        job.finished.connect(lambda _ok: self.progress.setFormat("idle"))
        self._theta_job = job
        self._theta_job_theta = theta
        self.progress.setValue(0)
        self.progress.setFormat(f"θ = {theta:.3g}: %p%")
        self.status.setText(f"Training D and the critic at θ = {theta:.4g} ({self.settings.steps} steps each)…")
        job.start()

    def _on_theta_item(self, item: tuple[float, jsw.ThetaResult | None]) -> None:
        frac, result = item
        self.progress.setValue(int(1000 * frac))
        if result is not None:
            self._add_result(result)
            if abs(result.theta - self.theta) < 1e-9:
                self._draw_curve(result.curve)
            self.status.setText(self._describe(result))

    def _on_failed(self, message: str) -> None:
        self.status.setText(f"<b>Training failed:</b> {message}")

    # -- drawing -----------------------------------------------------------------------------------------
    def _show_theta(self) -> None:
        self.theta_label.setText(f"θ = {self.theta:+.3f}")
        for line in self.theta_lines:
            line.setPos(self.theta)

    def _add_result(self, result: jsw.ThetaResult) -> None:
        self.results[round(result.theta, 12)] = result
        self._redraw_results()
        self.result_added.emit(result)

    def table(self) -> dict[str, np.ndarray]:
        """The results so far as columns (jsw.TABLE_KEYS), sorted by theta."""
        return jsw.results_table([self.results[k] for k in sorted(self.results)])

    def _redraw_results(self) -> None:
        t = self.table()
        if not len(t["theta"]):
            for item in (self.jsd_points, self.gap_points, self.w1_sample_points, self.clip_points):
                item.setData([], [])
            self._set_clip_legend(None)
            return
        self.jsd_points.setData(t["theta"], t["jsd_est"])
        self.gap_points.setData(t["theta"], t["critic_gap"])
        self.w1_sample_points.setData(t["theta"], t["w1"])
        clip = t["critic_gap_clip"]
        ok = np.isfinite(clip)
        if ok.any():
            # a clipped critic's gap is W1 times an unknown constant: fit that constant (least squares on |theta|)
            a = np.abs(t["theta"][ok])
            denom = float(np.dot(clip[ok], clip[ok]))
            k = float(np.dot(a, clip[ok]) / denom) if denom > 0 else 1.0
            self.clip_points.setData(t["theta"][ok], k * clip[ok])
            self._set_clip_legend(f"clipped critic gap × {k:.3g} (scale fitted)")
        else:
            self.clip_points.setData([], [])
            self._set_clip_legend(None)

    def _set_clip_legend(self, text: str | None) -> None:
        if text == self._clip_legend_text:
            return
        if self._clip_legend_text is not None:
            self.w_legend.removeItem(self.clip_points)
        if text is not None:
            self.w_legend.addItem(self.clip_points, text)
        self._clip_legend_text = text

    def _draw_curve(self, curve: jsw.Curve | None) -> None:
        self.curve = curve
        if curve is None:
            for c in (self.p_data_curve, self.p_g_curve, self.d_curve, self.critic_curve, self.lipschitz_curve,
                      self.critic_clip_curve, self._half_line, self.d_data_fill, self.d_gen_fill):
                c.setData([], [])
            return
        x = curve.x
        self.p_data_curve.setData(x, curve.p_data)
        self.p_g_curve.setData(x, curve.p_g)
        self.d_curve.setData(x, curve.d_prob)
        self._half_line.setData([x[0], x[-1]], [0.5, 0.5])
        self.d_data_fill.setData(x, curve.p_data / max(float(curve.p_data.max()), 1e-300))
        self.d_gen_fill.setData(x, curve.p_g / max(float(curve.p_g.max()), 1e-300))
        d_slope, f_slope = slopes_at_generator(curve)
        style.set_title(self.d_plot, f"BCE discriminator D(x): |dD/dx| = {d_slope:.2g} at p_g (saturated)"
                        if d_slope < 1e-2 else f"BCE discriminator D(x): |dD/dx| = {d_slope:.2g} at p_g")
        style.set_title(self.critic_plot, f"WGAN-GP critic f(x): |df/dx| = {f_slope:.2f} at p_g")
        self.critic_curve.setData(x, curve.critic_gp)
        s = -1.0 if curve.theta >= 0 else 1.0
        self.lipschitz_curve.setData(x, s * x)
        if curve.critic_clip is not None:
            c = curve.critic_clip
            scale = np.ptp(curve.critic_gp) / max(float(np.ptp(c)), 1e-30)
            self.critic_clip_curve.setData(x, c * scale)
            if not self._clip_curve_in_legend:
                self.critic_legend.addItem(self.critic_clip_curve, "clipped critic (rescaled)")
                self._clip_curve_in_legend = True
        else:
            self.critic_clip_curve.setData([], [])
            if self._clip_curve_in_legend:
                self.critic_legend.removeItem(self.critic_clip_curve)
                self._clip_curve_in_legend = False
        where = "" if curve.slice_y is None else f" on the slice y = {curve.slice_y:g}"
        style.set_title(self.dens_plot, f"p_data and p_g at θ = {curve.theta:.3g}{where}")
        lo = float(np.min(curve.critic_gp))
        hi = float(np.max(curve.critic_gp))
        pad = 0.08 * max(hi - lo, 1e-3)
        self.critic_plot.setYRange(lo - pad, hi + pad, padding=0)
        self.dens_plot.setXRange(float(x[0]), float(x[-1]), padding=0)
        self.curve_shown.emit(curve)

    def _describe(self, r: jsw.ThetaResult) -> str:
        true = "n/a" if not math.isfinite(r.jsd_true) else f"{r.jsd_true:.4f}"
        slopes = ""
        if r.curve is not None:
            d_slope, f_slope = slopes_at_generator(r.curve)
            slopes = f" Gradients at p_g: |dD/dx| = {d_slope:.2g}, |df/dx| = {f_slope:.2f}."
        return (f"<b>θ = {r.theta:.4g}</b>: JSD estimate <b>{r.jsd_est:.4f}</b> nats (true {true}, log 2 = 0.6931); "
                f"WGAN-GP critic gap <b>{r.critic_gap:.4f}</b> vs exact W1 = |θ| = {r.w1_exact:.4g} "
                f"(W1 on samples {r.w1:.4f}; soft-penalty optimum {r.gp_soft_optimum:.4f}).{slopes}")

    def _summary(self) -> str:
        t = self.table()
        apart = np.abs(t["jsd_true"] - LOG2) < 1e-3
        msg = f"Sweep done ({len(t['theta'])} thetas). "
        if apart.any():
            msg += (f"Where the supports are apart, the JSD estimate is {t['jsd_est'][apart].min():.4f}–"
                    f"{t['jsd_est'][apart].max():.4f} nats whatever θ is (≈ log 2: no gradient), ")
        msg += "while the critic gap grows with |θ| like W1."
        return msg

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 (Qt API)
        self.stop_jobs()
        super().closeEvent(event)
