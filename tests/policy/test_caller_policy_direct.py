"""The caller's policy from `iam-policy` is least privilege and sufficient: every AWS call of
an end-to-end run (launch, status, verify, teardown, sweep) is allowed by it."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from types import SimpleNamespace

import boto3

from amazonei_setup.aws.clients import iam_action

PROFILES = Path(__file__).resolve().parents[2] / "templates" / "profiles"
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
    # our roles, to EC2 (RunInstances) or to no service (AddRoleToInstanceProfile)
    to_ec2, to_profiles = [s for s in statements if "iam:PassRole" in s["Action"]]
    for pass_role in (to_ec2, to_profiles):
        assert pass_role["Resource"] == "arn:aws:iam::*:role/amazonei-setup/*"
    assert to_ec2["Condition"] == {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}
    assert to_profiles["Condition"] == {"Null": {"iam:PassedToService": "true"}}
    for statement in statements:
        if any(a.startswith("iam:") and a not in ("iam:ListRoles", "iam:ListInstanceProfiles",
               "iam:SimulatePrincipalPolicy") for a in statement["Action"]):  # fmt: skip
            resources = statement["Resource"]
            resources = resources if isinstance(resources, list) else [resources]
            # our path, or our name prefix without a path (entities that do not exist yet)
            assert all("/amazonei-setup/" in r or "/amazonei-setup-" in r for r in resources), (
                statement
            )
    deletes = [s for s in statements if "ec2:TerminateInstances" in s["Action"]]
    assert deletes[0]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/amazonei-setup:managed": "true"}
    }


class IamState:
    """Which of our roles and instance profiles exist at each point of a recorded run: IAM
    cannot know the path of an entity that does not exist, so it authorizes a call on it
    against the path-less ARN (aws-parallelcluster PR #5837)."""

    def __init__(self) -> None:
        self.roles: set[str] = set()
        self.profiles: set[str] = set()

    def arn(self, kind: str, name: str, path: str | None = None) -> str:
        exists = name in (self.roles if kind == "role" else self.profiles)
        middle = path if path is not None else ("/amazonei-setup/" if exists else "/")
        return f"arn:aws:iam::{ACCOUNT}:{kind}{middle}{name}"

    def after(self, call) -> None:
        """Move the state past a call of the (successful) run."""
        params, op = call.params, call.operation
        if op == "CreateRole":
            self.roles.add(params["RoleName"])
        elif op == "DeleteRole":
            self.roles.discard(params["RoleName"])
        elif op == "CreateInstanceProfile":
            self.profiles.add(params["InstanceProfileName"])
        elif op == "DeleteInstanceProfile":
            self.profiles.discard(params["InstanceProfileName"])


_EC2_ID_KINDS = {
    "i-": "instance",
    "sg-": "security-group",
    "vpce-": "vpc-endpoint",
    "vol-": "volume",
    "key-": "key-pair",
    "subnet-": "subnet",
    "vpc-": "vpc",
}


def _ec2(region: str, kind: str, name: str) -> str:
    return f"arn:aws:ec2:{region}:{ACCOUNT}:{kind}/{name}"


def _ec2_ids(region: str, ids) -> list[str]:
    arns = []
    for resource_id in ids or []:
        kind = next(k for p, k in _EC2_ID_KINDS.items() if resource_id.startswith(p))
        arns.append(_ec2(region, kind, resource_id))
    return arns


def _resources(call, region: str, iam: IamState) -> list[str]:
    """Every ARN IAM authorizes the call against: each resource type the Service Authorization
    Reference lists for the action that the request names or creates (all must be allowed)."""
    params, op = call.params, call.operation
    if call.service == "iam":
        if "InstanceProfileName" in params:  # incl. Add/RemoveRoleFromInstanceProfile
            path = params.get("Path") if op == "CreateInstanceProfile" else None
            return [iam.arn("instance-profile", params["InstanceProfileName"], path)]
        if "RoleName" in params:
            path = params.get("Path") if op == "CreateRole" else None
            return [iam.arn("role", params["RoleName"], path)]
        return ["*"]
    if call.service == "s3":  # a bucket, or an object in it (ListBuckets: no resource type)
        if "Bucket" not in params:
            return ["*"]
        bucket = f"arn:aws:s3:::{params['Bucket']}"
        if op == "DeleteObjects":
            return [f"{bucket}/{o['Key']}" for o in params["Delete"]["Objects"]]
        return [f"{bucket}/{params['Key']}" if "Key" in params else bucket]
    ssm = f"arn:aws:ssm:{region}"
    if op == "GetParameter":
        name = params["Name"]
        return [f"{ssm}:{'' if name.startswith('/aws/') else ACCOUNT}:parameter{name}"]
    if op == "GetParametersByPath":  # the path itself, not what lies under it
        return [f"{ssm}:{ACCOUNT}:parameter{params['Path']}"]
    if op == "DeleteParameters":
        return [f"{ssm}:{ACCOUNT}:parameter{name}" for name in params["Names"]]
    if op in ("PutParameter", "DeleteParameter"):  # the name's claim
        return [f"{ssm}:{ACCOUNT}:parameter{params['Name']}"]
    if op == "ListTagsForResource" and params["ResourceType"] == "Parameter":  # who wrote it
        return [f"{ssm}:{ACCOUNT}:parameter{params['ResourceId']}"]
    if op == "RunInstances":
        arns = [_ec2(region, kind, "*") for kind in ("instance", "volume", "network-interface")]
        arns.append(f"arn:aws:ec2:{region}::image/{params['ImageId']}")
        arns += _ec2_ids(region, params.get("SecurityGroupIds"))
        arns += _ec2_ids(region, [params["SubnetId"]] if "SubnetId" in params else [])
        if "KeyName" in params:
            arns.append(_ec2(region, "key-pair", params["KeyName"]))
        if params.get("ElasticInferenceAccelerators"):
            arns.append(
                f"arn:aws:elastic-inference:{region}:{ACCOUNT}:elastic-inference-accelerator/*"
            )
        return arns
    if op == "CreateSecurityGroup":
        return [_ec2(region, "security-group", "*"), _ec2(region, "vpc", params["VpcId"])]
    if op == "CreateVpcEndpoint":
        return [
            _ec2(region, "vpc-endpoint", "*"),
            _ec2(region, "vpc", params["VpcId"]),
            *_ec2_ids(region, params.get("SubnetIds")),
            *_ec2_ids(region, params.get("SecurityGroupIds")),
        ]
    if op == "ModifyVpcEndpoint":
        named = [params["VpcEndpointId"]]
        for key in ("AddSubnetIds", "RemoveSubnetIds", "AddSecurityGroupIds",
                    "RemoveSecurityGroupIds"):  # fmt: skip
            named += params.get(key, [])
        return _ec2_ids(region, named)
    if op in ("CreateKeyPair", "ImportKeyPair"):
        return [_ec2(region, "key-pair", params["KeyName"])]
    if op == "ModifyVpcAttribute":
        return [_ec2(region, "vpc", params["VpcId"])]
    if op in ("CreateTags", "DeleteTags"):
        return _ec2_ids(region, params["Resources"])
    return ["*"]


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
    from support import agent_publishes, sample_report

    agent_publishes(hooks, lambda instance_id: sample_report())
    profile = str(PROFILES / "eia-workshop.yaml")
    assert run_cli("launch", "--yes", "--profile-file", profile).code == 0
    assert run_cli("status").code == 0
    assert run_cli("verify", "eia-workshop").code == 0
    assert run_cli("teardown", "eia-workshop", "--yes").code == 0
    assert run_cli("sweep", "--region", "us-west-2").code == 0
    document = policy(run_cli)
    checked = set()
    iam = IamState()
    denied = []
    for call in recorder.calls:
        if call.operation == "GetCallerIdentity":  # needs no permission
            continue
        action = iam_action(call.operation)
        for resource in _resources(call, "us-west-2", iam):
            if not _allowed(document, action, resource):
                denied.append(f"{action} on {resource}")
        checked.add(action)
        if call.operation in ("RunInstances", "AddRoleToInstanceProfile"):
            role = (  # handing the role over needs PassRole
                f"arn:aws:iam::{ACCOUNT}:role/amazonei-setup/amazonei-setup-us-west-2-eia-workshop"
            )
            if not _allowed(document, "iam:PassRole", role):
                denied.append(f"iam:PassRole on {role}")
        if call.operation == "CreateRole":
            role = iam.arn("role", call.params["RoleName"], call.params.get("Path"))
            if not _allowed(document, "iam:TagRole", role):
                denied.append(f"iam:TagRole on {role}")
        iam.after(call)
    assert denied == [], "\n".join(dict.fromkeys(denied))
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
    from amazonei_setup.policy.caller import principal_arn

    assert principal_arn("arn:aws:iam::1:user/alice") == "arn:aws:iam::1:user/alice"
    assert (
        principal_arn("arn:aws:sts::1:assumed-role/Admin/alice@example.com")
        == "arn:aws:iam::1:role/Admin"
    )
    assert principal_arn("arn:aws:iam::1:root") is None


def _allowed_in(document: dict, action: str, resource: str, context: dict[str, str]) -> bool:
    """Like _allowed, also evaluating StringEquals conditions against the request's context
    (a key the request does not carry fails the condition, as in IAM)."""
    for statement in document["Statement"]:
        resources = statement["Resource"]
        resources = resources if isinstance(resources, list) else [resources]
        if action not in statement["Action"]:
            continue
        if not ("*" in resources or any(fnmatch.fnmatchcase(resource, r) for r in resources)):
            continue
        wanted = statement.get("Condition", {}).get("StringEquals", {})
        if all(context.get(key) == value for key, value in wanted.items()):
            return True
    return False


def test_joining_a_shared_endpoint_names_its_subnets_and_groups(run_cli):
    """A second deployment in the VPC joins the endpoint with ModifyVpcEndpoint, which IAM also
    authorizes against each subnet and security group it adds or removes."""
    from support import Call

    document = policy(run_cli)
    call = Call(
        "ec2",
        "ModifyVpcEndpoint",
        {
            "VpcEndpointId": "vpce-0123456789abcdef0",
            "AddSubnetIds": ["subnet-0123456789abcdef0"],
            "AddSecurityGroupIds": ["sg-0123456789abcdef0"],
        },
    )
    arns = _resources(call, "us-west-2", IamState())
    assert len(arns) == 3
    assert [a for a in arns if not _allowed(document, "ec2:ModifyVpcEndpoint", a)] == []


def test_the_printed_session_manager_command_is_allowed_on_our_instances_only(
    aws, run_cli, recorder
):
    result = run_cli(
        "launch", "--yes", "--no-wait", "--profile-file", str(PROFILES / "inf1-ssm.yaml")
    )
    assert result.code == 0, result.err
    flat = " ".join(result.err.split()) + " " + " ".join(result.out.split())
    reservations = boto3.client("ec2", region_name="us-west-2").describe_instances()
    [instance_id] = [i["InstanceId"] for r in reservations["Reservations"] for i in r["Instances"]]
    assert f"aws ssm start-session --target {instance_id}" in flat
    document = policy(run_cli)
    instance = f"arn:aws:ec2:us-west-2:{ACCOUNT}:instance/{instance_id}"
    ours = {"ssm:resourceTag/amazonei-setup:managed": "true"}
    assert _allowed_in(document, "ssm:StartSession", instance, ours)
    assert not _allowed_in(document, "ssm:StartSession", instance, {})  # someone else's
    shell = f"arn:aws:ssm:us-west-2:{ACCOUNT}:document/SSM-SessionManagerRunShell"
    assert _allowed_in(document, "ssm:StartSession", shell, {})


def test_the_policy_is_written_for_the_partition_of_the_region(run_cli):
    for region, partition in (("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")):
        result = run_cli("iam-policy", "--region", region)
        assert result.code == 0, result.err
        resources = [
            r
            for s in json.loads(result.out)["Statement"]
            for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
            if r != "*"
        ]
        assert resources and all(r.startswith(f"arn:{partition}:") for r in resources)
    default = json.dumps(policy(run_cli))
    assert "arn:aws:" in default and "arn:aws-cn" not in default


def test_the_pre_flight_simulation_uses_the_arns_aws_will_use(aws, run_cli, hooks, recorder):
    simulation_says(hooks, recorder, set())
    result = run_cli(
        "launch", "--yes", "--no-wait", "--profile-file", str(PROFILES / "eia-workshop.yaml")
    )
    assert result.code == 0, result.err
    asked = {
        (action, arn)
        for call in recorder.of("SimulatePrincipalPolicy")
        for action in call.params["ActionNames"]
        for arn in call.params["ResourceArns"]
    }
    role = "amazonei-setup-us-west-2-eia-workshop"
    assert ("iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/{role}") in asked
    assert ("iam:GetInstanceProfile", f"arn:aws:iam::{ACCOUNT}:instance-profile/{role}") in asked
    accelerators = f"arn:aws:elastic-inference:us-west-2:{ACCOUNT}:elastic-inference-accelerator/*"
    assert ("ec2:RunInstances", accelerators) in asked
