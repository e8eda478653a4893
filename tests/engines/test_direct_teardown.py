"""Teardown leaves nothing behind: every kind of resource, shared endpoints, lost records,
interruptions, and the AWS behaviours moto does not imitate (injected)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from support import REGION, leftovers, nothing_left, on_event

PROFILES = Path(__file__).resolve().parents[2] / "templates" / "profiles"
EIA = str(PROFILES / "eia-workshop.yaml")
INF1 = str(PROFILES / "inf1-ssm.yaml")


def launch(run_cli, *argv: str) -> dict:
    result = run_cli("launch", "--yes", "--no-wait", "--output", "json", *argv)
    assert result.code == 0, result.err
    return json.loads(result.out)


def put_report(name: str, instance_id: str) -> None:
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=f"/amazonei-setup/{name}/{instance_id}/report", Value="{}", Type="String"
    )


def model_bucket_of(name: str) -> None:
    """The bucket a benchmark of the deployment creates itself (no launch plans it), in use."""
    from amazonei_setup.aws.clients import AwsClients, AwsTarget
    from amazonei_setup.resources import model_bucket
    from amazonei_setup.resources.naming import deployment_tags

    clients = AwsClients(AwsTarget(REGION))
    bucket = model_bucket.bucket_name("123456789012", REGION, name)
    model_bucket.create(clients, bucket, REGION, deployment_tags(name, REGION), 1)
    model_bucket.put_bytes(clients, bucket, "models/model.onnx", b"onnx")


def test_launch_then_teardown_leaves_zero_resources_of_every_kind(aws, run_cli, recorder):
    document = launch(run_cli, "--profile-file", EIA)
    put_report("eia-workshop", document["instances"][0]["id"])
    model_bucket_of("eia-workshop")
    before = leftovers("eia-workshop", run_cli.home)
    assert all(before.values()), before  # every kind existed
    result = run_cli("teardown", "eia-workshop", "--yes")
    assert result.code == 0, result.err
    assert leftovers("eia-workshop", run_cli.home) == dict.fromkeys(before, 0)
    assert "Teardown of 'eia-workshop' in us-west-2" in " ".join(result.err.split())  # asked
    assert "removed or released" in result.out  # the summary is the result


def test_inf1_ssm_deployment_goes_too(aws, run_cli):
    launch(run_cli, "--profile-file", INF1)
    assert run_cli("teardown", "inf1-demo", "--yes").code == 0
    assert nothing_left("inf1-demo", run_cli.home)


def test_shared_endpoint_survives_the_first_teardown_and_goes_with_the_second(aws, run_cli):
    first = launch(run_cli, "--profile-file", EIA)
    launch(run_cli, "--profile-file", EIA, "--name", "second")
    endpoint_id = first["resources"]["endpoint"]["id"]
    ec2 = boto3.client("ec2", region_name=REGION)

    result = run_cli("teardown", "eia-workshop", "--yes")
    assert result.code == 0, result.err
    assert "still used by second" in " ".join(result.err.split())
    [endpoint] = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"]
    assert endpoint["State"] == "available"
    assert nothing_left("eia-workshop", run_cli.home)
    assert len(endpoint["Groups"]) == 1  # only the second deployment's group remains

    assert run_cli("teardown", "second", "--yes").code == 0
    [endpoint] = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"]
    assert endpoint["State"] == "deleted"
    assert nothing_left("second", run_cli.home)


def test_teardown_without_the_record_uses_tags_alone(aws, run_cli):
    launch(run_cli, "--profile-file", EIA)
    (run_cli.home / "deployments/us-west-2/eia-workshop.json").unlink()
    refused = run_cli("teardown", "eia-workshop", "--yes")
    assert refused.code == 2 and "pass --region" in refused.err
    result = run_cli("teardown", "eia-workshop", "--region", REGION, "--yes")
    assert result.code == 0, result.err
    assert "found by its tags alone" in result.err
    assert nothing_left("eia-workshop", run_cli.home)


def test_second_teardown_is_a_no_op(aws, run_cli, recorder):
    launch(run_cli, "--profile-file", EIA)
    assert run_cli("teardown", "eia-workshop", "--yes").code == 0
    recorder.clear()
    again = run_cli("teardown", "eia-workshop", "--region", REGION, "--yes")
    assert again.code == 0
    assert "Nothing to remove" in again.out
    assert recorder.operations(mutating_only=True) == []


def test_dry_run_changes_nothing(aws, run_cli, recorder):
    launch(run_cli, "--profile-file", EIA)
    before = leftovers("eia-workshop", run_cli.home)
    recorder.clear()
    result = run_cli("teardown", "eia-workshop", "--dry-run", "--output", "json")
    assert result.code == 0, result.err
    assert recorder.operations(mutating_only=True) == []
    assert leftovers("eia-workshop", run_cli.home) == before
    [plan] = json.loads(result.out)["deployments"]
    verbs = {(a["verb"], a["kind"]) for a in plan["actions"]}
    assert ("terminate", "ec2-instance") in verbs and ("delete", "vpc-endpoint") in verbs


def test_refuses_without_yes_when_not_on_a_terminal(aws, run_cli, recorder):
    launch(run_cli, "--profile-file", EIA)
    recorder.clear()
    result = run_cli("teardown", "eia-workshop")
    assert result.code == 2
    assert "--yes" in result.err
    assert recorder.operations(mutating_only=True) == []
    assert leftovers("eia-workshop")["instances"] == 1


TEARDOWN_STEPS = [
    "TerminateInstances",
    "DeleteVpcEndpoints",
    "DeleteSecurityGroup",
    "DeleteKeyPair",
    "RemoveRoleFromInstanceProfile",
    "DeleteInstanceProfile",
    "DeleteRolePolicy",
    "DeleteRole",
    "DeleteParameters",
]


@pytest.mark.parametrize("step", TEARDOWN_STEPS)
def test_interrupted_after_each_step_then_rerun_ends_clean(aws, run_cli, hooks, recorder, step):
    document = launch(run_cli, "--profile-file", EIA)
    put_report("eia-workshop", document["instances"][0]["id"])
    fired: list[str] = []

    def interrupt_after(model, **_):
        if model.name == step and not fired:
            fired.append(step)
            raise KeyboardInterrupt

    original = on_event(hooks, "after-call.*.*", interrupt_after)
    interrupted = run_cli("teardown", "eia-workshop", "--yes")
    assert fired == [step]
    assert interrupted.code == 130
    assert "run the same command again" in interrupted.err
    hooks.session_factory = original
    finished = run_cli("teardown", "eia-workshop", "--region", REGION, "--yes")
    assert finished.code == 0, finished.err
    assert nothing_left("eia-workshop", run_cli.home)


def test_dependency_violation_is_retried_with_bounded_backoff(aws, run_cli, recorder, sleeps):
    launch(run_cli, "--profile-file", EIA)
    recorder.fail(
        "DeleteSecurityGroup", "DependencyViolation", "resource has a dependent object", 2
    )
    result = run_cli("teardown", "eia-workshop", "--yes")
    assert result.code == 0, result.err
    assert "still in use" in result.err
    assert [s for s in sleeps if s in (2, 4)][:2] == [2, 4]
    assert nothing_left("eia-workshop", run_cli.home)


def test_dependency_violation_that_never_clears_fails_and_can_be_resumed(
    aws, run_cli, recorder, sleeps
):
    launch(run_cli, "--profile-file", EIA)
    recorder.fail("DeleteSecurityGroup", "DependencyViolation", "in use", times=100)
    result = run_cli("teardown", "eia-workshop", "--yes")
    assert result.code == 1
    assert "DependencyViolation" in result.err and "Traceback" not in result.err
    assert sum(sleeps) < 200
    recorder.faults.clear()
    assert run_cli("teardown", "eia-workshop", "--yes").code == 0
    assert nothing_left("eia-workshop", run_cli.home)


def test_role_policies_are_removed_before_the_role_as_aws_requires(aws, run_cli, hooks, recorder):
    """moto deletes a role that still has policies; AWS refuses with DeleteConflict. Inject
    AWS's refusal and show the order teardown uses never meets it."""
    launch(run_cli, "--profile-file", EIA)
    iam = boto3.client("iam")
    role = "amazonei-setup-us-west-2-eia-workshop"
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}],
    }
    extra = iam.create_policy(PolicyName="attached-by-hand", PolicyDocument=json.dumps(document))
    iam.attach_role_policy(RoleName=role, PolicyArn=extra["Policy"]["Arn"])

    def delete_conflict(model, params, **_):
        inline = iam.list_role_policies(RoleName=params["RoleName"])["PolicyNames"]
        attached = iam.list_attached_role_policies(RoleName=params["RoleName"])
        if inline or attached["AttachedPolicies"]:
            from botocore.exceptions import ClientError

            error = {"Code": "DeleteConflict", "Message": "Cannot delete entity, must detach"}
            raise ClientError({"Error": error}, "DeleteRole")

    on_event(hooks, "before-parameter-build.iam.DeleteRole", delete_conflict)
    result = run_cli("teardown", "eia-workshop", "--yes")
    assert result.code == 0, result.err
    calls = recorder.operations()
    assert calls.index("DetachRolePolicy") < calls.index("DeleteRole")
    assert calls.index("DeleteRolePolicy") < calls.index("DeleteRole")
    assert nothing_left("eia-workshop", run_cli.home)


