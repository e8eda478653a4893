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
    """Apply's progress on stderr: a line per shared resource; with several seats, one
    progress bar for all of them (keys made, instances launched, instances running)."""

    def __init__(self, terminal: Terminal):
        self.console = terminal.err
        self._status: Any = None
        self._progress: Any = None
        self._task: Any = None
        self._seats = 0
        self._counts: dict[str, int] = {"running": 0}  # by kind, plus instances seen running
        self._seat_kind = ""

    def plan_started(self, plan: Any) -> None:
        from amazonei_setup.resources.registry import kinds

        self._seat_kind = next(k.kind for k in kinds() if k.is_seat)
        seats = [r for r in plan.resources if r.kind == self._seat_kind]
        if len(seats) < 2:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._seats = len(seats)
        for resource in plan.resources:  # what exists already counts as done
            if resource.per_seat and resource.action == "reuse":
                self._counts[resource.kind] = self._counts.get(resource.kind, 0) + 1
        self._progress = Progress(
            TextColumn("  seats"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            console=self.console,
        )
        self._task = self._progress.add_task(self._describe(), total=self._seats)
        self._progress.start()

    def _describe(self) -> str:
        """'launched · 6 key pair(s) · 4 running': each per-seat kind made so far by its title."""
        from amazonei_setup.resources.registry import kinds

        made = [
            f"{self._counts[k.kind]} {k.title}(s)"
            for k in kinds()
            if not k.is_seat and self._counts.get(k.kind)
        ]
        return " · ".join(["launched", *made, f"{self._counts['running']} running"])

    def _advance(self) -> None:
        done = self._counts.get(self._seat_kind, 0)
        self._progress.update(self._task, completed=done, description=self._describe())

    def step_started(self, resource: Any) -> None:
        from rich.text import Text

        if self._progress is not None and resource.per_seat:
            return
        self.console.print(Text(f"  … {resource.action} {resource.kind} {resource.name}", "dim"))

    def step_finished(self, resource: Any, resource_id: str | None) -> None:
        from rich.text import Text

        from amazonei_setup.render import resource_label

        if self._progress is not None and resource.per_seat:
            if resource.action != "reuse":
                self._counts[resource.kind] = self._counts.get(resource.kind, 0) + 1
            self._advance()
            return
        verb = {"create": "created", "update": "updated", "reuse": "reused", "replace": "replaced"}
        style = "green" if resource.action != "reuse" else "dim"
        text = Text("  ✓ ", style=style)
        text.append(f"{verb[resource.action]} {resource.kind} ")
        text.append(resource_label(resource.name, resource_id))
        self.console.print(text, soft_wrap=True)

    def note(self, message: str) -> None:
        from rich.text import Text

        self.console.print(Text(f"  ! {message}", style="yellow"))

    def instances_polled(self, instances: list[Any]) -> None:
        if self._progress is not None:
            self._counts["running"] = sum(i.state == "running" for i in instances)
            self._advance()
            return
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
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


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
