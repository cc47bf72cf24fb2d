"""Property-based fuzzing of every file loader except scenes (tests/core/test_fuzz.py) and image files: sessions
(TOML / JSON), checkpoints and point files (CSV / .npy).

Each loader gets random bytes, truncations of a valid file, and valid files with mutated fields (wrong types,
NaN / Inf, huge numbers and arrays, wrong dimensions, unknown keys); checkpoints also get pickle payloads that
would run code if unpickled. The invariant: a valid result, or the loader's own error type with a message;
never another exception, never a hang. What loads is usable: a session replays its first steps, a checkpoint
trains on with finite weights, points build a dataset that trains. A failed load leaves the current run as it
was (step, config, weights, optimiser state, RNG, event log).

GANVIZ_FUZZ_EXAMPLES=500 python -m pytest tests/core/test_fuzz_loaders.py runs more cases (default 40 per test).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import os
import pickle
import re
import struct
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ganviz.core.checkpoint import (
    CheckpointError,
    checkpoint_state,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from ganviz.core.commands import (
    Reset,
    SetBatchSize,
    SetConfig,
    SetDataset,
    SetLearningRates,
    SetObjective,
    SetOptimizer,
    SetRunning,
    SetSpeed,
    SetSteps,
    StepBoth,
    StepD,
    StepG,
)
from ganviz.core.config import FIELDS, ConfigError, TrainConfig
from ganviz.core.distributions import DATASETS
from ganviz.core.images.files import ImageDataError
from ganviz.core.trainer import Trainer
from ganviz.core.userdata import PointsError, build_distribution, load_points, points_rows, user_config, user_name
from ganviz.export.replay import Replayer
from ganviz.export.session import (
    COMMAND_ARGS,
    TOP_KEYS,
    LoggedCommand,
    Session,
    SessionError,
    dumps_session,
    is_session_file,
    load_session,
    loads_session,
    segments,
    session_to_dict,
)

torch.set_num_threads(1)

N = int(os.environ.get("GANVIZ_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=N, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])
pytestmark = pytest.mark.timeout(600)

TINY = dict(d_width=8, g_width=8, d_depth=1, g_depth=1, batch_size=16, n_view=16, kde_samples=64, grid_size=8,
            mode_samples=100, w1_samples=16, device="cpu")


def tiny(**kw: Any) -> TrainConfig:
    return TrainConfig(**{**TINY, **kw})


# ============================================================================================ helpers
def within(seconds: float, fn: Any, *args: Any) -> Any:
    """fn(*args) in a daemon thread; fail (instead of hanging the suite) if it takes longer than seconds."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as e:  # noqa: BLE001 (handed back to the caller)
            box["error"] = e

    th = threading.Thread(target=run, daemon=True)
    th.start()
    th.join(seconds)
    assert not th.is_alive(), f"{getattr(fn, '__name__', fn)} did not return within {seconds} s (a hang)"
    if "error" in box:
        raise box["error"]
    return box.get("value")


def expect(error: type[Exception], fn: Any, *args: Any) -> Any:
    """fn(*args) -> its value, or None if it raised `error` with a non-empty message. Any other exception
    propagates (and fails the test)."""
    try:
        return fn(*args)
    except error as e:
        assert str(e).strip(), f"{error.__name__} without a message"
        return None


def fingerprint(t: Trainer) -> dict[str, Any]:
    """Everything a failed load must leave alone."""
    def clone(sd: Any) -> Any:
        if isinstance(sd, torch.Tensor):
            return sd.detach().clone()
        if isinstance(sd, dict):
            return {k: clone(v) for k, v in sd.items()}
        if isinstance(sd, (list, tuple)):
            return type(sd)(clone(v) for v in sd)
        return sd

    return {"counters": (t.step, t.d_updates, t.g_updates, t.noise_sigma), "config": t.config,
            "events": len(t.events), "log": len(t.command_log), "G": clone(t.G.state_dict()),
            "D": clone(t.D.state_dict()), "opt_g": clone(t.opt_g.state_dict()), "opt_d": clone(t.opt_d.state_dict()),
            "rng": t.gen.get_state().clone(), "objects": (id(t.G), id(t.D), id(t.opt_g), id(t.opt_d))}


def same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(map(same, a, b))
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def weights_finite(t: Trainer) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in list(t.G.parameters()) + list(t.D.parameters()))


# hostile values: wrong types, NaN / Inf, huge and tiny numbers, odd text, nested containers
SPECIAL = [None, True, False, 0, -1, 1, 7, 2**31, 2**53 + 1, 2**63, -(2**63), 10**30, 10**400, -(10**400),
           0.0, -0.0, 0.5, 1e-7, 5e-324, 1e308, -1e308, 1e300, float("nan"), float("inf"), float("-inf"), "", "nan",
           "inf", "1e3", "ring8", "ns", "adam", "cuda", "user:x", "user:x@00000000", "x" * 5000, "\x00", "\ud800",
           "../../etc/passwd", "/dev/zero", [], {}, [1, 2], [[1.0, 2.0]], [[float("nan"), 1.0], [0.0, 1.0]],
           {"__class__": "os.system"}]
scalars = st.one_of(st.sampled_from(SPECIAL), st.integers(), st.floats(), st.text(max_size=12), st.booleans())
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=8)


def plausible(key: str) -> st.SearchStrategy[Any]:
    """Values near and beyond a config field's range (so mutated files are often still valid)."""
    m = FIELDS[key].metadata
    if key == "data":
        return st.sampled_from(sorted(DATASETS) + ["nope", "user:x", "user:x@0000abcd"])
    if key == "objective":
        from ganviz.core.objectives import OBJECTIVES

        return st.sampled_from(sorted(OBJECTIVES) + ["nope"])
    if key == "data_points":
        return st.sampled_from(ROW_SETS)
    if m["choices"]:
        return st.sampled_from(list(m["choices"]) + ["nope", m["choices"][0].upper()])
    if m["lo"] is not None:
        lo, hi = m["lo"], m["hi"]
        is_int = FIELDS[key].type in ("int", int)
        near = [lo, hi, (lo + hi) / 2, lo - 1, hi + 1, hi * 10, -hi, float("nan"), float("inf")]
        if is_int:
            near = [int(lo), int(hi), int(min(hi, lo + 3)), int(lo) - 1, int(hi) + 1, 2**63, float(lo), 2.5]
        inside = st.integers(int(lo), int(min(hi, lo + 64))) if is_int else st.floats(lo, hi)
        return st.one_of(st.sampled_from(near), inside)
    return values


# rows for data_points: valid points and mixtures, and every way rows can be wrong
ROW_SETS: list[Any] = [
    [], [[0.0], [1.0]], [[0.0, 0.0], [1.0, 2.0], [3.0, -1.0]], [[0.0, 1.0, 0.3, 1.0], [2.0, 0.0, 0.3, 2.0]],
    [[0.0, 0.5, 1.0]], [[0.0, 0.0], [1e300, -1e300]], [[0.0], [1e-300]], [[1e308], [-1e308]],
    [[0.0, 0.0, 1e-300, 1.0]], [[1e300, 0.0, 1.0, 1.0]], [[0.0, 0.0, 1e300, 1.0]], [[0.0, 0.5, 1e-320]],
    [[0.0, 0.5, 1.0], [1.0, 0.5, 1e300]], [[float("nan"), 0.0], [1.0, 1.0]], [[1.0, 1.0], [1.0, 1.0]],
    [[1.0], [2.0, 3.0]], [[1.0, 2.0, 3.0, 4.0, 5.0]], [[True, False], [False, True]], [["a", "b"], ["c", "d"]],
    [[[1.0, 2.0]], [[3.0, 4.0]]], [[0.0, 1.0]] * 20001, [[float(i), float(i % 7)] for i in range(300)],
    [[0.0, 0.0, 0.1, 1.0]] * 65, [1.0, 2.0], "rows", 3,
]


def too_big(configs: list[TrainConfig]) -> bool:
    """Whether training these configs for a few steps is too slow for a fuzz case."""
    for c in configs:
        n = c.batch_size * c.pack * (c.d_steps + c.g_steps * (1 + c.unroll))
        width = max(c.d_width, c.g_width) ** 2 * max(c.d_depth, c.g_depth)
        if n * width > 4e7 or c.n_view * max(c.g_width, c.d_width) * c.g_depth > 4e7:
            return True
        if c.kde_samples * max(c.g_width, c.d_width) * c.g_depth > 4e7:
            return True
    return False


# ============================================================================================ sessions
BASE_SESSION = Session(tiny(objective="ns"), (
    LoggedCommand(0, SetObjective("wgan-gp")),
    LoggedCommand(1, SetLearningRates(d_lr=5e-4, g_lr=2e-4)),
    LoggedCommand(1, SetConfig({"r1_gamma": 1.0, "instance_noise": 0.1})),
    LoggedCommand(2, StepD()),
    LoggedCommand(3, SetOptimizer("g", "sgd")),
    LoggedCommand(3, SetSteps(d_steps=2, g_steps=1)),
    LoggedCommand(4, SetBatchSize(8)),
    LoggedCommand(4, SetDataset("moons")),
    LoggedCommand(5, SetSpeed(30.0)),
    LoggedCommand(5, SetRunning(True)),
    LoggedCommand(5, Reset(seed=3)),
    LoggedCommand(0, StepBoth()),
    LoggedCommand(1, StepG()),
), final_step=4, scene="fuzz", note="a session to mutate")
BASE_DICT = session_to_dict(BASE_SESSION)
SESSION_COUNTS: dict[str, int] = {}


