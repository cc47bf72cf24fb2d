"""`ganviz dirac`: Dirac-GAN training dynamics headless (THEORY.md section 5).

    ganviz dirac --method standard --scheme simultaneous --h 0.2 --steps 500 --start 1,1
    ganviz dirac --method r1 --gamma 0.3 --scheme alternating --out traj.csv

Prints the final point and radius, the radius range over the run, the Jacobian's eigenvalues at the
equilibrium and the eigenvalues of one update step; --out writes the trajectory as CSV (step, theta, psi,
radius). Bad arguments exit with code 2 and a message that names the option.
"""

from __future__ import annotations

import argparse
import math
import sys

NAME = "dirac"
HELP = "Dirac-GAN phase dynamics (Mescheder et al. 2018): trajectory, final radius, eigenvalues"

_METHODS = ("standard", "ns", "wgan", "wgan-gp", "instance-noise", "r1", "r2", "consensus")
_PARAM_OPTIONS = {"gamma": "--gamma", "sigma": "--sigma", "clip": "--clip", "lam": "--lambda"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--method", choices=_METHODS, default="standard",
                        help="training method / regulariser (default standard)")
    parser.add_argument("--scheme", choices=("simultaneous", "alternating", "continuous"), default="simultaneous",
                        help="simultaneous or alternating gradient steps, or the continuous gradient flow")
    parser.add_argument("--order", choices=("g-first", "d-first"), default="g-first",
                        help="alternating: which player moves first in an iteration (default g-first, as in the "
                             "paper's reference code)")
    parser.add_argument("--h", type=float, default=0.2, help="step size h (continuous: time between rows)")
    parser.add_argument("--steps", type=int, default=500, help="iterations (default 500)")
    parser.add_argument("--start", default="1,1", metavar="THETA,PSI", help="start point (default 1,1)")
    parser.add_argument("--gamma", type=float, default=None,
                        help="r1 / r2 penalty weight or consensus weight (default 0.3)")
    parser.add_argument("--sigma", type=float, default=None, help="instance-noise std (default 1)")
    parser.add_argument("--clip", type=float, default=None, help="wgan: clip psi to [-c, c] (default 0.3)")
    parser.add_argument("--lambda", dest="lam", type=float, default=None,
                        help="wgan-gp penalty weight lambda in lambda (|psi| - 1)^2 (default 0.5)")
    parser.add_argument("--n-critic", type=int, default=1,
                        help="D steps per G step (alternating scheme only; default 1)")
    parser.add_argument("--substeps", action="store_true",
                        help="alternating: one CSV row per single player's update (the staircase)")
    parser.add_argument("--out", "-o", metavar="CSV", help="write the trajectory (step, theta, psi, radius)")


def _fail(message: str) -> int:
    print(f"ganviz dirac: error: {message}", file=sys.stderr)
    return 2


def _parse_start(text: str) -> tuple[float, float]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2:
        raise ValueError(f"--start expects THETA,PSI (two numbers), got {text!r}")
    try:
        th, ps = float(parts[0]), float(parts[1])
    except ValueError:
        raise ValueError(f"--start expects two numbers THETA,PSI, got {text!r}") from None
    if not (math.isfinite(th) and math.isfinite(ps)):
        raise ValueError(f"--start must be finite, got {text!r}")
    return th, ps


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ganviz.core import dirac

    try:
        start = _parse_start(args.start)
    except ValueError as e:
        return _fail(str(e))
    if not (math.isfinite(args.h) and args.h > 0):
        return _fail(f"--h must be a number > 0, got {args.h!r}")
    if not 0 <= args.steps <= 10_000_000:
        return _fail(f"--steps must be in [0, 10000000], got {args.steps}")
    if args.n_critic < 1 or args.n_critic > 100:
        return _fail(f"--n-critic must be in [1, 100], got {args.n_critic}")
    if args.n_critic > 1 and args.scheme != "alternating":
        return _fail("--n-critic > 1 needs --scheme alternating (several D steps per G step)")
    params: dict = {"n_critic": args.n_critic, "order": args.order}
    used = dirac.METHOD_PARAMS[args.method]
    for key, option in _PARAM_OPTIONS.items():
        value = getattr(args, key)
        if value is None:
            continue
        if key not in used:
            allowed = ", ".join(_PARAM_OPTIONS[k] for k in used) or "none"
            return _fail(f"{option} does not apply to --method {args.method} (its options: {allowed})")
        params[key] = value
    try:
        traj = dirac.trajectory(args.method, args.scheme, args.h, args.steps, start, substeps=args.substeps,
                                **params)
        ev = dirac.jacobian_eigenvalues(args.method, **params)
        note = dirac.equilibrium_note(args.method, **params)
        mu = dirac.update_map_eigenvalues(args.method, args.scheme, args.h, **params)
    except ValueError as e:
        return _fail(str(e))
    r = dirac.radius(traj)
    shown = {k: v for k, v in params.items() if k in used}
    extra = "".join(f", {'lambda' if k == 'lam' else k}={v:g}" for k, v in shown.items())
    scheme = args.scheme + (f" ({args.order}, n_critic={args.n_critic})" if args.scheme == "alternating" else "")
    print(f"method: {dirac.METHODS[args.method]}{extra}")
    print(f"scheme: {scheme}, h={args.h:g}, steps={args.steps}, start=({start[0]:g}, {start[1]:g})")
    print(f"final (theta, psi) = ({traj[-1, 0]:.6g}, {traj[-1, 1]:.6g})")
    print(f"final radius = {r[-1]:.6g}")
    print(f"radius over the run: min {np.nanmin(r):.6g}, max {np.nanmax(r):.6g}")
    print(f"Jacobian eigenvalues at (0, 0): {dirac.format_eigenvalues(ev, pm='+-')}  ({note})")
    if np.all(np.isfinite(mu)):
        print(f"one-step map eigenvalues at (0, 0): {dirac.format_eigenvalues(mu, pm='+-')}  "
              f"(|mu| max = {np.abs(mu).max():.6g}; < 1 converges locally)")
    if not np.all(np.isfinite(traj)):
        print("ganviz dirac: warning: the iterates overflowed (NaN/Inf); try a smaller --h", file=sys.stderr)
    if args.out:
        step = np.arange(len(traj))
        table = np.column_stack([step, traj, r])
        try:
            np.savetxt(args.out, table, delimiter=",", header="step,theta,psi,radius", comments="",
                       fmt=["%d", "%.17g", "%.17g", "%.17g"])
        except OSError as e:
            return _fail(f"cannot write {args.out!r}: {e.strerror}")
        print(f"wrote {len(traj)} rows to {args.out}")
    return 0
