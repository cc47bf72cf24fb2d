"""MLP generator and discriminator factories. Models know nothing about losses."""

from __future__ import annotations

import torch
from torch import Tensor, nn

_ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "gelu": nn.GELU,
}


def mlp(in_dim: int, out_dim: int, depth: int, width: int, activation: str = "relu") -> nn.Sequential:
    """in_dim -> [Linear(width) + activation] * depth -> Linear(out_dim)."""
    if activation not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; available: {', '.join(_ACTIVATIONS)}")
    layers: list[nn.Module] = []
    d = in_dim
    for _ in range(depth):
        layers += [nn.Linear(d, width), _ACTIVATIONS[activation]()]
        d = width
    layers.append(nn.Linear(d, out_dim))
    return nn.Sequential(*layers)


class Discriminator(nn.Module):
    """D: x (B, dim) -> raw output (B,): a logit or a critic score, depending on the objective.

    pack > 1 (PacGAN): D sees m samples concatenated, so it scores B/m packs; callers pass B divisible by m.
    Display paths (grids, per-sample histograms) use `per_sample`, which repeats each sample m times so a
    pack of identical points is scored.
    """

    def __init__(self, dim: int, depth: int, width: int, activation: str = "relu", pack: int = 1) -> None:
        super().__init__()
        self.dim = dim
        self.pack = pack
        self.net = mlp(dim * pack, 1, depth, width, activation)

    def forward(self, x: Tensor) -> Tensor:
        if self.pack > 1:
            x = x.reshape(-1, self.dim * self.pack)
        return self.net(x).squeeze(-1)

    def per_sample(self, x: Tensor) -> Tensor:
        """Raw output for each sample on its own (a pack of m copies when packing)."""
        if self.pack > 1:
            x = x.repeat_interleave(self.pack, dim=0)
        return self.forward(x)


class Generator(nn.Module):
    """G: z (B, z_dim) -> x (B, dim)."""

    def __init__(self, z_dim: int, dim: int, depth: int, width: int, activation: str = "relu") -> None:
        super().__init__()
        self.net = mlp(z_dim, dim, depth, width, activation)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


def build_models(z_dim: int, dim: int, g_depth: int, g_width: int, d_depth: int, d_width: int,
                 activation: str, pack: int, seed: int, device: torch.device) -> tuple[Generator, Discriminator]:
    """Deterministic initialisation from seed, independent of the global RNG state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        g = Generator(z_dim, dim, g_depth, g_width, activation)
        d = Discriminator(dim, d_depth, d_width, activation, pack)
    return g.to(device), d.to(device)


_FUNCTIONAL = {
    "relu": torch.relu,
    "leaky_relu": lambda x: torch.nn.functional.leaky_relu(x, 0.2),
    "tanh": torch.tanh,
    "elu": torch.nn.functional.elu,
    "gelu": torch.nn.functional.gelu,
}


class FrozenMLP:
    """An immutable copy of an MLP's weights with a pure forward: safe to evaluate from another thread
    while the live network keeps training (views evaluate D on grids this way, off the training thread)."""

    def __init__(self, seq: nn.Sequential, activation: str, pack: int = 1, in_dim: int | None = None) -> None:
        self.layers = tuple((m.weight.detach().clone(), m.bias.detach().clone())
                            for m in seq if isinstance(m, nn.Linear))
        self.activation = activation  # a name, so the copy pickles (it may cross a process boundary)
        self.pack = pack
        self.in_dim = in_dim

    def to(self, device: torch.device | str) -> FrozenMLP:
        out = object.__new__(FrozenMLP)
        out.__dict__.update(self.__dict__)
        out.layers = tuple((w.to(device), b.to(device)) for w, b in self.layers)
        return out

    def __call__(self, x: Tensor) -> Tensor:
        """Per-sample output (B,) for a discriminator (packs of identical copies), or (B, out) otherwise."""
        if self.pack > 1:
            x = x.repeat_interleave(self.pack, dim=0).reshape(-1, self.in_dim * self.pack)
        last = len(self.layers) - 1
        act = _FUNCTIONAL[self.activation]
        for i, (w, b) in enumerate(self.layers):
            x = torch.nn.functional.linear(x, w, b)
            if i < last:
                x = act(x)
        return x
