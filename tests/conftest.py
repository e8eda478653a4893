"""Shared fixtures: in-process moto seeded like a real region, a recorder of every AWS call,
fault injection through botocore's before-call event, and a way to run the CLI in-process."""

from __future__ import annotations

import os

# moto reads these at import time: bad ids must fail as they do on AWS.
os.environ["MOTO_ENABLE_AMI_VALIDATION"] = "true"
os.environ["MOTO_ENABLE_KEYPAIR_VALIDATION"] = "true"
os.environ["MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION"] = "true"
for variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
    os.environ.pop(variable, None)
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
os.environ["COLUMNS"] = "160"  # tables wide enough that a cell's text stays on one line

from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import boto3  # noqa: E402
import pytest  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
from moto import mock_aws  # noqa: E402

from amazonei_setup.aws import is_mutating  # noqa: E402
from amazonei_setup.cli import Hooks, main  # noqa: E402
from amazonei_setup.sandbox.seed import seed_region  # noqa: E402

CALLER_IP = "198.51.100.7"


@dataclass
class Call:
    service: str
    operation: str
    params: dict[str, Any]


@dataclass
class AwsRecorder:
    """Every AWS call the code under test makes, and errors to inject at chosen calls."""

    calls: list[Call] = field(default_factory=list)
    faults: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    sessions: int = 0

    def fail(self, operation: str, code: str, message: str = "injected", times: int = 1) -> None:
        self.faults.setdefault(operation, []).extend([(code, message)] * times)

    def operations(self, *, mutating_only: bool = False) -> list[str]:
        return [c.operation for c in self.calls if not mutating_only or is_mutating(c.operation)]

    def of(self, operation: str) -> list[Call]:
        return [c for c in self.calls if c.operation == operation]

    def clear(self) -> None:
        self.calls.clear()

    def _before_call(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.calls.append(Call(model.service_model.service_name, model.name, dict(params)))
        pending = self.faults.get(model.name)
        if pending:
            code, message = pending.pop(0)
            raise ClientError({"Error": {"Code": code, "Message": message}}, model.name)

    def session_factory(self, target: Any) -> boto3.Session:
        self.sessions += 1
        session = boto3.Session(
            region_name=target.region, aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        session.events.register("before-parameter-build.*.*", self._before_call)
        return session


@pytest.fixture
def recorder() -> AwsRecorder:
    return AwsRecorder()


@pytest.fixture
def aws():
    """In-process moto with us-west-2 seeded like the real region (DLAMIs, SSM, EI service)."""
    with mock_aws():
        seed_region("us-west-2")
        yield seed_region


class FakeClock:
    """Time that passes only when the code under test sleeps: no test waits for real."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps(clock: FakeClock) -> list[float]:
    return clock.sleeps


@pytest.fixture
def hooks(recorder: AwsRecorder, clock: FakeClock) -> Hooks:
    return Hooks(
        session_factory=recorder.session_factory,
        ip_lookup=lambda target: CALLER_IP,
        sleep=clock.sleep,
        clock=clock,
        stdin_is_tty=lambda: False,
    )


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(hooks: Hooks, tmp_path, capsys):
    """Run the CLI in-process against the current moto, with a private state home."""
    home = tmp_path / "home"

    def run(*argv: str) -> Result:
        capsys.readouterr()
        code = main(["--home", str(home), *argv], hooks)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    run.home = home  # type: ignore[attr-defined]
    return run
