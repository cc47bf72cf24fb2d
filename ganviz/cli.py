"""Command line: argument parsing only. Qt is imported lazily, only for the GUI.

    ganviz                       open the lab window (training starts at once)
    ganviz train ...             headless training, JSON lines out
    ganviz list                  datasets, objectives, config keys
    ganviz bench ...             engine vs plain PyTorch loop (and the window, with --gui)

Options before a subcommand are the window's; `train` also takes the run's settings there and merges them
(`ganviz --data moons train --steps 100`); other subcommands refuse them with a message.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import textwrap
import time
from typing import Any

from . import __version__

EXIT_BAD_ARGS = 2
EXIT_DIVERGED = 3
EXIT_OOM = 4  # out of memory on the CPU (on CUDA, train falls back to the CPU and goes on)
EXIT_NO_DISPLAY = 5  # the window was asked for on a machine with no display
EXIT_BROKEN_PIPE = 141  # the reader of stdout went away (`ganviz list | head`): 128 + SIGPIPE, like Unix tools

# The run's settings (_add_config_args) and their defaults. None of them has an argparse default, so main can
# tell what was given, and where: before a subcommand they are stored as top_NAME.
CONFIG_DEFAULTS: dict[str, Any] = {"preset": None, "data": None, "objective": None, "seed": None, "device": None,
                                   "set": [], "paper_defaults": False, "threads": 1}
WINDOW_DEFAULTS: dict[str, Any] = {"screenshot": None, "after": 3.0, "compare": None}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # exit 2 with a clear message (argparse's default, made explicit)
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_ARGS, f"{self.prog}: error: {message}\n")


def _add_config_args(p: argparse.ArgumentParser, prefix: str = "") -> None:
    """The run's settings, with no argparse defaults (CONFIG_DEFAULTS fills them after parsing); prefix "top_"
    on the top-level parser, so that `ganviz --data moons train` can be told from `ganviz train --data moons`."""
    def add(*flags: str, **kw: Any) -> None:
        dest = kw.pop("dest", flags[0].lstrip("-").replace("-", "_"))
        if "action" not in kw and "choices" not in kw:
            kw.setdefault("metavar", dest.upper())
        p.add_argument(*flags, dest=prefix + dest, default=argparse.SUPPRESS, **kw)

    add("--preset", metavar="NAME|FILE", help="start from a shipped scene (`ganviz list` names them) or a .toml "
        "path; other options override")
    add("--data", help="dataset (see `ganviz list`)")
    add("--objective", help="objective (see `ganviz list`)")
    add("--seed", help="integer seed")
    add("--device", choices=["auto", "cpu", "cuda"], help="auto picks CUDA when available")
    add("--set", action="append", metavar="KEY=VALUE",
        help="set any config field (repeatable); `ganviz list` shows keys and ranges")
    add("--paper-defaults", action="store_true",
        help="apply the objective's paper hyper-parameters (e.g. WGAN: RMSProp 5e-5, c=0.01, n_critic=5) before "
             "--set")
    add("--threads", type=int,
        help="torch intra-op threads (default 1: small MLPs gain nothing from more, and the window needs a core)")


def _add_verbose(p: argparse.ArgumentParser, top: bool = False) -> None:
    p.add_argument("-v", "--verbose", action="count", default=0 if top else argparse.SUPPRESS,
                   help="say more on stderr (-v: what the loaders assumed, -vv: debug)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="ganviz", description="A desktop lab for watching GANs train.")
    p.add_argument("--version", action="version", version=f"ganviz {__version__}")
    _add_verbose(p, top=True)
    p.add_argument("--screenshot", metavar="PNG", default=argparse.SUPPRESS,
                   help="render the window to PNG after --after seconds, exit (works with no display)")
    p.add_argument("--after", type=float, default=argparse.SUPPRESS, help="seconds of training before --screenshot")
    p.add_argument("--compare", metavar="OBJ,OBJ[,...]", default=argparse.SUPPRESS,
                   help="open compare mode: 2-4 objectives side by side in lock-step, e.g. ns,wgan-gp")
    p.add_argument("--safe-mode", action="store_true", default=False,
                   help="start with the default layout and settings and resume no scene (if a saved scene or "
                        "layout keeps the window from opening)")
    _add_config_args(p, prefix="top_")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    t = sub.add_parser("train", help="train headless and write metrics as JSON lines",
                       description="Train headless. Writes one JSON object per --every steps.")
    _add_config_args(t)
    t.add_argument("--steps", type=int, default=5000, help="training iterations (default 5000)")
    t.add_argument("--every", type=int, default=100, help="write metrics every N steps (default 100)")
    t.add_argument("--out", "-o", help="JSON-lines output file (default: stdout)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--tensorboard", metavar="DIR",
                   help="also write the same scalars as TensorBoard events to DIR (pip install 'ganviz[tensorboard]')")
    t.add_argument("--points", metavar="FILE", help="train on your own 1D/2D points: a CSV / text file or a .npy "
                   "array (delimiter, quotes, decimal commas, header and a pandas index column are recognised)")
    t.add_argument("--columns", metavar="X,Y", help="with --points: the columns to use, by header name or number "
                   "from 1 (e.g. 'lon,lat' or '2,3')")

    sub.add_parser("list", help="datasets, objectives (with formulas), scenes, config keys with defaults and "
                   "ranges")

    b = sub.add_parser("bench", help="engine steps/s vs a plain PyTorch loop (and the window with --gui)")
    b.add_argument("--seconds", type=float, default=3.0, help="seconds per measurement (default 3)")
    b.add_argument("--repeats", type=int, default=3, help="alternating repeats; medians are reported")
    b.add_argument("--gui", action="store_true", help="also measure with the window open (offscreen)")
    b.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    b.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    b.add_argument("--ensemble", action="store_true", help="also measure the batched ensemble (N = 1, 4, 16)")
    b.add_argument("--memory", type=int, default=0, metavar="STEPS",
                   help="also train STEPS steps (e.g. 100000) and report resident memory and its growth")
    b.add_argument("--startup", action="store_true",
                   help="instead: start-up times (window, first frame, train, image scene) as ratios to importing "
                        "torch (see docs/BENCHMARKS.md)")
    b.add_argument("--against", metavar="DIR", help="with --startup: also measure the ganviz checkout in DIR, "
                   "alternating with this one (a before/after table)")

    for name, module in extension_commands().items():
        ext = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(ext)
    for subparser in sub.choices.values():
        _add_verbose(subparser)
    return p


def parse_args(argv: list[str] | None = None, parser: argparse.ArgumentParser | None = None) -> argparse.Namespace:
    """Parse, then settle the options given before a subcommand: the window takes them, `train` merges them
    (after the subcommand wins; --set from both places apply, the earlier first), any other subcommand refuses
    them with a message (exit 2) instead of dropping them silently."""
    parser = parser or build_parser()
    args = parser.parse_args(argv)
    top = {k[4:]: v for k, v in vars(args).items() if k.startswith("top_")}
    for k in top:
        delattr(args, "top_" + k)
    window_only = [k for k in WINDOW_DEFAULTS if hasattr(args, k)]
    if getattr(args, "safe_mode", False):
        window_only.append("safe_mode")
    def flags(keys: list[str]) -> str:
        return ", ".join("--" + k.replace("_", "-") for k in keys)

    if args.command is not None and window_only:
        parser.error(f"{flags(window_only)}: only for the window (`ganviz` with no subcommand), not "
                     f"`ganviz {args.command}`")
    if args.command not in (None, "train") and top:
        parser.error(f"{flags(list(top))} before `{args.command}` would be ignored: options before a subcommand "
                     f"are for the window and `ganviz train`; put it after `{args.command}` if "
                     f"`ganviz {args.command} --help` lists it")
    if args.command in (None, "train"):
        if "set" in top:
            args.set = top.pop("set") + getattr(args, "set", [])
        for k, v in top.items():
            if not hasattr(args, k):
                setattr(args, k, v)
    for k, v in {**CONFIG_DEFAULTS, **WINDOW_DEFAULTS}.items():
        if not hasattr(args, k):
            setattr(args, k, list(v) if isinstance(v, list) else v)
    return args


def extension_commands() -> dict:
    """Subcommands contributed by modules in ganviz.cli_ext (see its docstring)."""
    import importlib
    import pkgutil

    from . import cli_ext

    found = {}
    for info in sorted(pkgutil.iter_modules(cli_ext.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{cli_ext.__name__}.{info.name}")
        if hasattr(module, "NAME") and hasattr(module, "run"):
            found[module.NAME] = module
    return found


def _config_from_args(args: argparse.Namespace):
    from .core.config import TrainConfig, config_from_pairs, parse_value
    from .core.objectives import get_objective

    base: dict[str, Any] = {}
    for key in ("data", "objective", "seed", "device"):
        value = getattr(args, key, None)
        if value is not None:
            base[key] = parse_value(key, str(value))
    scene = _scene_from_args(args)
    cfg = (scene.config if scene else TrainConfig()).replace(**base)
    chosen: set[str] = set()
    if getattr(args, "paper_defaults", False):
        chosen |= set(get_objective(cfg.objective).paper_defaults)
        cfg = cfg.replace(**get_objective(cfg.objective).paper_defaults)
    pairs = getattr(args, "set", None) or []
    cfg = config_from_pairs(pairs, cfg)
    if getattr(args, "points", None) or getattr(args, "columns", None):
        cfg = _with_points(cfg, args, "data" in base)
    if scene is None:
        chosen |= {p.split("=", 1)[0].strip().replace("-", "_") for p in pairs}
        cfg = _with_image_defaults(cfg, chosen)
    return cfg


def _with_points(cfg, args: argparse.Namespace, data_given: bool):
    """cfg switched to the points in --points (stderr says what the reader assumed). ConfigError for a bad file."""
    from pathlib import Path

    from .core.config import ConfigError
    from .core.userdata import PointsError, load_points, points_rows, user_config

    if not getattr(args, "points", None):
        raise ConfigError("--columns picks columns of a --points file; give --points FILE")
    if data_given:
        raise ConfigError("--points trains on your file: leave out --data")
    notes: list[str] = []
    try:
        rows = points_rows(load_points(args.points, args.columns, notes))
    except PointsError as e:
        raise ConfigError(str(e)) from None
    print(f"ganviz: points from {args.points}: {'; '.join(notes)}", file=sys.stderr)
    return user_config(cfg, rows, label=Path(args.points).stem)


def _with_image_defaults(cfg, chosen: set[str]):
    """Image data named on the command line without a scene starts with the DCGAN settings the window applies
    when switching to image data (keys set with --set or --paper-defaults are kept; the generator is always
    learned); stderr says so."""
    from .core.images.distribution import image_default_changes, is_image_data

    if not is_image_data(cfg.data):
        return cfg
    applied = image_default_changes(cfg, chosen)
    if applied:
        print("ganviz: image data: using the DCGAN settings " + ", ".join(f"{k}={v:g}" if isinstance(v, float)
              else f"{k}={v}" for k, v in applied.items()) + " (override with --set)", file=sys.stderr)
    return cfg.replace(**applied)


def _scene_from_args(args: argparse.Namespace):
    """The --preset scene, or None. Raises ConfigError (exit 2) with the scene's own message."""
    from .core.config import ConfigError
    from .core.scenes import SceneError, load_scene

    if not getattr(args, "preset", None):
        return None
    try:
        return load_scene(args.preset)
    except SceneError as e:
        raise ConfigError(str(e)) from None


