"""The optimisers without torch.compile guards (issue 20): torch.optim's arithmetic, and no torch._dynamo import."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from ganviz.core import eager_optim

CASES = [
    ("Adam", {"lr": 1e-2, "betas": (0.5, 0.9)}),
    ("SGD", {"lr": 1e-2, "momentum": 0.9}),
    ("RMSprop", {"lr": 1e-3}),
]


@pytest.mark.parametrize(("name", "kwargs"), CASES)
def test_same_steps_and_state_as_torch_optim(name: str, kwargs: dict) -> None:
    gen = torch.Generator().manual_seed(3)
    start = torch.randn(6, 4, generator=gen)
    grads = [torch.randn(6, 4, generator=gen) for _ in range(6)]
    ref_p = start.clone().requires_grad_(True)
    our_p = start.clone().requires_grad_(True)
    ref = getattr(torch.optim, name)([ref_p], **kwargs)
    ours = getattr(eager_optim, name)([our_p], **kwargs)
    assert isinstance(ours, getattr(torch.optim, name))
    for g in grads[:3]:
        for p, opt in ((ref_p, ref), (our_p, ours)):
            p.grad = g.clone()
            opt.step()
            opt.zero_grad()
            assert p.grad is None
    # a state_dict round trip (checkpoints, rollback) keeps the optimiser's state
    ours.load_state_dict(ours.state_dict())
    for g in grads[3:]:
        for p, opt in ((ref_p, ref), (our_p, ours)):
            p.grad = g.clone()
            opt.step()
    assert not torch.equal(our_p, start)
    assert torch.equal(our_p, ref_p)
    assert not our_p.grad_fn  # the step ran under no_grad, as torch.optim's does


def test_a_closure_gets_gradients_and_the_step_hooks_run() -> None:
    p = torch.tensor([2.0], requires_grad=True)
    opt = eager_optim.SGD([p], lr=0.25)
    seen: list[int] = []
    opt.register_step_post_hook(lambda o, args, kwargs: seen.append(1))

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = (p**2).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 4.0
    assert p.item() == pytest.approx(2.0 - 0.25 * 4.0)
    assert seen == [1]


def test_training_imports_no_dynamo() -> None:
    code = (
        "import sys\n"
        "from ganviz.core.config import TrainConfig\n"
        "from ganviz.core.trainer import Trainer\n"
        "for opt in ('adam', 'rmsprop', 'sgd'):\n"
        "    t = Trainer(TrainConfig(d_optimizer=opt, g_optimizer=opt, batch_size=32))\n"
        "    for _ in range(2):\n"
        "        t.iteration()\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr
