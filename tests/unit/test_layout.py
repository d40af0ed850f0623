"""The package's layout holds: layers import only downwards, no import circle, no file over 400 lines,
and no module touches a private member of a class defined in another module.

Run it as a report too: ``python -m tests.unit.test_layout`` prints every finding (nothing = all good).
The rules read the source with :mod:`ast`; imports under ``if TYPE_CHECKING:`` are annotations only
(never executed) and are not counted; imports inside functions are.
"""

from __future__ import annotations

import ast
import pathlib
import sys
from collections.abc import Iterator

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "gemini_sync"
MAX_LINES = 400

#: lowest first; a module may import its own layer's modules and lower layers only
LAYERS: list[tuple[str, ...]] = [
    ("_constants", "_log", "_json", "_uuid", "_exports"),
    ("errors",),
    ("models",),
    ("types",),
    ("_config",),
    ("protocol",),
    ("transport",),
    ("streaming",),
    ("chat", "account", "catalogue", "research", "structured", "access", "guest", "capture"),
    ("client",),
    ("", "__main__", "cli", "testing", "emulator", "openai", "pool"),
]


def module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, pathlib.Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    top = module.split(".")[1] if "." in module else ""
    for index, names in enumerate(LAYERS):
        if top in names:
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports(module: str, path: pathlib.Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """``(imported module, line)`` of every executed import of ``gemini_sync`` in ``module``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_lines(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)) or node.lineno in skipped:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names
            ]
        for target in targets:
            while target not in known and "." in target:
                target = target.rpartition(".")[0]
            if target in known and target != module:
                yield target, node.lineno


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: {target for target, _ in imports(name, path, known)} for name, path in found.items()}


def upward_imports() -> list[str]:
    found = modules()
    known = set(found)
    problems = []
    for name, path in found.items():
        for target, line in imports(name, path, known):
            if layer_of(target) > layer_of(name):
                problems.append(
                    f"{name}:{line} imports {target} (layer {layer_of(target)} > {layer_of(name)})"
                )
    return problems


def circles() -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(10000)

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in edges:
        if node not in index:
            visit(node)
    return found


def long_files() -> list[str]:
    return [
        f"{path.relative_to(ROOT)}: {count} lines"
        for path in sorted(PACKAGE.rglob("*.py"))
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]


def _private_members(tree: ast.Module) -> set[str]:
    """Names ``_x`` a class of this module defines (class attributes, methods, ``self._x = ...``)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    names.add(item.name)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    names.add(item.target.id)
                elif isinstance(item, ast.Assign):
                    names.update(t.id for t in item.targets if isinstance(t, ast.Name))
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            if isinstance(node.value, ast.Name) and node.value.id == "self":
                names.add(node.attr)
    return {name for name in names if name.startswith("_") and not name.startswith("__")}


def foreign_private_access() -> list[str]:
    """``obj._x`` where ``_x`` belongs to a class of another module only (``self``/``cls`` excluded)."""
    trees = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in modules().items()}
    owners: dict[str, set[str]] = {}
    for name, tree in trees.items():
        for member in _private_members(tree):
            owners.setdefault(member, set()).add(name)
    problems = []
    for name, tree in trees.items():
        mine = _private_members(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute) or node.attr not in owners or node.attr in mine:
                continue
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            problems.append(
                f"{name}:{node.lineno} uses {node.attr} of {', '.join(sorted(owners[node.attr]))}"
            )
    return problems


def test_every_import_runs_down_the_layers() -> None:
    assert upward_imports() == []


def test_no_import_circle() -> None:
    assert circles() == []


def test_no_source_file_is_over_400_lines() -> None:
    assert long_files() == []


def test_no_module_touches_another_modules_private_members() -> None:
    assert foreign_private_access() == []


def test_the_checks_find_what_they_look_for(tmp_path: pathlib.Path) -> None:
    """The rules are not vacuous: a known upward import and a known private reach are seen as such."""
    assert layer_of("gemini_sync.protocol.payload") < layer_of("gemini_sync.client")
    assert len(modules()) > 50 and any(graph().values())
    tree = ast.parse("class A:\n    def __init__(self):\n        self._x = 1\n")
    assert _private_members(tree) == {"_x"}


if __name__ == "__main__":
    report = {
        "upward imports": upward_imports(),
        "import circles": [" -> ".join(c) for c in circles()],
        f"files over {MAX_LINES} lines": long_files(),
        "private members of another module's class": foreign_private_access(),
    }
    for title, items in report.items():
        print(f"{title}: {len(items)}")
        for item in items:
            print("   ", item)
    sys.exit(1 if any(report.values()) else 0)
