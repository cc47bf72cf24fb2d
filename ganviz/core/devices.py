"""Moving a live run between devices, and carrying on when CUDA runs out of memory.

    engine.to("cpu")                         # G, D, optimiser states, every tensor attribute, the saved good
                                             # state, the RNG; the run continues where it was
    event = fall_back_to_cpu(engine, exc)    # after a torch.OutOfMemoryError: free the cache, roll back, move
                                             # to the CPU, log a "device" event (ganviz.core.loop does this)

Both go through the engine protocol (ganviz.core.engine.Engine: to, rollback, rebuild, log, running), so
they work for every engine; a comparison moves and rolls back each of its runs.

`move_state(engine, device)` is how a single engine implements `to`: it walks the engine's own attributes
generically, so it keeps working as engines grow new state: tensors are moved, modules moved in place (the
optimisers keep their parameters), other trainable leaf tensors (the ensemble's stacked weights) moved in place
too, optimiser states moved in place, dicts and lists updated in place (shared containers stay shared), tuples
rebuilt, a `torch.device` becomes the target, and an object with its own `to(device)` method (a data
distribution holding a tensor bank per device, say) is asked to move itself. A torch.Generator cannot change
device: one on another device is replaced by a new generator on the target, seeded from (config seed, step,
index), so the run stays reproducible from there but is no longer bit-identical to the run on the old device
(the event says so). A device this machine does not have raises DeviceError before anything moves.

Only CUDA is exercised by tests through monkeypatching: the development machine has no GPU (docs/RELIABILITY.md).
"""

from __future__ import annotations

import gc
import threading
from typing import Any

import torch

from .engine import Engine, check_device
from .snapshot import EventKind

OOM_ERRORS: tuple[type[BaseException], ...] = (torch.cuda.OutOfMemoryError,)  # torch.OutOfMemoryError in 2.5+
_SEED_MIX = 1_000_003


def is_oom(exc: BaseException) -> bool:
    """A CUDA out-of-memory error (older torch raised a plain RuntimeError saying so)."""
    return isinstance(exc, OOM_ERRORS) or (isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
                                           and "cuda" in str(exc).lower())


def engines(root: Any) -> list[Any]:
    """root and the runs of a composite engine (a comparison's), if root is an Engine; [] otherwise."""
    if not isinstance(root, Engine):
        return []
    return [root, *[e for run in getattr(root, "runs", ()) for e in engines(run)]]


def _seed_of(engine: Any) -> int:
    cfg = getattr(engine, "config", None)
    return int(getattr(cfg, "seed", 0) or 0)


def move_trainer_to(engine: Any, device: str | torch.device, reseed: bool | None = None) -> list[str]:
    """engine.to(device, reseed) (the protocol's move; kept for callers of the old name)."""
    return engine.to(device, reseed=reseed)


def move_state(engine: Any, device: str | torch.device, reseed: bool | None = None) -> list[str]:
    """Move every tensor, module, optimiser state and generator among engine's attributes to device, in place.

    reseed: replace the torch.Generators with new ones on device, seeded from (config seed, step, index):
    None (default) does so only for generators on another device type (they cannot move). Returns the names
    of the generators replaced (for the message). Call at a step boundary, with no other thread training.
    DeviceError (nothing moved) for a device this machine does not have.
    """
    target = check_device(device)
    memo: dict[int, Any] = {}
    keep: list[Any] = []  # the originals stay alive during the walk, so no id() in memo is reused
    reseeded: list[str] = []

    def move(value: Any, owner: Any, name: str) -> Any:
        key = id(value)
        if key in memo:
            return memo[key]
        keep.append(value)
        if isinstance(value, torch.nn.Parameter) or (isinstance(value, torch.Tensor) and value.is_leaf
                                                     and value.requires_grad):
            # in place, like Module.to: optimisers hold parameters (and the ensemble's stacked weights) by identity
            memo[key] = value
            value.data = value.data.to(target)
            if value.grad is not None:
                value.grad = value.grad.to(target)
            out: Any = value
        elif isinstance(value, (torch.Tensor, torch.nn.Module)):  # a module moves in place and returns itself
            out = value.to(target)
        elif isinstance(value, torch.optim.Optimizer):
            memo[key] = value
            for state in value.state.values():
                for k, v in list(state.items()):
                    if isinstance(v, torch.Tensor):
                        # a default (not capturable / fused) optimiser keeps its step counter on the CPU
                        state[k] = v.cpu() if k == "step" and v.dim() == 0 and not _device_step(value) else v.to(target)
            out = value
        elif isinstance(value, torch.Generator):
            if reseed or (reseed is None and value.device.type != target.type):
                step = int(getattr(owner, "step", 0) or 0)
                index = len(reseeded)
                seed = (_seed_of(owner) * _SEED_MIX + step * 7919 + index) % (2**63 - 1)
                out = torch.Generator(device=target).manual_seed(seed)
                reseeded.append(name)
            else:
                out = value
        elif isinstance(value, torch.device):
            out = target
        elif isinstance(value, dict):
            memo[key] = value
            for k, v in list(value.items()):
                value[k] = move(v, owner, f"{name}[{k!r}]")
            out = value
        elif isinstance(value, list):
            memo[key] = value
            for i, v in enumerate(value):
                value[i] = move(v, owner, f"{name}[{i}]")
            out = value
        elif type(value) is tuple:
            items = [move(v, owner, f"{name}[{i}]") for i, v in enumerate(value)]
            out = value if all(a is b for a, b in zip(items, value, strict=True)) else tuple(items)
        elif callable(getattr(value, "to", None)) and not isinstance(value, type):
            moved = value.to(target)  # e.g. a distribution with a tensor bank per device
            out = moved if isinstance(moved, type(value)) else value
        else:
            out = value
        memo[key] = out
        return out

    memo[id(engine)] = engine
    keep.append(engine)
    for attr, v in list(vars(engine).items()):
        new = move(v, engine, attr)
        if new is not v:
            setattr(engine, attr, new)
    return reseeded


