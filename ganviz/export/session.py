"""Session files: the config, seed and every live change of a run, in readable TOML (or JSON).

    format = "ganviz-session"
    format_version = 1
    ganviz_version = "0.1.0"
    seed = 0
    final_step = 1200            # the run's step when it was saved: replay stops (pauses) here
    scene = "ring-collapse-basic"   # optional, informational

    commands = [                 # in the order they took effect (or as [[commands]] tables)
        # step: when it took effect (see "Steps" below); command: a class of ganviz.core.commands;
        # args: its fields, a field left out is None (TOML has no null)
        { step = 300, command = "SetObjective", args = { name = "wgan-gp" } },
    ]

    [config]                     # every TrainConfig field, as the run started
    data = "ring8"
    ...

Written with tomli-w (ganviz.core.tomlio): notes, paths and names hold any Unicode text.

Steps. An entry's `step` is the trainer's step when the command took effect: a setting is applied before
that step's training; a manual StepD / StepG / StepBoth *is* that step (it moves the run to step + 1); a
Reset (or a change that re-initialises the networks) is applied at `step` and restarts the count at 0, so
later entries count from 0 again. Entries are listed in the order they took effect. Between entries the
run trains plain iterations. That is all replay needs to be exact (ganviz.export.replay).

The engine's own `Trainer.command_log` is close to this but not the same, and `session_from_run` converts
it: the engine logs a reset-type command *after* it was applied (so at step 0) and every manual step of a
drain at the drain's step, even though they run one after the other after that drain's settings. The
conversion takes the pre-reset step from the reset's event (`old_step`) and puts a drain's manual steps
after its settings, at consecutive steps. Runs that hit the divergence guard (NaN -> rollback) are not
replayed exactly: the rollback depends on when snapshots were taken, which is not logged.

Loading never executes anything from the file: TOML / JSON is parsed, every command name is looked up in a
fixed table of the command classes, every argument is type-checked and every config value range-checked;
the first problem raises SessionError naming the file and the entry (e.g. "commands[3] (SetObjective)").
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core import commands as C
from ..core.commands import MANUAL, Command, Reset
from ..core.config import DATA_KEYS, FIELDS, ConfigError, TrainConfig
from ..core.safeio import FileRefused, open_regular
from ..core.snapshot import Event, EventKind
from ..core.tomlio import TomlWriteError, coerce_field, dumps, plain
from .errors import ExportError, write_atomically

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FORMAT = "ganviz-session"
FORMAT_VERSION = 1
MAX_SESSION_BYTES = 64 * 1024 * 1024
TOP_KEYS = {"format", "format_version", "ganviz_version", "seed", "final_step", "scene", "checkpoint", "config",
            "commands", "saved_at", "note", "branches"}

# The command classes a session may name, and the types of their arguments, read from the command classes' own
# fields (core.commands.arg_types): a type tuple containing None means the argument may be left out (it is then
# None). Nothing outside this table can be named by a file.
COMMAND_ARGS: dict[str, tuple[type[Command], dict[str, tuple[Any, ...]]]] = {
    name: (cls, C.arg_types(cls)) for name, cls in C.COMMANDS.items() if cls.replayable}
_FLOAT_ARGS = {arg for _, spec in COMMAND_ARGS.values() for arg, types in spec.items() if float in types}


class SessionError(ValueError):
    """A session file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class LoggedCommand:
    """One live change: `command` took effect at `step` (see the module docstring for what that means)."""

    step: int
    command: Command


@dataclass(frozen=True)
class Session:
    """A replayable run: the starting config, the live changes in order, and where it was saved."""

    config: TrainConfig
    commands: tuple[LoggedCommand, ...] = ()
    final_step: int | None = None  # the step (of the last segment) when saved; None: at the last command
    scene: str | None = None
    checkpoint: str | None = None  # start from this checkpoint instead of fresh weights (path)
    ganviz_version: str = ""
    note: str = ""
    branches: tuple[Any, ...] = ()  # the branch tree (issue 18.5): export.session_branches.BranchLine per line

    @property
    def seed(self) -> int:
        return self.config.seed


