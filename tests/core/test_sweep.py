"""Sweeps (ganviz.sweep, `ganviz sweep`, `ganviz reproduce`): rows, backends, resume, shards, tables."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ganviz.core.config import TrainConfig
from ganviz.sweep import reproduction as R
from ganviz.sweep.grid import grid_tasks, parse_grid
from ganviz.sweep.runner import SweepError, run_sweep
from ganviz.sweep.store import pending, read_rows, shard
from ganviz.sweep.tables import grid_matrix, grid_table
from ganviz.sweep.tasks import Task, metric_fields, run_task

# small and fast: a run of 6 steps takes well under a second
TINY = TrainConfig(data="ring8", batch_size=16, mode_samples=200, w1_samples=32, n_view=32, g_width=16,
                   d_width=16, z_dim=4)


def tiny_tasks(steps: int = 6, seeds=(0,), values=(1e-3, 2e-3), every: int = 3) -> list[Task]:
    return grid_tasks(TINY, [("d_lr", list(values))], list(seeds), steps, every)


def by_key(rows):
    return {r["key"]: r for r in rows}


# ------------------------------------------------------------------ rows and backends
def test_row_fields_and_local_equals_ray(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    import ray._private.ray_constants as ray_constants

    # Ray on Linux turns a node address of 127.0.0.1 into the host's routable IP (services.resolve_ip_for_localhost)
    # unless it runs as a single-machine instance, as on macOS / Windows: then every process listens on loopback
    monkeypatch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # for Ray's own processes
    monkeypatch.setattr(ray_constants, "ENABLE_RAY_CLUSTER", False)  # for this one (read at import)
    tasks = tiny_tasks()
    local = run_sweep(tasks, tmp_path / "local.jsonl", progress=False)
    assert len(local) == 2 and {r["labels"]["d_lr"] for r in local} == {1e-3, 2e-3}
    r = local[0]
    assert r["status"] == "ok" and r["steps"] == 6 and r["step_reached"] == 6 and r["seed"] == 0
    assert r["config"]["d_lr"] == r["labels"]["d_lr"] and r["config"]["seed"] == 0
    assert [i["step"] for i in r["intervals"]] == [3, 6] and r["final"] == {k: v for k, v in r["intervals"][-1].items()
                                                                          if k != "step"}
    assert r["final"]["n_modes"] == 8 and 0 <= r["final"]["modes_covered"] <= 8 and r["final"]["w1"] > 0
    assert r["wall_s"] > 0 and r["cpu_s"] > 0 and r["host"] and r["engine"] == "single"
    assert set(r["versions"]) == {"ganviz", "torch", "python"}
    # the local backend's process pool (the CLI's default, --jobs 2): two spawned workers
    pool = run_sweep(tasks, tmp_path / "pool.jsonl", jobs=2, progress=False)
    ray.init(address="local", include_dashboard=False, num_cpus=1, _node_ip_address="127.0.0.1",
             ignore_reinit_error=True, log_to_driver=False)
    try:
        assert [n["NodeManagerAddress"] for n in ray.nodes()] == ["127.0.0.1"]  # one node, on the loopback address
        remote = run_sweep(tasks, tmp_path / "ray.jsonl", backend="ray", progress=False)
    finally:
        ray.shutdown()
    assert not ray.is_initialized()
    assert remote[0]["host"] and remote[0]["wall_s"] > 0
    a, p, b = by_key(local), by_key(pool), by_key(remote)
    assert set(a) == set(p) == set(b) and len(a) == 2
    for k in a:  # same config and seed: the same numbers, wherever it ran
        assert metric_fields(a[k]) == metric_fields(p[k]) == metric_fields(b[k])
    assert a[tasks[0].run_keys()[0]]["final"] != a[tasks[1].run_keys()[0]]["final"]  # two configs, two results


def test_progress_bar_counts_tasks_and_gives_an_eta():
    import io

    from ganviz.sweep.backends import Progress

    out = io.StringIO()  # not a terminal: one line per finished task (batch logs)
    bar = Progress(4, out, width=8)
    assert "0/4 tasks (no runs yet)" in bar.line() and bar.line().endswith("ETA ?")
    bar.t0 -= 30.0  # the first task took 30 s: three more to go, 90 s
    bar.update([{"status": "ok"}, {"status": "diverged"}], "d_lr=0.001 seeds 0..1")
    line = out.getvalue().splitlines()[-1]
    assert line.startswith("[##------] 1/4 tasks (1 ok, 1 diverged) elapsed 0:00:30, ETA 0:01:30")
    assert line.endswith("  d_lr=0.001 seeds 0..1")
    for _ in range(3):
        bar.update([{"status": "failed"}])
    assert "[########] 4/4 tasks (1 ok, 1 diverged, 3 failed)" in out.getvalue().splitlines()[-1]
    assert out.getvalue().splitlines()[-1].split("ETA ")[1] == "0:00:00"


def test_batched_seeds_one_task_per_block_and_refused_methods_split():
    assert R.reproduction_tasks(["ring8"], ["gan"], range(5), 10, seeds_per_task=2)[0].seeds == (0, 1)
    tasks = R.reproduction_tasks(["ring8"], ["gan", "pacgan2", "unrolled"], range(4), 10, seeds_per_task=4)
    assert [(t.labels["method"], t.seeds) for t in tasks] == [
        ("gan", (0, 1, 2, 3)), *[("pacgan2", (s,)) for s in range(4)], *[("unrolled", (s,)) for s in range(4)]]
    rows = run_task(Task(TINY.to_dict(), (3, 4), 4, 2, {"p": 1}))
    assert [r["seed"] for r in rows] == [3, 4] and all(r["engine"] == "ensemble x2" for r in rows)
    assert all(r["status"] == "ok" and r["task_seeds"] == 2 and r["config"]["seed"] == r["seed"] for r in rows)
    assert rows[0]["final"] != rows[1]["final"]  # two seeds, two runs


def test_diverged_and_failed_runs_are_rows_and_counted(tmp_path):
    # learning rate 1 with momentum 0.99: NaN within 10 steps (the default network widths)
    absurd = TrainConfig(data="ring8", batch_size=16, mode_samples=200, w1_samples=32, n_view=32, objective="lsgan",
                         d_optimizer="sgd", g_optimizer="sgd", d_lr=1.0, g_lr=1.0, momentum=0.99)
    tasks = [Task(TINY.to_dict(), (0,), 20, 10, {"lr": "sane"}),
             Task(absurd.to_dict(), (0,), 20, 10, {"lr": "absurd"}),
             Task(absurd.to_dict(), (1, 2), 20, 10, {"lr": "absurd"}),  # batched: each seed its own status
             Task({**TINY.to_dict(), "d_lr": 5.0}, (0,), 20, 10, {"lr": "invalid"})]
    rows = run_sweep(tasks, tmp_path / "d.jsonl", progress=False)
    st = {(r["labels"]["lr"], r["seed"]): r for r in rows}
    assert st[("sane", 0)]["status"] == "ok"
    for s in (0, 1, 2):
        assert st[("absurd", s)]["status"] == "diverged" and "NaN/Inf" in st[("absurd", s)]["message"]
        assert st[("absurd", s)]["final"] == {}
    assert st[("invalid", 0)]["status"] == "failed" and "d_lr" in st[("invalid", 0)]["message"]
    table = grid_table(rows, ["lr"])
    assert "| absurd | 20 | 3 (3 diverged) | — |" in table and "| invalid | 20 | 1 (1 failed) |" in table
    assert "| sane | 20 | 1 |" in table
    gm = grid_matrix(rows, "lr")
    assert gm.x_values == ["absurd", "invalid", "sane"] and gm.diverged == [[3, 0, 0]] and gm.counts == [[3, 1, 1]]
    assert math.isnan(gm.values[0][0]) and math.isfinite(gm.values[0][2])


# ------------------------------------------------------------------ resume, shards
def test_resume_after_a_killed_sweep_runs_each_task_once(tmp_path, monkeypatch):
    out = tmp_path / "runs.jsonl"
    cmd = [sys.executable, "-m", "ganviz.cli", "sweep", "--grid", "d_lr=1e-4,2e-4,3e-4,4e-4,5e-4,6e-4",
           "--set", "batch_size=16", "--set", "mode_samples=200", "--set", "g_width=16", "--set", "d_width=16",
           "--set", "z_dim=4", "--set", "w1_samples=32", "--set", "n_view=32", "--seeds", "1", "--steps", "150",
           "--jobs", "1", "--quiet", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not out.exists() or out.read_text().count("\n") < 2):
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)  # killed mid-sweep, as by a scheduler or a power cut
    proc.wait()
    before, bad = read_rows(out)
    assert bad == 0 and 2 <= len(before) < 6, proc.stderr.read().decode()
    with open(out, "a", encoding="utf-8") as f:  # and a row cut off mid-write
        f.write(json.dumps(before[0])[:70])
    tasks = grid_tasks(TINY.replace(batch_size=16), parse_grid(["d_lr=1e-4,2e-4,3e-4,4e-4,5e-4,6e-4"]), [0], 150)
    tasks = [Task({**t.config, "mode_samples": 200}, t.seeds, t.steps, 15, t.labels) for t in tasks]
    assert {t.run_keys()[0] for t in tasks} >= {r["key"] for r in before}  # the CLI built the same tasks
    ran = []
    import ganviz.sweep.runner as runner

    real = runner.run_tasks
    monkeypatch.setattr(runner, "run_tasks", lambda todo, on_rows, **kw: (ran.extend(todo), real(todo, on_rows, **kw)))
    with pytest.raises(SweepError, match="--resume"):
        run_sweep(tasks, out, progress=False)
    rows = run_sweep(tasks, out, resume=True, progress=False)
    assert sorted(t.run_keys()[0] for t in ran) == sorted({t.run_keys()[0] for t in tasks} - {r["key"] for r in before})
    lines = [json.loads(line) for line in out.read_text().splitlines()]  # every line whole again
    assert len(lines) == 6 and len({r["key"] for r in lines}) == 6 and len(rows) == 6
    old = by_key(before)
    assert all(by_key(rows)[k] == old[k] for k in old)  # finished rows untouched


def test_shards_are_disjoint_and_union_to_the_whole(tmp_path, capsys):
    tasks = tiny_tasks(values=(1e-3, 2e-3, 3e-3), seeds=(0, 1), steps=2)
    keys = [t.run_keys()[0] for t in tasks]
    parts = [shard(tasks, i, 3) for i in range(3)]
    got = [t.run_keys()[0] for p in parts for t in p]
    assert sorted(got) == sorted(keys) and len(got) == len(set(got)) == 6
    from ganviz.cli import main

    argv = ["sweep", "--grid", "d_lr=1e-3,2e-3,3e-3", "--set", "batch_size=16", "--set", "mode_samples=200",
            "--set", "g_width=16", "--set", "d_width=16", "--set", "z_dim=4", "--set", "w1_samples=32",
            "--set", "n_view=32", "--seeds", "1", "--steps", "2", "--jobs", "1", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "whole.jsonl")]) == 0
    whole_table = capsys.readouterr().out
    files = []
    for i in range(2):
        files.append(tmp_path / f"part{i}.jsonl")
        assert main([*argv, "--shard", f"{i}/2", "--out", str(files[-1])]) == 0
    union = [r for f in files for r in read_rows(f)[0]]
    assert sorted(r["labels"]["d_lr"] for r in union) == [1e-3, 2e-3, 3e-3]
    assert [r["labels"]["d_lr"] for r in read_rows(files[1])[0]] == [2e-3]
    assert pending(tasks, {r["key"] for r in union}) == [t for t in tasks if t.seeds == (1,)]
    # merged as docs/SWEEPS.md says (cat the parts), --from gives the unsharded sweep's table
    merged = tmp_path / "all.jsonl"
    merged.write_text("".join(f.read_text() for f in files), encoding="utf-8")
    capsys.readouterr()
    assert main(["sweep", "--from", str(merged), "--quiet"]) == 0
    assert capsys.readouterr().out == whole_table and whole_table.count("\n| 0.00") == 3


def test_seed_start_adds_seeds_to_a_finished_sweep_without_repeating_any(tmp_path, capsys):
    from ganviz.cli import main

    argv = ["sweep", "--grid", "d_lr=1e-3,2e-3", "--set", "batch_size=16", "--set", "mode_samples=200",
            "--set", "g_width=16", "--set", "d_width=16", "--set", "z_dim=4", "--set", "w1_samples=32",
            "--set", "n_view=32", "--steps", "2", "--jobs", "1", "--quiet"]
    assert main([*argv, "--seeds", "3", "--out", str(tmp_path / "all.jsonl")]) == 0
    grown = str(tmp_path / "grown.jsonl")
    assert main([*argv, "--seeds", "1", "--out", grown]) == 0  # seed 0 first, seeds 1..2 added later
    assert main([*argv, "--seeds", "2", "--seed-start", "1", "--out", grown, "--resume"]) == 0
    capsys.readouterr()
    assert main([*argv, "--seeds", "3", "--out", grown, "--resume"]) == 0  # nothing left to run
    assert "6 run(s) already in" in capsys.readouterr().err
    whole, grown_rows = by_key(read_rows(tmp_path / "all.jsonl")[0]), read_rows(grown)[0]
    assert len(Path(grown).read_text().splitlines()) == 6
    assert sorted(r["seed"] for r in grown_rows) == [0, 0, 1, 1, 2, 2]
    assert all(metric_fields(r) == metric_fields(whole[r["key"]]) for r in grown_rows)


def test_bad_sweep_arguments_exit_2_with_a_message(tmp_path, capsys):
    from ganviz.cli import main

    for argv, msg in [(["--grid", "d_lr=2"], "d_lr"), (["--grid", "nokey=1"], "nokey"),
                      (["--shard", "2/2"], "0 .. n-1"), (["--grid", "seed=1,2"], "--seeds"),
                      (["--address", "x"], "--backend ray")]:
        assert main(["sweep", *argv, "--out", str(tmp_path / "x.jsonl"), "--quiet"]) == 2
        assert msg in capsys.readouterr().err
    assert not (tmp_path / "x.jsonl").exists()


# ------------------------------------------------------------------ tables
def test_reproduce_writes_jsonl_beside_its_table_and_from_rebuilds_the_same_markdown(tmp_path, capsys):
    from ganviz.cli import main

    out = tmp_path / "t.md"
    common = ["--set", "mode_samples=200", "--set", "batch_size=16", "--set", "w1_samples=32", "--set", "n_view=32"]
    assert main(["reproduce", "--methods", "gan,pacgan2", "--data", "ring8", "--seeds", "2", "--steps", "2",
                 "--seeds-per-task", "2", "--jobs", "1", "--quiet", *common, "--out", str(out)]) == 0
    live, notes = capsys.readouterr()
    # the ensemble cannot batch packing: said once, with the reason; the plain GAN batches and is not named
    assert "--seeds-per-task 2: data=ring8 method=pacgan2: one seed per task (pack=2 is not supported" in notes
    assert "method=gan:" not in notes
    rows, bad = read_rows(tmp_path / "t.jsonl")
    assert bad == 0 and len(rows) == 4
    assert sorted((r["labels"]["method"], r["seed"], r["engine"]) for r in rows) == [
        ("gan", 0, "ensemble x2"), ("gan", 1, "ensemble x2"), ("pacgan2", 0, "single"), ("pacgan2", 1, "single")]
    text = out.read_text()
    assert "ganviz reproduce --methods gan,pacgan2 --data ring8 --seeds 2 --steps 2 --seeds-per-task 2" in text
    table = text.split("\n\n")[1]
    assert table.startswith("| data | method | steps | runs |") and "| ring8 | gan | 2 | 2 |" in table
    assert main(["reproduce", "--from", str(tmp_path / "t.jsonl"), "--out", str(tmp_path / "again.md")]) == 0
    again = capsys.readouterr().out
    assert table in live and table in again and (tmp_path / "again.md").read_text().split("\n\n")[1] == table
    assert main(["reproduce", "--methods", "nope", "--out", str(tmp_path / "x.md")]) == 2


def test_reproduction_table_values_and_the_papers_spread():
    def row(seed, status, cov, hq=0.5, rkl=0.1, method="gan", data="grid25"):
        final = {} if status != "ok" else {"modes_covered": cov, "n_modes": 25.0, "hq_fraction": hq, "reverse_kl": rkl}
        return {"key": f"{method}{seed}", "labels": {"data": data, "method": method}, "seed": seed, "steps": 100,
                "status": status, "final": final}

    rows = [row(0, "ok", 17.0), row(1, "ok", 18.0, rkl=None), row(2, "diverged", None), row(3, "ok", 19.0)]
    table = R.format_table(rows)
    # mean 18 ± std 1 over the 3 ok runs, s.e. 1/sqrt(3); PacGAN's 17.3 ± 0.8 (s.e.) contains 18.0
    assert ("| grid25 | gan | 100 | 4 (1 diverged) | 18.0 ± 1.0 / 25 | 0.58 | 50.0 ± 0.0 | 0.10 ± 0.00 "
            "(1 of 3 runs: no HQ sample) | 17.3 ± 0.8 (s.e.) PacGAN T1 | yes |") in table
    far = R.format_table([row(0, "ok", 10.0, method="pacgan2")])
    assert "23.8 ± 0.7 (s.e.) PacGAN T1 | no (-13.8) |" in far
    assert "| — | (mean only)" not in R.format_table([row(0, "ok", 3.0, method="gan", data="ring8")])
    assert "1 (mean only) VEEGAN T1 | no spread given (off by +2.0) |" in R.format_table(
        [row(0, "ok", 3.0, method="gan", data="ring8")])


def test_method_names():
    assert R.method_changes("gan") == {} and R.method_changes("unrolled") == {"unroll": 5}
    assert R.method_changes("unrolled10") == {"unroll": 10} and R.method_changes("pacgan3") == {"pack": 3}
    assert R.method_changes("dsteps5") == {"d_steps": 5} and R.method_changes("mbstd") == {"mbstd": 1}
    assert R.method_changes("wgan-gp")["objective"] == "wgan-gp"
    for bad in ("foo", "gan2", "mbstd3"):
        with pytest.raises(ValueError):
            R.method_changes(bad)
    pac = R.base_config("ring8-pacgan")
    assert (pac.ring_radius, pac.ring_std, pac.batch_size, pac.z_dim, pac.g_width) == (1.0, 0.01, 100, 2, 400)


def test_figures_png_and_svg(tmp_path):
    pytest.importorskip("matplotlib")
    from ganviz.sweep.figures import heatmap_figure, reproduction_figure

    rows = [{"key": f"k{i}{j}{s}", "labels": {"d_lr": lr, "d_steps": ds}, "seed": s, "steps": 10,
             "status": "ok" if (i, j) != (1, 0) else "diverged",
             "final": {"modes_covered": float(i + 2 * j + s), "n_modes": 8.0}, "config": {"seed": s}}
            for i, lr in enumerate((1e-4, 1e-3)) for j, ds in enumerate((1, 5)) for s in (0, 1)]
    files = heatmap_figure(rows, tmp_path / "phase", "d_lr", "d_steps")
    assert [f[-3:] for f in files] == ["png", "svg"] and all(os.path.getsize(f) > 1000 for f in files)
    svg = Path(files[1]).read_text()
    assert "d_steps" in svg and "2 div." in svg and "0.0001" in svg
    rep = [{**r, "labels": {"data": "ring8", "method": "gan" if r["labels"]["d_steps"] == 1 else "unrolled"}}
           for r in rows]
    files = reproduction_figure(rep, tmp_path / "rep")
    assert all(os.path.getsize(f) > 1000 for f in files) and "VEEGAN T1" in Path(files[1]).read_text()
