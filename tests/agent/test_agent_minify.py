"""The shipped agent's size savers (agent/minify.py) change names and quoting, never what the
code does: tricky scoping (closures, nested scopes binding the same name, comprehensions,
global, nonlocal, except-as, walrus, f-strings, keyword calls) gives the same answers after
renaming, and the triple-quoted worker source is the same string."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from amazonei_setup.agent.bundle import WORKER_NAME, build_single_file, worker_source
from amazonei_setup.agent.minify import long_strings, shorten_locals, triple_quoted

TRICKY = textwrap.dedent(
    """
    counter = 0

    def closure(values):
        total_so_far = 0
        collected = []

        def add(value):
            nonlocal total_so_far
            total_so_far += value
            return total_so_far

        for item in values:
            collected.append(add(item))
        return collected, total_so_far

    def shadowing(items):
        result = [x * 2 for x in items]
        x = "outer"
        def inner():
            x = "inner"
            return x
        return result, x, inner()

    def globals_and_errors(text):
        global counter
        counter += 1
        try:
            number = int(text)
        except ValueError as problem:
            message = f"{text!r} is not a number ({type(problem).__name__})"
            return message, counter
        else:
            doubled = number * 2
        finally:
            leftover = counter
        del number
        return doubled, leftover

    def walrus_and_keywords(values, scale=3):
        kept = [y for v in values if (y := v * scale) > 4]
        pairs = dict(first=kept[0], count=len(kept))
        with open(__file__ if False else "/dev/null") as handle:
            content = handle.read()
        return kept, pairs, content, y

    def lambdas(offset):
        shift = offset + 1
        functions = [lambda value, shift=shift: value + shift, lambda value: value * shift]
        return [f(10) for f in functions]

    def caller():
        return walrus_and_keywords(values=[1, 2, 3], scale=2)
    """
)
CALLS = [
    ("closure", ([1, 2, 3],)),
    ("shadowing", ([1, 2],)),
    ("globals_and_errors", ("21",)),
    ("globals_and_errors", ("x",)),
    ("walrus_and_keywords", ([1, 2, 3],)),
    ("lambdas", (4,)),
    ("caller", ()),
]


def _run(source: str) -> list:
    namespace: dict = {"__file__": "/dev/null"}
    exec(compile(source, "tricky", "exec"), namespace)
    return [namespace[name](*args) for name, args in CALLS]


def test_renamed_locals_give_the_same_answers():
    tree = shorten_locals(ast.parse(TRICKY))
    renamed = ast.unparse(tree)
    assert _run(renamed) == _run(TRICKY)
    for name in ("collected", "message", "doubled", "functions", "pairs", "content"):
        assert name not in renamed, name  # locals got short names
    for name in ("values", "scale", "offset", "counter", "add", "inner", "total_so_far"):
        assert name in renamed, name  # parameters, globals, nested defs, nonlocals keep theirs


def test_the_shipped_agent_renames_its_locals_but_not_its_interface():
    from amazonei_setup.agent import cli

    shipped = {n.name: n for n in ast.parse(build_single_file("none")).body if hasattr(n, "name")}
    assert {"main", "run_agent", "run_benchmark", "s3_download"} <= set(shipped)
    package = next(
        n
        for n in ast.parse(Path(cli.__file__).read_text()).body
        if getattr(n, "name", "") == "run_agent"
    )
    stored = {
        n.id for n in ast.walk(package) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    names = {n.id for n in ast.walk(shipped["run_agent"]) if isinstance(n, ast.Name)}
    locals_ = {"checks", "failures", "probe", "smoke", "report", "versions"}
    assert locals_ <= stored and not locals_ & names
    params = [a.arg for a in shipped["run_agent"].args.args]
    assert params == [a.arg for a in package.args.args]  # callers may name them


@pytest.mark.parametrize("kind", [None, "eia", "neuron", "nvidia"])
def test_the_worker_travels_triple_quoted_and_unchanged(kind):
    tree = ast.parse(build_single_file(kind))
    [value] = [
        n.value.value
        for n in tree.body
        if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == WORKER_NAME
    ]
    assert value == worker_source(kind)
    assert f"{WORKER_NAME} = '''" in build_single_file(kind)


@pytest.mark.parametrize(
    "text", ["plain\n", "back\\slash and 'quotes' \"both\"\n", "tab\there\n", "ends with '"]
)
def test_triple_quoting_keeps_the_string(text):
    quoted = triple_quoted(text)
    if text.endswith("'"):
        assert quoted is None
    else:
        assert ast.literal_eval(quoted) == text
        line = f"NAME = {text!r}"
        assert ast.literal_eval(long_strings(line, {"NAME"}).split(" = ", 1)[1]) == text


def test_a_string_that_holds_triple_quotes_stays_as_it_was():
    line = "NAME = " + repr("a ''' b")
    assert long_strings(line, {"NAME"}) == line
