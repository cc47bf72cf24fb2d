"""Export without Qt: video files (frame count, size, decode back), atomic writes and their failures, session
files (round trip, validation, exact replay), checkpoints (continue identically), the CSV history, and the
training process's new requests."""

from __future__ import annotations

import errno
import math
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image

import ganviz
from ganviz.core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint, trainer_from_checkpoint
from ganviz.core.commands import (
    Reset,
    SetBatchSize,
    SetConfig,
    SetDataset,
    SetLearningRates,
    SetObjective,
    SetRunning,
    StepBoth,
    StepD,
    StepG,
)
from ganviz.core.config import TrainConfig
from ganviz.core.trainer import Trainer
from ganviz.export import DiskFullError, EncoderMissingError, ExportError
from ganviz.export import video as V
from ganviz.export.history import HistoryLog
from ganviz.export.replay import Replayer, replay
from ganviz.export.session import (
    LoggedCommand,
    SessionError,
    dumps_session,
    load_session,
    loads_session,
    save_session,
    session_from_trainer,
)

torch.set_num_threads(1)

TINY = dict(d_width=16, g_width=16, d_depth=2, g_depth=2, batch_size=32, n_view=64, kde_samples=256, grid_size=16,
            mode_samples=300, w1_samples=64, device="cpu")


def tiny(**kw) -> TrainConfig:
    return TrainConfig(**{**TINY, **kw})


def frames(n: int, h: int = 66, w: int = 98) -> list[np.ndarray]:
    """Frame i: grey level 20 i, with a white bar whose row says i (so decoding can check the order)."""
    out = []
    for i in range(n):
        f = np.full((h, w, 3), 20 * i, dtype=np.uint8)
        f[4 * i: 4 * i + 4, :, :] = 255
        out.append(f)
    return out