def toml_value(v: Any) -> str | None:
    """A TOML inline value for anything JSON can hold (None: left out, TOML has no null)."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(t for t in map(toml_value, v) if t is not None) + "]"
    items = [(json.dumps(str(k)), toml_value(x)) for k, x in v.items()]
    return "{ " + ", ".join(f"{k} = {t}" for k, t in items if t is not None) + " }"


def toml_text(d: dict[str, Any]) -> str:
    lines = [f"{json.dumps(str(k))} = {t}" for k, t in ((k, toml_value(v)) for k, v in d.items()) if t is not None]
    return "\n".join(lines) + "\n"


def replay_few(session: Session) -> None:
    """Replay the first timeline steps of a loaded session: only SessionError, or the error of a file it names
    (a checkpoint, image data), may stop it."""
    configs = [session.config]
    for e in session.commands:
        with contextlib.suppress(ConfigError, ValueError):
            configs.append(session.config.replace(**e.command.changes()))
    if too_big(configs):
        return
    try:
        r = Replayer(session)
        for _ in range(14):
            if r.log_done():
                break
            r.tick()
        r.trainer.snapshot(with_metrics=False, with_fields=False)
    except (SessionError, CheckpointError, ImageDataError) as e:  # the file a session names is bad or missing
        assert str(e)


def check_session(s: Session) -> None:
    """A session that loaded is fully valid and saves and loads back as itself, in TOML and JSON."""
    assert isinstance(s, Session)
    s.config.validate()
    assert s.final_step is None or (isinstance(s.final_step, int) and s.final_step >= 0)
    for e in s.commands:
        assert isinstance(e.step, int) and e.step >= 0
        assert type(e.command).__name__ in COMMAND_ARGS
    for fmt in ("toml", "json"):
        again = loads_session(dumps_session(s, fmt), "again", fmt)
        assert again.config == s.config and again.commands == s.commands and again.final_step == s.final_step
        assert (again.scene, again.checkpoint, again.note) == (s.scene, s.checkpoint, s.note)


def load_text(tmp: Path, text: str | bytes, suffix: str) -> Session | None:
    path = tmp / f"fuzz{suffix}"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    else:
        path.write_bytes(text)
    s = within(20, expect, SessionError, load_session, path)
    SESSION_COUNTS["loaded" if s is not None else "refused"] = SESSION_COUNTS.get(
        "loaded" if s is not None else "refused", 0) + 1
    if s is not None:
        check_session(s)
    return s


@FUZZ
@given(data=st.one_of(st.binary(max_size=3000), st.text(max_size=2000).map(str.encode)),
       suffix=st.sampled_from([".toml", ".json"]))
def test_random_bytes_as_a_session_file(tmp_path_factory, data, suffix):
    load_text(tmp_path_factory.mktemp("s"), data, suffix)


@FUZZ
@given(cut=st.floats(0.0, 1.0), fmt=st.sampled_from(["toml", "json"]))
def test_truncated_session_files(tmp_path_factory, cut, fmt):
    text = dumps_session(BASE_SESSION, fmt)
    s = load_text(tmp_path_factory.mktemp("s"), text[: int(len(text) * cut)], "." + fmt)
    if s is not None:
        replay_few(s)


@st.composite
def mutated_sessions(draw: Any) -> dict[str, Any]:
    """The base session's dict with 1..4 fields changed, removed or added."""
    d = copy.deepcopy(BASE_DICT)
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(["top", "config", "config", "config", "command", "arg", "arg", "new", "user"]))
        if where == "top":
            key = draw(st.sampled_from(sorted(TOP_KEYS) + ["evil"]))
            if draw(st.booleans()):
                d.pop(key, None)
            else:
                d[key] = draw(values if key != "final_step" else st.one_of(values, st.integers(0, 20)))
        elif where == "config" and isinstance(d.get("config"), dict):
            key = draw(st.sampled_from(sorted(FIELDS) + ["nonsense"]))
            if key == "nonsense" or draw(st.integers(0, 3)) == 0:
                d["config"][key] = draw(values)
            elif draw(st.integers(0, 5)) == 0:
                d["config"].pop(key, None)
            else:
                d["config"][key] = draw(plausible(key))
        elif where == "user" and isinstance(d.get("config"), dict):
            rows = draw(st.sampled_from(ROW_SETS))
            try:
                name = user_name("fuzz", rows)
            except Exception:  # noqa: BLE001 (rows a name cannot be made of: a made-up hash)
                name = "user:fuzz@0123abcd"
            target = d["config"] if draw(st.booleans()) else {}
            target.update(data=name, data_points=rows)
            if target is not d["config"] and isinstance(d.get("commands"), list):
                d["commands"].insert(0, {"step": 0, "command": "SetConfig", "args": {"values": target}})
        elif where in ("command", "arg") and isinstance(d.get("commands"), list) and d["commands"]:
            i = draw(st.integers(0, len(d["commands"]) - 1))
            entry = d["commands"][i]
            if not isinstance(entry, dict):
                continue
            if where == "command":
                key = draw(st.sampled_from(["step", "command", "args", "extra"]))
                entry[key] = draw(values if key != "command" else st.one_of(
                    values, st.sampled_from(sorted(COMMAND_ARGS) + ["os.system", "Trainer", "__import__"])))
            elif isinstance(entry.get("args"), dict):
                name = entry.get("command")
                spec = COMMAND_ARGS[name][1] if isinstance(name, str) and name in COMMAND_ARGS else {}
                key = draw(st.sampled_from(sorted(spec) + ["nope"]))
                if key == "values":
                    entry["args"][key] = {draw(st.sampled_from(sorted(FIELDS) + ["nope"])): None}
                    k = next(iter(entry["args"][key]))
                    entry["args"][key][k] = draw(values if k == "nope" else plausible(k))
                elif draw(st.integers(0, 5)) == 0:
                    entry["args"].pop(key, None)
                else:
                    entry["args"][key] = draw(values)
        elif where == "new" and isinstance(d.get("commands"), list):
            name = draw(st.sampled_from(sorted(COMMAND_ARGS)))
            spec = COMMAND_ARGS[name][1]
            args = {k: draw(values) for k in spec if draw(st.booleans())}
            if name == "SetConfig":
                k = draw(st.sampled_from(sorted(FIELDS)))
                args = {"values": {k: draw(plausible(k))}}
            d["commands"].insert(draw(st.integers(0, len(d["commands"]))),
                                 {"step": draw(st.integers(0, 6)), "command": name, "args": args})
    return d


