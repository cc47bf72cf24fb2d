"""The training child writes its snapshots from a writer thread (core.process._child_main): an image run's snapshot
(~1.4 MB) is bigger than the widened snapshot pipe (1 MB), so its write waits for the parent to read, and a
training loop that wrote it itself would stop training until then (issue 20: ~1 s a frame at the start of an image
scene). Counted in steps, not timed: while the parent reads nothing, the child must go on training."""

from __future__ import annotations

import fcntl
import time

import numpy as np

from ganviz.core import messages as M
from ganviz.core import wire
from ganviz.core.process import IN_FLIGHT, TrainerProcess
from ganviz.core.scenes import load_scene

F_GETPIPE_SZ = getattr(fcntl, "F_GETPIPE_SZ", 1032)
PAUSE = 3.0  # seconds the parent reads nothing; the child steps in ~15 ms (~50 ms on a loaded 2-core machine)
MIN_STEPS = 10  # steps the child must take meanwhile; a loop stuck in its write takes 1


def _next_snapshot(proc: TrainerProcess, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snap = proc.receive(0.1)
        if snap is not None:
            return snap
    raise AssertionError(f"no snapshot within {timeout:g} s")


def test_the_child_trains_on_while_an_oversized_snapshot_waits_in_the_pipe():
    # the DCGAN scene's networks (their weights make the snapshot's size), a small batch for quick steps
    config = load_scene("digits-dcgan").config.replace(batch_size=8)
    proc = TrainerProcess(config, interval=0.04)
    proc.start()
    try:
        pipe_size = fcntl.fcntl(proc._snaps.fileno(), F_GETPIPE_SZ)
        first = _next_snapshot(proc, 120.0)  # spawn, import torch, render the digits: slow on a loaded machine
        # one credit left: the child sends its next (lazy) snapshot at once and then trains without sending; this
        # process now reads nothing for PAUSE seconds, so that snapshot stays in the pipe, unread
        time.sleep(PAUSE)
        # the child's step now: its answer is queued behind the unread snapshot, which request() reads and keeps
        at_end = proc.request("command_log", timeout=30.0)["step"]
        waiting = _next_snapshot(proc, 5.0)  # the snapshot that waited in the pipe
        assert first.step < waiting.step
        size = len(wire.dumps(M.SnapshotReady(waiting)))
        assert size > pipe_size, (size, pipe_size)  # it could not fit: its write waited for this process
        steps = at_end - waiting.step
        assert steps >= MIN_STEPS, (
            f"the child took {steps} step(s) while its {size}-byte snapshot waited in a {pipe_size}-byte pipe "
            f"for {PAUSE:g} s: it stopped training while the parent did not read")
        # nothing is lost: the next snapshot's history holds every step since the one that waited
        for _ in range(IN_FLIGHT):
            proc.frame_done()
        after = _next_snapshot(proc, 30.0)
        assert after.step >= at_end
        np.testing.assert_array_equal(after.history.steps, np.arange(waiting.step + 1, after.step + 1))
    finally:
        proc.stop(5.0)
