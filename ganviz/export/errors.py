"""Errors of the export package. Every message says what failed and what to do; none leaves a file.

The writing helpers and ExportError itself live in ganviz.core.safeio (checkpoints, in core, write files
too); they are re-exported here unchanged.
"""

from __future__ import annotations

from pathlib import Path

from ..core.safeio import (  # noqa: F401  (re-exported)
    FULL_BELOW_BYTES,
    NO_SPACE,
    DiskFullError,
    ExportError,
    check_target,
    disk_full_error,
    folder_full,
    is_disk_full,
    os_error,
    plain_reason,
    write_atomically,
)


class EncoderMissingError(ExportError):
    """The encoder for the chosen format is not installed (imageio-ffmpeg for MP4, Pillow for GIF/PNG)."""


def nothing_written(path: Path | str, what: str = "the exporter") -> ExportError:
    """A writer that reported no error but left an empty file: say why if the disk is full."""
    if folder_full(path):
        return disk_full_error(path)
    return ExportError(f"could not write {path}: {what} wrote nothing (is the folder read-only?)")
