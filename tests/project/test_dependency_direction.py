"""The dependency rule of DESIGN.md: the core never imports a platform or database library,
nor `adapters/` or `store/`: those are found through entry points (`bot.plugins`)."""

import ast
from pathlib import Path

from tests.support import ROOT

FORBIDDEN_IN_CORE = {"discord", "slack_bolt", "slack_sdk", "aiosqlite", "sqlite3", "store", "adapters"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_imports_no_platform_or_database_library():
    offenders = {}
    for path in (ROOT / "bot").rglob("*.py"):
        bad = imported_modules(path) & FORBIDDEN_IN_CORE
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_nothing_in_the_core_imports_adapters_or_store_at_all():
    """Not even inside a function (the composition root included): the graph sees every import that may run."""
    graph = import_graph()
    offenders = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items() if module.split(".")[0] == "bot"
        for target in targets if target.split(".")[0] in ("adapters", "store")
    )
    assert offenders == []
    libraries = sorted(
        f"{module_name(path)} -> {base}"
        for path in (ROOT / "bot").rglob("*.py")
        for base, _ in runtime_imports(ast.parse(path.read_text(encoding="utf-8")), module_name(path), path.name == "__init__.py")
        if base.split(".")[0] in FORBIDDEN_IN_CORE
    )
    assert libraries == []


def test_store_and_adapters_do_not_depend_on_each_other():
    for package, other in (("store", "adapters"), ("adapters", "store")):
        for path in (ROOT / package).rglob("*.py"):
            for line in path.read_text(encoding="utf-8").splitlines():
                stripped = line.strip()
                if stripped.startswith(("import ", "from ")):
                    assert stripped.split()[1].split(".")[0] != other, f"{path}: {stripped}"


# --- no import cycles -------------------------------------------------------------------------

PACKAGES = ("bot", "store", "adapters")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(tree: ast.AST, module: str, is_package: bool) -> set[tuple[str, str | None]]:
    """(module, name) for every import in `tree` that may run, at any depth (inside functions too).

    `import a.b` gives ("a.b", None); `from a import b, c` gives ("a", "b") and ("a", "c"), as
    `b` may be a name in `a` or its submodule `a.b`. `if TYPE_CHECKING:` blocks are skipped: the
    type checker reads them, Python never runs them.
    """
    found: set[tuple[str, str | None]] = set()
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            found.update((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package, one level up per extra dot
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, *([base] if base else [])])
            found.update((base, alias.name) for alias in node.names)
        pending.extend(ast.iter_child_nodes(node))
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of bot/, store/, adapters/ it imports.

    `from package import submodule` is an edge to the submodule alone: a package is always
    imported before its submodules, which is no cycle; a name taken from a package is an
    edge to the package (its `__init__`).
    """
    paths = {module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")}
    graph = {}
    for module, path in paths.items():
        edges = set()
        for base, name in runtime_imports(ast.parse(path.read_text(encoding="utf-8")), module, path.name == "__init__.py"):
            edges.add(f"{base}.{name}" if f"{base}.{name}" in paths else base)
        graph[module] = {name for name in edges if name in paths and name != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_the_cycle_finder_finds_a_cycle_and_only_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_the_graph_sees_imports_inside_functions_and_not_those_for_the_type_checker():
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from bot.models import Paper\n"
        "def f():\n    from bot import plaintext\n    from . import sibling\n"
    )
    found = runtime_imports(tree, "bot.ingest.snapshot", False)
    assert found >= {("bot", "plaintext"), ("bot.ingest", "sibling")}
    assert not any(base == "bot.models" for base, _ in found)


def test_no_import_cycles_in_bot_store_or_adapters():
    graph = import_graph()
    assert "bot.models" in graph and graph["store.sqlite.upsert"]  # the graph is real: it found the modules and their imports
    assert cycles(graph) == []
