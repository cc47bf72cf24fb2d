"""Which window layout to start with: `ganviz --layout simple|lab` asks for one (Qt-free, so the command line
can set it before Qt is imported); the window's "simple" feature (ganviz.qt.extensions.simple) reads it once,
else uses the layout remembered from the last session."""

from __future__ import annotations

LAYOUTS = ("lab", "simple")  # lab: every dock (the default); simple: the beginner layout (issue 18.4)
_requested: str | None = None


def request_layout(name: str | None) -> None:
    """Start the next window with this layout (None: the remembered one). ValueError for an unknown name."""
    global _requested
    if name is not None and name not in LAYOUTS:
        raise ValueError(f"unknown layout {name!r}; choose one of {', '.join(LAYOUTS)}")
    _requested = name


def take_requested_layout() -> str | None:
    """The layout asked for, once (a second window in the same process uses its remembered layout)."""
    global _requested
    name, _requested = _requested, None
    return name
