"""`ganviz bench --startup`: how fast ganviz is on stage, as ratios to `python -c "import torch"` in one run.

Each round launches, one after the other (so background load hits every figure alike), fresh processes:
- `python -c "import torch"` (the yardstick);
- the window (`ganviz`, the default scene, offscreen, fresh settings), through `ganviz/startup_probe.py`:
  "window" is the moment the main window and its controls have been painted and the event loop answers,
  "frame" the moment the first trained snapshot (step >= 1) has been drawn;
- `ganviz train --steps 1` (start to exit);
- the first image scene (`--preset digits-dcgan`) on a fresh cache (a new GANVIZ_CACHE_DIR): its first frame,
  and "full speed", the first moment its training rate over the last second reaches FULL_SPEED of the same
  scene's headless rate (measured once per run, in a fresh process with a warm cache); at most
  IMAGE_TIMEOUT seconds.
Medians over the rounds are reported, each with its ratio to the torch import, against the targets of issue
20. `--against DIR` measures a second checkout (e.g. `git worktree add /tmp/before <rev>`) in the same rounds,
alternating with this one, for a before/after table. Times are from just before the process is started.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROBE = Path(__file__).with_name("startup_probe.py")
IMAGE_PRESET = "digits-dcgan"
FULL_SPEED = 0.8  # of the headless steps/s
IMAGE_TIMEOUT = 60.0
RATE_WINDOW = 1.0  # seconds over which the image run's training rate is taken
WINDOW_TIMEOUT = 60.0
TRAIN_CMD = "import sys; from ganviz.cli import main; sys.exit(main())"
HEADLESS_CODE = """
import json, sys, time
import torch
from ganviz.core.scenes import load_scene
from ganviz.core.trainer import Trainer
torch.set_num_threads(1)
t = Trainer(load_scene(sys.argv[1]).config)
t.train(20)
n, t0 = 0, time.perf_counter()
while time.perf_counter() - t0 < float(sys.argv[2]):
    t.train(5)
    n += 5
