"""Writing TOML files (scenes, sessions) with tomli-w, never by hand; reading config values back from TOML or
JSON (`coerce_field`, shared by sessions and checkpoints).

tomli-w escapes what TOML needs escaped (control characters, quotes, backslashes) and writes any other
Unicode as itself, emoji included; `plain` first turns numpy scalars and arrays into Python numbers and
lists, so `np.float64(0.5)` is written as `0.5`. The one layout choice made here: the rows of
`[config] data_points` (up to 20000 points) are written four to a line instead of tomli-w's one number per
line; they are plain numbers, formatted as tomli-w formats them (`str(float)`: `0.1`, `1e-05`, `nan`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import tomli_w

from .config import FIELDS, ConfigError, check_value, describe_range


class TomlWriteError(ValueError):
    """A value that a TOML file cannot hold; the message names where it is."""


def plain(value: Any, where: str = "value") -> Any:
    """value as TOML-ready Python data: numpy scalars -> int / float / bool / str, arrays and tuples ->
    lists, mapping keys must be text. Raises TomlWriteError for None, other objects, non-text keys and
    text that UTF-8 cannot encode (an unpaired surrogate, e.g. an undecodable file name)."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise TomlWriteError(f"{where}: text {value!r:.80} is not valid Unicode (an undecodable file "
                                 "name?); it cannot be written to a UTF-8 file") from None
        return value
    if isinstance(value, (list, tuple)):
        return [plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TomlWriteError(f"{where}: key {k!r} is not text")
            out[plain(k, where)] = plain(v, f"{where}.{k}")
        return out
    raise TomlWriteError(f"{where}: cannot write {type(value).__name__} {value!r:.60} to a TOML file")


def _number(v: int | float) -> str:
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    return str(v)  # what tomli-w writes: 0.5, 1e-05, inf, -inf, 3


def _is_rows(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(r, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in r)
        for r in value)


def dumps(data: dict[str, Any], comment: str = "") -> str:
    """TOML text for data (see the module docstring); comment lines (without '#') go first."""
    data = plain(data, "file")
    rows = None
    cfg = data.get("config")
    if isinstance(cfg, dict) and _is_rows(cfg.get("data_points")):
        rows = cfg.pop("data_points")
    text = tomli_w.dumps(data)
    if rows is not None:
        cells = ["[" + ", ".join(_number(v) for v in r) + "]" for r in rows]
        lines = ",\n".join("  " + ", ".join(cells[i:i + 4]) for i in range(0, len(cells), 4))
        header = "[config]\n"
        at = 0 if text.startswith(header) else text.index("\n" + header) + 1
        at += len(header)
        text = text[:at] + f"data_points = [\n{lines},\n]\n" + text[at:]
    head = "".join(f"# {line}\n" for line in comment.splitlines())
    return head + text


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


def _short(value: Any) -> str:
    """repr() for messages, cut short (and safe for integers beyond Python's digit limit)."""
    try:
        text = repr(value)
    except ValueError:
        return f"a {type(value).__name__} too large to print"
    return text if len(text) <= 80 else text[:77] + "..."


def coerce_field(key: str, value: Any) -> Any:
    """A config value read from TOML or JSON: ints for float fields become floats, whole floats for integer
    fields integers (a TOML `4.0` would otherwise reach range() in the engine), arrays for tuple fields
    tuples; then the schema check. Raises ConfigError, also for numbers too large for a float (JSON integers
    have no size limit)."""
    ftype = FIELDS[key].type
    try:
        if ftype in ("float", float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(FIELDS[key].default, tuple) and isinstance(value, list):
            value = _tuples(value)
        if ftype in ("int", int) and isinstance(value, float) and value.is_integer():
            value = int(value)  # whole floats only (check_value refuses 2.5 and 2.0 alike)
        check_value(key, value)
    except (OverflowError, TypeError):
        raise ConfigError(f"{key}={_short(value)} is out of range: {key} must be {describe_range(key)}") from None
    return value
