"""An animated GIF written frame by frame to an open file: memory stays at one frame, whatever the length.

Pillow writes an animation only from a list of all its frames (and keeps every frame until the end): a recording of
whole-window frames reached ~9 GB at 5,000 frames. Here each frame is palettised and LZW-encoded by Pillow on its
own (a one-frame GIF in memory), and its palette and image data are spliced into the stream as a frame with a local
colour table. Consecutive identical frames are merged into one longer frame (a paused run costs nothing), as
Pillow does. No Qt here.
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any, BinaryIO

MAX_DELAY_CS = 65535  # a GIF frame delay is 16 bits of 1/100 s


def _split_single_gif(data: bytes) -> tuple[int, bytes, bytes]:
    """(colour-table size bits, colour table, LZW image data incl. the minimum code size and the 0 terminator) of
    a one-frame GIF as Pillow writes it (the palette in the global table or in the frame's local table)."""
    if data[:6] not in (b"GIF87a", b"GIF89a"):
        raise ValueError("not a GIF")
    packed = data[10]
    pos = 13
    table_bits, table = 0, b""
    if packed & 0x80:
        table_bits = packed & 0x07
        size = 3 * (2 ** (table_bits + 1))
        table = data[pos:pos + size]
        pos += size
    while pos < len(data):
        block = data[pos]
        if block == 0x21:  # an extension: label, then sub-blocks
            pos += 2
            while data[pos]:
                pos += data[pos] + 1
            pos += 1
        elif block == 0x2C:  # the image descriptor
            local = data[pos + 9]
            if local & 0x40:
                raise ValueError("an interlaced frame (save with interlace=False)")
            pos += 10
            if local & 0x80:
                table_bits = local & 0x07
                size = 3 * (2 ** (table_bits + 1))
                table = data[pos:pos + size]
                pos += size
            start = pos
            pos += 1  # LZW minimum code size
            while data[pos]:
                pos += data[pos] + 1
            pos += 1
            return table_bits, table, data[start:pos]
        else:
            break
    raise ValueError("no image in the GIF")


class GifStream:
    """Write frames (PIL images in mode P or RGB) to `fp` as a looping animation with `delay_cs` per frame."""

    def __init__(self, fp: BinaryIO, delay_cs: int) -> None:
        self.fp = fp
        self.delay_cs = max(2, int(delay_cs))
        self.size: tuple[int, int] | None = None
        self.frames = 0  # frames accepted (identical neighbours included)
        self._pending: tuple[int, bytes, bytes] | None = None  # the last frame, written when the next differs
        self._pending_key = 0
        self._pending_delay = 0

    def add(self, image: Any) -> None:
        """Add one frame (all frames must have the first one's size)."""
        if self.size is None:
            self.size = image.size
            self._header(*image.size)
        elif image.size != self.size:
            raise ValueError(f"frame is {image.size[0]}x{image.size[1]}, the GIF is {self.size[0]}x{self.size[1]}")
        buf = io.BytesIO()
        image.save(buf, format="GIF", optimize=False, interlace=False)
        part = _split_single_gif(buf.getvalue())
        key = zlib.crc32(part[2], zlib.crc32(part[1]))
        self.frames += 1
        if self._pending is not None and key == self._pending_key and part == self._pending:
            self._pending_delay += self.delay_cs
            return
        self._flush()
        self._pending, self._pending_key, self._pending_delay = part, key, self.delay_cs

    def close(self) -> None:
        """Write the last frame and the trailer (the caller closes fp)."""
        self._flush()
        if self.size is not None:
            self.fp.write(b"\x3b")

    def _header(self, width: int, height: int) -> None:
        self.fp.write(b"GIF89a" + struct.pack("<HHBBB", width, height, 0x70, 0, 0))  # no global colour table
        self.fp.write(b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00")  # loop for ever

    def _flush(self) -> None:
        if self._pending is None:
            return
        bits, table, lzw = self._pending
        delay = self._pending_delay
        assert self.size is not None
        while True:
            chunk = min(delay, MAX_DELAY_CS)
            # graphic control: disposal 1 (leave in place), no transparency
            self.fp.write(b"\x21\xf9\x04" + struct.pack("<BHBB", 1 << 2, chunk, 0, 0))
            self.fp.write(b"\x2c" + struct.pack("<HHHHB", 0, 0, self.size[0], self.size[1], 0x80 | bits))
            self.fp.write(table)
            self.fp.write(lzw)
            delay -= chunk
            if delay <= 0:
                break
        self.fp.flush()  # to the disk now: a full disk is noticed at this frame, and nothing piles up in memory
        self._pending = None
