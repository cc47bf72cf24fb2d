"""Scenes: readable TOML files that set up a run, say what it shows, and may script timed actions.

    title = "Mode collapse on the ring"
    description = "The plain GAN covers a few modes and hops between them ..."

    [config]                      # any TrainConfig fields (`ganviz list`)
    data = "ring8"
    objective = "ns"

    [view]                        # optional hints for the window
    arrows = false                # grad D arrows on the fakes
    z_grid = false                # the generator's warped z-grid
    docks = ["losses", "metrics"] # docks to show (others hidden); omit to keep the user's layout
    speed = 0                     # steps per second, 0 = full speed
    tool = "dirac"                # open a Theory view beside the lab: dirac, jsw, shapes (VIEW_TOOLS)

    [[actions]]                   # optional, applied when the run reaches `step`
    step = 3000
    set = { objective = "wgan-gp" }  # config changes, applied as typed commands
    label = "switch to WGAN-GP"      # shown in the event log
    # or: pause = true / reset = true

Loading never executes code from a file: TOML is parsed, every key is checked against the config
schema, and the first problem is reported with the file name and the key (SceneError).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .commands import Command, Reset, SetRunning, command_for_change
from .config import FIELDS, ConfigError, TrainConfig, check_value
from .safeio import FileRefused, open_regular

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MAX_SCENE_BYTES = 1024 * 1024  # a scene may carry user data: up to 20000 points in data_points
VIEW_KEYS = {"arrows": bool, "z_grid": bool, "docks": list, "speed": (int, float), "tool": str}
# [view] tool: a Theory window the classroom extension opens with the scene (Dirac-GAN phase portrait,
# JS vs Wasserstein sweep, critic shapes)
VIEW_TOOLS = ("dirac", "jsw", "shapes")


class SceneError(ValueError):
    """A scene file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Action:
    step: int
    commands: tuple[Command, ...]
    label: str


@dataclass(frozen=True)
class Scene:
    name: str
    title: str
    description: str
    config: TrainConfig
    view: dict[str, Any] = field(default_factory=dict)
    actions: tuple[Action, ...] = ()
    path: Path | None = None

    def schedule_on(self, trainer: Any) -> None:
        """Schedule every scripted action on a Trainer (its `schedule(step, command)`)."""
        for action in self.actions:
            for cmd in action.commands:
                trainer.schedule(action.step, cmd)


def scene_dirs() -> list[Path]:
    """Where named scenes are looked up: the shipped scenes (assets/scenes in the source tree, ganviz/assets/scenes
    in an installed wheel; read with importlib.resources)."""
    from ..resources import scene_dir

    return [scene_dir()]


def list_scenes() -> list[str]:
    names: list[str] = []
    for d in scene_dirs():
        if d.is_dir():
            names += [p.stem for p in sorted(d.glob("*.toml")) if p.stem not in names]
    return names


def find_scene(name_or_path: str | Path) -> Path:
    p = Path(name_or_path)
    if p.suffix == ".toml" and p.exists():
        return p
    for d in scene_dirs():
        candidate = d / f"{name_or_path}.toml"
        if candidate.exists():
            return candidate
    raise SceneError(f"no scene named {str(name_or_path)!r}; available: {', '.join(list_scenes()) or 'none'}")


def load_scene(name_or_path: str | Path) -> Scene:
    """Load and validate a scene by name (assets/scenes/NAME.toml) or by path."""
    path = find_scene(name_or_path)
    try:
        with open_regular(path, MAX_SCENE_BYTES) as f:  # a FIFO or device would block or never end
            data = tomllib.loads(f.read().decode("utf-8"))
    except FileRefused as e:
        raise SceneError(f"{path}: {e}; not a scene") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SceneError(f"{path}: cannot read the file ({e})") from None
    except tomllib.TOMLDecodeError as e:
        raise SceneError(f"{path}: not valid TOML: {e}") from None
    except RecursionError:  # 5,000-deep nested arrays or tables
        raise SceneError(f"{path}: nested too deeply to be a scene") from None
    return scene_from_dict(data, name=path.stem, path=path)


def scene_from_dict(data: dict[str, Any], name: str = "scene", path: Path | None = None) -> Scene:
    """A validated Scene; any problem with the data is a SceneError naming where (never another exception)."""
    where = str(path) if path else name
    try:
        return _scene_from_dict(data, name, path, where)
    except SceneError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError, RecursionError) as e:
        # a value of the wrong kind deep inside (data = ["ring8"]: TypeError; deep nesting: RecursionError)
        problem = "nested too deeply" if isinstance(e, RecursionError) else f"{e}"
        raise SceneError(f"{where}: not a usable scene: {problem}") from None


