"""The window from the command line (`ganviz` with no subcommand): its config, --compare, and the message for
a machine with no display."""

from __future__ import annotations

import argparse
import os
import sys

from .codes import EXIT_BAD_ARGS
from .settings import config_from_args, scene_from_args


def cmd_gui(args: argparse.Namespace) -> int:
    from ..core.config import ConfigError

    try:
        cfg = config_from_args(args)
    except ConfigError as e:
        print(f"ganviz: error: {e}", file=sys.stderr)
        return EXIT_BAD_ARGS
    from ..core.preflight import data_problem

    problem = data_problem(cfg)
    if problem:  # the window would open on a run that dies at once (issue 19.4)
        print(f"ganviz: error: {problem}", file=sys.stderr)
        return EXIT_BAD_ARGS
    from ..qt.app import run_app
    from ..qt.layout_choice import request_layout

    request_layout(getattr(args, "layout", None))  # None: the layout remembered from the last session

    scene = scene_from_args(args)
    compare = None
    if args.compare:
        from ..core.objectives import OBJECTIVES

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