@FUZZ
@given(doc=mutated_sessions(), fmt=st.sampled_from(["toml", "json"]))
def test_mutated_session_fields(tmp_path_factory, doc, fmt):
    text = toml_text(doc) if fmt == "toml" else json.dumps(doc, allow_nan=True)
    s = load_text(tmp_path_factory.mktemp("s"), text, "." + fmt)
    if s is not None:
        replay_few(s)


def test_session_special_files_are_refused_without_hanging(tmp_path):
    """A folder, a FIFO (a read would block forever), devices (endless) and a huge sparse file."""
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    big = tmp_path / "big.toml"
    with open(big, "wb") as f:
        f.truncate(65 * 2**20)  # sparse: no disk used
    for path in (tmp_path, fifo, Path("/dev/zero"), Path("/dev/urandom"), big, tmp_path / "missing.toml"):
        with pytest.raises(SessionError) as info:
            within(5, load_session, path)
        assert str(path) in str(info.value)
        assert within(5, is_session_file, path) is False
    # a session naming a FIFO or a device as its checkpoint is refused when replayed, without hanging
    for target in (fifo, "/dev/zero", "/dev/urandom", tmp_path):
        s = Session(tiny(), (), 3, checkpoint=str(target))
        with pytest.raises(CheckpointError):
            within(5, Replayer, s)


@pytest.mark.parametrize("body, needle", [
    ('"data": []', "data=[] is out of range"),
    ('"d_lr": 1' + "0" * 400, "d_lr=1000"),
    ('"d_width": 1' + "0" * 400, "d_width=1000"),
    ('"d_width": 1' + "0" * 5000, "digits"),
    ('"d_width": ' + "[" * 100000 + "]" * 100000, "RecursionError"),
    ('"image_path": "\\ud800"', "not valid Unicode"),
    ('"data": "user:x@00000000", "data_points": [[0.0, 0.0], [1e300, -1e300]]', "beyond +-1e+06"),
    ('"data": "user:x@00000000", "data_points": [[0.0], [1e-300]]', "span less than 1e-06"),
])
def test_session_extremes_found_by_fuzzing_are_refused(body, needle):
    """Each of these escaped as TypeError / OverflowError / ValueError / RecursionError, loaded and then
    crashed the trainer, or loaded a session that could not be saved again, before the fixes."""
    text = '{"format": "ganviz-session", "format_version": 1, "config": {' + body + '}}'
    with pytest.raises(SessionError, match=re.escape(needle)):
        loads_session(text, fmt="json")


def test_session_fixes_whole_floats_and_checks_changes_in_sequence():
    s = loads_session('format = "ganviz-session"\nformat_version = 1\n[config]\nd_depth = 2.0\nd_width = 8.0\n')
    assert type(s.config.d_depth) is int and s.config.d_depth == 2  # was 2.0: range(2.0) in the engine
    Trainer(s.config.replace(batch_size=8)).train(1)
    text = ('format = "ganviz-session"\nformat_version = 1\n[config]\n[[commands]]\nstep = 0\n'
            'command = "SetConfig"\nargs = { values = { data = "user:x@0123abcd" } }\n')
    with pytest.raises(SessionError, match=r"commands\[0\] \(SetConfig\) at step 0 cannot be applied"):
        loads_session(text)  # valid on its own (a user name), not with the config's empty data_points


def test_segments_split_at_a_dataset_switch_that_changes_the_dimension():
    """The engine re-initialises (the step count restarts) when the data's dimension changes; segments() used
    to compare the new config with itself and missed it, so the window scheduled later entries too early."""
    s = Session(tiny(), (LoggedCommand(3, SetDataset("bimodal-1d")), LoggedCommand(2, SetObjective("hinge")),
                         LoggedCommand(4, SetDataset("trimodal-1d"))), final_step=5)
    assert [len(seg) for seg in segments(s)] == [1, 2]  # ring8 -> 1D resets; 1D -> 1D is a hot swap
    r = Replayer(s)
    assert r.steps_left() == 3 + 5
    t = r.finish()
    assert (t.step, t.config.data, t.objective.name) == (5, "trimodal-1d", "hinge") and r.ticks == 8


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_cuda_gives_a_message_and_the_cpu():
    """Found by the session fuzz test: Trainer.__init__ logged the 'CUDA is not available' event before
    _build() had set self.step (AttributeError)."""
    t = Trainer(tiny(device="cuda"))
    assert t.device.type == "cpu" and t.events[0].kind == "device" and "not available" in t.events[0].label


# ============================================================================================ checkpoints
@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> tuple[Path, dict[str, Any], bytes]:
    """A valid checkpoint of a run that has trained a little: its path, state dict and bytes."""
    t = Trainer(tiny(instance_noise=0.1, d_optimizer="rmsprop", g_optimizer="adam"))
    t.train(5)
    state = checkpoint_state(t)
    path = tmp_path_factory.mktemp("ckpt") / "valid.pt"
    torch.save(state, path)
    return path, state, path.read_bytes()


