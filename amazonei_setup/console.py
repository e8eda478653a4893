"""The terminal: stderr for people (progress, tables, prompts), stdout only for JSON.

Only the CLI and the wizard use this module; libraries report through callbacks.
"""

from __future__ import annotations

import json
import sys
from typing import Any


class Terminal:
    """stderr for people (progress, tables, prompts); stdout only for --output json."""

    def __init__(self, output: str):
        from rich.console import Console

        self.json = output == "json"
        self.err = Console(stderr=True, highlight=False, soft_wrap=False)

    def say(self, *renderables: Any) -> None:
        self.err.print(*renderables)

    def emit_json(self, document: Any) -> None:
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
        sys.stdout.flush()

    def fail(self, lines: list[str]) -> None:
        from rich.text import Text

        first, *rest = lines
        # soft_wrap: messages hold commands and ids that must survive copy and paste intact
        self.err.print(Text(f"error: {first}", style="bold red"), soft_wrap=True)
        for line in rest:
            self.err.print(Text(line), soft_wrap=True)


class RichReporter:
    """Apply's progress as lines on stderr, and a spinner while instances boot."""

    def __init__(self, terminal: Terminal):
        self.console = terminal.err
        self._status: Any = None

    def step_started(self, resource: Any) -> None:
        from rich.text import Text

        self.console.print(Text(f"  … {resource.action} {resource.kind} {resource.name}", "dim"))

    def step_finished(self, resource: Any, resource_id: str | None) -> None:
        from rich.text import Text

        verb = {"create": "created", "update": "updated", "reuse": "reused", "replace": "replaced"}
        style = "green" if resource.action != "reuse" else "dim"
        text = Text("  ✓ ", style=style)
        from amazonei_setup.render import resource_label

        text.append(f"{verb[resource.action]} {resource.kind} ")
        text.append(resource_label(resource.name, resource_id))
        self.console.print(text, soft_wrap=True)

    def note(self, message: str) -> None:
        from rich.text import Text

        self.console.print(Text(f"  ! {message}", style="yellow"))

    def instances_polled(self, instances: list[Any]) -> None:
        states = ", ".join(f"{i.id} {i.state}" for i in instances)
        if self._status is None:
            self._status = self.console.status(f"waiting for instances: {states}")
            self._status.start()
        else:
            self._status.update(f"waiting for instances: {states}")
        if all(i.state == "running" for i in instances):
            self.close()

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


class TeardownConsoleReporter:
    """Teardown progress as lines on stderr."""

    def __init__(self, terminal: Terminal):
        self.console = terminal.err

    def action_started(self, action: Any) -> None:
        from rich.text import Text

        self.console.print(Text(f"  … {action.verb} {action.kind} {action.name}", "dim"))

    def action_finished(self, action: Any) -> None:
        from rich.text import Text

        past = {"terminate": "terminated", "delete": "deleted", "leave": "left"}[action.verb]
        from amazonei_setup.render import resource_label

        text = Text("  ✓ ", style="green")
        text.append(f"{past} {action.kind} {resource_label(action.name, action.id)}")
        self.console.print(text, soft_wrap=True)

    def note(self, message: str) -> None:
        from rich.text import Text

        self.console.print(Text(f"  ! {message}", style="yellow"))
