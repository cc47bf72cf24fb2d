"""TOML files written by ganviz (scenes, sessions) load back as they were saved, whatever the text in them.

The writers use tomli-w (ganviz.core.tomlio); numpy scalars are made Python numbers at the config schema.
Each case here broke the hand-written writers: an emoji written as a JSON surrogate pair ("\\ud83d\\ude00" is
not valid TOML), a control character in a scene title, np.float64 written as `np.float64(0.5)`.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ganviz.core.commands import SetConfig, SetLearningRates, SetObjective, SetSteps, StepD
from ganviz.core.config import FIELDS, ConfigError, TrainConfig
from ganviz.core.scenes import load_scene, scene_to_toml
from ganviz.core.tomlio import TomlWriteError, dumps, plain
from ganviz.core.userdata import points_rows, user_config
from ganviz.export.errors import ExportError
from ganviz.export.session import LoggedCommand, Session, dumps_session, load_session, loads_session, save_session

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

EMOJI = "\U0001F600"  # outside the Basic Multilingual Plane
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def a_session(**kw) -> Session:
    cfg = kw.pop("config", TrainConfig(data="image-file", image_path=f"/data/{EMOJI}/digits.npz"))
    return Session(cfg, (LoggedCommand(2, SetObjective("wgan-gp")), LoggedCommand(3, StepD()),
                         LoggedCommand(5, SetLearningRates(d_lr=1e-4))), final_step=9, **kw)


def same_session(a: Session, b: Session) -> None:
    assert b.config == a.config and b.commands == a.commands and b.final_step == a.final_step
    assert (b.scene, b.checkpoint, b.note) == (a.scene, a.checkpoint, a.note)


# ------------------------------------------------------------------------------------------ sessions

@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_non_bmp_text_in_a_session_loads_back(tmp_path, fmt):
    s = a_session(note=f"lecture 3 {EMOJI} — ça marche", checkpoint=f"/runs/{EMOJI}.pt", scene=f"mine{EMOJI}")
    path = save_session(s, tmp_path / f"s.{fmt}")
    again = load_session(path)
    same_session(s, again)
    assert again.config.image_path == f"/data/{EMOJI}/digits.npz"
    if fmt == "toml":
        assert EMOJI in path.read_text(encoding="utf-8")  # written as itself, not as "\\ud83d\\ude00"


def test_control_characters_and_quotes_in_a_session_note(tmp_path):
    note = 'tab\there, bell\x07, nul-free \x1b[31m "quoted" back\\slash\nsecond line\x7f'
    s = a_session(note=note)
    again = loads_session(dumps_session(s))
    assert again.note == note


def test_numpy_values_in_commands_are_written_as_numbers():
    s = Session(TrainConfig(), (LoggedCommand(1, SetLearningRates(d_lr=np.float64(0.002))),
                                LoggedCommand(2, SetSteps(d_steps=2)),
                                LoggedCommand(4, SetConfig({"beta1": np.float64(0.25)}))), final_step=6)
    text = dumps_session(s)
    assert "np." not in text
    again = loads_session(text)
    assert again.commands[0].command.d_lr == 0.002 and again.commands[2].command.values == {"beta1": 0.25}


def test_a_text_utf8_cannot_hold_is_refused_before_writing(tmp_path):
    s = a_session(note="undecodable file name \udcff")
    target = tmp_path / "s.toml"
    with pytest.raises(ExportError, match="not valid Unicode"):
        save_session(s, target)
    assert not target.exists()


# ------------------------------------------------------------------------------------------ scenes

def test_control_characters_and_emoji_in_a_scene_title(tmp_path):
    title = f"Mode collapse\x01 {EMOJI} \"ring\"\ttab"
    desc = "line one\nline two\r\nthree \x00 nul \u2028 sep"
    path = tmp_path / "s.toml"
    path.write_text(scene_to_toml(title, desc, TrainConfig(objective="hinge"), {"arrows": True, "speed": 0.0}),
                    encoding="utf-8")
    scene = load_scene(path)
    assert (scene.title, scene.description) == (title, desc)
    assert scene.config.objective == "hinge" and scene.view == {"arrows": True, "speed": 0.0}


def test_user_points_in_a_scene_are_compact_and_exact(tmp_path):
    rng = np.random.default_rng(0)
    rows = points_rows(rng.normal(size=(41, 2)) * [1.0, 1e-3])
    cfg = user_config(TrainConfig(), rows, label="mine")
    text = scene_to_toml("pts", "", cfg)
    assert text.count("\n") < 41 // 4 + 20  # four points to a line, not one number per line
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    assert load_scene(path).config == cfg


# ------------------------------------------------------------------------------------------ numpy at the schema

def test_numpy_scalars_become_python_numbers_at_the_schema(tmp_path):
    cfg = TrainConfig().replace(d_lr=np.float64(0.002), beta1=np.float32(0.25), batch_size=np.int64(64),
                                ring_radius=np.int32(3), objective=np.str_("hinge"))
    assert (type(cfg.d_lr), type(cfg.beta1), type(cfg.batch_size), type(cfg.ring_radius), type(cfg.objective)) \
        == (float, float, int, float, str)
    assert (cfg.d_lr, cfg.beta1, cfg.batch_size, cfg.ring_radius) == (0.002, 0.25, 64, 3.0)
    direct = TrainConfig(g_lr=np.float64(0.003))
    assert type(direct.g_lr) is float
    text = scene_to_toml("np", "", cfg)
    assert "np." not in text
    path = tmp_path / "np.toml"
    path.write_text(text, encoding="utf-8")
    assert load_scene(path).config == cfg
    again = loads_session(dumps_session(Session(cfg)))
    assert again.config == cfg


@pytest.mark.parametrize("changes", [{"batch_size": np.float64(64.5)}, {"batch_size": np.float32(64.0)},
                                     {"d_lr": np.bool_(True)}, {"d_lr": np.float64("nan")}])
def test_numpy_values_the_schema_refuses(changes):
    with pytest.raises(ConfigError):
        TrainConfig().replace(**changes)


def test_the_writer_refuses_what_toml_cannot_hold():
    assert plain({"a": (np.int64(1), np.float32(0.5)), "b": np.array([1.0, 2.0])}) == {"a": [1, 0.5], "b": [1.0, 2.0]}
    for bad in ({"a": None}, {"a": object()}, {1: 2}):
        with pytest.raises(TomlWriteError):
            dumps(bad)
    assert tomllib.loads(dumps({"x": math.nan, "y": -math.inf}))["y"] == -math.inf


# ------------------------------------------------------------------------------------------ fuzzing

any_text = st.text(st.characters(codec="utf-8"), max_size=40)  # every code point UTF-8 can hold: C0/C1, non-BMP
NUMERIC = sorted(k for k, f in FIELDS.items() if f.metadata["lo"] is not None and k not in ("seed",))


@st.composite
def numpy_configs(draw) -> TrainConfig:
    """A valid config with 1..5 numeric fields set from numpy scalars of random dtypes."""
    changes = {}
    for key in draw(st.lists(st.sampled_from(NUMERIC), min_size=1, max_size=5, unique=True)):
        m = FIELDS[key].metadata
        if FIELDS[key].type in ("int", int):
            v = draw(st.integers(int(m["lo"]), int(min(m["hi"], 2**31 - 1))))
            changes[key] = draw(st.sampled_from([np.int64, np.int32, np.uint16 if v < 65536 else np.int64]))(v)
        else:
            v = draw(st.floats(m["lo"], m["hi"], allow_nan=False))
            changes[key] = draw(st.sampled_from([np.float64, np.float32, float]))(v)
            if not m["lo"] <= float(changes[key]) <= m["hi"]:  # float32 rounding past an end
                changes[key] = np.float64(v)
    return TrainConfig().replace(**changes)


@FUZZ
@given(title=any_text, desc=any_text, cfg=numpy_configs(), image=any_text.filter(lambda s: "\0" not in s))
def test_fuzz_scene_round_trip(tmp_path_factory, title, desc, cfg, image):
    cfg = cfg.replace(image_path=image)
    path = tmp_path_factory.mktemp("scene") / "s.toml"
    path.write_text(scene_to_toml(title, desc, cfg, {"speed": 0.0}), encoding="utf-8")
    scene = load_scene(path)
    assert (scene.title, scene.description, scene.config) == (title, desc, cfg)


@FUZZ
@given(note=any_text, scene=any_text, ckpt=any_text, image=any_text.filter(lambda s: "\0" not in s),
       cfg=numpy_configs(), fmt=st.sampled_from(["toml", "json"]),
       lrs=st.lists(st.floats(1e-7, 1.0).map(np.float64), max_size=3))
def test_fuzz_session_round_trip(note, scene, ckpt, image, cfg, fmt, lrs):
    changes = tuple(LoggedCommand(i, SetLearningRates(d_lr=lr)) for i, lr in enumerate(lrs))
    s = Session(cfg.replace(image_path=image), changes + (LoggedCommand(len(lrs), StepD()),), final_step=len(lrs) + 1,
                scene=scene or None, checkpoint=None, note=note)
    same_session(s, loads_session(dumps_session(s, fmt), "fuzz", fmt))
    if ckpt:
        text = dumps_session(Session(s.config, checkpoint=ckpt), fmt)
        assert loads_session(text, "fuzz", fmt).checkpoint == ckpt
