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