def test_role_delete_conflict_is_reported_not_hidden(aws, run_cli, recorder):
    launch(run_cli, "--profile-file", EIA)
    recorder.fail("DeleteRole", "DeleteConflict", "Cannot delete entity, must detach all policies")
    result = run_cli("teardown", "eia-workshop", "--yes")
    assert result.code == 1
    assert "DeleteConflict while deleting IAM role" in result.err
    assert leftovers("eia-workshop", run_cli.home)["records"] == 1  # kept: run it again
    assert run_cli("teardown", "eia-workshop", "--yes").code == 0
    assert nothing_left("eia-workshop", run_cli.home)


def test_reused_resources_survive(aws, run_cli):
    ec2 = boto3.client("ec2", region_name=REGION)
    ec2.create_key_pair(KeyName="mine", KeyType="ed25519")
    launch(run_cli, "--profile-file", EIA, "--key-pair", "mine")
    vpcs_before = ec2.describe_vpcs()["Vpcs"]
    result = run_cli("teardown", "eia-workshop", "--yes")
    assert result.code == 0, result.err
    assert "kept key-pair mine: reused, not created by us" in " ".join(result.out.split())
    assert [k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]] == ["mine"]
    assert ec2.describe_vpcs()["Vpcs"] == vpcs_before
    assert nothing_left("eia-workshop", run_cli.home)


