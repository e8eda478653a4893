"""The suite runs the same whatever the developer's shell exports (tests/hermetic.py): the
session itself sees none of it, and a child the tests start through support.child_env sees
none of what the test process had either."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import boto3
import botocore.configprovider
import botocore.credentials
import pytest
from hermetic import SUITE_VARIABLES, foreign_names, is_foreign, make_hermetic
from support import Trap, child_env, hostile_environment, owner_env

from amazonei_sandbox import control

REPO = Path(__file__).resolve().parent.parent


def _botocore_variables() -> set[str]:
    """The environment variables botocore's configuration and credential chains read."""
    names: set[str] = set()
    tables = (
        botocore.configprovider.BOTOCORE_DEFAUT_SESSION_VARIABLES,
        botocore.configprovider.DEFAULT_S3_CONFIG_VARS,
    )
    for table in tables:
        for _, env_vars, _, _ in table.values():
            if env_vars:
                names.update([env_vars] if isinstance(env_vars, str) else env_vars)
    env = botocore.credentials.EnvProvider
    names.update([env.ACCESS_KEY, env.SECRET_KEY, env.EXPIRY_TIME, *env.TOKENS])
    container = botocore.credentials.ContainerProvider
    names.update([container.ENV_VAR, container.ENV_VAR_FULL, container.ENV_VAR_AUTH_TOKEN])
    names.update(botocore.credentials.AssumeRoleWithWebIdentityProvider._CONFIG_TO_ENV_VAR.values())
    names.update(f"AWS_ENDPOINT_URL_{s}" for s in ("EC2", "IAM", "SSM", "STS", "S3"))
    names.update(["BOTO_CONFIG", "AWS_CREDENTIAL_FILE", "HTTPS_PROXY", "HTTP_PROXY"])
    return names


def test_every_variable_botocore_reads_is_removed_and_only_the_suites_own_are_set() -> None:
    names = _botocore_variables()
    assert len(names) > 40  # the chains were found (botocore reads ~50)
    assert sorted(n for n in names if not is_foreign(n)) == []
    environ = dict.fromkeys(names, "from-the-shell") | {"PATH": "/usr/bin", "TERM": "xterm"}
    make_hermetic(environ)
    assert environ == {**SUITE_VARIABLES, "PATH": "/usr/bin", "TERM": "xterm"}


def test_this_session_sees_none_of_the_shells_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the shell that started pytest exported (the next test starts one that exports
    everything), the conftest removed it before botocore or moto could read it. Judged on the
    environment the session began with: a test before this one in the same worker may set its
    own variables (monkeypatched), which says nothing about the shell."""
    import hermetic

    assert foreign_names(hermetic.AT_START) == []
    for name in [n for n in os.environ if n not in hermetic.AT_START]:
        monkeypatch.delenv(name)
    for name, value in hermetic.AT_START.items():
        monkeypatch.setenv(name, value)
    assert foreign_names(os.environ) == []
    for name in _botocore_variables():
        assert os.environ.get(name) == SUITE_VARIABLES.get(name), name
    session = boto3.Session()
    assert session.region_name is None and session.profile_name == "default"
    credentials = session.get_credentials()
    assert (credentials.access_key, credentials.token) == ("testing", None)
    ec2 = session.client("ec2", region_name="us-west-2")
    assert ec2.meta.endpoint_url == "https://ec2.us-west-2.amazonaws.com"  # no FIPS, no override
    assert ec2.meta.config.retries == {"mode": "standard"}  # botocore's defaults, not the shell's


def test_a_hostile_shell_changes_nothing_the_session_sees(tmp_path: Path) -> None:
    """pytest started from a shell exporting every variable that could send a call elsewhere:
    the test above still passes in that session. Without the conftest's clean-up it fails."""
    with Trap() as trap:
        shell = hostile_environment(trap.url, tmp_path)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")} | shell
        node = f"{Path(__file__).name}::test_this_session_sees_none_of_the_shells_variables"
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"tests/{node}"],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=env,
            timeout=120,
        )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout
    assert trap.requests == []


@pytest.fixture(scope="module")
def sandbox_home(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("hermetic-home")
    control.start(home, timeout_s=60)
    yield home
    control.stop(home)


def test_a_child_started_from_a_hostile_test_process_reaches_only_what_it_is_given(
    sandbox_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test process whose environment says "AWS is elsewhere" (endpoints, proxies, profile,
    region, FIPS) starts the CLI through child_env, giving it the sandbox as `sandbox env`
    would: the child sees only that, and never calls the trap."""
    info = control.status(sandbox_home)
    assert info is not None and info.running
    with Trap() as trap:
        for name, value in hostile_environment(trap.url, tmp_path).items():
            monkeypatch.setenv(name, value)
        given = {"AWS_ENDPOINT_URL": info.endpoint, **owner_env(sandbox_home)}
        env = child_env(**given)
        assert foreign_names(env) == sorted(given)
        done = subprocess.run(
            [sys.executable, "-m", "amazonei_setup", "--home", str(sandbox_home), "plan",
             "--profile-file", str(REPO / "templates" / "profiles" / "inf1-ssm.yaml")],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "inf1-demo" in done.stdout and "Traceback" not in done.stderr
    assert trap.requests == []


def test_children_cache_bytecode_whatever_the_shell_says(tmp_path: Path) -> None:
    """A shell's PYTHONDONTWRITEBYTECODE would make every CLI, server and agent child compile
    the package again (the suite took 3 min 46 s instead of 3 min 06 s): the session drops it,
    so a child started through child_env writes its cache as Python does by default."""
    assert "PYTHONDONTWRITEBYTECODE" not in os.environ
    environ = {"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin"}
    make_hermetic(environ)
    assert "PYTHONDONTWRITEBYTECODE" not in environ
    (tmp_path / "imported_once.py").write_text("VALUE = 1\n")
    done = subprocess.run(
        [sys.executable, "-c", "import imported_once"],
        cwd=tmp_path,
        env=child_env(PYTHONPATH=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert list((tmp_path / "__pycache__").glob("imported_once.*.pyc"))
