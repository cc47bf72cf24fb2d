"""Checkpoints: G, D, both optimiser states, step and update counters, the config and the training RNG,
so a run continues exactly as it would have (on the same device type).

    save_checkpoint(trainer, "run.pt")          # at a step boundary
    load_checkpoint(fresh_trainer, "run.pt")    # fresh_trainer.train(50) == the original's next 50 steps

The file is a torch.save of plain types and tensors only, and is read with torch.load(weights_only=True):
loading a checkpoint never unpickles arbitrary objects. It is written to a temporary file next to the target
and renamed, so a full disk or a crash leaves no partial checkpoint. Loading validates the whole file on a
scratch trainer first: a bad file raises CheckpointError and leaves the running trainer untouched.

A checkpoint is the engine's `state_dict()` (ganviz.core.engine.Engine) with a format header; loading goes
through `load_state_dict()`.
"""

from __future__ import annotations

import math
import os
import pickle
from pathlib import Path
from typing import Any

import torch

from .config import FIELDS, ConfigError, TrainConfig
from .engine import unchanged_on_error
from .safeio import ExportError, FileRefused, check_target, open_regular, plain_reason, write_atomically
from .snapshot import EventKind
from .steps import finite
from .tomlio import coerce_field  # the same coercion and range checks as a session's [config]
from .trainer import Trainer

FORMAT = "ganviz-checkpoint"
FORMAT_VERSION = 1
MAX_COUNTER = 2**52  # step and update counters (exact in the float64 columns of the CSV history)
MAX_CHECKPOINT_BYTES = 4 * 2**30  # the largest config (8 x 1024 MLPs with Adam) saves about 0.2 GiB


class CheckpointError(ExportError):
    """A checkpoint that cannot be written or used; the message names the file and the problem."""


def checkpoint_state(trainer: Trainer) -> dict[str, Any]:
    """Everything needed to continue the run, as plain types and CPU tensors."""
    from .. import __version__

    return {"format": FORMAT, "format_version": FORMAT_VERSION, "ganviz_version": __version__,
            **trainer.state_dict()}


def save_checkpoint(trainer: Trainer, path: str | os.PathLike[str], log_event: bool = True) -> Path:
    """Write a checkpoint atomically. Call at a step boundary (not while another thread trains)."""
    path = Path(path)
    check_target(path, "file")
    state = checkpoint_state(trainer)
    write_atomically(path, lambda f: torch.save(state, f))
    if log_event:
        trainer.log(EventKind.CHECKPOINT, f"checkpoint saved: {path.name} (step {trainer.step})",
                     path=str(path))
    return path


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load and check a checkpoint file's structure (weights_only: tensors and plain types only): the entries
    and their types, counters in range, and every weight and optimiser tensor floating-point and finite."""
    path = Path(path)
    try:
        with open_regular(path, MAX_CHECKPOINT_BYTES) as f:
            state = torch.load(f, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except FileRefused as e:
        raise CheckpointError(f"{path}: {e}; not a checkpoint") from None
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read the file ({e.strerror or e})") from None
    except pickle.UnpicklingError as e:  # weights_only refused it (or a damaged pickle)
        if "weights only" in str(e).lower() or "weights_only" in str(e):
            raise CheckpointError(f"{path}: not a ganviz checkpoint: it holds Python objects other than tensors and "
                                  "plain values (such a file could run code when loaded), so it was not "
                                  "loaded") from None
        raise CheckpointError(f"{path}: not a ganviz checkpoint or damaged ({plain_reason(e)})") from None
    except Exception as e:  # torch raises RuntimeError for foreign or damaged files
        raise CheckpointError(f"{path}: not a ganviz checkpoint or damaged ({plain_reason(e)})") from None
    if not isinstance(state, dict) or not isinstance(state.get("format"), str) or state["format"] != FORMAT:
        raise CheckpointError(f"{path}: not a ganviz checkpoint")
    version = state.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format_version {_short(version)} is not supported (this "
                              f"ganviz reads {FORMAT_VERSION})")
    need = {"config": dict, "step": int, "d_updates": int, "g_updates": int, "noise_sigma": float, "G": dict,
            "D": dict, "opt_g": dict, "opt_d": dict, "rng": torch.Tensor, "rng_device": str}
    for key, kind in need.items():
        value = state.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise CheckpointError(f"{path}: entry {key!r} is missing or has the wrong type")
    for key in ("step", "d_updates", "g_updates"):
        if not 0 <= state[key] <= MAX_COUNTER:
            raise CheckpointError(f"{path}: {key} = {_short(state[key])} is out of range (0..{MAX_COUNTER})")
    if not 0.0 <= state["noise_sigma"] <= 10.0:  # NaN fails too
        raise CheckpointError(f"{path}: noise_sigma = {state['noise_sigma']!r} is out of range [0, 10]")
    for net in ("G", "D"):
        for name, t in state[net].items():  # integer buffers too (BatchNorm's num_batches_tracked)
            _check_tensor(t, f"{path}: {net} weight {_short(name)}", integers=True)
    for which in ("opt_g", "opt_d"):
        opt_state = state[which].get("state")
        if not isinstance(opt_state, dict):
            raise CheckpointError(f"{path}: {which} has no per-parameter state table")
        for pid, entry in opt_state.items():
            if type(pid) is not int or not isinstance(entry, dict):
                raise CheckpointError(f"{path}: {which} state entry {_short(pid)} is not a parameter's state")
            for key, value in entry.items():
                if key == "step":
                    _check_optimizer_step(value, f"{path}: {which} state {pid}.step")
                elif isinstance(value, torch.Tensor):
                    _check_tensor(value, f"{path}: {which} state {pid}.{_short(key)}")
                elif value is not None and not (isinstance(value, (int, float)) and not isinstance(value, bool)
                                                and math.isfinite(value)):
                    raise CheckpointError(f"{path}: {which} state {pid}.{_short(key)} is not a number or tensor")
    if state["rng"].dtype != torch.uint8 or state["rng"].dim() != 1:
        raise CheckpointError(f"{path}: the random generator state is not a byte vector")
    return state


def _check_optimizer_step(value: Any, where: str) -> None:
    """An optimiser's step counter: a whole number in [0, MAX_COUNTER], plain or a one-element tensor (Adam's
    bias correction divides by 1 - beta**(step + 1): a negative step can make it zero or overflow)."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1 or value.is_complex() or value.dtype == torch.bool:
            raise CheckpointError(f"{where} is not a single number")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value != int(value) or not 0 <= value <= MAX_COUNTER:
        raise CheckpointError(f"{where} is {_short(value)}: an optimiser's step count is a whole number from 0 to "
                              f"{MAX_COUNTER}")


