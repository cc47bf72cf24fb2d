"""Checks made before a run is replaced: what would make the new run die at once. No Qt, no torch.

A scene or a command line naming a missing image file used to replace the running session, and the new run died
in its child process ("waiting for the first image snapshot" for ever). The data is checked first, as opening a
session already does; the full read of an image file stays in the child (it may take seconds for a large file,
and its errors are reported from there in words)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def data_problem(config: Any) -> str | None:
    """None if the config's data can be looked for; else what is wrong, in words (naming the file)."""
    if getattr(config, "data", None) != "image-file":
        return None  # built-in data always builds; user points are checked when they are read
    raw = str(getattr(config, "image_path", "") or "")
    if not raw.strip():
        return "the data is an image file, but no image file is named (image_path is empty)"
    path = Path(raw).expanduser()
    try:
        if not path.exists():
            return f"the image file {raw} does not exist"
        if not (path.is_file() or path.is_dir()):
            return f"{raw} is not a file or a folder of images"
        if path.is_file():
            with open(path, "rb"):
                pass
    except OSError as e:
        return f"the image file {raw} cannot be read ({e.strerror or e})"
    return None