def files_in(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ------------------------------------------------------------------------------------------ video
def test_mp4_frame_count_size_and_decodes_back(tmp_path):
    import imageio.v2 as iio

    path = tmp_path / "run.mp4"
    seen = []
    with V.FrameWriter(path, fps=12, progress=lambda n, total: seen.append((n, total)), total=10) as w:
        for f in frames(10):
            w.write(f)
    assert seen[-1] == (10, 10) and len(seen) == 10
    assert files_in(tmp_path) == ["run.mp4"]  # no temporary left
    reader = iio.get_reader(path, format="FFMPEG")
    try:
        assert reader.count_frames() == 10
        assert reader.get_meta_data()["size"] == (98, 66)
        assert reader.get_meta_data()["fps"] == 12
        decoded = [reader.get_data(i) for i in range(10)]
    finally:
        reader.close()
    for i, got in enumerate(decoded):
        assert got.shape == (66, 98, 3)
        assert abs(float(got[40:60, :, 0].mean()) - 20 * i) < 6  # the grey level survives H.264
        assert got[4 * i + 1: 4 * i + 3, 10:90].mean() > 230  # and the white bar is in its row


def test_mp4_pads_odd_sizes_to_even(tmp_path):
    import imageio_ffmpeg

    path = tmp_path / "odd.mp4"
    V.encode_frames(frames(3, h=51, w=77), path, fps=10)
    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    assert meta["size"] == (78, 52) and sum(1 for _ in gen) == 3


def test_gif_frames_palette_and_loop(tmp_path):
    path = tmp_path / "anim.gif"
    V.encode_frames(frames(8), path, fps=20)
    im = Image.open(path)
    assert im.n_frames == 8 and im.size == (98, 66)
    assert im.info["loop"] == 0 and im.info["duration"] == 50
    assert im.mode == "P"
    im.seek(5)
    rgb = np.asarray(im.convert("RGB"))
    assert abs(int(rgb[40, 50, 0]) - 100) <= 2 and rgb[21, 50].min() > 250
    im.close()


def test_a_gif_is_written_as_it_goes_and_keeps_its_frames_at_the_limit(tmp_path, monkeypatch):
    """Issue 19.5: all GIF frames were held in memory (~9 GB for 5,000 window frames) and a GIF that reached the
    limit was thrown away whole. Now frames go to the temporary file as they come, identical neighbours merge,
    and at the limit FrameLimitReached leaves what was recorded to be committed."""
    monkeypatch.setattr(V, "MAX_GIF_FRAMES", 12)
    path = tmp_path / "long.gif"
    w = V.FrameWriter(path, fps=25)
    assert w.frame_limit == 12
    sizes = []
    fs = frames(6)
    for i, k in enumerate([0, 1, 2, 3, 4, 5, 5, 0, 1, 2, 3, 4]):  # a repeated picture at 5, 6 (a paused run)
        w.write(fs[k])
        if i in (3, 9):
            sizes.append(w.tmp.stat().st_size)
    assert 0 < sizes[0] < sizes[1]  # on disk while recording, not in a list in memory
    assert w._gif is not None and not hasattr(w, "_gif_frames")
    with pytest.raises(V.FrameLimitReached, match="limit of 12 frames; the frames so far are kept"):
        w.write(fs[0])
    assert w.close() == path and files_in(tmp_path) == ["long.gif"]
    im = Image.open(path)
    assert im.n_frames == 11 and im.info["loop"] == 0  # 12 frames, two identical neighbours merged
    durations = []
    for i in range(im.n_frames):
        im.seek(i)
        durations.append(im.info["duration"])
    assert sum(durations) == 12 * 40 and 80 in durations
    im.seek(5)
    rgb = np.asarray(im.convert("RGB"))
    assert abs(int(rgb[40, 50, 0]) - 100) <= 2  # the picture survives the splice (see test_gif_frames_...)
    im.close()


def test_png_sequence_folder(tmp_path):
    out = tmp_path / "frames"
    V.encode_frames(frames(4), str(out) + "/", fps=10)
    assert files_in(tmp_path) == ["frames"]
    names = files_in(out)
    assert names == [f"frame_{i:06d}.png" for i in range(4)]
    assert np.array_equal(np.asarray(Image.open(out / names[2]).convert("RGB")), frames(4)[2])


def test_bad_paths_raise_clear_errors_and_write_nothing(tmp_path):
    with pytest.raises(ExportError, match="does not exist"):
        V.FrameWriter(tmp_path / "missing" / "x.mp4")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ExportError, match="not a folder"):
        V.FrameWriter(tmp_path / "afile" / "x.gif")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.png").write_text("x")
    with pytest.raises(ExportError, match="not empty"):
        V.FrameWriter(str(tmp_path / "full") + "/")
    with pytest.raises(ExportError, match="cannot tell the format"):
        V.FrameWriter(tmp_path / "x.avi")
    with pytest.raises(ExportError, match="fps"):
        V.FrameWriter(tmp_path / "x.gif", fps=0)
    assert files_in(tmp_path) == ["afile", "full"]
    assert files_in(tmp_path / "full") == ["old.png"]


def test_missing_encoder_suggests_gif_or_png(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # `import imageio_ffmpeg` raises ImportError
    with pytest.raises(EncoderMissingError, match="imageio-ffmpeg") as info:
        V.FrameWriter(tmp_path / "x.mp4")
    assert "GIF" in str(info.value) and "PNG" in str(info.value)
    assert files_in(tmp_path) == []
    V.encode_frames(frames(2), tmp_path / "fallback.gif")  # GIF still works without it
    assert files_in(tmp_path) == ["fallback.gif"]


@pytest.mark.parametrize("name", ["x.mp4", "x.gif", "seq/"])
def test_disk_full_while_writing_removes_the_partial_file(tmp_path, monkeypatch, name):
    original = V.FrameWriter._write
    calls = {"n": 0}

    def write(self, rgb):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        original(self, rgb)

    monkeypatch.setattr(V.FrameWriter, "_write", write)
    with pytest.raises(DiskFullError, match="disk is full") as info:
        V.encode_frames(frames(5), str(tmp_path / name), fps=10)
    assert "partial file was removed" in str(info.value)
    assert files_in(tmp_path) == []


def test_disk_full_at_finalising_a_gif_removes_the_partial_file(tmp_path, monkeypatch):
    from ganviz.export import gifstream

    def close(self):  # the trailer does not fit
        self.fp.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gifstream.GifStream, "close", close)
    w = V.FrameWriter(tmp_path / "x.gif")
    for f in frames(3):
        w.write(f)
    with pytest.raises(DiskFullError):
        w.close()
    assert files_in(tmp_path) == []


