"""Scene files: every shipped scene loads; bad files give a message naming the file and the problem."""

from __future__ import annotations

import pytest
import torch

from ganviz.core.commands import SetObjective, SetRunning
from ganviz.core.config import TrainConfig
from ganviz.core.scenes import MAX_SCENE_BYTES, SceneError, list_scenes, load_scene, scene_from_dict, scene_to_toml
from ganviz.core.trainer import Trainer

torch.set_num_threads(1)


def test_shipped_scenes_load_and_run_a_few_steps():
    names = list_scenes()
    assert "ring-collapse-basic" in names
    for name in names:
        scene = load_scene(name)
        cfg = scene.config.replace(d_width=min(scene.config.d_width, 32), g_width=min(scene.config.g_width, 32),
                                   batch_size=min(scene.config.batch_size, 64))
        t = Trainer(cfg)
        scene.schedule_on(t)
        t.train(5)
        assert t.step == 5 and t.snapshot(with_fields=False).metrics


def test_scripted_action_fires_at_its_step():
    scene = scene_from_dict({"config": {"data": "gaussian-1d", "d_width": 16, "g_width": 16},
                             "actions": [{"step": 3, "set": {"objective": "hinge", "d_lr": 1e-4}},
                                         {"step": 5, "pause": True}]})
    assert isinstance(scene.actions[0].commands[0], SetObjective)
    assert isinstance(scene.actions[1].commands[0], SetRunning)
    t = Trainer(scene.config)
    scene.schedule_on(t)
    t.train(3)
    assert t.objective.name == "ns"
    t.train(1)
    assert t.objective.name == "hinge" and t.opt_d.param_groups[0]["lr"] == 1e-4
    assert [e.step for e in t.events if e.kind == "objective"] == [3]
    t.train(2)
    assert t.running is False


@pytest.mark.parametrize("text,message", [
    ("title = 'x'\n[config]\nd_lr = 5.0\n", "d_lr"),
    ("[config]\nnonsense = 1\n", "nonsense"),
    ("[config\n", "not valid TOML"),
    ("[view]\nspeed = 'fast'\n", "speed"),
    ("[[actions]]\nstep = -1\nset = {objective='ns'}\n", "step"),
    ("[[actions]]\nstep = 3\n", "does nothing"),
    ("[[actions]]\nstep = 3\nset = {objective = 'nope'}\n", "objective"),
    ("surprise = 1\n", "surprise"),
    ("actions = 0\n", "actions must be a list"),  # found by the fuzz test: was a TypeError
    ("[config]\ndata = ['ring8']\n", "data must be a single value, not a list"),  # issue 19.6: was TypeError
    ("[config]\nobjective = {a = 1}\n", "objective must be a single value, not a table"),
    ("[[actions]]\nstep = 3\nset = {data = ['ring8']}\n", "data must be a single value"),
    ("x = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),  # issue 19.6: was RecursionError
])
def test_bad_scene_files_name_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SceneError, match=message) as info:
        load_scene(path)
    assert "bad.toml" in str(info.value)


def test_huge_and_binary_files_are_refused(tmp_path):
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * (MAX_SCENE_BYTES + 10))
    with pytest.raises(SceneError, match="larger"):
        load_scene(big)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00\x01" * 100)
    with pytest.raises(SceneError, match="bin.toml"):
        load_scene(binary)


def test_save_current_setup_round_trips(tmp_path):
    cfg = TrainConfig(data="grid25", objective="wgan-gp", d_lr=2e-4, gp_lambda=0.1, seed=3)
    path = tmp_path / "mine.toml"
    path.write_text(scene_to_toml('My "scene"', "line one\nline two", cfg, {"arrows": True}))
    scene = load_scene(path)
    assert scene.config == cfg and scene.title == 'My "scene"' and scene.view == {"arrows": True}


def test_unknown_scene_name_lists_the_available_ones():
    with pytest.raises(SceneError, match="ring-collapse-basic"):
        load_scene("no-such-scene")


def test_a_fifo_or_folder_named_as_a_scene_is_refused_without_blocking(tmp_path):
    import os

    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)  # reading a FIFO with no writer would block forever
    with pytest.raises(SceneError, match="not a regular file"):
        load_scene(fifo)
    folder = tmp_path / "dir.toml"
    folder.mkdir()
    with pytest.raises(SceneError, match="folder"):
        load_scene(folder)


def test_a_bad_scene_on_the_command_line_exits_2_with_a_message(tmp_path, capsys):
    """README: a bad scene gives exit 2 and a message (data = ["ring8"] printed a traceback and exited 1)."""
    from ganviz.cli import main

    for i, text in enumerate(["[config]\ndata = ['ring8']\n", "x = " + "[" * 5000 + "]" * 5000 + "\n"]):
        path = tmp_path / f"bad{i}.toml"
        path.write_text(text)
        assert main(["train", "--preset", str(path), "--steps", "1", "--quiet"]) == 2
        err = capsys.readouterr().err
        assert f"bad{i}.toml" in err and "Traceback" not in err
