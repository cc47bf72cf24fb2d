"""`ganviz list`: datasets, objectives (with formulas), scenes, and the config keys with defaults and ranges."""

from __future__ import annotations

import textwrap


def cmd_list() -> int:
    from ..core.config import FIELDS, TrainConfig, describe_range
    from ..core.distributions import DATASETS
    from ..core.objectives import OBJECTIVES

    print("Datasets:")
    for info in DATASETS.values():
        print(f"  {info.name:<16} {info.dim}D  {info.description}")
    print("\nObjectives:")
    for o in OBJECTIVES.values():
        print(f"  {o.name:<9} {o.label}  [{o.reference}]")
        print(f"            {o.d_formula}")
        print(f"            {o.g_formula}")
        if o.paper_defaults:
            print("            paper defaults: " + ", ".join(f"{k}={v}" for k, v in o.paper_defaults.items()))
    from ..core.scenes import list_scenes

    print("\nScenes (--preset NAME):")
    print(textwrap.fill(" ".join(list_scenes()), width=100, initial_indent="  ", subsequent_indent="  ",
                        break_on_hyphens=False))
    print("\nConfig keys (ganviz train --set KEY=VALUE):")
    defaults = TrainConfig()
    for name, f in FIELDS.items():
        tag = " [re-init]" if f.metadata["reinit"] else ""
        print(f"  {name:<22} default {getattr(defaults, name)!s:<10} {describe_range(name)}{tag}")
        print(f"  {'':<22} {f.metadata['help']}")
    return 0