def _device_step(opt: torch.optim.Optimizer) -> bool:
    """Whether the optimiser keeps `step` on the parameters' device (capturable or fused)."""
    return any(g.get("capturable") or g.get("fused") for g in opt.param_groups)


def describe_size(engine: Any) -> str:
    """"batch 8192, G 3x128, D 3x128" (or the DCGAN channels) from an engine's config, for messages."""
    cfg = getattr(engine, "config", None)
    if cfg is None:
        return ""
    parts = [f"batch {cfg.batch_size}"]
    if getattr(engine, "is_image", False) and getattr(cfg, "arch", "auto") != "mlp":
        parts.append(f"DCGAN {cfg.conv_channels} channels")
    else:
        parts += [f"G {cfg.g_depth}x{cfg.g_width}", f"D {cfg.d_depth}x{cfg.d_width}"]
    n = getattr(engine, "n_seeds", None) or getattr(engine, "n_runs", None)  # a comparison's: its shards' runs too
    if n:
        parts.append(f"{n} runs")
    return ", ".join(parts)


def fall_back_to_cpu(engine: Any, exc: BaseException, during: str = "a training step", rebuild: bool = False) -> Any:
    """Recover from an out-of-memory error raised by engine (at a step boundary, in the training thread).

    On CUDA: free the cache, move everything to the CPU (`engine.to`), roll the weights and optimiser states
    back to the last good snapshot (`engine.rollback`: the failed step may have been partly applied, as after a
    divergence; the step count goes on), log a "device" event, and keep training. Already on the CPU there is
    nowhere to go: roll back, pause, and log an "error" event that says what to make smaller. Returns the
    logged event.

    rebuild: the error came from applying a change that re-initialises the networks (a bigger width, say):
    the engine's config already holds it, so the networks are built again on the CPU (`engine.rebuild`)
    instead of rolled back.
    """
    step = int(engine.step)
    on_cuda = engine.device.type == "cuda"
    del exc  # drop the traceback's frames (and the CUDA tensors they hold) before freeing the cache
    if threading.current_thread() is threading.main_thread():
        gc.collect()  # not from a worker thread: a GUI may own the cycles, and its objects must die in its thread
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    size = describe_size(engine)
    reseeded = engine.to("cpu", reseed=True) if on_cuda else []
    rebuilt = rebuild and on_cuda
    if rebuilt:
        engine.rebuild()  # the change had set the config, then failed building: build it, now on the CPU
    else:
        engine.rollback()
    if on_cuda:
        kind = EventKind.DEVICE
        label = (f"CUDA ran out of memory at step {step} ({size}; during {during}); continuing on the CPU. "
                 + ("The change was applied on the CPU (the run restarts at step 0)" if rebuilt
                    else "Rolled back to the last good state")
                 + ("; the random stream restarts from (seed, step), so the run is no longer bit-identical to "
                    "a CUDA run" if reseeded else ""))
    else:
        kind = EventKind.ERROR
        label = (f"out of memory on the CPU at step {step} ({size}; during {during}): rolled back and paused. "
                 "Lower the batch size or the network width, then press Play")
        engine.running = False
    return engine.log(kind, label, device="cpu", reseeded=list(reseeded))
