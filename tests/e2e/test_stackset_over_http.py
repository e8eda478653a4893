"""A stack set launched and torn down through the sandbox server on 127.0.0.1, as a user runs
it with `--sandbox`: the member accounts' stacks are built inside the server, and their
instances are found (then gone) by asking the server as each member account."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import boto3
import pytest
from support import main_in_process, poll, sandbox_keys

from amazonei_sandbox import control

PROFILE = Path(__file__).resolve().parents[2] / "templates" / "profiles" / "inf2.yaml"


@pytest.fixture(scope="module")
def sandbox_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("stackset-sandbox")
    info = control.start(home)
    assert info.endpoint.startswith("http://127.0.0.1:")
    yield home
    control.stop(home)


def client(home: Path, service: str, account: str | None = None, region: str = "us-east-1"):
    info = control.status(home)
    assert info is not None and info.running
    made = boto3.client(
        service,
        region_name=region,
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


def _report(home: Path, account: str, region: str) -> tuple[str, dict, list] | None:
    """(instance id, report, tags) of the deployment's one instance in that account and region,
    once its report is there; None before."""
    ec2, ssm = (client(home, s, account, region) for s in ("ec2", "ssm"))
    pages = ec2.describe_instances(
        Filters=[{"Name": "tag:amazonei-setup:deployment", "Values": ["inf2-demo"]}]
    )
    for instance in (i for r in pages["Reservations"] for i in r["Instances"]):
        name = f"/amazonei-setup/inf2-demo/{instance['InstanceId']}/report"
        try:
            value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
        except ssm.exceptions.ParameterNotFound:
            continue
        tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
        return instance["InstanceId"], json.loads(value), tags
    return None


def test_a_stack_set_instance_in_another_region_publishes_there(sandbox_home, capsys):
    """Created from us-east-1 (the profile's region, region A) into us-west-2 (region B) of a
    member account: the agent reads its region and account from IMDS, publishes to B's SSM,
    and B's role (scoped to B's reports, judged by the sandbox's ssm_strict) allows it."""
    org = client(sandbox_home, "organizations")
    with contextlib.suppress(org.exceptions.AlreadyInOrganizationException):
        org.create_organization(FeatureSet="ALL")
    member = org.create_account(Email="b@example.com", AccountName="b")["CreateAccountStatus"][
        "AccountId"
    ]
    base = ["--home", str(sandbox_home), "--sandbox"]
    launched = main_in_process(
        capsys, *base, "launch", "--profile-file", str(PROFILE), "--engine", "stackset",
        "--accounts", member, "--regions", "us-west-2", "--yes",
    )  # fmt: skip
    assert launched.returncode == 0, launched.stderr
    found = poll(
        lambda: _report(sandbox_home, member, "us-west-2"), 180, first_pause=0.05, longest_pause=1.0
    )
    assert found, (sandbox_home / "sandbox" / "server.log").read_text()[-3000:]
    instance_id, report, tags = found
    assert report["status"] == "passed", report["reason"]
    assert report["instance"]["region"] == "us-west-2"
    arn = f"arn:aws:ec2:us-west-2:{member}:instance/{instance_id}"
    assert tags == [{"Key": "amazonei-setup:reporter", "Value": arn}]
    home_region = client(sandbox_home, "ssm", member, "us-east-1")
    mine = home_region.get_parameters_by_path(Path="/amazonei-setup/", Recursive=True)
    assert mine["Parameters"] == []  # nothing went to the set's home region
    gone = main_in_process(capsys, *base, "teardown", "inf2-demo", "--yes")
    assert gone.returncode == 0, gone.stderr
