"""The package's import structure, read from the source with `ast` (nothing is imported): no
import cycle among its modules, and the layers point one way — libraries never reach up into the
CLI or the commands, and the wizard never reaches into the commands that drive it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import amazonei_setup

PACKAGE = "amazonei_setup"
ROOT = Path(amazonei_setup.__file__).parent
# Front ends: they may import anything. Every other module is a library.
FRONT_ENDS = (f"{PACKAGE}.cli", f"{PACKAGE}.__main__", f"{PACKAGE}.commands", f"{PACKAGE}.wizard")
UPPER = (f"{PACKAGE}.cli", f"{PACKAGE}.commands")


def _modules(root: Path = ROOT, package: str = PACKAGE) -> dict[str, tuple[Path, bool]]:
    """Every module of the package: dotted name → (file, whether it is a package's __init__)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def import_graph(root: Path = ROOT, package: str = PACKAGE) -> dict[str, set[str]]:
    """module → the package modules it imports anywhere in its file (inside functions and
    `if TYPE_CHECKING:` blocks too: a deferred import is still a dependency)."""
    modules = _modules(root, package)

    def owner(name: str) -> str | None:
        """The package module that `name` (a module, or an attribute of one) lives in."""
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, (path, is_package) in modules.items():
        here = name if is_package else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here
                    for _ in range(node.level - 1):
                        anchor = anchor.rpartition(".")[0]
                    base = f"{anchor}.{base}" if base else anchor
                # `from pkg import mod` imports the module pkg.mod; `from mod import f`, mod.
                targets = [owner(f"{base}.{alias.name}") or base for alias in node.names]
            for target in targets:
                module = owner(target)
                if module is not None and module != name:
                    graph[name].add(module)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path that returns to its start) per group of mutually importing modules."""
    cycles: list[list[str]] = []
    state: dict[str, str] = {}  # "active" while on the current path, "done" after
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = "active"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "active":
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_graph_sees_every_kind_of_import(tmp_path: Path) -> None:
    """The reader itself: absolute, relative, `from pkg import module`, and imports inside
    functions all count — otherwise the checks below would pass by seeing nothing."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from . import b\n")
    (pkg / "a.py").write_text("import pkg.sub.b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..c import g\n")
    (pkg / "c.py").write_text("from pkg import a\nimport os\n")
    graph = import_graph(pkg, "pkg")
    assert graph["pkg.a"] == {"pkg.sub.b"}
    assert graph["pkg.sub"] == {"pkg.sub.b"}
    assert graph["pkg.sub.b"] == {"pkg.c"}
    assert graph["pkg.c"] == {"pkg.a"}
    assert find_cycles(graph) == [["pkg.a", "pkg.sub.b", "pkg.c", "pkg.a"]]


def test_graph_covers_the_whole_package(graph: dict[str, set[str]]) -> None:
    assert f"{PACKAGE}.cli" in graph and f"{PACKAGE}.sandbox.server" in graph
    assert f"{PACKAGE}.commands.context" in graph[f"{PACKAGE}.cli"]


def test_no_import_cycle_in_the_package(graph: dict[str, set[str]]) -> None:
    cycles = [" -> ".join(cycle) for cycle in find_cycles(graph)]
    assert cycles == [], "import cycles:\n" + "\n".join(cycles)


def test_libraries_never_import_the_cli_or_commands(graph: dict[str, set[str]]) -> None:
    upward = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        if not _within(module, FRONT_ENDS)
        for target in targets
        if _within(target, UPPER)
    )
    assert upward == [], "library modules reaching up into the CLI:\n" + "\n".join(upward)


def test_the_wizard_never_imports_the_cli_or_commands(graph: dict[str, set[str]]) -> None:
    upward = {
        (module, target)
        for module, targets in graph.items()
        if _within(module, (f"{PACKAGE}.wizard",))
        for target in targets
        if _within(target, UPPER)
    }
    assert upward == set()


def test_no_module_of_the_package_is_over_450_lines() -> None:
    """One job per module: a file past this has two (issue 11's bound)."""
    long = {
        str(path.relative_to(ROOT)): count
        for path in ROOT.rglob("*.py")
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > 450
    }
    assert long == {}
