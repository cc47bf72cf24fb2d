"""Dirac-GAN phase portrait: the (theta, psi) plane, the training vector field, and a draggable trajectory.

Everything is numpy (ganviz.core.dirac) and recomputed live on every change: method, scheme, step size,
parameters, or a drag of the start point. The background colour is log10 ||v|| (with its colour bar); the
arrows are the field's direction, all of one length. See THEORY.md section 5 for the numbers shown.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets
from superqt.utils import signals_blocked

from ganviz.core import dirac
from ganviz.qt import style
from ganviz.qt.panels.data2d import grid_rect

FIELD_PIXELS = 120  # background |v| image resolution per axis
ARROWS = 19  # arrows per axis
SCHEME_LABELS = {
    "simultaneous": "simultaneous GD",
    "alternating": "alternating GD",
    "continuous": "continuous gradient flow",
}


def arrow_segments(x: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray, length: float) -> np.ndarray:
    """Normalised arrows (shaft + two head strokes) centred on (x, y) pointing along (u, v), as an array of
    segment end points (6 rows per arrow) for connect='pairs'. Zero vectors are dropped."""
    x, y, u, v = (np.asarray(a, dtype=np.float64).ravel() for a in (x, y, u, v))
    n = np.hypot(u, v)
    keep = np.isfinite(n) & (n > 1e-12)
    x, y, u, v, n = x[keep], y[keep], u[keep] / n[keep], v[keep] / n[keep], n[keep]
    tail = np.column_stack([x - 0.5 * length * u, y - 0.5 * length * v])
    tip = np.column_stack([x + 0.5 * length * u, y + 0.5 * length * v])
    head = 0.35 * length
    out = np.empty((6 * len(x), 2))
    out[0::6], out[1::6] = tail, tip
    for k, ang in enumerate((np.deg2rad(150.0), np.deg2rad(-150.0))):
        c, s = np.cos(ang), np.sin(ang)
        du, dv = c * u - s * v, s * u + c * v  # the direction rotated by +-150 degrees
        out[2 + 2 * k::6] = tip
        out[3 + 2 * k::6] = tip + head * np.column_stack([du, dv])
    return out


class DiracView(QtWidgets.QWidget):
    """Controls on the left, the phase portrait on the right, the linearisation in a text block below."""

    recomputed = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("ganviz — Dirac-GAN phase portrait")
        pal = style.palette()
        self.trajectory_data = np.zeros((1, 2))
        self._field_key: tuple | None = None
        self._building = True

        # -- controls -------------------------------------------------------------------------------------
        controls = QtWidgets.QWidget()
        controls.setMinimumWidth(270)
        controls.setMaximumWidth(340)
        form = QtWidgets.QFormLayout(controls)
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._form = form
        self.method_combo = QtWidgets.QComboBox()
        for key, label in dirac.METHODS.items():
            self.method_combo.addItem(label, key)
        self.method_combo.setToolTip(
            "L(theta, psi) = f(psi theta) + f(0), f(t) = -log(1 + e^-t); D(x) = psi x, G = delta_theta.\n"
            "v = (-dL/dtheta, dL/dpsi); regularisers change the field (see ganviz/core/dirac.py)")
        form.addRow("Method", self.method_combo)
        self.scheme_combo = QtWidgets.QComboBox()
        for key, label in SCHEME_LABELS.items():
            self.scheme_combo.addItem(label, key)
        self.scheme_combo.setToolTip("simultaneous: x <- x + h v(x); alternating: one player moves, then the other "
                                     "sees its new value; continuous: the gradient flow dx/dt = v(x)")
        form.addRow("Scheme", self.scheme_combo)
        self.order_combo = QtWidgets.QComboBox()
        self.order_combo.addItem("G first, then D (paper's code)", "g-first")
        self.order_combo.addItem("D first, then G (ganviz trainer)", "d-first")
        form.addRow("Order", self.order_combo)
        self.h_spin = self._dspin(0.001, 2.0, 0.2, 0.05, 3, "step size h (continuous: time between points)")
        form.addRow("Step h", self.h_spin)
        self.steps_spin = QtWidgets.QSpinBox()
        self.steps_spin.setRange(1, 5000)
        self.steps_spin.setValue(500)
        self.steps_spin.setSingleStep(50)
        self.steps_spin.setToolTip("iterations (one G update each)")
        form.addRow("Steps", self.steps_spin)
        self.param_spins: dict[str, QtWidgets.QAbstractSpinBox] = {
            "gamma": self._dspin(0.0, 5.0, dirac.DEFAULTS["gamma"], 0.05, 3, dirac.PARAM_HELP["gamma"]),
            "sigma": self._dspin(0.0, 3.0, dirac.DEFAULTS["sigma"], 0.05, 3, dirac.PARAM_HELP["sigma"]),
            "clip": self._dspin(0.01, 5.0, dirac.DEFAULTS["clip"], 0.05, 3, dirac.PARAM_HELP["clip"]),
            "lam": self._dspin(0.0, 20.0, dirac.DEFAULTS["lam"], 0.1, 3, dirac.PARAM_HELP["lam"]),
        }
        labels = {"gamma": "γ (gamma)", "sigma": "σ (noise std)", "clip": "clip c", "lam": "λ (lambda)"}
        for key, spin in self.param_spins.items():
            form.addRow(labels[key], spin)
        self.n_critic_spin = QtWidgets.QSpinBox()
        self.n_critic_spin.setRange(1, 20)
        self.n_critic_spin.setValue(1)
        self.n_critic_spin.setToolTip("D steps per G step (alternating scheme)")
        form.addRow("n_critic", self.n_critic_spin)
        self.theta0_spin = self._dspin(-10.0, 10.0, 1.0, 0.1, 3, "start theta (or drag the target in the plot)")
        self.psi0_spin = self._dspin(-10.0, 10.0, 1.0, 0.1, 3, "start psi (or drag the target in the plot)")
        form.addRow("start θ", self.theta0_spin)
        form.addRow("start ψ", self.psi0_spin)
        self.substeps_check = QtWidgets.QCheckBox("draw each player's update")
        self.substeps_check.setChecked(True)
        self.substeps_check.setToolTip("alternating: draw the staircase of single-player updates")
        form.addRow("", self.substeps_check)
        self.info_label = QtWidgets.QLabel()
        self.info_label.setWordWrap(True)
        self.info_label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.info_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft)
        self.info_label.setFont(style.font(10))
        form.addRow(self.info_label)

        # -- plot -----------------------------------------------------------------------------------------
        self._glw = pg.GraphicsLayoutWidget()
        self._glw.setBackground(pal.background)
        self.plot: pg.PlotItem = self._glw.addPlot()
        style.style_plot(self.plot, bottom="θ (generator)", left="ψ (discriminator)",
                         title="Dirac-GAN: training vector field and trajectory")
        self.plot.setAspectLocked(True)
        self.plot.showGrid(x=True, y=True, alpha=0.12)
        self.plot.setXRange(-3.2, 3.2, padding=0)
        self.plot.setYRange(-3.2, 3.2, padding=0)
        self.plot.disableAutoRange()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-10)
        self.plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(values=(-2.0, 1.0), width=14, colorMap=pg.colormap.get("CET-L12"),
                                        interactive=False, colorMapMenu=False, pen=pg.mkPen(pal.foreground))
        self.colorbar.setImageItem(self.image, insert_in=self.plot)
        cb_axis = self.colorbar.getAxis("right")
        cb_axis.enableAutoSIPrefix(False)
        cb_axis.setTickFont(style.font(style.TICK_PT))
        cb_axis.setTextPen(pg.mkPen(pal.foreground))
        cb_axis.setLabel("log10 ||v|| (speed)", **{"font-size": f"{style.AXIS_LABEL_PT}pt", "color": pal.foreground})
        self.legend = style.add_legend(self.plot)
        self.arrows = pg.PlotCurveItem(pen=style.pen("#3a3a3a", 1), connect="pairs")
        self.arrows.setZValue(1)
        self.plot.addItem(self.arrows)
        self.clip_lines = pg.PlotCurveItem(pen=style.pen(pal.penalty, 2, "dash"), connect="pairs")
        self.clip_lines.setZValue(2)
        self.plot.addItem(self.clip_lines)
        self.traj_curve = pg.PlotCurveItem(pen=style.pen(pal.event, 2))
        self.traj_curve.setZValue(5)
        self.plot.addItem(self.traj_curve)
        self.end_marker = pg.ScatterPlotItem(size=12, symbol="x", pen=style.pen(pal.event, 2), brush=None)
        self.end_marker.setZValue(6)
        self.plot.addItem(self.end_marker)
        self.equilibrium = pg.ScatterPlotItem([0.0], [0.0], size=16, symbol="star", pen=pg.mkPen(pal.foreground),
                                              brush=style.brush("#ffd400"))
        self.equilibrium.setZValue(7)
        self.plot.addItem(self.equilibrium)
        self.start_handle = pg.TargetItem(pos=(1.0, 1.0), size=16, movable=True, pen=style.pen(pal.disc, 2),
                                          hoverPen=style.pen(pal.event, 2), label="start (drag)",
                                          # the theme's text on a legend-coloured patch: blue on the blue
                                          # trajectory was unreadable
                                          labelOpts={"color": pal.foreground, "offset": (8, -8),
                                                     "fill": pg.mkBrush(pal.legend_brush)})
        self.start_handle.setZValue(8)
        self.plot.addItem(self.start_handle)
        self._start_sample = pg.ScatterPlotItem(size=12, symbol="crosshair", pen=style.pen(pal.disc, 2))
        self.legend.addItem(self.arrows, "direction of v (normalised)")
        self.legend.addItem(self.traj_curve, "trajectory")
        self.legend.addItem(self.end_marker, "final point")
        self.legend.addItem(self.equilibrium, "equilibrium (0, 0)")
        self.legend.addItem(self._start_sample, "start (drag it)")
        self._clip_in_legend = False

        split = QtWidgets.QHBoxLayout(self)
        split.setContentsMargins(4, 4, 4, 4)
        split.addWidget(controls)
        split.addWidget(self._glw, 1)

        # -- wiring ---------------------------------------------------------------------------------------
        for combo in (self.method_combo, self.scheme_combo, self.order_combo):
            combo.currentIndexChanged.connect(self.recompute)
        for spin in (self.h_spin, self.steps_spin, self.n_critic_spin, *self.param_spins.values()):
            spin.valueChanged.connect(self.recompute)
        self.substeps_check.toggled.connect(self.recompute)
        self.theta0_spin.valueChanged.connect(self._start_from_spins)
        self.psi0_spin.valueChanged.connect(self._start_from_spins)
        self.start_handle.sigPositionChanged.connect(self._start_from_handle)
        self._range_timer = QtCore.QTimer(self, singleShot=True, interval=60)
        self._range_timer.timeout.connect(self._draw_field)
        self.plot.getViewBox().sigRangeChanged.connect(lambda *_: self._range_timer.start())
        self._building = False
        self.resize(1180, 760)
        self.recompute()

    # -- helpers -------------------------------------------------------------------------------------------
    @staticmethod
    def _dspin(lo: float, hi: float, value: float, step: float, decimals: int, tip: str) -> QtWidgets.QDoubleSpinBox:
        s = QtWidgets.QDoubleSpinBox()
        s.setRange(lo, hi)
        s.setDecimals(decimals)
        s.setSingleStep(step)
        s.setValue(value)
        s.setToolTip(tip)
        return s

    # -- public API ----------------------------------------------------------------------------------------
    @property
    def method(self) -> str:
        return str(self.method_combo.currentData())

    @property
    def scheme(self) -> str:
        return str(self.scheme_combo.currentData())

    def set_method(self, method: str) -> None:
        self.method_combo.setCurrentIndex(self.method_combo.findData(method))

    def set_scheme(self, scheme: str) -> None:
        self.scheme_combo.setCurrentIndex(self.scheme_combo.findData(scheme))

    def set_start(self, theta: float, psi: float) -> None:
        """Move the start point (as a drag of the target does) and recompute the trajectory."""
        self.start_handle.setPos((float(theta), float(psi)))

    def start(self) -> tuple[float, float]:
        return float(self.theta0_spin.value()), float(self.psi0_spin.value())

    def params(self) -> dict:
        """The parameters of the selected method, as ganviz.core.dirac expects them."""
        p: dict = {k: float(self.param_spins[k].value()) for k in dirac.METHOD_PARAMS[self.method]}
        if self.scheme == "alternating":
            p["n_critic"] = int(self.n_critic_spin.value())
            p["order"] = str(self.order_combo.currentData())
        return p

    # -- recomputation -------------------------------------------------------------------------------------
    def _start_from_spins(self) -> None:
        with signals_blocked(self.start_handle):
            self.start_handle.setPos((self.theta0_spin.value(), self.psi0_spin.value()))
        self._recompute_trajectory()

    def _start_from_handle(self, *_: object) -> None:
        pos = self.start_handle.pos()
        with signals_blocked(self.theta0_spin), signals_blocked(self.psi0_spin):
            self.theta0_spin.setValue(pos.x())
            self.psi0_spin.setValue(pos.y())
        self._recompute_trajectory()

    def _update_visibility(self) -> None:
        used = dirac.METHOD_PARAMS[self.method]
        for key, spin in self.param_spins.items():
            self._form.setRowVisible(spin, key in used)
        alternating = self.scheme == "alternating"
        self._form.setRowVisible(self.n_critic_spin, alternating)
        self._form.setRowVisible(self.order_combo, alternating)
        self._form.setRowVisible(self.substeps_check, alternating)
        self.h_spin.setToolTip("time between points of the flow" if self.scheme == "continuous" else "step size h")

    def recompute(self) -> None:
        """Field, trajectory and linearisation for the current controls."""
        if self._building:
            return
        self._update_visibility()
        if self.method == "wgan" and self.scheme == "continuous":
            with signals_blocked(self.scheme_combo):  # clipping has no continuous form: fall back to simultaneous
                self.set_scheme("simultaneous")
            self._update_visibility()
        self._field_key = None
        self._draw_field()
        self._draw_clip()
        self._recompute_trajectory()

    def _draw_field(self) -> None:
        vb = self.plot.getViewBox()
        (x0, x1), (y0, y1) = vb.viewRange()
        p = {k: v for k, v in self.params().items() if k not in ("n_critic", "order")}
        key = (self.method, tuple(sorted(p.items())), round(x0, 6), round(x1, 6), round(y0, 6), round(y1, 6))
        if key == self._field_key:
            return
        self._field_key = key
        xs = np.linspace(x0, x1, FIELD_PIXELS)
        ys = np.linspace(y0, y1, FIELD_PIXELS)
        gx, gy = np.meshgrid(xs, ys)
        vt, vp = dirac.vector_field(self.method, gx, gy, **p)
        with np.errstate(divide="ignore"):
            speed = np.log10(np.hypot(vt, vp))
        speed = np.where(np.isfinite(speed), speed, np.nan)
        lo, hi = np.nanpercentile(speed, [1, 99]) if np.isfinite(speed).any() else (-2.0, 1.0)
        if hi - lo < 0.2:
            lo, hi = lo - 0.1, hi + 0.1
        self.image.setImage(speed.astype(np.float32), autoLevels=False)
        self.colorbar.setLevels((float(lo), float(hi)))
        self.image.setRect(grid_rect(xs, ys))
        # arrows on a square lattice in data units (equal aspect), inset from the edges
        span = max(x1 - x0, y1 - y0)
        spacing = span / ARROWS
        ax = np.arange(np.ceil(x0 / spacing) * spacing, x1, spacing)
        ay = np.arange(np.ceil(y0 / spacing) * spacing, y1, spacing)
        mx, my = np.meshgrid(ax, ay)
        ut, up = dirac.vector_field(self.method, mx, my, **p)
        seg = arrow_segments(mx, my, ut, up, 0.75 * spacing)
        self.arrows.setData(seg[:, 0], seg[:, 1])

    def _draw_clip(self) -> None:
        if self.method == "wgan":
            c = float(self.param_spins["clip"].value())
            big = 1e3
            self.clip_lines.setData([-big, big, -big, big], [c, c, -c, -c])
            if not self._clip_in_legend:
                self.legend.addItem(self.clip_lines, "clip: |ψ| ≤ c")
                self._clip_in_legend = True
        else:
            self.clip_lines.setData([], [])
            if self._clip_in_legend:
                self.legend.removeItem(self.clip_lines)
                self._clip_in_legend = False

    def _recompute_trajectory(self) -> None:
        if self._building:
            return
        method, scheme = self.method, self.scheme
        params = self.params()
        h = float(self.h_spin.value())
        steps = int(self.steps_spin.value())
        substeps = scheme == "alternating" and self.substeps_check.isChecked()
        try:
            traj = dirac.trajectory(method, scheme, h, steps, self.start(), **params)
            drawn = dirac.trajectory(method, scheme, h, steps, self.start(), substeps=True, **params) \
                if substeps else traj
        except ValueError as e:
            self.info_label.setText(f"<b>error:</b> {e}")
            return
        self.trajectory_data = traj
        drawn = np.vstack([np.array([self.start()]), drawn])  # from the handle (WGAN clips the start's psi)
        finite = np.all(np.isfinite(drawn), axis=1)
        self.traj_curve.setData(drawn[finite, 0], drawn[finite, 1])
        if np.all(np.isfinite(traj[-1])):
            self.end_marker.setData([traj[-1, 0]], [traj[-1, 1]])
        else:
            self.end_marker.setData([], [])
        self._update_info(traj, h, steps, params)
        self.recomputed.emit()

    def _update_info(self, traj: np.ndarray, h: float, steps: int, params: dict) -> None:
        method, scheme = self.method, self.scheme
        eig_params = {k: v for k, v in params.items() if k not in ("n_critic", "order")}
        ev = dirac.jacobian_eigenvalues(method, **eig_params)
        note = dirac.equilibrium_note(method, **eig_params)
        r = dirac.radius(traj)
        lines = [
            f"<b>Field:</b> {_html(dirac.FORMULAS[method])}",
            f"<b>Jacobian eigenvalues at (0, 0):</b> λ&nbsp;=&nbsp;{_nb(dirac.format_eigenvalues(ev))}"
            f"<br><i>{note}</i>",
        ]
        mu = dirac.update_map_eigenvalues(method, scheme, h, **params)
        if np.all(np.isfinite(mu)):
            m = float(np.abs(mu).max())
            verdict = "converges locally" if m < 1 - 1e-9 else ("spirals out" if m > 1 + 1e-9 else "neutral: circles")
            what = "flow over time h" if scheme == "continuous" else "one iteration"
            lines.append(f"<b>{what}:</b> μ&nbsp;=&nbsp;{_nb(dirac.format_eigenvalues(mu))}, "
                         f"|μ|&nbsp;=&nbsp;{m:.5f} ({verdict})")
        if np.all(np.isfinite(r)):
            lines.append(f"<b>final radius</b> after {steps} steps: <b>{r[-1]:.4g}</b> "
                         f"(start {r[0]:.4g}; min {r.min():.4g}, max {r.max():.4g})")
        else:
            lines.append("<b>final radius:</b> overflow (NaN/Inf): the iterates diverged; try a smaller h")
        self.info_label.setText("<br><br>".join(lines))

    def info_text(self) -> str:
        """The linearisation / radius text as plain text (tests, copy-paste)."""
        return _strip_tags(self.info_label.text())


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _nb(text: str) -> str:
    """Keep 'a ± bi' on one line."""
    return _html(text).replace(" ", "&nbsp;")


def _strip_tags(html: str) -> str:
    import re

    text = re.sub(r"<br\s*/?>", "\n", re.sub(r"<(?!br)[^>]+>", "", html))
    return text.replace("&nbsp;", " ").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
