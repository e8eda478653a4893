"""The terminal, split the way the AWS CLI splits it: a command's result (tables, verdicts,
the commands to run next, JSON) on stdout, so `status > f` and `sweep | grep` work; progress,
prompts, warnings and errors on stderr, for the person watching.

Only the CLI and the wizard use this module; libraries report through callbacks.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, ClassVar

# A document `--output json` prints, or a part of one: JSON, so its values are of any JSON type.
JsonDocument = dict[str, Any]
RESULT_WIDTH_OFF_TTY = 200  # piped or redirected: wide enough that no id or command folds


_DEBUG_LOCK = threading.Lock()


class Terminal:
    """`result` → stdout (what the command answers); `say` → stderr (progress, notes; silent
    with --quiet); `fail` → stderr (always); `emit_json` → stdout alone (--output json);
    `debug` → stderr with --debug; `status` → a spinner on stderr, only on a terminal."""

    def __init__(self, output: str, *, quiet: bool = False, debug: bool = False):
        from rich.console import Console

        self.json = output == "json"
        self.quiet = quiet
        self.debugging = debug
        self.err = Console(stderr=True, highlight=False, soft_wrap=False)
        self.out = Console(highlight=False, soft_wrap=False, width=_result_width())
        # completes each `amazonei-setup ...` quoted in an error so it works pasted (set by
        # the CLI once it knows the run's flags and state home)
        self.complete_commands: Callable[[str], str] = lambda text: text

    def result(self, *renderables: Any, soft_wrap: bool = False) -> None:
        """Part of the command's answer: stdout (nothing in JSON mode, where the document is
        the answer). soft_wrap for lines that hold commands: they must paste whole."""
        if not self.json:
            from rich.text import Text

            # plain strings stay plain: a path or command with [brackets] is not markup
            plain = [Text(r) if isinstance(r, str) else r for r in renderables]
            self.out.print(*plain, soft_wrap=soft_wrap)

    def say(self, *renderables: Any, soft_wrap: bool = False) -> None:
        """Progress and notes for the person watching: stderr, none with --quiet."""
        if not self.quiet:
            from rich.text import Text

            plain = [Text(r) if isinstance(r, str) else r for r in renderables]
            self.err.print(*plain, soft_wrap=soft_wrap)

    def shown_for(self, *renderables: Any, asking: bool) -> None:
        """What a question is about (a plan before "Create these resources?"): stderr, with
        the prompt; with --quiet only when the question is really asked (no --yes)."""
        if asking or not self.quiet:
            self.err.print(*renderables)

    def plan(self, *renderables: Any, dry_run: bool, asking: bool) -> None:
        """A plan: with --dry-run it is the answer (stdout); otherwise it is what the next
        question is about (stderr, with the prompt)."""
        if dry_run:
            self.result(*renderables)
        else:
            self.shown_for(*renderables, asking=asking)

    def status(self, message: str) -> Any:
        """A spinner for a wait that may take more than a second: on stderr, and only when
        stderr is a terminal (never in a log or a pipe) and not --quiet."""
        if self.quiet or not self.err.is_terminal:
            return nullcontext(_NoStatus())
        return self.err.status(message)

    def debug(self, line: str) -> None:
        """One --debug line on stderr (never a credential, parameter or body: callers pass
        only what they mean to show)."""
        if self.debugging:
            from rich.text import Text

            with _DEBUG_LOCK:  # calls log from worker threads: one whole line at a time
                self.err.print(Text(f"debug: {line}", style="dim"), soft_wrap=True)

    def emit_json(self, document: Any) -> None:
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
        sys.stdout.flush()

    def fail(self, lines: list[str]) -> None:
        from rich.text import Text

        first, *rest = [self.complete_commands(line) for line in lines]
        # soft_wrap: messages hold commands and ids that must survive copy and paste intact
        self.err.print(Text(f"error: {first}", style="bold red"), soft_wrap=True)
        for line in rest:
            self.err.print(Text(line), soft_wrap=True)


class _NoStatus:
    """What `Terminal.status` yields off a terminal: updates go nowhere."""

    def update(self, *_: Any, **__: Any) -> None:
        return None


def _result_width() -> int | None:
    """A terminal's own width on a terminal; off one, at least a width no table reaches (more
    if $COLUMNS says so), so a redirected table keeps each id and command on one line."""
    if sys.stdout.isatty():
        return None
    columns = os.environ.get("COLUMNS", "")
    return max(int(columns) if columns.isdigit() else 0, RESULT_WIDTH_OFF_TTY)


class RichReporter:
    """Apply's progress on stderr: a line per shared resource; with several seats, one
    progress bar for all of them (keys made, instances launched, instances running)."""

    def __init__(self, terminal: Terminal):
        self.console = terminal.err
        self.quiet = terminal.quiet  # --quiet: no progress at all; the result still follows
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
        if len(seats) < 2 or self.quiet:
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

        if self.quiet or (self._progress is not None and resource.per_seat):
            return
        self.console.print(Text(f"  … {resource.action} {resource.kind} {resource.name}", "dim"))

    def step_finished(self, resource: Any, resource_id: str | None) -> None:
        from rich.text import Text

        from amazonei_setup.cli.render.results import resource_label

        if self.quiet:
            return
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

        if not self.quiet:
            self.console.print(Text(f"  ! {message}", style="yellow"))

    def instances_polled(self, instances: list[Any]) -> None:
        if self.quiet:
            return
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
    """Teardown progress as lines on stderr (none with --quiet); on a terminal, a spinner
    names what is still going while deletions wait (an endpoint takes a minute or more)."""

    def __init__(self, terminal: Terminal):
        self.console = terminal.err
        self.terminal = terminal
        self._pending: dict[tuple[str, str, str], str] = {}
        self._status: Any = None
        self._shown: Any = None

    def action_started(self, action: Any) -> None:
        from rich.text import Text

        if self.terminal.quiet:
            return
        self.console.print(Text(f"  … {action.verb} {action.kind} {action.name}", "dim"))
        self._pending[_key(action)] = f"{action.verb} {action.kind} {action.name}"
        self._spin()

    def _spin(self) -> None:
        if not self._pending:
            self.close()
            return
        message = "waiting: " + ", ".join(self._pending.values())
        if self._status is None:
            self._status = self.terminal.status(message)
            self._shown = self._status.__enter__()
        self._shown.update(message)

    def close(self) -> None:
        if self._status is not None:
            self._status.__exit__(None, None, None)
            self._status = None

    def action_finished(self, action: Any) -> None:
        from rich.text import Text

        if self.terminal.quiet:
            return
        self._pending.pop(_key(action), None)
        self._spin()
        past = {"terminate": "terminated", "delete": "deleted", "leave": "left"}[action.verb]
        from amazonei_setup.cli.render.results import resource_label

        text = Text("  ✓ ", style="green")
        text.append(f"{past} {action.kind} {resource_label(action.name, action.id)}")
        self.console.print(text, soft_wrap=True)

    def note(self, message: str) -> None:
        from rich.text import Text

        if not self.terminal.quiet:
            self.console.print(Text(f"  ! {message}", style="yellow"))


def _key(action: Any) -> tuple[str, str, str]:
    return (action.kind, action.name, str(getattr(action, "id", "")))


class BenchmarkConsoleReporter:
    """A benchmark's progress on stderr, one line per stage and per candidate's change (the
    candidates run at once, so a line names its candidate), and the model's upload in steps
    of a tenth."""

    DONE, FAILED = ("✓", "green"), ("✗", "red")
    MARKS: ClassVar[dict[str, tuple[str, str]]] = {
        "measured": DONE, "removed": DONE, "resumed": DONE, "failed": FAILED, "not removed": FAILED
    }  # fmt: skip

    def __init__(self, terminal: Terminal):
        self.terminal = terminal
        self._lock = threading.Lock()
        self._shown_tenth = -1

    def stage(self, message: str) -> None:
        from rich.text import Text

        with self._lock:
            self.terminal.say(Text(f"  · {message}"), soft_wrap=True)

    def uploaded(self, done: int, total: int) -> None:
        from rich.text import Text

        tenth = 10 * done // max(total, 1)
        with self._lock:
            if tenth == self._shown_tenth:
                return
            self._shown_tenth = tenth
            self.terminal.say(Text(f"    uploaded {done:,} of {total:,} bytes ({tenth * 10}%)"))

    def candidate(self, label: str, state: str, detail: str = "") -> None:
        from rich.text import Text

        mark, style = self.MARKS.get(state, ("·", "cyan"))
        line = Text(f"  {mark} ", style=style)
        line.append(f"{label}: {state}")
        if detail:
            line.append(f" ({detail})", style="dim")
        with self._lock:
            self.terminal.say(line, soft_wrap=True)


class StackConsoleReporter:
    """The CloudFormation and StackSets engines' progress as lines on stderr (none with
    --quiet): each stack event, each account and region as its state changes."""

    def __init__(self, terminal: Terminal):
        self.terminal = terminal

    def stage(self, message: str) -> None:
        self.terminal.say(message)

    def stack_event(self, event: dict[str, Any]) -> None:
        reason = event.get("ResourceStatusReason") or ""
        line = f"  {event.get('ResourceStatus', '')} {event['LogicalResourceId']}"
        line += f" ({event.get('ResourceType', '')})" + (f": {reason}" if reason else "")
        self.terminal.say(line, soft_wrap=True)

    def target_state(self, account: str, region: str, state: str) -> None:
        self.terminal.say(f"  {account} {region}: {state}", soft_wrap=True)


@dataclass
class ConsoleReporters:
    """Every engine's progress on this terminal (`engines.pick.pick` takes it), each typed as
    the terminal's own so a command can close what it opened: apply's progress bar,
    teardown's spinner."""

    apply: RichReporter
    teardown: TeardownConsoleReporter
    stack: StackConsoleReporter

    @classmethod
    def on(cls, terminal: Terminal) -> ConsoleReporters:
        apply, teardown = RichReporter(terminal), TeardownConsoleReporter(terminal)
        return cls(apply, teardown, StackConsoleReporter(terminal))