def _scene_from_dict(data: dict[str, Any], name: str, path: Path | None, where: str) -> Scene:
    if not isinstance(data, dict):
        raise SceneError(f"{where}: a scene is a TOML table")
    unknown = set(data) - {"title", "description", "config", "view", "actions"}
    if unknown:
        raise SceneError(f"{where}: unknown top-level key(s) {', '.join(sorted(unknown))}")
    title = data.get("title", name)
    description = data.get("description", "")
    if not isinstance(title, str) or not isinstance(description, str):
        raise SceneError(f"{where}: title and description must be text")
    cfg_table = data.get("config", {})
    if not isinstance(cfg_table, dict):
        raise SceneError(f"{where}: [config] must be a table of config keys")
    try:
        config = TrainConfig().replace(**_coerce(cfg_table))
    except ConfigError as e:
        raise SceneError(f"{where}: [config] {e}") from None
    view = data.get("view", {})
    if not isinstance(view, dict):
        raise SceneError(f"{where}: [view] must be a table")
    for key, value in view.items():
        if key not in VIEW_KEYS:
            raise SceneError(f"{where}: [view] unknown key {key!r}; allowed: {', '.join(VIEW_KEYS)}")
        if not isinstance(value, VIEW_KEYS[key]) or isinstance(value, bool) != (VIEW_KEYS[key] is bool):
            raise SceneError(f"{where}: [view] {key} has the wrong type ({type(value).__name__})")
        if key == "tool" and value not in VIEW_TOOLS:
            raise SceneError(f"{where}: [view] tool {value!r} is not a view; allowed: {', '.join(VIEW_TOOLS)}")
    raw_actions = data.get("actions", [])
    if not isinstance(raw_actions, list):
        raise SceneError(f"{where}: actions must be a list of [[actions]] tables")
    actions = tuple(_action(a, i, where) for i, a in enumerate(raw_actions))
    return Scene(name, title, description, config, dict(view), actions, path)


def _coerce(table: dict[str, Any]) -> dict[str, Any]:
    """TOML ints for float fields become floats; everything is checked against the schema."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key not in FIELDS:
            raise ConfigError(f"unknown config key {key!r}; see `ganviz list` for the keys")
        if isinstance(value, (list, dict)) and key != "data_points":
            kind = "a list" if isinstance(value, list) else "a table"
            raise ConfigError(f"{key} must be a single value, not {kind}")
        if FIELDS[key].type in ("float", float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if key == "data_points":  # TOML arrays of arrays -> the config's tuple of float tuples
            from .userdata import normalize_rows
            value = normalize_rows(value)
        check_value(key, value)
        out[key] = value
    if isinstance(out.get("data"), str) and out["data"].startswith("user:") and "data_points" in out:
        from .userdata import complete_user_name  # authors write data = "user:label"; the hash is added
        out["data"] = complete_user_name(out["data"], out["data_points"])
    return out


def _action(raw: Any, index: int, where: str) -> Action:
    if not isinstance(raw, dict) or not isinstance(raw.get("step"), int) or raw["step"] < 0:
        raise SceneError(f"{where}: actions[{index}] needs a non-negative integer 'step'")
    unknown = set(raw) - {"step", "set", "label", "pause", "reset"}
    if unknown:
        raise SceneError(f"{where}: actions[{index}] unknown key(s) {', '.join(sorted(unknown))}")
    commands: list[Command] = []
    if "set" in raw:
        if not isinstance(raw["set"], dict):
            raise SceneError(f"{where}: actions[{index}].set must be a table of config keys")
        try:
            for key, value in _coerce(raw["set"]).items():
                commands.append(command_for_change(key, value))
        except ConfigError as e:
            raise SceneError(f"{where}: actions[{index}] {e}") from None
    if raw.get("reset"):
        commands.append(Reset())
    if "pause" in raw:
        commands.append(SetRunning(not bool(raw["pause"])))
    if not commands:
        raise SceneError(f"{where}: actions[{index}] does nothing (give set, pause or reset)")
    label = raw.get("label", ", ".join(f"{k}={v}" for k, v in raw.get("set", {}).items()))
    return Action(raw["step"], tuple(commands), str(label))


def scene_to_toml(title: str, description: str, config: TrainConfig, view: dict[str, Any] | None = None) -> str:
    """A scene file for the current set-up (only the fields that differ from the defaults, and user data).

    Written with tomli-w (ganviz.core.tomlio): any title or description text loads back as it was."""
    from .tomlio import dumps

    default = TrainConfig()
    table = {key: getattr(config, key) for key in FIELDS
             if (key == "data_points" and config.data_points) or getattr(config, key) != getattr(default, key)}
    data: dict[str, Any] = {"title": title, "description": description, "config": table}
    if view:
        data["view"] = dict(view)
    return dumps(data)
