"""A stack set launched and torn down through the sandbox server on 127.0.0.1, as a user runs
it with `--sandbox`: the member accounts' stacks are built inside the server, and their
instances are found (then gone) by asking the server as each member account."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from support import main_in_process, sandbox_keys

from amazonei_setup.sandbox import control

PROFILE = Path(__file__).resolve().parent.parent / "templates" / "profiles" / "inf2.yaml"


@pytest.fixture(scope="module")
def sandbox_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("stackset-sandbox")
    info = control.start(home)
    assert info.endpoint.startswith("http://127.0.0.1:")
    yield home
    control.stop(home)


def client(home: Path, service: str, account: str | None = None):
    info = control.status(home)
    assert info is not None and info.running
    made = boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=info.endpoint,
        **sandbox_keys(home),
    )
    if account:  # the server answers as this account (moto's X-Moto-Account-Id)
        made.meta.events.register(
            "before-sign.*.*",
            lambda request, **_: request.headers.add_header("X-Moto-Account-Id", account),
        )
    return made


def live_instances(home: Path, account: str) -> int:
    pages = client(home, "ec2", account).describe_instances(
        Filters=[
            {"Name": "tag:amazonei-setup:deployment", "Values": ["inf2-demo"]},
            {"Name": "instance-state-name", "Values": ["pending", "running"]},
        ]
    )
    return sum(len(r["Instances"]) for r in pages["Reservations"])


def test_stackset_over_the_sandbox_server(sandbox_home, capsys):
    org = client(sandbox_home, "organizations")
    org.create_organization(FeatureSet="ALL")
    members = [
        org.create_account(Email=f"m{n}@example.com", AccountName=f"m{n}")["CreateAccountStatus"][
            "AccountId"
        ]
        for n in range(3)
    ]
    base = ["--home", str(sandbox_home), "--sandbox"]
    launched = main_in_process(
        capsys,
        *base,
        "launch",
        "--profile-file",
        str(PROFILE),
        "--engine",
        "stackset",
        "--accounts",
        ",".join(members),
        "--regions",
        "us-east-1",
        "--yes",
    )
    assert launched.returncode == 0, launched.stderr
    assert [live_instances(sandbox_home, m) for m in members] == [1, 1, 1]
    assert live_instances(sandbox_home, "123456789012") == 0
    status = main_in_process(capsys, *base, "--output", "json", "status")
    (document,) = json.loads(status.stdout)["stack_sets"]
    assert sorted(r["account"] for r in document["stack_instances"]) == sorted(members)
    gone = main_in_process(capsys, *base, "teardown", "inf2-demo", "--yes")
    assert gone.returncode == 0, gone.stderr
    assert [live_instances(sandbox_home, m) for m in members] == [0, 0, 0]
    cfn = client(sandbox_home, "cloudformation")
    assert [s["Status"] for s in cfn.list_stack_sets()["Summaries"]] == ["DELETED"]
