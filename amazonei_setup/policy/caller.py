"""The least-privilege policy a person needs to run this tool (launch, status, verify,
teardown, sweep), and a pre-flight check of it with iam:SimulatePrincipalPolicy.

Every action is named (no `*` action); IAM writes are confined to our path
(`/amazonei-setup/`), iam:PassRole to our roles and to EC2; EC2 deletes need our tag.
ARNs are written the way IAM authorizes each call (checked against the Service Authorization
Reference): an entity that does not exist yet has no path, GetParametersByPath is authorized on
the path itself, and the partition follows the region.
"""

from __future__ import annotations

from typing import Any

from amazonei_setup.aws.arns import partition_of
from amazonei_setup.aws.clients import AwsClients
from amazonei_setup.resources.naming import IAM_PATH, PREFIX, TAG_EXPIRES, TAG_MANAGED
from amazonei_setup.resources.registry import kinds


def kind_actions(group: str) -> list[str]:
    """Every kind's caller actions of one group (`ResourceKind.caller_actions`)."""
    return sorted({action for kind in kinds() for action in kind.caller_actions.get(group, ())})


# Discovery's own reads (the account, not one kind): regions, VPCs, subnets and their routes,
# the AMI; the hardware and its prices (issue 21: DescribeInstanceTypes, DescribeSpotPriceHistory
# and pricing:GetProducts have no resource types, so "*" is the only grant).
DISCOVERY_READ = [
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypeOfferings",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeSpotPriceHistory",
    "pricing:GetProducts",
    "ec2:DescribeRegions",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
]


def ec2_read() -> list[str]:
    return sorted({*DISCOVERY_READ, *kind_actions("read")})


EC2_READ = ec2_read()
EC2_CREATE = kind_actions("create")  # only with our managed tag in the request
EC2_OWNED = kind_actions("owned")  # only on resources that carry our managed tag
IAM_OWNED = kind_actions("iam")  # only under our IAM path
# The reads and creates that can name a role or instance profile that does not exist (yet, or
# any more): IAM cannot know its path then, and authorizes against `role/NAME`; without these
# grants discovery (and a teardown after the role is gone) gets AccessDenied, not NoSuchEntity.
# Deletes stay on our path: they only ever act on entities that exist.
IAM_MAYBE_MISSING = [
    "iam:CreateInstanceProfile",
    "iam:CreateRole",
    "iam:GetInstanceProfile",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:TagInstanceProfile",
    "iam:TagRole",
]
SESSION_MANAGER_DOCUMENT = "SSM-SessionManagerRunShell"  # what `aws ssm start-session` runs


