"""What a question is: a small typed object that says when it applies, what it shows (a list
to choose from, a text field, or nothing to ask), how a typed answer is validated, and how the
accepted answer is written on the sheet. The flow walks a tuple of them; it knows no question
by name.

The callables take the wizard's `State` and return values; none of them prints or prompts, so
each can be tested on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from amazonei_setup.cli.wizard.context import WizardContext
from amazonei_setup.cli.wizard.lookups import Reads
from amazonei_setup.cli.wizard.prompts import Answer, Option
from amazonei_setup.cli.wizard.sheet import Sheet
from amazonei_setup.spec.catalog import Catalog

Path = tuple[str, ...]


@dataclass
class State:
    """What the questions read: the sheet so far, the catalog, AWS (read-only, remembered)."""

    sheet: Sheet
    catalog: Catalog
    aws: Reads
    ctx: WizardContext

    @property
    def region(self) -> str:
        return str(self.sheet.get(("region",)))

    @property
    def instance_type(self) -> str:
        return str(self.sheet.get(("instance_type",)))

    def has_eia(self) -> bool:
        """Will an Elastic Inference accelerator be attached (as the profile stands)?"""
        accelerator = self.sheet.get(("accelerator",))
        if accelerator is None:  # the profile's default for hosts that take one
            return self.catalog.accepts_accelerator(self.instance_type)
        return str(accelerator).lower() != "none"


@dataclass(frozen=True)
class Line:
    """A line to tell the person (a note, a warning)."""

    text: str
    style: str = ""


@dataclass(frozen=True)
class Menu:
    """A numbered list to choose from; an index, a value or an alias answers it."""

    title: str  # the heading ('' for a follow-up question under the previous heading)
    options: tuple[Option, ...]
    default: str | None
    note: str = ""
    headers: tuple[str, ...] = ()
    before: tuple[Line, ...] = ()  # said before the heading


@dataclass(frozen=True)
class Field:
    """Free text, checked by the question's `validate`."""

    title: str
    default: str | None
    note: str = ""
    before: tuple[Line, ...] = ()


def _nothing(sheet: Sheet) -> None:
    return None


@dataclass(frozen=True)
class Settled:
    """Nothing to ask: the answer follows from what is known. `then` writes it on the sheet."""

    title: str = ""
    lines: tuple[Line, ...] = ()
    then: Callable[[Sheet], None] = _nothing


Shown = Menu | Field | Settled
Checked = tuple[Any, str | None]  # (the value, what is wrong with it or None)


class Revisit(Exception):
    """Ask the earlier question `key` again (e.g. the VPC, when none of its subnets can run
    the chosen type), saying `problem` first."""

    def __init__(self, key: str, problem: str):
        super().__init__(problem)
        self.key = key
        self.problem = problem


def always(state: State) -> bool:
    return True


def accept(state: State, text: str) -> Checked:
    return text, None


def record_nothing(state: State, answer: Answer) -> tuple[Line, ...]:
    return ()


@dataclass(frozen=True)
class Question:
    key: str
    prompt: str  # the words before the [default]
    decides: tuple[Path, ...]  # the profile fields it fills
    show: Callable[[State], Shown]
    record: Callable[[State, Answer], tuple[Line, ...]] = record_nothing
    validate: Callable[[State, str], Checked] = accept  # a Field's answer; a Menu's are its options
    applies: Callable[[State], bool] = always
    skip_when_fixed: tuple[Path, ...] | None = None  # None: skipped when what it decides is fixed

    @property
    def skipped_by(self) -> tuple[Path, ...]:
        return self.decides if self.skip_when_fixed is None else self.skip_when_fixed

    def wanted(self, state: State) -> bool:
        """Asked (or settled) now: nothing that would skip it is fixed, and it applies."""
        if any(state.sheet.fixed(path) for path in self.skipped_by):
            return False
        return self.applies(state)
