"""The agent as ONE self-contained Python file, for the instance's user data. Tool-side only
(needs Python 3.9+ for ast.unparse); the file it makes runs on Python 3.8+.

The modules are concatenated in dependency order and made small for the 16 KB of user data:
docstrings, comments and annotations dropped, definitions `main` never reaches left out, standard
library imports hoisted and de-duplicated, the package's own relative imports removed (every
top-level name is unique across the modules, which this checks), one-space indentation, and a
`__main__` footer. worker.py, which runs inside other Pythons (3.6 and up), travels as the string
`WORKER_SOURCE`, slimmed the same way. Behaviour is unchanged: tests/agent runs both and compares
the reports."""

from __future__ import annotations

import ast
import gzip
import re
from collections.abc import Callable
from pathlib import Path

from .benchmark import BENCH_WORKER_MODULES
from .minify import long_strings, shorten_locals

MODULES = (
    *("catalog", "report", "imds", "probes", "model", "environments", "frameworks"),
    *("s3", "launch", "cli"),
)
WORKER, WORKER_NAME = "worker", "WORKER_SOURCE"  # worker.py rides in the bundle as a string
# The benchmark harness (issue 22), shipped through S3 rather than the user data: benchmark.py
# and what it uses; its worker (loadgen + bench_* in this order) rides as BENCH_WORKER_SOURCE.
BENCH_MODULES = (
    *("catalog", "report", "imds", "probes", "model", "environments", "frameworks"),
    *("s3", "bench_job", "benchmark"),
)
BENCH_WORKER_NAME = "BENCH_WORKER_SOURCE"
AGENT_DIR = Path(__file__).resolve().parent
ENTRY_POINT = "main"


class BundleError(Exception):
    """The agent's modules cannot be flattened into one file (a name clash, a bad import)."""