def test_cancel_and_empty_recordings_leave_nothing(tmp_path):
    with pytest.raises(ExportError, match="cancelled"):
        V.encode_frames(iter(frames(6)), tmp_path / "x.mp4", cancel=lambda: True)
    with pytest.raises(ExportError, match="nothing was recorded"):
        V.encode_frames([], tmp_path / "y.gif")
    with pytest.raises(ExportError, match="one size"):
        V.encode_frames([frames(1)[0], frames(1, h=10, w=10)[0]], tmp_path / "z.gif")
    assert files_in(tmp_path) == []


# ------------------------------------------------------------------------------------------ sessions and replay
def live_run() -> tuple[Trainer, TrainConfig]:
    """A run with every kind of live change, fed through the engine's own drains (Trainer.train)."""
    cfg = tiny()
    t = Trainer(cfg)
    t.train(12)
    t.submit(SetObjective("wgan-gp"))
    t.submit(SetLearningRates(d_lr=5e-4))
    t.train(6)
    t.submit(SetRunning(False))
    t.submit(StepD())
    t.submit(StepD())
    t.submit(StepG())
    t.train(3)
    t.submit(StepBoth())
    t.submit(SetObjective("hinge"))  # one drain: the setting applies first, then the manual step
    t.train(3)
    t.submit(SetConfig({"d_width": 24}))  # re-initialises: the step count restarts at 0
    t.train(5)
    t.submit(StepD())
    t.submit(Reset(seed=3))  # one drain: reset, then the manual step from step 0
    t.train(4)
    t.submit(SetConfig({"seed": 5}))  # a re-initialising change whose event looks like a Reset's
    t.train(2)
    t.submit(SetDataset("moons"))  # 2D -> 2D: hot swap, no reset
    t.submit(SetBatchSize(40))
    t.train(5)
    t.submit(Reset())
    t.submit(SetObjective("lsgan"))
    t.train(4)
    return t, cfg


def assert_same_run(a: Trainer, b: Trainer) -> None:
    assert (a.step, a.d_updates, a.g_updates) == (b.step, b.d_updates, b.g_updates)
    assert a.config == b.config
    for x, y in [(a.G, b.G), (a.D, b.D)]:
        for (k, u), v in zip(x.state_dict().items(), y.state_dict().values(), strict=True):
            assert torch.equal(u, v), k
    sa, sb = a.snapshot(with_fields=False), b.snapshot(with_fields=False)
    assert np.array_equal(sa.history.steps, sb.history.steps)
    for key, col in sa.history.values.items():
        assert np.array_equal(col, sb.history.values[key], equal_nan=True), key
    assert sa.metrics.keys() == sb.metrics.keys()
    for key, value in sa.metrics.items():
        assert value == sb.metrics[key] or (math.isnan(value) and math.isnan(sb.metrics[key])), key


def test_session_file_round_trip_and_exact_replay(tmp_path):
    t, cfg = live_run()
    session = session_from_trainer(t, cfg)
    steps = [(e.step, type(e.command).__name__) for e in session.commands]
    assert steps == [(12, "SetObjective"), (12, "SetLearningRates"), (18, "SetRunning"), (18, "StepD"),
                     (19, "StepD"), (20, "StepG"), (24, "SetObjective"), (24, "StepBoth"), (28, "SetConfig"),
                     (5, "Reset"), (0, "StepD"), (5, "SetConfig"), (2, "SetDataset"), (2, "SetBatchSize"),
                     (7, "Reset"), (0, "SetObjective")]
    assert session.final_step == t.step == 4
    for name in ("s.toml", "s.json"):
        save_session(session, tmp_path / name)
        assert load_session(tmp_path / name) == session
    text = (tmp_path / "s.toml").read_text()
    assert 'command = "SetObjective"' in text and "args = { name = \"wgan-gp\" }" in text
    assert "[config]" in text and "d_width = 16" in text and "seed = 0" in text

    r = replay(load_session(tmp_path / "s.toml"))
    assert_same_run(t, r)
    assert session_from_trainer(r, cfg).commands == session.commands  # a replay saves as the same session