def _progress(step: int, total: int, t0: float, extra: str) -> None:
    frac = step / max(total, 1)
    width = 30
    bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
    rate = step / max(time.perf_counter() - t0, 1e-9)
    sys.stderr.write(f"\r[{bar}] {step}/{total} {rate:6.0f} it/s {extra}")
    sys.stderr.flush()


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def cmd_train(args: argparse.Namespace) -> int:
    import torch

    from .core.config import ConfigError
    from .core.devices import OOM_ERRORS, fall_back_to_cpu
    from .core.trainer import Trainer

    torch.set_num_threads(max(1, args.threads))
    try:
        cfg = _config_from_args(args)
    except ConfigError as e:
        print(f"ganviz train: error: {e}", file=sys.stderr)
        return EXIT_BAD_ARGS
    if args.steps < 0 or args.every < 1:
        print("ganviz train: error: --steps must be >= 0 and --every >= 1", file=sys.stderr)
        return EXIT_BAD_ARGS
    try:
        trainer = Trainer(cfg)
    except ValueError as e:  # e.g. a bad image file (ImageDataError names the file and the problem)
        print(f"ganviz train: error: {e}", file=sys.stderr)
        return EXIT_BAD_ARGS
    for note in getattr(trainer.data, "notes", ()):  # what the image loader assumed (range, resizing, ...)
        print(f"ganviz: {cfg.image_path}: {note}", file=sys.stderr)
    if trainer.is_image:  # coverage metrics from the first row on (trains the classifier on first use)
        from .core.images.views import classifier_nowait

        entry = classifier_nowait(getattr(trainer.data, "classifier_name", None), wait=True)
        if entry is not None and cfg.data == "image-file":
            print(f"ganviz: class coverage: classifier accuracy {entry[0].heldout_accuracy:.1%} on held-out images "
                  "of the file", file=sys.stderr)
    scene = _scene_from_args(args)
    if scene is not None:
        scene.schedule_on(trainer)
    for ev in trainer.events:
        print(f"ganviz: {ev.label}", file=sys.stderr)
    board = None
    if getattr(args, "tensorboard", None):
        from .export.tensorboard import ScalarSink, TensorBoardMissing, summary_writer

        try:
            board = ScalarSink(summary_writer(args.tensorboard))
        except (TensorBoardMissing, OSError) as e:
            print(f"ganviz train: error: --tensorboard: {e}", file=sys.stderr)
            return EXIT_BAD_ARGS
    try:
        out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
    except OSError as e:
        print(f"ganviz train: error: cannot write {args.out!r}: {e.strerror}", file=sys.stderr)
        return EXIT_BAD_ARGS
    show = not args.quiet and sys.stderr.isatty()
    t0 = time.perf_counter()
    try:
        while trainer.step < args.steps:
            n = min(args.every - trainer.step % args.every, args.steps - trainer.step)
            try:
                trainer.train(n)
                snap = trainer.snapshot(with_metrics=True, with_fields=False)
            except OOM_ERRORS as e:  # CUDA: roll back, move to the CPU and go on; on the CPU: stop
                event = fall_back_to_cpu(trainer, e)
                print(f"\nganviz: {event.label if event else 'out of memory'}", file=sys.stderr)
                if event is None or event.kind != "device":
                    return EXIT_OOM
                continue
            if any(e.kind == "diverged" for e in snap.events):
                print(f"\nganviz train: diverged (NaN/Inf) before step {snap.step}; try lower learning rates "
                      "or a penalty (--set r1_gamma=1, --objective wgan-gp)", file=sys.stderr)
                return EXIT_DIVERGED
            h = snap.history.values
            row = {"step": snap.step, "d_updates": snap.d_updates, "g_updates": snap.g_updates,
                   "objective": snap.objective,
                   "d_loss": _last_finite(h["d_loss"]), "g_loss": _last_finite(h["g_loss"])}
            row.update({k: v for k, v in snap.metrics.items()})
            out.write(json.dumps({k: _clean(v) for k, v in row.items()}) + "\n")
            out.flush()
            if board is not None:
                board.write(row)
            if show:
                _progress(snap.step, args.steps, t0, f"d_loss {row['d_loss']:.3f}" if row["d_loss"] else "")
    except KeyboardInterrupt:
        print("\nganviz train: interrupted", file=sys.stderr)
        return 130
    finally:
        if args.out:
            out.close()
        if board is not None:
            board.close()
    if show:
        sys.stderr.write("\n")
    return 0


