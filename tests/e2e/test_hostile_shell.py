"""A user whose shell points AWS elsewhere (endpoints, proxies, a profile that does not exist,
FIPS, dual-stack, real-looking keys, a config file with its own [default]) runs
`amazonei-setup --sandbox ...`: the run works, and every call goes to the local sandbox and
nowhere else (a trap on 127.0.0.1 stands for everywhere else and counts what reaches it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support import Trap, child_env, hostile_environment, main_in_process

from amazonei_sandbox import control

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "templates" / "profiles" / "inf1-ssm.yaml"


@pytest.fixture
def sandbox_home(tmp_path: Path):
    home = tmp_path / "home"
    control.start(home, timeout_s=60)
    yield home
    control.stop(home)


def test_a_sandbox_launch_from_a_hostile_shell_reaches_only_the_sandbox(
    sandbox_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with Trap() as trap:
        shell = hostile_environment(trap.url, tmp_path / "shell")
        launched = subprocess.run(
            [sys.executable, "-m", "amazonei_setup", "--sandbox", "--home", str(sandbox_home),
             "launch", "--profile-file", str(PROFILE), "--name", "hostile", "--no-wait", "--yes"],
            capture_output=True,
            text=True,
            env=child_env(**shell),  # the user's shell, as it is
            timeout=120,
        )  # fmt: skip
        assert launched.returncode == 0, launched.stderr
        assert "'hostile' is running in us-west-2" in " ".join(launched.stdout.split())
        # The same shell, in-process: the teardown finds and removes what the launch made.
        for name, value in shell.items():
            monkeypatch.setenv(name, value)
        removed = main_in_process(
            capsys, "--sandbox", "--home", str(sandbox_home), "teardown", "hostile",
            "--region", "us-west-2", "--yes",
        )  # fmt: skip
        assert removed.returncode == 0, removed.stderr
        assert "'hostile' in us-west-2" in removed.stdout
    assert trap.requests == []
    assert not (Path(shell["AMAZONEI_SETUP_HOME"])).exists()  # --home, not the shell's home
