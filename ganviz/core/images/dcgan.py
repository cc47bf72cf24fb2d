"""DCGAN-style generator and discriminator for 28x28 grayscale images, with the flat (B, 784) interface of
the MLP models, so every objective, regulariser and remedy of the trainer works unchanged.

Layout (Radford et al. 2016, in the shape of the Keras DCGAN tutorial, c = config conv_channels):
    G: z -> Linear(2c*7*7) -> BN -> ReLU -> (2c, 7, 7) -> ConvT(c, 4, s2) -> BN -> ReLU -> (c, 14, 14)
         -> ConvT(1, 4, s2) -> tanh -> (1, 28, 28), flattened to 784 values in [-1, 1]
    D: (m, 28, 28) -> Conv(c, 4, s2) -> LeakyReLU(0.2) -> (c, 14, 14) -> Conv(2c, 4, s2) -> LeakyReLU(0.2)
         -> (2c, 7, 7) -> flatten -> Linear(1)
D has no batch norm and no dropout: batch norm would make the gradient penalty and R1 ill-defined (a
sample's output would depend on its batch), and dropout would draw from the global RNG, breaking the
trainer's determinism. With packing (PacGAN, m > 1) D's input has m channels: the m samples of a pack.
Minibatch features are appended to the flattened conv features, exactly as for the MLP discriminator.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from ..models import MBDISC_INIT_STD, Discriminator

IMAGE_SIDE = 28


class DCGANGenerator(nn.Module):
    """G: z (B, z_dim) -> images (B, 784) in [-1, 1] (row-major 28x28)."""

    def __init__(self, z_dim: int, channels: int = 32) -> None:
        super().__init__()
        c = int(channels)
        self.net = nn.Sequential(
            nn.Linear(z_dim, 2 * c * 7 * 7, bias=False),
            nn.BatchNorm1d(2 * c * 7 * 7),
            nn.ReLU(),
            nn.Unflatten(1, (2 * c, 7, 7)),
            nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(c),
            nn.ReLU(),
            nn.ConvTranspose2d(c, 1, 4, stride=2, padding=1),
            nn.Tanh(),
            nn.Flatten(),
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


class DCGANDiscriminator(Discriminator):
    """D: images (B, 784) -> raw output (B,). Packing, minibatch features and `per_sample` as in the MLP
    `Discriminator` (whose forward this reuses: `net[:-1]` is the feature extractor, `net[-1]` the output)."""

    def __init__(self, channels: int = 32, pack: int = 1, mbdisc: int = 0, mbdisc_dim: int = 5,
                 mbstd: int = 0) -> None:
        nn.Module.__init__(self)
        c = int(channels)
        self.dim = IMAGE_SIDE * IMAGE_SIDE
        self.pack = pack
        self.activation = "leaky_relu"
        self.mbdisc = int(mbdisc)
        self.mbdisc_dim = int(mbdisc_dim)
        self.mbstd = bool(mbstd)
        n_features = 2 * c * 7 * 7
        self.net = nn.Sequential(
            nn.Unflatten(1, (pack, IMAGE_SIDE, IMAGE_SIDE)),
            nn.Conv2d(pack, c, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(c, 2 * c, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(n_features + self.n_minibatch_features, 1),
        )
        self.mb_t: nn.Parameter | None = None
        if self.mbdisc:
            self.mb_t = nn.Parameter(MBDISC_INIT_STD * torch.randn(n_features, self.mbdisc * self.mbdisc_dim))

    def frozen(self) -> FrozenNet:  # type: ignore[override]
        return FrozenNet(self, discriminator=True)


class FrozenNet:
    """An immutable copy of a network (deep copy, eval mode, no gradients) with the call semantics of
    `ganviz.core.models.FrozenMLP`: for a discriminator, `d(x, context=None)` is the per-sample output
    (packs of identical copies; with minibatch features the rows of x form one batch, or each row joins
    the reference batch `context`). Picklable, so it can cross a process boundary. Batch norm layers use
    their running statistics (inference mode), as a deployed generator would."""

    def __init__(self, module: nn.Module, discriminator: bool = False) -> None:
        self.module = copy.deepcopy(module).eval().requires_grad_(False)
        self.discriminator = discriminator

    def to(self, device: torch.device | str) -> FrozenNet:
        out = object.__new__(FrozenNet)
        out.module = copy.deepcopy(self.module).to(device)
        out.discriminator = self.discriminator
        return out

    def __call__(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        with torch.no_grad():
            if self.discriminator:
                return self.module.per_sample(x, context)  # type: ignore[operator]
            return self.module(x)


def build_dcgan(z_dim: int, channels: int, pack: int, seed: int, device: torch.device, mbdisc: int = 0,
                mbdisc_dim: int = 5, mbstd: int = 0) -> tuple[DCGANGenerator, DCGANDiscriminator]:
    """Deterministic initialisation from seed, independent of the global RNG state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        g = DCGANGenerator(z_dim, channels)
        d = DCGANDiscriminator(channels, pack, mbdisc, mbdisc_dim, mbstd)
    return g.to(device), d.to(device)
