"""Frozen message types on both pipes (core.messages): the training child's and a comparison shard's."""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import pickle
import threading
import types

import pytest
import torch

from ganviz.core import messages as M
from ganviz.core.commands import SetObjective, StepBoth
from ganviz.core.config import TrainConfig
from ganviz.core.process import ChildFailed, TrainerProcess

ALL = [M.Submit(SetObjective("hinge")), M.Schedule(5, SetObjective("wgan")), M.FrameDone(), M.Go(), M.Stop(),
       M.Request("command_log", 3, None), M.Beat(), M.SnapshotReady("snap"), M.Reply(3, True, {"step": 1}),
       M.Failed("boom (ValueError)", "Traceback ..."), M.Iterate(), M.Manual(StepBoth()),
       M.Apply(((0, SetObjective("ns")),)), M.Snap({"with_metrics": False}), M.SetShardRunning(False), M.Ready(),
       M.Snaps(((True, b"x"),)), M.MoveRuns("cpu", None), M.RollBack(), M.Rebuild(),
       M.LogEvent("config", "note", {"key": "k"}), M.GetStates(), M.LoadStates(({"step": 1},)), M.RevertStates(),
       M.Done([[], []]), M.Refused("ValueError", "the state has 3 runs"),
       M.StagePlayed(None, None, "image data has no stages")]


def test_every_message_class_is_covered():
    classes = {c for c in vars(M).values() if isinstance(c, type) and dataclasses.is_dataclass(c)
               and c.__module__ == M.__name__}
    assert classes == {type(m) for m in ALL}


