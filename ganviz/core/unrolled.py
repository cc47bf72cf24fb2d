"""Differentiable copies of D's optimiser step, for the unrolled GAN (Metz et al. 2017): G's loss is taken
against D unrolled k steps ahead, with gradients flowing through every unrolled update (Trainer.unrolled_g_loss).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

_SQRT_FLOOR = 1e-30  # v is clamped here inside unrolled square roots: sqrt'(0) = inf would turn 0 * inf into NaN


def unrolled_optimizer_state(opt: torch.optim.Optimizer, params: dict[str, Tensor]) -> dict[str, dict[str, Any]]:
    """Detached copies of opt's per-parameter state (zeros / step 0 where it has not stepped yet)."""
    out: dict[str, dict[str, Any]] = {}
    for name, p in params.items():
        st = opt.state.get(p, {})
        if isinstance(opt, torch.optim.Adam):
            out[name] = {"step": int(st["step"]) if "step" in st else 0,
                         "m": st["exp_avg"].detach() if "exp_avg" in st else torch.zeros_like(p),
                         "v": st["exp_avg_sq"].detach() if "exp_avg_sq" in st else torch.zeros_like(p)}
        elif isinstance(opt, torch.optim.RMSprop):
            out[name] = {"sq": st["square_avg"].detach() if "square_avg" in st else torch.zeros_like(p)}
        else:
            buf = st.get("momentum_buffer")
            out[name] = {"buf": None if buf is None else buf.detach()}
    return out


def unrolled_optimizer_step(opt: torch.optim.Optimizer, params: dict[str, Tensor], grads: dict[str, Tensor],
                            state: dict[str, dict[str, Any]]) -> tuple[dict[str, Tensor], dict[str, dict[str, Any]]]:
    """One differentiable update of the kind `opt` makes (pure: new params and state are returned).

    Adam (torch's formula, no weight decay): m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2,
    p -= lr/(1-b1^t) * m / (sqrt(v/(1-b2^t)) + eps). SGD: buf = mu buf + g (buf = g at the first step),
    p -= lr buf. RMSProp: s = a s + (1-a) g^2, p -= lr g / (sqrt(s) + eps). Hyper-parameters are read
    from opt's first param group, so live learning-rate and beta changes apply.
    """
    group = opt.param_groups[0]
    lr = float(group["lr"])
    new_p: dict[str, Tensor] = {}
    new_s: dict[str, dict[str, Any]] = {}
    for name, p in params.items():
        g, st = grads[name], state[name]
        if isinstance(opt, torch.optim.Adam):
            b1, b2 = group["betas"]
            t = st["step"] + 1
            m = b1 * st["m"] + (1 - b1) * g
            v = b2 * st["v"] + (1 - b2) * g * g
            denom = torch.sqrt(v.clamp_min(_SQRT_FLOOR)) / math.sqrt(1 - b2 ** t) + group["eps"]
            new_p[name] = p - (lr / (1 - b1 ** t)) * m / denom
            new_s[name] = {"step": t, "m": m, "v": v}
        elif isinstance(opt, torch.optim.RMSprop):
            a = group["alpha"]
            sq = a * st["sq"] + (1 - a) * g * g
            new_p[name] = p - lr * g / (torch.sqrt(sq.clamp_min(_SQRT_FLOOR)) + group["eps"])
            new_s[name] = {"sq": sq}
        else:
            mu = group.get("momentum", 0.0)
            buf = g if (mu == 0 or st["buf"] is None) else mu * st["buf"] + g
            new_p[name] = p - lr * buf
            new_s[name] = {"buf": buf if mu else None}
    return new_p, new_s
