"""The wizard sits below the commands: no module of amazonei_setup/cli/wizard (nor the shared
subnet rule and profile inputs) imports amazonei_setup.cli.commands or the CLI, and every one of
them stays small (read from the AST, so a lazy import inside a function counts too)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "amazonei_setup"
CHECKED = [
    *sorted((PACKAGE / "cli" / "wizard").glob("*.py")),
    PACKAGE / "aws" / "subnets.py",
    PACKAGE / "spec" / "inputs.py",
]
UPWARD = ("amazonei_setup.cli.commands", "amazonei_setup.cli.main")


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_wizard_imports_neither_the_commands_nor_the_cli():
    upward = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in CHECKED
        for name in imported(path)
        if name.startswith(UPWARD)
    }
    assert upward == set()


def test_wizard_modules_stay_small():
    sizes = {path.name: len(path.read_text().splitlines()) for path in CHECKED}
    assert max(sizes.values()) <= 450, sizes
