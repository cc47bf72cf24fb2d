"""`ganviz train` / `ganviz list` in-process (ganviz.cli.main), plus one subprocess run of the console script."""

from __future__ import annotations

import json
import math
import subprocess
import sysconfig
from pathlib import Path

import pytest
import torch

from ganviz import cli
from ganviz.core.distributions import DATASETS
from ganviz.core.objectives import OBJECTIVES

torch.set_num_threads(1)

TRAIN = ["train", "--data", "ring8", "--objective", "wgan-gp", "--steps", "200", "--every", "100", "--seed", "0",
         "--set", "d_width=32", "--set", "g_width=32", "--quiet"]
KEYS = {"step", "d_loss", "g_loss", "d_real_mean", "d_fake_mean", "jsd_est", "w1", "modes_covered", "hq_fraction",
        "reverse_kl", "critic_gap"}


def run_main(argv: list[str]) -> int:
    """cli.main's exit status, whether it returns it or argparse raises SystemExit."""
    try:
        return cli.main(argv)
    except SystemExit as e:
        return int(e.code or 0)


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("cli")
    a, b = d / "a.jsonl", d / "b.jsonl"
    assert cli.main([*TRAIN, "--out", str(a)]) == 0
    assert cli.main([*TRAIN, "--out", str(b)]) == 0
    return a, b


def test_train_writes_one_json_line_per_every(two_runs):
    rows = read_lines(two_runs[0])
    assert [r["step"] for r in rows] == [100, 200]
    for r in rows:
        assert not KEYS - set(r), KEYS - set(r)
        assert r["objective"] == "wgan-gp" and r["d_updates"] == r["step"] and r["g_updates"] == r["step"]
        assert r["jsd_est"] is None  # a linear critic has no JSD estimate (NaN is written as null)
        for k in ("d_loss", "g_loss", "d_real_mean", "d_fake_mean", "w1", "critic_gap"):
            assert isinstance(r[k], float) and math.isfinite(r[k]), k
        # the critic gap is E f(real) - E f(fake), from the same samples as the two means
        assert r["critic_gap"] == pytest.approx(r["d_real_mean"] - r["d_fake_mean"], abs=1e-5)
        assert r["w1"] > 0 and 0 <= r["modes_covered"] <= 8 and 0 <= r["hq_fraction"] <= 1
        assert r["reverse_kl"] is None or r["reverse_kl"] >= 0  # undefined (null) when no sample is HQ


def test_train_is_deterministic(two_runs):
    a, b = two_runs
    assert a.read_text() == b.read_text()