def live_run() -> Trainer:
    """The "current run" a failed load must leave untouched."""
    t = Trainer(tiny(objective="hinge", seed=11))
    t.train(7)
    t.snapshot(with_fields=False)
    return t


CKPT_COUNTS: dict[str, int] = {}


def try_checkpoint(path: Path) -> bool:
    """Load path into a live run: refused -> the run is untouched; loaded -> it trains on, finite."""
    live = live_run()
    before = fingerprint(live)
    ok = within(30, expect, CheckpointError, load_checkpoint, live, path) is not None
    CKPT_COUNTS["loaded" if ok else "refused"] = CKPT_COUNTS.get("loaded" if ok else "refused", 0) + 1
    if not ok:
        assert same(fingerprint(live), before), "a refused checkpoint changed the current run"
        return False
    # it loaded into the live run: it must be a usable run; then put the live run back as it was
    assert weights_finite(live)
    if not too_big([live.config]):
        live.train(2)
        live.snapshot(with_metrics=False, with_fields=False)
        assert weights_finite(live)
    return True


@FUZZ
@given(data=st.binary(max_size=4000))
def test_random_bytes_as_a_checkpoint(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("c") / "random.pt"
    path.write_bytes(data)
    assert not try_checkpoint(path)


@FUZZ
@given(cut=st.integers(0, 10**9), flips=st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 255)),
                                                 max_size=6))
def test_truncated_and_corrupted_checkpoints(tmp_path_factory, ckpt, cut, flips):
    _, _, raw = ckpt
    data = bytearray(raw)
    for pos, byte in flips:
        data[pos % len(data)] = byte
    if not flips:
        data = data[: cut % len(data)]
    path = tmp_path_factory.mktemp("c") / "damaged.pt"
    path.write_bytes(bytes(data))
    try_checkpoint(path)


def tensor_mutations() -> st.SearchStrategy[Any]:
    return st.sampled_from([
        torch.tensor(float("nan")), torch.full((3,), float("inf")), torch.zeros(0), torch.zeros(2, 3, 4),
        torch.zeros(16, 2, dtype=torch.int64), torch.zeros(16, 2, dtype=torch.complex64), torch.zeros(16, 2).bool(),
        torch.zeros(1).expand(10**6), torch.zeros(16, 2, dtype=torch.float64), torch.zeros(16, 2, dtype=torch.float16),
        torch.full((16, 2), 1e38), torch.tensor([1e308], dtype=torch.float64), torch.zeros(5000, dtype=torch.uint8),
        torch.zeros(2), torch.tensor(-1.0), torch.tensor(3.0)])


@st.composite
def mutated_states(draw: Any, base: dict[str, Any]) -> dict[str, Any]:
    """The base checkpoint's state dict with 1..3 entries changed, removed or added."""
    s = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(["top", "config", "weights", "weights", "opt", "opt", "groups", "rng"]))
        net = draw(st.sampled_from(["G", "D"]))
        opt = s.get(draw(st.sampled_from(["opt_g", "opt_d"])))
        if where == "top":
            key = draw(st.sampled_from(sorted(s) + ["evil"]))
            if draw(st.integers(0, 4)) == 0:
                s.pop(key, None)
            else:
                s[key] = draw(st.one_of(values, tensor_mutations()))
        elif where == "config" and isinstance(s.get("config"), dict):
            key = draw(st.sampled_from(sorted(FIELDS) + ["nonsense", 3]))
            s["config"][key] = draw(values if key not in FIELDS else st.one_of(values, plausible(key)))
        elif where == "weights" and isinstance(s.get(net), dict) and s[net]:
            sd = s[net]
            key = draw(st.sampled_from(sorted(sd)))
            old = sd[key]
            derived = [old * float("nan"), old.T.contiguous(), old[:1], old.double()] \
                if isinstance(old, torch.Tensor) and old.dim() == 2 else []
            sd[key] = draw(st.one_of(tensor_mutations(), values, *(st.just(v) for v in derived)))
        elif where == "opt" and isinstance(opt, dict):
            state = opt.get("state")
            if not isinstance(state, dict) or not state or draw(st.integers(0, 5)) == 0:
                opt["state"] = draw(st.one_of(values, st.just({99: {"step": torch.tensor(1.0)}}),
                                              st.just({0: {"step": torch.tensor(1.0)}})))
                continue
            entry = state[draw(st.sampled_from(sorted(state)))]
            if isinstance(entry, dict):
                key = draw(st.sampled_from(sorted(entry) + ["momentum_buffer", "extra"]))
                if draw(st.integers(0, 4)) == 0:
                    entry.pop(key, None)
                else:
                    entry[key] = draw(st.one_of(tensor_mutations(), values, st.just(torch.full((2,), float("nan")))))
        elif where == "groups" and isinstance(opt, dict) and isinstance(opt.get("param_groups"), list):
            group = opt["param_groups"][0]
            key = draw(st.sampled_from(sorted(group) + ["evil"]))
            group[key] = draw(st.one_of(values, st.sampled_from([True, -1.0, 1e9, float("nan"), [], [0, 0, 99]])))
        elif where == "rng":
            s["rng"] = draw(tensor_mutations())
    return s


