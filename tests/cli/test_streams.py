"""What goes where, as in the AWS CLI: a command's result on stdout (so `status > f` and
`sweep | grep` work), progress, prompts and errors on stderr; `--quiet` and `--debug`; and every
printed follow-up command works when pasted."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import boto3
from botocore.awsrequest import AWSResponse
from support import nothing_left

from amazonei_setup.cli.followup import program_words
from amazonei_setup.cli.main import main

REPO = Path(__file__).resolve().parents[2]
PROFILES = REPO / "templates" / "profiles"
EIA = str(PROFILES / "eia-workshop.yaml")
NAME = "eia-workshop"
REGION = "us-west-2"
SECRET = "wJalrXUtnFEMI-K7MDENG-never-to-be-printed"


def test_status_redirected_to_a_file_holds_the_table_and_stderr_no_result(aws, run_cli, tmp_path):
    assert run_cli("launch", "--yes", "--no-wait", "--profile-file", EIA).code == 0
    result = run_cli("status")
    assert result.code == 0, result.err
    saved = tmp_path / "status.txt"  # what `status > status.txt` leaves in the file
    saved.write_text(result.out)
    text = saved.read_text()
    assert "Deployments" in text and NAME in text and "m5.large + eia1.large" in text
    assert "\x1b[" not in text  # no colour codes in a file
    assert NAME not in result.err and "Deployments" not in result.err


def test_a_redirected_result_folds_no_id_or_command_even_when_narrow(aws, run_cli, monkeypatch):
    launched = run_cli("launch", "--yes", "--no-wait", "--output", "json", "--profile-file", EIA)
    [instance] = json.loads(launched.out)["instances"]
    monkeypatch.setenv("COLUMNS", "40")
    result = run_cli("status", NAME)
    assert result.code == 0, result.err
    assert instance["id"] in result.out.split()  # whole, in its cell
    assert instance["connect"] in result.out  # the command on one line


def test_sweep_output_greps_by_line_and_its_printed_delete_command_works(aws, run_cli, hooks):
    assert run_cli("launch", "--yes", "--no-wait", "--profile-file", EIA).code == 0
    (run_cli.home / "deployments" / REGION / f"{NAME}.json").unlink()  # an orphan now
    result = run_cli("sweep", "--region", REGION)
    assert result.code == 0, result.err
    assert NAME not in result.err
    matches = [line for line in result.out.splitlines() if NAME in line]  # `sweep | grep NAME`
    assert len(matches) == 1 and REGION in matches[0] and "1 instance" in matches[0]
    [hint] = [line for line in result.out.splitlines() if "sweep --delete" in line]
    command = hint.split("`")[1]
    assert command == f"amazonei-setup --home {run_cli.home} sweep --delete --region {REGION}"
    words = shlex.split(command)  # pasted; in-process: the same argv a shell would pass
    assert main([*words[1:], "--yes"], hooks) == 0
    assert nothing_left(NAME, run_cli.home)


def test_plan_and_teardown_dry_run_are_results_on_stdout(aws, run_cli):
    plan = run_cli("plan", "--profile-file", EIA)
    assert plan.code == 0 and f"Plan for '{NAME}'" in plan.out and "Plan for" not in plan.err
    assert run_cli("launch", "--yes", "--no-wait", "--profile-file", EIA).code == 0
    dry = run_cli("teardown", NAME, "--dry-run")
    assert dry.code == 0 and f"Teardown of '{NAME}'" in dry.out
    assert "Teardown of" not in dry.err and "Dry run: nothing was changed." in dry.err


def test_launch_json_keeps_stdout_to_the_document(aws, run_cli):
    result = run_cli("launch", "--yes", "--no-wait", "--output", "json", "--profile-file", EIA)
    assert result.code == 0, result.err
    assert json.loads(result.out)["deployment"] == NAME  # nothing else on stdout


def test_quiet_launch_prints_the_result_and_errors_but_no_progress(aws, run_cli, recorder):
    result = run_cli("--quiet", "launch", "--yes", "--no-wait", "--profile-file", EIA)
    assert result.code == 0, result.err
    assert result.err == ""  # no plan, no "… create", no "✓ created"
    assert f"'{NAME}' is running in {REGION}" in " ".join(result.out.split())
    assert f"teardown {NAME} --region {REGION}" in result.out
    recorder.fail("TerminateInstances", "UnauthorizedOperation", "not you")
    failed = run_cli("teardown", NAME, "--yes", "-q")
    assert failed.code == 1
    assert failed.err.startswith("error: ") and "not allowed" in failed.err
    assert "… terminate" not in failed.err and "Teardown of" not in failed.err


def _refusing_session(target):
    """A session with credentials that must never show, whose CreateSecurityGroup is refused
    the way EC2 refuses it (an HTTP 403 the client parses)."""
    session = boto3.Session(
        region_name=target.region, aws_access_key_id="AKIADEBUGTEST", aws_secret_access_key=SECRET
    )

    def refuse(model, **_):
        if model.name != "CreateSecurityGroup":
            return None
        response = AWSResponse("https://ec2.amazonaws.com", 403, {}, None)
        error = {"Code": "UnauthorizedOperation", "Message": "You are not authorized"}
        return response, {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 403}}

    session.events.register("before-call.ec2.CreateSecurityGroup", refuse)
    return session


def test_debug_logs_every_aws_call_with_its_error_code_and_no_secret(aws, run_cli, hooks):
    hooks.session_factory = _refusing_session
    result = run_cli("--debug", "launch", "--yes", "--no-wait", "--profile-file", EIA)
    assert result.code == 1
    lines = [line for line in result.err.splitlines() if line.startswith("debug: aws ")]
    assert "debug: aws sts GetCallerIdentity us-west-2 " in "\n".join(lines)
    for line in lines:  # service, operation, region, milliseconds, retries
        service, operation, region, ms, unit, retries = line.split()[2:8]
        assert service in ("ec2", "iam", "ssm", "sts") and operation[0].isupper()
        assert region == REGION and ms.isdigit() and unit == "ms"
        assert retries.startswith("retries=")
    [refused] = [line for line in lines if " CreateSecurityGroup " in line]
    assert refused.endswith("error=UnauthorizedOperation")
    assert SECRET not in result.err + result.out and "AKIADEBUGTEST" not in result.err
    assert "GroupName" not in result.err  # no request parameters


def test_exists_elsewhere_refusal_says_nothing_was_created(aws, run_cli, hooks, tmp_path, capsys):
    assert run_cli("launch", "--yes", "--no-wait", "--profile-file", EIA).code == 0
    other = tmp_path / "other-home"
    capsys.readouterr()
    code = main(["--home", str(other), "launch", "--yes", "--profile-file", EIA], hooks)
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert "nothing was created" in err and "what was created is recorded" not in err
    assert f"amazonei-setup --home {other} teardown {NAME} --region {REGION}" in err


def test_followup_commands_name_the_program_as_invoked(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing of ours on PATH
    assert program_words(".venv/bin/amazonei-setup") == [".venv/bin/amazonei-setup"]
    main_py = str(REPO / "amazonei_setup" / "__main__.py")
    python = str(tmp_path / "python3")
    assert program_words(main_py, python) == [python, "-m", "amazonei_setup"]
    assert program_words("/usr/lib/python3/site-packages/pytest/__main__.py") == ["amazonei-setup"]
    script = tmp_path / "amazonei-setup"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert program_words(str(script)) == ["amazonei-setup"]  # PATH finds this very file


def test_spinner_only_when_stderr_is_a_terminal_and_not_quiet(capsys):
    from rich.console import Console
    from rich.status import Status

    from amazonei_setup.cli.console import Terminal

    terminal = Terminal("text")
    with terminal.status("waiting for the endpoint …") as shown:  # stderr is captured: no tty
        shown.update("still waiting")
    assert capsys.readouterr().err == ""
    terminal.err = Console(stderr=True, force_terminal=True)
    assert isinstance(terminal.status("waiting"), Status)
    terminal.quiet = True
    assert not isinstance(terminal.status("waiting"), Status)
