"""Engine state as plain data: copies of tensor trees, and optimiser state loaded back with checks.

Used by the engines' `state_dict` / `load_state_dict` (ganviz.core.engine.Engine) and their divergence guards.
"""

from __future__ import annotations

from typing import Any

import torch


def clone_tree(tree: Any, device: str | torch.device | None = None) -> Any:
    """A copy of nested dicts / lists / tuples whose tensors are detached clones (on device, if given)."""
    if isinstance(tree, torch.Tensor):
        t = tree.detach()
        return t.to(device).clone() if device is not None else t.clone()
    if isinstance(tree, dict):
        return {k: clone_tree(v, device) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(clone_tree(v, device) for v in tree)
    return tree


def load_optimizer_state(opt: torch.optim.Optimizer, saved: dict[str, Any], kind: str | None, name: str) -> None:
    """Load the per-parameter state of `saved` (an optimiser's state_dict()) into opt, keeping opt's own
    hyper-parameters (learning rate, betas, fused, ... come from the config, as after any rollback).

    Raises ValueError, with opt unchanged, when the state belongs to another kind of optimiser (kind: its class
    name, None to skip the check), names a parameter opt does not have, or holds a tensor of another shape."""
    if kind is not None and kind != type(opt).__name__:
        raise ValueError(f"the {name} optimiser is {kind} in the saved state but the config says "
                         f"{type(opt).__name__}")
    params = [p for group in opt.param_groups for p in group["params"]]
    entries = saved["state"]
    for pid, entry in entries.items():
        if not 0 <= pid < len(params):
            raise ValueError(f"the {name} optimiser state names parameter {pid} of {len(params)}")
        for key, value in entry.items():
            if key != "step" and isinstance(value, torch.Tensor) and value.shape != params[pid].shape:
                raise ValueError(f"the {name} optimiser's {key} for parameter {pid} has shape "
                                 f"{tuple(value.shape)}, the parameter {tuple(params[pid].shape)}")
    sd = opt.state_dict()
    sd["state"] = clone_tree(entries)  # never share tensors with the saved state
    opt.load_state_dict(sd)


def state_items(params: list[tuple[Any, torch.Tensor]], optimizers: dict[str, torch.optim.Optimizer],
                seeds: int | None = None) -> list[tuple[tuple, torch.Tensor]]:
    """The tensors a rollback restores, keyed by where they live: the given (name, tensor) weights (and
    buffers), then each optimiser's per-parameter state (created at its first step, fresh after an optimiser
    change; keyed by its class, so another kind of optimiser never gets this one's state). seeds: keep only
    state with that leading seed axis (the ensemble's stacked tensors)."""
    out: list[tuple[tuple, torch.Tensor]] = [(("param", name), t) for name, t in params]
    for which, opt in optimizers.items():
        for i, p in enumerate(p for group in opt.param_groups for p in group["params"]):
            for name, v in opt.state.get(p, {}).items():
                if isinstance(v, torch.Tensor) and (seeds is None or (v.dim() > 0 and v.shape[0] == seeds)):
                    out.append(((which, type(opt).__name__, i, name), v))
    return out


class GoodState:
    """The last good copy of an engine's weights and optimiser states: what a rollback (a divergence, an
    out-of-memory step) restores. Shared by the single run and the ensemble, whose rollback may restore only
    some seeds (the slices of a leading seed axis)."""

    def __init__(self) -> None:
        self.saved: dict[tuple, torch.Tensor] = {}
        self.step = 0

    @torch.no_grad()
    def save(self, items: list[tuple[tuple, torch.Tensor]], step: int) -> None:
        """Copy items (from `state_items`) as the good state of `step`; in place when the layout is unchanged."""
        saved = self.saved
        if [k for k, _ in items] == list(saved) and all(saved[k].shape == t.shape for k, t in items):
            torch._foreach_copy_(list(saved.values()), [t.detach() for _, t in items])
        else:
            self.saved = {k: t.detach().clone() for k, t in items}
        self.step = step

    @torch.no_grad()
    def restore(self, items: list[tuple[tuple, torch.Tensor]], seeds: torch.Tensor | None = None) -> None:
        """Write the good state back into items, in place (seeds: only these indices of the leading axis).
        Optimiser state that did not exist then (or belongs to an optimiser chosen since) starts afresh at zero,
        as a new optimiser's does."""
        for key, t in items:
            saved = self.saved.get(key)
            fits = saved is not None and saved.shape == t.shape and saved.dtype == t.dtype
            if seeds is None:
                t.copy_(saved) if fits else t.zero_()
            elif fits:
                t.index_copy_(0, seeds, saved.index_select(0, seeds))
            else:
                t.index_fill_(0, seeds, 0)

    def to(self, device: str | torch.device) -> GoodState:
        """Moved with its engine (ganviz.core.devices.move_state)."""
        self.saved = {k: v.to(device) for k, v in self.saved.items()}
        return self
