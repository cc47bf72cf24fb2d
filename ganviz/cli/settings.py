"""The run's config from the command line: --preset, --data / --objective / --seed / --device, --paper-defaults,
--set KEY=VALUE, --points FILE (shared by the window, `train` and `bench`)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any


def config_from_args(args: argparse.Namespace):
    """The TrainConfig the options name (scene, then data / objective / seed / device, paper defaults, --set,
    --points, image defaults). Raises ConfigError (exit 2) naming the problem."""
    from ..core.config import TrainConfig, config_from_pairs, parse_value
    from ..core.objectives import get_objective

    pairs = getattr(args, "set", None) or []
    for text in [getattr(args, "data", None)] + [p.split("=", 1)[1] for p in pairs if p.split("=")[0] == "data"]:
        if text is not None:
            _check_data(text)
    base: dict[str, Any] = {}
    for key in ("data", "objective", "seed", "device"):
        value = getattr(args, key, None)
        if value is not None:
            base[key] = parse_value(key, str(value))
    scene = scene_from_args(args)
    # Each value is checked as it is parsed; the whole config once, after --set (`--data image-file
    # --set image_path=FILE` is valid only with both applied).
    cfg = dataclasses.replace(scene.config if scene else TrainConfig(), **base)
    chosen: set[str] = set()
    if getattr(args, "paper_defaults", False):
        chosen |= set(get_objective(cfg.objective).paper_defaults)
        cfg = dataclasses.replace(cfg, **get_objective(cfg.objective).paper_defaults)
    cfg = config_from_pairs(pairs, cfg)  # validates
    if getattr(args, "points", None) or getattr(args, "columns", None):
        cfg = _with_points(cfg, args, "data" in base)
    if scene is None:
        chosen |= {p.split("=", 1)[0].strip().replace("-", "_") for p in pairs}
        cfg = _with_image_defaults(cfg, chosen)
    return cfg


def _check_data(text: str) -> None:
    """ConfigError unless text names a dataset; a file given there gets how to train on it."""
    from pathlib import Path

    from ..core.config import ConfigError, parse_value

    try:
        parse_value("data", text.strip())
    except ConfigError:
        if not Path(text.strip()).expanduser().is_file():
            raise
        name = text.strip()
        raise ConfigError(f"data={name!r} is a file, not a dataset name: train on its points with "
                          f"--points {name} (CSV or .npy of x or x,y; --columns picks them), or on its images "
                          f"with --data image-file --set image_path={name}") from None


def _with_points(cfg, args: argparse.Namespace, data_given: bool):
    """cfg switched to the points in --points (stderr says what the reader assumed). ConfigError for a bad file."""
    from pathlib import Path

    from ..core.config import ConfigError
    from ..core.userdata import PointsError, load_points, points_rows, user_config

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
    from ..core.images.distribution import image_default_changes, is_image_data

    if not is_image_data(cfg.data):
        return cfg
    applied = image_default_changes(cfg, chosen)
    if applied:
        print("ganviz: image data: using the DCGAN settings " + ", ".join(f"{k}={v:g}" if isinstance(v, float)
              else f"{k}={v}" for k, v in applied.items()) + " (override with --set)", file=sys.stderr)
    return cfg.replace(**applied)


def scene_from_args(args: argparse.Namespace):
    """The --preset scene, or None. Raises ConfigError (exit 2) with the scene's own message."""
    from ..core.config import ConfigError
    from ..core.scenes import SceneError, load_scene

    if not getattr(args, "preset", None):
        return None
    try:
        return load_scene(args.preset)
    except SceneError as e:
        raise ConfigError(str(e)) from None