def test_resources_without_our_tags_are_never_touched(aws, run_cli, recorder):
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    # Same name as ours, but not tagged by the tool: someone else's.
    ec2.create_security_group(
        GroupName="amazonei-setup-eia-workshop-instance", Description="x", VpcId=vpc
    )
    result = run_cli("teardown", "eia-workshop", "--region", REGION, "--yes")
    assert result.code == 0
    assert recorder.operations(mutating_only=True) == []
    names = [g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]]
    assert "amazonei-setup-eia-workshop-instance" in names


def test_teardown_by_tag_and_all(aws, run_cli):
    launch(run_cli, "--profile-file", EIA)
    launch(run_cli, "--profile-file", INF1)
    launch(
        run_cli, "--profile-file", INF1, "--name", "other", "--tag", "workshop=eia-2019-revisited"
    )
    result = run_cli(
        "teardown", "--tag", "workshop=eia-2019-revisited", "--yes", "--output", "json"
    )
    assert result.code == 0, result.err
    gone = {d["deployment"] for d in json.loads(result.out)["deployments"]}
    assert gone == {"eia-workshop", "other"}
    assert leftovers("inf1-demo")["instances"] == 1
    assert run_cli("teardown", "--all", "--yes").code == 0
    for name in ("eia-workshop", "other", "inf1-demo"):
        assert nothing_left(name, run_cli.home)


def test_sweep_finds_and_deletes_orphans_only(aws, run_cli):
    launch(run_cli, "--profile-file", EIA)
    launch(run_cli, "--profile-file", INF1)
    (run_cli.home / "deployments/us-west-2/inf1-demo.json").unlink()  # another laptop's
    listed = run_cli("sweep", "--region", REGION, "--output", "json")
    assert listed.code == 0, listed.err
    [orphan] = json.loads(listed.out)["orphans"]
    assert orphan["deployment"] == "inf1-demo"
    assert orphan["resources"]["instances"] == 1 and orphan["resources"]["iam_roles"] == 1
    deleted = run_cli("sweep", "--region", REGION, "--delete", "--yes")
    assert deleted.code == 0, deleted.err
    assert nothing_left("inf1-demo", run_cli.home)
    assert leftovers("eia-workshop")["instances"] == 1  # recorded: not an orphan


def test_status_shows_hardware_instances_age_and_cost(aws, run_cli):
    launch(run_cli, "--profile-file", EIA)
    result = run_cli("status", "--output", "json")
    assert result.code == 0, result.err
    [row] = json.loads(result.out)["deployments"]
    assert row["hardware"] == "m5.large + eia1.large"
    assert row["instances"][0]["state"] == "running"
    assert row["price_per_hour_usd"] == pytest.approx(0.356)
    assert row["cost_so_far_usd"] >= 0
    assert row["age_hours"] >= 0
    assert set(row["resources"]) >= {"role", "endpoint", "instance:1"}


def test_teardown_all_over_several_regions(aws, run_cli):
    aws("us-east-1")
    launch(run_cli, "--profile-file", INF1)
    launch(run_cli, "--profile-file", INF1, "--region", "us-east-1", "--name", "east")
    (run_cli.home / "deployments/us-east-1/east.json").unlink()  # found by tags alone
    result = run_cli(
        "teardown", "--all", "--region", "us-west-2", "--region", "us-east-1", "--yes",
        "--output", "json",
    )  # fmt: skip
    assert result.code == 0, result.err
    gone = {(d["deployment"], d["region"]) for d in json.loads(result.out)["deployments"]}
    assert gone == {("inf1-demo", "us-west-2"), ("east", "us-east-1")}
    east = boto3.client("ec2", region_name="us-east-1").describe_instances(
        Filters=[{"Name": "instance-state-name", "Values": ["running", "pending"]}]
    )
    assert east["Reservations"] == []
    assert nothing_left("inf1-demo", run_cli.home)