def test_train_to_stdout_with_a_probability_objective(capsys):
    assert cli.main(["train", "--data", "gaussian-1d", "--objective", "ns", "--steps", "6", "--every", "3",
                     "--set", "d_width=16", "--set", "g_width=16", "--set", "kde_samples=256", "--quiet"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["step"] for r in rows] == [3, 6]
    for r in rows:
        # an estimate from 2048 + 2048 samples: an untrained D gives ~0, a few 0.01 either side
        assert -0.05 <= r["jsd_est"] <= math.log(2) + 0.05 and r["critic_gap"] is None
        assert 0 < r["d_real_mean"] < 1 and "jsd_true" in r


@pytest.mark.parametrize("argv,needle", [
    (["--set", "nonsense=1"], "nonsense"),
    (["--set", "d_lr=5"], "d_lr"),
    (["--set", "d_width"], "key=value"),
    (["--objective", "nope"], "objective"),
    (["--data", "nope"], "data"),
    (["--steps", "abc"], "--steps"),
    (["--seed", "-1"], "seed"),
])
def test_bad_arguments_exit_2_naming_the_key(argv, needle, capsys, tmp_path):
    out = tmp_path / "o.jsonl"
    assert run_main(["train", "--steps", "1", *argv, "--out", str(out)] if "--steps" not in argv
                    else ["train", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert needle in err and "error" in err
    assert not out.exists() or out.read_text() == ""  # nothing trained, nothing written


def test_out_of_range_message_names_the_range(capsys):
    assert run_main(["train", "--steps", "1", "--set", "d_lr=5"]) == 2
    assert "[1e-07, 1]" in capsys.readouterr().err


def test_list_prints_datasets_objectives_formulas_and_keys(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for name in DATASETS:
        assert name in out
    for o in OBJECTIVES.values():
        assert o.name in out and o.d_formula in out and o.g_formula in out
    for key in ("d_lr", "gp_lambda", "r1_gamma", "label_smoothing", "mode_samples"):
        assert key in out
    assert "[1e-07, 1]" in out  # ranges are shown


def parsed_config(argv: list[str]):
    return cli._config_from_args(cli.parse_args(argv))


def test_paper_defaults():
    cfg = parsed_config(["train", "--objective", "wgan", "--paper-defaults"])
    assert (cfg.d_optimizer, cfg.g_optimizer, cfg.d_lr, cfg.g_lr) == ("rmsprop", "rmsprop", 5e-5, 5e-5)
    assert (cfg.d_steps, cfg.clip, cfg.batch_size) == (5, 0.01, 64)
    cfg = parsed_config(["train", "--objective", "wgan-gp", "--paper-defaults"])
    assert (cfg.d_optimizer, cfg.d_lr, cfg.beta1, cfg.beta2, cfg.gp_lambda, cfg.d_steps) == \
        ("adam", 1e-4, 0.0, 0.9, 10.0, 5)
    # --set is applied after the paper defaults
    cfg = parsed_config(["train", "--objective", "wgan", "--paper-defaults", "--set", "d_steps=3"])
    assert cfg.d_steps == 3 and cfg.d_optimizer == "rmsprop"
    assert parsed_config(["train", "--objective", "wgan"]).d_optimizer == "adam"  # only when asked


def test_paper_defaults_reach_the_trainer(tmp_path):
    out = tmp_path / "w.jsonl"
    assert cli.main(["train", "--objective", "wgan", "--paper-defaults", "--steps", "4", "--every", "4",
                     "--set", "d_width=16", "--set", "g_width=16", "--quiet", "--out", str(out)]) == 0
    (row,) = read_lines(out)
    assert (row["step"], row["d_updates"], row["g_updates"]) == (4, 20, 4)  # n_critic = 5


def test_console_script_entry_point(tmp_path):
    script = Path(sysconfig.get_path("scripts")) / "ganviz"
    assert script.exists(), f"console script not installed at {script}"
    out = tmp_path / "sub.jsonl"
    proc = subprocess.run(
        [str(script), "train", "--data", "gaussian-1d", "--objective", "lsgan", "--steps", "10", "--every", "5",
         "--seed", "1", "--set", "d_width=16", "--set", "g_width=16", "--set", "kde_samples=256",
         "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    rows = read_lines(out)
    assert [r["step"] for r in rows] == [5, 10]
    for r in rows:  # 1D data: no mode metrics
        assert KEYS - {"modes_covered", "hq_fraction", "reverse_kl"} <= set(r)
        assert r["objective"] == "lsgan" and math.isfinite(r["d_loss"])


def test_image_data_on_the_command_line_starts_with_the_dcgan_settings(capsys):
    """As the window does when switching to image data: batch 64, z 64, lr 2e-4 (DCGAN practice), except for
    keys the user set; toy data and scenes are left as they are."""
    from ganviz.core.config import TrainConfig
    from ganviz.core.images.distribution import IMAGE_DEFAULTS

    cfg = parsed_config(["train", "--data", "digits"])
    assert {k: getattr(cfg, k) for k in IMAGE_DEFAULTS} == IMAGE_DEFAULTS
    assert "batch_size=64" in capsys.readouterr().err
    cfg = parsed_config(["train", "--set", "data=shapes", "--set", "batch-size=32", "--set", "d_lr=0.001"])
    assert (cfg.data, cfg.batch_size, cfg.d_lr, cfg.g_lr, cfg.z_dim) == ("shapes", 32, 1e-3, 2e-4, 64)
    cfg = parsed_config(["train", "--data", "digits", "--objective", "wgan", "--paper-defaults"])
    assert (cfg.d_lr, cfg.d_optimizer, cfg.z_dim) == (5e-5, "rmsprop", 64)  # the paper's lr is kept
    capsys.readouterr()
    toy = parsed_config(["train", "--data", "ring8"])
    assert (toy.batch_size, toy.z_dim, toy.d_lr) == (TrainConfig().batch_size, TrainConfig().z_dim, TrainConfig().d_lr)
    assert "DCGAN" not in capsys.readouterr().err


def test_headless_rows_is_the_loop_that_train_writes(two_runs):
    """ganviz.cli.train.headless_rows, called directly, yields the rows `ganviz train` writes (NaN as null
    there), every --every steps and at the last step; a run that diverges raises Diverged at its step."""
    from ganviz.cli.train import Diverged, _clean, headless_rows
    from ganviz.core.trainer import Trainer

    cfg = cli.config_from_args(cli.parse_args(TRAIN))
    rows = list(headless_rows(Trainer(cfg), 200, 100))
    assert [{k: _clean(v) for k, v in r.items()} for r in rows] == read_lines(two_runs[0])
    small = cfg.replace(d_width=8, g_width=8, batch_size=16)
    trainer = Trainer(small)
    assert [r["step"] for r in headless_rows(trainer, 7, 3)] == [3, 6, 7]
    with torch.no_grad():
        next(trainer.D.parameters()).fill_(float("nan"))
    with pytest.raises(Diverged) as info:
        list(headless_rows(trainer, 12, 3))
    assert info.value.step == 9  # the first row after the NaN (steps 8 and 9 trained): no row was yielded
