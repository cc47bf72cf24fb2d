"""Slow motion (issue 18.2): View → Slow motion (Ctrl+Shift+M, and on the run toolbar) plays each training step
as its stages, one at a time, with the Model dock lighting each stage's nodes (ganviz.qt.slowmo)."""

from __future__ import annotations

from typing import Any

from ..slowmo import SlowMotion


def install(host: Any) -> SlowMotion:
    return SlowMotion(host)
