"""The command line behaves like the AWS CLI where it borrows its words (issue 14 point 4):
`--profile NAME` is the named AWS profile, and no flag is an abbreviation of another."""

from __future__ import annotations

import pytest

from amazonei_setup.cli import parse_args


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