@FUZZ
@given(data=st.data())
def test_mutated_checkpoint_fields(tmp_path_factory, ckpt, data):
    _, base, _ = ckpt
    state = data.draw(mutated_states(base))
    path = tmp_path_factory.mktemp("c") / "mutated.pt"
    try:
        torch.save(state, path)
    except Exception:  # noqa: BLE001 (a value torch cannot even save is not a file anyone can hand us)
        assume(False)
    try_checkpoint(path)


class Payload:
    """Unpickling this object calls fn(*args): code execution if a loader ever unpickles it."""

    def __init__(self, fn: Any, *args: Any) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self) -> tuple:
        return self.fn, self.args


def payloads(marker: Path) -> list[Payload]:
    return [Payload(open, str(marker), "w"), Payload(exec, f"open({str(marker)!r}, 'w').close()"),
            Payload(eval, f"__import__('pathlib').Path({str(marker)!r}).touch()"),
            Payload(os.system, f"touch {marker}"), Payload(__import__, "os")]


@FUZZ
@given(where=st.sampled_from(["top", "config", "weights", "opt", "list", "legacy", "raw", "data.pkl"]),
       which=st.integers(0, 4))
def test_pickle_payloads_in_checkpoints_never_run(tmp_path_factory, ckpt, where, which):
    tmp = tmp_path_factory.mktemp("evil")
    marker = tmp / "pwned"
    payload = payloads(marker)[which]
    _, base, raw = ckpt
    path = tmp / "evil.pt"
    state = copy.deepcopy(base)
    if where in ("top", "legacy"):
        state["extra"] = payload
    elif where == "config":
        state["config"]["d_lr"] = payload
    elif where == "weights":
        state["D"]["net.0.weight"] = payload
    elif where == "opt":
        state["opt_d"]["state"][0]["exp_avg"] = payload
    elif where == "list":
        state["G"] = [payload]
    if where == "raw":
        path.write_bytes(pickle.dumps({"format": "ganviz-checkpoint", "x": payload}, protocol=2))
    elif where == "data.pkl":  # a valid torch zip whose pickle is the payload
        evil = pickle.dumps({"format": "ganviz-checkpoint", "x": payload}, protocol=2)
        path.write_bytes(replace_member(raw, "data.pkl", evil))
    else:
        torch.save(state, path, _use_new_zipfile_serialization=(where != "legacy"))
    assert not try_checkpoint(path)
    assert not marker.exists(), "loading a checkpoint ran code from the file"
    with pytest.raises(CheckpointError):
        read_checkpoint(path)
    assert not marker.exists()


def replace_member(raw: bytes, suffix: str, content: bytes) -> bytes:
    """The torch zip `raw` with the member ending in suffix replaced by content (stored, not compressed)."""
    src = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = content if info.filename.endswith(suffix) else src.read(info)
            dst.writestr(info.filename, data)
    return out.getvalue()


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(["flip", "insert", "delete"]),
                                st.integers(0, 255)), min_size=1, max_size=4))
def test_mutated_pickle_inside_a_valid_checkpoint_zip(tmp_path_factory, ckpt, edits):
    """The weights_only unpickler itself gets damaged pickles (opcodes, lengths, globals) inside a valid zip."""
    _, _, raw = ckpt
    src = zipfile.ZipFile(io.BytesIO(raw))
    pkl = bytearray(src.read(next(n for n in src.namelist() if n.endswith("/data.pkl"))))
    for pos, op, byte in edits:
        pos %= len(pkl)
        if op == "flip":
            pkl[pos] = byte
        elif op == "insert":
            pkl.insert(pos, byte)
        elif len(pkl) > 1:
            del pkl[pos]
    path = tmp_path_factory.mktemp("c") / "pkl.pt"
    path.write_bytes(replace_member(raw, "data.pkl", bytes(pkl)))
    try_checkpoint(path)


def test_checkpoint_special_files_are_refused_without_hanging(tmp_path):
    live = live_run()
    fifo = tmp_path / "fifo.pt"
    os.mkfifo(fifo)
    big = tmp_path / "big.pt"
    with open(big, "wb") as f:
        f.truncate(5 * 2**30)  # sparse
    before = fingerprint(live)
    for path in (tmp_path, fifo, Path("/dev/zero"), Path("/dev/urandom"), big, tmp_path / "missing.pt"):
        with pytest.raises(CheckpointError):
            within(5, load_checkpoint, live, path)
    assert same(fingerprint(live), before)


def test_an_image_run_checkpoint_loads(tmp_path):
    """DCGAN checkpoints hold integer BatchNorm buffers: the tensor checks must let them through."""
    cfg = TrainConfig(data="digits", batch_size=8, n_view=16, conv_channels=4, device="cpu")
    a = Trainer(cfg)
    a.train(2)
    save_checkpoint(a, tmp_path / "img.pt")
    b = Trainer(cfg.replace(seed=5))
    load_checkpoint(b, tmp_path / "img.pt")
    assert b.step == 2 and all(torch.equal(u, v) for u, v in zip(a.G.state_dict().values(),
                                                                  b.G.state_dict().values(), strict=True))
    b.train(1)


