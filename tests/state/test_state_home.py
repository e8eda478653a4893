"""The state home and the flags that name places (issue 15 points 11 and 15): exit 2 with the
reason, never an internal error, and no mode changed on what the tool did not create."""

from __future__ import annotations

import stat

from amazonei_setup.cli.main import main


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, " ".join(capsys.readouterr().err.split())


def test_a_home_others_can_write_is_refused_and_left_as_it_was(tmp_path, capsys):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp
    code, err = run(capsys, "--home", str(shared), "status")
    assert code == 2 and "others can write to the state home" in err
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777  # not chmodded to 0700


def test_an_existing_home_keeps_its_mode_and_a_new_one_is_private(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o755)
    mine.chmod(0o755)
    assert run(capsys, "--home", str(mine), "status")[0] == 0
    assert stat.S_IMODE(mine.stat().st_mode) == 0o755
    new = tmp_path / "new" / "home"
    assert run(capsys, "--home", str(new), "status")[0] == 0
    assert stat.S_IMODE(new.stat().st_mode) == stat.S_IMODE(new.parent.stat().st_mode) == 0o700


def test_places_that_cannot_be_are_usage_errors_not_bugs(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("")
    home = str(tmp_path / "home")
    plan = ("plan", "--name", "d", "--region", "us-west-2", "--instance-type", "m5.large")
    cases = [
        (("--home", str(afile), "status"), "is not a folder"),
        (("--home", home, "--endpoint-url", "htp:/bad", *plan), "is not an endpoint URL"),
        (("--home", home, "--profile", "nosuch", *plan), "no AWS profile named 'nosuch'"),
        (("--home", home, "launch", *plan[1:], "--save-profile", str(tmp_path)), "is a folder"),
    ]
    for argv, message in cases:
        code, err = run(capsys, *argv)
        assert (code, message in err, "internal error" in err) == (2, True, False), argv
