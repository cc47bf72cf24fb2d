"""The published mode-collapse comparisons as sweep tasks, and their table beside the papers' numbers.

Datasets (each a base setup; a method changes only its own keys):

- ring8: Unrolled GAN's toy, which VEEGAN's Table 1 follows (scene collapse-ring-gan: 8 Gaussians on a
  ring of radius 2, std 0.02; G 2x128 tanh, z 256; D 1x128 tanh; Adam, batch 512).
- ring8-pacgan: PacGAN's ring (radius 1, std 0.01) with PacGAN's MLPs (the grid scene's networks, batch 100).
- grid25: PacGAN's 25-grid (scene collapse-grid-gan: std 0.05; G 4x400 ReLU, z 2; D 3x200 ReLU; batch 100).
- any other dataset name: the default config on that data.

Methods: gan (no change), unrolled[K] (unroll = K, default 5), pacgan[M] (pack = M, default 2), mbdisc[B]
(minibatch discrimination with B kernels, default 5), mbstd, dsteps[K] (K D updates per G update, default
5), wgan-gp (with its paper defaults).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from .tables import final, mean_std, pm, runs_cell, sem, status_counts
from .tasks import Task

BASE_SCENES = {"ring8": "collapse-ring-gan", "grid25": "collapse-grid-gan", "ring8-pacgan": "collapse-grid-gan"}
BASE_CHANGES: dict[str, dict[str, Any]] = {"ring8-pacgan": {"data": "ring8", "ring_radius": 1.0, "ring_std": 0.01}}

# (mean modes covered, the paper's error (None: the paper reports a mean only), error measure, source).
# PacGAN Table 1: mean ± standard error over 10 trials. VEEGAN Table 1 and GDPP Table 1 give means only.
PUBLISHED: dict[tuple[str, str], list[tuple[float, float | None, str, str]]] = {
    ("gan", "ring8"): [(1.0, None, "", "VEEGAN T1")],
    ("unrolled", "ring8"): [(7.6, None, "", "VEEGAN T1")],
    ("gan", "ring8-pacgan"): [(6.3, 0.5, "s.e.", "PacGAN T1")],
    ("pacgan2", "ring8-pacgan"): [(7.9, 0.1, "s.e.", "PacGAN T1")],
    ("gan", "grid25"): [(17.3, 0.8, "s.e.", "PacGAN T1")],
    ("pacgan2", "grid25"): [(23.8, 0.7, "s.e.", "PacGAN T1")],
    ("wgan-gp", "ring8"): [(6.8, None, "", "GDPP T1")],
    ("wgan-gp", "grid25"): [(24.2, None, "", "GDPP T1")],
}


def method_changes(method: str) -> dict[str, Any]:
    """Config changes a method name stands for (ValueError for an unknown name)."""
    m = re.fullmatch(r"(gan|unrolled|pacgan|mbdisc|mbstd|dsteps|wgan-gp)(\d*)", method)
    if m is None:
        raise ValueError(f"unknown method {method!r}; use gan, unrolled[K], pacgan[M], mbdisc[B], mbstd, "
                         "dsteps[K], wgan-gp")
    kind, num = m.group(1), m.group(2)
    if num and kind in ("gan", "mbstd", "wgan-gp"):
        raise ValueError(f"method {kind!r} takes no number (got {method!r})")
    if kind == "gan":
        return {}
    if kind == "unrolled":
        return {"unroll": int(num or 5)}
    if kind == "pacgan":
        return {"pack": int(num or 2)}
    if kind == "mbdisc":
        return {"mbdisc": int(num or 5)}
    if kind == "mbstd":
        return {"mbstd": 1}
    if kind == "dsteps":
        return {"d_steps": int(num or 5)}
    from ganviz.core.objectives import get_objective

    return {"objective": "wgan-gp", **get_objective("wgan-gp").paper_defaults}


def published_key(method: str) -> str:
    return "unrolled" if re.fullmatch(r"unrolled\d*", method) else method


def base_config(data: str, overrides: Sequence[str] = ()):
    from ganviz.core.config import TrainConfig, config_from_pairs
    from ganviz.core.scenes import load_scene

    if data in BASE_SCENES:
        cfg = load_scene(BASE_SCENES[data]).config.replace(**BASE_CHANGES.get(data, {}))
    else:
        cfg = TrainConfig().replace(data=data)
    return config_from_pairs(list(overrides), cfg)


def reproduction_tasks(datas: Sequence[str], methods: Sequence[str], seeds: Sequence[int], steps: int,
                       every: int = 0, overrides: Sequence[str] = (), seeds_per_task: int = 1) -> list[Task]:
    """Tasks ordered seed-block by seed-block (every method and dataset of the first block of seeds first),
    so a sweep stopped early has the same seeds for every method. Seeds are packed `seeds_per_task` to a
    task where the ensemble engine can batch the method, one to a task otherwise."""
    from .tasks import batchable

    configs = []
    for data in datas:
        base = base_config(data, overrides)
        for method in methods:
            cfg = base.replace(**method_changes(method)).to_dict()
            configs.append((data, method, cfg))
    k = max(1, seeds_per_task)
    tasks: list[Task] = []
    for start in range(0, len(seeds), k):
        block = tuple(seeds[start:start + k])
        for data, method, cfg in configs:
            labels = {"data": data, "method": method}
            if len(block) > 1 and batchable(cfg, len(block)) is None:
                tasks.append(Task(cfg, block, steps, every, labels))
            else:
                tasks += [Task(cfg, (s,), steps, every, labels) for s in block]
    return tasks


def format_table(rows: Sequence[dict[str, Any]], datas: Sequence[str] | None = None,
                 methods: Sequence[str] | None = None) -> str:
    """Markdown: one line per (data, method, steps), mean ± sample std over the ok runs, mean ± standard
    error of modes covered, and the published number with the paper's own error measure."""
    keys: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for r in rows:
        lab = r.get("labels") or {}
        keys.setdefault((lab.get("data"), lab.get("method"), r.get("steps")), []).append(r)
    datas = list(datas) if datas else list(dict.fromkeys(k[0] for k in keys))
    methods = list(methods) if methods else list(dict.fromkeys(k[1] for k in keys))
    lines = ["| data | method | steps | runs | modes covered (mean ± std) | ± s.e. | % high quality | "
             "reverse KL (nats) | published modes (paper's error) | inside the paper's spread? |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    order = sorted(keys, key=lambda k: (datas.index(k[0]) if k[0] in datas else len(datas),
                                       methods.index(k[1]) if k[1] in methods else len(methods), k[2] or 0))
    for data, method, steps in order:
        g = keys[(data, method, steps)]
        n_modes = next((r["final"].get("n_modes") for r in g if r.get("final", {}).get("n_modes")), None)
        cov = mean_std(final(r, "modes_covered") for r in g)
        hq = mean_std(100.0 * final(r, "hq_fraction") for r in g)
        rkl = mean_std(final(r, "reverse_kl") for r in g)
        cov_s = pm(cov[0], cov[1], ".1f") + (f" / {n_modes:g}" if n_modes else "")
        rkl_s = pm(rkl[0], rkl[1], ".2f")
        if rkl[2] < cov[2]:  # runs with no HQ sample have no mode histogram, hence no reverse KL
            rkl_s += f" ({cov[2] - rkl[2]} of {cov[2]} runs: no HQ sample)"
        pubs = PUBLISHED.get((published_key(method), data), [])
        pub_s = "; ".join(f"{v:g}" + (f" ± {e:g} ({m})" if e is not None else " (mean only)") + f" {src}"
                          for v, e, m, src in pubs) or "—"
        inside = "; ".join(_inside(cov[0], v, e) for v, e, _, _ in pubs) or "—"
        lines.append(f"| {data} | {method} | {steps} | {runs_cell(g)} | {cov_s} | "
                     f"{'—' if not cov[2] else f'{sem(cov[1], cov[2]):.2f}'} | {pm(hq[0], hq[1], '.1f')} | "
                     f"{rkl_s} | {pub_s} | {inside} |")
    return "\n".join(lines)


def _inside(mu: float, paper: float, err: float | None) -> str:
    if not math.isfinite(mu):
        return "no ok run"
    if err is None:
        return f"no spread given (off by {mu - paper:+.1f})"
    return "yes" if abs(mu - paper) <= err else f"no ({mu - paper:+.1f})"


def summary(rows: Sequence[dict[str, Any]]) -> str:
    """One line: how many runs, by status, and the CPU time they took."""
    c = status_counts(rows)
    cpu = sum(r.get("cpu_s") or 0.0 for r in rows)
    steps = sorted({r.get("steps") for r in rows})
    return (f"{len(rows)} runs ({', '.join(f'{n} {k}' for k, n in c.items() if n)}) of "
            f"{'/'.join(str(s) for s in steps)} steps, {cpu / 3600:.2f} CPU-hours")