def _check_tensor(t: Any, where: str, integers: bool = False) -> None:
    real = isinstance(t, torch.Tensor) and (t.is_floating_point() or (
        integers and not t.is_complex() and t.dtype != torch.bool))
    if not real:
        raise CheckpointError(f"{where} is not a {'real' if integers else 'floating-point'} tensor")
    if not t.is_floating_point():
        return
    if not bool(torch.isfinite(t).all()):
        raise CheckpointError(f"{where} holds NaN or Inf: the run had diverged when it was saved, or the file "
                              "is damaged")


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, torch.Tensor) else f"a tensor of shape {tuple(value.shape)}"
    return text if len(text) <= 60 else text[:57] + "..."


def config_of(state: dict[str, Any], where: str = "checkpoint") -> TrainConfig:
    cfg = state["config"]
    unknown = [k for k in cfg if not isinstance(k, str) or k not in FIELDS]
    if unknown:
        raise CheckpointError(f"{where}: unknown config key(s) {', '.join(sorted(map(_short, unknown)))} (a "
                              "newer ganviz?)")
    try:
        return TrainConfig(**{k: coerce_field(k, v) for k, v in cfg.items()}).replace()
    except (ConfigError, TypeError, ValueError) as e:
        raise CheckpointError(f"{where}: bad config: {e}") from None


def _restore(trainer: Trainer, state: dict[str, Any], config: TrainConfig) -> bool:
    """Rebuild trainer from config and load every state (`Trainer.load_state_dict`); returns whether the RNG
    state was restored. Only the optimisers' per-parameter state comes from the file: their hyper-parameters
    (learning rate, betas, amsgrad, fused, ...) are the config's, as after any rollback."""
    return trainer.load_state_dict({**state, "config": config})


def _trial_step(state: dict[str, Any], config: TrainConfig) -> None:
    """Load the state into a scratch CPU trainer and train one iteration on a batch of 2: every optimiser
    state entry gets used (missing or mis-shaped ones raise here, not later in the live run)."""
    scratch = Trainer(config.replace(device="cpu"))
    _restore(scratch, state, config.replace(device="cpu"))
    scratch.config = scratch.config.replace(batch_size=2)
    scratch.iteration()
    if not bool(finite([*scratch.G.parameters(), *scratch.D.parameters()])):
        raise ValueError("one training step from it gives NaN/Inf weights")


def load_checkpoint(trainer: Trainer, path: str | os.PathLike[str], log_event: bool = True) -> Trainer:
    """Load a checkpoint into trainer (at a step boundary), replacing its config, weights, optimiser states,
    counters and RNG. The file is checked on a scratch trainer first (including one trial step); on any
    problem CheckpointError is raised and trainer is unchanged (if loading into the trainer itself fails, on
    another device say, it is put back as it was). Logs a "reset" event (the timeline restarts at the
    checkpoint's step) that also lets a session saved later start from this checkpoint."""
    path = Path(path)
    state = read_checkpoint(path)
    config = config_of(state, str(path))
    try:
        _trial_step(state, config)
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError, AttributeError, ArithmeticError) as e:
        raise CheckpointError(f"{path}: does not fit its own config ({str(e).splitlines()[0][:300]})") from None
    old_step = trainer.step
    try:
        with unchanged_on_error(trainer):  # a rebuild assigns new objects, so the old ones are kept intact
            rng_ok = _restore(trainer, state, config.replace(device=trainer.config.device))
    except Exception as e:
        raise CheckpointError(f"{path}: could not be loaded into the run ({plain_reason(e)}); the run is "
                              "unchanged") from None
    if log_event:
        note = "" if rng_ok else " (saved on another device: the random stream differs)"
        trainer.log(EventKind.RESET, f"loaded checkpoint {path.name} at step {trainer.step}{note}",
                     old_step=old_step, checkpoint=str(path.resolve()), config=trainer.config.to_dict(),
                     log_start=len(trainer.command_log))
    return trainer


def trainer_from_checkpoint(path: str | os.PathLike[str]) -> Trainer:
    """A new Trainer continuing from a checkpoint."""
    state = read_checkpoint(path)
    trainer = Trainer(config_of(state, str(path)))
    load_checkpoint(trainer, path, log_event=False)
    return trainer
