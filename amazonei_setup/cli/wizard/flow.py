"""The wizard's walk: the questions in order, each asked only while the flags and the profile
file leave it open, `<` going back one question, ending in a validated Profile with where each
value came from.

It knows no question by name: each one (hardware.py, network.py, access.py, labels.py) says
when it applies, what it shows, how an answer is checked and written on the sheet. Choices come
from read-only lookups; values are checked by profile.validate_profile; launch does the plan →
confirm → apply.
"""

from __future__ import annotations

from collections.abc import Sequence

from amazonei_setup.cli.wizard import access, hardware, labels, network
from amazonei_setup.cli.wizard.context import WizardContext
from amazonei_setup.cli.wizard.keys import imported_key_name
from amazonei_setup.cli.wizard.lookups import Lookups
from amazonei_setup.cli.wizard.prompts import Answer, Asker, Back
from amazonei_setup.cli.wizard.provenance import REVIEWED, Origin, dotted, show_value
from amazonei_setup.cli.wizard.questions import Line, Menu, Question, Revisit, Settled, State
from amazonei_setup.cli.wizard.result import KeyImport, WizardResult
from amazonei_setup.cli.wizard.sheet import Sheet
from amazonei_setup.errors import InputError
from amazonei_setup.spec.catalog import Catalog, load_catalog
from amazonei_setup.spec.inputs import ProfileInputs

# hardware → OS → network → access → name → tags; the review follows in launch.
QUESTIONS: tuple[Question, ...] = (
    hardware.REGION,
    hardware.ACCOUNT,
    hardware.FAMILY,
    hardware.SIZE,
    hardware.ACCELERATOR,
    hardware.OS,
    network.VPC,
    network.SUBNET,
    access.ACCESS,
    access.EXISTING_KEY,
    access.PUBLIC_KEY,
    access.SSH_SOURCE,
    labels.NAME,
    labels.TAGS,
)
ANSWER_LABEL = "your answer"  # how validate_profile names an answered field in its messages
FIRST_QUESTION = "this is the first question: there is none before it"


def _say(asker: Asker, lines: Sequence[Line]) -> None:
    for line in lines:
        asker.say(line.text, line.style)


def ask(state: State, asker: Asker, question: Question) -> bool:
    """Show one question and write the accepted answer on the sheet; False when there was
    nothing to ask (it does not apply, a flag or the file fixed it, or it settled itself)."""
    if not question.wanted(state):
        return False
    shown = question.show(state)
    if isinstance(shown, Settled):
        if shown.title:
            asker.heading(shown.title)
        _say(asker, shown.lines)
        shown.then(state.sheet)
        return False
    _say(asker, shown.before)
    if shown.title:
        asker.heading(shown.title, shown.note)
    if isinstance(shown, Menu):
        answer = asker.choose(question.prompt, shown.options, shown.default, shown.headers)
    else:
        value, typed = asker.text(
            question.prompt, shown.default, lambda text: question.validate(state, text)
        )
        answer = Answer(value, typed)
    _say(asker, question.record(state, answer))
    return True


Asked = list[tuple[int, Sheet]]  # (question index, the sheet before it), oldest first


def walk(
    state: State,
    asker: Asker,
    questions: Sequence[Question] = QUESTIONS,
    asked: Asked | None = None,
    index: int = 0,
) -> None:
    """Ask each question in turn from `index`. The sheet is copied before every question
    asked (into `asked`), so `<` (and a Revisit) put the copy back and ask the earlier
    question again; the review's `<` resumes a finished walk the same way (`back_one`)."""
    asked = [] if asked is None else asked
    while index < len(questions):
        before = state.sheet.copy()
        try:
            was_asked = ask(state, asker, questions[index])
        except Back:
            state.sheet = before
            if not asked:
                asker.problem(FIRST_QUESTION)
                continue
            index, state.sheet = asked.pop()
            continue
        except Revisit as revisit:
            state.sheet = before
            while asked and questions[asked[-1][0]].key != revisit.key:
                asked.pop()
            if not asked:
                raise InputError(revisit.problem, "choose another VPC or instance type") from None
            asker.problem(revisit.problem)
            index, state.sheet = asked.pop()
            continue
        if was_asked:
            asked.append((index, before))
        index += 1


def _introduce(asker: Asker, sheet: Sheet) -> None:
    asker.say("amazonei-setup: launch wizard", "bold")
    asker.say("Answer with a number or a name; Enter takes the [default]; < goes back; q quits.")
    asker.say("Nothing is created before you confirm the plan at the end.")
    fixed = []
    for path in REVIEWED:
        if sheet.fixed(path):
            origin = sheet.origin(path)
            value = show_value(path, sheet.get(path))
            fixed.append(f"{dotted(path)}={value} ({origin.detail or origin.kind})")
    if fixed:
        asker.say("Already chosen: " + ", ".join(fixed), "dim")


def back_one(state: State, asker: Asker, asked: Asked) -> WizardResult:
    """`<` at the review: the last question asked again (its answer forgotten), the walk
    going on from there as before, and a new result to review."""
    index, state.sheet = asked.pop()
    walk(state, asker, QUESTIONS, asked, index)
    return _finish(state, asker, asked)


def _finish(state: State, asker: Asker, asked: Asked) -> WizardResult:
    """The answers as a validated Profile; a public key file named as its key pair."""
    from amazonei_setup.spec.profile_checks import merge_documents, validate_profile

    sheet, inputs = state.sheet, state.sheet.inputs
    if sheet.key_file is not None:
        name = imported_key_name(str(sheet.get(("name",))))
        sheet.set(access.KEY_PAIR, name, Origin("answer", f"import of {sheet.key_file.path}"))
    answer_paths = dict.fromkeys(sheet.origins, ANSWER_LABEL)
    profile = validate_profile(
        inputs.source,
        merge_documents(sheet.answers, inputs.overrides),
        {**answer_paths, **inputs.flag_paths},
        catalog=state.catalog,
    )
    key_import = None
    if sheet.key_file is not None:
        name = profile.access.key_pair
        exists = state.aws.key_pair_exists(profile.region, name)
        key_import = KeyImport(sheet.key_file, name, exists)
        if exists:
            asker.say(f"Key pair {name} exists already (an earlier import): it is used as it is.")
    back = (lambda: back_one(state, asker, asked)) if asked else None
    return WizardResult(profile, inputs, dict(sheet.origins), key_import, asker, back)


def run_wizard(
    ctx: WizardContext,
    inputs: ProfileInputs,
    asker: Asker | None = None,
    catalog: Catalog | None = None,
) -> WizardResult:
    """Ask for what is missing; raises prompts.Quit when the person leaves."""
    if asker is None:
        from amazonei_setup.cli.wizard.prompts import terminal_prompter

        asker = Asker(ctx.console, terminal_prompter(ctx.console))
    catalog = catalog or load_catalog()
    state = State(Sheet(inputs), catalog, Lookups(ctx, catalog), ctx)
    _introduce(asker, state.sheet)
    asked: Asked = []
    walk(state, asker, QUESTIONS, asked)
    return _finish(state, asker, asked)