def _last_finite(a) -> float | None:
    import numpy as np

    a = a[np.isfinite(a)]
    return float(a[-1]) if a.size else None


def cmd_list() -> int:
    from .core.config import FIELDS, TrainConfig, describe_range
    from .core.distributions import DATASETS
    from .core.objectives import OBJECTIVES

    print("Datasets:")
    for info in DATASETS.values():
        print(f"  {info.name:<16} {info.dim}D  {info.description}")
    print("\nObjectives:")
    for o in OBJECTIVES.values():
        print(f"  {o.name:<9} {o.label}  [{o.reference}]")
        print(f"            {o.d_formula}")
        print(f"            {o.g_formula}")
        if o.paper_defaults:
            print("            paper defaults: " + ", ".join(f"{k}={v}" for k, v in o.paper_defaults.items()))
    from .core.scenes import list_scenes

    print("\nScenes (--preset NAME):")
    print(textwrap.fill(" ".join(list_scenes()), width=100, initial_indent="  ", subsequent_indent="  ",
                        break_on_hyphens=False))
    print("\nConfig keys (ganviz train --set KEY=VALUE):")
    defaults = TrainConfig()
    for name, f in FIELDS.items():
        tag = " [re-init]" if f.metadata["reinit"] else ""
        print(f"  {name:<22} default {getattr(defaults, name)!s:<10} {describe_range(name)}{tag}")
        print(f"  {'':<22} {f.metadata['help']}")
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    from .core.config import ConfigError

    try:
        cfg = _config_from_args(args)
    except ConfigError as e:
        print(f"ganviz: error: {e}", file=sys.stderr)
        return EXIT_BAD_ARGS
    from .core.preflight import data_problem

    problem = data_problem(cfg)
    if problem:  # the window would open on a run that dies at once (issue 19.4)
        print(f"ganviz: error: {problem}", file=sys.stderr)
        return EXIT_BAD_ARGS
    from .qt.app import run_app

    scene = _scene_from_args(args)
    compare = None
    if args.compare:
        from .core.objectives import OBJECTIVES

        compare = [o.strip() for o in args.compare.split(",") if o.strip()]
        bad = [o for o in compare if o not in OBJECTIVES]
        if bad or not 2 <= len(compare) <= 4:
            print(f"ganviz: error: --compare takes 2 to 4 of {', '.join(OBJECTIVES)}; got {args.compare!r}",
                  file=sys.stderr)
            return EXIT_BAD_ARGS
    named = any(getattr(args, k, None) for k in ("preset", "data", "objective", "seed", "device", "set",
                                                   "paper_defaults"))
    return run_app(cfg, screenshot=args.screenshot, after=args.after, threads=args.threads, scene=scene,
                   compare=compare, with_settings=named, safe=bool(getattr(args, "safe_mode", False)))