def test_replay_reproduces_every_step_of_a_run_without_resets():
    cfg = tiny(data="bimodal-1d", z_dim=1)
    t = Trainer(cfg)
    histories, metrics = [], []
    plan = [(10, SetObjective("lsgan")), (7, SetLearningRates(g_lr=2e-3)), (9, StepD()), (5, None)]
    for n, cmd in plan:
        t.train(n)
        snap = t.snapshot(with_fields=False)
        histories.append(snap.history)
        metrics.append((snap.step, snap.metrics))
        if cmd is not None:
            t.submit(cmd)
    session = session_from_trainer(t, cfg)
    r = Replayer(session)
    r.finish()
    rs = r.trainer.snapshot(with_fields=False)
    steps = np.concatenate([h.steps for h in histories])
    assert np.array_equal(rs.history.steps, steps) and steps[0] == 1 and steps[-1] == t.step
    for key in rs.history.values:
        full = np.concatenate([h.values[key] for h in histories])
        assert np.array_equal(rs.history.values[key], full, equal_nan=True), key
    # metrics at the same steps are identical (they are seeded by (seed, step) and depend on the weights)
    step, m = metrics[-1]
    assert r.trainer.step == step
    assert rs.metrics["w1"] == m["w1"] and rs.metrics["jsd_true"] == m["jsd_true"]


def test_replayer_counts_steps_and_rejects_out_of_order_logs():
    t, cfg = live_run()
    session = session_from_trainer(t, cfg)
    r = Replayer(session)
    left = r.steps_left()
    r.finish()
    assert r.ticks == left
    bad = type(session)(cfg, (LoggedCommand(10, SetObjective("ns")), LoggedCommand(5, SetObjective("hinge"))), 20)
    with pytest.raises(SessionError, match=r"commands\[1\] \(SetObjective\) is at step 5"):
        replay(bad)


GOOD = """format = "ganviz-session"
format_version = 1
seed = 0
final_step = 30
[config]
d_width = 16
[[commands]]
step = 10
command = "SetObjective"
args = { name = "hinge" }
"""


