"""Formula panel: the active objective's D and G losses and the active regularisers, as rendered math.

Rendered with Qt rich text — HTML with <sub>/<sup> and Unicode math (𝔼, ∇, ‖·‖, ½, σ, λ, γ) — because
matplotlib's mathtext is not a dependency of ganviz. Each loss is written out as the trainer minimises it,
with the active penalty terms appended and their parameters listed underneath (R1 γ, GP λ, clip c, instance
noise σ, label smoothing s, k D steps, ...). The terms, the notes and the hooks come from the objective's row
(core.objectives: Formula, Penalty, PostStep); a row without a Formula is shown from its own `d_formula` /
`g_formula` text, with the same symbols substituted.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from ..core.config import TrainConfig
from ..core.generators import generator_kind
from ..core.objectives import OBJECTIVES
from ..core.snapshot import EventKind

BASE_PT = 12
MATH_FAMILY = "DejaVu Serif, Cambria Math, STIX Two Math, Latin Modern Math, serif"  # unquoted: lives in style='...'

# symbols
E = "𝔼"
x, z, D, G, f = (f"<i>{v}</i>" for v in ("x", "z", "D", "G", "f"))
P_DATA = "<i>p</i><sub>data</sub>"


def _ex(body: str) -> str:
    return f"{E}<sub>{x}</sub>[{body}]"


def _frac(num: str, den: str) -> str:
    return f"<sup>{num}</sup>⁄<sub>{den}</sub>"


def _num(v: float) -> str:
    return f"{v:g}"


_VARIABLES = re.compile(r"x̂|(?<![A-Za-z0-9])[xzDGfswcpgI](?![A-Za-z\u0302])")


def render(markup: str) -> str:
    """Formula markup (core.objectives.Formula) as HTML: E_{v}[ -> 𝔼 with v below, _{..} / ^{..} -> sub /
    superscript, the math variables in italics."""
    out = _VARIABLES.sub(lambda m: f"<i>{m.group(0)}</i>", html.escape(markup, quote=False))
    out = re.sub(r"(?<![A-Za-z])E_\{", f"{E}_{{", out)
    out = re.sub(r"_\{([^}]*)\}", r"<sub>\1</sub>", out)
    return re.sub(r"\^\{([^}]*)\}", r"<sup>\1</sup>", out)


_PRETTY = [
    (r"\|\|", "‖"), (r"\blambda\b", "λ"), (r"\bgamma\b", "γ"), (r"\bsigma\b", "σ"), (r"\btheta\b", "θ"),
    (r"\bgrad\b", "∇"), (r"x_hat", "x̂"), (r"\^2", "²"), (r"\b1/2\b", "½"), (r"\bE\b", E), (r"->", "→"),
    (r"<=", "≤"), (r">=", "≥"),
]


def prettify(text: str) -> str:
    """ASCII formula text (as in objectives.py) with Unicode math symbols; HTML-escaped."""
    out = html.escape(text)
    for pattern, repl in _PRETTY:
        out = re.sub(pattern, repl, out)
    return out


def break_between_terms(text: str) -> str:
    """One-line ASCII formula text (objectives' d_formula / g_formula) that a word-wrapping label may break only
    between its terms: inside a term (split at top-level " - ", " + " and ", ") spaces become no-break spaces and
    "-" the minus sign "−", the two places a line breaker would otherwise break (issue 15: "log(1 -" / "D(G(z)))")."""
    terms, cur, depth, i = [], "", 0, 0
    while i < len(text):
        ch = text[i]
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth == 0 and cur.strip() and (text.startswith((" - ", " + "), i) or text.startswith(", ", i)):
            if ch == ",":
                cur += ","
                i += 1
            terms.append(cur)
            cur = ""
            while i < len(text) and text[i] == " ":
                i += 1
            continue
        cur += ch
        i += 1
    terms.append(cur)
    return " ".join(_unbreakable(t) for t in terms if t)


def _unbreakable(term: str) -> str:
    # no-break spaces, the minus sign, and a word joiner (U+2060, zero width) after the characters a line may
    # break after (minus, |, /, +) and before an opening bracket
    out = term.replace(" ", "\u00a0").replace("-", "\u2212")
    out = re.sub(r"([\u2212|/+])", "\\1\u2060", out)
    return re.sub(r"(?<!\u2060)([(\[])", "\u2060\\1", out)


def _strip_lhs(text: str) -> str:
    return text.split("=", 1)[1].strip() if "=" in text.split("(")[0] else text


def regularisers(cfg: TrainConfig, sigma_now: float | None = None) -> list[str]:
    """HTML lines, one per active regulariser / training-schedule setting."""
    obj = OBJECTIVES.get(cfg.objective)
    out: list[str] = []
    k = f"<i>k</i> = {cfg.d_steps} {'D update' if cfg.d_steps == 1 else 'D updates'} per G update"
    if cfg.g_steps > 1:
        k += f" (G: {cfg.g_steps} updates per iteration)"
    out.append(k)
    for hook in obj.hooks if obj is not None else ():  # its own penalty (WGAN-GP) or post-step hook (clipping)
        out.append(render(hook.note.format(value=_num(getattr(cfg, hook.config_key)))))
    if cfg.r1_gamma > 0:
        out.append(f"R1 penalty on real data, γ = {_num(cfg.r1_gamma)}")
    if cfg.instance_noise > 0:
        line = (f"instance noise: D sees {x} + ε, ε ∼ 𝒩(0, σ<sub><i>t</i></sub>² <i>I</i>), "
                f"σ<sub><i>t</i></sub> = σ<sub>0</sub>ρ<sup><i>t</i></sup>, σ<sub>0</sub> = "
                f"{_num(cfg.instance_noise)}, ρ = {_num(cfg.instance_noise_decay)}")
        if sigma_now is not None and cfg.instance_noise_decay < 1:
            line += f" (now σ ≈ {sigma_now:.3g})"
        out.append(line)
    if cfg.label_smoothing > 0 and obj is not None and obj.label_smoothing:
        out.append(f"one-sided label smoothing: real target 1 − <i>s</i>, <i>s</i> = {_num(cfg.label_smoothing)}")
    unroll = getattr(cfg, "unroll", 0)
    if unroll:
        out.append(f"unrolled GAN: G's loss against D unrolled {unroll} steps ahead")
    pack = getattr(cfg, "pack", 1)
    if pack > 1:
        out.append(f"PacGAN: D sees <i>m</i> = {pack} samples packed together")
    if getattr(cfg, "mbdisc", 0):
        out.append(f"minibatch discrimination: {cfg.mbdisc} kernels of dimension {getattr(cfg, 'mbdisc_dim', '?')}")
    if getattr(cfg, "mbstd", 0):
        out.append("minibatch standard deviation feature in D")
    note = generator_kind(cfg.generator).note(cfg)  # a fixed generator says what it is
    if note:
        out.append(render(note))
    return out


def _optimisers(cfg: TrainConfig) -> str:
    def one(which: str) -> str:
        name = getattr(cfg, f"{which}_optimizer")
        lr = getattr(cfg, f"{which}_lr")
        extra = ""
        if name == "adam":
            extra = f", β = ({_num(cfg.beta1)}, {_num(cfg.beta2)})"
        elif name == "sgd" and cfg.momentum:
            extra = f", momentum {_num(cfg.momentum)}"
        label = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSProp"}.get(name, name)
        return f"{which.upper()}: {label}(lr {_num(lr)}{extra})"

    return f"{one('d')}; {one('g')}"


def _equilibrium(name: str) -> str:
    o = OBJECTIVES.get(name)
    if o is None:
        return ""
    if o.equilibrium_d is None:
        return "at the optimum: critic gap 𝔼 f(x) − 𝔼 f(G(z)) → 0 (it estimates W<sub>1</sub> on the way)"
    parts = [f"D = {_num(o.equilibrium_d)}" if o.equilibrium_d != 0.5 else "D = ½"]
    if o.equilibrium_d_loss is not None:
        loss = o.equilibrium_d_loss
        parts.append("L<sub>D</sub> = log 4 ≈ 1.386" if abs(loss - math.log(4)) < 1e-9 else f"L<sub>D</sub> = {loss:g}")
    return "at equilibrium (p<sub>g</sub> = p<sub>data</sub>, optimal D): " + ", ".join(parts)


def _rows(lhs: str, terms: list[str], css: str, gap: bool = False) -> str:
    out = []
    for i, term in enumerate(terms):
        left = f"{lhs}&nbsp;=" if i == 0 else ""
        pad = "padding-top:6px; " if gap and i == 0 else ""
        out.append(f"<tr><td align='right' style='{pad}white-space:nowrap; {css}'>{left}</td>"
                   f"<td style='{pad}white-space:nowrap; {css}'>{term}</td></tr>")
    return "".join(out)


def formula_html(cfg: TrainConfig, sigma_now: float | None = None, scale: float = 1.0,
                 math_scale: float | None = None) -> str:
    """The whole panel as HTML for a config: one loss term per line, penalties included. The equations (which
    never wrap inside a term) use `math_scale` (default `scale`); the prose wraps at `scale`."""
    obj = OBJECTIVES.get(cfg.objective)
    name = cfg.objective
    form = obj.formula if obj is not None else None
    if form is not None:  # the objective row's own terms (with label smoothing where it applies and is on)
        smoothed = obj.label_smoothing and cfg.label_smoothing > 0 and form.d_terms_smoothed is not None
        d_terms = [render(t) for t in (form.d_terms_smoothed if smoothed else form.d_terms)]
        g_terms = [render(t) for t in form.g_terms]
    else:  # an objective without a Formula: its one-line text
        d_terms = [prettify(_strip_lhs(obj.d_formula)) if obj else html.escape(name)]
        g_terms = [prettify(_strip_lhs(obj.g_formula)) if obj else ""]
    if cfg.r1_gamma > 0:
        out = render(form.d_symbol) if form is not None else D
        d_terms = [*d_terms, f"+ {_frac('γ', '2')} {_ex(f'‖∇<sub>{x}</sub>{out}({x})‖²')}"]
    pt = BASE_PT * scale
    small = 0.85 * pt
    grey = f"color:gray; font-size:{small:.1f}pt"
    math_pt = BASE_PT * (scale if math_scale is None else math_scale)
    math_css = f"font-family:{MATH_FAMILY}; font-size:{math_pt * 1.25:.1f}pt"
    title = html.escape(obj.label) if obj else html.escape(name)
    ref = f" <span style='{grey}'>({html.escape(obj.reference)})</span>" if obj and obj.reference else ""
    output = form.output_note if form is not None else ""
    lines = [
        f"<div style='font-size:{pt * 1.1:.1f}pt'><b>{title}</b>{ref}</div>",
        f"<table cellspacing='{max(1, int(2 * scale))}'>",
        _rows("<i>L</i><sub>D</sub>", d_terms, math_css),
        _rows("<i>L</i><sub>G</sub>", g_terms, math_css, gap=True),
        "</table>",
        f"<div style='{grey}'>{x} ∼ {P_DATA} (real data), {z} ∼ <i>p</i>({z}) (noise); both minimised</div>",
    ]
    note = form.g_note if form is not None else ""
    if note:
        lines.append(f"<div style='{grey}'>L<sub>G</sub>: {html.escape(note)}</div>")
    if output:
        lines.append(f"<div style='{grey}'>{html.escape(output)}</div>")
    regs = regularisers(cfg, sigma_now)
    lines.append(f"<div style='font-size:{pt:.1f}pt; margin-top:6px'><b>Regularisers and schedule</b></div>")
    lines.append(f"<ul style='font-size:{pt:.1f}pt; margin-top:0px; -qt-list-indent:1'>"
                 + "".join(f"<li>{r}</li>" for r in regs) + "</ul>")
    eq = _equilibrium(name)
    if eq:
        lines.append(f"<div style='{grey}'>{eq}</div>")
    lines.append(f"<div style='{grey}'>{_optimisers(cfg)}</div>")
    return "".join(lines)


MIN_FIT = 0.55  # the panel shrinks its equations to fit its width down to this share of the chosen scale


class FormulaPanel(QtWidgets.QScrollArea):
    """A dock body that shows `formula_html` for the current config; `set_config` re-renders on change."""

    def __init__(self, config: TrainConfig | None = None, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.label = QtWidgets.QLabel()
        self.label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.label.setWordWrap(True)
        self.label.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft)
        self.label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setContentsMargins(8, 6, 8, 6)
        self.setWidget(self.label)
        self.config: TrainConfig | None = None
        self.scale = 1.0
        self.fitted_scale = 1.0  # the equations' scale: `scale`, or less where the panel is too narrow
        self._sigma_now: float | None = None
        self._noise_t0 = 0
        self._html = ""
        self.set_config(config or TrainConfig())

    def set_config(self, config: TrainConfig) -> None:
        if config != self.config:
            if self.config is None or (config.instance_noise, config.instance_noise_decay) != \
                    (self.config.instance_noise, self.config.instance_noise_decay):
                self._sigma_now = None
            self.config = config
            self._render()

    def set_scale(self, scale: float) -> None:
        self.scale = float(scale)
        self._render()

    def on_snapshot(self, snap: Any) -> None:
        """Follow the run: its config (echoed in every snapshot) and the decayed instance-noise sigma."""
        cfg = getattr(snap, "config", None)
        if cfg is None:
            return
        for ev in getattr(snap, "events", ()):
            if ev.kind in (EventKind.RESET, EventKind.REGULARIZER):  # REGULARIZER: instance noise changed
                self._noise_t0 = 0 if ev.kind == EventKind.RESET else ev.step
        sigma = None
        if cfg.instance_noise > 0 and cfg.instance_noise_decay < 1:
            sigma = cfg.instance_noise * cfg.instance_noise_decay ** max(0, snap.step - self._noise_t0)
        changed = sigma is not None and (self._sigma_now is None or abs(sigma - self._sigma_now) > 0.01 * sigma)
        if changed:
            self._sigma_now = sigma
        if cfg != self.config:
            self.set_config(cfg)
        elif changed:
            self._render()

    def _fit_scale(self) -> float:
        """The largest equation scale <= `scale` at which the equations fit the panel's width (they never wrap
        inside a term), down to MIN_FIT x `scale`; a narrow dock in presentation mode showed them cut off by a
        scrollbar. The prose keeps `scale` and wraps."""
        assert self.config is not None
        margins = self.label.contentsMargins()
        avail = self.viewport().width() - margins.left() - margins.right() - 4
        scale = self.scale
        if avail <= 40:  # not laid out yet
            return scale
        doc = QtGui.QTextDocument()
        doc.setDefaultFont(self.label.font())
        for _ in range(4):
            doc.setHtml(formula_html(self.config, self._sigma_now, self.scale, scale))
            doc.setTextWidth(avail)
            need = doc.idealWidth()
            if need <= avail or scale <= MIN_FIT * self.scale:
                break
            scale = max(MIN_FIT * self.scale, scale * avail / need * 0.97)
        return scale

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._render()

    def _render(self) -> None:
        assert self.config is not None
        self.fitted_scale = self._fit_scale()
        text = formula_html(self.config, self._sigma_now, self.scale, self.fitted_scale)
        if text != self._html:
            self._html = text
            self.label.setText(text)

    def html(self) -> str:
        return self._html

    def plain_text(self) -> str:
        doc = QtGui.QTextDocument()
        doc.setHtml(self._html)
        return doc.toPlainText()
