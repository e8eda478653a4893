"""The package's import structure, read from the source with `ast` (nothing is imported): no
import cycle among its modules, and the layers of docs/DESIGN.md point one way — each layer
imports only the layers below it, the agent only itself (it ships alone), and the sandbox
(its own package) only the few product modules its contract names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import amazonei_setup

PACKAGE = "amazonei_setup"
ROOT = Path(amazonei_setup.__file__).parent
SANDBOX = "amazonei_sandbox"
SANDBOX_ROOT = ROOT.parent / SANDBOX
# The layers, lowest first: a module may import its own layer and those below it, never above.
# `errors` and the package's `__init__` sit under everything; `__main__` is the CLI's.
LAYERS = ("state", "spec", "aws", "resources", "policy", "seats", "engines", "cli")
# What the sandbox may use of the product: the state home, the catalog it seeds from, ARNs,
# tag names, the user-data signing contract and the agent it runs; nothing of the engines or CLI.
SANDBOX_MAY_IMPORT = (
    f"{PACKAGE}.errors",
    f"{PACKAGE}.state.paths",
    f"{PACKAGE}.spec.catalog",
    f"{PACKAGE}.aws.arns",
    f"{PACKAGE}.resources.naming",
    f"{PACKAGE}.seats.userdata",
    f"{PACKAGE}.agent",
)
# Only the CLI starts, stops and asks the sandbox (its control and credentials API).
SANDBOX_API = (f"{SANDBOX}.control", f"{SANDBOX}.credentials")
TOP_LEVEL_MODULES = {"__init__", "__main__", "errors"}


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


def rank(module: str) -> int:
    """The layer of a package module: 0 for `errors` and the package itself, then LAYERS."""
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in ("errors", "agent"):
        return 0
    if parts[1] == "__main__":
        return len(LAYERS)
    return LAYERS.index(parts[1]) + 1


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for module, targets in graph.items():
        for target in targets:
            if not (module.startswith(PACKAGE) and target.startswith(PACKAGE)):
                continue
            if _within(module, (f"{PACKAGE}.agent",)) and not _within(
                target, (f"{PACKAGE}.agent",)
            ):
                found.append(f"{module} imports {target} (the agent ships alone)")
            elif rank(target) > rank(module):
                found.append(f"{module} imports {target}, a layer above it")
    return sorted(found)


def full_graph() -> dict[str, set[str]]:
    """The product and the sandbox together, so imports across the two are seen."""
    product = import_graph()
    sandbox = import_graph(SANDBOX_ROOT, SANDBOX)
    modules = set(product) | set(sandbox)
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in {**_modules(), **_modules(SANDBOX_ROOT, SANDBOX)}.items():
        graph[name] = set(product.get(name, set()) | sandbox.get(name, set()))
        here = name if is_package else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                targets = [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and target != here:
                    graph[name].add(target)
    return graph


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return full_graph()


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


def test_graph_covers_the_product_and_the_sandbox(graph: dict[str, set[str]]) -> None:
    assert f"{PACKAGE}.cli.main" in graph and f"{SANDBOX}.server" in graph
    assert f"{PACKAGE}.cli.context" in graph[f"{PACKAGE}.cli.main"]
    assert f"{PACKAGE}.state.paths" in graph[f"{SANDBOX}.server"]


def test_no_import_cycle(graph: dict[str, set[str]]) -> None:
    cycles = [" -> ".join(cycle) for cycle in find_cycles(graph)]
    assert cycles == [], "import cycles:\n" + "\n".join(cycles)


def test_each_layer_imports_only_the_layers_below_it(graph: dict[str, set[str]]) -> None:
    assert layer_violations(graph) == []


def test_the_layer_rule_catches_an_upward_import() -> None:
    """The rule itself fails when a library reaches up (or the agent out), so it cannot pass
    by accident."""
    graph = {
        f"{PACKAGE}.spec.catalog": {f"{PACKAGE}.engines.plan"},
        f"{PACKAGE}.agent.cli": {f"{PACKAGE}.errors"},
        f"{PACKAGE}.engines.plan": {f"{PACKAGE}.spec.catalog"},
    }
    assert layer_violations(graph) == [
        f"{PACKAGE}.agent.cli imports {PACKAGE}.errors (the agent ships alone)",
        f"{PACKAGE}.spec.catalog imports {PACKAGE}.engines.plan, a layer above it",
    ]


def test_every_layer_folder_says_its_job() -> None:
    for layer in LAYERS:
        init = ROOT / layer / "__init__.py"
        assert ast.get_docstring(ast.parse(init.read_text())), f"{layer}/__init__.py"


def test_the_package_top_level_holds_only_a_few_modules() -> None:
    modules = {path.stem for path in ROOT.glob("*.py")}
    assert modules == TOP_LEVEL_MODULES
    folders = {path.name for path in ROOT.iterdir() if (path / "__init__.py").exists()}
    assert folders == {*LAYERS, "agent"}


def test_the_sandbox_uses_only_its_contract_of_the_product(graph: dict[str, set[str]]) -> None:
    outside = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        if module.startswith(SANDBOX)
        for target in targets
        if target.startswith(PACKAGE + ".") and not _within(target, SANDBOX_MAY_IMPORT)
    )
    assert outside == []


def test_only_the_cli_reaches_the_sandbox_and_only_through_its_api(graph) -> None:
    reaching = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        if module.startswith(PACKAGE)
        for target in targets
        if target.startswith(SANDBOX)
        and (not _within(module, (f"{PACKAGE}.cli",)) or not _within(target, SANDBOX_API))
    )
    assert reaching == []


def test_the_wizard_never_imports_the_commands(graph: dict[str, set[str]]) -> None:
    upward = {
        (module, target)
        for module, targets in graph.items()
        if _within(module, (f"{PACKAGE}.cli.wizard",))
        for target in targets
        if _within(target, (f"{PACKAGE}.cli.commands", f"{PACKAGE}.cli.main"))
    }
    assert upward == set()


def test_no_module_is_over_450_lines() -> None:
    """One job per module: a file past this has two (issue 11's bound)."""
    long = {
        str(path): count
        for root in (ROOT, SANDBOX_ROOT)
        for path in root.rglob("*.py")
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > 450
    }
    assert long == {}


ENGINE_CLASSES = {"DirectEngine", "StackEngine", "StackSetEngine"}
# Where each engine does its work (its AWS calls, its steps): the CLI takes its types from
# them, never a function — it reaches the work through the engine that `pick` made.
ENGINE_WORKINGS = tuple(
    f"{PACKAGE}.engines.{name}"
    for name in (
        "direct.apply",
        "direct.teardown",
        "cloudformation.launch",
        "cloudformation.stack",
        "stackset.launch",
        "stackset.operations",
    )
)


def engine_bypasses(root: Path = ROOT, package: str = PACKAGE) -> list[str]:
    """An engine made anywhere but `engines/pick.py`, and a CLI import of an engine's working
    function (a name that is not a type's), read from the source."""
    found = []
    for name, (path, _) in _modules(root, package).items():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and name != f"{package}.engines.pick":
                called = node.func
                label = called.id if isinstance(called, ast.Name) else None
                if isinstance(called, ast.Attribute):
                    label = called.attr
                if label in ENGINE_CLASSES:
                    found.append(f"{name} makes a {label} (only engines.pick does)")
            if (
                isinstance(node, ast.ImportFrom)
                and _within(name, (f"{package}.cli",))
                and _within(node.module or "", ENGINE_WORKINGS)
            ):
                for alias in node.names:
                    if not alias.name[:1].isupper():
                        found.append(f"{name} imports {node.module}.{alias.name}")
    return sorted(found)


def test_the_commands_reach_an_engine_only_through_pick() -> None:
    """docs/DESIGN.md, "The engine protocol": the engine is picked once; a command gathers,
    calls the engine it was given, and renders."""
    assert engine_bypasses() == []


def test_the_pick_rule_catches_a_bypass(tmp_path: Path) -> None:
    pkg = tmp_path / PACKAGE
    for folder in ("cli", "engines", "engines/direct"):
        (pkg / folder).mkdir(parents=True)
        (pkg / folder / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "engines" / "pick.py").write_text("def pick():\n    return DirectEngine()\n")
    (pkg / "cli" / "teardown.py").write_text(
        f"from {PACKAGE}.engines.direct.teardown import TeardownPlan, execute_teardown\n"
        "def go(engines):\n    return engines.StackEngine(), TeardownPlan\n"
    )
    assert engine_bypasses(pkg, PACKAGE) == [
        f"{PACKAGE}.cli.teardown imports {PACKAGE}.engines.direct.teardown.execute_teardown",
        f"{PACKAGE}.cli.teardown makes a StackEngine (only engines.pick does)",
    ]