@pytest.mark.parametrize("text, message", [
    (GOOD[: len(GOOD) // 2], "not valid TOML"),  # truncated
    (GOOD.replace('format = "ganviz-session"', 'format = "scene"'), "not a ganviz session"),
    (GOOD.replace("format_version = 1", "format_version = 99"), "format_version 99"),
    (GOOD.replace('"SetObjective"', '"os.system"'), r"commands\[0\]: unknown command 'os.system'"),
    (GOOD.replace('name = "hinge"', 'name = "nope"'), r"commands\[0\] \(SetObjective\): objective='nope'"),
    (GOOD.replace('name = "hinge"', "name = 3"), r"commands\[0\] \(SetObjective\): name must be text"),
    (GOOD.replace('name = "hinge"', 'nam = "hinge"'), r"unknown argument\(s\) nam"),
    (GOOD.replace('"SetObjective"', '"SetLearningRates"').replace('name = "hinge"', "d_lr = nan"),
     r"commands\[0\] \(SetLearningRates\): d_lr=nan is out of range"),
    (GOOD.replace('"SetObjective"', '"SetConfig"').replace('name = "hinge"', "values = { r1_gamma = -1 }"),
     r"commands\[0\] \(SetConfig\): r1_gamma=-1.0 is out of range"),
    (GOOD.replace('"SetObjective"', '"SetRunning"').replace('name = "hinge"', "running = 1"),
     "running must be true or false"),
    (GOOD.replace('"SetObjective"', '"SetSpeed"').replace('name = "hinge"', "steps_per_sec = -inf"),
     "steps_per_sec must be a positive number"),
    (GOOD.replace("step = 10", "step = -1"), r"commands\[0\]: 'step' must be a non-negative integer"),
    (GOOD.replace("step = 10", 'step = "10"'), "'step' must be a non-negative integer"),
    (GOOD.replace("d_width = 16", "d_width = 1e9"), r"\[config\] d_width=1000000000 is out of range"),
    (GOOD.replace("d_width = 16", "d_lr = nan"), r"\[config\] d_lr=nan is out of range"),
    (GOOD.replace("d_width = 16", "colour = 1"), r"\[config\] unknown key 'colour'"),
    (GOOD.replace("seed = 0", "seed = 4"), "must agree"),
    (GOOD.replace("final_step = 30", "final_step = 1.5"), "final_step must be a non-negative integer"),
    (GOOD + "evil = 1\n", r"commands\[0\]: unknown key\(s\) evil"),
    ('format = "ganviz-session"\nformat_version = 1\ncommands = 3\n[config]\n', "commands must be a list"),
    ("format_version = 1\n[config]\n", "not a ganviz session"),
])
def test_session_validation_names_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SessionError, match=message) as info:
        load_session(path)
    assert str(path) in str(info.value)


def test_session_json_and_odd_inputs():
    assert loads_session(GOOD).commands == (LoggedCommand(10, SetObjective("hinge")),)
    with pytest.raises(SessionError, match="not valid JSON"):
        loads_session('{"format": "ganviz-session", "config": {', fmt="json")
    with pytest.raises(SessionError, match=r"\[config\] d_lr=nan"):
        loads_session('{"format": "ganviz-session", "format_version": 1, "config": {"d_lr": NaN}}', fmt="json")
    with pytest.raises(SessionError, match="commands must be a list"):
        loads_session('{"format": "ganviz-session", "format_version": 1, "config": {}, "commands": {}}',
                      fmt="json")
    with pytest.raises(SessionError, match="a session is a table"):
        loads_session("[1, 2]", fmt="json")
    with pytest.raises(SessionError, match="no such file"):
        load_session("/nonexistent/session.toml")
    again = loads_session(dumps_session(loads_session(GOOD)))
    assert again.config == TrainConfig(d_width=16) and again.final_step == 30
    assert again.commands == loads_session(GOOD).commands
    assert again.ganviz_version == ganviz.__version__


# ------------------------------------------------------------------------------------------ checkpoints
def test_checkpoint_round_trip_continues_identically(tmp_path):
    cfg = tiny(objective="wgan-gp", d_optimizer="rmsprop", instance_noise=0.1, instance_noise_decay=0.99)
    a = Trainer(cfg)
    a.train(50)
    save_checkpoint(a, tmp_path / "c.pt")
    assert a.events[-1].kind == "checkpoint" and "c.pt" in a.events[-1].label
    a.snapshot(with_fields=False)
    a.train(50)
    m_a = a.snapshot(with_fields=False)

    b = Trainer(tiny(seed=9, d_width=32, objective="ns"))  # a different run: everything is replaced
    b.train(3)
    load_checkpoint(b, tmp_path / "c.pt")
    assert (b.step, b.d_updates, b.g_updates, b.config) == (50, 50, 50, cfg)
    assert b.events[-1].kind == "reset" and "checkpoint" in b.events[-1].detail
    b.snapshot(with_fields=False)
    b.train(50)
    m_b = b.snapshot(with_fields=False)
    assert m_b.step == m_a.step == 100
    for key in m_a.history.values:
        assert np.array_equal(m_a.history.values[key], m_b.history.values[key], equal_nan=True), key
    assert m_a.metrics["w1"] == m_b.metrics["w1"] and m_a.metrics["critic_gap"] == m_b.metrics["critic_gap"]
    for u, v in zip(a.D.state_dict().values(), b.D.state_dict().values(), strict=True):
        assert torch.equal(u, v)

    c = trainer_from_checkpoint(tmp_path / "c.pt")
    c.train(50)
    assert torch.equal(next(iter(c.G.state_dict().values())), next(iter(a.G.state_dict().values())))


def test_session_after_a_checkpoint_load_starts_from_it(tmp_path):
    cfg = tiny()
    a = Trainer(cfg)
    a.train(20)
    save_checkpoint(a, tmp_path / "c.pt")
    b = Trainer(cfg)
    b.submit(SetObjective("lsgan"))
    b.train(5)
    load_checkpoint(b, tmp_path / "c.pt")
    b.submit(SetObjective("hinge"))
    b.train(7)
    session = session_from_trainer(b, cfg)
    assert session.checkpoint == str((tmp_path / "c.pt").resolve())
    assert session.commands == (LoggedCommand(20, SetObjective("hinge")),) and session.final_step == 27
    assert_same_run(b, replay(session))


def test_bad_checkpoints_leave_the_trainer_untouched(tmp_path):
    t = Trainer(tiny())
    t.train(5)
    before = {k: v.clone() for k, v in t.D.state_dict().items()}
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="not a ganviz checkpoint"):
        load_checkpoint(t, tmp_path / "junk.pt")
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(t, tmp_path / "missing.pt")
    other = Trainer(tiny())
    save_checkpoint(other, tmp_path / "c.pt")
    state = torch.load(tmp_path / "c.pt", weights_only=True)
    state["config"]["d_width"] = 64  # the weights no longer fit the config
    torch.save(state, tmp_path / "mismatch.pt")
    with pytest.raises(CheckpointError, match="does not fit"):
        load_checkpoint(t, tmp_path / "mismatch.pt")

    # optimiser step counters that Adam's bias correction cannot take (found by the loader fuzz test: a plain
    # -1025 raised OverflowError, a step of -1 ZeroDivisionError, both out of the trial step)
    save_checkpoint(t, tmp_path / "good.pt")
    good = torch.load(tmp_path / "good.pt", weights_only=True)
    for bad_step in (-1025, torch.tensor(-1.0), 2.5, torch.tensor([1.0, 2.0]), float("nan"), True):
        state = {**good, "opt_g": {**good["opt_g"], "state": dict(good["opt_g"]["state"])}}
        state["opt_g"]["state"][0] = {**state["opt_g"]["state"][0], "step": bad_step}
        torch.save(state, tmp_path / "bad_step.pt")
        with pytest.raises(CheckpointError, match="step"):
            load_checkpoint(t, tmp_path / "bad_step.pt")

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"format": "ganviz-checkpoint", "x": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="not a ganviz checkpoint: it holds Python objects .* could run code"):
        load_checkpoint(t, tmp_path / "evil.pt")  # weights_only: never unpickles Evil
    assert t.step == 5 and t.config == tiny()
    for k, v in t.D.state_dict().items():
        assert torch.equal(v, before[k])
    with pytest.raises(ExportError, match="does not exist"):
        save_checkpoint(t, tmp_path / "nope" / "c.pt")


