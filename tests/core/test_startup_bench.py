"""`ganviz bench --startup` (issue 20): the arithmetic that turns marks into figures. No timing here: the bench
itself is a command (docs/BENCHMARKS.md), and these tests only pin how it reads what it measured."""

from __future__ import annotations

from ganviz import cli
from ganviz.cli.startup_bench import TARGETS, _median, _read_marks, rate_reached, thin


def test_full_speed_is_the_first_time_the_last_second_reaches_the_rate():
    snaps = [(0.5 * i, 1 * i) for i in range(10)]  # 2 steps/s for 4.5 s
    snaps += [(5.0 + 0.1 * i, 10 + 3 * i) for i in range(1, 30)]  # then 30 steps/s
    assert rate_reached(snaps, 2.0) == 1.0  # the first point a full second after another
    t = rate_reached(snaps, 25.0)
    assert t is not None and 5.7 < t < 6.2  # the window [t - 1, t] must lie mostly in the fast part
    assert rate_reached(snaps, 31.0) is None
    assert rate_reached([], 1.0) is None


def test_a_figure_not_reached_in_time_counts_as_slowest_in_the_median():
    assert _median([3.0, None, 1.0]) == 3.0
    assert _median([None, None, 1.0]) is None  # most rounds never got there
    assert _median([2.0]) == 2.0


def test_marks_file_and_thinning(tmp_path):
    f = tmp_path / "marks.tsv"
    f.write_text("window\t100.5\t\nsnap\t101.0\t3\nbroken line\nframe\t101.0\t3\n", encoding="utf-8")
    assert _read_marks(f) == [("window", 100.5, ""), ("snap", 101.0, "3"), ("frame", 101.0, "3")]
    assert _read_marks(tmp_path / "missing") == []
    assert thin([(0.0, 0), (0.1, 1), (0.6, 5), (0.7, 6)]) == [(0.0, 0), (0.6, 5), (0.7, 6)]


def test_targets_follow_the_issue():
    torch_s = 2.0
    assert {k: f(torch_s) for k, (_d, f) in TARGETS.items()} == {
        "window": 1.0, "frame": 3.5, "train": 2.6, "image_full_speed": 5.0}


def test_the_command_line():
    args = cli.parse_args(["bench", "--startup", "--against", "/tmp/before", "--repeats", "5"])
    assert args.startup and args.against == "/tmp/before" and args.repeats == 5
    assert not cli.parse_args(["bench"]).startup
