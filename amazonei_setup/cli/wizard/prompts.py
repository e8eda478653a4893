"""Asking: a numbered list of options, a questionary prompt that takes the value or its index,
bad answers explained and asked again, `<` going back one question, an accepted default said
back, and `q` / Ctrl-C / Ctrl-D leaving at once.

The questionary adapter is the only place that touches prompt_toolkit. Tests drive it through
prompt_toolkit's pipe input (`create_app_session(input=..., output=DummyOutput())`); off a
terminal the answered question is echoed into the transcript, as a terminal would show it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from rich.table import Table
from rich.text import Text

from amazonei_setup.spec.profile import did_you_mean

QUIT_WORDS = ("q", "quit", "exit")
BACK_WORD = "<"  # no name, region, CIDR, tag or file path the wizard asks for is '<'
YES = ("y", "yes")
NO = ("n", "no")


class Quit(Exception):
    """The person asked to leave (q, Ctrl-C, Ctrl-D): nothing has been created."""


class Back(Exception):
    """The person asked for the previous question again (`<`)."""


@dataclass(frozen=True)
class Option:
    value: str
    cells: tuple[str, ...]  # what the list shows after the index
    disabled: str | None = None  # why it cannot be chosen (still listed, so people see it)
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answer:
    value: Any  # an option's value, or what a text question's check made of the text
    typed: bool  # False: Enter took the default


class Prompter(Protocol):
    def ask(self, message: str) -> str:
        """One line from the person; raises Quit on Ctrl-C or end of input."""


@dataclass
class QuestionaryPrompter:
    """questionary text prompts; `input`/`output` default to prompt_toolkit's app session."""

    input: Any = None
    output: Any = None
    echo: Callable[[str, str], None] | None = None

    def ask(self, message: str) -> str:
        import questionary

        kwargs = {k: v for k, v in (("input", self.input), ("output", self.output)) if v}
        try:
            answer = questionary.text(message, qmark="?", **kwargs).unsafe_ask()
        except (KeyboardInterrupt, EOFError) as exc:
            if self.echo is not None:
                self.echo(message, "^C" if isinstance(exc, KeyboardInterrupt) else "^D")
            raise Quit from None
        if self.echo is not None:
            self.echo(message, answer)
        return answer


def terminal_prompter(console: Any) -> QuestionaryPrompter:
    """Prompts on stderr when it is a terminal (stdout stays for JSON); otherwise through the
    current prompt_toolkit session, echoing each answered question into the transcript."""
    if sys.stderr.isatty():
        from prompt_toolkit.output import create_output

        return QuestionaryPrompter(output=create_output(stdout=sys.stderr))

    def echo(message: str, answer: str) -> None:
        console.print(Text(f"? {message} {answer}"), soft_wrap=True)

    return QuestionaryPrompter(echo=echo)


@dataclass
class Asker:
    """The questions' face: option lists on the console, answers through the prompter."""

    console: Any
    prompter: Prompter
    asked: list[tuple[str, str]] = field(default_factory=list)

    def _line(self, message: str, back: bool = True) -> str:
        raw = self.prompter.ask(message)
        self.asked.append((message, raw))
        text = raw.strip()
        if text.lower() in QUIT_WORDS:
            raise Quit
        if back and text == BACK_WORD:
            raise Back
        return text

    def _took_default(self, value: str) -> None:
        """Enter took the default: say which value that was."""
        self.console.print(Text(f"  → {value} (default)", style="dim"))

    def say(self, text: str, style: str = "") -> None:
        self.console.print(Text(text, style=style), soft_wrap=False)

    def problem(self, text: str) -> None:
        self.console.print(Text(f"  ✗ {text}", style="red"))

    def heading(self, title: str, note: str = "") -> None:
        self.console.print()
        self.console.print(Text(title, style="bold"))
        if note:
            self.console.print(Text(note, style="dim"))

    def choose(
        self,
        prompt: str,
        options: Sequence[Option],
        default: str | None,
        headers: Sequence[str] = (),
    ) -> Answer:
        """Show the options numbered from 1; accept an index, a value or an alias."""
        table = Table(box=None, show_header=bool(headers), pad_edge=False, padding=(0, 1))
        table.add_column("", justify="right", no_wrap=True)
        width = max(len(o.cells) for o in options)
        for index in range(width):
            title = headers[index] if index < len(headers) else ""
            table.add_column(title, overflow="fold", no_wrap=index == 0)
        for number, option in enumerate(options, 1):
            style = "dim" if option.disabled else ("bold" if option.value == default else "")
            cells = list(option.cells) + [""] * (width - len(option.cells))
            if option.disabled:
                cells[-1] = (cells[-1] + " " if cells[-1] else "") + f"({option.disabled})"
            table.add_row(f"{number}", *cells, style=style)
        self.console.print(table)
        values = [o.value for o in options]
        while True:
            text = self._line(f"{prompt} [{default}]:" if default else f"{prompt}:")
            if not text and default:
                self._took_default(default)
                return Answer(default, typed=False)
            chosen = self._match(text, options)
            if chosen is None:
                if not text:
                    self.problem(f"there is no default: type 1-{len(options)} or a name")
                    continue
                hint = did_you_mean(text, values)
                self.problem(
                    f"'{text}' is not one of the choices: type 1-{len(options)} or a name "
                    f"({self._sample(values)})" + (f". {hint}" if hint else "")
                )
                continue
            if chosen.disabled:
                self.problem(f"{chosen.value} cannot be chosen: {chosen.disabled}")
                continue
            return Answer(chosen.value, typed=True)

    @staticmethod
    def _sample(values: list[str]) -> str:
        return ", ".join(values) if len(values) <= 4 else ", ".join(values[:3]) + ", …"

    @staticmethod
    def _match(text: str, options: Sequence[Option]) -> Option | None:
        if text.isdigit():
            index = int(text)
            return options[index - 1] if 1 <= index <= len(options) else None
        wanted = text.lower()
        for option in options:
            if wanted == option.value.lower() or wanted in (a.lower() for a in option.aliases):
                return option
        return None

    def text(
        self,
        prompt: str,
        default: str | None,
        check: Callable[[str], tuple[Any, str | None]],
    ) -> tuple[Any, bool]:
        """Free text; `check` turns the answer into a value or explains what is wrong.
        Returns the value and whether it was typed (False: Enter took the default)."""
        while True:
            text = self._line(f"{prompt} [{default}]:" if default else f"{prompt}:")
            typed = bool(text)
            if not text:
                if default is None:
                    self.problem("an answer is needed here (q quits)")
                    continue
                text = default
            value, problem = check(text)
            if problem:
                self.problem(problem)
                continue
            if not typed:
                self._took_default(text)
            return value, typed

    def confirm(self, prompt: str, default: bool = False, back: bool = False) -> bool:
        """Every yes/no question of the tool (wizard, launch, teardown) asks through here:
        y/yes or n/no in any case, Enter takes the default (shown in capitals, and said back),
        `<` goes back when `back`, anything else is explained and asked again."""
        choices = "[Y/n]" if default else "[y/N]"
        while True:
            text = self._line(f"{prompt} {choices}:", back=back).lower()
            if text in YES:
                return True
            if text in NO:
                return False
            if not text:
                self._took_default(YES[1] if default else NO[1])
                return default
            self.problem(
                f"'{text}': answer y to go ahead or n to stop (yes/no too; Enter: "
                f"{YES[1] if default else NO[1]})" + (", < goes back" if back else "") + ", q quits"
            )
