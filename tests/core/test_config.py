"""TrainConfig: defaults, per-key ranges, parsing of `--set key=value` strings, error messages."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ganviz.core.config import (
    FIELDS,
    REINIT_KEYS,
    ConfigError,
    TrainConfig,
    check_value,
    config_from_pairs,
    describe_range,
    parse_value,
)
from ganviz.core.distributions import DATASETS
from ganviz.core.objectives import OBJECTIVES

RANGED = [k for k, f in FIELDS.items() if f.metadata["lo"] is not None]
CHOICE = [k for k, f in FIELDS.items() if f.metadata["choices"]]
INT_KEYS = [k for k in RANGED if FIELDS[k].type in ("int", int)]
FLOAT_KEYS = [k for k in RANGED if k not in INT_KEYS]


def test_defaults_validate_and_every_field_has_help():
    cfg = TrainConfig()
    cfg.validate()
    for name, f in FIELDS.items():
        assert f.metadata["help"], name
        check_value(name, getattr(cfg, name))
    assert cfg.to_dict()["data"] == "ring8"
    assert set(cfg.to_dict()) == set(FIELDS)


def test_defaults_are_the_documented_ones():
    cfg = TrainConfig()
    assert cfg.data in DATASETS and cfg.objective in OBJECTIVES
    assert cfg.mode_samples == 2500  # VEEGAN / PacGAN protocol (THEORY section 4)
    assert cfg.w1_samples <= 512  # exact assignment per frame stays cheap (THEORY section 3)


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrainConfig().d_lr = 0.1  # type: ignore[misc]


def test_reinit_keys():
    assert {"data", "g_width", "d_width", "g_depth", "d_depth", "z_dim", "seed", "activation", "pack"} <= REINIT_KEYS
    assert not {"objective", "d_lr", "g_lr", "d_optimizer", "d_steps", "batch_size", "clip"} & REINIT_KEYS


@pytest.mark.parametrize("key", RANGED)
def test_out_of_range_raises_naming_key_and_range(key):
    m = FIELDS[key].metadata
    lo, hi = m["lo"], m["hi"]
    rng_text = f"[{lo:g}, {hi:g}]"
    for bad in (hi + max(1, abs(hi)), lo - max(1, abs(lo))):
        bad = int(bad) if key in INT_KEYS else float(bad)
        with pytest.raises(ConfigError) as e:
            check_value(key, bad)
        msg = str(e.value)
        assert key in msg and rng_text in msg, msg
        with pytest.raises(ConfigError, match=key):
            TrainConfig().replace(**{key: bad})
    # the bounds themselves are allowed
    for ok in (lo, hi):
        check_value(key, int(ok) if key in INT_KEYS else float(ok))


@pytest.mark.parametrize("key", RANGED)
def test_nan_bool_and_strings_rejected(key):
    for bad in (math.nan, True, "1", None):
        with pytest.raises(ConfigError, match=key):
            check_value(key, bad)


@pytest.mark.parametrize("key", INT_KEYS)
def test_int_keys_reject_fractions(key):
    lo = FIELDS[key].metadata["lo"]
    with pytest.raises(ConfigError, match="integer"):
        check_value(key, lo + 0.5)
    with pytest.raises(ConfigError, match="not an integer"):
        check_value(key, float(lo))  # a float would reach range() and tensor shapes (found by fuzzing)
    assert parse_value(key, f"{lo}.0") == lo and isinstance(parse_value(key, f"{lo}.0"), int)  # "4.0" on the CLI


@pytest.mark.parametrize("key", CHOICE + ["data", "objective"])
def test_choice_keys(key):
    with pytest.raises(ConfigError) as e:
        check_value(key, "nope")
    msg = str(e.value)
    assert key in msg and "one of" in msg
    allowed = {"data": list(DATASETS), "objective": list(OBJECTIVES)}.get(key) or FIELDS[key].metadata["choices"]
    for name in allowed:
        assert name in msg
        check_value(key, name)


def test_describe_range():
    assert describe_range("d_lr") == "number in [1e-07, 1]"
    assert describe_range("batch_size") == "integer in [2, 8192]"
    assert describe_range("d_optimizer") == "one of adam, sgd, rmsprop"
    assert describe_range("objective") == "one of " + ", ".join(OBJECTIVES)


def test_unknown_key():
    with pytest.raises(ConfigError, match="unknown config key 'nonsense'") as e:
        check_value("nonsense", 1)
    assert "ganviz list" in str(e.value)
    with pytest.raises(ConfigError, match="nonsense"):
        parse_value("nonsense", "1")
    with pytest.raises(ConfigError, match="nonsense"):
        config_from_pairs(["nonsense=1"])
    # replace() is what live SetConfig commands go through: an unknown key is a ConfigError too
    with pytest.raises(ConfigError, match="unknown config key 'nonsense'"):
        TrainConfig().replace(nonsense=1)


def test_parse_value_types():
    assert parse_value("batch_size", "64") == 64 and isinstance(parse_value("batch_size", "64"), int)
    assert parse_value("batch_size", "64.0") == 64 and isinstance(parse_value("batch_size", "64.0"), int)
    assert parse_value("d_lr", "1e-3") == 1e-3 and isinstance(parse_value("d_lr", "1"), float)
    assert parse_value("d_optimizer", "rmsprop") == "rmsprop"
    assert parse_value("objective", "wgan-gp") == "wgan-gp"
    assert parse_value("data", "grid25") == "grid25"


@pytest.mark.parametrize("key,text,needle", [
    ("batch_size", "abc", "integer in [2, 8192]"),
    ("batch_size", "6.5", "integer"),
    ("batch_size", "1", "[2, 8192]"),
    ("d_lr", "fast", "number in [1e-07, 1]"),
    ("d_lr", "5", "[1e-07, 1]"),
    ("d_lr", "nan", "d_lr"),
    ("d_optimizer", "adamw", "one of adam, sgd, rmsprop"),
    ("objective", "nope", "one of minimax"),
])
def test_parse_value_errors_name_key_and_range(key, text, needle):
    with pytest.raises(ConfigError) as e:
        parse_value(key, text)
    assert key in str(e.value) and needle in str(e.value)


def test_config_from_pairs():
    cfg = config_from_pairs(["d_width=32", "g-lr = 0.01", "objective=hinge", "activation=tanh"])
    assert (cfg.d_width, cfg.g_lr, cfg.objective, cfg.activation) == (32, 0.01, "hinge", "tanh")
    base = TrainConfig(data="grid25", seed=3)
    cfg = config_from_pairs(["d_steps=5"], base)
    assert (cfg.data, cfg.seed, cfg.d_steps) == ("grid25", 3, 5)
    assert config_from_pairs([]) == TrainConfig()
    assert config_from_pairs(["d_lr=1e-4", "d_lr=2e-4"]).d_lr == 2e-4  # the last one wins
    with pytest.raises(ConfigError, match="key=value"):
        config_from_pairs(["d_width"])
    with pytest.raises(ConfigError, match="d_lr"):
        config_from_pairs(["d_lr=5"])


def test_replace_validates():
    with pytest.raises(ConfigError, match="g_depth"):
        TrainConfig().replace(g_depth=0)
    assert TrainConfig().replace(g_depth=2).g_depth == 2


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(FLOAT_KEYS), st.floats(allow_nan=False, allow_infinity=True))
def test_float_range_property(key, value):
    m = FIELDS[key].metadata
    if m["lo"] <= value <= m["hi"]:
        check_value(key, value)
        assert parse_value(key, repr(value)) == value
    else:
        with pytest.raises(ConfigError, match=key):
            check_value(key, value)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(INT_KEYS), st.integers(-10**6, 10**10))
def test_int_range_property(key, value):
    m = FIELDS[key].metadata
    if m["lo"] <= value <= m["hi"]:
        assert parse_value(key, str(value)) == value
    else:
        with pytest.raises(ConfigError, match=key):
            parse_value(key, str(value))