def test_a_failed_load_into_the_live_run_puts_it_back(tmp_path, monkeypatch):
    """The scratch checks pass but loading into the live run fails (another device, out of memory): the run
    is as it was, not half rebuilt."""
    from ganviz.core import checkpoint as CK

    t = Trainer(tiny())
    t.train(3)
    save_checkpoint(t, tmp_path / "c.pt", log_event=False)
    live = live_run()
    before = fingerprint(live)
    original = CK._restore

    def restore(trainer, state, config):
        if trainer is live:
            trainer._build()  # half way: new networks, then the failure
            raise torch.OutOfMemoryError("CUDA out of memory")
        return original(trainer, state, config)

    monkeypatch.setattr(CK, "_restore", restore)
    with pytest.raises(CheckpointError, match="could not be loaded into the run .* the run is unchanged"):
        load_checkpoint(live, tmp_path / "c.pt")
    assert same(fingerprint(live), before)
    live.train(2)


# ============================================================================================ point files
POINT_COUNTS: dict[str, int] = {}
VALID_CSV = "x,y\n# a comment\n" + "".join(f"{math.cos(i):.6f},{math.sin(2 * i):.6f}\n" for i in range(40))


def check_points(path: Path) -> np.ndarray | None:
    """load_points -> a valid (n, d) array or PointsError; a loaded file builds a dataset the trainer uses."""
    pts = within(20, expect, PointsError, load_points, path)
    POINT_COUNTS["loaded" if pts is not None else "refused"] = POINT_COUNTS.get(
        "loaded" if pts is not None else "refused", 0) + 1
    if pts is None:
        return None
    assert isinstance(pts, np.ndarray) and pts.dtype == np.float64 and pts.ndim == 2 and pts.shape[1] in (1, 2)
    assert 2 <= len(pts) <= 20000 and np.isfinite(pts).all()
    rows = expect(ConfigError, points_rows, pts)  # the window's import refuses this with a message too
    if rows is None:
        return pts
    cfg = user_config(tiny(), rows, label="fuzz")
    dist = build_distribution(cfg.data, rows)
    assert all(math.isfinite(b) for b in dist.bounds)
    t = Trainer(cfg)
    t.train(2)
    snap = t.snapshot(with_fields=True)
    assert np.isfinite(np.asarray(snap.bounds)).all()
    return pts


@FUZZ
@given(data=st.one_of(st.binary(max_size=3000), st.text(max_size=1500).map(str.encode)),
       suffix=st.sampled_from([".csv", ".txt", ".npy", ".tsv", ""]))
def test_random_bytes_as_a_points_file(tmp_path_factory, data, suffix):
    path = tmp_path_factory.mktemp("p") / f"points{suffix}"
    path.write_bytes(data)
    check_points(path)


NUMBERS = ["nan", "NaN", "inf", "-Infinity", "1e308", "1e309", "-1e400", "1e-320", "0x10", "1_000", "１２",
           "٣", "1" * 400, "+", "-", ".", "1e", "0.0", "-0", "3.5", "1,5", "1;2", "\x00", "\u00a0", "1e300",
           "-1e300", "1e-300", "4.9e-324", '"1.0"', "'x'", "x", "y", "True"]
token = st.one_of(st.sampled_from(NUMBERS), st.floats().map(repr), st.integers(-10**6, 10**6).map(str),
                  st.text(max_size=6))


@st.composite
def mutated_csv(draw: Any) -> bytes:
    lines = VALID_CSV.splitlines()
    for _ in range(draw(st.integers(1, 5))):
        op = draw(st.sampled_from(["replace", "replace", "insert", "delete", "columns", "scale", "dup", "sep"]))
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        if op == "replace" and lines:
            lines[i] = draw(st.sampled_from([",", ";", "\t", " "])).join(draw(st.lists(token, max_size=4)))
        elif op == "insert":
            lines.insert(i, draw(st.sampled_from([",", " "])).join(draw(st.lists(token, max_size=3))))
        elif op == "delete" and lines:
            del lines[i]
        elif op == "columns":
            lines = [ln + ",0.5" for ln in lines] if draw(st.booleans()) else [ln.split(",")[0] for ln in lines]
        elif op == "scale":
            k = draw(st.sampled_from(["1e300", "1e-300", "1e308", "0", "1e-15", "1e15"]))
            lines = [",".join(_scaled(v, k) for v in ln.split(",")) if ln and ln[0] in "-0123456789" else ln
                     for ln in lines]
        elif op == "dup":
            lines = [lines[-1]] * draw(st.sampled_from([2, 20001, 3]))
        else:
            sep = draw(st.sampled_from(["\r\n", "\r", "\n\n", "\x00"]))
            return (draw(st.sampled_from(["", "\ufeff"])) + sep.join(lines)).encode(
                draw(st.sampled_from(["utf-8", "utf-16", "latin-1"])), errors="replace")
    return ("\n".join(lines) + "\n").encode()


def _scaled(text: str, k: str) -> str:
    try:
        return repr(float(text) * float(k))
    except ValueError:
        return text


@FUZZ
@given(data=mutated_csv(), suffix=st.sampled_from([".csv", ".txt"]))
def test_mutated_csv_points(tmp_path_factory, data, suffix):
    path = tmp_path_factory.mktemp("p") / f"points{suffix}"
    path.write_bytes(data)
    check_points(path)


MARKER = Path(tempfile.gettempdir()) / f"ganviz-fuzz-pwned-{os.getpid()}"
DESCRS = ["<f8", ">f8", "<f4", "<f2", "<i8", "|i1", "<u8", "|b1", "<c16", "|O", "<M8[s]", "<m8[s]", "|V8", "|S4",
          "<U2", [("x", "<f8"), ("y", "<f8")], "<f16", "bogus", 3]


