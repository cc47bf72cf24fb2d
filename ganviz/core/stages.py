"""Slow motion: one training step of a Trainer played as its stages (issue 18.2).

`play_step(trainer)` yields one `Stage` per stage of the step — sample z (and the real batch), G forward, D on
real and fake, D loss, D gradient, D update (k times), then G loss, G gradient, G update (g_steps times) — each
with a one-line narration holding that step's real numbers and the arrays a view needs. Every stage is computed
by the same functions as a normal step (core.steps, the trainer's own random stream, in the same order), so
playing all the stages leaves the trainer bit for bit where `trainer.iteration()` would have: weights,
optimiser states, the random stream, counters and the history row.

    for stage in play_step(trainer):      # the caller applies pending commands first, as Trainer.train does
        show(stage)                       # the trainer is already in the state after this stage

A step must be played to its end (`finish` plays the rest without showing it): between stages the trainer is
half way through a step. A fixed generator (config `generator` shift / noise) has no G stages; an unrolled G
loss (config `unroll`) is one G loss stage without the fakes (they live inside the unrolled graph).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from . import steps
from .commands import StepBoth
from .engine import training_threads
from .regularizers import add_instance_noise

if TYPE_CHECKING:
    from .trainer import Trainer

SAMPLE = "sample z"
G_FORWARD = "G forward"
D_OUTPUTS = "D on real and fake"
D_LOSS = "D loss"
D_GRADIENT = "D gradient"
D_UPDATE = "D update"
G_LOSS = "G loss"
G_GRADIENT = "G gradient"
G_UPDATE = "G update"
D_STAGES = (SAMPLE, G_FORWARD, D_OUTPUTS, D_LOSS, D_GRADIENT, D_UPDATE)
G_STAGES = (G_LOSS, G_GRADIENT, G_UPDATE)


@dataclass(frozen=True)
class Stage:
    """One stage of a training step: what happened, in words and in arrays (host copies, float32 numpy).

    network / index / of: the update this stage belongs to ("D" or "G"; its number, 0-based, of how many this
    step makes). step: the timeline step being played (the trainer's step once the last stage is done).
    Arrays, where the stage has them: z (n, z_dim) the noise batch; real / fake (n, dim) the batches (before
    instance noise); d_real / d_fake (n,) D's displayed output on them; fake_grad (n, dim) dL_G/dx at each fake
    (the fakes are pushed along -fake_grad: the G update's arrows); fake_after (n, dim) G on the same z after
    the G update. losses: the history values known so far in this update (d_loss, d_real_term, d_fake_term,
    d_penalty, g_loss); grad_norm: the updated network's gradient norm; moved: the norm of the weight change
    of the update. d_after: a frozen copy of D after this stage (on the sample stage: D before the step; on
    each D update: D after it), callable on points (n, dim) -> raw output (n, 1), e.g. for core.fields.field_2d.
    """

    name: str
    network: str
    index: int
    of: int
    step: int
    narration: str
    last: bool = False
    z: np.ndarray | None = None
    real: np.ndarray | None = None
    fake: np.ndarray | None = None
    d_real: np.ndarray | None = None
    d_fake: np.ndarray | None = None
    fake_grad: np.ndarray | None = None
    fake_after: np.ndarray | None = None
    losses: dict[str, float] = field(default_factory=dict)
    grad_norm: float | None = None
    moved: float | None = None
    d_after: Any = None


def plan(trainer: Trainer) -> list[tuple[str, str, int]]:
    """The stages the next step will play, as (name, network, index): what an overview can show ahead."""
    cfg = trainer.config
    out = [(name, "D", i) for i in range(cfg.d_steps) for name in D_STAGES]
    if trainer.learned_generator:
        out += [(name, "G", j) for j in range(cfg.g_steps) for name in G_STAGES]
    return out


def play_step(trainer: Trainer) -> Iterator[Stage]:
    """Play one training step of trainer as its stages (see the module docstring); the trainer has advanced one
    step, exactly as `trainer.train(1)` would, once the last stage (`Stage.last`) has been yielded. torch's
    intra-op threads are set as train() sets them until the step is played out (finish it, or close())."""
    cfg = trainer.config
    k = cfg.d_steps
    g_steps = cfg.g_steps if trainer.learned_generator else 0
    with training_threads(trainer.threads):  # torch's threads as Trainer.train sets them (same sums, same bits)
        for i in range(k):
            yield from _d_stages(trainer, i, k, last=g_steps == 0 and i == k - 1)
        for j in range(g_steps):
            yield from _g_stages(trainer, j, g_steps, last=j == g_steps - 1)


def finish(stages: Iterator[Stage]) -> int:
    """Play the rest of a step without showing it (leaving slow motion mid-step); returns the stages played."""
    return sum(1 for _ in stages)


def slow_step(trainer: Trainer) -> Iterator[tuple[Stage, Any]]:
    """The next step played as stages for a window (slow motion, issue 18.2), as the live loop would play it:
    the pending commands first (manual steps run, as core.loop does at a step boundary), the step logged as a
    StepBoth in the command log (a session replays it as the normal step it is), then each stage with its data
    view D field (`stage_field`, computed while the trainer is in that stage's state) and without its D copy
    (numpy only: light to send over a pipe). Played to the end even if the caller stops early."""
    for cmd in trainer.apply_pending():
        trainer.run_manual(cmd)
    trainer.command_log.append((trainer.step, StepBoth()))
    stages = play_step(trainer)
    try:
        for stage in stages:
            yield replace(stage, d_after=None), stage_field(stage, trainer)
    finally:
        finish(stages)


def stage_field(stage: Stage, trainer: Trainer) -> Any:
    """The data view's D field (Field2D, or Field1D in 1D) for the D copy a stage carries: on the sample stage D
    before the step, on a D update D after it, computed exactly as a snapshot computes its field (the trainer's
    fixed view batches and its current G; G matters only to minibatch features and the 1D p_g). None for stages
    without a D copy and for image runs."""
    if stage.d_after is None or trainer.is_image:
        return None
    view = trainer._frozen_view()
    view.d = stage.d_after
    out = view.compute_views()
    return out.get("field2d") or out.get("field1d")


# ---------------------------------------------------------------------------------------------- helpers
def _np(t: Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy()


def _f(t: Tensor) -> float:
    return float(t.detach().float().cpu())


def _frozen(net: Any) -> Any:
    return net.frozen() if hasattr(net, "frozen") else None


def _point(x: np.ndarray) -> str:
    mean = x.reshape(len(x), -1).mean(0)
    return f"{mean[0]:.3g}" if mean.size == 1 else "(" + ", ".join(f"{v:.3g}" for v in mean[:2]) + ")"


def _moved(before: list[Tensor], params: list[Tensor]) -> float:
    with torch.no_grad():
        return float(torch.linalg.vector_norm(torch.stack(
            [torch.linalg.vector_norm(p.detach() - b) for p, b in zip(params, before, strict=True)])))


def _optimizer_words(opt: torch.optim.Optimizer) -> str:
    return f"{type(opt).__name__} step (lr {opt.param_groups[0]['lr']:g})"


def _stager(network: str, index: int, of: int, step_no: int) -> Callable[..., Stage]:
    """A Stage maker for update index of `of` of network: its narration capitalised, prefixed with
    "<network> step i/of: " when the step makes more than one such update."""
    pre = f"{network} step {index + 1}/{of}: " if of > 1 else ""

    def stage(name: str, narration: str, **kw: Any) -> Stage:
        return Stage(name, network, index, of, step_no, pre + narration[:1].upper() + narration[1:], **kw)

    return stage


# ---------------------------------------------------------------------------------------------- D update
def _d_stages(t: Trainer, i: int, k: int, last: bool) -> Iterator[Stage]:
    """Trainer._d_update, stage by stage (same draws, same order, same functions)."""
    cfg, obj = t.config, t.objective
    n = cfg.batch_size * cfg.pack
    stage = _stager("D", i, k, t.step + 1)

    # sample: the real batch, then the noise (a fixed generator: the data batch it transforms)
    real = t.data.sample(n, t.gen, t.device)
    learned = t.learned_generator
    z = t.prior.sample(n, t.gen, t.device) if learned else t.data.sample(n, t.gen, t.device)
    if learned:
        what = f"{n} noise vectors z ~ {'N(0, I)' if t.prior.kind == 'gaussian' else 'U[-1, 1]'} in {cfg.z_dim}D"
    else:
        what = f"{n} data samples for the fixed {cfg.generator} generator"
    yield stage(SAMPLE, f"draw {n} real samples and {what}", z=_np(z), real=_np(real), d_after=_frozen(t.D))

    with torch.no_grad():
        fake = t.G(z) if learned else t._fixed_transform(z, t.gen)
    fake_np = _np(fake)
    words = "G maps each z to a fake sample" if learned else f"the {cfg.generator} generator moves each sample"
    where = f"the fakes' mean is {_point(fake_np)}" if t.dim <= 2 else f"{n} fake images"
    yield stage(G_FORWARD, f"{words}: {where}", z=_np(z), real=_np(real), fake=fake_np)

    sigma = t.noise_sigma
    real_in = add_instance_noise(real, sigma, t.gen)
    fake_in = add_instance_noise(fake, sigma, t.gen)
    raw = (t.D(real_in), t.D(fake_in))  # as steps.d_step_loss evaluates them: real, then fake
    d_real, d_fake = _np(obj.display(raw[0].detach())).ravel(), _np(obj.display(raw[1].detach())).ravel()
    noise = f" (inputs with instance noise σ = {sigma:.3g})" if sigma > 0 else ""
    yield stage(D_OUTPUTS, f"D scores both batches{noise}: mean {d_real.mean():.3f} on real, "
                f"{d_fake.mean():.3f} on fake", real=_np(real), fake=fake_np, d_real=d_real, d_fake=d_fake)

    d_step = steps.d_step_loss(obj, cfg, t.D, real_in, fake_in, lambda: t._eps(n, t.gen), raw=raw)
    losses = {"d_loss": _f(d_step.loss), "d_real_term": _f(d_step.real_term), "d_fake_term": _f(d_step.fake_term)}
    parts = f"real term {losses['d_real_term']:.4g} + fake term {losses['d_fake_term']:.4g}"
    if d_step.penalty is not None:
        losses["d_penalty"] = _f(d_step.penalty)
        parts += f" + penalty {losses['d_penalty']:.4g}"
    yield stage(D_LOSS, f"D's loss L_D = {losses['d_loss']:.4g} ({parts})", real=_np(real), fake=fake_np,
                d_real=d_real, d_fake=d_fake, losses=dict(losses))

    norm = steps.backward(d_step.loss, t.opt_d, t.d_params)
    gnorm = _f(norm)
    yield stage(D_GRADIENT, f"back-propagate L_D into D's weights: gradient norm {gnorm:.4g}",
                losses=dict(losses), grad_norm=gnorm)

    before = [p.detach().clone() for p in t.d_params]
    t.opt_d.step()
    steps.after_d_step(obj, cfg, t.d_params)
    t.d_updates += 1
    t.record(steps.d_row(d_step, norm, obj))
    moved = _moved(before, t.d_params)
    hook = obj.post_d_step
    clip = f", then {hook.name} at {getattr(cfg, hook.config_key):g}" if hook is not None else ""
    if last:
        t._end_step()
    yield stage(D_UPDATE, f"{_optimizer_words(t.opt_d)} on D{clip}: its weights move by {moved:.3g} and its field "
                "changes", last=last, losses=dict(losses), grad_norm=gnorm, moved=moved, d_after=_frozen(t.D))


# ---------------------------------------------------------------------------------------------- G update
def _g_stages(t: Trainer, j: int, g_steps: int, last: bool) -> Iterator[Stage]:
    """Trainer._g_update, stage by stage."""
    cfg, obj = t.config, t.objective
    n = cfg.batch_size * cfg.pack
    stage = _stager("G", j, g_steps, t.step + 1)

    z = fake = None
    if cfg.unroll > 0:
        loss = t.unrolled_g_loss(t.gen)
        g_loss = _f(loss)
        yield stage(G_LOSS, f"G's loss against D unrolled {cfg.unroll} steps ahead: L_G = {g_loss:.4g} "
                    f"({obj.label})", losses={"g_loss": g_loss})
    else:  # Trainer._g_loss
        z = t.prior.sample(n, t.gen, t.device)
        fake = t.G(z)
        raw = t.D(add_instance_noise(fake, t.noise_sigma, t.gen))
        loss = steps.g_loss(obj, raw)
        g_loss = _f(loss)
        d_fake = _np(obj.display(raw.detach())).ravel()
        yield stage(G_LOSS, f"G makes {n} new fakes; D scores them {d_fake.mean():.3f} on average: "
                    f"L_G = {g_loss:.4g} ({obj.label})", z=_np(z), fake=_np(fake), d_fake=d_fake,
                    losses={"g_loss": g_loss})

    fake_grad = None
    if fake is not None:  # the arrows: dL_G/dx at each fake (no .grad is touched, the graph is kept)
        (grad,) = torch.autograd.grad(loss, fake, retain_graph=True)
        fake_grad = _np(grad)
    norm = steps.backward(loss, t.opt_g, t.g_params, only_params=True)
    gnorm = _f(norm)
    arrows = "; each fake is pushed along −∇L_G (the arrows)" if fake_grad is not None else ""
    yield stage(G_GRADIENT, f"back-propagate L_G through D into G's weights: gradient norm {gnorm:.4g}{arrows}",
                z=None if z is None else _np(z), fake=None if fake is None else _np(fake), fake_grad=fake_grad,
                losses={"g_loss": g_loss}, grad_norm=gnorm)

    before = [p.detach().clone() for p in t.g_params]
    t.opt_g.step()
    t.g_updates += 1
    t.record({"g_grad_norm": norm, "g_loss": loss.detach()})
    moved = _moved(before, t.g_params)
    fake_after = shift = None
    if z is not None:
        with torch.no_grad():  # G on the same z; batch-norm statistics (DCGAN) are put back as they were
            saved = [b.clone() for b in t.G.buffers()]
            after = t.G(z)
            for b, v in zip(t.G.buffers(), saved, strict=True):
                b.copy_(v)
        fake_after = _np(after)
        shift = float(np.linalg.norm(fake_after - _np(fake), axis=1).mean())
    if last:
        t._end_step()
    moves = f"; the fakes move by {shift:.3g} on average" if shift is not None else ""
    yield stage(G_UPDATE, f"{_optimizer_words(t.opt_g)} on G: its weights move by {moved:.3g}{moves}", last=last,
                z=None if z is None else _np(z), fake=None if fake is None else _np(fake), fake_after=fake_after,
                losses={"g_loss": g_loss}, grad_norm=gnorm, moved=moved)
