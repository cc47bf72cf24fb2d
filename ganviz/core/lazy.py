"""Modules imported on first use, so the window can show before torch is loaded (issue 20).

`torch = lazy_import("torch")` binds a stand-in module; the first attribute read imports the real module and
copies its namespace into the stand-in, so later reads cost what a plain module attribute costs. Use it only
where the module's top level does not read the module (annotations are fine under `from __future__ import
annotations`; a class deriving from `torch.nn.Module` is not).
"""

from __future__ import annotations

import importlib
import sys
import types


class _LazyModule(types.ModuleType):
    def __getattr__(self, attr: str):
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)  # copy, pickle and inspect probe dunders: do not import for them
        module = importlib.import_module(self.__name__)
        self.__dict__.update(module.__dict__)
        return getattr(module, attr)


def lazy_import(name: str) -> types.ModuleType:
    """Module `name`, or a stand-in that imports it on first attribute access."""
    module = sys.modules.get(name)
    return module if module is not None else _LazyModule(name)
