"""The `ganviz` program: argument parsing and the commands. Qt and torch are imported lazily, by the commands.

    ganviz                       open the lab window (training starts at once)
    ganviz train ...             headless training, JSON lines out (train.py: the loop, headless_rows)
    ganviz list                  datasets, objectives, config keys (listing.py)
    ganviz bench ...             engine vs plain PyTorch loop (bench.py; --startup: startup_bench.py)
    ganviz record | replay | dirac | soak | sweep | reproduce | completion | install-desktop
                                 one module each (parser.COMMAND_MODULES)

Options before a subcommand are the window's; `train` also takes the run's settings there and merges them
(`ganviz --data moons train --steps 100`); other subcommands refuse them with a message (parser.parse_args).
This package is the top layer: it may import ganviz.qt, ganviz.export, ganviz.sweep and ganviz.core; nothing
in ganviz imports it (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import logging
import os
import sys

from .codes import EXIT_BAD_ARGS, EXIT_BROKEN_PIPE, EXIT_DIVERGED, EXIT_NO_DISPLAY, EXIT_OOM
from .gui import cmd_gui, no_display_message
from .listing import cmd_list
from .parser import CONFIG_DEFAULTS, WINDOW_DEFAULTS, build_parser, extension_commands, parse_args
from .settings import config_from_args, scene_from_args
from .train import cmd_train, headless_rows

# the names the tests and older callers use
_config_from_args = config_from_args
_scene_from_args = scene_from_args

__all__ = ["CONFIG_DEFAULTS", "EXIT_BAD_ARGS", "EXIT_BROKEN_PIPE", "EXIT_DIVERGED", "EXIT_NO_DISPLAY", "EXIT_OOM",
           "WINDOW_DEFAULTS", "build_parser", "cmd_gui", "cmd_list", "cmd_train", "config_from_args",
           "extension_commands", "headless_rows", "main", "no_display_message", "parse_args", "scene_from_args"]


def _prepare_process() -> None:
    """Process-wide settings of the `ganviz` program (never of `import ganviz`): one OpenBLAS thread, set
    before numpy is imported (its thread pool's fork handler can deadlock when a trainer process starts while
    another thread is in a BLAS call; the child processes inherit it), and the Qt binding pinned to PySide6."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from .. import qt  # noqa: F401  (pins QT_API / PYQTGRAPH_QT_LIB; imports no Qt)


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
