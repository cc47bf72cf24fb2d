"""Penalties and input tricks that act on D. Pure functions of tensors and a module."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def gradient_penalty(d: nn.Module, real: Tensor, fake: Tensor, gen: torch.Generator) -> Tensor:
    """WGAN-GP: E(||grad f(x_hat)|| - 1)^2, x_hat = eps x + (1 - eps) G(z), eps ~ U[0, 1] per sample."""
    eps = torch.rand(real.shape[0], 1, generator=gen, device=real.device)
    x_hat = (eps * real + (1.0 - eps) * fake).requires_grad_(True)
    out = d(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    return ((grad.norm(2, dim=1) - 1.0) ** 2).mean()


def r1_penalty(d: nn.Module, real: Tensor) -> Tensor:
    """R1 (Mescheder et al. 2018): E ||grad D(x_real)||^2 (multiply by gamma / 2 outside)."""
    x = real.detach().requires_grad_(True)
    out = d(x)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad.pow(2).sum(dim=1).mean()


def add_instance_noise(x: Tensor, sigma: float, gen: torch.Generator) -> Tensor:
    """Gaussian instance noise on D's inputs (Sonderby et al. 2016); identity when sigma == 0."""
    if sigma <= 0.0:
        return x
    return x + sigma * torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype)


@torch.no_grad()
def clip_weights(d: nn.Module, c: float) -> None:
    """WGAN: clamp every parameter of D to [-c, c]."""
    for p in d.parameters():
        p.clamp_(-c, c)
