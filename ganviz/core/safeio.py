"""Reading and writing the files a user names: regular files only, size-capped, never blocking; written
atomically, with messages meant for the user.

A folder, a FIFO (a read blocks until someone writes), a device (/dev/zero and /dev/urandom never end) or a
file larger than the loader's cap is refused with `FileRefused`, before anything is read:

    with open_regular(path, 64 * 2**20) as f:   # FileRefused, or OSError (missing, no permission)
        data = f.read()

The file is opened non-blocking and checked with fstat on the open descriptor, so a FIFO cannot block the open
and the file checked is the file read.

Writing: `write_atomically(path, write)` writes a hidden temporary file, fsyncs and renames it, so no partial
file is ever left at path; `check_target` refuses a path that cannot be created. Their errors are
`ExportError` (re-exported by ganviz.export.errors), whose message says what failed and what to do.
No Qt, no torch here.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
FULL_BELOW_BYTES = 4 * 2**20  # a folder with less free space than this counts as full when a write fails
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class FileRefused(ValueError):
    """Not a regular file, or larger than allowed; the message says which (without the file name)."""


def open_regular(path: str | os.PathLike[str], max_bytes: int) -> BinaryIO:
    """Open path for binary reading if it is a regular file of at most max_bytes."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise FileRefused("is a folder, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise FileRefused("is not a regular file (a device, pipe or socket); choose a file")
        if st.st_size > max_bytes:
            raise FileRefused(f"is {st.st_size / 2**20:.0f} MiB, larger than the {max_bytes / 2**20:.0f} MiB "
                              "allowed here")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class ExportError(RuntimeError):
    """Writing an export failed; the message is meant for the user. No partial file is left behind."""


class DiskFullError(ExportError):
    """The disk (or quota) filled up while writing."""


def is_disk_full(exc: BaseException) -> bool:
    """OSError ENOSPC/EDQUOT, or an ffmpeg failure whose log says the device is full."""
    if isinstance(exc, OSError) and exc.errno in NO_SPACE:
        return True
    return "no space left on device" in str(exc).lower()


def folder_full(path: Path | str) -> bool:
    """Whether the folder that path is written to has (almost) no free space left."""
    folder = Path(path).parent
    try:
        return shutil.disk_usage(folder).free < FULL_BELOW_BYTES
    except OSError:
        return False


def plain_reason(exc: BaseException) -> str:
    """An exception's reason for a person: its first line, without terminal colour codes or the command dump an
    encoder adds (imageio-ffmpeg puts the whole ffmpeg command line into the message)."""
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    text = _ANSI.sub("", text).strip()
    first = text.splitlines()[0].strip() if text else ""
    if "FFMPEG COMMAND" in text:
        return f"the video encoder (ffmpeg) stopped ({first or 'no reason given'})"
    return first[:300] or type(exc).__name__


def disk_full_error(path: Path | str, what: str = "write") -> DiskFullError:
    return DiskFullError(f"the disk is full: could not {what} {path}. Free some space or choose another folder; "
                         "the partial file was removed.")


def os_error(exc: OSError | Exception, path: Path | str, what: str = "write") -> ExportError:
    """A user-facing ExportError for an error raised while writing path (an OSError, or an encoder's error)."""
    if is_disk_full(exc):
        return disk_full_error(path, what)
    if isinstance(exc, PermissionError):
        return ExportError(f"permission denied: cannot {what} {path}. Choose a folder you can write to.")
    if folder_full(path):  # an encoder that only says "broken pipe" when its disk filled up
        return disk_full_error(path, what)
    return ExportError(f"cannot {what} {path}: {plain_reason(exc)}")


def check_target(path: Path, kind: str = "file") -> None:
    """Raise ExportError if path cannot be created: missing or unwritable folder, a folder in the way."""
    parent = path.parent if kind == "file" or not path.exists() else path.parent
    if not parent.exists():
        raise ExportError(f"cannot write {path}: the folder {parent} does not exist")
    if not parent.is_dir():
        raise ExportError(f"cannot write {path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExportError(f"permission denied: cannot write in {parent}. Choose a folder you can write to.")
    if kind == "file" and path.is_dir():
        raise ExportError(f"cannot write {path}: a folder with that name exists")
    if kind == "dir" and path.exists():
        if not path.is_dir():
            raise ExportError(f"cannot write frames to {path}: a file with that name exists")
        if any(path.iterdir()):
            raise ExportError(f"cannot write frames to {path}: the folder is not empty (choose a new or empty "
                              "folder, so no earlier frames get mixed in)")


def write_atomically(path: Path, write: Callable[[Any], None], mode: str = "wb", **open_kwargs: Any) -> None:
    """Call write(f) on a hidden temporary file in path's folder, fsync it, then rename it over path, so no
    partial file is ever at path. An OSError becomes `os_error` (disk full, permission...), and the temporary
    file is removed."""
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.partial"
    try:
        with open(tmp, mode, **open_kwargs) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise os_error(e, path) from None
    except BaseException:  # a cancel (ExportError) or an interrupt: nothing is left behind either
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
