"""`ganviz install-desktop [--uninstall]`: add ganviz to the desktop's application menu (Linux, per user).

Writes, under $XDG_DATA_HOME (default ~/.local/share):
    applications/ganviz.desktop               the freedesktop entry, Exec= the ganviz that ran this command
    icons/hicolor/256x256/apps/ganviz.png     the icon, and its SVG under icons/hicolor/scalable/apps/
    metainfo/ganviz.metainfo.xml              AppStream metadata (software centres)
--uninstall removes exactly those files. Nothing outside the user's folder is touched.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

NAME = "install-desktop"
HELP = "add ganviz to the desktop's application menu (entry, icons, AppStream metainfo); --uninstall removes it"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--uninstall", action="store_true", help="remove the files an earlier install-desktop wrote")


def data_home() -> Path:
    """$XDG_DATA_HOME, or ~/.local/share (platformdirs' user data folder without an app name)."""
    import platformdirs

    return Path(platformdirs.user_data_dir(appname=None, appauthor=False))


def targets(base: Path) -> dict[str, Path]:
    """Shipped asset -> where it is installed."""
    return {
        "ganviz.desktop": base / "applications" / "ganviz.desktop",
        "icons/ganviz.png": base / "icons" / "hicolor" / "256x256" / "apps" / "ganviz.png",
        "icons/ganviz.svg": base / "icons" / "hicolor" / "scalable" / "apps" / "ganviz.svg",
        "ganviz.metainfo.xml": base / "metainfo" / "ganviz.metainfo.xml",
    }


def launcher() -> list[str]:
    """The command that starts this ganviz: its console script when there is one, else python -m ganviz."""
    script = Path(sys.executable).parent / "ganviz"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which("ganviz")
    return [found] if found else [sys.executable, "-m", "ganviz"]


# Characters the Desktop Entry Specification reserves in an Exec argument (outside double quotes).
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def exec_argument(arg: str) -> str:
    """One Exec= argument as the Desktop Entry Specification wants it: double quotes (never shell single
    quotes) around an argument with a reserved character, a backslash before " ` $ \\ inside them, % doubled;
    then the string value's own escape (\\ for each backslash)."""
    arg = arg.replace("%", "%%")
    if _RESERVED & set(arg):
        arg = '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'
    return _string_value(arg)


def _string_value(text: str) -> str:
    """A desktop-file string value: backslash, newline, tab escaped (a path may hold any of them)."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


def desktop_entry(command: list[str]) -> str:
    """The shipped entry with Exec/TryExec pointing at this installation (a venv need not be on PATH)."""
    from ..resources import desktop_entry as shipped

    lines = []
    for line in shipped().splitlines():
        if line.startswith("Exec="):
            line = "Exec=" + " ".join(exec_argument(c) for c in command)
        elif line.startswith("TryExec="):
            line = "TryExec=" + _string_value(command[0])
        lines.append(line)
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from ..resources import asset

    base = data_home()
    paths = targets(base)
    if args.uninstall:
        removed = [p for p in paths.values() if p.is_file()]
        for p in removed:
            p.unlink()
        print("ganviz: removed " + (", ".join(str(p) for p in removed) if removed else "nothing (not installed)"))
        return 0
    try:
        for name, target in paths.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            if name == "ganviz.desktop":
                target.write_text(desktop_entry(launcher()), encoding="utf-8")
            else:
                target.write_bytes(asset(name).read_bytes())
            print(f"ganviz: wrote {target}")
    except OSError as e:
        print(f"ganviz install-desktop: error: {e}", file=sys.stderr)
        return 1
    return 0

