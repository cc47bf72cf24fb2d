"""Messages a user can act on (issue 19.7): a full disk is said as such (MP4, SVG, PNG), not as an ffmpeg command
dump or "wrote nothing"; a refused checkpoint's message carries no class name first, no terminal colour codes and
no advice to load the file unsafely."""

from __future__ import annotations

import collections
import os
import shutil

import numpy as np
import pytest
import torch

from ganviz.core.checkpoint import CheckpointError, read_checkpoint
from ganviz.export import errors as E
from ganviz.export import video as V

FFMPEG_DUMP = ("[Errno 32] Broken pipe\n\nFFMPEG COMMAND:\n/usr/lib/ffmpeg -y -f rawvideo -vcodec rawvideo -s 98x66 "
               "-pix_fmt rgb24 -r 10.00 -i - -an -vcodec libx264 -pix_fmt yuv420p -crf 20 x.mp4\n\nFFMPEG STDERR "
               "OUTPUT:\n")
Usage = collections.namedtuple("Usage", "total used free")


def _frames(n: int) -> list[np.ndarray]:
    return [np.full((66, 98, 3), 20 * i, dtype=np.uint8) for i in range(n)]


def _ffmpeg_breaks_at(monkeypatch, frame: int) -> None:
    import imageio_ffmpeg

    def write_frames(*a, **k):
        def gen():
            yield
            for _ in range(frame):
                yield
            raise OSError(FFMPEG_DUMP)  # what imageio-ffmpeg raises when ffmpeg has died

        return gen()

    monkeypatch.setattr(imageio_ffmpeg, "write_frames", write_frames)


def test_an_mp4_onto_a_full_disk_says_the_disk_is_full(tmp_path, monkeypatch):
    pytest.importorskip("imageio_ffmpeg")
    _ffmpeg_breaks_at(monkeypatch, 2)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: Usage(10**9, 10**9, 4096))
    with pytest.raises(E.DiskFullError) as info:
        V.encode_frames(_frames(5), tmp_path / "x.mp4", fps=10)
    text = str(info.value)
    assert text.startswith("the disk is full: could not write") and "FFMPEG" not in text and "-vcodec" not in text
    assert os.listdir(tmp_path) == []


def test_an_encoder_that_stops_for_another_reason_is_said_in_one_line(tmp_path, monkeypatch):
    pytest.importorskip("imageio_ffmpeg")
    _ffmpeg_breaks_at(monkeypatch, 1)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: Usage(10**9, 10**6, 10**9))
    with pytest.raises(E.ExportError) as info:
        V.encode_frames(_frames(4), tmp_path / "x.mp4", fps=10)
    text = str(info.value)
    assert "the video encoder (ffmpeg) stopped ([Errno 32] Broken pipe)" in text
    assert "\n" not in text and "FFMPEG COMMAND" not in text


def test_nothing_written_on_a_full_disk_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "disk_usage", lambda p: Usage(10**9, 10**9, 0))
    assert isinstance(E.nothing_written(tmp_path / "p.svg", "the SVG exporter"), E.DiskFullError)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: Usage(10**9, 0, 10**9))
    assert "the SVG exporter wrote nothing" in str(E.nothing_written(tmp_path / "p.svg", "the SVG exporter"))


def test_a_hostile_checkpoint_is_refused_in_plain_words(tmp_path):
    class Payload:
        def __reduce__(self):
            return (os.system, ("echo hacked > " + str(tmp_path / "ran"),))

    path = tmp_path / "evil.pt"
    torch.save({"format": "ganviz-checkpoint", "weights": Payload()}, path)
    with pytest.raises(CheckpointError) as info:
        read_checkpoint(path)
    text = str(info.value)
    assert not (tmp_path / "ran").exists()
    assert text == (f"{path}: not a ganviz checkpoint: it holds Python objects other than tensors and plain values "
                    "(such a file could run code when loaded), so it was not loaded")
    assert "\x1b" not in text and "weights_only" not in text and "trust" not in text


def test_a_damaged_checkpoint_message_has_no_class_name_first(tmp_path):
    path = tmp_path / "junk.pt"
    path.write_bytes(b"PK\x03\x04" + b"garbage" * 50)
    with pytest.raises(CheckpointError) as info:
        read_checkpoint(path)
    text = str(info.value)
    assert text.startswith(f"{path}: not a ganviz checkpoint or damaged (")
    assert "Error:" not in text.split("(", 1)[1][:40]  # the reason, not "RuntimeError: ..."


def test_plain_reason_strips_colour_codes():
    assert E.plain_reason(RuntimeError("\x1b[1mbold\x1b[0m reason\nsecond line")) == "bold reason"
