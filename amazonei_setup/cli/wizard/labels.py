"""The naming questions: the deployment's name (a free one suggested from the hardware) and
the tags put on every resource."""

from __future__ import annotations

import re

from amazonei_setup.cli.wizard.prompts import Answer
from amazonei_setup.cli.wizard.provenance import Origin
from amazonei_setup.cli.wizard.questions import Checked, Field, Line, Question, State
from amazonei_setup.errors import InputError
from amazonei_setup.spec.inputs import parse_tags


def _name_prefix(state: State) -> str:
    if state.has_eia():
        return "eia"
    family = state.sheet.family
    if family is not None and family.default_name:
        return family.default_name
    spec = state.catalog.instance(state.instance_type)
    if spec is None or spec.kind == "cpu":
        return "cpu"
    return spec.family


def default_name(state: State) -> str:
    """'<hardware>-demo', numbered past the names already recorded in this region."""
    base = f"{_name_prefix(state)}-demo"
    name = base
    for number in range(2, 100):
        if not state.aws.recorded(state.region, name):
            break
        name = f"{base}-{number}"
    return name


def _show_name(state: State) -> Field:
    note = "Names every resource (a-z, 0-9, '-'); teardown uses it to remove them all."
    return Field("Deployment name", default_name(state), note)


def _check_name(state: State, text: str) -> Checked:
    if text == default_name(state):  # derived from a valid pattern: no need to ask the validator
        return text, None
    return text, state.sheet.problem(("name",), text, state.catalog)


def _record_name(state: State, answer: Answer) -> tuple[Line, ...]:
    state.sheet.take(("name",), answer)
    if not state.aws.recorded(state.region, answer.value):
        return ()
    resumes = f"'{answer.value}' exists in {state.region}: launching resumes it (the plan shows "
    return (Line(resumes + "what changes).", "yellow"),)


def _show_tags(state: State) -> Field:
    return Field("Tags", "none", "Added to every resource, e.g. team=ml, workshop=reinvent.")


def _check_tags(state: State, text: str) -> Checked:
    if text.lower() == "none":
        return {}, None
    try:
        tags = parse_tags([p for p in re.split(r"[,\s]+", text) if p])
    except InputError as exc:
        return {}, exc.message.replace("--tag ", "") + " (e.g. team=ml)"
    return tags, state.sheet.problem(("tags",), tags, state.catalog)


def _record_tags(state: State, answer: Answer) -> tuple[Line, ...]:
    if answer.value:
        state.sheet.set(("tags",), answer.value, Origin("answer"))
    return ()


NAME = Question(
    "name", "Deployment name", (("name",),), _show_name, _record_name, validate=_check_name
)
TAGS = Question("tags", "Tags", (("tags",),), _show_tags, _record_tags, validate=_check_tags)
