"""The house rules, read from the code itself: imports run one way, no cycles, no oversized module.

The pure core takes and returns plain data; the shell does I/O. The core may import only the standard
library, NumPy/SciPy/Dask/JAX (numerical engines) and other core modules. This test parses every module's
imports with `ast` (including imports inside functions, excluding `if TYPE_CHECKING:` blocks), so a lazy
import cannot hide a layering fault.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "pipecast"

#: The pure core: no database, files, HTTP or terminal.
CORE = ("domain", "errors", "matching", "rates", "engines", "targets", "scenarios", "backtest", "value", "plan")
#: Libraries that do I/O or belong to the shell; the core never imports them.
IO_LIBRARIES = frozenset(
    {
        "sqlalchemy", "alembic", "typer", "click", "rich", "yaml", "openpyxl", "httpx", "platformdirs",
        "plotly", "psycopg", "sqlite3", "urllib", "http", "socket", "csv", "requests", "fastapi", "mako",
    }
)
MAX_MODULE_LINES = 800


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def read_sources() -> dict[str, str]:
    return {module_name(p): p.read_text(encoding="utf-8") for p in sorted((SRC / PACKAGE).rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(module: str, source: str, is_package: bool = False) -> set[str]:
    """Absolute names of every module `module` imports, wherever in the file the import stands."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for branch in node.orelse:
                visit(branch)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            found.add(prefix)
            for alias in node.names:
                found.add(f"{prefix}.{alias.name}")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return found


def is_core(module: str) -> bool:
    parts = module.split(".")
    return len(parts) > 1 and parts[0] == PACKAGE and parts[1] in CORE


def internal(name: str, modules: Iterable[str]) -> str | None:
    """The project module an imported name refers to (`pipecast.rates.RateSet` -> `pipecast.rates`)."""
    known = set(modules)
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def import_graph(sources: Mapping[str, str]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, source in sources.items():
        is_package = module == PACKAGE or any(other.startswith(module + ".") for other in sources)
        targets = set()
        for name in imports_of(module, source, is_package):
            if not name.startswith(PACKAGE):
                continue
            target = internal(name, sources)
            if target and target != module and not module.startswith(target + "."):
                targets.add(target)
        graph[module] = targets
    return graph


def layering_faults(sources: Mapping[str, str]) -> list[str]:
    faults = []
    for module, source in sources.items():
        is_package = any(other.startswith(module + ".") for other in sources)
        names = imports_of(module, source, is_package)
        if is_core(module):
            for name in sorted(names):
                root = name.split(".")[0]
                if root in IO_LIBRARIES:
                    faults.append(f"{module} (core) imports the I/O library {root}")
                elif root == PACKAGE:
                    target = internal(name, sources)
                    if target and target != PACKAGE and not is_core(target):
                        faults.append(f"{module} (core) imports the shell module {target}")
        if module.startswith(f"{PACKAGE}.store"):
            faults.extend(
                f"{module} (store) imports the importer {internal(name, sources)}"
                for name in sorted(names)
                if name.startswith(f"{PACKAGE}.ingest")
            )
    return sorted(set(faults))


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def connect(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def _without_package_inits(graph: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """Drop edges from a package's `__init__` to its own submodules (re-exports are not a cycle)."""
    return {m: {t for t in targets if not t.startswith(m + ".")} for m, targets in graph.items()}


def test_core_imports_no_shell_and_no_io_library() -> None:
    assert layering_faults(read_sources()) == []


def test_no_import_cycles() -> None:
    graph = _without_package_inits(import_graph(read_sources()))
    assert cycles(graph) == []


def test_no_module_over_the_size_limit() -> None:
    long = {
        str(p.relative_to(SRC)): n
        for p in (SRC / PACKAGE).rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


# The checks themselves must be able to fail: plant each fault in a copy of the real sources.


@pytest.mark.parametrize(
    ("module", "planted", "expected"),
    [
        ("pipecast.domain", "import sqlalchemy\n", "pipecast.domain (core) imports the I/O library sqlalchemy"),
        ("pipecast.targets", "def f():\n    import yaml\n", "pipecast.targets (core) imports the I/O library yaml"),
        ("pipecast.rates", "from pipecast.store import Store\n", "pipecast.rates (core) imports the shell module"),
        ("pipecast.store", "from pipecast.ingest import resolve\n", "pipecast.store (store) imports the importer"),
    ],
)
def test_a_planted_fault_is_caught(module: str, planted: str, expected: str) -> None:
    sources = read_sources()
    assert module in sources
    sources[module] = planted + sources[module]
    assert any(fault.startswith(expected) for fault in layering_faults(sources))


def test_a_planted_cycle_is_caught() -> None:
    sources = read_sources()
    sources["pipecast.domain"] = "from pipecast.engines import exact\n" + sources["pipecast.domain"]
    graph = _without_package_inits(import_graph(sources))
    assert any("pipecast.domain" in component for component in cycles(graph))


def test_type_checking_imports_are_not_counted() -> None:
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import sqlalchemy\n"
    assert "sqlalchemy" not in imports_of("pipecast.domain", source)
    assert "sqlalchemy" in imports_of("pipecast.domain", "import sqlalchemy\n")


CLOCK_CALLS = re.compile(r"\b(?:date\.today|datetime\.now|datetime\.utcnow|datetime\.today)\s*\(")


def clock_readers(sources: Mapping[str, str]) -> list[str]:
    """Modules other than `pipecast.clock` that read today's date or the time of day themselves."""
    return sorted(m for m, s in sources.items() if m != f"{PACKAGE}.clock" and CLOCK_CALLS.search(s))


def test_the_clock_is_read_in_one_place() -> None:
    assert clock_readers(read_sources()) == []
    planted = dict(read_sources())
    planted["pipecast.facade"] += "\nWHEN = dt.date.today()\n"
    assert clock_readers(planted) == ["pipecast.facade"]
