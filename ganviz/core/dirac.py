"""Dirac-GAN (Mescheder, Geiger & Nowozin 2018, "Which training methods for GANs do actually converge?").

The smallest GAN that shows the training dynamics: p_data = delta_0, the generator is G = delta_theta (one
parameter theta), the discriminator is linear, D(x) = psi * x (one parameter psi). THEORY.md section 5.

Sign convention (the paper's and THEORY.md's). With f(t) = -log(1 + e^-t) = log sigmoid(t),

    L(theta, psi) = E_z f(D(G(z))) + E_x f(-D(x)) = f(psi theta) + f(0),

the discriminator ascends L in psi and the generator descends it in theta, so the *gradient vector field*
of training is

    v(theta, psi) = (-dL/dtheta, dL/dpsi) = (-psi f'(psi theta), theta f'(psi theta)),   f'(t) = sigmoid(-t),

and one gradient step with step size h moves (theta, psi) by h * v. The only equilibrium is (0, 0). Every
function here returns the field in this orientation: v_theta first, v_psi second, "forward" = training.

Methods (each a vector field; clipping is a projection applied after each D step, not part of the field):

- standard      minimax GAN, the field above; Jacobian at 0: [[0, -1/2], [1/2, 0]], eigenvalues +-i/2.
- ns            non-saturating generator: G minimises -f(-psi theta) (= -log D(G(z))), so
                v_theta = -psi f'(-psi theta); v_psi as standard. Same Jacobian at 0 (+-i/2).
- wgan          f(t) = t: v = (-psi, theta), eigenvalues +-i; after every D step psi is clipped to [-c, c].
- wgan-gp       f(t) = t and Gulrajani et al.'s penalty lambda E(||grad_x D(x_hat)|| - 1)^2. For D(x) = psi x
                the input gradient is psi at every x_hat, so the penalty is lambda (|psi| - 1)^2, whose psi-
                derivative is 2 lambda sign(psi) (|psi| - 1); the critic ascends L - penalty:
                v = (-psi, theta - 2 lambda sign(psi) (|psi| - 1)). (The paper writes gamma/2 (|psi| - g0)^2,
                i.e. gamma = 2 lambda, g0 = 1.) The field jumps by 4 lambda across psi = 0 (sign(0) = 0 is
                used there), so (0, 0) cannot be linearised: its eigenvalues are reported as NaN. The penalty
                pushes |psi| towards 1, away from the equilibrium; the iterates cycle and do not converge
                (default lambda = 0.5, the paper's gamma = 1). For lambda >= 1 the branch psi > 0 has a stable
                node at (-2 lambda, 0+) (Jacobian [[0, -1], [1, -2 lambda]]): the iterates stall there, where
                the critic is flat and the generator gets no gradient - also not the equilibrium.
- instance-noise  D sees inputs plus eps ~ N(0, sigma^2) (real and fake, independently):
                L_sigma = E f(psi (theta + eps1)) + E f(-psi eps2). The expectations are evaluated exactly up
                to quadrature error with 48-node Gauss-Hermite quadrature (deterministic; no Monte Carlo):
                v = (-E psi f'(psi(theta + eps1)), E (theta + eps1) f'(psi(theta + eps1)) - E eps2 f'(-psi eps2)).
                Jacobian at 0: [[0, -f'(0)], [f'(0), 2 f''(0) sigma^2]] = [[0, -1/2], [1/2, -sigma^2/2]],
                eigenvalues -sigma^2/4 +- sqrt(sigma^4/16 - 1/4).
- r1, r2        zero-centred gradient penalties gamma/2 E||grad_x D||^2 on real (R1) or fake (R2) data. Here
                grad_x D = psi everywhere, so both are gamma/2 psi^2: v_psi = theta f'(psi theta) - gamma psi.
                Jacobian [[0, -1/2], [1/2, -gamma]], eigenvalues -gamma/2 +- sqrt(gamma^2/4 - 1/4)
                (gamma = 0.3: -0.15 +- 0.477i).
- consensus     consensus optimisation (Mescheder et al. 2017) on the standard GAN: both players also descend
                ||v||^2 / 2, i.e. v_c = v - gamma J(x)^T v(x) with J the Jacobian of v (exact, analytic here).
                At 0, J^T J = I/4, so eigenvalues -gamma/4 +- i/2.

Schemes: `simultaneous` (x <- x + h v(x)); `alternating` (one player moves, then the other sees its new
value; the order is "g-first" as in the paper's reference code, or "d-first" as in ganviz's Trainer,
with n_critic D steps per G step); `continuous` (the gradient flow dx/dt = v(x), integrated by scipy's
DOP853 to rtol 1e-10; h is then the time between recorded points).

Simultaneous gradient descent on the standard GAN: since x . v(x) = 0 everywhere,
||x + h v||^2 = ||x||^2 + h^2 ||v||^2 exactly: every step moves outwards (THEORY.md: from (1, 1) with h = 0.2,
500 steps reach radius 3.097). The continuous flow conserves theta^2 + psi^2.

Pure numpy (scipy for the continuous flow); no torch, no Qt.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

METHODS: dict[str, str] = {
    "standard": "standard GAN (minimax)",
    "ns": "non-saturating GAN",
    "wgan": "WGAN (weight clipping)",
    "wgan-gp": "WGAN-GP (gradient penalty)",
    "instance-noise": "GAN + instance noise",
    "r1": "GAN + R1 penalty (real data)",
    "r2": "GAN + R2 penalty (fake data)",
    "consensus": "GAN + consensus optimisation",
}
# The field of each method in one line (f'(t) = sigmoid(-t)); shown next to the phase portrait.
FORMULAS: dict[str, str] = {
    "standard": "v = (-ψ f'(ψθ), θ f'(ψθ))",
    "ns": "v = (-ψ f'(-ψθ), θ f'(ψθ))",
    "wgan": "v = (-ψ, θ), then ψ clipped to [-c, c]",
    "wgan-gp": "v = (-ψ, θ - 2λ sign(ψ)(|ψ| - 1))",
    "instance-noise": "v = E over ε1, ε2 ~ N(0, σ²) of (-ψ f'(ψ(θ+ε1)), (θ+ε1) f'(ψ(θ+ε1)) - ε2 f'(-ψ ε2))",
    "r1": "v = (-ψ f'(ψθ), θ f'(ψθ) - γψ)",
    "r2": "v = (-ψ f'(ψθ), θ f'(ψθ) - γψ)  (R2 = R1 here: ∇ₓD = ψ everywhere)",
    "consensus": "v_c = v - γ Jᵀv = v - γ ∇(½||v||²)",
}
SCHEMES = ("simultaneous", "alternating", "continuous")
ORDERS = ("g-first", "d-first")

# Parameters each method reads (the GUI shows only these; the CLI rejects the others).
METHOD_PARAMS: dict[str, tuple[str, ...]] = {
    "standard": (),
    "ns": (),
    "wgan": ("clip",),
    "wgan-gp": ("lam",),
    "instance-noise": ("sigma",),
    "r1": ("gamma",),
    "r2": ("gamma",),
    "consensus": ("gamma",),
}

DEFAULTS: dict[str, float] = {"gamma": 0.3, "sigma": 1.0, "clip": 0.3, "lam": 0.5}
PARAM_HELP: dict[str, str] = {
    "gamma": "R1 / R2 penalty weight gamma (gamma/2 ||grad D||^2), or the consensus weight",
    "sigma": "instance noise std sigma (Gaussian noise on D's inputs)",
    "clip": "WGAN weight clipping: psi is clamped to [-c, c] after every D step",
    "lam": "WGAN-GP lambda in lambda (||grad D|| - 1)^2 (Gulrajani et al. use 10; here lambda >= 1 stalls the "
           "iterates at (-2 lambda, 0), where the critic is flat)",
}

_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(48)  # probabilists' Hermite: weight e^{-z^2/2}
_GH_WEIGHTS = _GH_WEIGHTS / math.sqrt(2.0 * math.pi)  # -> expectations under N(0, 1)


def _fp(t: np.ndarray) -> np.ndarray:
    """f'(t) = sigmoid(-t) for f(t) = -log(1 + e^-t), computed without overflow."""
    t = np.asarray(t, dtype=np.float64)
    e = np.exp(-np.abs(t))
    return np.where(t >= 0, e / (1.0 + e), 1.0 / (1.0 + e))