# ---------------------------------------------------------------------------------------------- commands
def command_to_dict(cmd: Command) -> dict[str, Any]:
    """{"command": class name, "args": fields} (None fields left out: TOML has no null)."""
    name = type(cmd).__name__
    if name not in COMMAND_ARGS or COMMAND_ARGS[name][0] is not type(cmd):
        raise SessionError(f"cannot save command {cmd!r}: {name} is not a session command")
    return cmd.to_dict()


def command_from_dict(entry: Any, where: str) -> Command:
    """Build a command from {"command": name, "args": {...}}, checking every argument. Raises SessionError."""
    if not isinstance(entry, dict):
        raise SessionError(f"{where}: must be a table with step, command and args")
    name = entry.get("command")
    if not isinstance(name, str):
        raise SessionError(f"{where}: 'command' must be the name of a command")
    if name not in COMMAND_ARGS:
        raise SessionError(f"{where}: unknown command {name!r}; known: {', '.join(COMMAND_ARGS)}")
    cls, spec = COMMAND_ARGS[name]
    where = f"{where} ({name})"
    raw_args = entry.get("args", {})
    if not isinstance(raw_args, dict):
        raise SessionError(f"{where}: 'args' must be a table")
    unknown = set(raw_args) - set(spec)
    if unknown:
        raise SessionError(f"{where}: unknown argument(s) {', '.join(sorted(map(str, unknown)))}; "
                           f"allowed: {', '.join(spec) or 'none'}")
    args: dict[str, Any] = {}
    for arg, types in spec.items():
        value = raw_args.get(arg)
        if value is None:
            if None not in types:
                raise SessionError(f"{where}: missing argument {arg!r}")
            args[arg] = None
            continue
        real_types = tuple(t for t in types if t is not None)
        if isinstance(value, bool) and bool not in real_types:
            raise SessionError(f"{where}: {arg} must be {_type_names(real_types)}, got a boolean")
        if not isinstance(value, real_types):
            raise SessionError(f"{where}: {arg} must be {_type_names(real_types)}, got {type(value).__name__}")
        if arg in _FLOAT_ARGS:
            try:
                value = float(value)
            except OverflowError:
                raise SessionError(f"{where}: {arg} is too large for a number") from None
        args[arg] = value
    try:
        cmd = _checked(cls, args)
    except (ConfigError, ValueError, TypeError, OverflowError) as e:
        raise SessionError(f"{where}: {e}") from None
    return cmd


def _type_names(types: tuple[Any, ...]) -> str:
    names = {int: "an integer", float: "a number", str: "text", bool: "true or false", dict: "a table"}
    return " or ".join(dict.fromkeys(names.get(t, t.__name__) for t in types))


def _checked(cls: type[Command], args: dict[str, Any]) -> Command:
    """Construct and validate against the config schema (ranges, choices, NaN)."""
    if cls is C.SetConfig:
        values = {}
        for key, value in args["values"].items():
            if key not in FIELDS:
                raise ConfigError(f"unknown config key {key!r}")
            values[key] = coerce_field(key, value)
        args = {"values": values}
    cmd = cls(**args)
    cmd.check()  # the command's own rules: config ranges of what it sets, the network, a positive speed, ...
    return cmd


def _short(value: Any) -> str:
    """repr() for messages, cut short (and safe for integers beyond Python's digit limit)."""
    try:
        text = repr(value)
    except ValueError:
        return f"a {type(value).__name__} too large to print"
    return text if len(text) <= 80 else text[:77] + "..."


# ---------------------------------------------------------------------------------------------- engine log
def _is_reset_event(ev: Event) -> bool:
    return ev.kind == EventKind.RESET and "checkpoint" not in ev.detail


def _is_reset_command_event(ev: Event) -> bool:
    """The event of a Reset command ("reset at step N (seed s)"), as opposed to a re-initialising change."""
    return ev.label.startswith("reset at step")


def _caused(cmd: Command, ev: Event | None) -> bool:
    """Whether a non-Reset setting command produced this reset event (it re-initialised the networks)."""
    if ev is None or isinstance(cmd, (Reset, C.SetRunning, C.SetSpeed, *MANUAL)):
        return False
    if _is_reset_command_event(ev):
        return False
    try:
        changes = cmd.changes()
    except ValueError:
        return False
    changed = {k: v for k, v in ev.detail.items() if k != "old_step"}
    return bool(changed) and all(k in changes and changes[k] == v for k, v in changed.items())


