"""`launch --engine stackset`: a 3-account plan shown (text and JSON), deployed through a
service-managed stack set and removed again (0 stack instances, no stack set), as far as moto
carries it; bad accounts, OUs and regions refused with exit 2 and nothing created."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

PROFILES = Path(__file__).parents[2] / "templates" / "profiles"
INF2 = str(PROFILES / "inf2.yaml")  # us-east-1, SSM access, AMI from a public parameter


def _cfn():
    return boto3.client("cloudformation", region_name="us-east-1")


def test_three_account_plan_in_text_and_json(org, run_cli):
    accounts = ",".join(org["accounts"])
    args = ["launch", "--profile-file", INF2, "--engine", "stackset", "--accounts", accounts]
    text = run_cli(*args, "--regions", "us-east-1,us-west-2", "--dry-run")
    assert text.code == 0, text.err
    shown = text.out  # a dry run's plan is its answer: stdout, `| less` works
    for account in org["accounts"]:
        assert shown.count(account) == 2  # one row per region
    assert "Stack set amazonei-setup-inf2-demo (service-managed" in shown
    assert "6 instance(s)" in shown and "Dry run: nothing was created." in text.err
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


def _left(account: str, region: str, deployment: str) -> dict[str, int]:
    """What the deployment has in a member account, counted in moto's own backends (not
    through the tool): live instances, VPCs, gateways, groups, key pairs, launch templates,
    roles (IAM is global: the role's name carries the region)."""
    from moto.ec2.models import ec2_backends
    from moto.iam.models import iam_backends

    ec2 = ec2_backends[account][region]

    def ours(resource) -> bool:
        tags = ec2.tags.get(resource.id, {})
        return tags.get("amazonei-setup:deployment") == deployment

    roles = iam_backends[account]["global"].roles.values()
    return {
        "instances": sum(
            ours(i) and i.state != "terminated"
            for r in ec2.reservations.values()
            for i in r.instances
        ),
        "vpcs": sum(ours(v) for v in ec2.vpcs.values()),
        "internet_gateways": sum(ours(g) for g in ec2.internet_gateways.values()),
        "route_tables": sum(ours(t) for t in ec2.route_tables.values()),
        "security_groups": sum(ours(g) for v in ec2.groups.values() for g in v.values()),
        "key_pairs": sum(ours(k) for k in ec2.key_pairs.values()),
        "launch_templates": sum(ours(t) for t in ec2.launch_templates.values()),
        "roles": sum(deployment in role.name for role in roles),
    }


def test_deploy_to_three_accounts_then_teardown_leaves_nothing(org, run_cli, tmp_path):
    launched = run_cli(
        "--output",
        "json",
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
    assert {r["account"] for r in json.loads(launched.out)["stack_instances"]} == set(
        org["accounts"]
    )
    for account in org["accounts"]:  # the stack's resources, in each member account
        here = _left(account, "us-east-1", "inf2-demo")
        assert here["instances"] == 1 and here["vpcs"] == 1 and here["roles"] == 1, here
    assert _left(org["outsider"], "us-east-1", "inf2-demo")["instances"] == 0
    again = run_cli(
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
    )
    assert again.code == 2 and "already recorded" in again.err
    assert len(_cfn().list_stack_sets()["Summaries"]) == 1
    assert _left("123456789012", "us-east-1", "inf2-demo")["instances"] == 0
    status = run_cli("--output", "json", "status")
    (document,) = json.loads(status.out)["stack_sets"]
    assert {r["account"] for r in document["stack_instances"]} == set(org["accounts"])
    assert {r["detailed_status"] for r in document["stack_instances"]} == {"SUCCEEDED"}
    text = run_cli("status", "inf2-demo")
    shown = text.out + text.err
    assert all(shown.count(account) == 1 for account in org["accounts"]), shown
    handout = (tmp_path / "seats.csv").read_text().splitlines()
    assert handout[0].startswith("account,region,status")
    assert sorted(line.split(",")[0] for line in handout[1:]) == sorted(org["accounts"])
    dry = run_cli("teardown", "inf2-demo", "--dry-run")
    assert dry.code == 0 and "would delete 3 stack instance(s)" in dry.out + dry.err
    assert (
        len(_cfn().list_stack_instances(StackSetName="amazonei-setup-inf2-demo")["Summaries"]) == 3
    )
    gone = run_cli("teardown", "inf2-demo", "--yes")
    assert gone.code == 0, gone.err
    cfn = _cfn()
    with pytest.raises(cfn.exceptions.StackSetNotFoundException):
        cfn.list_stack_instances(StackSetName="amazonei-setup-inf2-demo")
    for account in org["accounts"]:
        assert set(_left(account, "us-east-1", "inf2-demo").values()) == {0}
    assert run_cli("--output", "json", "status").out.strip() == '{\n  "deployments": []\n}'


def test_a_failed_account_exits_1_and_teardown_still_removes_all(org, run_cli, monkeypatch):
    """One member account's stack fails (say, a quota): the others deploy, the failed row
    says why, and teardown removes every instance and the set."""
    from moto.cloudformation import models

    original = models.StackInstance.__init__
    unlucky = org["accounts"][1]

    def flaky(self, account_id, *args, **kwargs):
        if account_id == unlucky:
            raise RuntimeError("VcpuLimitExceeded: You have requested more vCPU capacity")
        original(self, account_id, *args, **kwargs)

    monkeypatch.setattr(models.StackInstance, "__init__", flaky)
    accounts = ",".join(org["accounts"])
    launched = run_cli(
        "launch",
        "--profile-file",
        INF2,
        "--engine",
        "stackset",
        "--accounts",
        accounts,
        "--regions",
        "us-east-1",
        "--yes",
    )
    assert launched.code == 1
    shown = " ".join((launched.out + launched.err).split())
    assert f"{unlucky} us-east-1: FAILED: RuntimeError: VcpuLimitExceeded" in shown
    assert "1 of 3 stack instance(s) did not deploy" in shown
    status = json.loads(run_cli("--output", "json", "status").out)["stack_sets"][0]
    assert status["status"] == "incomplete"
    failed = [r for r in status["stack_instances"] if r["status"] == "OUTDATED"]
    assert [r["account"] for r in failed] == [unlucky] and "VcpuLimitExceeded" in failed[0][
        "status_reason"
    ]
    gone = run_cli("teardown", "inf2-demo", "--yes")
    assert gone.code == 0, gone.err
    assert _cfn().list_stack_sets()["Summaries"][0]["Status"] == "DELETED"
    for account in org["accounts"]:
        assert set(_left(account, "us-east-1", "inf2-demo").values()) == {0}


def test_ssh_workshop_gets_an_ami_per_region_and_a_key_per_account(org, run_cli):
    """EI-era DLAMIs have no public parameter: each region gets its own image through
    ParameterOverrides; each account gets its own key pair, private key in its own SSM."""
    from moto.ssm.models import ssm_backends

    eia = str(PROFILES / "eia-workshop.yaml")
    account = org["accounts"][0]
    args = [
        "launch",
        "--profile-file",
        eia,
        "--engine",
        "stackset",
        "--accounts",
        account,
        "--regions",
        "us-west-2,us-east-1",
    ]
    plan = json.loads(run_cli("--output", "json", *args, "--dry-run").out)
    images = {r: o[0]["ParameterValue"] for r, o in plan["parameter_overrides"].items()}
    assert set(images) == {"us-west-2", "us-east-1"} and all(
        i.startswith("ami-") for i in images.values()
    )
    launched = run_cli(*args, "--yes")
    assert launched.code == 0, launched.err
    for region in ("us-west-2", "us-east-1"):
        here = _left(account, region, "eia-workshop")
        assert here["key_pairs"] == 1 and here["instances"] == 1, (region, here)
        keys = [
            p for p in ssm_backends[account][region]._parameters if p.startswith("/ec2/keypair/")
        ]
        assert len(keys) == 1
    record = json.loads(next((run_cli.home / "deployments").rglob("eia-workshop.json")).read_text())
    assert record["engine"] == "stackset" and len(record["stack_set"]["operations"]) == 2
    assert run_cli("teardown", "eia-workshop", "--yes").code == 0
    for region in ("us-west-2", "us-east-1"):
        assert set(_left(account, region, "eia-workshop").values()) == {0}
        assert not [
            p for p in ssm_backends[account][region]._parameters if p.startswith("/ec2/keypair/")
        ]


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


def test_teardown_by_tag_removes_a_stack_set_deployment(org, run_cli):
    account = org["accounts"][2]
    launched = run_cli(
        "launch",
        "--profile-file",
        INF2,
        "--engine",
        "stackset",
        "--accounts",
        account,
        "--regions",
        "us-east-1",
        "--tag",
        "team=ml",
        "--yes",
    )
    assert launched.code == 0, launched.err
    listed = run_cli("--output", "json", "teardown", "--all", "--dry-run")
    (document,) = json.loads(listed.out)["stack_sets"]
    assert [r["account"] for r in document["stack_instances"]] == [account]
    assert run_cli("teardown", "--tag", "team=other", "--yes").code == 0
    assert _cfn().list_stack_sets()["Summaries"][0]["Status"] == "ACTIVE"
    gone = run_cli("--output", "json", "teardown", "--tag", "team=ml", "--yes")
    assert gone.code == 0, gone.err
    (removed,) = json.loads(gone.out)["stack_sets"]  # one document on stdout
    assert removed["deployment"] == "inf2-demo" and removed["stack_instances_left"] == []
    assert _cfn().list_stack_sets()["Summaries"][0]["Status"] == "DELETED"
    assert set(_left(account, "us-east-1", "inf2-demo").values()) == {0}
    assert not list((run_cli.home / "deployments").rglob("*.json"))


GPU = (
    "/aws/service/deeplearning/ami/x86_64/oss-nvidia-driver-gpu-pytorch-{}-ubuntu-24.04/latest"
    "/ami-id"
)


def _gpu_profile(tmp_path: Path) -> str:
    path = tmp_path / "g5.yaml"
    path.write_text(
        "name: g5-set\nregion: us-east-1\ninstance_type: g5.xlarge\nos: ubuntu\n"
        "access: {mode: ssm}\n"
    )
    return str(path)


@pytest.fixture
def unpublish():
    """As if AWS had not published these GPU parameters in a region (yet), in every account."""
    from amazonei_sandbox import seed

    def withhold(region: str, *versions: str) -> None:
        for version in versions:
            seed.withhold_parameter(region, GPU.format(version))

    yield withhold
    seed.WITHHELD.clear()


def _gpu_set(run_cli, profile: str, account: str, *flags: str):
    return run_cli(
        "--output", "json", "launch", "--profile-file", profile, "--engine", "stackset",
        "--accounts", account, "--regions", "us-east-1,us-west-2", *flags,
    )  # fmt: skip


def test_the_image_default_is_a_parameter_every_target_region_has(
    org, run_cli, tmp_path, unpublish
):
    """The rule's first parameter (PyTorch 2.13) is missing in us-west-2: the body defaults to
    the second, which both regions have, instead of failing us-west-2's stack instances."""
    account = org["accounts"][0]
    unpublish("us-west-2", "2.13")
    profile = _gpu_profile(tmp_path)
    result = _gpu_set(run_cli, profile, account, "--dry-run")
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    assert plan["image_parameter"]["ssm_parameter"] == GPU.format("2.12")
    assert plan["image_parameter"]["missing"]["us-west-2"] == [GPU.format("2.13")]
    assert plan["parameter_overrides"] == {}
    text = run_cli("launch", "--profile-file", profile, "--engine", "stackset", "--accounts",
                   account, "--regions", "us-east-1,us-west-2", "--dry-run")  # fmt: skip
    assert "us-west-2 lacks " + GPU.format("2.13") in " ".join(text.out.split())
    launched = _gpu_set(run_cli, profile, account, "--yes")
    assert launched.code == 0, launched.err
    rows = json.loads(launched.out)["stack_instances"]
    assert {r["detailed_status"] for r in rows} == {"SUCCEEDED"} and len(rows) == 2


def test_without_a_parameter_in_every_region_each_region_gets_its_image(
    org, run_cli, tmp_path, unpublish
):
    """Neither GPU parameter in us-west-2: ImageId becomes a plain id, given per region (the
    image the direct engine would launch there), and the set deploys in both regions."""
    account = org["accounts"][0]
    unpublish("us-west-2", "2.13", "2.12")
    profile = _gpu_profile(tmp_path)
    plan = json.loads(_gpu_set(run_cli, profile, account, "--dry-run").out)
    assert plan["image_parameter"]["ssm_parameter"] is None
    images = {r: o[0]["ParameterValue"] for r, o in plan["parameter_overrides"].items()}
    assert set(images) == {"us-east-1", "us-west-2"}
    assert all(i.startswith("ami-") for i in images.values())
    launched = _gpu_set(run_cli, profile, account, "--yes")
    assert launched.code == 0, launched.err
    rows = json.loads(launched.out)["stack_instances"]
    assert {(r["region"], r["detailed_status"]) for r in rows} == {
        ("us-east-1", "SUCCEEDED"),
        ("us-west-2", "SUCCEEDED"),
    }
    body = _cfn().describe_stack_set(StackSetName="amazonei-setup-g5-set")["StackSet"]
    assert json.loads(body["TemplateBody"])["Parameters"]["ImageId"]["Type"] == (
        "AWS::EC2::Image::Id"
    )
