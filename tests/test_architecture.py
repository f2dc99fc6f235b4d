"""The module map of `app/` has no knots: no import cycles, `app.core` imports no domain, no
function body imports an `app` module, and the root of `app/` holds only the entry points.

Read from the source with `ast` rather than from `sys.modules`, so that a cycle is found even
when today's import order happens to resolve it, and function-local imports count as edges.
"""

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"

# What stays at the root of `app/`: the app factory, settings, the command line, the engine
# and session, and the aggregator that imports every model (Alembic, tests, sessionmaker).
ROOT_MODULES = {"app", "app.main", "app.config", "app.cli", "app.db", "app.models"}

# Function-local imports of `app` modules that are kept, and why. A lazy import is for start-up
# cost or an optional heavy library, never to dodge a cycle.
LAZY_ALLOWED: dict[tuple[str, str], str] = {
    ("app.reports.export", f"app.reports.writers.{writer}"):
        "start-up cost: a writer and its library (openpyxl, Plotly's images) load when that "
        "format is asked for, not with every page or command"
    for writer in ("csv", "html", "json_data", "md", "pdf", "xlsx")
}


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    local: bool  # inside a function body


def module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def app_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(APP.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk(node: ast.AST, local: bool) -> Iterator[tuple[ast.AST, bool]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            for other in child.orelse:  # only the `else:` branch runs
                yield other, local
                yield from _walk(other, local)
            continue
        inner = local or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        yield child, inner
        yield from _walk(child, inner)


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node, local in _walk(ast.parse(path.read_text(), str(path)), False):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.append(submodule if submodule in modules else base)
        for target in targets:
            while target and target not in modules:  # `import app.x.y` → the module it names
                target = target.rpartition(".")[0]
            if target.split(".")[0] == "app" and target != name:
                found.append(Import(name, target, node.lineno, local))
    return found


def all_imports() -> list[Import]:
    modules = app_modules()
    return [imp for name, path in modules.items() for imp in imports_of(name, path, modules)]


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in app_modules()}
    for imp in all_imports():
        graph[imp.source].add(imp.target)
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's components with more than one module (or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_has_no_cycle():
    try:
        tuple(TopologicalSorter(import_graph()).static_order())
    except CycleError as exc:
        components = sorted(strongly_connected(import_graph()), key=len, reverse=True)
        pytest.fail(f"import cycle {' → '.join(exc.args[1])}; "
                    f"knots: {[sorted(c) for c in components]}")


def test_core_imports_no_domain():
    wrong = [f"{imp.source}:{imp.line} imports {imp.target}" for imp in all_imports()
             if imp.source.startswith("app.core") and not imp.target.startswith("app.core")]
    assert wrong == []


def test_no_function_body_imports_an_app_module():
    wrong = [f"{imp.source}:{imp.line} imports {imp.target}" for imp in all_imports()
             if imp.local and (imp.source, imp.target) not in LAZY_ALLOWED]
    assert wrong == []


def test_the_lazy_allow_list_is_current():
    local = {(imp.source, imp.target) for imp in all_imports() if imp.local}
    assert set(LAZY_ALLOWED) <= local


def test_the_root_of_app_holds_only_entry_points():
    root = {name for name in app_modules() if name.count(".") <= 1 and
            not (APP / name.partition(".")[2]).is_dir()}
    assert root <= ROOT_MODULES, sorted(root - ROOT_MODULES)