def caller_policy(region: str | None = None) -> dict[str, Any]:
    """The policy, its ARNs in the partition of `region` (commercial AWS without one)."""
    arn = f"arn:{partition_of(region)}"
    managed = {"StringEquals": {f"aws:ResourceTag/{TAG_MANAGED}": "true"}}
    requested = {"StringEquals": {f"aws:RequestTag/{TAG_MANAGED}": "true"}}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Discover", "Effect": "Allow", "Action": ec2_read(), "Resource": "*"},
            {
                "Sid": "CreateTaggedResources",
                "Effect": "Allow",
                "Action": kind_actions("create"),
                "Resource": [
                    f"{arn}:ec2:*:*:instance/*",
                    f"{arn}:ec2:*:*:volume/*",
                    f"{arn}:ec2:*:*:security-group/*",
                    f"{arn}:ec2:*:*:key-pair/*",
                    f"{arn}:ec2:*:*:vpc-endpoint/*",
                ],
                "Condition": requested,
            },
            {
                "Sid": "LaunchIntoTheAccount",
                "Effect": "Allow",
                "Action": [
                    "ec2:CreateSecurityGroup",
                    "ec2:CreateVpcEndpoint",
                    "ec2:RunInstances",
                ],
                "Resource": [
                    f"{arn}:ec2:*::image/*",
                    f"{arn}:ec2:*:*:vpc/*",
                    f"{arn}:ec2:*:*:subnet/*",
                    f"{arn}:ec2:*:*:network-interface/*",
                    f"{arn}:ec2:*:*:security-group/*",
                    f"{arn}:ec2:*:*:key-pair/*",
                ],
            },
            {
                "Sid": "AttachElasticInference",  # RunInstances with an accelerator
                "Effect": "Allow",
                "Action": ["ec2:RunInstances"],
                "Resource": f"{arn}:elastic-inference:*:*:elastic-inference-accelerator/*",
            },
            {
                "Sid": "TagOnCreate",
                "Effect": "Allow",
                "Action": ["ec2:CreateTags"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "ec2:CreateAction": [a.split(":")[1] for a in kind_actions("create")]
                    }
                },
            },
            {
                "Sid": "ShareTheEndpoint",
                "Effect": "Allow",
                "Action": ["ec2:CreateTags", "ec2:DeleteTags", "ec2:ModifyVpcEndpoint"],
                "Resource": f"{arn}:ec2:*:*:vpc-endpoint/*",
            },
            {
                "Sid": "JoinTheEndpoint",  # ModifyVpcEndpoint names the subnets and groups too
                "Effect": "Allow",
                "Action": ["ec2:ModifyVpcEndpoint"],
                "Resource": [f"{arn}:ec2:*:*:security-group/*", f"{arn}:ec2:*:*:subnet/*"],
            },
            {
                "Sid": "MoveTheExpiryOfOurs",  # a re-run with another ttl re-tags what exists
                "Effect": "Allow",
                "Action": ["ec2:CreateTags", "ec2:DeleteTags"],
                "Resource": "*",
                "Condition": {
                    **managed,
                    "ForAllValues:StringEquals": {"aws:TagKeys": [TAG_EXPIRES]},
                },
            },
            {
                "Sid": "MoveTheUserTagsOfOurs",  # a re-run with changed tags re-tags in place
                "Effect": "Allow",
                "Action": ["ec2:CreateTags", "ec2:DeleteTags"],
                "Resource": "*",
                "Condition": {
                    **managed,
                    "ForAllValues:StringNotLike": {"aws:TagKeys": [f"{PREFIX}:*"]},
                },
            },
            {
                "Sid": "PrivateDnsForTheEndpoint",
                "Effect": "Allow",
                "Action": ["ec2:ModifyVpcAttribute"],
                "Resource": f"{arn}:ec2:*:*:vpc/*",
            },
            {
                "Sid": "ChangeOnlyOurs",
                "Effect": "Allow",
                "Action": kind_actions("owned"),
                "Resource": "*",
                "Condition": managed,
            },
            {
                "Sid": "OurRolesOnly",
                "Effect": "Allow",
                "Action": kind_actions("iam"),
                "Resource": [
                    f"{arn}:iam::*:role{IAM_PATH}*",
                    f"{arn}:iam::*:instance-profile{IAM_PATH}*",
                ],
            },
            {
                "Sid": "OurRolesBeforeTheyExist",  # no entity, no path: IAM uses role/NAME
                "Effect": "Allow",
                "Action": IAM_MAYBE_MISSING,
                "Resource": [
                    f"{arn}:iam::*:role/{PREFIX}-*",
                    f"{arn}:iam::*:instance-profile/{PREFIX}-*",
                ],
            },
            {
                "Sid": "PassOurRolesToEc2",
                "Effect": "Allow",
                "Action": ["iam:PassRole"],
                "Resource": f"{arn}:iam::*:role{IAM_PATH}*",
                "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
            },
            {
                # AddRoleToInstanceProfile needs iam:PassRole on the role (IAM API Reference:
                # "The caller of this operation must be granted the PassRole permission"), and
                # that request passes the role to no service: iam:PassedToService is absent
                "Sid": "PassOurRolesIntoOurProfiles",
                "Effect": "Allow",
                "Action": ["iam:PassRole"],
                "Resource": f"{arn}:iam::*:role{IAM_PATH}*",
                "Condition": {"Null": {"iam:PassedToService": "true"}},
            },
            {
                "Sid": "ListOurRoles",
                "Effect": "Allow",
                "Action": ["iam:ListInstanceProfiles", "iam:ListRoles"],
                "Resource": "*",
            },
            {
                "Sid": "PublicAmiParameters",
                "Effect": "Allow",
                "Action": ["ssm:GetParameter"],
                "Resource": f"{arn}:ssm:*::parameter/aws/service/*",
            },
            {
                "Sid": "AgentReports",  # GetParametersByPath is authorized on the path itself
                "Effect": "Allow",
                "Action": kind_actions("ssm"),
                "Resource": [
                    f"{arn}:ssm:*:*:parameter/{PREFIX}",
                    f"{arn}:ssm:*:*:parameter/{PREFIX}/*",
                ],
            },
            {
                "Sid": "SessionManagerToOurs",  # the printed `aws ssm start-session`
                "Effect": "Allow",
                "Action": ["ssm:StartSession"],
                "Resource": f"{arn}:ec2:*:*:instance/*",
                "Condition": {"StringEquals": {f"ssm:resourceTag/{TAG_MANAGED}": "true"}},
            },
            {
                "Sid": "SessionManagerShell",
                "Effect": "Allow",
                "Action": ["ssm:StartSession"],
                "Resource": f"{arn}:ssm:*:*:document/{SESSION_MANAGER_DOCUMENT}",
            },
            {
                # Session Manager names a session after the IAM user who started it
                # (`alice-0123456789abcdef0`), so AWS's examples scope these to aws:username;
                # aws:userid (AIDA...) never matches a session id
                "Sid": "OwnSessions",
                "Effect": "Allow",
                "Action": ["ssm:ResumeSession", "ssm:TerminateSession"],
                "Resource": f"{arn}:ssm:*:*:session/${{aws:username}}-*",
            },
            {
                "Sid": "OurBuckets",  # the model buckets (resources/model_bucket.py) and objects
                "Effect": "Allow",
                "Action": kind_actions("s3"),
                "Resource": [f"{arn}:s3:::{PREFIX}-*", f"{arn}:s3:::{PREFIX}-*/*"],
            },
            *_other_services(),
            {
                "Sid": "ExplainErrors",
                "Effect": "Allow",
                "Action": [
                    "iam:SimulatePrincipalPolicy",
                    "servicequotas:GetServiceQuota",
                    "sts:DecodeAuthorizationMessage",
                ],
                "Resource": "*",
            },
        ],
    }


