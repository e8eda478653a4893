"""Issue 14.10 and 15.5 from the user's side: the owner reaches the sandbox with the AWS CLI or
boto3 through `sandbox status --output json` and `sandbox env`; a sandbox launch says a local
server keeps running and how to stop it; `sandbox stop` warns before deleting deployments;
after a stop, `status` says the sandbox is stopped instead of failing to connect."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import child_env, main_in_process

from amazonei_sandbox import control
from amazonei_sandbox.credentials import sandbox_credentials
from amazonei_setup.errors import EXIT_INPUT

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "templates" / "profiles" / "inf1-ssm.yaml"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("visible-home")
    control.start(home, timeout_s=60)
    try:
        yield home
    finally:
        control.stop(home)


@pytest.fixture(autouse=True)
def _no_region(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)


def _run(capsys: pytest.CaptureFixture[str], home: Path, *argv: str) -> subprocess.CompletedProcess:
    return main_in_process(capsys, "--home", str(home), *argv)


def test_status_json_gives_the_endpoint_and_this_homes_own_keys(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    done = _run(capsys, home, "sandbox", "status", "--output", "json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    credentials = sandbox_credentials(home)
    assert document["running"] is True and document["endpoint"].startswith("http://127.0.0.1:")
    assert document["access_key_id"] == credentials.access_key_id
    assert document["secret_access_key"] == credentials.secret_access_key
    assert document["region"] == "us-west-2"
    elsewhere = _run(capsys, home, "--region", "eu-west-1", "sandbox", "status", "--output", "json")
    assert json.loads(elsewhere.stdout)["region"] == "eu-west-1"
    text = _run(capsys, home, "sandbox", "status")
    assert "sandbox env" in " ".join(text.stderr.split())
    assert credentials.secret_access_key not in text.stdout + text.stderr  # not on screen


def test_sandbox_env_exports_work_in_a_real_shell(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    done = _run(capsys, home, "sandbox", "env")
    assert done.returncode == 0, done.stderr
    exports = done.stdout
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_DEFAULT_REGION", "AWS_REGION"):  # fmt: skip
        assert f"export {name}=" in exports
    call = "import boto3; print(boto3.client('sts').get_caller_identity()['Account'])"
    shell = subprocess.run(
        ["bash", "-c", f'eval "$EXPORTS"; python3 -c "{call}"'],
        capture_output=True,
        text=True,
        timeout=60,
        # A stale session token in the user's shell must not void the exported keys.
        env=child_env(EXPORTS=exports, AWS_SESSION_TOKEN="stale-token-from-elsewhere"),
    )
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.strip() == "123456789012"  # the account stays the one it always was
    as_json = json.loads(_run(capsys, home, "sandbox", "env", "--output", "json").stdout)
    assert as_json["AWS_ACCESS_KEY_ID"] == sandbox_credentials(home).access_key_id


def test_sandbox_env_without_a_running_sandbox_says_how_to_start_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    done = _run(capsys, tmp_path, "sandbox", "env")
    assert done.returncode == EXIT_INPUT and done.stdout == ""
    flat = " ".join(done.stderr.split())
    assert "is not running" in flat and f"--home {tmp_path} sandbox start" in flat
    assert "Traceback" not in done.stderr


def test_a_sandbox_launch_is_visible_and_stop_warns_before_deleting_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    try:
        launched = _run(
            capsys, home, "--sandbox", "launch", "--profile-file", str(PROFILE), "--yes",
            "--no-wait",
        )  # fmt: skip
        assert launched.returncode == 0, launched.stderr
        said = " ".join((launched.stdout + launched.stderr).split())
        endpoint = control.status(home).endpoint  # type: ignore[union-attr]
        assert (
            f"A local sandbox server (simulated AWS, nothing billed) is running at {endpoint}"
            in said
        )
        assert f"amazonei-setup --home {home} sandbox stop" in said
        assert "Connect (simulated: the sandbox runs no real instance to connect to):" in said
        seats = _run(capsys, home, "status", "inf1-demo")
        assert "(simulated)" in seats.stdout + seats.stderr

        refused = _run(capsys, home, "sandbox", "stop")  # off a terminal, no --force
        assert refused.returncode == EXIT_INPUT
        flat = " ".join(refused.stderr.split())
        assert "inf1-demo (us-west-2)" in flat and "needs confirmation" in flat
        assert "sandbox stop --force" in flat
        assert control.status(home).running  # type: ignore[union-attr]

        stopped = _run(capsys, home, "sandbox", "stop", "--force", "--output", "json")
        assert stopped.returncode == 0, stopped.stderr
        assert json.loads(stopped.stdout)["deployments_lost"] == ["inf1-demo (us-west-2)"]
        assert control.status(home) is None
        assert list((home / "sandbox" / "instances").iterdir()) == []  # no folder outlives it
        assert list((home / "sandbox" / "logs").glob("i-*.status.json"))  # its logs do

        after = _run(capsys, home, "status")
        assert after.returncode == 0, after.stderr
        flat = " ".join((after.stdout + after.stderr).split())
        assert "The sandbox is stopped: inf1-demo (us-west-2)" in flat
        assert f"amazonei-setup --home {home} sandbox start" in flat
        assert "Traceback" not in after.stderr and "Could not connect" not in flat
        rows = json.loads(_run(capsys, home, "status", "--output", "json").stdout)["deployments"]
        assert rows[0]["sandbox"] == {"endpoint": endpoint, "running": False, "simulated": True}
        assert rows[0]["instances"] == []
        assert control.status(home) is None  # status started nothing
    finally:
        control.stop(home)


def test_stop_with_nothing_in_the_sandbox_asks_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    control.start(tmp_path, timeout_s=60)
    done = _run(capsys, tmp_path, "sandbox", "stop")
    assert done.returncode == 0, done.stderr
    assert "sandbox stopped" in done.stdout + done.stderr and "warning" not in done.stderr
    assert control.status(tmp_path) is None
