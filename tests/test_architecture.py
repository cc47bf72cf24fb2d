"""The house rules of issue 14, enforced: small modules, no import cycle at module level, and the layers.

- No module under ganviz/ is longer than MAX_LINES lines.
- No cycle among the imports a module runs when it is imported (top level, inside if/try/with and class
  bodies; not those inside functions, which run later, nor `if TYPE_CHECKING:` / `if __name__ == "__main__":`
  blocks). Found with `ast`.
- import-linter's contracts in pyproject.toml hold: cli > qt > export | sweep > core > resources, the core
  imports no Qt, and panels import no window, window feature or training session (every import counts there,
  lazy ones too). .ci/run also runs `lint-imports`.
See docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "ganviz"
MAX_LINES = 600

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


# ------------------------------------------------------------------------------------------ the module graph

def module_name(path: Path, package_dir: Path) -> str:
    parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _skipped_on_import(test: ast.expr) -> bool:
    """`if TYPE_CHECKING:` and `if __name__ == "__main__":` blocks do not run when the module is imported."""
    if isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__":
        return any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_time_imports(body: list[ast.stmt]):
    """The import statements that run when the module is imported (not those inside functions)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not _skipped_on_import(node.test):
                yield from _import_time_imports(node.body)
            yield from _import_time_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _import_time_imports(block)
        elif isinstance(node, (ast.With, ast.ClassDef, ast.For, ast.While)):
            yield from _import_time_imports(node.body)


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """module -> the package's modules it imports at import time."""
    paths = {module_name(p, package_dir): p for p in sorted(package_dir.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _import_time_imports(ast.parse(path.read_text(encoding="utf-8")).body):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
                continue
            if node.level:
                base = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:  # `from pkg import mod` imports the module pkg.mod
                sub = f"{source}.{alias.name}"
                targets.add(sub if sub in paths else source)
        graph[name] = {t for t in targets if t in paths and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(graph) + 100))
    try:
        for v in sorted(graph):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return found


# ------------------------------------------------------------------------------------------ the rules

def test_no_module_is_longer_than_600_lines():
    sizes = {module_name(p, PACKAGE): len(p.read_text(encoding="utf-8").splitlines())
             for p in PACKAGE.rglob("*.py")}
    assert len(sizes) > 100 and "ganviz.cli.train" in sizes  # the walk sees the whole package
    long = {name: n for name, n in sorted(sizes.items(), key=lambda kv: -kv[1]) if n > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them by job): {long}"


def test_no_import_cycle_at_module_level():
    graph = import_graph(PACKAGE)
    assert "ganviz.core.trainer" in graph["ganviz.cli.bench"]  # the graph sees the package's imports
    found = cycles(graph)
    assert not found, "modules that import each other when imported (move the shared part into a module " \
                      f"both can import, or import inside the function that needs it): {found}"


def test_the_cycle_finder_finds_cycles(tmp_path):
    """The two checks above can fail: a package with a cycle through `from . import`, one through a relative
    `from ..x import`, and imports under TYPE_CHECKING, `__main__` or inside a function that make no cycle."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "from . import b\n",
        "b.py": "import pkg.a\n",
        "c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .d import D\n"
                "if __name__ == '__main__':\n    from . import d\n",
        "d.py": "from .c import TYPE_CHECKING\ndef f():\n    from . import c\n",
        "sub/__init__.py": "",
        "sub/e.py": "try:\n    from ..f import g\nexcept ImportError:\n    g = None\n",
        "f.py": "class K:\n    from .sub.e import g\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    graph = import_graph(pkg)
    assert graph["pkg.a"] == {"pkg.b"} and graph["pkg.c"] == set() and graph["pkg.d"] == {"pkg.c"}
    assert cycles(graph) == [["pkg.a", "pkg.b"], ["pkg.f", "pkg.sub.e"]]


def _contracts() -> list[dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return config["tool"]["importlinter"]["contracts"]


def test_the_layer_contracts_are_declared():
    layers = [c for c in _contracts() if c["type"] == "layers"]
    assert [c["layers"] for c in layers] == [["ganviz.cli", "ganviz.qt", "ganviz.export | ganviz.sweep",
                                              "ganviz.core", "ganviz.resources"]]
    forbidden = {tuple(c["source_modules"]): set(c["forbidden_modules"]) for c in _contracts()
                 if c["type"] == "forbidden"}
    assert {"PySide6", "shiboken6", "pyqtgraph", "superqt", "qtpy"} <= forbidden[("ganviz.core",)]
    assert {"ganviz.qt.main_window", "ganviz.qt.extensions"} <= forbidden[("ganviz.qt.panels",)]
    assert not any(c.get("ignore_imports") for c in _contracts())  # no exceptions carved out


def test_import_linter_contracts_hold(capsys):
    from importlinter.cli import lint_imports  # a test extra: pip install -e ".[test]"

    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"Contracts: {len(_contracts())} kept, 0 broken" in out
