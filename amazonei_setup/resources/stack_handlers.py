"""What CloudFormation's resource handlers call with the caller's credentials, per resource
type: the `handlers.create/read/update/delete.permissions` of AWS's resource provider schemas
(docs/DESIGN.md, "CloudFormation handler permissions"), kept in stack_handlers.json; the stack
policy grants all of them (split in two managed policies to fit IAM's size limit).

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


def handlers_of(*types: str) -> dict[str, tuple[str, ...]]:
    """The handler actions of each CloudFormation type, as the stack policy grants them: the
    schemas' lists less NOT_SET (stack_handlers.json)."""
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
