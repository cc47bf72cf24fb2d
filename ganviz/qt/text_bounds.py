"""Bounds for user text that reaches a widget (scene titles and notes, action labels, file paths, messages).

A scene file may hold a megabyte of text. Unbounded, one long unbroken title widened the window to 233,086 px,
hung it at 200 KB and crashed Qt at 900 KB. Every such string goes through `clean` (control characters and
bidirectional overrides out, a lone surrogate replaced, at most `max_chars` characters) before a widget sees it,
and `breakable` lets a word-wrapping label wrap a long unbroken word instead of widening to fit it.
"""

from __future__ import annotations

import html
import re
import unicodedata

from PySide6 import QtCore, QtGui

TITLE_CHARS = 120  # a window title, a scene title, a menu entry
LABEL_CHARS = 300  # an action label, a note on one line
TEXT_CHARS = 20_000  # a scene's description
PATH_CHARS = 260  # a file path shown to the user
ELLIPSIS = "…"
ZWSP = "\u200b"  # zero-width space: a place where a label may wrap
BREAK_EVERY = 12  # characters of an unbroken word between wrap points (12 wide bold letters: ~250 px)

# bidirectional embeddings, overrides and isolates: in a title they can reverse the rest of the line
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))
_LONG_WORD = re.compile(rf"\S{{{BREAK_EVERY + 1},}}")


def elide(text: str, max_chars: int) -> str:
    """text cut to at most max_chars characters, ending in '…' when cut."""
    if max_chars < 1:
        return ""
    return text if len(text) <= max_chars else text[: max_chars - 1] + ELLIPSIS


def clean(text: object, max_chars: int = LABEL_CHARS, keep_newlines: bool = False) -> str:
    """A string fit for a widget: control characters become spaces (newlines kept if asked), bidi overrides and
    lone surrogates go, at most max_chars characters ('…' where cut). Non-BMP characters (emoji) and right-to-left
    scripts are kept."""
    s = str(text)
    if len(s) > 4 * max_chars + 64:  # never scan a megabyte to show a hundred characters
        s = s[: 4 * max_chars + 64]
    s = s.encode("utf-8", "replace").decode("utf-8")  # lone surrogates -> '?'
    s = s.translate(_BIDI_CONTROLS)
    out = []
    for ch in s:
        if ch == "\n" and keep_newlines:
            out.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cs"):
            out.append(" ")
        else:
            out.append(ch)
    return elide("".join(out), max_chars)


def breakable(text: str, every: int = BREAK_EVERY) -> str:
    """text with a zero-width space every `every` characters of any longer unbroken run, so a word-wrapping label
    wraps it instead of growing (and growing the window) to fit it."""
    return _LONG_WORD.sub(lambda m: ZWSP.join(m.group(0)[i:i + every] for i in range(0, len(m.group(0)), every)),
                          text)


def label_text(text: object, max_chars: int = LABEL_CHARS) -> str:
    """clean, then breakable: plain text for a (word-wrapping) label."""
    return breakable(clean(text, max_chars))


def label_html(text: object, max_chars: int = LABEL_CHARS) -> str:
    """label_text escaped for a rich-text label."""
    return html.escape(label_text(text, max_chars))


def elide_px(text: str, font: QtGui.QFont, width: int,
             mode: QtCore.Qt.TextElideMode = QtCore.Qt.TextElideMode.ElideMiddle) -> str:
    """text elided to fit width pixels in font (middle by default: a path keeps its start and its file name)."""
    return QtGui.QFontMetrics(font).elidedText(text, mode, max(0, int(width)))


def path_text(path: object, max_chars: int = PATH_CHARS) -> str:
    """A file path for a message: cleaned and, if long, cut in the middle so the file name stays visible."""
    raw = str(path)
    if len(raw) <= max_chars:
        return clean(raw, max_chars)
    head = max_chars // 3
    tail = max_chars - head - 1
    return clean(raw[:head], head) + ELLIPSIS + clean(raw[len(raw) - tail:], tail)
