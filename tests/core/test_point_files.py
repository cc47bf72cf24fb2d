"""Real point files: quoted fields, decimal commas, a pandas index column, a header with units, chosen columns
(ganviz.core.pointfiles); messages that name the line, the column and what was found; `ganviz train --points`."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ganviz.core import userdata as U
from ganviz.core.pointfiles import PointsError

XY = [[0.03, -0.04], [1.5, 2.25], [-3.0, 0.125], [4.0, 1e-3]]

KINDS = {
    "quoted": '"x","y"\n"0.03","-0.04"\n"1.5","2.25"\n"-3","0.125"\n"4","1e-3"\n',
    "decimal comma": "x;y\n0,03;-0,04\n1,5;2,25\n-3;0,125\n4;0,001\n",
    "pandas index": ",x,y\n0,0.03,-0.04\n1,1.5,2.25\n2,-3.0,0.125\n3,4.0,0.001\n",
    "units header": "x (m),y (m)\n0.03,-0.04\n1.5,2.25\n-3,0.125\n4,0.001\n",
}


def write(tmp_path, name: str, text: str):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_four_real_csv_kinds_load_exactly(tmp_path, kind):
    notes: list[str] = []
    pts = U.load_points(write(tmp_path, "p.csv", KINDS[kind]), notes=notes)
    np.testing.assert_array_equal(pts, XY)
    assert pts.dtype == np.float64
    said = "; ".join(notes)
    assert "4 points (2D)" in said
    if kind == "decimal comma":
        assert "semicolon-separated, decimal commas" in said
    if kind == "pandas index":
        assert "row index (pandas): dropped" in said
    if kind == "units header":
        assert "'x (m)', 'y (m)'" in said


def test_windows_line_ends_bom_tabs_and_a_headerless_pandas_index(tmp_path):
    p = tmp_path / "w.csv"
    p.write_bytes("\ufeffx\ty\r\n1\t2\r\n3\t4.5\r\n".encode())
    np.testing.assert_array_equal(U.load_points(p), [[1, 2], [3, 4.5]])
    notes: list[str] = []
    idx = U.load_points(write(tmp_path, "i.csv", "0,5,6\n1,7,8\n2,9,10\n"), notes=notes)
    np.testing.assert_array_equal(idx, [[5, 6], [7, 8], [9, 10]])
    assert any("row index" in n for n in notes)


def test_columns_by_name_or_number(tmp_path):
    text = "id;lon (deg);lat (deg);alt\nA;1,5;-2,5;100\nB;3;4,25;200\nC;-1;0;300\n"
    p = write(tmp_path, "geo.csv", text)
    want = [[1.5, -2.5], [3, 4.25], [-1, 0]]
    np.testing.assert_array_equal(U.load_points(p, columns="lon (deg),lat (deg)"), want)
    np.testing.assert_array_equal(U.load_points(p, columns="LAT (DEG), lon (deg)"), np.array(want)[:, ::-1])
    np.testing.assert_array_equal(U.load_points(p, columns="2,3"), want)
    np.testing.assert_array_equal(U.load_points(p, columns=["alt"]), [[100], [200], [300]])
    with pytest.raises(PointsError, match=r"geo.csv: line 1: 4 columns \('id', 'lon \(deg\)', 'lat \(deg\)', 'alt'\).*"
                                          r"--columns"):
        U.load_points(p)
    with pytest.raises(PointsError, match=r"no column named 'height'; the header \(line 1\) has 'id', 'lon"):
        U.load_points(p, columns="lon (deg),height")
    with pytest.raises(PointsError, match="column 7 does not exist: the file has 4 columns"):
        U.load_points(p, columns="2,7")
    with pytest.raises(PointsError, match=r"line 2: 'A' is not a number \(column 1 'id'\)"):
        U.load_points(p, columns="id,alt")
    with pytest.raises(PointsError, match="1 or 2 coordinates, got 3"):
        U.load_points(p, columns="1,2,3")


@pytest.mark.parametrize("text,needle", [
    ("x (m),y (m)\n0.1,0.2\n0.3,0..4\n", "line 3: '0..4' is not a number (column 2 'y (m)')"),
    ('"x","y"\n"1","2"\n"3"\n', "line 3: 1 column, but the header (line 1) has 2"),
    ("x;y\n0,1;0,2\n0,3;n/a\n", "line 3: 'n/a' is not a number (column 2 'y')"),
    (",x,y\n0,1,2\n1,3,inf\n", "line 3: 'inf' is not a finite number (NaN or Inf; column 3 'y')"),
    ("a,b,c\n1,2,3\n4,5,6\n", "line 1: 3 columns ('a', 'b', 'c'); points have 1 column (x) or 2 columns"),
    ("x,y\n", "no points in the file (only a header line)"),
])
def test_broken_csv_files_name_line_column_and_value(tmp_path, text, needle):
    with pytest.raises(PointsError) as info:
        U.load_points(write(tmp_path, "bad.csv", text))
    assert needle in str(info.value), str(info.value)
    assert str(info.value).startswith("bad.csv: ")


def test_columns_on_a_npy_file_are_refused_not_ignored(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((4, 2)))
    with pytest.raises(PointsError, match="columns pick columns of a CSV file"):
        U.load_points(tmp_path / "a.npy", columns="1,2")


def _train(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganviz.cli", "train", "--steps", "4", "--every", "2", "--quiet",
                           "--set", "d_width=8", "--set", "g_width=8", "--set", "batch_size=16",
                           "--set", "mode_samples=100", "--set", "w1_samples=16", "--set", "kde_samples=64",
                           "--set", "grid_size=8", "--set", "n_view=16", *args],
                          capture_output=True, text=True, timeout=240)


def test_train_headless_on_a_csv_says_what_it_read(tmp_path):
    p = write(tmp_path, "pandas.csv", KINDS["pandas index"])
    r = _train("--points", str(p))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["step"] for row in rows] == [2, 4]
    assert "pandas.csv" in r.stderr and "row index (pandas): dropped" in r.stderr and "4 points (2D)" in r.stderr
    geo = write(tmp_path, "geo.csv", "id;lon;lat\nA;1,5;-2,5\nB;3;4,25\nC;-1;0\n")
    assert _train("--points", str(geo), "--columns", "lon,lat").returncode == 0
    bad = _train("--points", str(geo))
    assert bad.returncode == 2 and "geo.csv: line 1: 3 columns ('id', 'lon', 'lat')" in bad.stderr
    assert bad.stdout == ""


@pytest.mark.parametrize("argv", [["train", "--set", "data={f}"], ["--data", "{f}", "train"],
                                  ["train", "--data", "{f}"]])
def test_a_points_file_given_as_data_says_how_to_train_on_it(tmp_path, monkeypatch, argv):
    """`--set data=FILE` is what some users try: refused, with the option that trains on the file."""
    import re

    from ganviz import cli
    from ganviz.core.config import ConfigError

    f = write(tmp_path, "units.csv", KINDS["units header"])
    with pytest.raises(ConfigError, match=re.escape(f"data='{f}' is a file, not a dataset name: train on its points "
                                                    f"with --points {f} ")):
        cli.config_from_args(cli.parse_args([a.format(f=f) for a in argv]))
    with pytest.raises(ConfigError, match="data='nosuch.csv' is out of range"):  # no such file: the usual message
        cli.config_from_args(cli.parse_args(["train", "--data", "nosuch.csv"]))
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "ring8", "a file named like a dataset\n")  # the dataset name wins over a file in the folder
    assert cli.config_from_args(cli.parse_args(["train", "--data", "ring8"])).data == "ring8"


# ------------------------------------------------------------------------------------------ property test
STYLES = ["plain", "quoted", "decimal comma", "pandas index", "units header", "tab", "spaces", "windows"]


def _write_style(pts: np.ndarray, style: str) -> str:
    """The points as one kind of real-world CSV (repr: every float round-trips exactly)."""
    names = ["x", "y"][: pts.shape[1]]
    cell = repr if style != "decimal comma" else (lambda v: repr(v).replace(".", ","))
    rows = [[cell(float(v)) for v in row] for row in pts]
    if style == "quoted":
        return "\n".join([",".join(f'"{n}"' for n in names)] + [",".join(f'"{c}"' for c in r) for r in rows]) + "\n"
    if style == "decimal comma":
        return "\n".join([";".join(names)] + [";".join(r) for r in rows]) + "\n"
    if style == "pandas index":
        return "\n".join(["," + ",".join(names)] + [f"{i}," + ",".join(r) for i, r in enumerate(rows)]) + "\n"
    if style == "units header":
        return "\n".join([",".join(f"{n} (m)" for n in names)] + [",".join(r) for r in rows]) + "\n"
    sep = {"tab": "\t", "spaces": "   "}.get(style, ",")
    end = "\r\n" if style == "windows" else "\n"
    return end.join(["# exported points", sep.join(names)] + [sep.join(r) for r in rows]) + end


@settings(max_examples=80, deadline=None)
@given(pts=st.integers(2, 25).flatmap(lambda n: st.lists(
           st.lists(st.floats(-1e5, 1e5, allow_nan=False, allow_subnormal=False), min_size=2, max_size=2),
           min_size=n, max_size=n)),
       dim=st.sampled_from([1, 2]), style=st.sampled_from(STYLES))
def test_fuzz_every_style_reads_back_exactly(tmp_path_factory, pts, dim, style):
    arr = np.array(pts, dtype=np.float64)[:, :dim]
    if style == "decimal comma" and dim == 1:
        style = "units header"  # one column with decimal commas cannot be told from two columns (documented)
    assume((arr.max(axis=0) - arr.min(axis=0)).max() >= U.MIN_SPREAD)  # (nearly) equal points are refused by design
    p = tmp_path_factory.mktemp("csv") / "p.csv"
    p.write_bytes(_write_style(arr, style).encode())
    np.testing.assert_array_equal(U.load_points(p), arr)
