"""Opening a file the user (or a file the user opened) named: regular files only, size-capped, never blocking.

A folder, a FIFO (a read blocks until someone writes), a device (/dev/zero and /dev/urandom never end) or a
file larger than the loader's cap is refused with `FileRefused`, before anything is read:

    with open_regular(path, 64 * 2**20) as f:   # FileRefused, or OSError (missing, no permission)
        data = f.read()

The file is opened non-blocking and checked with fstat on the open descriptor, so a FIFO cannot block the open
and the file checked is the file read. No Qt, no torch here.
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO


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
