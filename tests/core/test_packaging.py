"""Installing like a real package (issue 16): shipped assets, declared dependencies, the Qt binding, the command
line's conventions, and `import ganviz` changing nothing process-wide. The wheel itself is built, installed in
a fresh virtual environment and used from another folder by .ci/wheel_smoke.sh (a CI step)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ganviz import cli

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def run_main(argv: list[str]) -> int:
    try:
        return cli.main(argv)
    except SystemExit as e:
        return int(e.code or 0)


def python(code: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=env, cwd=cwd)


# ------------------------------------------------------------------ 1. assets shipped in the package

def test_the_assets_folder_is_mapped_into_the_package():
    assert PYPROJECT["tool"]["setuptools"]["package-dir"] == {"ganviz.assets": "assets"}
    data = PYPROJECT["tool"]["setuptools"]["package-data"]
    assert data["ganviz.assets.scenes"] == ["*.toml"] and "*.png" in data["ganviz.assets.icons"]
    setup_py = (ROOT / "setup.py").read_text(encoding="utf-8")
    assert 'find_packages(include=["ganviz", "ganviz.*"])' in setup_py and '"ganviz.assets.scenes"' in setup_py


def test_assets_are_read_through_the_package_not_the_source_tree(tmp_path):
    """From another folder, the scenes and the icon come from ganviz.assets (importlib.resources)."""
    code = ("from importlib import resources; from ganviz.resources import scene_dir, icon_paths, desktop_entry;"
            "from ganviz.core.scenes import list_scenes, load_scene;"
            "print(resources.files('ganviz.assets').is_dir(), len(list_scenes()), "
            "load_scene('digits-dcgan').config.data, [p.suffix for p in icon_paths()], "
            "'Exec=ganviz' in desktop_entry())")
    r = python(code, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    shipped = len(list((ROOT / "assets" / "scenes").glob("*.toml")))
    assert r.stdout.split() == ["True", str(shipped), "digits", "['.png',", "'.svg']", "True"]


def test_no_module_finds_assets_relative_to_its_own_file():
    """Paths like Path(__file__).parents[2] / "assets" work only in a checkout (a wheel has no assets/ there);
    ganviz.resources is the one place that reads them (with a checkout fallback for uninstalled source)."""
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "ganviz").rglob("*.py") if p.name != "resources.py"
                 and re.search(r"parents?\[?\d*\]?\s*/\s*[\"']assets", p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_sdist_manifest_carries_tests_docs_and_assets():
    text = (ROOT / "MANIFEST.in").read_text(encoding="utf-8")
    for line in ("graft tests", "graft docs", "graft assets", "include LICENSE"):
        assert line in text
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert PYPROJECT["project"]["license"] == "MIT"
    assert any(c.startswith("Topic :: ") for c in PYPROJECT["project"]["classifiers"])


# ------------------------------------------------------------------ 2. Python 3.10

def test_tomli_is_declared_for_python_310():
    deps = PYPROJECT["project"]["dependencies"]
    assert any(re.match(r"tomli\b[^-]", d) and "python_version < '3.11'" in d for d in deps), deps


def test_the_python_310_import_path_uses_tomli(tmp_path):
    """On 3.10 (no tomllib) the scene loader imports tomli: a stand-in tomli proves that branch is taken."""
    if sys.version_info < (3, 11):  # a real 3.10: the installed tomli
        import tomli

        import ganviz.core.scenes as scenes

        assert scenes.tomllib is tomli and scenes.load_scene("dirac-gan").title
        return
    fake = tmp_path / "tomli.py"
    fake.write_text("from tomllib import *\nfrom tomllib import TOMLDecodeError, loads\nUSED = True\n")
    code = ("import sys, ganviz.core.commands, ganviz.core.config, ganviz.core.safeio, ganviz.resources, tomli;"
            "real = sys.version_info; sys.version_info = (3, 10, 13, 'final', 0); sys.modules['tomllib'] = None;"
            "import ganviz.core.scenes as s; sys.version_info = real;"
            "print(s.tomllib is tomli, s.load_scene('dirac-gan').title)")
    r = python(code, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == "True"


# ------------------------------------------------------------------ 3. one Qt binding

def test_qt_binding_is_pinned_before_qtpy_and_pyqtgraph_choose():
    """A machine that asks for PyQt6 (or has it beside PySide6) still gets PySide6 everywhere in ganviz."""
    env = {**os.environ, "QT_API": "pyqt6", "PYQTGRAPH_QT_LIB": "PyQt6", "QT_QPA_PLATFORM": "offscreen"}
    code = ("import ganviz.qt.main_window, qtpy, pyqtgraph as pg, superqt;"
            "print(qtpy.API_NAME, pg.Qt.QT_LIB)")
    r = python(code, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["PySide6", "PySide6"]


def test_qtpy_is_declared():
    assert any(d.lower().startswith("qtpy") for d in PYPROJECT["project"]["dependencies"])


# ------------------------------------------------------------------ 4. the command line

def test_options_before_train_are_honoured():
    args = cli.parse_args(["--data", "moons", "--set", "d_lr=0.5", "--seed", "3", "train", "--set", "g_lr=0.01"])
    cfg = cli._config_from_args(args)
    assert (cfg.data, cfg.d_lr, cfg.g_lr, cfg.seed) == ("moons", 0.5, 0.01, 3)
    # after the subcommand wins
    cfg = cli._config_from_args(cli.parse_args(["--data", "moons", "train", "--data", "ring8"]))
    assert cfg.data == "ring8"
    assert cli.parse_args(["--threads", "3", "train"]).threads == 3
    assert cli.parse_args(["train"]).threads == 1


def test_options_before_train_reach_the_run(tmp_path):
    out = tmp_path / "m.jsonl"
    assert run_main(["--data", "gaussian-1d", "--objective", "lsgan", "train", "--steps", "2", "--every", "2",
                     "--quiet", "--out", str(out)]) == 0
    assert '"objective": "lsgan"' in out.read_text()


@pytest.mark.parametrize("argv, needle", [
    (["--data", "moons", "list"], "--data before `list`"),
    (["--set", "d_lr=0.5", "bench"], "--set before `bench`"),
    (["--screenshot", "x.png", "train"], "--screenshot: only for the window"),
    (["--safe-mode", "list"], "--safe-mode: only for the window"),
])
def test_options_a_subcommand_would_drop_are_refused(argv, needle, capsys):
    assert run_main(argv) == 2
    assert needle in capsys.readouterr().err


def test_no_display_says_what_to_do(monkeypatch, capsys):
    monkeypatch.setattr(sys, "platform", "linux")
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(cli, "cmd_gui", lambda args: pytest.fail("tried to open the window with no display"))
    assert run_main([]) == cli.EXIT_NO_DISPLAY
    err = capsys.readouterr().err
    assert "no display" in err and "ganviz train" in err and "QT_QPA_PLATFORM=offscreen" in err


def test_no_display_in_a_real_process_exits_cleanly():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = subprocess.run([sys.executable, "-m", "ganviz"], capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == cli.EXIT_NO_DISPLAY, r.stderr[-2000:]
    assert "no display" in r.stderr and "Traceback" not in r.stderr


def test_list_into_a_closed_pipe_is_quiet():
    r = subprocess.Popen([sys.executable, "-m", "ganviz", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    r.stdout.close()  # like `| head` that has already exited
    err = r.stderr.read().decode()
    assert r.wait(timeout=60) == cli.EXIT_BROKEN_PIPE
    assert "BrokenPipeError" not in err and "Traceback" not in err, err


def test_version_and_python_m(capsys):
    from ganviz import __version__

    assert run_main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"ganviz {__version__}"
    r = subprocess.run([sys.executable, "-m", "ganviz", "--version"], capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout.strip()) == (0, f"ganviz {__version__}")


def test_shell_completion_knows_the_subcommands_and_options(capsys):
    assert run_main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0  # valid bash
    for word in ("train", "list", "install-desktop", "--tensorboard", "--preset"):
        assert word in script
    assert run_main(["completion", "zsh"]) == 0
    assert "#compdef ganviz" in capsys.readouterr().out


def test_install_desktop_and_uninstall(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert run_main(["install-desktop"]) == 0
    entry = (tmp_path / "applications" / "ganviz.desktop").read_text()
    exec_line = next(line for line in entry.splitlines() if line.startswith("Exec="))
    assert exec_line != "Exec=ganviz" and "ganviz" in exec_line  # the ganviz of this environment, by path
    png = tmp_path / "icons" / "hicolor" / "256x256" / "apps" / "ganviz.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "ganviz.svg").read_text().lstrip().startswith("<")
    assert "<launchable type=\"desktop-id\">ganviz.desktop</launchable>" in \
        (tmp_path / "metainfo" / "ganviz.metainfo.xml").read_text()
    assert run_main(["install-desktop", "--uninstall"]) == 0
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def _exec_argv(value: str) -> list[str]:
    """Exec= read back as the Desktop Entry Specification says: the string value's escapes, then arguments
    split on spaces outside double quotes, where \\ escapes " ` $ \\. Single quotes are not quoting there."""
    value = re.sub(r"\\(.)", lambda m: {"s": " ", "n": "\n", "t": "\t", "r": "\r"}.get(m[1], m[1]), value)
    args, cur, quoted, i = [], "", False, 0
    while i < len(value):
        c = value[i]
        if quoted and c == "\\":
            i += 1
            assert value[i] in '"`$\\', value
            cur += value[i]
        elif c == '"':
            quoted = not quoted
        elif c == " " and not quoted:
            args, cur = [*args, cur], ""
        else:
            assert quoted or c not in "'\\><~|&;$*?#()`", f"reserved {c!r} outside quotes in {value!r}"
            cur += c
        i += 1
    assert not quoted, value
    return [a.replace("%%", "%") for a in [*args, cur]]