def _prepare_process() -> None:
    """Process-wide settings of the `ganviz` program (never of `import ganviz`): one OpenBLAS thread, set
    before numpy is imported (its thread pool's fork handler can deadlock when a trainer process starts while
    another thread is in a BLAS call; the child processes inherit it), and the Qt binding pinned to PySide6."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from . import qt  # noqa: F401  (pins QT_API / PYQTGRAPH_QT_LIB; imports no Qt)


def _setup_logging(verbose: int) -> None:
    """ganviz's log records and Python warnings reach stderr: warnings always, notes with -v, debug with -vv."""
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    for name, lvl in (("ganviz", level), ("py.warnings", logging.WARNING)):
        log = logging.getLogger(name)
        if not any(isinstance(h, _StderrHandler) for h in log.handlers):
            handler = _StderrHandler()
            handler.setFormatter(logging.Formatter("ganviz: %(levelname)s: %(message)s"))
            log.addHandler(handler)
        log.setLevel(lvl)
        log.propagate = False
    logging.captureWarnings(True)


class _StderrHandler(logging.StreamHandler):
    """Writes to sys.stderr as it is at each record (not as it was when the handler was made)."""

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def no_display_message() -> str | None:
    """Why the window cannot open here (Linux with no X11/Wayland display and no QT_QPA_PLATFORM), or None."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("ganviz: no display here (DISPLAY and WAYLAND_DISPLAY are not set), so the window cannot open.\n"
            "  train without a window:        ganviz train --data ring8 --steps 2000\n"
            "  render the window to a PNG:    ganviz --screenshot out.png\n"
            "  run the window offscreen:      QT_QPA_PLATFORM=offscreen ganviz ...\n"
            "  over SSH, forward X11 with `ssh -X`.")


def main(argv: list[str] | None = None) -> int:
    """The `ganviz` program (and `python -m ganviz`)."""
    _prepare_process()
    try:
        code = _run(argv)
        sys.stdout.flush()
    except BrokenPipeError:  # `ganviz list | head`: the reader has what it wanted; stop quietly
        try:  # Python flushes stdout again at exit: point it at /dev/null so that flush cannot fail
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_BROKEN_PIPE
    return code


def _run(argv: list[str] | None) -> int:
    args = parse_args(argv)
    _setup_logging(args.verbose)
    if args.command == "train":
        return cmd_train(args)
    if args.command == "list":
        return cmd_list()
    if args.command == "bench" and args.startup:
        from .startup_bench import run as run_startup_bench

        return run_startup_bench(args)
    if args.command == "bench":
        from .bench import run_bench

        return run_bench(args)
    extensions = extension_commands()
    if args.command in extensions:
        return extensions[args.command].run(args)
    message = no_display_message()
    if message and args.screenshot:  # a screenshot needs no screen
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    elif message:
        print(message, file=sys.stderr)
        return EXIT_NO_DISPLAY
    return cmd_gui(args)


if __name__ == "__main__":
    sys.exit(main())
