"""`--grid KEY=v1,v2,...` options -> the cartesian product of configs -> tasks."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from .tasks import Task, batchable


def parse_grid(specs: Sequence[str]) -> list[tuple[str, list[Any]]]:
    """['d_lr=1e-4,1e-3', 'd_steps=1,5'] -> [('d_lr', [0.0001, 0.001]), ('d_steps', [1, 5])], each value
    parsed and range-checked as `--set` does (ConfigError / ValueError with the key's message)."""
    from ganviz.core.config import parse_value

    out: list[tuple[str, list[Any]]] = []
    for spec in specs:
        if "=" not in spec:
            raise ValueError(f"--grid expects KEY=v1,v2,..., got {spec!r}")
        key, text = spec.split("=", 1)
        key = key.strip().replace("-", "_")
        if key == "seed":
            raise ValueError("seeds are not a grid key: use --seeds and --seed-start")
        if any(key == k for k, _ in out):
            raise ValueError(f"--grid names {key!r} twice")
        values = [parse_value(key, v.strip()) for v in text.split(",") if v.strip()]
        if not values:
            raise ValueError(f"--grid {key}= has no values")
        out.append((key, list(dict.fromkeys(values))))
    return out


def grid_tasks(base: Any, grid: Sequence[tuple[str, list[Any]]], seeds: Sequence[int], steps: int,
               every: int = 0, seeds_per_task: int = 1) -> list[Task]:
    """One task per grid point and block of seeds (seed blocks outermost, so a sweep stopped early has the
    same seeds at every point). `base` is a TrainConfig; every point is validated before anything runs."""
    keys = [k for k, _ in grid]
    points = []
    for values in itertools.product(*(v for _, v in grid)):
        changes = dict(zip(keys, values, strict=True))
        points.append((changes, base.replace(**changes).to_dict()))
    k = max(1, seeds_per_task)
    tasks: list[Task] = []
    for start in range(0, len(seeds), k):
        block = tuple(seeds[start:start + k])
        for labels, cfg in points:
            if len(block) > 1 and batchable(cfg, len(block)) is None:
                tasks.append(Task(cfg, block, steps, every, labels))
            else:
                tasks += [Task(cfg, (s,), steps, every, labels) for s in block]
    return tasks
