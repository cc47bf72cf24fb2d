"""Reading point files (CSV and other delimited text) as a float64 (n, 1) or (n, 2) array.

Real files come in many shapes; each of these reads without options, and `notes` says what was assumed:

- any delimiter: comma, semicolon, tab, bar or spaces (csv.Sniffer's guess is tried first, then the others
  in that order; the first under which every data line parses wins), or a mix of them on unquoted lines;
- quoted fields (`"x","y"` / `"0.5","1.2"`), read with the standard csv module;
- decimal commas (`0,03;-0,04`) when the delimiter is not a comma;
- a header line (any text: `x (m),y (m)`) and comment lines starting with '#';
- a pandas index column (`df.to_csv()`: a header starting with an empty name or "Unnamed: 0" before one or
  two named columns, or a first column counting 0, 1, 2, ... beside two others) is dropped.

`columns` picks the columns to use, by header name or by number (1 = the first column), e.g. "x,y",
"2,3" or ["lon", "lat"]; without it a file must have 1 or 2 columns (after an index column is dropped).
Every problem raises PointsError naming the file, the line and the column, and what was found there.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

MAX_POINTS = 20000
_DELIMITERS = (",", ";", "\t", "|", " ")
_MIXED = re.compile(r"[,;\t ]+")
_INDEX_NAMES = ("", "unnamed: 0")  # what pandas writes for an unnamed index


class PointsError(ValueError):
    """A points file that cannot be used; the message names the file and the line or the problem."""


class ColumnsNeeded(PointsError):
    """The file has more columns than a point has: the caller may ask which to use (`header`: their names or
    None, `width`: how many, `numeric`: 0-based indices of the columns holding numbers on the first data line)."""

    def __init__(self, message: str, header: list[str] | None, width: int = 0, numeric: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.header = header
        self.width = width
        self.numeric = numeric


class _Fail(Exception):
    """One delimiter guess failed at a line (lines before it parsed)."""

    def __init__(self, message: str, progress: int, header: list[str] | None | bool = False, width: int = 0,
                 numeric: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.progress = progress
        self.header = header  # False, or the header (None: no header) when columns must be chosen
        self.width, self.numeric = width, numeric


def parse_columns(spec: str | Sequence[str | int] | None) -> list[str | int] | None:
    """"x,y" / "2,3" / ["x", 2] -> names (str) and 1-based numbers (int); None or "" -> None."""
    if spec is None:
        return None
    parts = [p.strip() for p in spec.split(",")] if isinstance(spec, str) else list(spec)
    out: list[str | int] = []
    for p in parts:
        if isinstance(p, str) and p.isdigit():
            p = int(p)
        if isinstance(p, int) and p < 1:
            raise PointsError(f"columns: column numbers start at 1, got {p}")
        if p == "":
            raise PointsError(f"columns: an empty column name in {spec!r}")
        out.append(p)
    if not out:
        return None
    if len(out) > 2:
        raise PointsError(f"columns: points have 1 or 2 coordinates, got {len(out)} columns ({spec!r})")
    return out


def _number(text: str, decimal_comma: bool) -> float | None:
    t = text.strip().strip('"').strip("'").strip()
    if decimal_comma and "," in t and "." not in t:
        t = t.replace(",", ".")
    try:
        return float(t)
    except ValueError:
        return None


def _split(lines: list[tuple[int, str]], delim: str | None) -> list[tuple[int, list[str]]]:
    if delim is None:  # a mix of separators on unquoted lines
        return [(no, [f.strip('"').strip("'") for f in _MIXED.split(line) if f]) for no, line in lines]
    reader = csv.reader([line for _, line in lines], delimiter=delim, quotechar='"', skipinitialspace=True)
    return [(no, [f.strip() for f in row]) for (no, _), row in zip(lines, reader, strict=True)]


def _is_header(fields: list[str], decimal_comma: bool) -> bool:
    return all(f == "" or _number(f, decimal_comma) is None for f in fields) and any(fields)


def _select(width: int, header: list[str] | None, columns: list[str | int] | None, name: str,
            header_line: int) -> list[int]:
    """0-based indices of the columns to use."""
    if columns is None:
        return list(range(width))
    out = []
    for c in columns:
        if isinstance(c, int):
            if c > width:
                raise _Fail(f"{name}: column {c} does not exist: the file has {width} column"
                            f"{'s' if width != 1 else ''}", 0)
            out.append(c - 1)
            continue
        names = [h.strip() for h in header] if header else []
        for match in (names, [h.lower() for h in names]):
            key = c.strip() if match is names else c.strip().lower()
            if key in match:
                out.append(match.index(key))
                break
        else:
            where = f"the header (line {header_line}) has {', '.join(repr(h) for h in names)}" if header \
                else "the file has no header line (name columns by number: 1, 2, ...)"
            raise _Fail(f"{name}: no column named {c!r}; {where}", 0)
    return out


def _parse(lines: list[tuple[int, str]], delim: str | None, columns: list[str | int] | None, name: str,
           notes: list[str]) -> np.ndarray:
    try:
        rows = _split(lines, delim)
    except csv.Error as e:  # a field over csv's size limit, a NUL byte
        raise _Fail(f"{name}: cannot read the text ({e})", 0) from None
    decimal_comma = delim not in (",", None) and any(
        "," in f for _, fs in rows[:50] for f in fs)
    header: list[str] | None = None
    header_line = 0
    if rows and _is_header(rows[0][1], decimal_comma):
        header_line, header = rows[0][0], rows[0][1]
        rows = rows[1:]
    if not rows:
        raise _Fail(f"{name}: no points in the file (only a header line)" if header else
                    f"{name}: no points in the file (it is empty or has only comments)", 0)
    width = len(header) if header else len(rows[0][1])
    first = header_line or rows[0][0]
    drop_index = False
    if columns is None and width in (2, 3) and header and header[0].strip().lower() in _INDEX_NAMES:
        drop_index = True  # pandas' unnamed index: ",x,y" or ",x" (a Series)
    elif columns is None and width == 3:  # a first column counting 0, 1, 2, ... (or 1, 2, 3, ...) beside x, y
        col0 = [_number(fs[0], decimal_comma) if fs else None for _, fs in rows]
        drop_index = all(v is not None for v in col0) and len(col0) >= 2 and (
            np.array_equal(col0, np.arange(len(col0))) or np.array_equal(col0, np.arange(1, len(col0) + 1)))
    use = list(range(1, width)) if drop_index else _select(width, header, columns, name, header_line)
    if columns is None and not drop_index and width not in (1, 2):
        names = f" ({', '.join(repr(h) for h in header)})" if header else ""
        raise _Fail(f"{name}: line {first}: {width} columns{names}; points have 1 column (x) or 2 columns (x, y): "
                    "choose them with columns (--columns x,y or --columns 2,3)", 0, header, width,
                    tuple(i for i, f in enumerate(rows[0][1]) if _number(f, decimal_comma) is not None))
    col_names = [header[i] if header and i < len(header) else f"column {i + 1}" for i in use]
    out = np.empty((len(rows), len(use)))
    for r, (lineno, fields) in enumerate(rows):
        if len(fields) != width:
            ref = f"the header (line {header_line})" if header else f"line {first}"
            raise _Fail(f"{name}: line {lineno}: {len(fields)} column{'s' if len(fields) != 1 else ''}, but {ref} "
                        f"has {width}; every line needs the same number", r)
        for c, i in enumerate(use):
            v = _number(fields[i], decimal_comma)
            label = f"column {i + 1}" + (f" {header[i]!r}" if header and header[i] else "")
            if v is None:
                raise _Fail(f"{name}: line {lineno}: {fields[i]!r} is not a number ({label})", r)
            if not math.isfinite(v):
                raise _Fail(f"{name}: line {lineno}: {fields[i]!r} is not a finite number (NaN or Inf; {label})", r)
            out[r, c] = v
        if r >= MAX_POINTS:
            raise PointsError(f"{name}: line {lineno}: more than {MAX_POINTS} points; ganviz takes at most "
                              f"{MAX_POINTS} (subsample the file)")
    how = {None: "mixed separators", ",": "comma-separated", ";": "semicolon-separated", "\t": "tab-separated",
           "|": "'|'-separated", " ": "space-separated"}[delim]
    notes.append(how + (", decimal commas" if decimal_comma else ""))
    if header:
        notes.append(f"header on line {header_line}: {', '.join(repr(h) for h in header)}")
    if drop_index:
        notes.append("first column is a row index (pandas): dropped")
    if columns is not None or drop_index or width > len(use):
        notes.append("using " + " and ".join(f"{n!r}" if not n.startswith("column ") else n for n in col_names))
    notes.append(f"{len(out)} points ({len(use)}D)")
    return out


def read_csv(p: Path, raw: bytes, columns: str | Sequence[str | int] | None = None,
             notes: list[str] | None = None) -> np.ndarray:
    """Points from the bytes of a delimited text file (see the module docstring). Raises PointsError."""
    cols = parse_columns(columns)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PointsError(f"{p.name}: not a text file (not UTF-8); use CSV text or .npy") from None
    lines = [(no, line.strip()) for no, line in enumerate(text.splitlines(), start=1)]
    lines = [(no, line) for no, line in lines if line and not line.startswith("#")]
    if not lines:
        raise PointsError(f"{p.name}: no points in the file (it is empty or has only comments)")
    try:
        sniffed = csv.Sniffer().sniff("\n".join(line for _, line in lines[:50]), delimiters="".join(_DELIMITERS))
        first: tuple[str | None, ...] = (sniffed.delimiter,)
    except csv.Error:
        first = ()
    best: _Fail | None = None
    for delim in dict.fromkeys((*first, *_DELIMITERS, None)):
        if delim is None and any('"' in line for _, line in lines):
            continue
        found: list[str] = []
        try:
            pts = _parse(lines, delim, cols, p.name, found)
        except _Fail as e:
            if best is None or e.progress > best.progress:
                best = e
            continue
        if notes is not None:
            notes.extend(found)
        return pts
    assert best is not None
    if best.header is not False:
        raise ColumnsNeeded(str(best), best.header, best.width, best.numeric)
    raise PointsError(str(best))
