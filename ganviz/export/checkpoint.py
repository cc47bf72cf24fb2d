"""Checkpoints: G, D, both optimiser states, step and update counters, the config and the training RNG,
so a run continues exactly as it would have (on the same device type).

    save_checkpoint(trainer, "run.pt")          # at a step boundary
    load_checkpoint(fresh_trainer, "run.pt")    # fresh_trainer.train(50) == the original's next 50 steps

The file is a torch.save of plain types and tensors only, and is read with torch.load(weights_only=True):
loading a checkpoint never unpickles arbitrary objects. It is written to a temporary file next to the target
and renamed, so a full disk or a crash leaves no partial checkpoint. Loading validates the whole file on a
scratch trainer first: a bad file raises CheckpointError and leaves the running trainer untouched.

This module uses a few of Trainer's private members (`_build`, `_save_good_state`, `_log`): the engine has
no public state_dict()/load_state_dict() yet.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Any

import torch

from ..core.config import FIELDS, ConfigError, TrainConfig
from ..core.trainer import Trainer
from .errors import ExportError, check_target, os_error

FORMAT = "ganviz-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(ExportError):
    """A checkpoint that cannot be written or used; the message names the file and the problem."""


def checkpoint_state(trainer: Trainer) -> dict[str, Any]:
    """Everything needed to continue the run, as plain types and CPU tensors."""
    from .. import __version__

    def cpu(sd: Any) -> Any:
        if isinstance(sd, torch.Tensor):
            return sd.detach().to("cpu").clone()
        if isinstance(sd, dict):
            return {k: cpu(v) for k, v in sd.items()}
        if isinstance(sd, (list, tuple)):
            return type(sd)(cpu(v) for v in sd)
        return sd

    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "ganviz_version": __version__,
        "config": trainer.config.to_dict(),
        "step": int(trainer.step), "d_updates": int(trainer.d_updates), "g_updates": int(trainer.g_updates),
        "noise_sigma": float(trainer.noise_sigma),
        "G": cpu(trainer.G.state_dict()), "D": cpu(trainer.D.state_dict()),
        "opt_g": cpu(trainer.opt_g.state_dict()), "opt_d": cpu(trainer.opt_d.state_dict()),
        "opt_g_kind": type(trainer.opt_g).__name__, "opt_d_kind": type(trainer.opt_d).__name__,
        "rng": trainer.gen.get_state().clone(), "rng_device": trainer.gen.device.type,
    }


def save_checkpoint(trainer: Trainer, path: str | os.PathLike[str], log_event: bool = True) -> Path:
    """Write a checkpoint atomically. Call at a step boundary (not while another thread trains)."""
    path = Path(path)
    check_target(path, "file")
    state = checkpoint_state(trainer)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.partial"
    try:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise os_error(e, path) from None
    if log_event:
        trainer._log("checkpoint", f"checkpoint saved: {path.name} (step {trainer.step})", path=str(path))
    return path


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load and check a checkpoint file's structure (weights_only: tensors and plain types only)."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read the file ({e.strerror or e})") from None
    except Exception as e:  # torch raises UnpicklingError / RuntimeError for foreign or damaged files
        raise CheckpointError(f"{path}: not a ganviz checkpoint or damaged ({type(e).__name__}: "
                              f"{str(e).splitlines()[0][:200] if str(e) else ''})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a ganviz checkpoint")
    if state.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format_version {state.get('format_version')!r} is not "
                              f"supported (this ganviz reads {FORMAT_VERSION})")
    need = {"config": dict, "step": int, "d_updates": int, "g_updates": int, "noise_sigma": float, "G": dict,
            "D": dict, "opt_g": dict, "opt_d": dict, "rng": torch.Tensor, "rng_device": str}
    for key, kind in need.items():
        if not isinstance(state.get(key), kind):
            raise CheckpointError(f"{path}: entry {key!r} is missing or has the wrong type")
    if state["step"] < 0 or state["d_updates"] < 0 or state["g_updates"] < 0:
        raise CheckpointError(f"{path}: negative step or update counters")
    return state


def config_of(state: dict[str, Any], where: str = "checkpoint") -> TrainConfig:
    cfg = state["config"]
    unknown = set(cfg) - set(FIELDS)
    if unknown:
        raise CheckpointError(f"{where}: unknown config key(s) {', '.join(sorted(unknown))} (a newer ganviz?)")
    try:
        return TrainConfig(**{k: v for k, v in cfg.items()}).replace()
    except (ConfigError, TypeError) as e:
        raise CheckpointError(f"{where}: bad config: {e}") from None


def _restore(trainer: Trainer, state: dict[str, Any], config: TrainConfig) -> bool:
    """Rebuild trainer from config and load every state; returns whether the RNG state was restored."""
    trainer.config = config
    trainer._build()  # networks, optimisers of the config's kinds, generators, empty history
    trainer.G.load_state_dict(state["G"])
    trainer.D.load_state_dict(state["D"])
    for which in ("g", "d"):
        opt = trainer.opt_g if which == "g" else trainer.opt_d
        kind = state.get(f"opt_{which}_kind")
        if kind is not None and kind != type(opt).__name__:
            raise ValueError(f"the {which.upper()} optimiser is {kind} in the checkpoint but the config says "
                             f"{type(opt).__name__}")
        opt.load_state_dict(state[f"opt_{which}"])
    rng_ok = state["rng_device"] == trainer.gen.device.type
    if rng_ok:
        trainer.gen.set_state(state["rng"])
    trainer.step = int(state["step"])
    trainer.d_updates = int(state["d_updates"])
    trainer.g_updates = int(state["g_updates"])
    trainer.noise_sigma = float(state["noise_sigma"])
    trainer._save_good_state()
    return rng_ok


def load_checkpoint(trainer: Trainer, path: str | os.PathLike[str], log_event: bool = True) -> Trainer:
    """Load a checkpoint into trainer (at a step boundary), replacing its config, weights, optimiser states,
    counters and RNG. The file is checked on a scratch trainer first; on any problem CheckpointError is
    raised and trainer is unchanged. Logs a "reset" event (the timeline restarts at the checkpoint's step)
    that also lets a session saved later start from this checkpoint."""
    path = Path(path)
    state = read_checkpoint(path)
    config = config_of(state, str(path))
    try:
        _restore(Trainer(config.replace(device="cpu")), state, config.replace(device="cpu"))
    except (RuntimeError, ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"{path}: does not fit its own config ({str(e).splitlines()[0][:300]})") from None
    old_step = trainer.step
    rng_ok = _restore(trainer, state, config.replace(device=trainer.config.device))
    if log_event:
        note = "" if rng_ok else " (saved on another device: the random stream differs)"
        trainer._log("reset", f"loaded checkpoint {path.name} at step {trainer.step}{note}", old_step=old_step,
                     checkpoint=str(path.resolve()), config=trainer.config.to_dict(),
                     log_start=len(trainer.command_log))
    return trainer


def trainer_from_checkpoint(path: str | os.PathLike[str]) -> Trainer:
    """A new Trainer continuing from a checkpoint."""
    state = read_checkpoint(path)
    trainer = Trainer(config_of(state, str(path)))
    load_checkpoint(trainer, path, log_event=False)
    return trainer
