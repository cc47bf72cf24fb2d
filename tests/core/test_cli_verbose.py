"""`ganviz [-v|-vv] train`: what a loader assumed is said on stderr exactly once at every verbosity (the CLI
prints the notes; the loader does not log them as well), and -v still lets ganviz's info records through,
through one handler. In-process (ganviz.cli.main), a few steps each."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch

from ganviz import cli

torch.set_num_threads(1)

VERBOSITY = [[], ["-v"], ["-vv"]]


@pytest.fixture(autouse=True)
def restore_logging():
    """cli.main configures the 'ganviz' and 'py.warnings' loggers for the process: put them back afterwards."""
    saved = {name: (log.level, list(log.handlers), log.propagate)
             for name in ("ganviz", "py.warnings") for log in [logging.getLogger(name)]}
    yield
    for name, (level, handlers, propagate) in saved.items():
        log = logging.getLogger(name)
        log.setLevel(level)
        log.handlers[:] = handlers
        log.propagate = propagate
    logging.captureWarnings(False)


def digits_npy(path) -> str:
    """Float whole numbers 0..16 in rows of 64, like scikit-learn's load_digits().data: the loader guesses the
    0-16 range and resizes 8x8 to 28x28, and says both."""
    rng = np.random.default_rng(3)
    np.save(path, rng.integers(0, 17, size=(96, 64)).astype(np.float64))
    return str(path)


def err_lines_with(err: str, needle: str) -> list[str]:
    return [line for line in err.splitlines() if needle in line]


@pytest.mark.parametrize("verbose", VERBOSITY, ids=lambda v: "".join(v) or "quiet")
def test_image_loader_notes_are_printed_once(verbose, tmp_path, capsys):
    path = digits_npy(tmp_path / "digits.npy")
    argv = [*verbose, "train", "--data", "image-file", "--set", f"image_path={path}", "--set", "batch_size=16",
            "--steps", "2", "--every", "2", "--quiet"]
    assert cli.main(argv) == 0
    out, err = capsys.readouterr()
    assert [json.loads(line)["step"] for line in out.splitlines()] == [2]
    for needle in ("pixel range 0-16 (guessed: image_range = auto)", "8x8 images resized to fit 28x28",
                   "images are dark on light: inverted"):  # uniform 0..16 noise: mean above mid-grey
        lines = err_lines_with(err, needle)
        assert len(lines) == 1, err
        assert lines[0].startswith(f"ganviz: {path}: "), lines
    about_file = [line.replace("INFO: ", "") for line in err_lines_with(err, path)]
    assert len(about_file) == 3 and len(set(about_file)) == 3, err
    assert "INFO" not in err  # nothing else logs at info for an unlabelled file


@pytest.mark.parametrize("verbose", VERBOSITY, ids=lambda v: "".join(v) or "quiet")
def test_point_file_assumptions_are_printed_once(verbose, tmp_path, capsys):
    path = tmp_path / "pts.csv"
    path.write_text("x,y\n" + "".join(f"{i * 0.1:.1f},{(i % 5) * 0.3 - 0.6:.1f}\n" for i in range(40)))
    assert cli.main([*verbose, "train", "--points", str(path), "--steps", "2", "--every", "2", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert [json.loads(line)["step"] for line in out.splitlines()] == [2]
    lines = err_lines_with(err, "header on line 1")
    assert lines == [f"ganviz: points from {path}: comma-separated; header on line 1: 'x', 'y'; 40 points (2D)"], err


def test_verbose_lets_info_records_through_one_handler(tmp_path, capsys):
    """Two -v runs in one process (as the tests and an embedding caller do) leave one stderr handler: an info
    record of a ganviz module is printed once, with its level; without -v it is not printed at all."""
    for name in ("a", "b"):
        path = digits_npy(tmp_path / f"{name}.npy")
        assert cli.main(["-v", "train", "--data", "image-file", "--set", f"image_path={path}", "--set",
                         "batch_size=16", "--steps", "1", "--quiet"]) == 0
    capsys.readouterr()
    logging.getLogger("ganviz.core.images.cache").info("probe record")
    assert capsys.readouterr().err.splitlines() == ["ganviz: INFO: probe record"]
    assert cli.main(["train", "--steps", "1", "--quiet"]) == 0
    capsys.readouterr()
    logging.getLogger("ganviz.core.images.cache").info("probe record")
    assert capsys.readouterr().err == ""
