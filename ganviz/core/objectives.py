"""One table of GAN objectives: name -> pure loss functions + display metadata.

All losses take D's raw output (a logit for probability objectives, a score for linear ones) and use
numerically stable forms (logsigmoid / softplus); a sigmoid is applied only for display.
No panel ever branches on the objective's name: it reads the metadata here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .lazy import lazy_import

torch = lazy_import("torch")  # imported on first use: the window shows before torch loads
F = lazy_import("torch.nn.functional")

if TYPE_CHECKING:
    from torch import Tensor


LOG4 = 1.3862943611198906


@dataclass(frozen=True)
class DLoss:
    """D (critic) loss and its parts, all scalar tensors; total = real_term + fake_term (+ penalties later)."""

    total: Tensor
    real_term: Tensor
    fake_term: Tensor


def _gradient_penalty(d: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, eps: Tensor) -> Tensor:
    from .regularizers import gradient_penalty  # torch-heavy: imported on first use

    return gradient_penalty(d, real, fake, eps)


def _clip_weights(params: Sequence[Tensor], c: float) -> None:
    from .regularizers import clip_weights

    clip_weights(params, c)


@dataclass(frozen=True)
class Penalty:
    """A penalty the objective adds to D's loss: weight (a config field; 0 = off) x term(d, real, fake, eps), with
    eps ~ U[0, 1] per sample (drawn only when the penalty is on)."""

    name: str
    config_key: str  # the config field that scales it, e.g. "gp_lambda"
    term: Callable[[Callable[[Tensor], Tensor], Tensor, Tensor, Tensor], Tensor]  # (d, real, fake, eps) -> loss
    formula: str  # the term as added to L_D (formula markup, see Formula)
    note: str  # one line for the regularisers list; {value} is the weight

    def __call__(self, cfg: Any, d: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor,
                 draw_eps: Callable[[], Tensor]) -> Tensor | None:
        """weight x term, or None when the weight is 0 (then nothing is drawn)."""
        w = getattr(cfg, self.config_key)
        return None if w <= 0 else w * self.term(d, real, fake, draw_eps())


@dataclass(frozen=True)
class PostStep:
    """What the objective does to D's weights after each D step (WGAN: clip every weight to [-c, c])."""

    name: str
    config_key: str  # the config field it reads, e.g. "clip"
    apply: Callable[[Sequence[Tensor], float], None]  # in place, on D's parameters
    functional: Callable[[Tensor, float], Tensor]  # the same on one tensor, out of place (unrolled D steps)
    note: str  # one line for the regularisers list; {value} is the parameter

    def __call__(self, cfg: Any, params: Sequence[Tensor]) -> None:
        self.apply(params, getattr(cfg, self.config_key))


@dataclass(frozen=True)
class Formula:
    """The losses as the formula panel writes them, term by term, in a small markup: E_{x}[...] is an
    expectation over x, _{..} / ^{..} sub- and superscripts; the single letters x, z, D, G, f, s, w, c, p, g, I
    and x̂ are the math variables (set in italics)."""

    d_terms: tuple[str, ...]
    g_terms: tuple[str, ...]
    d_terms_smoothed: tuple[str, ...] | None = None  # L_D with one-sided label smoothing s > 0
    g_note: str = ""  # a line about L_G
    output_note: str = ""  # what D's output is
    d_symbol: str = "D"  # D, or f for a critic (in the R1 term)


GP = Penalty("gradient penalty", "gp_lambda", _gradient_penalty,
             "+ λ E_{x̂}[(‖∇_{x̂}f(x̂)‖_{2} − 1)²]",
             "gradient penalty λ = {value}, on x̂ = εx + (1 − ε)G(z), ε ∼ U[0, 1]")
WEIGHT_CLIP = PostStep("weight clipping", "clip", _clip_weights, lambda t, c: t.clamp(-c, c),
                       "weight clipping: every D weight w ← clip(w, −c, c), c = {value}")

_PROBABILITY = "D(x) = σ(logit), a probability; the losses are computed from the logit (log σ, stable)"
_SCORE = "D(x) is a real-valued score (no sigmoid)"
_CRITIC = "f(x) is a critic: a real-valued score, no sigmoid"
_BCE_D = ("− E_{x}[log D(x)]", "− E_{z}[log(1 − D(G(z)))]")
_BCE_D_SMOOTHED = ("− E_{x}[(1 − s) log D(x) + s log(1 − D(x))]", "− E_{z}[log(1 − D(G(z)))]")
_CRITIC_D = ("− E_{x}[f(x)]", "+ E_{z}[f(G(z))]")
_CRITIC_G = ("− E_{z}[f(G(z))]",)