def _other_services() -> list[dict[str, Any]]:
    """Kinds of other services (none built in): their actions, named one by one."""
    actions = kind_actions("other")
    if not actions:
        return []
    return [{"Sid": "OtherKinds", "Effect": "Allow", "Action": actions, "Resource": "*"}]


def principal_arn(caller_arn: str) -> str | None:
    """The ARN SimulatePrincipalPolicy accepts for a caller: users as they are, assumed roles
    as their role; None for the root user (it cannot be simulated)."""
    parts = caller_arn.split(":")
    if len(parts) < 6 or parts[5] == "root":
        return None
    resource = parts[5]
    if parts[2] == "sts" and resource.startswith("assumed-role/"):
        role = resource.split("/")[1]
        return f"arn:{parts[1]}:iam::{parts[4]}:role/{role}"
    return caller_arn if parts[2] == "iam" else None


def launch_checks(
    region: str, account: str, role_name: str, *, eia: bool = False
) -> list[tuple[list[str], str]]:
    """What a launch does, as (actions, resource ARN) groups to simulate, with the ARNs IAM
    will use: the role and instance profile do not exist yet, so they carry no path."""
    arn = f"arn:{partition_of(region)}"
    ec2 = f"{arn}:ec2:{region}:{account}"
    checks = [
        (EC2_READ, "*"),
        (["ec2:RunInstances"], f"{ec2}:instance/*"),
        (["ec2:CreateSecurityGroup"], f"{ec2}:security-group/*"),
        (["ec2:CreateKeyPair"], f"{ec2}:key-pair/*"),
        (["ec2:CreateVpcEndpoint"], f"{ec2}:vpc-endpoint/*"),
        (["iam:GetRole"], f"{arn}:iam::{account}:role/{role_name}"),
        (["iam:GetInstanceProfile"], f"{arn}:iam::{account}:instance-profile/{role_name}"),
        (
            ["iam:CreateRole", "iam:PutRolePolicy", "iam:TagRole", "iam:PassRole"],
            f"{arn}:iam::{account}:role{IAM_PATH}{role_name}",
        ),
        (
            ["iam:CreateInstanceProfile", "iam:AddRoleToInstanceProfile"],
            f"{arn}:iam::{account}:instance-profile{IAM_PATH}{role_name}",
        ),
        (["ssm:GetParameter"], f"{arn}:ssm:{region}::parameter/aws/service/deeplearning/*"),
    ]
    if eia:
        accelerators = f"{arn}:elastic-inference:{region}:{account}:elastic-inference-accelerator/*"
        checks.append((["ec2:RunInstances"], accelerators))
    return checks


# The condition values a real launch sends, so tag- and service-conditioned grants evaluate.
SIMULATION_CONTEXT = [
    {
        "ContextKeyName": f"aws:RequestTag/{TAG_MANAGED}",
        "ContextKeyValues": ["true"],
        "ContextKeyType": "string",
    },
    {
        "ContextKeyName": "iam:PassedToService",
        "ContextKeyValues": ["ec2.amazonaws.com"],
        "ContextKeyType": "string",
    },
]


def missing_actions(
    clients: AwsClients, caller_arn: str, checks: list[tuple[list[str], str]]
) -> list[str] | None:
    """Actions the caller's policies would deny, or None when the simulation itself is not
    available (not allowed, the root user, an endpoint without it): then we cannot tell."""
    principal = principal_arn(caller_arn)
    if principal is None:
        return None
    denied: set[str] = set()
    try:
        for actions, resource in checks:
            found = clients.iam.simulate_principal_policy(
                PolicySourceArn=principal,
                ActionNames=actions,
                ResourceArns=[resource],
                ContextEntries=SIMULATION_CONTEXT,
            )
            for result in found["EvaluationResults"]:
                if result["EvalDecision"] != "allowed":
                    denied.add(result["EvalActionName"])
    except Exception:  # a courtesy check: it must never be the reason a launch fails
        return None
    return sorted(denied)
