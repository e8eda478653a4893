"""The calls CloudFormation makes with the caller's own credentials, for the strict caller mode.

Without a service role, CloudFormation creates, reads (drift detection) and deletes a stack's
resources by calling their services as the caller (forward access sessions), so the caller's
policy must allow those calls too (policy/stacks.py, stack_handlers). moto builds a stack's
resources in its own backends and calls nothing, so the mode stands in for the handlers: for
each resource of the stack, the API requests its handler makes, built from the resource as it
stands (its id, path, tags; an instance's launch template data merged under its own
properties, as EC2 merges them before authorizing), and decided like the caller's own.

These are the main calls of each handler (the create, delete and read operations themselves,
tagging on create, PassRole; the instance's whole read: its attribute, credit, interface and
association reads), not every permission the resource provider schemas list; the schemas' full
lists are policy/stacks.py's business. moto 5 has no State Manager associations, so a test that
wants the instance's DescribeAssociation decided stands in for them (`Lookup.associations`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from amazonei_sandbox.iam_requests import Request
from amazonei_sandbox.iam_resources import Lookup
from amazonei_setup.resources.naming import TAG_ACCELERATOR

Calls = Iterator[tuple[str, str, dict[str, Any]]]  # (service, operation, parameters)


@dataclass
class Stack:
    """What a handler knows of the stack: its resources' physical ids by type, and the tags
    CloudFormation sends for each (the template's `Tags` and the stack's own)."""

    by_type: dict[str, list[str]] = field(default_factory=dict)
    tags: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def tags_of(self, physical: str, found: Any = None) -> list[dict[str, str]]:
        return self.tags.get(physical) or _tags(found)


Handler = Callable[[Lookup, str, Stack], Calls]


def stack_resources(lookup: Lookup, stack: str) -> list[tuple[str, str, str]]:
    """(logical id, resource type, physical id) of each resource of a stack."""
    try:
        found = lookup.client("cloudformation").list_stack_resources(StackName=stack)
    except Exception:
        return []
    return [
        (str(r["LogicalResourceId"]), str(r["ResourceType"]), str(r["PhysicalResourceId"]))
        for r in found["StackResourceSummaries"]
        if r.get("PhysicalResourceId")
    ]


def _stack(lookup: Lookup, stack: str, resources: list[tuple[str, str, str]]) -> Stack:
    cfn = lookup.client("cloudformation")
    known = Stack()
    try:
        body = cfn.get_template(StackName=stack)["TemplateBody"]
        template = body if isinstance(body, dict) else json.loads(body)
        stack_tags = _tags(cfn.describe_stacks(StackName=stack)["Stacks"][0].get("Tags"))
    except Exception:
        template, stack_tags = {}, []
    for logical, resource_type, physical in resources:
        known.by_type.setdefault(resource_type, []).append(physical)
        own = template.get("Resources", {}).get(logical, {}).get("Properties", {}).get("Tags")
        if isinstance(own, list):
            merged = {t["Key"]: t["Value"] for t in [*stack_tags, *_tags(own)]}
            known.tags[physical] = [{"Key": k, "Value": v} for k, v in merged.items()]
    return known


def handler_requests(lookup: Lookup, stack: str, phase: str, account: str) -> list[Request]:
    """The requests the `phase` ("create", "read", "delete") handlers of `stack` make."""
    resources = stack_resources(lookup, stack)
    if phase == "delete":
        resources = list(reversed(resources))
    known = _stack(lookup, stack, resources)
    requests = []
    for _, resource_type, physical in resources:
        calls = _HANDLERS.get(resource_type, {}).get(phase)
        if calls is None:
            continue
        for service, operation, params in calls(lookup, physical, known):
            requests.append(Request(service, operation, params, lookup.region, account))
    return requests


def parameter_requests(request: Request) -> list[Request]:
    """CloudFormation reads each SSM-typed template parameter (`AWS::SSM::Parameter::Value<..>`)
    with ssm:GetParameters as the caller, when the stack or change set is made."""
    try:
        template = json.loads(str(request.params.get("TemplateBody", "")))
    except ValueError:
        return []
    given = {
        p["ParameterKey"]: p.get("ParameterValue") for p in request.params.get("Parameters", [])
    }
    names = [
        given.get(key) or spec.get("Default")
        for key, spec in template.get("Parameters", {}).items()
        if str(spec.get("Type", "")).startswith("AWS::SSM::Parameter::Value<")
    ]
    return [
        Request("ssm", "GetParameters", {"Names": [name]}, request.region, request.account)
        for name in names
        if name
    ]


def _tags(items: Any) -> list[dict[str, str]]:
    return [{"Key": t["Key"], "Value": t["Value"]} for t in items or []]


def _spec(kind: str, tags: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": tags}] if tags else []


def _role_create(lookup: Lookup, name: str, stack: Stack) -> Calls:
    iam = lookup.client("iam")
    role = iam.get_role(RoleName=name)["Role"]
    tags = stack.tags_of(name, role.get("Tags"))
    yield "iam", "CreateRole", {"RoleName": name, "Path": role["Path"], "Tags": tags}
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        yield "iam", "PutRolePolicy", {"RoleName": name, "PolicyName": policy}


def _role_read(lookup: Lookup, name: str, stack: Stack) -> Calls:
    yield "iam", "GetRole", {"RoleName": name}
    yield "iam", "ListRolePolicies", {"RoleName": name}


def _role_delete(lookup: Lookup, name: str, stack: Stack) -> Calls:
    for policy in lookup.client("iam").list_role_policies(RoleName=name)["PolicyNames"]:
        yield "iam", "DeleteRolePolicy", {"RoleName": name, "PolicyName": policy}
    yield "iam", "DeleteRole", {"RoleName": name}


def _profile_roles(lookup: Lookup, name: str) -> tuple[str, list[str]]:
    profile = lookup.client("iam").get_instance_profile(InstanceProfileName=name)
    found = profile["InstanceProfile"]
    return str(found["Path"]), [str(r["RoleName"]) for r in found.get("Roles", [])]


def _profile_create(lookup: Lookup, name: str, stack: Stack) -> Calls:
    path, roles = _profile_roles(lookup, name)
    yield "iam", "CreateInstanceProfile", {"InstanceProfileName": name, "Path": path}
    for role in roles:
        yield "iam", "AddRoleToInstanceProfile", {"InstanceProfileName": name, "RoleName": role}


def _profile_delete(lookup: Lookup, name: str, stack: Stack) -> Calls:
    for role in _profile_roles(lookup, name)[1]:
        yield (
            "iam",
            "RemoveRoleFromInstanceProfile",
            {"InstanceProfileName": name, "RoleName": role},
        )
    yield "iam", "DeleteInstanceProfile", {"InstanceProfileName": name}


def _group_create(lookup: Lookup, group_id: str, stack: Stack) -> Calls:
    group = lookup.client("ec2").describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    yield (
        "ec2",
        "CreateSecurityGroup",
        {
            "GroupName": group["GroupName"],
            "VpcId": group["VpcId"],
            "TagSpecifications": _spec(
                "security-group", stack.tags_of(group_id, group.get("Tags"))
            ),
        },
    )
    if group.get("IpPermissions"):
        yield "ec2", "AuthorizeSecurityGroupIngress", {"GroupId": group_id}


def _endpoint_create(lookup: Lookup, endpoint_id: str, stack: Stack) -> Calls:
    ec2 = lookup.client("ec2")
    found = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"][0]
    yield (
        "ec2",
        "CreateVpcEndpoint",
        {
            "VpcId": found["VpcId"],
            "ServiceName": found["ServiceName"],
            "SubnetIds": found.get("SubnetIds", []),
            "SecurityGroupIds": [g["GroupId"] for g in found.get("Groups", [])],
            "TagSpecifications": _spec(
                "vpc-endpoint", stack.tags_of(endpoint_id, found.get("Tags"))
            ),
        },
    )


def _key_pair(lookup: Lookup, name: str) -> dict[str, Any]:
    return dict(lookup.client("ec2").describe_key_pairs(KeyNames=[name])["KeyPairs"][0])


def _key_create(lookup: Lookup, name: str, stack: Stack) -> Calls:
    pair = _key_pair(lookup, name)
    yield (
        "ec2",
        "CreateKeyPair",
        {
            "KeyName": name,
            "TagSpecifications": _spec("key-pair", stack.tags_of(name, pair.get("Tags"))),
        },
    )
    yield (
        "ssm",
        "PutParameter",
        {"Name": f"/ec2/keypair/{pair['KeyPairId']}", "Type": "SecureString"},
    )


def _key_delete(lookup: Lookup, name: str, stack: Stack) -> Calls:
    pair = _key_pair(lookup, name)
    yield "ec2", "DeleteKeyPair", {"KeyPairId": pair["KeyPairId"]}
    yield "ssm", "DeleteParameter", {"Name": f"/ec2/keypair/{pair['KeyPairId']}"}


def _template_create(lookup: Lookup, template_id: str, stack: Stack) -> Calls:
    ec2 = lookup.client("ec2")
    found = ec2.describe_launch_templates(LaunchTemplateIds=[template_id])["LaunchTemplates"][0]
    yield (
        "ec2",
        "CreateLaunchTemplate",
        {
            "LaunchTemplateName": found["LaunchTemplateName"],
            "TagSpecifications": _spec(
                "launch-template", stack.tags_of(template_id, found.get("Tags"))
            ),
        },
    )


def _instance_create(lookup: Lookup, instance_id: str, stack: Stack) -> Calls:
    """RunInstances as EC2 authorizes it: the launch template's data under the instance's own."""
    ec2 = lookup.client("ec2")
    reservation = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]
    instance = reservation["Instances"][0]
    tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
    template_id = next(iter(stack.by_type.get("AWS::EC2::LaunchTemplate", [])), None)
    request: dict[str, Any] = {}
    if template_id:
        versions = ec2.describe_launch_template_versions(LaunchTemplateId=template_id)
        request.update(versions["LaunchTemplateVersions"][-1]["LaunchTemplateData"])
        request["LaunchTemplate"] = {"LaunchTemplateId": template_id}
    own = stack.tags_of(
        instance_id, [t for t in instance.get("Tags", []) if not t["Key"].startswith("aws:")]
    )
    specs = [s for s in request.get("TagSpecifications", []) if s["ResourceType"] != "instance"]
    request.update(
        ImageId=instance["ImageId"],
        SubnetId=instance["SubnetId"],
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[*_spec("instance", own), *specs],
    )
    request.setdefault(
        "SecurityGroupIds", [g["GroupId"] for g in instance.get("SecurityGroups", [])]
    )
    if instance.get("KeyName"):
        request["KeyName"] = instance["KeyName"]
    if instance.get("IamInstanceProfile"):
        request["IamInstanceProfile"] = {"Arn": instance["IamInstanceProfile"]["Arn"]}
    if tags.get(TAG_ACCELERATOR, "none").startswith("eia"):  # moto keeps no accelerator
        request["ElasticInferenceAccelerators"] = [{"Type": tags[TAG_ACCELERATOR], "Count": 1}]
    yield "ec2", "RunInstances", request


def _instance_read(lookup: Lookup, instance_id: str, stack: Stack) -> Calls:
    """The read handler (drift detection): the instance, an attribute, its credit
    specification and network interfaces, and each State Manager association on it."""
    yield "ec2", "DescribeInstances", {"InstanceIds": [instance_id]}
    yield (
        "ec2",
        "DescribeInstanceAttribute",
        {"InstanceId": instance_id, "Attribute": "disableApiTermination"},
    )
    yield "ec2", "DescribeInstanceCreditSpecifications", {"InstanceIds": [instance_id]}
    attached = [{"Name": "attachment.instance-id", "Values": [instance_id]}]
    yield "ec2", "DescribeNetworkInterfaces", {"Filters": attached}
    filters = [{"key": "InstanceId", "value": instance_id}]
    yield "ssm", "ListAssociations", {"AssociationFilterList": filters}
    for association in lookup.associations(instance_id):
        yield "ssm", "DescribeAssociation", {"AssociationId": association}


def _one(service: str, operation: str, key: str, plural: bool = False) -> Handler:
    def calls(lookup: Lookup, physical: str, stack: Stack) -> Calls:
        yield service, operation, {key: [physical] if plural else physical}

    return calls


_HANDLERS: dict[str, dict[str, Handler]] = {
    "AWS::IAM::Role": {"create": _role_create, "read": _role_read, "delete": _role_delete},
    "AWS::IAM::InstanceProfile": {
        "create": _profile_create,
        "read": _one("iam", "GetInstanceProfile", "InstanceProfileName"),
        "delete": _profile_delete,
    },
    "AWS::EC2::SecurityGroup": {
        "create": _group_create,
        "read": _one("ec2", "DescribeSecurityGroups", "GroupIds", plural=True),
        "delete": _one("ec2", "DeleteSecurityGroup", "GroupId"),
    },
    "AWS::EC2::VPCEndpoint": {
        "create": _endpoint_create,
        "read": _one("ec2", "DescribeVpcEndpoints", "VpcEndpointIds", plural=True),
        "delete": _one("ec2", "DeleteVpcEndpoints", "VpcEndpointIds", plural=True),
    },
    "AWS::EC2::KeyPair": {
        "create": _key_create,
        "read": _one("ec2", "DescribeKeyPairs", "KeyNames", plural=True),
        "delete": _key_delete,
    },
    "AWS::EC2::LaunchTemplate": {
        "create": _template_create,
        "read": _one("ec2", "DescribeLaunchTemplateVersions", "LaunchTemplateId"),
        "delete": _one("ec2", "DeleteLaunchTemplate", "LaunchTemplateId"),
    },
    "AWS::EC2::Instance": {
        "create": _instance_create,
        "read": _instance_read,
        "delete": _one("ec2", "TerminateInstances", "InstanceIds", plural=True),
    },
}