@dataclass(frozen=True)
class Objective:
    """A GAN objective and what the views need to draw it honestly: its losses, the penalty it adds, what it
    does after each D step, whether one-sided label smoothing applies, and its formula."""

    name: str
    label: str
    d_loss: Callable[[Tensor, Tensor, float], DLoss]  # (raw_real, raw_fake, label_smoothing) -> DLoss
    g_loss: Callable[[Tensor], Tensor]  # raw_fake -> scalar
    output: str  # "probability" (raw is a logit, shown as sigmoid) or "linear" (raw shown as is)
    d_formula: str
    g_formula: str
    d_axis_label: str  # label for axes showing D's displayed output
    equilibrium_d: float | None  # displayed D output at p_g = p_data (None: any constant, e.g. a critic)
    equilibrium_d_loss: float | None  # D loss at equilibrium with an optimal D
    display_range: tuple[float, float] | None  # fixed colour/axis range for D's output, None = autoscale
    penalty: Penalty | None = None  # WGAN-GP: the gradient penalty on interpolates
    post_d_step: PostStep | None = None  # WGAN: clamp D's weights after each D step
    label_smoothing: bool = False  # one-sided label smoothing (config label_smoothing) changes the real target
    formula: Formula | None = None  # None: the panel shows d_formula / g_formula
    paper_defaults: dict = field(default_factory=dict)  # config fields the paper uses
    reference: str = ""

    @property
    def is_probability(self) -> bool:
        return self.output == "probability"

    @property
    def hooks(self) -> tuple[Penalty | PostStep, ...]:
        """The objective's own penalty and post-step hook, those it has."""
        return tuple(h for h in (self.penalty, self.post_d_step) if h is not None)

    def display(self, raw: Tensor) -> Tensor:
        """D's output as shown to users: sigmoid(logit) for probability objectives, raw score otherwise."""
        return torch.sigmoid(raw) if self.is_probability else raw


def _bce_d(raw_real: Tensor, raw_fake: Tensor, smoothing: float) -> DLoss:
    # -E[(1-s) log D(x) + s log(1 - D(x))] - E log(1 - D(G(z))), with log D = logsigmoid(logit)
    real = -((1.0 - smoothing) * F.logsigmoid(raw_real) + smoothing * F.logsigmoid(-raw_real)).mean()
    fake = -F.logsigmoid(-raw_fake).mean()
    return DLoss(real + fake, real, fake)


def _minimax_g(raw_fake: Tensor) -> Tensor:
    # E log(1 - D(G(z))) = E logsigmoid(-logit)
    return F.logsigmoid(-raw_fake).mean()


def _ns_g(raw_fake: Tensor) -> Tensor:
    # -E log D(G(z))
    return -F.logsigmoid(raw_fake).mean()


def _ls_d(raw_real: Tensor, raw_fake: Tensor, smoothing: float) -> DLoss:
    target = 1.0 - smoothing
    real = 0.5 * ((raw_real - target) ** 2).mean()
    fake = 0.5 * (raw_fake ** 2).mean()
    return DLoss(real + fake, real, fake)


def _ls_g(raw_fake: Tensor) -> Tensor:
    return 0.5 * ((raw_fake - 1.0) ** 2).mean()


def _hinge_d(raw_real: Tensor, raw_fake: Tensor, smoothing: float) -> DLoss:
    real = F.relu(1.0 - raw_real).mean()
    fake = F.relu(1.0 + raw_fake).mean()
    return DLoss(real + fake, real, fake)


def _critic_d(raw_real: Tensor, raw_fake: Tensor, smoothing: float) -> DLoss:
    # -(E f(x) - E f(G(z)))
    real = -raw_real.mean()
    fake = raw_fake.mean()
    return DLoss(real + fake, real, fake)


def _critic_g(raw_fake: Tensor) -> Tensor:
    return -raw_fake.mean()


