"""The D and G updates as pure functions of tensors, shared by the single run (Trainer) and the batched ensemble
(EnsembleTrainer): the objective's losses, the penalties (WGAN-GP, R1), the optimiser step with its gradient norm,
weight clipping, the values a history row records, and the finiteness check of the divergence guard.

Every function works on one run's batch (raw D outputs (n, 1), inputs (n, dim)) or, with `seeded=True`, on N runs
stacked along a leading seed axis (raw (N, n), inputs (N, n, dim)): then losses and norms are per seed, shape
(N,), and the SUM of the per-seed losses is back-propagated, so each seed's weights get exactly their own
gradient (every output depends on its own seed's weights only). The engines decide only how a batch is drawn
and how D is evaluated; what a D or G step computes is written here, once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.func import vmap

from .objectives import DLoss, Objective
from .regularizers import r1_penalty


@dataclass(frozen=True)
class DStep:
    """One D step's loss (what is minimised, penalties included) and its parts: scalars, or (N,) per seed."""

    loss: Tensor
    real_term: Tensor
    fake_term: Tensor
    penalty: Tensor | None
    raw_real: Tensor
    raw_fake: Tensor


@functools.lru_cache(maxsize=64)
def _seeded_d_loss(d_loss: Callable, smoothing: float) -> Callable:
    def parts(r: Tensor, f: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        p = d_loss(r, f, smoothing)
        return p.total, p.real_term, p.fake_term

    return vmap(parts)


@functools.lru_cache(maxsize=64)
def _seeded_g_loss(g_loss: Callable) -> Callable:
    return vmap(g_loss)


def d_loss(obj: Objective, raw_real: Tensor, raw_fake: Tensor, smoothing: float, seeded: bool = False) -> DLoss:
    """The objective's D loss and its parts; with seeded, the objective's own function per seed (vmapped)."""
    if not seeded:
        return obj.d_loss(raw_real, raw_fake, smoothing)
    return DLoss(*_seeded_d_loss(obj.d_loss, float(smoothing))(raw_real, raw_fake))


def g_loss(obj: Objective, raw_fake: Tensor, seeded: bool = False) -> Tensor:
    """The objective's G loss (scalar), or per seed (N,)."""
    return _seeded_g_loss(obj.g_loss)(raw_fake) if seeded else obj.g_loss(raw_fake)


def d_penalty(obj: Objective, cfg: Any, d: Callable[[Tensor], Tensor], real_in: Tensor, fake_in: Tensor,
              draw_eps: Callable[[], Tensor]) -> Tensor | None:
    """The penalties on D that the config turns on, summed (None when none is): the WGAN-GP penalty
    (lambda E(||grad f(x_hat)|| - 1)^2; its mixing weights eps come from draw_eps(), called only then, so a
    run without it draws nothing) and R1 (gamma / 2 E||grad D(x_real)||^2)."""
    penalty = None if obj.penalty is None else obj.penalty(cfg, d, real_in, fake_in, draw_eps)
    if cfg.r1_gamma > 0:
        r1 = 0.5 * cfg.r1_gamma * r1_penalty(d, real_in)
        penalty = r1 if penalty is None else penalty + r1
    return penalty


def d_step_loss(obj: Objective, cfg: Any, d: Callable[[Tensor], Tensor], real_in: Tensor, fake_in: Tensor,
                draw_eps: Callable[[], Tensor], seeded: bool = False,
                raw: tuple[Tensor, Tensor] | None = None) -> DStep:
    """D's loss on one batch of (noised) real and fake inputs: the objective's loss plus the penalties.
    raw: D's outputs on real_in and fake_in when the caller has them already (the ensemble evaluates both
    halves in one batched pass); otherwise D is called on each."""
    raw_real, raw_fake = raw if raw is not None else (d(real_in), d(fake_in))
    parts = d_loss(obj, raw_real, raw_fake, cfg.label_smoothing, seeded)
    penalty = d_penalty(obj, cfg, d, real_in, fake_in, draw_eps)
    loss = parts.total if penalty is None else parts.total + penalty
    return DStep(loss, parts.real_term, parts.fake_term, penalty, raw_real, raw_fake)


def grad_norm(params: Sequence[Tensor], seeded: bool = False) -> Tensor:
    """The gradient norm of a network (scalar: the norm of the per-tensor norms, one multi-tensor kernel), or of
    each seed's network (N,). On the parameters' device (history rows are stacked there); zero when nothing has
    a gradient."""
    grads = [p.grad for p in params if p.grad is not None]
    if not seeded:
        if not grads:
            return torch.zeros((), device=params[0].device if params else None)
        return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
    if not grads:
        return params[0].new_zeros(params[0].shape[0])
    return torch.linalg.vector_norm(torch.cat([g.flatten(1) for g in grads], dim=1), dim=1)


def backward(loss: Tensor, opt: torch.optim.Optimizer, params: Sequence[Tensor], seeded: bool = False,
             only_params: bool = False) -> Tensor:
    """The gradient half of `optimizer_step`: clear opt's gradients, back-propagate loss (per seed: their sum);
    returns the gradient norm(s). only_params: gradients reach params only (G's step leaves D's .grad alone)."""
    opt.zero_grad(set_to_none=True)
    total = loss.sum() if seeded else loss
    if only_params:
        total.backward(inputs=list(params))
    else:
        total.backward()
    return grad_norm(params, seeded)


def optimizer_step(loss: Tensor, opt: torch.optim.Optimizer, params: Sequence[Tensor], seeded: bool = False,
                   only_params: bool = False) -> Tensor:
    """Back-propagate loss (per seed: their sum), take the optimiser step; returns the gradient norm(s) from
    before the step. only_params: gradients reach params only (G's step leaves D's .grad alone). The slow-motion
    player (core.stages) takes the two halves apart: `backward`, then `opt.step()`."""
    norm = backward(loss, opt, params, seeded, only_params)
    opt.step()
    return norm


def after_d_step(obj: Objective, cfg: Any, d_params: Sequence[Tensor]) -> None:
    """What the objective does to D after each D step (its row's post_d_step: weight clipping for WGAN)."""
    if obj.post_d_step is not None:
        obj.post_d_step(cfg, d_params)


@torch.no_grad()
def d_row(step: DStep, norm: Tensor, obj: Objective, seeded: bool = False) -> dict[str, Tensor]:
    """The history entries of one D step (per seed with seeded): losses, penalty, gradient norm, and D's mean
    displayed output on the real and the fake batch."""
    dim = -1 if seeded else None
    row = {"d_loss": step.loss.detach(), "d_real_term": step.real_term.detach(),
           "d_fake_term": step.fake_term.detach()}
    if step.penalty is not None:
        row["d_penalty"] = step.penalty.detach()
    row["d_grad_norm"] = norm
    real, fake = obj.display(step.raw_real.detach()), obj.display(step.raw_fake.detach())
    row["d_real_mean"] = real.mean() if dim is None else real.mean(dim=dim)
    row["d_fake_mean"] = fake.mean() if dim is None else fake.mean(dim=dim)
    return row


@torch.no_grad()
def finite(params: Sequence[Tensor], seeded: bool = False) -> Tensor:
    """Whether every weight is finite (the divergence guard's check): a bool tensor, scalar or (N,) per seed."""
    if not seeded:
        return torch.isfinite(torch.stack([p.detach().abs().max() for p in params])).all()
    return torch.isfinite(torch.stack([p.detach().flatten(1).abs().amax(1) for p in params])).all(0)
