"""`connect NAME [--seat N] [--print]`: the seat's ssh or Session Manager command, run in place
of this process (here a recording stand-in for os.execvp), printed with --print, and only shown
(marked simulated) for the sandbox's instances. The first test launches on in-process moto and
connects from the record that launch wrote; the rest read records written here."""

from __future__ import annotations

import json
import os
import shlex
import stat
from pathlib import Path

import pytest

from amazonei_setup.cli.main import Hooks, main
from amazonei_setup.state.ledger import Ledger, new_record
from amazonei_setup.state.record import RecordedInstance, RecordedResource

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "profiles"
EIA_PROFILE = str(TEMPLATES / "eia-workshop.yaml")


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "my home" / "state"  # a space: quoted paths must survive


@pytest.fixture
def execs(hooks: Hooks) -> list[list[str]]:
    """The argv each os.execvp would have been given."""
    ran: list[list[str]] = []
    hooks.replace_process = ran.append
    return ran


@pytest.fixture
def programs(tmp_path, monkeypatch) -> Path:
    """A PATH holding only stand-ins for ssh and aws (nothing here ever runs them)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in ("ssh", "aws"):
        program = folder / name
        program.write_text("#!/bin/sh\nexit 99\n")
        program.chmod(stat.S_IRWXU)
    monkeypatch.setenv("PATH", str(folder))
    return folder


@pytest.fixture
def cli(hooks, home, capsys):
    def run(*argv: str):
        capsys.readouterr()
        code = main(["--home", str(home), *argv], hooks)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def write_record(
    home: Path,
    name: str = "demo",
    mode: str = "ssh",
    seats: int = 2,
    endpoint_url: str | None = None,
    key_pair: str = "create",
) -> None:
    profile = {"name": name, "region": "us-west-2", "os": "ubuntu", "access": {"mode": mode}}
    profile["access"]["key_pair"] = key_pair
    record = new_record(name, "us-west-2", profile, endpoint_url, "2026-11-30T12:00:00+00:00")
    record.status = "ready"
    for seat in range(1, seats + 1):
        record.instances.append(
            RecordedInstance(
                id=f"i-0000000000000000{seat}",
                seat=seat,
                state="running",
                public_dns=f"ec2-198-51-100-{seat}.us-west-2.compute.amazonaws.com",
            )
        )
        if mode == "ssh" and key_pair == "create":
            record.resources[f"key_pair:{seat}"] = RecordedResource(
                kind="key-pair",
                name=f"amazonei-setup-{name}.seat{seat}",
                id=f"key-{seat}",
                action="created",
                owned=True,
                private_key=str(home / "keys" / f"seat {seat}.pem"),
                seat=seat,
            )
    ledger = Ledger(home)
    with ledger.edit("us-west-2", name, "a test") as edit:
        edit.record = record
        edit.save()
    for seat in range(1, seats + 1):
        key = home / "keys" / f"seat {seat}.pem"
        key.parent.mkdir(parents=True, exist_ok=True)
        key.write_text("not a key")


def test_connect_runs_the_seats_ssh_command_from_the_launch_record(
    aws, hooks, home, execs, programs, cli
):
    code, out, err = cli(
        "launch", "--yes", "--no-wait", "--output", "json", "--profile-file", EIA_PROFILE,
        "--seats", "2",
    )  # fmt: skip
    assert code == 0, err
    launched = {i["seat"]: i for i in json.loads(out)["instances"]}
    key_file = json.loads(out)["resources"]["key_pair:2"]["private_key"]
    assert " " in key_file  # under "my home"

    code, out, err = cli("connect", "eia-workshop", "--seat", "2")

    assert code == 0, err
    host = launched[2]["public_dns"] or launched[2]["public_ip"]
    expected = ["ssh", "-i", key_file, "-o", "IdentitiesOnly=yes", f"ec2-user@{host}"]
    assert execs == [expected]
    # The launch summary (and so the record and the handout) printed the same command, quoted.
    assert shlex.split(launched[2]["connect"]) == expected
    assert f"connecting: {shlex.join(expected)}" in err


def test_print_writes_the_command_on_stdout_and_runs_nothing(hooks, home, execs, cli):
    write_record(home)
    code, out, err = cli("connect", "demo", "--print")  # default seat 1

    assert code == 0, err
    key = str(home / "keys" / "seat 1.pem")
    host = "ec2-198-51-100-1.us-west-2.compute.amazonaws.com"
    assert shlex.split(out) == ["ssh", "-i", key, "-o", "IdentitiesOnly=yes", f"ubuntu@{host}"]
    assert f"'{key}'" in out  # quoted once, for a POSIX shell
    assert execs == []


def test_ssm_access_starts_a_session_with_region_and_profile(home, execs, programs, cli):
    write_record(home, mode="ssm", seats=1)
    code, _, err = cli("connect", "demo", "--profile", "work")

    assert code == 0, err
    assert execs == [
        [
            "aws", "ssm", "start-session", "--target", "i-00000000000000001",
            "--region", "us-west-2", "--profile", "work",
        ]
    ]  # fmt: skip


def test_a_seat_that_does_not_exist_is_refused_with_the_seats(home, execs, programs, cli):
    write_record(home, seats=2)
    code, out, err = cli("connect", "demo", "--seat", "3")

    assert code == 2 and out == "" and execs == []
    assert "'demo' has no seat 3" in err
    assert "its seats: 1, 2" in err
    assert "Traceback" not in err


def test_a_deployment_without_a_record_is_refused_with_a_near_name(home, execs, cli):
    write_record(home, name="demo")
    code, _, err = cli("connect", "dmeo")

    assert code == 2 and execs == []
    assert "no deployment named 'dmeo' is recorded" in err
    assert "Did you mean 'demo'?" in err and "status` lists them" in err


@pytest.mark.parametrize(("mode", "program", "install"), [
    ("ssh", "ssh", "OpenSSH client"),
    ("ssm", "aws", "AWS CLI v2"),
])  # fmt: skip
def test_a_missing_program_is_named_with_how_to_install_it(
    home, execs, tmp_path, monkeypatch, cli, mode, program, install
):
    write_record(home, mode=mode, seats=1)
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    code, _, err = cli("connect", "demo")

    assert code == 2 and execs == []
    assert f"`{program}` is not on your PATH" in err
    assert install in err and "--print" in err


def test_a_deleted_private_key_is_named_before_ssh_runs(home, execs, programs, cli):
    write_record(home, seats=1)
    os.remove(home / "keys" / "seat 1.pem")
    code, _, err = cli("connect", "demo")

    assert code == 2 and execs == []
    assert f"the private key {home / 'keys' / 'seat 1.pem'} is missing" in err


def test_the_users_own_key_pair_lets_ssh_choose_the_key_and_says_so(home, execs, programs, cli):
    write_record(home, seats=1, key_pair="mine")
    code, _, err = cli("connect", "demo")

    assert code == 0, err
    assert execs == [["ssh", "ubuntu@ec2-198-51-100-1.us-west-2.compute.amazonaws.com"]]
    assert "key pair mine is yours" in err


def test_sandbox_instances_are_simulated_so_nothing_runs(home, execs, programs, cli, monkeypatch):
    from amazonei_sandbox import control

    endpoint = "http://127.0.0.1:45999"
    running = control.SandboxInfo(endpoint, 45999, 1, True, None)
    monkeypatch.setattr(control, "status", lambda _home: running)  # its sandbox still runs
    write_record(home, mode="ssm", seats=1, endpoint_url=endpoint)
    code, out, err = cli("connect", "demo")

    assert code == 0 and execs == []
    assert shlex.split(out)[-2:] == ["--endpoint-url", endpoint]
    assert "simulated" in err and "nothing was run" in err


def test_json_output_gives_the_argv_and_runs_nothing(home, execs, cli):
    write_record(home, seats=2)
    code, out, err = cli("connect", "demo", "--seat", "2", "--output", "json")

    assert code == 0, err
    document = json.loads(out)
    assert document["seat"] == 2 and document["simulated"] is False
    assert document["argv"][:3] == ["ssh", "-i", str(home / "keys" / "seat 2.pem")]
    assert shlex.split(document["command"]) == document["argv"]
    assert execs == []