OBJECTIVES: dict[str, Objective] = {
    o.name: o
    for o in [
        Objective(
            "minimax", "Minimax (saturating)", _bce_d, _minimax_g, "probability",
            d_formula="L_D = -E log D(x) - E log(1 - D(G(z)))",
            g_formula="L_G = E log(1 - D(G(z)))",
            d_axis_label="D(x) (probability real)", equilibrium_d=0.5, equilibrium_d_loss=LOG4,
            display_range=(0.0, 1.0), label_smoothing=True,
            formula=Formula(_BCE_D, ("E_{z}[log(1 − D(G(z)))]",), _BCE_D_SMOOTHED,
                            "saturating: almost flat where D rejects the fakes (D(G(z)) ≈ 0)", _PROBABILITY),
            reference="Goodfellow et al. 2014",
        ),
        Objective(
            "ns", "Non-saturating", _bce_d, _ns_g, "probability",
            d_formula="L_D = -E log D(x) - E log(1 - D(G(z)))",
            g_formula="L_G = -E log D(G(z))",
            d_axis_label="D(x) (probability real)", equilibrium_d=0.5, equilibrium_d_loss=LOG4,
            display_range=(0.0, 1.0), label_smoothing=True,
            formula=Formula(_BCE_D, ("− E_{z}[log D(G(z))]",), _BCE_D_SMOOTHED,
                            "non-saturating: same fixed point, strong gradient while D rejects the fakes",
                            _PROBABILITY),
            reference="Goodfellow et al. 2014, section 3",
        ),
        Objective(
            "lsgan", "Least squares (a=0, b=1, c=1)", _ls_d, _ls_g, "linear",
            d_formula="L_D = 1/2 E(D(x) - 1)^2 + 1/2 E D(G(z))^2",
            g_formula="L_G = 1/2 E(D(G(z)) - 1)^2",
            d_axis_label="D(x) (linear score)", equilibrium_d=0.5, equilibrium_d_loss=0.25,
            display_range=(-0.5, 1.5), label_smoothing=True,
            formula=Formula(("½ E_{x}[(D(x) − 1)²]", "+ ½ E_{z}[D(G(z))²]"), ("½ E_{z}[(D(G(z)) − 1)²]",),
                            ("½ E_{x}[(D(x) − (1 − s))²]", "+ ½ E_{z}[D(G(z))²]"), output_note=_SCORE),
            reference="Mao et al. 2017",
        ),
        Objective(
            "hinge", "Hinge", _hinge_d, _critic_g, "linear",
            d_formula="L_D = E max(0, 1 - D(x)) + E max(0, 1 + D(G(z)))",
            g_formula="L_G = -E D(G(z))",
            d_axis_label="D(x) (linear score)", equilibrium_d=0.0, equilibrium_d_loss=2.0,
            display_range=(-2.0, 2.0),
            formula=Formula(("E_{x}[max(0, 1 − D(x))]", "+ E_{z}[max(0, 1 + D(G(z)))]"), ("− E_{z}[D(G(z))]",),
                            output_note=_SCORE),
            reference="Lim & Ye 2017; Miyato et al. 2018",
        ),
        Objective(
            "wgan", "WGAN (weight clipping)", _critic_d, _critic_g, "linear",
            d_formula="L_D = -(E f(x) - E f(G(z))),  then clip w to [-c, c]",
            g_formula="L_G = -E f(G(z))",
            d_axis_label="critic f(x)", equilibrium_d=None, equilibrium_d_loss=0.0,
            display_range=None, post_d_step=WEIGHT_CLIP,
            formula=Formula(_CRITIC_D, _CRITIC_G, output_note=_CRITIC, d_symbol="f"),
            paper_defaults={"d_optimizer": "rmsprop", "g_optimizer": "rmsprop", "d_lr": 5e-5, "g_lr": 5e-5,
                            "clip": 0.01, "d_steps": 5, "batch_size": 64},
            reference="Arjovsky et al. 2017",
        ),
        Objective(
            "wgan-gp", "WGAN-GP", _critic_d, _critic_g, "linear",
            d_formula="L_D = -(E f(x) - E f(G(z))) + lambda E(||grad f(x_hat)|| - 1)^2",
            g_formula="L_G = -E f(G(z))",
            d_axis_label="critic f(x)", equilibrium_d=None, equilibrium_d_loss=0.0,
            display_range=None, penalty=GP,
            formula=Formula((*_CRITIC_D, GP.formula), _CRITIC_G, output_note=_CRITIC, d_symbol="f"),
            paper_defaults={"d_optimizer": "adam", "g_optimizer": "adam", "d_lr": 1e-4, "g_lr": 1e-4,
                            "beta1": 0.0, "beta2": 0.9, "gp_lambda": 10.0, "d_steps": 5},
            reference="Gulrajani et al. 2017",
        ),
    ]
}


def get_objective(name: str) -> Objective:
    try:
        return OBJECTIVES[name]
    except KeyError:
        raise KeyError(f"unknown objective {name!r}; available: {', '.join(OBJECTIVES)}") from None
