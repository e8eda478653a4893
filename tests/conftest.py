"""Shared fixtures: in-process moto seeded like a real region, a recorder of every AWS call,
fault injection through botocore's before-call event, and a way to run the CLI in-process."""

from __future__ import annotations

import os
import traceback

import hermetic
from hermetic import make_hermetic

# Before anything reads them (botocore, moto at import): none of the developer's AWS_*, MOTO_*,
# proxy or amazonei-setup variables, and the suite's own in their place (tests/hermetic.py).
make_hermetic(os.environ)
hermetic.AT_START = dict(os.environ)  # what the session began with (tests/test_hermetic.py)
os.environ["COLUMNS"] = "160"  # tables wide enough that a cell's text stays on one line

from dataclasses import dataclass  # noqa: E402

import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402
from support import (  # noqa: E402
    AwsRecorder,
    FakeClock,
    collect_garbage_less_often,
    freeze_what_is_loaded,
    memoize_moto_pure_work,
    reset_moto_without_rebuilding,
    share_botocore_models,
)

from amazonei_sandbox.seed import seed_region  # noqa: E402
from amazonei_setup.cli.main import Hooks, internal_error_lines, main  # noqa: E402

CALLER_IP = "198.51.100.7"
share_botocore_models()
reset_moto_without_rebuilding()
memoize_moto_pure_work()
collect_garbage_less_often()


@pytest.fixture
def recorder() -> AwsRecorder:
    return AwsRecorder()


@pytest.fixture
def aws():
    """In-process moto with us-west-2 seeded like the real region (DLAMIs, SSM, EI service)."""
    with mock_aws():
        seed_region("us-west-2")
        yield seed_region


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
        with pytest.MonkeyPatch.context() as env:
            env.setenv("AMAZONEI_SETUP_DEBUG", "1")  # a bug raises: its traceback is kept
            try:
                code, trace = main(["--home", str(home), *argv], hooks), ""
            except Exception as exc:  # what the user sees (exit 1, one line) plus the traceback
                code = 1
                trace = "\n".join(internal_error_lines(exc)) + "\n" + traceback.format_exc()
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err + trace)

    run.home = home  # type: ignore[attr-defined]
    return run


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked slow first (stable otherwise): xdist hands tests out in this order."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_collection_finish(session: pytest.Session) -> None:
    freeze_what_is_loaded()


@pytest.fixture
def org(aws):
    """An organization with an OU of three attendee accounts (and one account outside it)."""
    import boto3

    client = boto3.client("organizations", region_name="us-east-1")
    client.create_organization(FeatureSet="ALL")
    root = client.list_roots()["Roots"][0]["Id"]
    ou = client.create_organizational_unit(ParentId=root, Name="workshop")["OrganizationalUnit"]
    accounts = []
    for n in range(4):
        made = client.create_account(Email=f"seat{n}@example.com", AccountName=f"seat{n}")
        accounts.append(made["CreateAccountStatus"]["AccountId"])
    for account in accounts[:3]:
        client.move_account(AccountId=account, SourceParentId=root, DestinationParentId=ou["Id"])
    aws("us-east-1")
    return {"root": root, "ou": ou["Id"], "accounts": accounts[:3], "outsider": accounts[3]}
