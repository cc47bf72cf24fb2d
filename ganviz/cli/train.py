"""`ganviz train`: headless training, one JSON object of metrics per --every steps.

`headless_rows` is the loop itself (train, snapshot, a row of metrics; CUDA out of memory falls back to the
CPU and goes on); `cmd_train` builds the trainer from the command line and writes the rows.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Iterator
from typing import Any

from .codes import EXIT_BAD_ARGS, EXIT_DIVERGED, EXIT_OOM
from .settings import config_from_args, scene_from_args


class Diverged(RuntimeError):
    """The run's losses or weights became NaN/Inf before `step`."""

    def __init__(self, step: int) -> None:
        super().__init__(f"diverged (NaN/Inf) before step {step}")
        self.step = step


class OutOfMemory(RuntimeError):
    """Out of memory where no fallback exists (on the CPU)."""


def headless_rows(trainer: Any, steps: int, every: int) -> Iterator[dict[str, Any]]:
    """Train `trainer` up to iteration `steps`, yielding a row of metrics every `every` steps and at the last.

    A row: step, d_updates, g_updates, objective, the last finite d_loss / g_loss, and the snapshot's metrics
    (non-finite floats as they are). CUDA running out of memory rolls back, moves to the CPU, says so on
    stderr and goes on; raises OutOfMemory where it cannot (the CPU) and Diverged when the run diverges.
    """
    from ..core.devices import OOM_ERRORS, fall_back_to_cpu
    from ..core.snapshot import EventKind

    while trainer.step < steps:
        n = min(every - trainer.step % every, steps - trainer.step)
        try:
            trainer.train(n)
            snap = trainer.snapshot(with_metrics=True, with_fields=False)
        except OOM_ERRORS as e:  # CUDA: roll back, move to the CPU and go on; on the CPU: stop
            event = fall_back_to_cpu(trainer, e)
            print(f"\nganviz: {event.label if event else 'out of memory'}", file=sys.stderr)
            if event is None or event.kind != EventKind.DEVICE:
                raise OutOfMemory(str(e)) from e
            continue
        if any(e.kind == EventKind.DIVERGED for e in snap.events):
            raise Diverged(snap.step)
        h = snap.history.values
        row = {"step": snap.step, "d_updates": snap.d_updates, "g_updates": snap.g_updates,
               "objective": snap.objective,
               "d_loss": _last_finite(h["d_loss"]), "g_loss": _last_finite(h["g_loss"])}
        row.update({k: v for k, v in snap.metrics.items()})
        yield row


def _progress(step: int, total: int, t0: float, extra: str) -> None:
    frac = step / max(total, 1)
    width = 30
    bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
    rate = step / max(time.perf_counter() - t0, 1e-9)
    sys.stderr.write(f"\r[{bar}] {step}/{total} {rate:6.0f} it/s {extra}")
    sys.stderr.flush()


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _last_finite(a) -> float | None:
    import numpy as np

    a = a[np.isfinite(a)]
    return float(a[-1]) if a.size else None


def cmd_train(args: argparse.Namespace) -> int:
    import torch

    from ..core.config import ConfigError
    from ..core.trainer import Trainer

    torch.set_num_threads(max(1, args.threads))
    try:
        cfg = config_from_args(args)
    except ConfigError as e:
        print(f"ganviz train: error: {e}", file=sys.stderr)
        return EXIT_BAD_ARGS
    if args.steps < 0 or args.every < 1:
        print("ganviz train: error: --steps must be >= 0 and --every >= 1", file=sys.stderr)
        return EXIT_BAD_ARGS
    try:
        trainer = Trainer(cfg)
    except ValueError as e:  # e.g. a bad image file (ImageDataError names the file and the problem)
        print(f"ganviz train: error: {e}", file=sys.stderr)
        return EXIT_BAD_ARGS
    for note in getattr(trainer.data, "notes", ()):  # what the image loader assumed (range, resizing, ...)
        print(f"ganviz: {cfg.image_path}: {note}", file=sys.stderr)
    if trainer.is_image:  # coverage metrics from the first row on (trains the classifier on first use)
        from ..core.images.views import classifier_nowait

        entry = classifier_nowait(getattr(trainer.data, "classifier_name", None), wait=True)
        if entry is not None and cfg.data == "image-file":
            print(f"ganviz: class coverage: classifier accuracy {entry[0].heldout_accuracy:.1%} on held-out images "
                  "of the file", file=sys.stderr)
    scene = scene_from_args(args)
    if scene is not None:
        scene.schedule_on(trainer)
    for ev in trainer.events:
        print(f"ganviz: {ev.label}", file=sys.stderr)
    board = None
    if getattr(args, "tensorboard", None):
        from ..export.tensorboard import ScalarSink, TensorBoardMissing, summary_writer

        try:
            board = ScalarSink(summary_writer(args.tensorboard))
        except (TensorBoardMissing, OSError) as e:
            print(f"ganviz train: error: --tensorboard: {e}", file=sys.stderr)
            return EXIT_BAD_ARGS
    try:
        out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
    except OSError as e:
        print(f"ganviz train: error: cannot write {args.out!r}: {e.strerror}", file=sys.stderr)
        return EXIT_BAD_ARGS
    show = not args.quiet and sys.stderr.isatty()
    t0 = time.perf_counter()
    try:
        for row in headless_rows(trainer, args.steps, args.every):
            out.write(json.dumps({k: _clean(v) for k, v in row.items()}) + "\n")
            out.flush()
            if board is not None:
                board.write(row)
            if show:
                _progress(row["step"], args.steps, t0, f"d_loss {row['d_loss']:.3f}" if row["d_loss"] else "")
    except OutOfMemory:
        return EXIT_OOM
    except Diverged as e:
        print(f"\nganviz train: diverged (NaN/Inf) before step {e.step}; try lower learning rates "
              "or a penalty (--set r1_gamma=1, --objective wgan-gp)", file=sys.stderr)
        return EXIT_DIVERGED
    except KeyboardInterrupt:
        print("\nganviz train: interrupted", file=sys.stderr)
        return 130
    finally:
        if args.out:
            out.close()
        if board is not None:
            board.close()
    if show:
        sys.stderr.write("\n")
    return 0