class _Slim(ast.NodeTransformer):
    """Drops docstrings and annotations (never evaluated: every module has
    `from __future__ import annotations`)."""

    def _body(self, node: ast.AST) -> ast.AST:
        self.generic_visit(node)
        body = node.body  # type: ignore[attr-defined]
        first = body[0] if body else None
        if isinstance(first, ast.Expr) and isinstance(getattr(first.value, "value", None), str):
            body.pop(0)
        if not body:
            body.append(ast.Pass())
        return node

    def visit_Module(self, node: ast.Module) -> ast.AST:
        return self._body(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        return self._body(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.returns = None
        arguments = node.args
        for argument in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
            argument.annotation = None
        for argument in (arguments.vararg, arguments.kwarg):
            if argument is not None:
                argument.annotation = None
        return self._body(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST | None:
        if node.value is None:
            return None
        return ast.copy_location(ast.Assign(targets=[node.target], value=node.value), node)


def _defined(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AnnAssign):
        targets = [node.target]
    return [n.id for target in targets for n in ast.walk(target) if isinstance(n, ast.Name)]


def _used(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _reachable(definitions: list[tuple[list[str], ast.stmt]]) -> set[str]:
    uses: dict[str, set[str]] = {}
    for names, node in definitions:
        for name in names:
            uses.setdefault(name, set()).update(_used(node))
    seen, todo = set(), [ENTRY_POINT]
    while todo:
        name = todo.pop()
        if name not in seen and name in uses:
            seen.add(name)
            todo.extend(uses[name])
    return seen


def _one_space(code: str) -> str:
    return re.sub(r"^(?:    )+", lambda m: " " * (len(m.group(0)) // 4), code, flags=re.M)


# The worker's backends an agent built for one accelerator kind needs (None: all of them).
WORKER_BACKENDS = {
    "neuron": ("neuronx", "neuron", "torchneuron", "jax-neuron"),
    "nvidia": ("cuda",),
    "eia": ("pytorch-ei", "mxnet-ei", "tf-ei"),
    "none": (),
}


# Per kind, the keys kept in the tables of install hints (frameworks.py), of backends an
# environment offers (environments.py), of the probe's questions (worker.py) and of the
# accelerator probes (cli.py).
FRAMEWORK_KEYS = {
    "neuron": ("neuron",),
    "nvidia": ("nvidia",),
    "eia": ("eia",),
    "none": (),
}


def _keep_keys(node: ast.stmt, name: str, keys: tuple[str, ...]) -> None:
    """`name = {...}` keeps only the entries whose key is in `keys`."""
    if isinstance(node, ast.Assign) and _defined(node) == [name]:
        table = node.value
        if not isinstance(table, ast.Dict):
            raise BundleError(f"{name} is not a dict literal")
        pairs = [
            (k, v)
            for k, v in zip(table.keys, table.values, strict=True)
            if getattr(k, "value", None) in keys
        ]
        node.value = ast.Dict(keys=[k for k, _ in pairs], values=[v for _, v in pairs])


class _NoHelp(ast.NodeTransformer):
    """argparse help texts stay in the package (`python3 -m amazonei_setup.agent --help`); the
    shipped file lists its options without them, for room in the user data."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        node.keywords = [k for k in node.keywords if k.arg not in ("help", "description")]
        return node


def _is_main_block(node: ast.stmt) -> bool:
    """`if __name__ == "__main__":`: the bundle writes its own footer instead."""
    test = node.test if isinstance(node, ast.If) else None
    return isinstance(test, ast.Compare) and getattr(test.left, "id", None) == "__name__"


def _parse(module: str) -> ast.Module:
    return _Slim().visit(ast.parse((AGENT_DIR / f"{module}.py").read_text(encoding="utf-8")))


def worker_source(kind: str | None = None) -> str:
    """worker.py without docstrings, its locals renamed short, one-space indented (it must
    still parse as Python 3.6); for one accelerator kind, only that kind's backends and what
    they use."""
    tree = _parse(WORKER)
    if kind is not None:
        for node in tree.body:
            _keep_keys(node, "BACKENDS", WORKER_BACKENDS[kind])
            _keep_keys(node, "ASKS", FRAMEWORK_KEYS[kind])
        definitions = (ast.FunctionDef, ast.ClassDef)
        needed = set().union(*(_used(n) for n in tree.body if not isinstance(n, definitions)))
        grown = True
        while grown:
            kept = [n for n in tree.body if not isinstance(n, definitions) or n.name in needed]
            more = set().union(*(_used(n) for n in kept))
            grown = not more <= needed
            needed |= more
        tree.body = kept
    return _one_space(ast.unparse(shorten_locals(tree))) + "\n"


def bench_worker_source() -> str:
    """The benchmark worker as one Python 3.6 source: loadgen.py, bench_inputs.py,
    bench_torch.py and bench_worker.py without their relative imports or docstrings."""
    body: list[ast.stmt] = []
    for module in BENCH_WORKER_MODULES:
        tree = _parse(module)
        body += [n for n in tree.body if not (isinstance(n, ast.ImportFrom) and n.level)]
    return _one_space(ast.unparse(ast.Module(body=body, type_ignores=[]))) + "\n"


def _flatten(
    modules: tuple[str, ...], strings: dict[str, Callable[[], str]], kind: str | None
) -> tuple[str, list[ast.stmt]]:
    """The modules as one source: standard imports hoisted, then every definition `main`
    reaches; `strings` replace the values of the constants they name."""
    imports: list[ast.stmt] = []
    owners: dict[str, str] = {}
    definitions: list[tuple[list[str], ast.stmt]] = []
    for module in modules:
        for node in _parse(module).body:
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                continue
            if isinstance(node, ast.ImportFrom) and node.level:
                for alias in node.names:
                    if alias.asname or owners.get(alias.name) != node.module:
                        raise BundleError(
                            f"{module}.py: cannot flatten 'from .{node.module} import "
                            f"{alias.name}' (import only names defined earlier, without 'as')"
                        )
                continue
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                imports.append(node)
                continue
            if _is_main_block(node):
                continue
            names = _defined(node)
            if len(names) == 1 and names[0] in strings and isinstance(node, ast.Assign):
                node.value = ast.Constant(strings[names[0]]())
            if kind is not None:
                _keep_keys(node, "INSTALL_HINTS", FRAMEWORK_KEYS[kind])
                _keep_keys(node, "USABLE", FRAMEWORK_KEYS[kind])
                _keep_keys(node, "PROBES", FRAMEWORK_KEYS[kind])
            if not names:
                raise BundleError(f"{module}.py: top-level statement other than a definition")
            for name in names:
                if owners.get(name, module) != module:
                    raise BundleError(
                        f"{name} is defined in both {owners[name]}.py and {module}.py"
                    )
                owners[name] = module
            definitions.append((names, node))
    keep = _reachable(definitions)
    body = [_NoHelp().visit(node) for names, node in definitions if keep.intersection(names)]
    used = set().union(*(_used(node) for node in body)) | {"sys"}
    header: list[str] = []
    for node in imports:
        wanted = [a for a in node.names if (a.asname or a.name).split(".")[0] in used]
        text = ast.unparse(type(node)(**{**node.__dict__, "names": wanted})) if wanted else ""
        if text and text not in header:
            header.append(text)
    return "\n".join(header) + "\n", body


def _banner(what: str) -> str:
    from .report import AGENT_VERSION

    return (
        f"#!/usr/bin/env python3\n# amazonei-setup {what} {AGENT_VERSION}, generated by "
        "amazonei_setup.agent.bundle: do not edit\nfrom __future__ import annotations\n"
    )


def _sources_fingerprint() -> tuple[tuple[str, int, int], ...]:
    """Name, size and mtime of every agent module: a bundle is rebuilt only when one changed."""
    return tuple(
        (path.name, stat.st_size, stat.st_mtime_ns)
        for path in sorted(AGENT_DIR.glob("*.py"))
        for stat in (path.stat(),)
    )


_built: dict[tuple[object, ...], str] = {}


def _memoized(key: tuple[object, ...], build: Callable[[], str]) -> str:
    """One build per process for unchanged sources: flattening and minifying take about a
    second, and a process that launches several times (the wizard, the benchmark, the test
    suite) would otherwise repeat it each time."""
    key = (*key, str(AGENT_DIR), _sources_fingerprint())
    if key not in _built:
        _built[key] = build()
    return _built[key]


def build_single_file(kind: str | None = None) -> str:
    """The agent's source as one file: `python3 agent.py --json ...` behaves exactly like
    `python3 -m amazonei_setup.agent --json ...`. With `kind` (eia, neuron, nvidia, none) it
    carries only the framework code that accelerator needs, to fit the user data; its local
    variables get short names (minify.py)."""
    return _memoized(("agent", kind), lambda: _build_single_file(kind))


def _build_single_file(kind: str | None) -> str:
    strings = {WORKER_NAME: lambda: worker_source(kind)}
    header, body = _flatten(MODULES, strings, kind)
    module = shorten_locals(ast.Module(body=body, type_ignores=[]))
    code = long_strings(_one_space(ast.unparse(module)), set(strings))
    return _banner("agent") + header + code + "\nif __name__ == '__main__':\n sys.exit(main())\n"


def build_benchmark_file() -> str:
    """The benchmark harness as one file (Python 3.8+, standard library): `python3
    benchmark.py --job JOB [--region R]` behaves like `python3 -m
    amazonei_setup.agent.benchmark ...`. The tool uploads it to the deployment's bucket; the
    shipped agent fetches it, checks its SHA-256 and runs it (launch.py). Not size-bound: its
    names stay as written, so a traceback on an instance reads like the package."""
    return _memoized(("benchmark",), _build_benchmark_file)


def _build_benchmark_file() -> str:
    strings = {BENCH_WORKER_NAME: bench_worker_source, WORKER_NAME: worker_source}
    header, body = _flatten(BENCH_MODULES, strings, None)
    code = long_strings(
        _one_space(ast.unparse(ast.Module(body=body, type_ignores=[]))), set(strings)
    )
    return (
        _banner("benchmark harness")
        + header
        + code
        + "\nif __name__ == '__main__':\n sys.exit(main())\n"
    )


def bundle_sizes(source: str | None = None) -> dict[str, int]:
    """Bytes of the single file, raw and gzip'd (level 9, as user data carries it)."""
    data = (source if source is not None else build_single_file()).encode("utf-8")
    return {"raw_bytes": len(data), "gzip_bytes": len(gzip.compress(data, 9, mtime=0))}
