"""Size savers for the shipped agent (tool-side, used by bundle.py), each leaving behaviour as it
was: a function's own local variables get short names, and a long string constant (the worker's
source) is written triple-quoted with real newlines so gzip matches its lines against the
agent's. Together ~800 bytes of gzip'd user data, room the benchmark mode needed (issue 22)."""

from __future__ import annotations

import ast
import builtins
import itertools
import keyword
import string
from collections.abc import Iterator

_SCOPES = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.Lambda,
    ast.ClassDef,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)


def _short_names(taken: set[str]) -> Iterator[str]:
    for size in itertools.count(1):
        for letters in itertools.product(string.ascii_letters, repeat=size):
            name = "".join(letters)
            if name not in taken and not keyword.iskeyword(name) and not hasattr(builtins, name):
                yield name


def _own_nodes(function: ast.AST) -> Iterator[ast.AST]:
    """The nodes of `function`'s own scope: nested functions, lambdas, classes and
    comprehensions are their own scopes and are not entered."""
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, _SCOPES):
            stack.extend(ast.iter_child_nodes(node))


def _bound_in_nested(function: ast.AST) -> set[str]:
    """Every name a scope inside `function` binds or declares: never renamed, so a nested
    scope's own variable is never confused with the outer one."""
    bound: set[str] = set()
    for node in ast.walk(function):
        if node is function or not isinstance(node, _SCOPES):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Name) and not isinstance(inner.ctx, ast.Load):
                bound.add(inner.id)
            elif isinstance(inner, ast.arg):
                bound.add(inner.arg)
            elif isinstance(inner, (ast.Global, ast.Nonlocal)):
                bound.update(inner.names)
            elif isinstance(inner, ast.ExceptHandler) and inner.name:
                bound.add(inner.name)
    return bound


def _rename(function: ast.FunctionDef | ast.AsyncFunctionDef, taken: set[str]) -> None:
    arguments = function.args
    fixed = {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}
    fixed.update(a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None)
    stored: set[str] = set()
    for node in _own_nodes(function):
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            fixed.update(node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            fixed.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            fixed.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stored.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            stored.add(node.name)
    local = sorted(stored - fixed - _bound_in_nested(function))
    fresh = _short_names(taken | fixed)
    mapping = {name: next(fresh) for name in local}
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and node.id in mapping:
            node.id = mapping[node.id]
        elif isinstance(node, ast.ExceptHandler) and node.name in mapping:
            node.name = mapping[node.name]


def shorten_locals(tree: ast.Module) -> ast.Module:
    """Each function's own local variables (not its parameters: callers may name them, not
    globals, nor names a nested scope binds) renamed a, b, c ... in place. No name the module
    uses anywhere is reused, so no global or builtin is shadowed."""
    taken = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    taken.update(n.arg for n in ast.walk(tree) if isinstance(n, ast.arg))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            _rename(node, taken)
    return tree


def triple_quoted(text: str) -> str | None:
    """`text` as a '''-string with real newlines, or None when it cannot be one."""
    if "'''" in text or text.endswith("'") or "\r" in text:
        return None
    return "'''" + text.replace("\\", "\\\\") + "'''"


def long_strings(code: str, names: set[str]) -> str:
    """Top-level `NAME = '...'` lines of `code` (names in `names`) re-written triple-quoted."""
    lines = code.split("\n")
    for index, line in enumerate(lines):
        name, equals, value = line.partition(" = ")
        if equals and name in names:
            quoted = triple_quoted(ast.literal_eval(value))
            if quoted is not None:
                lines[index] = f"{name} = {quoted}"
    return "\n".join(lines)