@pytest.mark.parametrize("message", ALL, ids=lambda m: type(m).__name__)
def test_messages_are_frozen_and_pickle(message):
    back = pickle.loads(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
    assert type(back) is type(message)
    if not isinstance(message, M.Manual):  # manual steps are never equal to each other
        assert back == message
    for f in dataclasses.fields(message):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(message, f.name, None)


def test_a_request_names_a_known_kind():
    with pytest.raises(ValueError, match="unknown request 'format_disk'"):
        M.Request("format_disk", 1)


def test_the_parent_reads_each_kind_of_message_from_the_child():
    proc = TrainerProcess(TrainConfig())  # not started: only its snapshot pipe is used
    reader, writer = mp.Pipe(duplex=False)
    proc._snaps = reader
    writer.send(M.Beat())
    assert proc.receive(1.0) is None and proc.last_heard is not None
    writer.send(M.SnapshotReady("a snapshot"))
    assert proc.receive(1.0) == "a snapshot"
    writer.send(M.Reply(7, False, "no such file"))
    assert proc.receive(1.0) is None and proc._replies[7] == (False, "no such file")
    writer.send(M.Failed("disk on fire (OSError)", "Traceback: ..."))
    with pytest.raises(ChildFailed, match="Training stopped with an error: disk on fire") as info:
        proc.receive(1.0)
    assert info.value.details == "Traceback: ..."
    writer.send(("snapshot", "an old tuple"))
    with pytest.raises(ChildFailed, match="does not know"):
        proc.receive(1.0)


class _WatchedLock:
    """A lock that says when a caller is about to wait for it."""

    def __init__(self) -> None:
        self.lock, self.waiting = threading.Lock(), threading.Event()

    def acquire(self, blocking: bool = True) -> bool:
        if blocking:
            self.waiting.set()
        return self.lock.acquire(blocking)

    def release(self) -> None:
        self.lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def test_a_snapshot_a_request_read_comes_before_the_next_one():
    """request() reads the pipe for its answer and keeps the snapshots it meets for the receiver; a receiver that
    was waiting for the pipe meanwhile must get the kept one first. Read out of order, a paused frame of the line
    just left came after a branch's first frame in a replayed session, and the loss plot started again at that
    branch's second step (a CI failure of tests/qt/test_timetravel_sessions.py)."""
    proc = TrainerProcess(TrainConfig())  # not started: only its snapshot pipe is used
    reader, writer = mp.Pipe(duplex=False)
    proc._snaps, proc._recv_lock = reader, _WatchedLock()
    writer.send(M.SnapshotReady("the old line's paused frame"))
    writer.send(M.SnapshotReady("the branch's first frame"))
    got: list = []
    proc._recv_lock.acquire(blocking=False)  # a request() is reading the pipe
    receiver = threading.Thread(target=lambda: got.append(proc.receive(2.0)))
    receiver.start()
    assert proc._recv_lock.waiting.wait(5.0)  # the receiver waits for the pipe
    proc._stash.append(proc._receive(1.0))  # the request meets a snapshot and keeps it
    proc._recv_lock.release()
    receiver.join(5.0)
    got.append(proc.receive(1.0))
    assert got == ["the old line's paused frame", "the branch's first frame"]


def test_a_receiver_that_takes_the_pipe_the_moment_a_request_lets_go_gets_the_kept_snapshot():
    """The same order when the receiver takes the lock right after request() lets it go: request() keeps the
    snapshot it read before it lets go (once it kept it after, and the receiver read the next one first)."""
    proc = TrainerProcess(TrainConfig())
    reader, writer = mp.Pipe(duplex=False)
    proc._snaps, proc._send, proc.is_alive = reader, lambda message: None, lambda: True
    for message in (M.SnapshotReady("frame A"), M.SnapshotReady("frame B"), M.Reply(1, True, {"step": 50})):
        writer.send(message)
    got: list = []
    lock = proc._recv_lock

    class ReceiverNext:  # the receiver thread wins the lock as soon as request() releases it, once
        def acquire(self, blocking: bool = True) -> bool:
            return lock.acquire(blocking)

        def release(self) -> None:
            lock.release()
            if not got:
                got.append(proc.receive(1.0))

        def __enter__(self) -> bool:
            return lock.acquire()

        def __exit__(self, *exc: object) -> None:
            lock.release()

    proc._recv_lock = ReceiverNext()
    assert proc.request("branch", 50, timeout=5.0) == {"step": 50}
    got += [proc.receive(1.0), proc.receive(0.1)]
    assert got == ["frame A", "frame B", None]


def test_a_shard_speaks_the_message_types():
    from ganviz.core.compare import _shard_main

    tiny = TrainConfig(g_width=8, d_width=8, g_depth=1, d_depth=1, batch_size=16, n_view=32, kde_samples=256)
    mine, theirs = mp.Pipe()
    progress = types.SimpleNamespace(value=0)
    t = threading.Thread(target=_shard_main, args=([tiny, tiny.replace(objective="hinge")], theirs, progress, 1))
    t.start()
    try:
        assert mine.poll(60) and isinstance(mine.recv(), M.Ready)
        mine.send(M.Iterate())
        mine.send(M.Apply(((1, SetObjective("lsgan")),)))
        mine.send(M.Manual(StepBoth()))
        mine.send(M.Snap({"with_metrics": False, "with_fields": False}))
        assert mine.poll(60)
        reply = mine.recv()
        assert isinstance(reply, M.Snaps) and len(reply.blobs) == 2
        snaps = [pickle.loads(b) for _, b in reply.blobs]
        assert [s.step for s in snaps] == [2, 2] and progress.value == 2
        assert [s.config.objective for s in snaps] == ["ns", "lsgan"]
        mine.send(M.Stop())
        t.join(30)
        assert not t.is_alive()
    finally:
        mine.close()
        t.join(5)


def test_a_shard_answers_the_engine_protocol_calls():
    """MoveRuns, RollBack, GetStates, LoadStates (all or none; RevertStates undoes one), LogEvent: answered with
    Done or Refused, and a refused call leaves the shard's runs as they were and the shard running."""
    from ganviz.core.compare import _shard_main

    tiny = TrainConfig(g_width=8, d_width=8, g_depth=1, d_depth=1, batch_size=16, n_view=32, kde_samples=256)
    mine, theirs = mp.Pipe()
    t = threading.Thread(target=_shard_main, args=([tiny, tiny.replace(objective="hinge")], theirs,
                                                   types.SimpleNamespace(value=0), 1))
    t.start()

    def ask(message):
        mine.send(message)
        assert mine.poll(60)
        return mine.recv()

    def steps_and_weights():
        states = ask(M.GetStates()).result
        return [s["step"] for s in states], [s["G"]["net.0.weight"].clone() for s in states]

    try:
        assert mine.poll(60) and isinstance(mine.recv(), M.Ready)
        mine.send(M.Iterate())
        states = ask(M.GetStates())
        assert isinstance(states, M.Done) and [s["step"] for s in states.result] == [1, 1]
        assert [s["config"]["objective"] for s in states.result] == ["ns", "hinge"]
        assert ask(M.MoveRuns("cpu", None)) == M.Done([[], []])
        assert ask(M.RollBack()) == M.Done([0, 0])  # no snapshot yet: the good state is the start
        mine.send(M.Iterate())
        mine.send(M.Iterate())
        before = steps_and_weights()
        assert before[0] == [3, 3]
        broken = [dict(s) for s in states.result]
        broken[1]["config"] = {**broken[1]["config"], "d_width": 12}  # weights of width 8 for width 12
        refused = ask(M.LoadStates(tuple(broken)))
        assert isinstance(refused, M.Refused) and refused.error == "RuntimeError" and "size mismatch" in refused.message
        after = steps_and_weights()
        assert after[0] == [3, 3] and all(torch.equal(a, b) for a, b in zip(before[1], after[1], strict=True))
        assert ask(M.LoadStates(tuple(states.result))) == M.Done([True, True])
        assert ask(M.RevertStates()) == M.Done(None)  # the load just answered is undone
        reverted = steps_and_weights()
        assert reverted[0] == [3, 3] and all(torch.equal(a, b) for a, b in zip(before[1], reverted[1], strict=True))
        assert ask(M.LoadStates(tuple(states.result))) == M.Done([True, True])
        assert steps_and_weights()[0] == [1, 1]
        assert ask(M.RevertStates()) == M.Done(None)  # too late: another message came between
        assert steps_and_weights()[0] == [1, 1]
        mine.send(M.LogEvent("config", "a note", {"key": "k"}))
        reply = ask(M.Snap({"with_metrics": False, "with_fields": False}))
        snaps = [pickle.loads(b) for _, b in reply.blobs]
        assert [[e.label for e in s.events] for s in snaps] == [["a note"], ["a note"]]
        mine.send(M.Stop())
        t.join(30)
        assert not t.is_alive()
    finally:
        mine.close()
        t.join(5)
