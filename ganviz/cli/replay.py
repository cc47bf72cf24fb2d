"""`ganviz replay session.toml`: rebuild a saved session exactly (CPU) and record it, or print where it ends.

    ganviz replay session.toml -o replay.mp4 [--steps N] [--view data] [--size 1280x720]
    ganviz replay session.toml                  # no video: one JSON line with the final step and metrics

A session holds the starting config, the seed and every live change with the step it took effect
(ganviz.export.session); replaying gives bit-identical weights and metrics on the CPU. With -o the views
are rendered offscreen as in `ganviz record` (--steps N: record N timeline steps instead of the whole
session; steps past the session's end keep training with its last settings).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

from .record import EXIT_BAD_ARGS, Source, add_render_arguments, render

NAME = "replay"
HELP = "replay a saved session exactly (CPU) and record it to MP4 / GIF / PNG frames, or print its end state"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("session", metavar="SESSION", help="a session file (.toml or .json) saved from the window")
    p.add_argument("-o", "--out", default=None, metavar="OUT",
                   help="out.mp4, out.gif, or a folder (trailing /) for PNG frames; omit to print the end state")
    add_render_arguments(p, steps_help="timeline steps to replay (default: the whole session)")


def run(args: argparse.Namespace) -> int:
    from ..export.session import SessionError, load_session

    try:
        session = load_session(args.session)
    except SessionError as e:
        print(f"ganviz replay: error: {e}", file=sys.stderr)
        return EXIT_BAD_ARGS
    base_dir = os.path.dirname(args.session) or "."
    if args.out:
        return render(Source(session.config, session=session, base_dir=base_dir), args, args.out,
                      prog="ganviz replay")
    import torch

    from ..export.replay import Replayer

    torch.set_num_threads(max(1, args.threads))
    try:
        r = Replayer(session, base_dir=base_dir)
        if args.steps is not None:
            if args.steps < 0:
                print("ganviz replay: error: --steps must be >= 0", file=sys.stderr)
                return EXIT_BAD_ARGS
            r.advance(args.steps)
        else:
            r.finish()
    except (SessionError, OSError, ValueError) as e:
        print(f"ganviz replay: error: {e}", file=sys.stderr)
        return 1
    t = r.trainer
    snap = t.snapshot(with_metrics=True, with_fields=False)
    row = {"step": snap.step, "d_updates": snap.d_updates, "g_updates": snap.g_updates, "objective": snap.objective,
           **{k: (v if isinstance(v, float) and math.isfinite(v) else None) if isinstance(v, float) else v
              for k, v in snap.metrics.items()}}
    print(json.dumps(row))
    return 0
