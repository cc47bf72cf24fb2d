"""torch.optim's Adam, SGD and RMSprop without their torch.compile guards (issue 20).

torch.optim marks `add_param_group`, `zero_grad`, `state_dict` and `load_state_dict` with
`torch._disable_dynamo`, and every optimiser's `step` with `_use_grad_for_differentiable`, which calls
`torch._dynamo.graph_break()`. Both import `torch._dynamo` on their first call: about 0.9 s, nearly a second
torch import, paid by every training process before its first step (the constructor already calls
`add_param_group`). No `foreach` / `fused` / `differentiable` flag avoids it. ganviz never compiles an
optimiser, so the classes here call the same torch.optim methods unwrapped: the same arithmetic and state,
the same step hooks and profiler labels, and `isinstance(opt, torch.optim.Adam)` still holds. If a torch
release drops the `__wrapped__` attributes this relies on, the plain torch.optim class is used instead.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch

_GUARDED = ("add_param_group", "zero_grad", "state_dict", "load_state_dict")


def _eager(cls: type[torch.optim.Optimizer]) -> type[torch.optim.Optimizer]:
    """A subclass of `cls` whose dynamo-guarded methods are the unwrapped torch.optim ones."""
    methods: dict[str, Any] = {}
    for name in _GUARDED:
        raw = getattr(getattr(torch.optim.Optimizer, name), "__wrapped__", None)
        if raw is None:
            return cls
        methods[name] = raw
    guarded_step = cls.step
    raw_step: Callable[..., Any] = inspect.unwrap(guarded_step)  # past the profiler hook and the dynamo guard
    if raw_step is guarded_step:
        return cls

    def step(self: torch.optim.Optimizer, closure: Callable[[], Any] | None = None) -> Any:
        # what _use_grad_for_differentiable does, less its graph breaks
        prev = torch.is_grad_enabled()
        try:
            torch.set_grad_enabled(self.defaults["differentiable"])
            return raw_step(self, closure)
        finally:
            torch.set_grad_enabled(prev)

    step.__doc__ = raw_step.__doc__
    methods.update(step=step, __module__=__name__, __qualname__=cls.__name__, __doc__=cls.__doc__)
    return type(cls.__name__, (cls,), methods)


Adam = _eager(torch.optim.Adam)
SGD = _eager(torch.optim.SGD)
RMSprop = _eager(torch.optim.RMSprop)
