"""Every yes/no question asks the same way (Asker.confirm): the wizard's review, `launch` with
all its flags on a terminal, and `teardown`: `[y/N]`, y/yes/n/no in any case, anything else
explained and asked again, Enter takes the default and says which. At the wizard's review `<`
goes back to the last question. Answers are typed through prompt_toolkit's pipe input, on
in-process moto."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from wizard_fakes import asker, state, told

from amazonei_setup.cli.main import Hooks, main
from amazonei_setup.cli.wizard.prompts import Back

ENTER = ""
TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "profiles"
INF1_PROFILE = str(TEMPLATES / "inf1-ssm.yaml")


# ---------------------------------------------------------------------------------------------
# The one function


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("y", True), ("YES", True), ("Yes", True), ("n", False), ("No", False), ("NO", False)],
)
def test_yes_and_no_in_any_case_are_taken(tmp_path, typed, meant):
    st = state(tmp_path)
    person, typist = asker(st, [typed])
    assert person.confirm("Go ahead?") is meant
    assert typist.prompts == ["Go ahead? [y/N]:"]


def test_anything_else_is_explained_and_asked_again(tmp_path):
    st = state(tmp_path)
    person, typist = asker(st, ["maybe", "ja", "y"])
    assert person.confirm("Go ahead?") is True
    assert len(typist.prompts) == 3
    assert "'maybe': answer y to go ahead or n to stop" in told(st)


@pytest.mark.parametrize(
    ("default", "shown", "said"), [(False, "[y/N]", "no"), (True, "[Y/n]", "yes")]
)
def test_enter_takes_the_default_shown_in_capitals_and_says_it(tmp_path, default, shown, said):
    st = state(tmp_path)
    person, typist = asker(st, [ENTER])
    assert person.confirm("Go ahead?", default=default) is default
    assert typist.prompts == [f"Go ahead? {shown}:"]
    assert f"→ {said} (default)" in told(st)


def test_back_is_an_answer_only_where_there_is_a_question_before(tmp_path):
    st = state(tmp_path)
    person, _ = asker(st, ["<"])
    with pytest.raises(Back):
        person.confirm("Go ahead?", back=True)
    person, _ = asker(st, ["<", "n"])
    assert person.confirm("Go ahead?") is False
    assert "'<': answer y to go ahead" in told(st)


# ---------------------------------------------------------------------------------------------
# Through the commands, on a terminal


@pytest.fixture
def typed(recorder, clock, tmp_path, capsys, monkeypatch):
    """Run the CLI on a terminal with `answers` typed at its prompts."""
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    hooks = Hooks(
        session_factory=recorder.session_factory,
        ip_lookup=lambda target: "198.51.100.7",
        sleep=clock.sleep,
        clock=clock,
        stdin_is_tty=lambda: True,
    )

    def run(answers: list[str], *argv: str) -> tuple[int, str, list[str]]:
        capsys.readouterr()
        with create_pipe_input() as pipe:
            pipe.send_text("".join(answer + "\r" for answer in answers))
            pipe.close()
            with create_app_session(input=pipe, output=DummyOutput()):
                code = main(["--home", str(tmp_path / "home"), *argv], hooks)
        captured = capsys.readouterr()
        text = captured.out + captured.err
        return code, text, [line[2:] for line in text.splitlines() if line.startswith("? ")]

    return run


def instances() -> list[dict]:
    reservations = boto3.client("ec2", region_name="us-west-2").describe_instances()
    return [
        i
        for r in reservations["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] != "terminated"
    ]


def test_launch_with_every_flag_asks_as_the_wizard_does(aws, typed, recorder):
    code, text, asked = typed(["perhaps", "No"], "launch", "--profile-file", INF1_PROFILE)

    assert code == 0, text
    assert asked == ["Create these resources? [y/N]: perhaps", "Create these resources? [y/N]: No"]
    assert "'perhaps': answer y to go ahead" in text
    assert "Nothing was created." in text
    assert recorder.operations(mutating_only=True) == []


def test_teardown_asks_the_same_way_and_enter_keeps_everything(aws, typed):
    code, text, _ = typed([], "launch", "--yes", "--no-wait", "--profile-file", INF1_PROFILE)
    assert code == 0, text
    assert len(instances()) == 1

    code, text, asked = typed([ENTER], "teardown", "inf1-demo")
    assert code == 0, text
    assert asked[-1].rstrip() == "Tear down 5 resources of 1 deployment? [y/N]:"
    assert "→ no (default)" in text and "Nothing was changed." in text
    assert len(instances()) == 1

    code, text, asked = typed(["sure", "YES"], "teardown", "inf1-demo")
    assert code == 0, text
    assert "'sure': answer y to go ahead" in text
    assert instances() == []


def test_back_at_the_review_asks_the_last_question_again(aws, typed):
    answers = ["inferentia", ENTER, ENTER, ENTER, ENTER, "ssm", ENTER, ENTER]
    code, text, asked = typed(
        [*answers, "<", "team=ml", "y"], "launch", "--region", "us-west-2", "--no-wait"
    )

    assert code == 0, text
    questions = [line.split(" [")[0].split(":")[0] for line in asked]
    assert questions[-4:] == ["Tags", "Create these resources?", "Tags", "Create these resources?"]
    [instance] = instances()
    assert {"Key": "team", "Value": "ml"} in instance["Tags"]
    assert text.count("Review") == 2  # the plan is shown again with the new answer