@pytest.mark.parametrize("command", [
    ["/opt/ganviz/bin/ganviz"],
    ["/home/ana/my venvs/gan (3.11)/bin/ganviz"],
    ["/home/o'brien/100% \"real\" $HOME`x`\\/python3", "-m", "ganviz"],
])
def test_desktop_exec_line_follows_the_desktop_entry_spec(tmp_path, command):
    """A venv path with a space or a quote gets the spec's double quotes (shlex's single quotes are invalid
    there: desktop-file-validate refuses them and launchers split the path)."""
    from ganviz.cli.install_desktop import desktop_entry

    entry = desktop_entry(command)
    exec_line = next(line for line in entry.splitlines() if line.startswith("Exec="))
    assert _exec_argv(exec_line[len("Exec="):]) == command
    if shutil.which("desktop-file-validate"):
        (tmp_path / "ganviz.desktop").write_text(entry, encoding="utf-8")
        r = subprocess.run(["desktop-file-validate", str(tmp_path / "ganviz.desktop")], capture_output=True,
                           text=True)
        assert "error" not in r.stdout + r.stderr, r.stdout + r.stderr


def test_verbose_shows_info_records_and_warnings_reach_stderr():
    code = ("import logging, warnings; from ganviz import cli; log = logging.getLogger('ganviz.core.images.files');"
            "cli._setup_logging(0); log.info('hidden note'); warnings.warn('a user-visible warning');"
            "log.warning('a loader warning'); cli._setup_logging(1); log.info('assumed pixels in [0, 16]')")
    r = python(code)
    assert r.returncode == 0
    assert "hidden note" not in r.stderr
    assert "ganviz: WARNING: a loader warning" in r.stderr and "a user-visible warning" in r.stderr
    assert "ganviz: INFO: assumed pixels in [0, 16]" in r.stderr
    assert cli.parse_args(["-vv", "list"]).verbose == 2 and cli.parse_args(["train", "-v"]).verbose == 1