def _fpp(t: np.ndarray) -> np.ndarray:
    """f''(t) = -sigmoid(t) sigmoid(-t)."""
    s = _fp(t)
    return -s * (1.0 - s)


@dataclass(frozen=True)
class DiracParams:
    """Validated parameters of one method (unused ones keep their defaults)."""

    gamma: float = DEFAULTS["gamma"]
    sigma: float = DEFAULTS["sigma"]
    clip: float = DEFAULTS["clip"]
    lam: float = DEFAULTS["lam"]
    n_critic: int = 1
    order: str = "g-first"


def make_params(method: str, **params: float | int | str) -> DiracParams:
    """Check the method name and the parameter values; raise ValueError with a message that names them."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    known = {"gamma", "sigma", "clip", "lam", "n_critic", "order"}
    unknown = set(params) - known
    if unknown:
        raise ValueError(f"unknown parameter(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
    p = DiracParams(**params)  # type: ignore[arg-type]
    for name in ("gamma", "sigma", "lam"):
        v = getattr(p, name)
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
    if not (isinstance(p.clip, (int, float)) and math.isfinite(p.clip) and p.clip > 0):
        raise ValueError(f"clip must be a finite number > 0, got {p.clip!r}")
    if isinstance(p.n_critic, bool) or not isinstance(p.n_critic, int) or not 1 <= p.n_critic <= 100:
        raise ValueError(f"n_critic must be an integer in [1, 100], got {p.n_critic!r}")
    if p.order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}, got {p.order!r}")
    return p


# ------------------------------------------------------------------------------------------ the fields

def _field(method: str, th: np.ndarray, ps: np.ndarray, p: DiracParams) -> tuple[np.ndarray, np.ndarray]:
    if method in ("standard", "r1", "r2", "consensus"):
        s = _fp(ps * th)
        vt, vp = -ps * s, th * s
        if method in ("r1", "r2"):
            vp = vp - p.gamma * ps
        elif method == "consensus" and p.gamma != 0:
            u = ps * th
            f1, f2 = _fp(u), _fpp(u)
            j11, j12 = -ps * ps * f2, -f1 - u * f2
            j21, j22 = f1 + u * f2, th * th * f2
            gt = j11 * vt + j21 * vp  # J^T v = grad of ||v||^2 / 2
            gp = j12 * vt + j22 * vp
            vt, vp = vt - p.gamma * gt, vp - p.gamma * gp
        return vt, vp
    if method == "ns":
        return -ps * _fp(-ps * th), th * _fp(ps * th)
    if method == "wgan":
        return -ps + 0.0 * th, th + 0.0 * ps
    if method == "wgan-gp":
        return -ps + 0.0 * th, th - 2.0 * p.lam * np.sign(ps) * (np.abs(ps) - 1.0)
    if method == "instance-noise":
        eps = p.sigma * _GH_NODES  # (K,)
        w = _GH_WEIGHTS
        t = th[..., None] + eps  # theta + eps1
        s = _fp(ps[..., None] * t)
        vt = -(ps[..., None] * s) @ w
        vp = (t * s) @ w - (eps * _fp(-ps[..., None] * eps)) @ w
        return vt, vp
    raise ValueError(f"unknown method {method!r}")


def vector_field(method: str, theta: np.ndarray | float, psi: np.ndarray | float,
                 **params: float | int | str) -> tuple[np.ndarray, np.ndarray]:
    """The training vector field (v_theta, v_psi) at (theta, psi); broadcasts over arrays (e.g. meshgrids).

    v_theta = -dL/dtheta (generator descent), v_psi = +dL/dpsi (discriminator ascent), regularisers included
    (see the module docstring for each method's formula). Weight clipping is not part of the field.
    """
    p = make_params(method, **params)
    th, ps = np.broadcast_arrays(np.asarray(theta, dtype=np.float64), np.asarray(psi, dtype=np.float64))
    vt, vp = _field(method, th, ps, p)
    return np.asarray(vt, dtype=np.float64), np.asarray(vp, dtype=np.float64)


# ------------------------------------------------------------------------------------------ trajectories

def _clip(method: str, psi: float, p: DiracParams) -> float:
    return min(max(psi, -p.clip), p.clip) if method == "wgan" else psi


def trajectory(method: str, scheme: str = "simultaneous", h: float = 0.2, steps: int = 500,
               start: tuple[float, float] = (1.0, 1.0), substeps: bool = False,
               **params: float | int | str) -> np.ndarray:
    """Iterates of training from start = (theta0, psi0): an array (steps + 1, 2) of (theta, psi), row 0 = start.

    simultaneous: x_{k+1} = x_k + h v(x_k) (n_critic must be 1).
    alternating: per iteration, order="g-first" (default; the paper's reference code): theta <- theta +
      h v_theta(theta, psi), then n_critic times psi <- psi + h v_psi(theta, psi) with the new theta;
      order="d-first" (ganviz's Trainer, WGAN Algorithm 1): the n_critic D steps first, then the G step.
      With substeps=True every single player's update is a row ((1 + n_critic) * steps + 1 rows), which
      draws the staircase the iterates really take.
    continuous: the gradient flow sampled every h time units (DOP853, rtol 1e-10, atol 1e-12).
    WGAN clips psi to [-clip, clip] after every D step (and clips the start).
    """
    p = make_params(method, **params)
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    if not (math.isfinite(h) and h > 0):
        raise ValueError(f"step size h must be > 0, got {h!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    if scheme != "alternating" and p.n_critic != 1:
        raise ValueError("n_critic > 1 (several D steps per G step) needs the alternating scheme")
    th, ps = float(start[0]), float(start[1])
    if not (math.isfinite(th) and math.isfinite(ps)):
        raise ValueError(f"start must be two finite numbers, got {start!r}")
    ps = _clip(method, ps, p)

    def v(a: float, b: float) -> tuple[float, float]:
        vt, vp = _field(method, np.asarray(a), np.asarray(b), p)
        return float(vt), float(vp)

    if scheme == "continuous":
        return _flow(method, p, h, int(steps), (th, ps))

    rows = [(th, ps)]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(int(steps)):
            if scheme == "simultaneous":
                vt, vp = v(th, ps)
                th, ps = th + h * vt, _clip(method, ps + h * vp, p)
                rows.append((th, ps))
                continue
            moves = ["g"] + ["d"] * p.n_critic if p.order == "g-first" else ["d"] * p.n_critic + ["g"]
            for who in moves:
                if who == "g":
                    th = th + h * v(th, ps)[0]
                else:
                    ps = _clip(method, ps + h * v(th, ps)[1], p)
                if substeps:
                    rows.append((th, ps))
            if not substeps:
                rows.append((th, ps))
    return np.array(rows, dtype=np.float64)


def _flow(method: str, p: DiracParams, h: float, steps: int, start: tuple[float, float]) -> np.ndarray:
    if method == "wgan":
        raise ValueError("weight clipping is a projection after discrete D steps; it has no continuous flow here "
                         "(use the simultaneous or alternating scheme)")
    from scipy.integrate import solve_ivp

    def rhs(_t: float, x: np.ndarray) -> list[float]:
        vt, vp = _field(method, np.asarray(x[0]), np.asarray(x[1]), p)
        return [float(vt), float(vp)]

    if steps == 0:
        return np.array([start], dtype=np.float64)
    ts = h * np.arange(steps + 1)
    sol = solve_ivp(rhs, (0.0, ts[-1]), list(start), method="DOP853", t_eval=ts, rtol=1e-10, atol=1e-12)
    out = np.full((steps + 1, 2), np.nan)
    out[: sol.y.shape[1]] = sol.y.T
    return out


def radius(traj: np.ndarray) -> np.ndarray:
    """Distance of each iterate from the equilibrium (0, 0)."""
    traj = np.asarray(traj, dtype=np.float64)
    return np.hypot(traj[:, 0], traj[:, 1])


# ------------------------------------------------------------------------------------------ linearisation

def numerical_jacobian(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference Jacobian of fn: R^2 -> R^2 at x."""
    x = np.asarray(x, dtype=np.float64)
    jac = np.empty((2, 2))
    for j in range(2):
        d = np.zeros(2)
        d[j] = eps
        jac[:, j] = (np.asarray(fn(x + d)) - np.asarray(fn(x - d))) / (2 * eps)
    return jac


def field_jacobian(method: str, theta: float = 0.0, psi: float = 0.0, eps: float = 1e-6,
                   **params: float | int | str) -> np.ndarray:
    """Numerical (central-difference) Jacobian of the vector field at (theta, psi)."""
    p = make_params(method, **params)

    def fn(x: np.ndarray) -> np.ndarray:
        vt, vp = _field(method, np.asarray(x[0]), np.asarray(x[1]), p)
        return np.array([float(vt), float(vp)])

    return numerical_jacobian(fn, np.array([theta, psi]), eps)


def _pair(a: float, disc: float) -> np.ndarray:
    """Roots a +- sqrt(disc) as complex numbers, the one with the larger imaginary / real part first."""
    r = np.sqrt(complex(disc))
    return np.array([a + r, a - r], dtype=np.complex128)


def jacobian_eigenvalues(method: str, numerical: bool = False, **params: float | int | str) -> np.ndarray:
    """Eigenvalues of the vector field's Jacobian at the equilibrium (0, 0), complex array (2,).

    Analytic formulas (module docstring) by default; numerical=True uses a central-difference Jacobian.
    Negative real parts: the continuous flow converges locally; zero real parts: it circles.
    WGAN-GP's field is not differentiable at psi = 0: NaN (see `equilibrium_note`).
    """
    p = make_params(method, **params)
    if method == "wgan-gp":
        return np.array([complex("nan+nanj")] * 2)
    if numerical:
        ev = np.linalg.eigvals(field_jacobian(method, 0.0, 0.0, **params))
        return np.array(sorted(ev, key=lambda z: (-z.imag, -z.real)), dtype=np.complex128)
    if method in ("standard", "ns"):
        return _pair(0.0, -0.25)
    if method == "wgan":
        return _pair(0.0, -1.0)
    if method in ("r1", "r2"):
        return _pair(-p.gamma / 2, p.gamma ** 2 / 4 - 0.25)
    if method == "instance-noise":
        return _pair(-p.sigma ** 2 / 4, p.sigma ** 4 / 16 - 0.25)
    if method == "consensus":
        return _pair(-p.gamma / 4, -0.25)
    raise ValueError(f"unknown method {method!r}")


def update_map_eigenvalues(method: str, scheme: str = "simultaneous", h: float = 0.2,
                           **params: float | int | str) -> np.ndarray:
    """Eigenvalues of the Jacobian of one training iteration x_k -> x_{k+1} at (0, 0) (numerical).

    The discrete analogue of `jacobian_eigenvalues`: all |mu| < 1 converges locally, some |mu| > 1 spirals
    out, |mu| = 1 neither. Simultaneous GD on the standard GAN: mu = 1 + h lambda = 1 +- 0.1i for h = 0.2,
    |mu| = 1.00499 > 1. NaN for WGAN-GP (not differentiable at the equilibrium).
    """
    if method == "wgan-gp":
        return np.array([complex("nan+nanj")] * 2)
    if scheme == "continuous":
        return np.exp(h * jacobian_eigenvalues(method, **params))

    def step(x: np.ndarray) -> np.ndarray:
        return trajectory(method, scheme, h, 1, (float(x[0]), float(x[1])), **params)[-1]

    ev = np.linalg.eigvals(numerical_jacobian(step, np.zeros(2), 1e-7))
    return np.array(sorted(ev, key=lambda z: (-z.imag, -z.real)), dtype=np.complex128)


def equilibrium_note(method: str, **params: float | int | str) -> str:
    """One line on what the linearisation at (0, 0) says for this method (shown next to the eigenvalues)."""
    p = make_params(method, **params)
    if method == "wgan-gp":
        return (f"not differentiable at psi = 0: the penalty's gradient jumps by 4 lambda = {4 * p.lam:g} there and "
                "pushes |psi| towards 1, so (0, 0) is not a stable equilibrium")
    ev = jacobian_eigenvalues(method, **params)
    re = float(ev.real.max())
    if re < -1e-12:
        return "negative real parts: the gradient flow converges locally"
    if method == "wgan":
        return "purely imaginary: the flow circles (clipping is inactive near 0)"
    return "purely imaginary: the gradient flow circles, never converging"


def format_eigenvalues(ev: np.ndarray, digits: int = 4, pm: str = "\u00b1") -> str:
    """'a +- bi' for a conjugate pair (pm: the plus-minus sign), 'a, b' for two real ones, 'undefined' for NaN."""
    ev = np.asarray(ev, dtype=np.complex128)
    if not np.all(np.isfinite(ev)):
        return "undefined"
    a, b = ev[0], ev[1]
    if abs(a.imag) > 1e-12 and abs(a.conjugate() - b) < 1e-9 * max(1.0, abs(a)):
        re = 0.0 if abs(a.real) < 5 * 10 ** -(digits + 1) else a.real
        return f"{re:.{digits}g} {pm} {abs(a.imag):.{digits}g}i"
    return ", ".join(f"{z.real:.{digits}g}" if abs(z.imag) < 1e-12 else f"{z:.{digits}g}" for z in (a, b))
