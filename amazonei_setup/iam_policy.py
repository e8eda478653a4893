"""The least-privilege policy a person needs to run this tool (launch, status, verify,
teardown, sweep), and a pre-flight check of it with iam:SimulatePrincipalPolicy.

Every action is named (no `*` action); IAM writes are confined to our path
(`/amazonei-setup/`), iam:PassRole to our roles and to EC2; EC2 deletes need our tag.
"""

from __future__ import annotations

from typing import Any

from amazonei_setup.aws import AwsClients
from amazonei_setup.resources.naming import IAM_PATH, PREFIX, TAG_EXPIRES, TAG_MANAGED

EC2_READ = [
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypeOfferings",
    "ec2:DescribeInstances",
    "ec2:DescribeKeyPairs",
    "ec2:DescribeRegions",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcAttribute",
    "ec2:DescribeVpcEndpointServices",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeVolumes",
    "ec2:DescribeVpcs",
]
EC2_CREATE = [  # only with our managed tag in the request
    "ec2:CreateKeyPair",
    "ec2:CreateSecurityGroup",
    "ec2:CreateVpcEndpoint",
    "ec2:ImportKeyPair",
    "ec2:RunInstances",
]
EC2_OWNED = [  # only on resources that carry our managed tag
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:DeleteKeyPair",
    "ec2:DeleteSecurityGroup",
    "ec2:DeleteVpcEndpoints",
    "ec2:RevokeSecurityGroupIngress",
    "ec2:StartInstances",
    "ec2:TerminateInstances",
]
IAM_OWNED = [
    "iam:AddRoleToInstanceProfile",
    "iam:CreateInstanceProfile",
    "iam:CreateRole",
    "iam:DeleteInstanceProfile",
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:GetInstanceProfile",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:PutRolePolicy",
    "iam:RemoveRoleFromInstanceProfile",
    "iam:TagInstanceProfile",
    "iam:TagRole",
    "iam:UntagInstanceProfile",
    "iam:UntagRole",
]


def caller_policy() -> dict[str, Any]:
    managed = {"StringEquals": {f"aws:ResourceTag/{TAG_MANAGED}": "true"}}
    requested = {"StringEquals": {f"aws:RequestTag/{TAG_MANAGED}": "true"}}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Discover", "Effect": "Allow", "Action": EC2_READ, "Resource": "*"},
            {
                "Sid": "CreateTaggedResources",
                "Effect": "Allow",
                "Action": EC2_CREATE,
                "Resource": [
                    "arn:aws:ec2:*:*:instance/*",
                    "arn:aws:ec2:*:*:volume/*",
                    "arn:aws:ec2:*:*:security-group/*",
                    "arn:aws:ec2:*:*:key-pair/*",
                    "arn:aws:ec2:*:*:vpc-endpoint/*",
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
                    "arn:aws:ec2:*::image/*",
                    "arn:aws:ec2:*:*:vpc/*",
                    "arn:aws:ec2:*:*:subnet/*",
                    "arn:aws:ec2:*:*:network-interface/*",
                    "arn:aws:ec2:*:*:security-group/*",
                    "arn:aws:ec2:*:*:key-pair/*",
                ],
            },
            {
                "Sid": "TagOnCreate",
                "Effect": "Allow",
                "Action": ["ec2:CreateTags"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"ec2:CreateAction": [a.split(":")[1] for a in EC2_CREATE]}
                },
            },
            {
                "Sid": "ShareTheEndpoint",
                "Effect": "Allow",
                "Action": ["ec2:CreateTags", "ec2:DeleteTags", "ec2:ModifyVpcEndpoint"],
                "Resource": "arn:aws:ec2:*:*:vpc-endpoint/*",
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
                "Sid": "PrivateDnsForTheEndpoint",
                "Effect": "Allow",
                "Action": ["ec2:ModifyVpcAttribute"],
                "Resource": "arn:aws:ec2:*:*:vpc/*",
            },
            {
                "Sid": "ChangeOnlyOurs",
                "Effect": "Allow",
                "Action": EC2_OWNED,
                "Resource": "*",
                "Condition": managed,
            },
            {
                "Sid": "OurRolesOnly",
                "Effect": "Allow",
                "Action": IAM_OWNED,
                "Resource": [
                    f"arn:aws:iam::*:role{IAM_PATH}*",
                    f"arn:aws:iam::*:instance-profile{IAM_PATH}*",
                ],
            },
            {
                "Sid": "PassOurRolesToEc2",
                "Effect": "Allow",
                "Action": ["iam:PassRole"],
                "Resource": f"arn:aws:iam::*:role{IAM_PATH}*",
                "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
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
                "Resource": "arn:aws:ssm:*::parameter/aws/service/*",
            },
            {
                "Sid": "AgentReports",
                "Effect": "Allow",
                "Action": ["ssm:DeleteParameters", "ssm:GetParameter", "ssm:GetParametersByPath"],
                "Resource": f"arn:aws:ssm:*:*:parameter/{PREFIX}/*",
            },
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


def launch_checks(region: str, account: str, role_name: str) -> list[tuple[list[str], str]]:
    """What a launch does, as (actions, a representative resource ARN) groups to simulate."""
    return [
        (EC2_READ, "*"),
        (["ec2:RunInstances"], f"arn:aws:ec2:{region}:{account}:instance/*"),
        (["ec2:CreateSecurityGroup"], f"arn:aws:ec2:{region}:{account}:security-group/*"),
        (["ec2:CreateKeyPair"], f"arn:aws:ec2:{region}:{account}:key-pair/*"),
        (["ec2:CreateVpcEndpoint"], f"arn:aws:ec2:{region}:{account}:vpc-endpoint/*"),
        (
            ["iam:CreateRole", "iam:PutRolePolicy", "iam:TagRole", "iam:PassRole"],
            f"arn:aws:iam::{account}:role{IAM_PATH}{role_name}",
        ),
        (
            ["iam:CreateInstanceProfile", "iam:AddRoleToInstanceProfile"],
            f"arn:aws:iam::{account}:instance-profile{IAM_PATH}{role_name}",
        ),
        (["ssm:GetParameter"], f"arn:aws:ssm:{region}::parameter/aws/service/deeplearning/*"),
    ]


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
