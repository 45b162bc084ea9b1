"""The dependency rule of DESIGN.md: the core never imports a platform or database library."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_CORE = {"discord", "slack_bolt", "slack_sdk", "aiosqlite", "sqlite3", "store", "adapters"}
# The composition root and the CLI may know concrete classes, but only import them lazily.
COMPOSITION = {"app.py", "cli.py"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:  # top-level imports only: lazy imports inside functions are the composition root's job
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


def test_nothing_in_the_core_imports_adapters_or_store_at_all_except_the_composition_root():
    offenders = []
    for path in (ROOT / "bot").rglob("*.py"):
        if path.name in COMPOSITION and path.parent.name == "bot":
            continue
        text = path.read_text(encoding="utf-8")
        for line in text.splitlines():
            stripped = line.strip()
            if stripped.startswith(("import ", "from ")) and any(
                stripped.split()[1].split(".")[0] == name for name in ("adapters", "store", "aiosqlite", "discord", "slack_bolt", "slack_sdk")
            ):
                offenders.append(f"{path.relative_to(ROOT)}: {stripped}")
    assert offenders == []


def test_store_and_adapters_do_not_depend_on_each_other():
    for package, other in (("store", "adapters"), ("adapters", "store")):
        for path in (ROOT / package).rglob("*.py"):
            for line in path.read_text(encoding="utf-8").splitlines():
                stripped = line.strip()
                if stripped.startswith(("import ", "from ")):
                    assert stripped.split()[1].split(".")[0] != other, f"{path}: {stripped}"
