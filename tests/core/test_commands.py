"""Commands serialise from their own fields: every command class round-trips through the session format, and the
command for a change of one config field is found from the fields that declare it."""

from __future__ import annotations

import pytest

from ganviz.core import commands as C
from ganviz.core.config import FIELDS, TrainConfig
from ganviz.export.session import COMMAND_ARGS, LoggedCommand, Session, command_from_dict, dumps_session, loads_session

EXAMPLES: dict[str, C.Command] = {
    "SetObjective": C.SetObjective("wgan-gp"),
    "SetLearningRates": C.SetLearningRates(d_lr=2e-4),
    "SetOptimizer": C.SetOptimizer("g", "rmsprop"),
    "SetSteps": C.SetSteps(d_steps=5, g_steps=2),
    "SetBatchSize": C.SetBatchSize(64),
    "SetDataset": C.SetDataset("ring8", ring_radius=3.0, ring_std=0.05),
    "SetConfig": C.SetConfig({"clip": 0.05, "r1_gamma": 1.0}),
    "Reset": C.Reset(seed=4),
    "SetRunning": C.SetRunning(False),
    "SetSpeed": C.SetSpeed(12.5),
    "StepD": C.StepD(),
    "StepG": C.StepG(),
    "StepBoth": C.StepBoth(),
}


def test_every_replayable_command_class_has_an_example_and_a_session_entry():
    replayable = {n for n, cls in C.COMMANDS.items() if cls.replayable}
    assert replayable == set(EXAMPLES) == set(COMMAND_ARGS)
    assert not C.ClearSchedule.replayable and "ClearSchedule" not in COMMAND_ARGS


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_command_round_trips_through_its_dict(name):
    cmd = EXAMPLES[name]
    d = cmd.to_dict()
    assert d["command"] == name and None not in d["args"].values()
    back = command_from_dict(d, "test")
    assert type(back) is type(cmd) and back.to_dict() == d
    if not isinstance(cmd, C.MANUAL):  # manual steps are never equal (each is its own step)
        assert back == cmd


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_every_command_round_trips_through_a_session_file(fmt):
    entries = tuple(LoggedCommand(i, cmd) for i, cmd in enumerate(EXAMPLES.values()))
    session = Session(TrainConfig(), entries, final_step=20)
    back = loads_session(dumps_session(session, fmt), fmt=fmt)
    assert [e.step for e in back.commands] == [e.step for e in entries]
    assert [e.command.to_dict() for e in back.commands] == [cmd.to_dict() for cmd in EXAMPLES.values()]


def test_arg_types_come_from_the_annotations():
    assert C.arg_types(C.SetLearningRates) == {"d_lr": (int, float, None), "g_lr": (int, float, None)}
    assert C.arg_types(C.SetRunning) == {"running": (bool,)}
    assert C.arg_types(C.SetConfig) == {"values": (dict,)}
    assert C.arg_types(C.Reset) == {"seed": (int, None)}


@pytest.mark.parametrize("key, value, cls", [
    ("objective", "hinge", C.SetObjective), ("data", "moons", C.SetDataset), ("g_lr", 0.01, C.SetLearningRates),
    ("d_optimizer", "sgd", C.SetOptimizer), ("g_steps", 3, C.SetSteps), ("batch_size", 64, C.SetBatchSize),
    ("ring_radius", 3.0, C.SetConfig), ("clip", 0.1, C.SetConfig), ("seed", 5, C.SetConfig),
])
def test_command_for_change(key, value, cls):
    cmd = C.command_for_change(key, value)
    assert type(cmd) is cls and cmd.changes() == {key: value}


def test_command_for_change_sets_exactly_the_field_for_every_config_key():
    cfg = TrainConfig()
    for key in FIELDS:
        value = getattr(cfg, key)
        assert C.command_for_change(key, value).changes() == {key: value}, key


def test_changes_leave_out_unset_fields_and_check_the_network():
    assert C.SetDataset("moons").changes() == {"data": "moons"}
    assert C.SetSteps(g_steps=2).changes() == {"g_steps": 2}
    assert C.Reset(3).changes() == {} and C.StepD().changes() == {}
    with pytest.raises(ValueError, match="network"):
        C.SetOptimizer("x", "adam").changes()


@pytest.mark.parametrize("cmd, message", [
    (C.SetSpeed(0.0), "steps_per_sec must be a positive number"), (C.SetSpeed(float("nan")), "steps_per_sec"),
    (C.Reset(seed=-1), "seed"), (C.SetLearningRates(g_lr=5.0), "g_lr"), (C.SetOptimizer("x", "adam"), "network"),
    (C.SetConfig({"clip": -1.0}), "clip"), (C.SetDataset("no-such-data"), "data"),
])
def test_check_refuses_out_of_range_fields(cmd, message):
    with pytest.raises(ValueError, match=message):
        cmd.check()


def test_check_accepts_good_commands():
    for cmd in EXAMPLES.values():
        cmd.check()
    C.SetSpeed(None).check()
