"""`launch --engine stackset`: a 3-account plan shown (text and JSON), deployed through a
service-managed stack set and removed again (0 stack instances, no stack set), as far as moto
carries it; bad accounts, OUs and regions refused with exit 2 and nothing created."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

PROFILES = Path(__file__).parent.parent / "templates" / "profiles"
INF2 = str(PROFILES / "inf2.yaml")  # us-east-1, SSM access, AMI from a public parameter


@pytest.fixture
def org(aws):
    """An organization with an OU of three attendee accounts (and one account outside it)."""
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


def _cfn():
    return boto3.client("cloudformation", region_name="us-east-1")


def test_three_account_plan_in_text_and_json(org, run_cli):
    accounts = ",".join(org["accounts"])
    args = ["launch", "--profile-file", INF2, "--engine", "stackset", "--accounts", accounts]
    text = run_cli(*args, "--regions", "us-east-1,us-west-2", "--dry-run")
    assert text.code == 0, text.err
    shown = text.out + text.err
    for account in org["accounts"]:
        assert shown.count(account) == 2  # one row per region
    assert "Stack set amazonei-setup-inf2-demo (service-managed" in shown
    assert "6 instance(s)" in shown and "Dry run: nothing was created." in shown
    result = run_cli("--output", "json", *args, "--regions", "us-east-1,us-west-2", "--dry-run")
    plan = json.loads(result.out)
    assert plan["permission_model"] == "SERVICE_MANAGED"
    assert len(plan["targets"]) == 6 and plan["instances_total"] == 6
    assert plan["total_per_hour_usd"] == pytest.approx(6 * plan["price_per_hour_usd"])
    assert plan["deployment_targets"] == {
        "OrganizationalUnitIds": [org["root"]],
        "Accounts": org["accounts"],
        "AccountFilterType": "INTERSECTION",
    }
    assert _cfn().list_stack_sets()["Summaries"] == []


def test_deploy_to_three_accounts_then_teardown_leaves_nothing(org, run_cli, tmp_path):
    launched = run_cli(
        "launch",
        "--profile-file",
        INF2,
        "--engine",
        "stackset",
        "--ou",
        org["ou"],
        "--regions",
        "us-east-1",
        "--yes",
        "--handout",
        str(tmp_path / "seats"),
    )
    assert launched.code == 0, launched.err
    cfn = _cfn()
    rows = cfn.list_stack_instances(StackSetName="amazonei-setup-inf2-demo")["Summaries"]
    assert sorted(r["Account"] for r in rows) == sorted(org["accounts"])
    status = run_cli("--output", "json", "status")
    (document,) = json.loads(status.out)["stack_sets"]
    assert {r["account"] for r in document["stack_instances"]} == set(org["accounts"])
    assert {r["detailed_status"] for r in document["stack_instances"]} == {"SUCCEEDED"}
    handout = (tmp_path / "seats.csv").read_text()
    assert all(account in handout for account in org["accounts"])
    gone = run_cli("teardown", "inf2-demo", "--yes")
    assert gone.code == 0, gone.err
    with pytest.raises(cfn.exceptions.StackSetNotFoundException):
        cfn.describe_stack_set(StackSetName="amazonei-setup-inf2-demo")


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--accounts", "12345", "--regions", "us-east-1"], "'12345' is not an AWS account id"),
        (["--accounts", "111122223333,abc", "--regions", "us-east-1"], "'abc'"),
        (["--ou", "ou-bad", "--regions", "us-east-1"], "'ou-bad' is not an organizational unit"),
        (["--ou", "ou-abcd-12345678", "--regions", "us-east-1,mars-north-1"], "'mars-north-1'"),
        (["--regions", "us-east-1"], "either --accounts or --ou"),
        (
            ["--accounts", "111122223333", "--ou", "ou-abcd-12345678", "--regions", "us-east-1"],
            "either --accounts or --ou",
        ),
        (["--accounts", "111122223333"], "needs --regions"),
        (
            ["--accounts", "111122223333", "--regions", "us-east-1"],
            "111122223333 is not an active account of your organization",
        ),
        (["--accounts", "123456789012", "--regions", "us-east-1"], "management account"),
        (
            ["--ou", "ou-abcd-12345678", "--regions", "us-east-1"],
            "ou-abcd-12345678 is not an organizational unit of your organization",
        ),
    ],
)
def test_bad_targets_exit_2_and_create_nothing(org, run_cli, flags, named):
    result = run_cli("launch", "--profile-file", INF2, "--engine", "stackset", "--yes", *flags)
    assert result.code == 2, result.err
    assert named in " ".join((result.out + result.err).split())
    assert "Traceback" not in result.err
    assert _cfn().list_stack_sets()["Summaries"] == []
    assert not (run_cli.home / "deployments").exists()


def test_stackset_flags_without_the_engine_are_refused(aws, run_cli):
    result = run_cli("launch", "--profile-file", INF2, "--accounts", "111122223333", "--yes")
    assert result.code == 2
    assert "--accounts, --ou and --regions go with --engine stackset" in result.err


def test_export_stackset_is_lint_clean_and_account_neutral(aws, run_cli, tmp_path):
    from cfnlint.api import ManualArgs, lint

    for profile in sorted(PROFILES.glob("*.yaml")):
        out = tmp_path / f"{profile.stem}.json"
        result = run_cli(
            "export", "--profile-file", str(profile), "--format", "stackset", "-o", str(out)
        )
        assert result.code == 0, result.err
        text = out.read_text()
        template = json.loads(text)
        assert [str(m) for m in lint(text, config=ManualArgs(regions=["us-east-1"]))] == []
        header = template["Metadata"]["AmazonEiSetup::StackSet"]
        assert header["PermissionModel"] == "SERVICE_MANAGED" and header["CallAs"] == "SELF"
        assert header["AutoDeployment"]["Enabled"] is True
        parameters = template["Parameters"]
        assert "VpcId" not in parameters and "SubnetId" not in parameters  # its own VPC
        assert all(
            "Default" not in p or not str(p["Default"]).startswith(("ami-", "vpc-"))
            for p in parameters.values()
        )
        assert "123456789012" not in text  # the sandbox account, nowhere
