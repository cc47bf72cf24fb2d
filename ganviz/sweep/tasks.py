"""The sweep's unit of work: a pure task (config, seeds, steps) -> one result row per seed.

A `Task` is plain data (picklable, JSON-able): a full config dict, the seeds to train, the number of
iterations, how often to record metrics, and labels (the grid point or the data/method pair it stands for).
`run_task(task)` trains it headless on the CPU with one torch thread and returns one row per seed:

    {"key", "labels", "config", "seed", "steps", "status": "ok" | "diverged" | "failed", "message",
     "step_reached", "engine", "final": {metric: value}, "intervals": [{"step", metric: value}, ...],
     "wall_s", "cpu_s", "versions": {"ganviz", "torch", "python"}, "host", "finished"}

A task with one seed runs `Trainer` (the single run users see in the window). A task with several seeds runs
the batched `EnsembleTrainer` (seed i initialised and fed exactly like the single run of seed i; results
agree statistically, not bitwise, because batched matmuls round differently), where the ensemble supports
the config; otherwise its seeds run one after another. Non-finite numbers are written as null.

Determinism: the same task gives the same metric fields in any process on the same machine (one torch
thread; every random draw comes from the seeded generators), which is what lets local and Ray rows agree.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import socket
import time
from dataclasses import dataclass, field
from typing import Any

METRIC_KEYS = ("modes_covered", "n_modes", "hq_fraction", "reverse_kl", "w1")
STATUSES = ("ok", "diverged", "failed")


def config_key(config: dict[str, Any], seed: int, steps: int) -> str:
    """Stable id of one run: a hash of its config (without the seed), its seed and its steps."""
    body = {k: v for k, v in config.items() if k != "seed"}
    text = json.dumps({"config": body, "seed": int(seed), "steps": int(steps)}, sort_keys=True, default=str)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Task:
    """Train `config` for `steps` iterations once per seed; record metrics every `every` steps."""

    config: dict[str, Any]
    seeds: tuple[int, ...]
    steps: int
    every: int = 0  # 0: only at the end
    labels: dict[str, Any] = field(default_factory=dict)

    def run_keys(self) -> list[str]:
        return [config_key(self.config, s, self.steps) for s in self.seeds]

    def interval(self) -> int:
        return self.every if 0 < self.every < self.steps else self.steps


def _clean(v: Any) -> Any:
    if isinstance(v, (float, int)) and not isinstance(v, bool):
        v = float(v)
        return v if math.isfinite(v) else None
    return v


def versions() -> dict[str, str]:
    import torch

    import ganviz

    return {"ganviz": ganviz.__version__, "torch": torch.__version__, "python": platform.python_version()}


def config_from_dict(config: dict[str, Any]) -> Any:
    """A TrainConfig from a row's or task's config dict, as read back from JSON: lists become tuples (the
    config is hashable again) and keys this version does not know are dropped. Raises ConfigError."""
    from ganviz.core.config import FIELDS, TrainConfig

    def tup(v: Any) -> Any:
        return tuple(tup(x) for x in v) if isinstance(v, list) else v

    return TrainConfig(**{k: tup(v) for k, v in config.items() if k in FIELDS})


def _row(task: Task, seed: int, engine: str) -> dict[str, Any]:
    return {"key": config_key(task.config, seed, task.steps), "labels": dict(task.labels),
            "config": {**task.config, "seed": seed}, "seed": seed, "steps": task.steps, "status": "ok",
            "message": "", "step_reached": 0, "engine": engine, "final": {}, "intervals": []}


def _pick(metrics: dict[str, Any], i: int | None = None) -> dict[str, Any]:
    out = {}
    for k in METRIC_KEYS:
        if k in metrics:
            v = metrics[k]
            out[k] = _clean(v if i is None or k == "n_modes" else v[i])
    return out


def _run_single(task: Task, seed: int) -> dict[str, Any]:
    from ganviz.core.snapshot import EventKind
    from ganviz.core.trainer import Trainer

    row = _row(task, seed, "single")
    trainer = Trainer(config_from_dict({**task.config, "seed": seed}))
    every = task.interval()
    while trainer.step < task.steps:
        trainer.train(min(every, task.steps - trainer.step))
        snap = trainer.snapshot(with_metrics=True, with_fields=False)
        div = [e for e in snap.events if e.kind == EventKind.DIVERGED]
        if div:
            row.update(status="diverged", message=f"NaN/Inf before step {snap.step}: {div[0].label}",
                       step_reached=snap.step)
            return row
        metrics = _pick(snap.metrics)
        row["intervals"].append({"step": snap.step, **metrics})
        row["final"] = metrics
        row["step_reached"] = snap.step
    return row


def _run_batched(task: Task) -> list[dict[str, Any]]:
    from ganviz.core.ensemble import EnsembleTrainer

    seeds = task.seeds
    ens = EnsembleTrainer(config_from_dict({**task.config, "seed": seeds[0]}), len(seeds))
    rows = [_row(task, s, f"ensemble x{len(seeds)}") for s in seeds]
    every = task.interval()
    while ens.step < task.steps:
        ens.train(min(every, task.steps - ens.step))
        snap = ens.snapshot(with_metrics=True, with_fields=False)
        for i, row in enumerate(rows):
            if row["status"] != "ok":
                continue
            if snap.diverged[i]:
                row.update(status="diverged", message=f"NaN/Inf before step {snap.step} (seed rolled back and "
                           "frozen)", step_reached=snap.step)
                continue
            metrics = _pick(snap.metrics, i)
            row["intervals"].append({"step": snap.step, **metrics})
            row["final"] = metrics
            row["step_reached"] = snap.step
    return rows


def batchable(config: dict[str, Any], n_seeds: int) -> str | None:
    """None if the ensemble engine can train this config with n_seeds seeds, else the reason it cannot."""
    from ganviz.core.config import ConfigError
    from ganviz.core.ensemble import check_ensemble_config

    try:
        check_ensemble_config(config_from_dict({**config, "seed": 0}), n_seeds)
    except ConfigError as e:
        return str(e)
    return None


def unbatched(tasks: list[Task], seeds_per_task: int, n_seeds: int) -> list[str]:
    """For `--seeds-per-task K`: one line per configuration (its labels) that runs one seed per task because
    the ensemble engine cannot batch it, with the reason; [] when K == 1 or everything batches."""
    k = min(seeds_per_task, n_seeds)
    if k <= 1:
        return []
    notes: dict[str, str] = {}
    for t in tasks:
        if len(t.seeds) > 1:
            continue
        name = " ".join(f"{a}={b}" for a, b in t.labels.items()) or "the base config"
        if name not in notes:
            why = batchable(t.config, k)
            if why is not None:
                notes[name] = f"{name}: one seed per task ({why.split('; use ')[0]})"
    return list(notes.values())


def run_task(task: Task) -> list[dict[str, Any]]:
    """Train every seed of the task; one row per seed. Never raises for a failing run: its rows say
    status "failed" with the message."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        if len(task.seeds) > 1 and batchable(task.config, len(task.seeds)) is None:
            rows = _run_batched(task)
        else:
            rows = []
            for seed in task.seeds:
                try:
                    rows.append(_run_single(task, seed))
                except Exception as e:  # noqa: BLE001 - a failed run is a row, not a crash of the sweep
                    rows.append({**_row(task, seed, "single"), "status": "failed",
                                 "message": f"{type(e).__name__}: {e}"})
    except Exception as e:  # noqa: BLE001
        rows = [{**_row(task, s, "ensemble"), "status": "failed", "message": f"{type(e).__name__}: {e}"}
                for s in task.seeds]
    finally:
        torch.set_num_threads(threads)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return [{**r, **stamp(task, wall / len(rows), cpu / len(rows))} for r in rows]


def stamp(task: Task, wall_s: float | None, cpu_s: float | None) -> dict[str, Any]:
    """Where and how long: per-run share of the task's wall and CPU seconds (a batched task's time is split
    evenly over its `task_seeds` seeds), versions, host and the UTC time the task finished."""
    return {"wall_s": None if wall_s is None else round(wall_s, 3), "cpu_s": None if cpu_s is None else round(cpu_s, 3),
            "task_seeds": len(task.seeds), "versions": versions(), "host": socket.gethostname(),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def failed_rows(task: Task, message: str) -> list[dict[str, Any]]:
    """Rows for a task that could not run at all (its worker died)."""
    return [{**_row(task, s, "single"), "status": "failed", "message": message, **stamp(task, None, None)}
            for s in task.seeds]


def metric_fields(row: dict[str, Any]) -> dict[str, Any]:
    """The part of a row that must not depend on where or when it ran (for determinism checks)."""
    drop = {"wall_s", "cpu_s", "host", "finished", "versions"}
    return {k: v for k, v in row.items() if k not in drop}
