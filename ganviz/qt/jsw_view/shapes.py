"""The critic-shape tab: a weight-clipped and a gradient-penalty critic trained on the same 2D data against a
fixed generator (data + noise), side by side as heatmaps with colour bars and level sets (WGAN-GP paper, Figure 1)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets
from superqt.utils import signals_blocked

from ganviz.core import jsw
from ganviz.qt import style
from ganviz.qt.panels._contour import contour_segments
from ganviz.qt.panels.data2d import grid_rect

from .jobs import BackgroundJob
from .plots import canvas, style_colorbar


class CriticShapeView(QtWidgets.QWidget):
    """Weight clipping vs gradient penalty: both critics on the same data, side by side."""

    updated = QtCore.Signal(object)  # jsw.CriticShapes, after it is drawn
    training_finished = QtCore.Signal(bool)

    def __init__(self, parent: QtWidgets.QWidget | None = None, settings: jsw.ShapeSettings | None = None,
                 autostart: bool = True) -> None:
        super().__init__(parent)
        pal = style.palette()
        self.settings = settings or jsw.ShapeSettings()
        self.autostart = autostart
        self.shapes: jsw.CriticShapes | None = None
        self._job: BackgroundJob | None = None
        self._started = False

        bar = QtWidgets.QHBoxLayout()
        self.data_combo = QtWidgets.QComboBox()
        for name in jsw.SHAPE_DATASETS:
            self.data_combo.addItem(name, name)
        self.data_combo.setCurrentIndex(max(0, self.data_combo.findData(self.settings.data)))
        self.sigma_spin = QtWidgets.QDoubleSpinBox()
        self.sigma_spin.setRange(0.05, 3.0)
        self.sigma_spin.setSingleStep(0.1)
        self.sigma_spin.setValue(self.settings.noise_sigma)
        self.sigma_spin.setToolTip("the fixed generator is p_data + N(0, sigma^2 I)")
        self.steps_spin = QtWidgets.QSpinBox()
        self.steps_spin.setRange(50, 20000)
        self.steps_spin.setSingleStep(250)
        self.steps_spin.setValue(self.settings.steps)
        self.train_button = QtWidgets.QPushButton("Train")
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(160)
        self.progress.setFormat("idle")
        for w in (QtWidgets.QLabel("Data"), self.data_combo, QtWidgets.QLabel("generator noise σ"), self.sigma_spin,
                  QtWidgets.QLabel("steps"), self.steps_spin, self.train_button, self.progress):
            bar.addWidget(w)
        bar.addStretch(1)

        glw = canvas()
        self.plots: list[pg.PlotItem] = []
        self.images: list[pg.ImageItem] = []
        self.colorbars: list[pg.ColorBarItem] = []
        self.contours: list[pg.PlotCurveItem] = []
        self.real_items: list[pg.ScatterPlotItem] = []
        self.fake_items: list[pg.ScatterPlotItem] = []
        titles = [f"Weight clipping (c = {self.settings.clip:g})",
                  f"Gradient penalty (λ = {self.settings.gp_lambda:g})"]
        for col, title in enumerate(titles):
            plot = glw.addPlot(row=0, col=col)
            style.style_plot(plot, bottom="x₁", left="x₂", title=title)
            plot.setAspectLocked(True)
            image = pg.ImageItem(axisOrder="row-major")
            image.setZValue(-10)
            plot.addItem(image)
            cb = pg.ColorBarItem(values=(0.0, 1.0), width=14, colorMap=pg.colormap.get("CET-L12"), interactive=False,
                                 colorMapMenu=False, pen=pg.mkPen(pal.foreground), rounding=1e-12)
            cb.setImageItem(image, insert_in=plot)
            style_colorbar(cb, "f(x) − mean f")
            legend = style.add_legend(plot)
            contour = pg.PlotCurveItem(pen=style.pen("#303030", 1), connect="pairs")
            contour.setZValue(2)
            plot.addItem(contour)
            fake = pg.ScatterPlotItem(size=3, pen=None, brush=style.brush(pal.fake, 170))
            fake.setZValue(3)
            real = pg.ScatterPlotItem(size=3, pen=None, brush=style.brush(pal.real, 220))
            real.setZValue(4)
            plot.addItem(fake)
            plot.addItem(real)
            legend.addItem(real, "real samples")
            legend.addItem(fake, "generator: data + noise")
            legend.addItem(contour, "level sets of f")
            self.plots.append(plot)
            self.images.append(image)
            self.colorbars.append(cb)
            self.contours.append(contour)
            self.real_items.append(real)
            self.fake_items.append(fake)
        self._units = ["", ""]
        self.plots[1].setXLink(self.plots[0])
        self.plots[1].setYLink(self.plots[0])
        self.status = QtWidgets.QLabel(
            "Both critics maximise E f(real) − E f(fake) on the same batches. Clipping the weights to [−c, c] "
            "restricts the critic to very simple functions; the gradient penalty lets it follow the data.")
        self.status.setWordWrap(True)
        self.status.setTextFormat(QtCore.Qt.TextFormat.RichText)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(bar)
        lay.addWidget(glw, 1)
        lay.addWidget(self.status)
        self.train_button.clicked.connect(self.toggle_training)

    def showEvent(self, event: QtGui.QShowEvent) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        if self.autostart and not self._started:
            self._started = True
            self.start_training()

    def is_busy(self) -> bool:
        return self._job is not None and self._job.is_running()

    def toggle_training(self) -> None:
        if self.is_busy():
            self.stop_jobs()
        else:
            self.start_training()

    def start_training(self, settings: jsw.ShapeSettings | None = None) -> None:
        """Train both critics from scratch (settings: from the controls, or given, which the controls then show)."""
        self.stop_jobs()
        if settings is None:
            settings = dataclasses.replace(
                self.settings, data=str(self.data_combo.currentData()), noise_sigma=float(self.sigma_spin.value()),
                steps=int(self.steps_spin.value()))
        else:
            with signals_blocked(self.data_combo), signals_blocked(self.sigma_spin), signals_blocked(self.steps_spin):
                self.data_combo.setCurrentIndex(max(0, self.data_combo.findData(settings.data)))
                self.sigma_spin.setValue(settings.noise_sigma)
                self.steps_spin.setValue(settings.steps)
        self.settings = settings
        self._started = True
        job = BackgroundJob(jsw.iter_critic_shapes, self.settings, parent=self)
        job.yielded.connect(self._draw)
        job.failed.connect(lambda m: self.status.setText(f"Training failed: {m}"))
        job.finished.connect(self._on_finished)
        self._job = job
        self.train_button.setText("Stop")
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        job.start()

    def stop_jobs(self, timeout: float = 3.0) -> bool:
        ok = True
        if self._job is not None:
            ok = self._job.stop(timeout)
        self._job = None
        self.train_button.setText("Train")
        self.progress.setFormat("idle")
        return ok

    def _on_finished(self, completed: bool) -> None:
        self.train_button.setText("Train")
        self.progress.setFormat("done" if completed else "idle")
        self.training_finished.emit(completed)

    def _draw(self, s: jsw.CriticShapes) -> None:
        self.shapes = s
        self.progress.setValue(int(1000 * s.step / max(s.steps, 1)))
        rect = grid_rect(s.xs, s.ys)
        n_show = 400
        for i, values in enumerate((s.clip_values, s.gp_values)):
            # a critic is defined up to a constant: show f - mean f over the grid, and tiny critics (clipping)
            # in units of 10^e so that the colour bar keeps short, readable ticks
            v = np.asarray(values, dtype=np.float64)
            v = v - float(np.nanmean(v))
            top = float(np.nanmax(np.abs(v))) if np.isfinite(v).any() else 1.0
            e = int(np.floor(np.log10(top))) if top > 0 else 0
            e = e if abs(e) >= 2 else 0
            v = v / 10.0 ** e
            unit = "" if e == 0 else f" (units of 10^{e})"
            if unit != self._units[i]:
                self._units[i] = unit
                style_colorbar(self.colorbars[i], "f(x) − mean f" + unit)
            lo, hi = np.percentile(v, [1, 99])
            if not hi > lo:
                lo, hi = lo - 1e-6, hi + 1e-6
            self.images[i].setImage(np.ascontiguousarray(v, dtype=np.float32), autoLevels=False)
            self.colorbars[i].setLevels((float(lo), float(hi)))
            self.images[i].setRect(rect)
            segs = [contour_segments(v, lvl, s.xs, s.ys) for lvl in np.linspace(lo, hi, 10)[1:-1]]
            seg = np.vstack(segs) if segs else np.empty((0, 2))
            self.contours[i].setData(seg[:, 0], seg[:, 1])
            self.real_items[i].setData(s.real[:n_show, 0], s.real[:n_show, 1])
            self.fake_items[i].setData(s.fake[:n_show, 0], s.fake[:n_show, 1])
        if s.step == 0:
            self.plots[0].setRange(xRange=(s.xs[0], s.xs[-1]), yRange=(s.ys[0], s.ys[-1]), padding=0)
        self.status.setText(
            f"Step {s.step} / {s.steps}. Critic gaps E f(real) − E f(fake): clipped <b>{s.clip_gap:.3g}</b> "
            f"(proportional to W1 at best: weights ≤ c = {self.settings.clip:g}), gradient penalty "
            f"<b>{s.gp_gap:.3g}</b>. Clipping restricts the critic to very simple functions; the penalised critic "
            "follows the data (WGAN-GP paper, Figure 1).")
        self.updated.emit(s)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 (Qt API)
        self.stop_jobs()
        super().closeEvent(event)