print(json.dumps({"steps_per_s": n / (time.perf_counter() - t0)}))
"""
TARGETS = {  # figure -> (description, limit in seconds given the torch import time)
    "window": ("<= 1.0 s", lambda torch_s: 1.0),
    "frame": ("<= 1.5x torch + 0.5 s", lambda torch_s: 1.5 * torch_s + 0.5),
    "train": ("<= 1.3x torch", lambda torch_s: 1.3 * torch_s),
    "image_full_speed": ("<= 5 s", lambda torch_s: 5.0),
}
LABELS = {"torch": 'python -c "import torch"', "window": "window visible (painted, controls, answering)",
          "frame": "first trained frame", "train": "ganviz train --steps 1", "image_frame":
          f"image scene ({IMAGE_PRESET}), fresh cache: first frame", "image_full_speed":
          f"image scene, fresh cache: training at {FULL_SPEED:.0%} of headless"}


def _env(pythonpath: str | None, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its bytecode compiled (see compile_package)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra)
    return env


def _timed(cmd: list[str], env: dict[str, str], timeout: float = 120.0) -> float:
    t0 = time.time()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout)
    dt = time.time() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {done.returncode}: {done.stderr.decode()[-2000:]}")
    return dt


def _read_marks(path: Path) -> list[tuple[str, float, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            out.append((parts[0], float(parts[1]), parts[2]))
    return out


def rate_reached(snaps: list[tuple[float, int]], rate: float, window: float = RATE_WINDOW) -> float | None:
    """The first time t (of the snapshots (t, step)) at which (step(t) - step(t')) / (t - t') >= rate for the
    latest t' <= t - window; None if never."""
    j = 0
    for i, (t, step) in enumerate(snaps):
        while j + 1 < i and snaps[j + 1][0] <= t - window:
            j += 1
        t_prev, s_prev = snaps[j]
        if t - t_prev >= window and (step - s_prev) / (t - t_prev) >= rate:
            return t
    return None


def run_window(python: str, args: list[str], env: dict[str, str], until, timeout: float) -> dict:
    """Launch the window through the probe; stop it when until(marks) is true or after timeout. Returns
    {"marks": {name: seconds from launch}, "snaps": [(seconds, step)], "timed_out": bool}."""
    with tempfile.TemporaryDirectory(prefix="ganviz-probe-") as tmp:
        marks_file, stop_file = Path(tmp) / "marks.tsv", Path(tmp) / "stop"
        env = {**env, "XDG_CONFIG_HOME": str(Path(tmp) / "config")}  # fresh settings: a first launch
        t0 = time.time()
        proc = subprocess.Popen([python, str(PROBE), str(marks_file), str(stop_file), "--", *args], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        timed_out = False
        while True:
            time.sleep(0.02)
            raw = _read_marks(marks_file)
            marks = {name: t - t0 for name, t, _ in raw if name != "snap"}
            snaps = [(t - t0, int(v)) for name, t, v in raw if name == "snap"]
            if proc.poll() is not None:
                break
            if until(marks, snaps):
                break
            if time.time() - t0 > timeout:
                timed_out = True
                break
        stop_file.touch()
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        if "window" not in marks:
            raise RuntimeError(f"the window did not come up (exit {proc.returncode}): {err.decode()[-2000:]}")
        return {"marks": marks, "snaps": snaps, "timed_out": timed_out}


def headless_rate(python: str, env: dict[str, str], seconds: float = 4.0) -> float:
    with tempfile.TemporaryDirectory(prefix="ganviz-cache-") as cache:
        out = subprocess.run([python, "-c", HEADLESS_CODE, IMAGE_PRESET, str(seconds)], capture_output=True,
                             env={**env, "GANVIZ_CACHE_DIR": cache}, timeout=600, check=True)
    return float(json.loads(out.stdout.decode().strip().splitlines()[-1])["steps_per_s"])


def measure_round(python: str, pythonpath: str | None, image_rate: float | None) -> dict[str, float | None]:
    """One launch of each figure (seconds from launch); image_rate None skips the image scene."""
    env = _env(pythonpath)
    out: dict[str, float | None] = {"torch": _timed([python, "-c", "import torch"], env)}
    win = run_window(python, [], env, lambda m, s: "frame" in m, WINDOW_TIMEOUT)
    out["window"] = win["marks"].get("window")
    out["frame"] = win["marks"].get("frame")
    out["window_torch_imported"] = win["marks"].get("torch")
    out["train"] = _timed([python, "-c", TRAIN_CMD, "train", "--steps", "1", "--quiet", "--out", os.devnull], env)
    if image_rate is not None:
        target = FULL_SPEED * image_rate
        with tempfile.TemporaryDirectory(prefix="ganviz-cache-") as cache:
            img = run_window(python, ["--preset", IMAGE_PRESET], {**env, "GANVIZ_CACHE_DIR": cache},
                             lambda m, s: rate_reached(s, target) is not None, IMAGE_TIMEOUT)
        out["image_frame"] = img["marks"].get("frame")
        out["image_full_speed"] = rate_reached(img["snaps"], target)  # None: not within IMAGE_TIMEOUT
        out["image_steps_at"] = thin(img["snaps"])  # (seconds from launch, step), for the record
    return out


def thin(snaps: list[tuple[float, int]], every: float = 0.5) -> list[tuple[float, int]]:
    """The (time, step) marks at most one per `every` seconds (the last one kept)."""
    out: list[tuple[float, int]] = []
    for t, step in snaps:
        if not out or t - out[-1][0] >= every:
            out.append((round(t, 3), step))
    if snaps and out[-1][0] != round(snaps[-1][0], 3):
        out.append((round(snaps[-1][0], 3), snaps[-1][1]))
    return out


def _median(values: list[float | None]) -> float | None:
    """Median, with None (not reached in time) counted as larger than any time; None if most are None."""
    vals = sorted(values, key=lambda v: (v is None, v or 0.0))
    return vals[(len(vals) - 1) // 2] if vals else None


def compile_package(python: str, pythonpath: str | None) -> None:
    """Compile the measured ganviz's modules to bytecode first, as pip does when it installs a wheel: a checkout
    run with PYTHONDONTWRITEBYTECODE would compile every module at every launch (0.8 s here, under load)."""
    code = "import compileall, os, ganviz; compileall.compile_dir(os.path.dirname(ganviz.__file__), quiet=1)"
    subprocess.run([python, "-c", code], env=_env(pythonpath), stdout=subprocess.DEVNULL, check=False)


def bench_startup(repeats: int = 3, against: str | None = None, image: bool = True,
                  python: str = sys.executable) -> dict:
    variants = {"this": None}
    if against:
        variants["against"] = str(Path(against).resolve())
    for pp in variants.values():
        compile_package(python, pp)
    load_before = os.getloadavg()[0]
    measured = {name: headless_rate(python, _env(pp)) if image else None for name, pp in variants.items()}
    # one reference for every variant (the mean of their headless rates): measured minutes apart on a shared
    # machine, per-variant references differed by 40% and made "full speed" a different bar for each
    common = statistics.fmean(measured.values()) if image else None
    image_rates = {name: common for name in variants}
    rounds: dict[str, list[dict]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, pp in variants.items():
            rounds[name].append(measure_round(python, pp, image_rates[name]))
    report: dict = {"repeats": repeats, "cpu_count": os.cpu_count(), "load_before": load_before,
                    "load_after": os.getloadavg()[0], "image_preset": IMAGE_PRESET, "full_speed": FULL_SPEED,
                    "image_timeout_s": IMAGE_TIMEOUT, "variants": {}}
    for name, pp in variants.items():
        keys = rounds[name][0].keys()
        med = {k: _median([r[k] for r in rounds[name]]) for k in keys if not k.endswith("_at")}
        torch_s = med["torch"]
        report["variants"][name] = {
            "pythonpath": pp, "headless_image_steps_per_s": measured[name], "full_speed_reference": image_rates[name],
            "median_s": med,
            "ratio_to_torch": {k: (v / torch_s if v is not None and torch_s else None) for k, v in med.items()},
            "targets": {k: {"target": desc, "limit_s": limit(torch_s), "met": med.get(k) is not None
                            and med[k] <= limit(torch_s)} for k, (desc, limit) in TARGETS.items() if k in med},
            "rounds": rounds[name],
        }
    return report


def _fmt(v: float | None, timeout: float = IMAGE_TIMEOUT) -> str:
    return f"> {timeout:.0f} s" if v is None else f"{v:.2f} s"


def format_startup(r: dict) -> str:
    names = list(r["variants"])
    lines = [f"ganviz bench --startup: medians of {r['repeats']} alternating rounds, {r['cpu_count']} CPUs, "
             f"load average {r['load_before']:.1f} -> {r['load_after']:.1f}"]
    head = f"  {'figure':<58}" + "".join(f"{n + ' (s, x torch)':>24}" for n in names) + "  target"
    lines.append(head)
    this = r["variants"][names[0]]
    for key, label in LABELS.items():
        if key not in this["median_s"]:
            continue
        cells = ""
        for n in names:
            v = r["variants"][n]
            s, x = v["median_s"].get(key), v["ratio_to_torch"].get(key)
            cells += f"{_fmt(s) + (f' ({x:.2f}x)' if x is not None else ''):>24}"
        t = this["targets"].get(key)
        target = f"  {t['target']} ({t['limit_s']:.2f} s): {'met' if t['met'] else 'NOT met'}" if t else ""
        lines.append(f"  {label:<58}{cells}{target}")
    for n in names:
        v = r["variants"][n]
        if v["headless_image_steps_per_s"]:
            lines.append(f"  {n}: headless image scene {v['headless_image_steps_per_s']:.1f} steps/s; full speed = "
                         f"{FULL_SPEED:.0%} of {v['full_speed_reference']:.1f} (the variants' mean)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    report = bench_startup(repeats=args.repeats, against=getattr(args, "against", None))
    print(format_startup(report))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--against", metavar="DIR")
    p.add_argument("--json")
    sys.exit(run(p.parse_args()))
