"""Re-make the coverage classifiers ganviz ships (assets/classifiers), for the built-in digits and shapes.

    python scripts/train_coverage_classifier.py            # both, into assets/classifiers/
    python scripts/train_coverage_classifier.py --check    # also: accuracy on freshly rendered images

Each is trained with the recipe of ganviz.core.images.classifier (fixed seeds, 3 epochs on bank(name, 20000, 0),
one CPU thread: deterministic on a given machine) and saved as float16 weights with the held-out accuracy of
those rounded weights on render(name, 2000, 12345) and the feature statistics of bank(name, 5000, 1). Run it
after changing CLASSIFIER_VERSION or RENDER_VERSION (the file names carry both; a stale file is not loaded).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "assets" / "classifiers")
    p.add_argument("--check", action="store_true", help="report accuracy on render(name, 2000, 2026) too")
    p.add_argument("names", nargs="*", default=["digits", "shapes"])
    args = p.parse_args()
    import torch

    from ganviz.core.images import classifier as C
    from ganviz.core.images.datasets import render

    torch.set_num_threads(1)
    for name in args.names:
        info = C.export_shipped(name, args.out)
        line = (f"{name}: {info['path']} ({info['bytes'] / 1024:.0f} KB), held-out accuracy "
                f"{info['heldout_accuracy']:.2%}, trained in {info['train_seconds']:.1f} s")
        if args.check:
            C._MEMO.clear()
            clf = C.get_classifier(name)
            line += f"; on render({name!r}, 2000, 2026): {clf.accuracy(*render(name, 2000, 2026)):.2%}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