# ------------------------------------------------------------------ process-wide state, caches, threads

def test_import_ganviz_changes_no_environment_variable():
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "QT_API", "PYQTGRAPH_QT_LIB")}
    r = python("import os; before = dict(os.environ); import ganviz, ganviz.core.trainer;"
               "print(sorted(set(os.environ.items()) ^ set(before.items())))", env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_the_ganviz_program_sets_one_blas_thread_for_itself_and_its_children():
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    r = python("import os; from ganviz import cli; cli._prepare_process(); print(os.environ['OPENBLAS_NUM_THREADS'],"
               "os.environ['QT_API'])", env=env)
    assert r.stdout.split() == ["1", "pyside6"], r.stderr


def test_cache_follows_xdg_cache_home(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "GANVIZ_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    r = python("from ganviz.core.images.cache import cache_dir; print(cache_dir())", env=env)
    assert Path(r.stdout.strip()) == tmp_path / "xdg" / "ganviz", r.stderr
    env["GANVIZ_CACHE_DIR"] = str(tmp_path / "own")
    r = python("from ganviz.core.images.cache import cache_dir; print(cache_dir())", env=env)
    assert Path(r.stdout.strip()) == tmp_path / "own"


def test_trainer_trains_with_few_threads_unless_the_user_chose(monkeypatch):
    import torch

    from ganviz.core import engine
    from ganviz.core.config import TrainConfig
    from ganviz.core.trainer import Trainer

    seen: list[int] = []
    trainer = Trainer(TrainConfig(data="gaussian-1d", d_width=8, g_width=8))
    real_iteration = trainer.iteration
    monkeypatch.setattr(trainer, "iteration", lambda: (seen.append(torch.get_num_threads()), real_iteration()))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        monkeypatch.setattr(engine, "TORCH_DEFAULT_THREADS", 3)  # as if torch were at its own default of 3
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        trainer.train(2)
        assert seen == [engine.AUTO_THREADS] * 2 and torch.get_num_threads() == 3  # scoped, then restored
        monkeypatch.setattr(engine, "TORCH_DEFAULT_THREADS", 8)  # the user set 3 themselves: kept
        trainer.train(1)
        trainer.threads = 1  # or asked the trainer
        trainer.train(1)
        assert seen[2:] == [3, 1]
    finally:
        torch.set_num_threads(before)


# ------------------------------------------------------------------ TensorBoard and the snapshot's views

def _scalars(logdir: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(logdir))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_tensorboard_gets_the_same_scalars_as_the_json_lines(tmp_path):
    out, board = tmp_path / "m.jsonl", tmp_path / "tb"
    assert run_main(["train", "--data", "ring8", "--steps", "4", "--every", "2", "--quiet", "--out", str(out),
                     "--set", "d_width=16", "--set", "g_width=16", "--tensorboard", str(board)]) == 0
    import json

    rows = [json.loads(line) for line in out.read_text().splitlines()]
    scalars = _scalars(board)
    for key in ("d_loss", "g_loss", "w1", "d_updates"):
        assert [s for s, _ in scalars[key]] == [r["step"] for r in rows]
        assert [v for _, v in scalars[key]] == pytest.approx([r[key] for r in rows], rel=1e-6)
    assert "objective" not in scalars  # text, not a scalar


def test_tensorboard_missing_is_a_clear_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails as without the package
    out = tmp_path / "keep.jsonl"
    out.write_text("earlier run\n")
    assert run_main(["train", "--steps", "2", "--quiet", "--out", str(out), "--tensorboard", str(tmp_path)]) == 2
    assert 'pip install "ganviz[tensorboard]"' in capsys.readouterr().err
    assert out.read_text() == "earlier run\n"  # nothing lost


def test_snapshot_repr_is_one_short_line_and_notebooks_get_a_picture():
    from ganviz.core.config import TrainConfig
    from ganviz.core.trainer import Trainer

    t = Trainer(TrainConfig(data="ring8", d_width=16, g_width=16))
    t.train(3)
    snap = t.snapshot(with_metrics=True)
    text = repr(snap)
    assert text.startswith("Snapshot(step=3, data='ring8', objective='ns', dim=2, n=") and "d_loss=" in text
    assert "\n" not in text and len(text) < 300 and "array(" not in text
    page = snap._repr_html_()
    assert "data:image/png;base64," in page and "<td>step</td><td>3</td>" in page
    assert snap.to_png()[:8] == b"\x89PNG\r\n\x1a\n"
