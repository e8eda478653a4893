"""What CloudFormation's resource handlers call with the caller's credentials, per resource
type: the `handlers.create/read/update/delete.permissions` of AWS's resource provider schemas
(docs/DESIGN.md, "CloudFormation handler permissions"), kept in stack_handlers.json, and what
the stack policy grants of them today (GRANTED: see there why not all yet).

The file is made from the schemas cfn-lint ships (`derive`, run by the test that keeps it
current: tests/resources/test_stack_handlers.py), not at run time, so the tool needs no
cfn-lint. The schemas do not say which permission goes with which property; the only actions
left out are those of properties our templates never set (`NOT_SET`), each with its reason.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_name("stack_handlers.json")
HANDLERS = ("create", "read", "update", "delete")  # not `list`: CloudFormation never lists

# action -> why our templates never make a handler call it
NOT_SET: dict[str, dict[str, str]] = {
    "AWS::EC2::Instance": {
        "ssm:CreateAssociation": "SsmAssociations is never set",
        "ssm:DeleteAssociation": "SsmAssociations is never set",
        "ec2:AttachVolume": "Volumes is never set",
        "ec2:DetachVolume": "Volumes is never set",
        "ec2:MonitorInstances": "Monitoring is never set",
        "ec2:UnmonitorInstances": "Monitoring is never set",
        "ec2:ModifyInstanceCreditSpecification": "CreditSpecification is never set",
        "ec2:ModifyInstanceMaintenanceOptions": "MaintenanceOptions is never set",
        "ec2:ModifyInstancePlacement": "Tenancy, Affinity and HostId are never set",
        "ec2:ModifyPrivateDnsNameOptions": "PrivateDnsNameOptions is never set",
        # the launch template carries the instance's settings (profile, type, user data,
        # groups), never the instance's own properties, so no update modifies or stops it
        "ec2:ModifyInstanceAttribute": "InstanceType, UserData and the like are never set",
        "ec2:StopInstances": "no property set on the instance needs it stopped to change",
        "ec2:StartInstances": "no property set on the instance needs it stopped to change",
        "ec2:AssociateIamInstanceProfile": "IamInstanceProfile is never set on the instance",
        "ec2:DisassociateIamInstanceProfile": "IamInstanceProfile is never set on the instance",
        "ec2:ReplaceIamInstanceProfileAssociation": "IamInstanceProfile is never set on the "
        "instance",
    },
    "AWS::EC2::KeyPair": {"ec2:ImportKeyPair": "PublicKeyMaterial is never set (keys are made)"},
    "AWS::EC2::VPCEndpoint": {
        "vpc-lattice:CreateServiceNetworkVpcEndpointAssociation": "ServiceNetworkArn is never set",
        "vpc-lattice:DescribeServiceNetworkVpcEndpointAssociation": "ServiceNetworkArn is "
        "never set",
        "vpce:AllowMultiRegion": "ServiceRegion is never set",
    },
    "AWS::IAM::Role": {
        # granting it would let the caller attach any managed policy to the instance role
        "iam:AttachRolePolicy": "ManagedPolicyArns is never set",
        "iam:PutRolePermissionsBoundary": "PermissionsBoundary is never set",
        "iam:DeleteRolePermissionsBoundary": "PermissionsBoundary is never set",
    },
}


@cache
def _data() -> dict[str, list[str]]:
    loaded: dict[str, list[str]] = json.loads(DATA.read_text())
    return loaded


# What the stack policy grants today: the schemas' lists less NOT_SET do not fit beside the
# rest of the cloudformation policy under IAM's 6,144-character managed-policy limit (6,809
# with them; main's policy is at 6,117), so until that policy is split in two, the kinds
# grant these hand-kept lists, and tests/resources/test_stack_handlers.py shows the gap
# against the derived data (stack_handlers.json) as an expected failure.
GRANTED: dict[str, tuple[str, ...]] = {
    "AWS::IAM::Role": (
        "iam:CreateRole",
        "iam:DeleteRole",
        "iam:DeleteRolePolicy",
        "iam:GetRole",
        "iam:GetRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:ListRolePolicies",
        "iam:PutRolePolicy",
        "iam:TagRole",
        "iam:UntagRole",
    ),
    "AWS::IAM::InstanceProfile": (
        "iam:AddRoleToInstanceProfile",
        "iam:CreateInstanceProfile",
        "iam:DeleteInstanceProfile",
        "iam:GetInstanceProfile",
        "iam:PassRole",
        "iam:RemoveRoleFromInstanceProfile",
    ),
    "AWS::EC2::SecurityGroup": (
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:CreateSecurityGroup",
        "ec2:CreateTags",
        "ec2:DeleteSecurityGroup",
        "ec2:DescribeSecurityGroups",
        "ec2:RevokeSecurityGroupIngress",
    ),
    "AWS::EC2::VPCEndpoint": (
        "ec2:CreateTags",
        "ec2:CreateVpcEndpoint",
        "ec2:DeleteVpcEndpoints",
        "ec2:DescribeVpcEndpoints",
    ),
    "AWS::EC2::KeyPair": (
        "ec2:CreateKeyPair",
        "ec2:CreateTags",
        "ec2:DeleteKeyPair",
        "ec2:DescribeKeyPairs",
        "ssm:DeleteParameter",
        "ssm:PutParameter",
    ),
    "AWS::EC2::LaunchTemplate": (
        "ec2:CreateLaunchTemplate",
        "ec2:CreateLaunchTemplateVersion",
        "ec2:CreateTags",
        "ec2:DeleteLaunchTemplate",
        "ec2:DescribeLaunchTemplateVersions",
        "ec2:DescribeLaunchTemplates",
        "ec2:ModifyLaunchTemplate",
    ),
    "AWS::EC2::Instance": (
        "ec2:CreateTags",
        "ec2:DescribeInstances",
        "iam:PassRole",
        "ec2:RunInstances",
        "ec2:TerminateInstances",
    ),
}


def handlers_of(*types: str) -> dict[str, tuple[str, ...]]:
    """The handler actions the stack policy grants for each CloudFormation type (GRANTED)."""
    return {name: GRANTED[name] for name in types}


def derived_of(*types: str) -> dict[str, tuple[str, ...]]:
    """The schemas' handler actions of each type, less NOT_SET (stack_handlers.json)."""
    return {name: tuple(_data()[name]) for name in types}


def derive(types: list[str]) -> dict[str, list[str]]:
    """The handler actions of `types` from cfn-lint's copy of the provider schemas."""
    import cfnlint.data.schemas  # type: ignore[import-untyped]

    schemas = Path(cfnlint.data.schemas.__file__).parent
    index: dict[str, str] = json.loads((schemas / "providers" / "us-east-1.json").read_text())
    out: dict[str, list[str]] = {}
    for name in sorted(types):
        schema: dict[str, Any] = json.loads(
            (schemas / "resources" / f"{index[name]}.json").read_text()
        )
        handlers = schema.get("handlers", {})
        actions = {a for h in HANDLERS for a in handlers.get(h, {}).get("permissions", [])}
        out[name] = sorted(actions - set(NOT_SET.get(name, {})))
    return out


def data_json(handlers: dict[str, list[str]]) -> str:
    return json.dumps(handlers, indent=1) + "\n"
