"""The command line behaves like the AWS CLI where it borrows its words (issue 14 point 4):
`--profile NAME` is the named AWS profile, and no flag is an abbreviation of another."""

from __future__ import annotations

import json

import pytest

from amazonei_setup.cli.main import parse_args


@pytest.mark.parametrize("flag", ["--profile", "--aws-profile"])
@pytest.mark.parametrize("command", ["plan", "launch", "status", "teardown", "sweep"])
def test_profile_is_the_named_aws_profile_never_the_profile_file(command, flag):
    args = parse_args([command, flag, "dev"])
    assert args.aws_profile == "dev"
    assert getattr(args, "profile_file", None) is None


@pytest.mark.parametrize("abbreviation", ["--profile-f", "--dry", "--instance", "--seat"])
def test_abbreviated_flags_are_refused_not_guessed(abbreviation, capsys):
    with pytest.raises(SystemExit) as exited:
        parse_args(["launch", abbreviation, "x"])
    assert exited.value.code == 2
    assert f"unrecognized arguments: {abbreviation}" in capsys.readouterr().err


def test_without_region_every_command_takes_it_as_the_aws_cli_does(
    aws, run_cli, recorder, monkeypatch
):
    """Issue 14 point 3: --region, else AWS_REGION / AWS_DEFAULT_REGION, else the profile's."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    flags = ("--name", "demo", "--instance-type", "m5.large", "--accelerator", "none")
    planned = run_cli("plan", *flags, "--output", "json")
    assert planned.code == 0, planned.err
    assert json.loads(planned.out)["region"] == "us-west-2"
    monkeypatch.setenv("AWS_REGION", "us-west-2")  # AWS_REGION first, as botocore reads it
    launched = run_cli("launch", *flags, "--yes", "--no-wait")
    assert launched.code == 0, launched.err
    (run_cli.home / "deployments" / "us-west-2" / "demo.json").unlink()  # the record is lost
    swept = run_cli("sweep", "--output", "json")
    assert swept.code == 0, swept.err
    assert "demo" in swept.out  # found in the default region by its tags
    removed = run_cli("teardown", "demo", "--yes")  # no record, no --region: found by its tags
    assert removed.code == 0, removed.err
    assert "removed or released" in " ".join(removed.out.split())


def test_without_any_region_the_error_still_names_the_flag(run_cli, monkeypatch):
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(variable, raising=False)
    result = run_cli("plan", "--name", "demo", "--instance-type", "m5.large")
    assert result.code == 2 and "region (--region)" in result.err
