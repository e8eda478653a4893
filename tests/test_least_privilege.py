"""The caller's policy from `iam-policy` is least privilege and sufficient: every AWS call of
an end-to-end run (launch, status, verify, teardown, sweep) is allowed by it."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from types import SimpleNamespace

import boto3

from amazonei_setup.aws import iam_action

PROFILES = Path(__file__).resolve().parent.parent / "templates" / "profiles"
ACCOUNT = "123456789012"


def policy(run_cli) -> dict:
    result = run_cli("iam-policy")
    assert result.code == 0
    return json.loads(result.out)


def test_policy_names_every_action_and_scopes_the_dangerous_ones(run_cli):
    document = policy(run_cli)
    statements = document["Statement"]
    actions = [a for s in statements for a in s["Action"]]
    assert all("*" not in action for action in actions)
    assert all(s["Effect"] == "Allow" for s in statements)
    [pass_role] = [s for s in statements if "iam:PassRole" in s["Action"]]
    assert pass_role["Resource"] == "arn:aws:iam::*:role/amazonei-setup/*"
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}
    for statement in statements:
        if any(a.startswith("iam:") and a not in ("iam:ListRoles", "iam:ListInstanceProfiles",
               "iam:SimulatePrincipalPolicy") for a in statement["Action"]):  # fmt: skip
            resources = statement["Resource"]
            resources = resources if isinstance(resources, list) else [resources]
            assert all("/amazonei-setup/" in r for r in resources), statement
    deletes = [s for s in statements if "ec2:TerminateInstances" in s["Action"]]
    assert deletes[0]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/amazonei-setup:managed": "true"}
    }


def _resource(call, region: str) -> str:
    """The ARN a call acts on, as IAM evaluates it (best effort, by operation)."""
    params = call.params
    iam = f"arn:aws:iam::{ACCOUNT}"
    if "RoleName" in params and call.service == "iam":
        return f"{iam}:role/amazonei-setup/{params['RoleName']}"
    if "InstanceProfileName" in params:
        return f"{iam}:instance-profile/amazonei-setup/{params['InstanceProfileName']}"
    if call.operation == "GetParameter":
        name = params["Name"]
        owner = "" if name.startswith("/aws/") else ACCOUNT
        return f"arn:aws:ssm:{region}:{owner}:parameter{name}"
    if call.operation == "GetParametersByPath":
        return f"arn:aws:ssm:{region}:{ACCOUNT}:parameter{params['Path']}/x"
    if call.operation == "DeleteParameters":
        return f"arn:aws:ssm:{region}:{ACCOUNT}:parameter{params['Names'][0]}"
    created = {
        "RunInstances": "instance/*",
        "CreateSecurityGroup": "security-group/*",
        "CreateKeyPair": "key-pair/*",
        "CreateVpcEndpoint": "vpc-endpoint/*",
        "ModifyVpcEndpoint": "vpc-endpoint/x",
        "ModifyVpcAttribute": "vpc/x",
    }
    if call.operation in created:
        return f"arn:aws:ec2:{region}:{ACCOUNT}:{created[call.operation]}"
    if call.operation in ("CreateTags", "DeleteTags"):
        return f"arn:aws:ec2:{region}:{ACCOUNT}:vpc-endpoint/x"
    return "*"


def _allowed(document: dict, action: str, resource: str) -> bool:
    for statement in document["Statement"]:
        if action not in statement["Action"]:
            continue
        resources = statement["Resource"]
        resources = resources if isinstance(resources, list) else [resources]
        if "*" in resources or any(fnmatch.fnmatchcase(resource, r) for r in resources):
            return True
    return False


def test_every_call_of_an_end_to_end_run_is_allowed(aws, run_cli, recorder, hooks):
    from test_launch import agent_publishes, sample_report

    agent_publishes(hooks, lambda instance_id: sample_report())
    profile = str(PROFILES / "eia-workshop.yaml")
    assert run_cli("launch", "--yes", "--profile-file", profile).code == 0
    assert run_cli("status").code == 0
    assert run_cli("verify", "eia-workshop").code == 0
    assert run_cli("teardown", "eia-workshop", "--yes").code == 0
    assert run_cli("sweep", "--region", "us-west-2").code == 0
    document = policy(run_cli)
    checked = set()
    for call in recorder.calls:
        if call.operation == "GetCallerIdentity":  # needs no permission
            continue
        action = iam_action(call.operation)
        resource = _resource(call, "us-west-2")
        assert _allowed(document, action, resource), f"{action} on {resource} is not allowed"
        checked.add(action)
        if call.operation == "RunInstances":  # handing the role over needs PassRole
            role = (
                f"arn:aws:iam::{ACCOUNT}:role/amazonei-setup/amazonei-setup-us-west-2-eia-workshop"
            )
            assert _allowed(document, "iam:PassRole", role)
        if call.operation == "CreateRole":
            assert _allowed(document, "iam:TagRole", resource)
    assert {"ec2:RunInstances", "iam:CreateRole", "ec2:DeleteVpcEndpoints"} <= checked
    assert len(checked) >= 35


def simulation_says(hooks, recorder, denied: set[str] | None, error: str | None = None):
    """Run as an IAM user, and answer iam:SimulatePrincipalPolicy (moto lacks it) as AWS
    would for that user."""
    key = _as_iam_user()

    def answer(model, params, **_):
        if error:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": error, "Message": "no"}}, model.name)
        body = params["body"]  # the query-serialized request: ActionNames.member.N
        asked = [v for k, v in sorted(body.items()) if k.startswith("ActionNames.member.")]
        results = [
            {"EvalActionName": a, "EvalDecision": "implicitDeny" if a in denied else "allowed"}
            for a in asked
        ]
        return SimpleNamespace(status_code=200, headers={}), {"EvaluationResults": results}

    def factory(target):
        session = boto3.Session(
            region_name=target.region,
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        )
        session.events.register("before-parameter-build.*.*", recorder._before_call)
        session.events.register("before-call.iam.SimulatePrincipalPolicy", answer)
        return session

    hooks.session_factory = factory


def _as_iam_user():
    iam = boto3.client("iam")
    iam.create_user(UserName="workshop")
    return iam.create_access_key(UserName="workshop")["AccessKey"]


def test_launch_lists_missing_permissions_before_creating_anything(aws, run_cli, hooks, recorder):
    simulation_says(hooks, recorder, {"iam:PassRole", "ec2:CreateVpcEndpoint"})
    result = run_cli(
        "launch", "--yes", "--no-wait", "--profile-file", str(PROFILES / "eia-workshop.yaml")
    )
    assert result.code == 1
    flat = " ".join(result.err.split())
    assert "not allowed: ec2:CreateVpcEndpoint, iam:PassRole" in flat
    assert "nothing was created" in flat and "iam-policy" in flat
    assert recorder.operations(mutating_only=True) == []
    assert recorder.of("SimulatePrincipalPolicy")


def test_a_simulation_we_may_not_run_is_skipped_quietly(aws, run_cli, hooks, recorder):
    simulation_says(hooks, recorder, None, error="AccessDenied")
    result = run_cli(
        "launch", "--yes", "--no-wait", "--profile-file", str(PROFILES / "inf1-ssm.yaml")
    )
    assert result.code == 0, result.err
    assert "SimulatePrincipalPolicy" not in result.err


def test_principal_arn_for_users_roles_and_root():
    from amazonei_setup.iam_policy import principal_arn

    assert principal_arn("arn:aws:iam::1:user/alice") == "arn:aws:iam::1:user/alice"
    assert (
        principal_arn("arn:aws:sts::1:assumed-role/Admin/alice@example.com")
        == "arn:aws:iam::1:role/Admin"
    )
    assert principal_arn("arn:aws:iam::1:root") is None
