"""Qt client of the engine: main window, controls, panels, worker bridge.

ganviz is written for PySide6 (some modules import it directly, others through qtpy, pyqtgraph and superqt).
With PyQt6 installed beside it, qtpy and pyqtgraph would pick PyQt6 and the window would mix two bindings
(libshiboken: could not import module 'PySide6.QtGui'), so the binding is pinned here, before any of them is
imported: every Qt module of ganviz is inside this package.
"""

from __future__ import annotations

import os
import sys

BINDING = "PySide6"


def pin_binding() -> None:
    """Make qtpy, pyqtgraph and superqt use PySide6. Raises ImportError with a message when one of them was
    already imported with another binding (too late to choose)."""
    os.environ["QT_API"] = BINDING.lower()
    os.environ["PYQTGRAPH_QT_LIB"] = BINDING
    qtpy = sys.modules.get("qtpy")
    chosen = getattr(qtpy, "API_NAME", None)
    if chosen is not None and chosen != BINDING:
        raise ImportError(f"ganviz needs {BINDING}, but qtpy was already imported with {chosen}; "
                          f"import ganviz.qt first or set QT_API=pyside6")


pin_binding()
