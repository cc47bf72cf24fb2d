"""The live loop shared by every engine (ganviz.core.engine.Engine: a Trainer, an ensemble, or runs in
lock-step): train, apply commands at step boundaries, and yield snapshots at most every `snapshot_interval`
seconds when the consumer is ready.

It uses the protocol's apply_pending() -> manual commands, run_manual(cmd), iteration(), `running`,
`steps_per_sec_limit`, `step`, has_news() (events not yet sent), has_unsent_rows(), and
snapshot(with_metrics=, with_fields=, lazy=, defer_metrics=); on CUDA out of memory, core.devices'
fallback uses to, rollback / rebuild and log.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from .devices import OOM_ERRORS, fall_back_to_cpu
from .engine import Engine


def run_loop(engine: Engine, snapshot_interval: float = 0.04, metrics_interval: float = 0.5,
             ready: Callable[[], bool] | None = None, max_steps: int | None = None,
             with_fields: bool = True, defer_metrics: bool = False) -> Iterator[Any]:
    """Train forever (or to max_steps), yielding a snapshot at most every snapshot_interval seconds.

    `ready()` says whether the consumer can take another snapshot; while it cannot, training continues and
    history accumulates (nothing is lost). Yields None as a heartbeat about every 20 ms while idle (and
    every 100 ms while busy), so a worker can pause or quit promptly.

    CUDA running out of memory (in a step, a change or a snapshot) does not end the loop: the engine falls
    back to the CPU (ganviz.core.devices.fall_back_to_cpu: roll back, move, a "device" event) and goes on.
    """
    last_snap = 0.0
    last_metrics = -1e9
    last_yield = time.perf_counter()
    next_step_t = time.perf_counter()
    force = True
    while max_steps is None or engine.step < max_steps:
        during = "applying a change"
        try:
            manual = engine.apply_pending()
            during = "a manual step"
            for cmd in manual:
                engine.run_manual(cmd)
                force = True
            now = time.perf_counter()
            stepped = bool(manual)
            during = "a training step"
            if engine.running and not manual:
                limit = engine.steps_per_sec_limit
                if limit is None:
                    engine.iteration()
                    stepped = True
                elif now >= next_step_t:
                    engine.iteration()
                    stepped = True
                    next_step_t = max(next_step_t + 1.0 / limit, now - 0.5)
                    if limit <= 60:
                        force = True  # slow motion: every step is shown
        except OOM_ERRORS as exc:
            # logs a "device" event, which the next snapshot carries to the window
            fall_back_to_cpu(engine, exc, during, rebuild=during == "applying a change")
            force = True
            continue
        if engine.has_news():
            force = True
        now = time.perf_counter()
        consumer_ready = ready is None or ready()
        if consumer_ready and (force or now - last_snap >= snapshot_interval):
            want_metrics = now - last_metrics >= metrics_interval
            try:
                snap = engine.snapshot(with_metrics=want_metrics, with_fields=with_fields, lazy=True,
                                       defer_metrics=defer_metrics)
            except OOM_ERRORS as exc:
                fall_back_to_cpu(engine, exc, "a snapshot")
                force = True
                continue
            if want_metrics:
                last_metrics = now
            last_snap = time.perf_counter()
            last_yield = last_snap
            force = False
            yield snap
        elif not stepped:
            time.sleep(0.005)
            if time.perf_counter() - last_yield > 0.02:
                last_yield = time.perf_counter()
                yield None
        elif time.perf_counter() - last_yield > 0.1:
            last_yield = time.perf_counter()
            yield None
    if engine.has_unsent_rows() or engine.has_news():  # max_steps reached: deliver the final state
        yield engine.snapshot(with_metrics=True, with_fields=with_fields, lazy=True, defer_metrics=defer_metrics)