def normalize_log(command_log: Sequence[tuple[int, Command]], events: Iterable[Event]) -> list[LoggedCommand]:
    """Convert the engine's `command_log` (+ its reset events) to session order and steps (module docstring).

    Within one drain the engine applies every setting, then runs the manual steps, and logs manual steps at
    the drain's step. A manual entry followed by a setting logged at the same step (or a reset whose
    old_step is that step) must be from the same drain, because a manual step from an earlier drain would
    have moved the step on; so such settings go before the pending manual steps.
    """
    resets = [ev for ev in events if _is_reset_event(ev)]
    ri = 0
    out: list[LoggedCommand] = []
    pending: list[Command] = []  # manual steps of the current drain, not yet placed
    cur = 0  # the step at which the current drain's settings apply

    def flush() -> None:
        nonlocal cur
        for cmd in pending:
            out.append(LoggedCommand(cur, cmd))
            cur += 1
        pending.clear()

    for i, (logged, cmd) in enumerate(command_log):
        logged = int(logged)
        if isinstance(cmd, MANUAL):
            if not (pending and logged == cur):
                flush()
                cur = logged
            pending.append(cmd)
            continue
        ev = resets[ri] if ri < len(resets) else None
        if isinstance(cmd, Reset) or _caused(cmd, ev):
            if ev is None:
                raise SessionError(f"command log entry {i} ({type(cmd).__name__}) re-initialised the run, but its "
                                   "reset event is missing; the event log is incomplete")
            ri += 1
            pre = int(ev.detail.get("old_step", logged))
            if not (pending and pre == cur):
                flush()
            out.append(LoggedCommand(pre, cmd))
            cur = 0
            continue
        if not (pending and logged == cur):
            flush()
            cur = logged
        out.append(LoggedCommand(logged, cmd))
    flush()
    return out


def session_from_run(initial_config: TrainConfig, command_log: Sequence[tuple[int, Command]],
                     events: Sequence[Event], step: int, scene: str | None = None,
                     branches: Sequence[dict[str, Any]] = ()) -> Session:
    """A Session from what a trainer knows: the config it was built with, its command_log, its events and
    its current step. If a checkpoint was loaded into the run, the session starts from that checkpoint
    (its path, config and the changes made after loading)."""
    base, checkpoint, log_start, ev_start = initial_config, None, 0, 0
    for i, ev in enumerate(events):
        if ev.kind == EventKind.RESET and "checkpoint" in ev.detail:
            checkpoint = str(ev.detail["checkpoint"])
            base = TrainConfig(**ev.detail["config"])
            log_start = int(ev.detail.get("log_start", 0))
            ev_start = i + 1
    entries = normalize_log(list(command_log)[log_start:], list(events)[ev_start:])
    from .. import __version__
    from .session_branches import lines_from_run  # the tree's lines (core.branches.LiveTimeline.run_log)

    return Session(base, tuple(entries), int(step), scene, checkpoint, __version__,
                   branches=lines_from_run(list(branches), normalize_log))


def session_from_trainer(trainer: Any, initial_config: TrainConfig, scene: str | None = None) -> Session:
    """A Session for a Trainer (at a step boundary) built from initial_config."""
    return session_from_run(initial_config, list(trainer.command_log), list(trainer.events), trainer.step, scene)


def segments(session: Session) -> list[list[LoggedCommand]]:
    """The commands split after each reset-type entry (the step count restarts at 0 after it)."""
    from ..core.config import REINIT_KEYS

    out: list[list[LoggedCommand]] = [[]]
    cfg = session.config
    for i, entry in enumerate(session.commands):
        out[-1].append(entry)
        cmd = entry.command
        if isinstance(cmd, Reset):
            if cmd.seed is not None:
                cfg = cfg.replace(seed=cmd.seed)
            out.append([])
            continue
        if isinstance(cmd, (*MANUAL, C.SetRunning, C.SetSpeed)):
            continue
        try:
            new = cfg.replace(**cmd.changes())
        except (ConfigError, ValueError, TypeError) as e:
            raise SessionError(f"commands[{i}] ({type(cmd).__name__}) at step {entry.step} cannot be applied to "
                               f"the config at that point: {e}") from None
        changed = {k for k in cmd.changes() if getattr(cfg, k) != getattr(new, k)}
        old, cfg = cfg, new
        if changed & REINIT_KEYS and not _hot_swap(changed, old, new):
            out.append([])
    return out


