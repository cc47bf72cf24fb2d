"""Penalties and input tricks that act on D. Pure functions of tensors and a module (or any callable D).

Each works on one run's batch (inputs (n, dim)) or on N runs stacked along a leading seed axis (inputs
(N, n, dim), D evaluated per seed): the penalties then come out per seed, shape (N,). Input gradients of
`D(x).sum()` are per sample and per seed, because every output depends on its own input row (and its own
seed's weights) only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import Tensor, nn


def gradient_penalty(d: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor,
                     eps: Tensor | torch.Generator) -> Tensor:
    """WGAN-GP: E(||grad f(x_hat)|| - 1)^2, x_hat = eps x + (1 - eps) G(z), eps ~ U[0, 1] per sample (a tensor
    of shape (..., n, 1), or drawn here from the generator given)."""
    if isinstance(eps, torch.Generator):
        eps = torch.rand(*real.shape[:-1], 1, generator=eps, device=real.device)
    x_hat = (eps * real + (1.0 - eps) * fake).requires_grad_(True)
    out = d(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    return ((grad.norm(2, dim=-1) - 1.0) ** 2).mean(dim=-1)


def r1_penalty(d: Callable[[Tensor], Tensor], real: Tensor) -> Tensor:
    """R1 (Mescheder et al. 2018): E ||grad D(x_real)||^2 (multiply by gamma / 2 outside)."""
    x = real.detach().requires_grad_(True)
    out = d(x)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad.pow(2).sum(dim=-1).mean(dim=-1)


def add_instance_noise(x: Tensor, sigma: float, gen: torch.Generator) -> Tensor:
    """Gaussian instance noise on D's inputs (Sonderby et al. 2016); identity when sigma == 0."""
    if sigma <= 0.0:
        return x
    return x + sigma * torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype)


@torch.no_grad()
def clip_weights(d: nn.Module | Iterable[Tensor], c: float) -> None:
    """WGAN: clamp every parameter of D (a module, or its weight tensors) to [-c, c]."""
    for p in (d.parameters() if isinstance(d, nn.Module) else d):
        p.clamp_(-c, c)
