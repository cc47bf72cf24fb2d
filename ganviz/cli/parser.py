"""The `ganviz` argument parser: the window's options, `train` / `list` / `bench`, and the subcommand modules
(COMMAND_MODULES). Options before a subcommand are settled here (parse_args)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .. import __version__
from .codes import EXIT_BAD_ARGS

# The run's settings (_add_config_args) and their defaults. None of them has an argparse default, so main can
# tell what was given, and where: before a subcommand they are stored as top_NAME.
CONFIG_DEFAULTS: dict[str, Any] = {"preset": None, "data": None, "objective": None, "seed": None, "device": None,
                                   "set": [], "paper_defaults": False, "threads": 1}
WINDOW_DEFAULTS: dict[str, Any] = {"screenshot": None, "after": 3.0, "compare": None, "layout": None}


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
                   help="say more on stderr (-v: info such as image caches and classifier training, -vv: debug); "
                        "what the loaders assumed is printed either way")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="ganviz", description="A desktop lab for watching GANs train.")
    p.add_argument("--version", action="version", version=f"ganviz {__version__}")
    _add_verbose(p, top=True)
    p.add_argument("--screenshot", metavar="PNG", default=argparse.SUPPRESS,
                   help="render the window to PNG after --after seconds, exit (works with no display)")
    p.add_argument("--after", type=float, default=argparse.SUPPRESS, help="seconds of training before --screenshot")
    p.add_argument("--compare", metavar="OBJ,OBJ[,...]", default=argparse.SUPPRESS,
                   help="open compare mode: 2-4 objectives side by side in lock-step, e.g. ns,wgan-gp")
    p.add_argument("--layout", choices=["simple", "lab"], default=argparse.SUPPRESS,
                   help="simple: one screen (data view, loss, learning rate, k, losses, one metric); lab: every "
                        "panel. Remembered for the next launch (View → Simple layout switches)")
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


# Subcommands beyond train / list / bench: each is a module of this package that defines
#     NAME: str                       the subcommand
#     HELP: str                       one line for `ganviz --help`
#     def add_arguments(parser)       fill the subcommand's argparse parser
#     def run(args) -> int            execute; return the exit code (2 for bad arguments)
# and imports neither torch nor Qt at import time (parsing stays fast; import inside run()).
COMMAND_MODULES = ("completion", "dirac", "install_desktop", "record", "replay", "reproduce", "soak", "sweep")


def extension_commands() -> dict:
    """Subcommand name -> module, for the modules named in COMMAND_MODULES."""
    import importlib

    found = {}
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"{__package__}.{name}")
        found[module.NAME] = module
    return found
