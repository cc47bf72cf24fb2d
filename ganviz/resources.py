"""The files ganviz ships (scenes, icons, desktop entry and metainfo), read with importlib.resources.

The source tree keeps them in the top-level `assets/` folder; pyproject.toml maps that folder into the package
as `ganviz.assets`, so a wheel (and an editable install) find them the same way from any working folder.
"""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

PACKAGE = "ganviz.assets"
APP_ID = "ganviz"


def _root() -> Traversable:
    """ganviz.assets; in a source checkout imported without installing (PYTHONPATH, `python -m pytest` with a
    non-editable install elsewhere), the checkout's assets/ folder, which is what a build would ship."""
    try:
        return resources.files(PACKAGE)
    except ModuleNotFoundError:
        checkout = Path(__file__).resolve().parent.parent
        if (checkout / "pyproject.toml").is_file() and (checkout / "assets" / "ganviz.desktop").is_file():
            return checkout / "assets"
        raise


def asset(relative: str) -> Traversable:
    """A shipped file or folder, e.g. asset("scenes") or asset("icons/ganviz.svg")."""
    node = _root()
    for part in relative.split("/"):
        node = node / part
    return node


def asset_path(relative: str) -> Path:
    """A shipped file or folder as a filesystem path. pip unpacks wheels, so the assets are plain files on disk;
    a zipped install (not something pip makes) is refused with a message rather than read wrongly."""
    node = asset(relative)
    path = Path(str(node))
    if not path.exists():
        raise FileNotFoundError(f"ganviz: shipped file {relative!r} not found (looked in {path}); "
                                "reinstall ganviz (pip install --force-reinstall ganviz)")
    return path


def scene_dir() -> Path:
    """The folder of shipped scenes (*.toml)."""
    return asset_path("scenes")


def icon_paths() -> tuple[Path, ...]:
    """The application icon: 256 px PNG first, then the SVG (only those that exist)."""
    found = []
    for name in ("icons/ganviz.png", "icons/ganviz.svg"):
        node = asset(name)
        if node.is_file():
            found.append(Path(str(node)))
    return tuple(found)


def desktop_entry() -> str:
    """The freedesktop .desktop entry's text."""
    return asset("ganviz.desktop").read_text(encoding="utf-8")