def _hot_swap(changed: set[str], old: TrainConfig, new: TrainConfig) -> bool:
    """A data change the engine applies without re-initialising (same dimension)."""
    from ..core.distributions import dataset_info

    return changed <= DATA_KEYS and (dataset_info(old.data, old.data_points).dim  # as core.live decides
                                     == dataset_info(new.data, new.data_points).dim)


# ---------------------------------------------------------------------------------------------- files
def session_to_dict(session: Session) -> dict[str, Any]:
    from .. import __version__

    out: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION,
                           "ganviz_version": session.ganviz_version or __version__, "seed": session.config.seed}
    if session.final_step is not None:
        out["final_step"] = int(session.final_step)
    if session.scene:
        out["scene"] = session.scene
    if session.checkpoint:
        out["checkpoint"] = session.checkpoint
    if session.note:
        out["note"] = session.note
    out["config"] = session.config.to_dict()
    out["commands"] = [{"step": int(e.step), **command_to_dict(e.command)} for e in session.commands]
    if session.branches:
        from .session_branches import lines_to_list

        out["branches"] = lines_to_list(session.branches, command_to_dict)
    return out


def session_from_dict(data: Any, where: str = "session") -> Session:
    """Validate a parsed session (TOML / JSON); raises SessionError naming the entry."""
    if not isinstance(data, dict):
        raise SessionError(f"{where}: a session is a table (TOML) or an object (JSON)")
    if data.get("format") != FORMAT:
        raise SessionError(f"{where}: not a ganviz session (format = {data.get('format')!r}, expected {FORMAT!r})")
    version = data.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= FORMAT_VERSION:
        raise SessionError(f"{where}: format_version {version!r} is not supported (this ganviz reads "
                           f"1..{FORMAT_VERSION})")
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise SessionError(f"{where}: unknown top-level key(s) {', '.join(sorted(map(str, unknown)))}")
    table = data.get("config")
    if not isinstance(table, dict):
        raise SessionError(f"{where}: [config] is missing or not a table")
    values = {}
    for key, value in table.items():
        if key not in FIELDS:
            raise SessionError(f"{where}: [config] unknown key {key!r}; see `ganviz list` for the keys")
        try:
            values[key] = coerce_field(key, value)
        except ConfigError as e:
            raise SessionError(f"{where}: [config] {e}") from None
    try:
        config = TrainConfig(**values)
        config.validate()
    except ConfigError as e:
        raise SessionError(f"{where}: [config] {e}") from None
    seed = data.get("seed", config.seed)
    if seed != config.seed or isinstance(seed, bool):
        raise SessionError(f"{where}: seed = {seed!r} but [config] seed = {config.seed}; they must agree")
    final = data.get("final_step")
    if final is not None and (not isinstance(final, int) or isinstance(final, bool) or final < 0):
        raise SessionError(f"{where}: final_step must be a non-negative integer, got {final!r}")
    for key in ("scene", "checkpoint", "ganviz_version", "note"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise SessionError(f"{where}: {key} must be text")
    raw = data.get("commands", [])
    if not isinstance(raw, list):
        raise SessionError(f"{where}: commands must be a list of tables ([[commands]])")
    entries = []
    for i, entry in enumerate(raw):
        here = f"{where}: commands[{i}]"
        if not isinstance(entry, dict):
            raise SessionError(f"{here}: must be a table with step, command and args")
        unknown = set(entry) - {"step", "command", "args"}
        if unknown:
            raise SessionError(f"{here}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        step = entry.get("step")
        if not isinstance(step, int) or isinstance(step, bool) or step < 0:
            raise SessionError(f"{here}: 'step' must be a non-negative integer, got {step!r}")
        entries.append(LoggedCommand(step, command_from_dict(entry, here)))
    from .session_branches import lines_from_list

    def parse_entry(entry: Any, here: str) -> LoggedCommand:
        step = entry.get("step") if isinstance(entry, dict) else None
        if not isinstance(step, int) or isinstance(step, bool) or step < 0:
            raise SessionError(f"{here}: must be a table with a non-negative integer 'step', got {step!r}")
        return LoggedCommand(step, command_from_dict(entry, here))

    branches = lines_from_list(data.get("branches", []), where, parse_entry, SessionError)
    session = Session(config, tuple(entries), final, data.get("scene") or None, data.get("checkpoint") or None,
                      data.get("ganviz_version", ""), data.get("note", ""), branches)
    try:
        segments(session)  # every change applies to the config as it is at that point (not only on its own)
    except SessionError as e:
        raise SessionError(f"{where}: {e}") from None
    return session


_COMMENT = ("ganviz session: the starting config and every live change; `ganviz replay FILE -o out.mp4`\n"
            "reproduces the run exactly on the CPU. Steps: see ganviz/export/session.py.")


def dumps_session(session: Session, fmt: str = "toml") -> str:
    """The session as TOML (default) or JSON text."""
    data = session_to_dict(session)
    try:
        if fmt == "json":
            return json.dumps(plain(data, "session"), indent=1, allow_nan=True) + "\n"
        return dumps(data, _COMMENT)
    except TomlWriteError as e:
        raise ExportError(f"cannot write the session: {e}") from None


def loads_session(text: str, where: str = "session", fmt: str = "toml") -> Session:
    try:
        data = json.loads(text) if fmt == "json" else tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SessionError(f"{where}: not valid TOML ({e}); the file may be truncated") from None
    except json.JSONDecodeError as e:
        raise SessionError(f"{where}: not valid JSON ({e}); the file may be truncated") from None
    except (ValueError, RecursionError) as e:  # an integer beyond Python's digit limit, nesting too deep
        raise SessionError(f"{where}: cannot read the {fmt.upper()} ({type(e).__name__}: {str(e)[:120]})") from None
    bad = _non_utf8(data)
    if bad is not None:
        raise SessionError(f"{where}: text {bad} is not valid Unicode (an unpaired surrogate escape)")
    return session_from_dict(data, where)


def _non_utf8(value: Any, depth: int = 0) -> str | None:
    """The first string (key or value) that UTF-8 cannot encode (JSON's "\\ud800"), or None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return _short(value)
        return None
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, list) and depth < 64:
        for item in value:
            if isinstance(item, (str, dict, list)):
                bad = _non_utf8(item, depth + 1)
                if bad is not None:
                    return bad
    return None


def _fmt_of(path: Path) -> str:
    return "json" if path.suffix.lower() == ".json" else "toml"


def save_session(session: Session, path: str | os.PathLike[str]) -> Path:
    """Write the session (TOML, or JSON for a .json name) atomically: temp file + rename."""
    from .errors import check_target

    path = Path(path)
    check_target(path, "file")
    text = dumps_session(session, _fmt_of(path))
    write_atomically(path, lambda f: f.write(text), "w", encoding="utf-8")
    return path


def load_session(path: str | os.PathLike[str]) -> Session:
    """Read and validate a session file; SessionError names the file and the first problem."""
    path = Path(path)
    try:
        with open_regular(path, MAX_SESSION_BYTES) as f:
            text = f.read().decode("utf-8")
    except FileNotFoundError:
        raise SessionError(f"{path}: no such file") from None
    except FileRefused as e:
        raise SessionError(f"{path}: {e}; not a session") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SessionError(f"{path}: cannot read the file ({e})") from None
    return loads_session(text, str(path), _fmt_of(path))


def is_session_file(path: str | os.PathLike[str]) -> bool:
    """Whether a TOML / JSON file declares itself a ganviz session (cheap check, no validation)."""
    try:
        with open_regular(path, MAX_SESSION_BYTES) as f:
            text = f.read(4096).decode("utf-8", errors="replace")
    except (OSError, FileRefused):
        return False
    return f'"{FORMAT}"' in text