@st.composite
def npy_files(draw: Any) -> bytes:
    """An .npy header with chosen descr / order / shape (consistent or not) followed by some data bytes."""
    descr = draw(st.sampled_from(DESCRS))
    shape = draw(st.one_of(
        st.sampled_from([(40, 2), (40, 1), (40,), (40, 3), (2, 20, 2), (), (0, 2), (1, 2), (20001, 2), (10**12, 2),
                         (-1, 2), (40, 2.5), "(40, 2)", (2**62, 2**62)]),
        st.lists(st.integers(0, 50), max_size=3).map(tuple)))
    order = draw(st.sampled_from([False, True, "no"]))
    header = "{" + f"'descr': {descr!r}, 'fortran_order': {order!r}, 'shape': {shape!r}, " + "}"
    if draw(st.integers(0, 9)) == 0:  # hostile header text: code, garbage, or another key
        header = draw(st.sampled_from([
            "{'descr': __import__('os').system('touch " + str(MARKER) + "'), 'fortran_order': False, 'shape': (2,), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), 'x': 1}", "not a dict", "{" * 500,
            "{'descr': '<f8', 'fortran_order': False}"]))
    version = draw(st.sampled_from([(1, 0), (2, 0), (3, 0), (9, 9)]))
    body = header.encode("latin-1", errors="replace")
    pad = 64 - (10 + len(body) + 1) % 64
    body = body + b" " * pad + b"\n"
    size = struct.pack("<H", len(body)) if version[0] == 1 else struct.pack("<I", len(body))
    values = draw(st.sampled_from(["normal", "nan", "inf", "huge", "same", "tiny", "random"]))
    n = draw(st.integers(0, 100)) * 8
    if values == "random":
        data = draw(st.binary(max_size=800))
    else:
        fill = {"normal": None, "nan": math.nan, "inf": math.inf, "huge": 1e300, "same": 1.0, "tiny": 5e-324}[values]
        arr = np.cos(np.arange(n // 8, dtype=np.float64)) if fill is None else np.full(n // 8, fill)
        if values in ("nan", "inf") and len(arr) > 2:
            arr[: len(arr) // 2] = np.arange(len(arr) // 2)
        data = arr.tobytes()
    return b"\x93NUMPY" + bytes(version) + size + body + data


@FUZZ
@given(data=npy_files())
def test_mutated_npy_points(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("p") / "points.npy"
    path.write_bytes(data)
    check_points(path)
    assert not MARKER.exists()


@FUZZ
@given(arr=st.sampled_from([
    np.zeros((40, 2)), np.full((40, 2), np.nan), np.array([[0.0, 0.0], [1e300, -1e300]]),
    np.array([[0.0], [1e-300]]), np.array([[1e308], [-1e308]]), np.linspace(0, 1e-12, 50)[:, None],
    np.arange(40, dtype=np.float16), np.arange(40, dtype=np.int8), np.arange(40, dtype=np.uint64) * 2**60,
    np.arange(40) > 20, np.arange(40, dtype=np.complex128), np.zeros((40, 3)), np.zeros((2, 20, 2)),
    np.zeros(0), np.zeros((20001, 2)), np.array([1.0, 2.0]), np.array(3.0), np.array(["a", "b"]),
    np.array([1e6, -1e6, 0.0]), np.random.default_rng(0).standard_normal((500, 2)) * 1e154,
    np.random.default_rng(1).standard_normal((500, 2)) * 1e-154, np.array([[0.0, 0.0], [1.0, 1e-300]]),
    np.random.default_rng(2).standard_normal((300, 1)).astype(">f8"),
    np.asfortranarray(np.random.default_rng(3).standard_normal((100, 2)))]), fortran=st.booleans())
def test_hostile_npy_arrays(tmp_path_factory, arr, fortran):
    path = tmp_path_factory.mktemp("p") / "points.npy"
    np.save(path, np.asfortranarray(arr) if fortran else arr)
    check_points(path)


def test_object_arrays_are_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    arr = np.empty(2, dtype=object)
    arr[0], arr[1] = Payload(open, str(marker), "w"), 1.0
    np.save(tmp_path / "evil.npy", arr, allow_pickle=True)
    with pytest.raises(PointsError, match="Python objects"):
        load_points(tmp_path / "evil.npy")
    assert not marker.exists()


def test_points_special_files_are_refused_without_hanging(tmp_path):
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    fifo_npy = tmp_path / "fifo.npy"
    os.mkfifo(fifo_npy)
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:
        f.truncate(33 * 2**20)
    dev = tmp_path / "dev.csv"
    dev.symlink_to("/dev/zero")
    for path in (tmp_path, fifo, fifo_npy, big, dev, tmp_path / "missing.csv"):
        with pytest.raises(PointsError):
            within(5, load_points, path)


def test_report_counts(capsys):
    """Not a check: prints how many fuzzed files each loader loaded and refused in this run (pytest -s)."""
    with capsys.disabled():
        print(f"\n[fuzz loaders] sessions {SESSION_COUNTS}  checkpoints {CKPT_COUNTS}  points {POINT_COUNTS}")
