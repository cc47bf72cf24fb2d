"""N MLPs of one architecture as ONE batched model (the ensemble of seeds' networks), and their optimisers.

Seed i's networks are built exactly like a single run's (`build_models` per seed); then the N networks'
parameters are stacked (`torch.func.stack_module_state`): every weight becomes one leaf tensor with a leading
seed axis. A forward pass is a chain of grouped matmuls, `torch.baddbmm(bias, x, W)` on x of shape
(N, batch, features): seed i's rows only ever meet seed i's weights. One optimiser steps the stacked tensors:
Adam, SGD (with momentum) and RMSprop are elementwise, so this equals N separate optimisers (their `step`
counter is shared, and all seeds step in lock-step anyway).

Why baddbmm and not torch.func.vmap(functional_call): both were measured on a 2-core CPU (docs/ENSEMBLE.md;
`python -m ganviz.core.ensemble_bench --forward bmm vmap`): for N = 16 the grouped-matmul chain was 1.1x to 1.3x
faster at width 128 and 1.4x to 1.8x at width 32 (2.2x for N = 4). Both end in the same bmm kernels; vmap
adds its batching-rule dispatch to every op, which shows where per-op overhead matters. vmap is kept as
`forward="vmap"` for that comparison. The weights are stored (N, in, out) so each layer is one baddbmm
with no transpose.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap

from .config import TrainConfig
from .models import _FUNCTIONAL

FORWARDS = ("bmm", "vmap")


class StackedMLP:
    """N MLPs of one architecture as stacked leaf tensors: weight (N, in, out), bias (N, 1, out).

    Built from N nn.Sequential MLPs with torch.func.stack_module_state, then laid out (N, in, out) so that a
    layer is one `torch.baddbmm(bias, x, weight)` on x (N, batch, in) (measured no slower, usually a few
    percent faster, than multiplying by the transposed (N, out, in) view). `seed_state(i)` gives seed i's
    weights back in nn.Linear's layout.
    """

    def __init__(self, nets: Sequence[nn.Sequential], activation: str, forward: str = "bmm") -> None:
        if forward not in FORWARDS:
            raise ValueError(f"forward must be one of {', '.join(FORWARDS)}, got {forward!r}")
        params, _ = stack_module_state(list(nets))  # {"0.weight": (N, out, in), "0.bias": (N, out), ...}
        linear = [i for i, m in enumerate(nets[0]) if isinstance(m, nn.Linear)]
        self.layers: list[tuple[Tensor, Tensor]] = []
        for i in linear:
            w = params[f"{i}.weight"].detach().transpose(1, 2).contiguous().requires_grad_(True)
            b = params[f"{i}.bias"].detach().unsqueeze(1).contiguous().requires_grad_(True)
            self.layers.append((w, b))
        self.activation = activation
        self.n = len(nets)
        self.forward = forward
        self._act = _FUNCTIONAL[activation]
        self._relu = activation == "relu"
        if forward == "vmap":
            self._linear_keys = linear
            base = copy.deepcopy(nets[0]).to("meta")  # structure only; weights come from the stack

            def one(p: dict[str, Tensor], x: Tensor) -> Tensor:
                return functional_call(base, p, (x,))

            self._vmapped = vmap(one)

    def parameters(self) -> list[Tensor]:
        return [t for wb in self.layers for t in wb]

    def __call__(self, x: Tensor) -> Tensor:
        """(N, batch, in) -> (N, batch, out)."""
        if self.forward == "vmap":
            p = {}
            for i, (w, b) in zip(self._linear_keys, self.layers, strict=True):
                p[f"{i}.weight"] = w.transpose(1, 2)
                p[f"{i}.bias"] = b.squeeze(1)
            return self._vmapped(p, x)
        last = len(self.layers) - 1
        for j, (w, b) in enumerate(self.layers):
            x = torch.baddbmm(b, x, w)
            if j < last:
                x = torch.relu_(x) if self._relu else self._act(x)
        return x

    def seed_state(self, i: int) -> list[tuple[Tensor, Tensor]]:
        """Seed i's (weight (out, in), bias (out,)) per layer, as nn.Linear stores them (copies)."""
        return [(w[i].detach().t().clone(), b[i, 0].detach().clone()) for w, b in self.layers]

    def frozen(self) -> FrozenStack:
        return FrozenStack(tuple((w.detach().clone(), b.detach().clone()) for w, b in self.layers), self.activation)


def _copy_to(tensors: Sequence[Tensor], device: torch.device) -> list[Tensor]:
    """Copies on device. From a GPU to the CPU, every copy is queued non-blocking (into pinned memory) and
    the stream is synchronised once, instead of once per tensor."""
    if device.type == "cpu" and any(t.is_cuda for t in tensors):
        out = [t.to(device, non_blocking=True) for t in tensors]
        torch.cuda.current_stream().synchronize()
        return out
    return [t.to(device) for t in tensors]


class FrozenStack:
    """An immutable, picklable copy of a StackedMLP's weights with a pure forward (for snapshots)."""

    def __init__(self, layers: tuple[tuple[Tensor, Tensor], ...], activation: str) -> None:
        self.layers = layers
        self.activation = activation

    def to(self, device: torch.device | str) -> FrozenStack:
        flat = _copy_to([t for wb in self.layers for t in wb], torch.device(device))
        return FrozenStack(tuple(zip(flat[::2], flat[1::2], strict=True)), self.activation)

    @torch.no_grad()
    def __call__(self, x: Tensor) -> Tensor:
        act = _FUNCTIONAL[self.activation]
        last = len(self.layers) - 1
        for j, (w, b) in enumerate(self.layers):
            x = torch.baddbmm(b, x, w)
            if j < last:
                x = act(x)
        return x


def _make_optimizer(name: str, params: list[Tensor], lr: float, cfg: TrainConfig) -> torch.optim.Optimizer:
    """The single run's optimisers (trainer._make_optimizer) on stacked tensors, with the multi-tensor
    kernels: fused Adam / SGD and foreach RMSprop (same formulas; the loop-per-tensor default costs about
    10 small ops per tensor per step)."""
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(cfg.beta1, cfg.beta2), fused=True)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=cfg.momentum, fused=True)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, foreach=True)
    raise ValueError(f"unknown optimiser {name!r}")