# ------------------------------------------------------------------------------------------ CSV history
def test_history_log_keeps_every_step_and_the_metrics(tmp_path):
    t = Trainer(tiny())
    log = HistoryLog()
    for n in (7, 5):
        t.train(n)
        log.add(t.snapshot(with_fields=False))
    t.submit(Reset())
    t.train(3)
    log.add(t.snapshot(with_fields=False))
    header, rows = log.table()
    assert header[:4] == ["segment", "step", "d_loss", "g_loss"] and "w1" in header
    assert "metric_d_real_mean" in header  # a metric named like a per-step column is renamed
    assert [(int(r[0]), int(r[1])) for r in rows] == [(0, s) for s in range(1, 13)] + [(1, s) for s in (1, 2, 3)]
    w1 = header.index("w1")
    assert [r[1] for r in rows if not math.isnan(r[w1])] == [7.0, 12.0, 3.0]
    log.write_csv(tmp_path / "m.csv")
    lines = (tmp_path / "m.csv").read_text().splitlines()
    assert len(lines) == 16 and lines[0].startswith("segment,step,d_loss")
    assert lines[1].split(",")[:2] == ["0", "1"] and lines[1].split(",")[w1] == ""


# ------------------------------------------------------------------------------------------ training process
def test_process_answers_command_log_and_checkpoint_requests(tmp_path):
    from ganviz.core.process import RequestError, TrainerProcess

    cfg = tiny()
    proc = TrainerProcess(cfg, interval=0.01)
    proc.start()
    try:
        proc.submit(SetObjective("hinge"))
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 60:  # nobody else receives: request() reads the pipe itself
            log = proc.request("command_log", timeout=30)
            if log["command_log"]:
                break
        assert log["config"] == cfg and log["command_log"][0][1] == SetObjective("hinge")
        assert log["step"] >= log["command_log"][0][0]
        saved = proc.request("save_checkpoint", str(tmp_path / "p.pt"), timeout=30)
        assert (tmp_path / "p.pt").exists() and saved["step"] >= log["step"]
        loaded = proc.request("load_checkpoint", str(tmp_path / "p.pt"), timeout=30)
        assert loaded["step"] == saved["step"] and loaded["config"].objective == "hinge"
        with pytest.raises(RequestError, match="missing.pt: no such file"):
            proc.request("load_checkpoint", str(tmp_path / "missing.pt"), timeout=30)
        snaps = []
        while len(snaps) < 2:  # snapshots met while waiting were kept for receive(); training goes on
            snap = proc.receive(1.0)
            if snap is not None:
                snaps.append(snap)
                proc.frame_done()
        assert snaps[-1].objective == "hinge"
    finally:
        assert proc.stop(2.0)
