"""Issue 14 from a new user's side: a sandbox deployment is acted on as one with or without
--sandbox (verify, teardown, status --debug, connect), its printed follow-ups work pasted, and
after `sandbox stop` every command says it went with the sandbox instead of pretending."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import main_in_process, sandbox_keys

from amazonei_sandbox import control
from amazonei_setup.errors import EXIT_INPUT

REPO = Path(__file__).resolve().parents[2]
PROFILE = str(REPO / "templates" / "profiles" / "inf1-ssm.yaml")


@pytest.fixture(autouse=True)
def _no_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    # No real credentials: a sandbox record's calls must never need them.
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("a dir") / "with space"
    control.start(home, timeout_s=60)
    try:
        yield home
    finally:
        control.stop(home)


def _run(capsys: pytest.CaptureFixture[str], home: Path, *argv: str):
    return main_in_process(capsys, "--home", str(home), *argv)


def _flat(done) -> str:
    return " ".join((done.stdout + done.stderr).split())


def _launch(capsys, home: Path, name: str, *more: str, sandbox: bool = True):
    done = _run(
        capsys, home, *(["--sandbox"] * sandbox), "launch", "--profile-file", PROFILE,
        "--name", name, "--yes", "--no-wait", *more,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


def test_a_sandbox_deployment_is_verified_and_torn_down_without_sandbox_flag(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    handout = home / "nw"
    launched = _launch(capsys, home, "nw", "--handout", str(handout))
    verify = shlex.join(
        [
            "amazonei-setup",
            "--sandbox",
            "--home",
            str(home),
            "verify",
            "nw",
            "--region",
            "us-west-2",
        ]
    )
    assert f"Read the agents' reports later: {verify}" in launched.stdout
    assert f"pending (`{verify}`)" in (home / "nw.md").read_text()

    verified = _run(capsys, home, "verify", "nw", "--wait", "120")
    assert verified.returncode == 0, verified.stderr
    assert "no AWS credentials" not in _flat(verified)
    looked = _run(capsys, home, "teardown", "nw", "--dry-run")
    assert looked.returncode == 0, looked.stderr
    assert "instance" in looked.stdout and "Dry run: nothing was changed." in looked.stderr
    logged = _run(capsys, home, "--debug", "status", "nw")
    assert logged.returncode == 0, logged.stderr
    assert "debug: aws ec2 DescribeInstances us-west-2" in logged.stderr
    simulated = _run(capsys, home, "connect", "nw")
    assert simulated.returncode == 0, simulated.stderr
    assert "simulated" in simulated.stderr
    gone = _run(capsys, home, "teardown", "nw", "--yes")
    assert gone.returncode == 0, gone.stderr
    assert _run(capsys, home, "status", "--output", "json").stdout.count('"nw"') == 0


def test_launch_json_names_its_commands_and_iso_times(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    done = _launch(capsys, home, "js", "--output", "json")
    document = json.loads(done.stdout)
    assert document["sandbox"] is True and document["simulated"] is True
    assert document["commands"]["verify"].endswith("verify js --region us-west-2")
    assert "--sandbox" in document["commands"]["teardown"]
    launched_at = document["instances"][0]["launched_at"]
    assert launched_at.endswith("Z") and "T" in launched_at, launched_at
    assert _run(capsys, home, "--sandbox", "teardown", "js", "--yes").returncode == 0


def test_an_endpoint_from_sandbox_env_makes_a_sandbox_run_in_what_it_prints(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = control.status(home).endpoint  # type: ignore[union-attr]
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    for key, value in sandbox_keys(home).items():
        monkeypatch.setenv(key.upper(), value)
    done = _launch(capsys, home, "envl", sandbox=False)
    teardown = shlex.join(["amazonei-setup", "--sandbox", "--home", str(home), "teardown", "envl"])
    assert f"{teardown} --region us-west-2" in done.stdout
    assert "Connect (simulated" in done.stdout
    monkeypatch.delenv("AWS_ENDPOINT_URL")  # a fresh shell: the printed command still works
    for key in sandbox_keys(home):
        monkeypatch.delenv(key.upper())
    pasted = main_in_process(capsys, *shlex.split(teardown)[1:], "--region", "us-west-2", "--yes")
    assert pasted.returncode == 0, pasted.stderr


def test_a_seat_that_is_not_there_gets_a_pasteable_command(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _launch(capsys, home, "ws")
    done = _run(capsys, home, "connect", "ws", "--seat", "3")
    assert done.returncode == EXIT_INPUT
    assert f"`amazonei-setup --home '{home}' connect ws --seat 1`" in _flat(done)
    with pytest.raises(SystemExit) as bad:  # argparse's own error: no command to complete
        _run(capsys, home, "connect", "EIA-workshop")
    assert bad.value.code == EXIT_INPUT
    said = capsys.readouterr().err
    assert "is not a deployment name" in said and "`amazonei-setup status`" not in said
    assert _run(capsys, home, "--sandbox", "teardown", "ws", "--yes").returncode == 0


def test_after_sandbox_stop_every_command_says_the_deployment_went_with_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    try:
        _launch(capsys, home, "dbg")
        _launch(capsys, home, "stk", "--engine", "cloudformation")
        refused = _run(capsys, home, "sandbox", "stop")
        assert refused.returncode == EXIT_INPUT
        named = f"amazonei-setup --sandbox --home {home} teardown dbg --region us-west-2"
        assert f"tear them down first ({named}; " in _flat(refused)  # each one by name
        assert _run(capsys, home, "sandbox", "stop", "--force").returncode == 0

        rows = json.loads(_run(capsys, home, "status", "--output", "json").stdout)["deployments"]
        assert rows[0]["status"] == "sandbox-stopped" and rows[0]["sandbox"]["running"] is False
        shown = _run(capsys, home, "status", "dbg")
        assert "gone with the stopped sandbox" in _flat(shown)
        assert "Seats" not in shown.stdout and "seat 1" not in shown.stdout
        assert f"`{named}`" in _flat(shown)
        for argv in (["connect", "dbg"], ["verify", "dbg"]):
            dead = _run(capsys, home, *argv)
            assert dead.returncode == EXIT_INPUT, argv
            assert "went with the stopped sandbox" in _flat(dead) and named in _flat(dead)
            assert "start-session" not in dead.stdout
        cleared = _run(capsys, home, "teardown", "dbg", "--yes")
        assert cleared.returncode == 0, cleared.stderr
        assert "its record is cleared" in _flat(cleared)
        assert not (home / "deployments" / "us-west-2" / "dbg.json").exists()
        assert _run(capsys, home, "status").returncode == 0  # the stack's row asks nothing
        stack = _run(capsys, home, "teardown", "stk", "--yes")
        assert stack.returncode == 0, stack.stderr
        assert "its record is cleared" in _flat(stack)
        assert not (home / "deployments" / "us-west-2" / "stk.json").exists()
        assert control.status(home) is None  # nothing started a sandbox again
    finally:
        control.stop(home)


def test_readme_completion_lines_run_as_written_after_the_readme_install() -> None:
    """The README's install never activates the venv: each line names the venv's script."""
    text = (REPO / "README.md").read_text()
    block = text.split("### Shell completion", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 3
    for line in commands:
        assert line.startswith(".venv/bin/register-python-argcomplete "), line
    assert "--shell fish" in commands[2]
    import subprocess
    import sys

    venv_bin = Path(sys.executable).parent  # this checkout's .venv/bin
    script = subprocess.run(
        [str(venv_bin / "register-python-argcomplete"), "amazonei-setup"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    shown = subprocess.run(
        ["bash", "-c", 'eval "$SCRIPT"; complete -p amazonei-setup'],
        capture_output=True, text=True, timeout=60, env={"SCRIPT": script, "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert "_python_argcomplete amazonei-setup" in shown.stdout, shown.stderr


def test_sweep_in_a_home_with_no_records_looks_in_the_sandboxs_region(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "empty"
    try:
        swept = _run(capsys, home, "--sandbox", "sweep")
        assert swept.returncode == 0, swept.stderr
        assert "us-west-2" in _flat(swept) and "which regions" not in _flat(swept)
    finally:
        control.stop(home)
    nowhere = _run(capsys, tmp_path / "other", "sweep")  # no region anywhere: says which to set
    assert nowhere.returncode == EXIT_INPUT
    assert "--region R" in nowhere.stderr and "AWS_REGION" in nowhere.stderr


def test_save_profile_without_the_wizard_says_where_and_how_to_replay(
    home: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    saved = tmp_path / "sp.yaml"
    done = _run(
        capsys, home, "--sandbox", "launch", "--profile-file", PROFILE, "--name", "sp",
        "--save-profile", str(saved), "--dry-run", "--yes",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert saved.is_file()
    assert f"Saved your answers to {saved}; replay with: " in _flat(done)
    assert f"launch --profile-file {saved} --yes" in _flat(done)


def test_counts_in_sweep_tables_agree_in_number() -> None:
    from rich.console import Console

    from amazonei_setup.cli.render.results import sweep_table

    rows = [{"deployment": "x", "region": "us-west-2", "resources": {"claims": 1, "iam_roles": 2}}]
    import io

    console = Console(width=120, record=True, file=io.StringIO())
    console.print(sweep_table(rows, ["us-west-2"]))
    assert "1 claim, 2 iam roles" in console.export_text()


def test_debug_lines_from_threads_never_interleave() -> None:
    """Calls log from worker threads: two `debug:` lines must not be written at once (a run
    showed `...retries=0debug: aws ec2 ...`). Two threads meet inside the writer if they can."""
    import threading

    from amazonei_setup.cli.console import Terminal

    inside = threading.Barrier(2)
    met: list[bool] = []

    class Writer:
        def print(self, *_: object, **__: object) -> None:
            try:
                inside.wait(timeout=0.5)  # only passes when both threads write at once
                met.append(True)
            except threading.BrokenBarrierError:
                met.append(False)

    terminal = Terminal("text", debug=True)
    terminal.err = Writer()  # type: ignore[assignment]
    threads = [threading.Thread(target=terminal.debug, args=(f"line {i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert met and not any(met)  # one at a time: the first waited alone


def test_a_teardown_with_only_the_record_left_says_so_in_one_line() -> None:
    import io
    from types import SimpleNamespace

    from rich.console import Console

    from amazonei_setup.cli.render.teardown import teardown_table

    plan = SimpleNamespace(
        name="x", region="us-west-2", actions=[], key_files=[], record_exists=True
    )
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(teardown_table(plan))
    text = console.export_text()
    assert "Nothing of 'x' is left in us-west-2 to remove." in text
    assert "action" not in text and "The local record is removed last." in text


def test_a_deployment_made_in_another_homes_sandbox_is_torn_down_there_not_forgotten(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    """A second home reaching this sandbox with --endpoint-url (as two machines sharing one
    server would): its record's endpoint is on loopback but is not its own sandbox. Its
    teardown must remove the resources there, not clear the record as 'gone with a stopped
    sandbox' and leave them running."""
    import boto3

    info = control.status(home)
    assert info is not None and info.running
    keys = sandbox_keys(home)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys["aws_secret_access_key"])
    other = tmp_path / "other-machine"
    at = ["--endpoint-url", info.endpoint, "--region", "us-west-2"]
    _launch(capsys, other, "elsewhere", *at, sandbox=False)
    removed = _run(capsys, other, *at, "teardown", "elsewhere", "--yes")
    assert removed.returncode == 0, removed.stderr
    assert "went with the stopped sandbox" not in _flat(removed)
    ec2 = boto3.client("ec2", region_name="us-west-2", endpoint_url=info.endpoint, **keys)
    live = [
        i
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] != "terminated"
        and {"Key": "amazonei-setup:deployment", "Value": "elsewhere"} in i.get("Tags", [])
    ]
    assert live == []
