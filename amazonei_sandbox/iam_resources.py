"""What one API request names or creates, per service, as IAM sees it (for iam_requests.py):
each resource's type (the Service Authorization Reference's name), the values its ARN format
takes, the tags the request puts on it and the tags it already carries.

The state of the account (does the role exist yet, under which path; an instance's tags; a
stack's id) is read by a Lookup with the sandbox owner's credentials, never the caller's.
IAM entities that do not exist are named without a path (docs/DESIGN.md, "How AWS really
answers"); a stack or stack set not made yet has `*` for its id.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# EC2 ids by prefix (the reference's resource type names).
EC2_ID_TYPES = {
    "i-": "instance",
    "sg-": "security-group",
    "subnet-": "subnet",
    "vpc-": "vpc",
    "vpce-": "vpc-endpoint",
    "vol-": "volume",
    "ami-": "image",
    "key-": "key-pair",
    "lt-": "launch-template",
    "eni-": "network-interface",
    "rtb-": "route-table",
}
_EC2_ID_PARAMS = ("Id", "Ids", "Resources")
# What each EC2 create makes (before it has an id: `*`).
EC2_CREATES = {
    "RunInstances": ("instance", "volume", "network-interface"),
    "CreateSecurityGroup": ("security-group",),
    "CreateVpcEndpoint": ("vpc-endpoint",),
    "CreateLaunchTemplate": ("launch-template",),
    "CreateVolume": ("volume",),
}
_CLIENT_LOCK = threading.Lock()
SESSION_DOCUMENT = "SSM-SessionManagerRunShell"  # StartSession's document when none is named


@dataclass(frozen=True)
class Request:
    """One API call as the client made it (botocore's service name and parameters)."""

    service: str
    operation: str
    params: dict[str, Any]
    region: str
    account: str


@dataclass(frozen=True)
class Named:
    """One resource a request names or creates."""

    resource_type: str
    values: tuple[str, ...]  # the ARN format's variables after partition, region, account
    request_tags: dict[str, str] | None = None
    resource_tags: dict[str, str] | None = None
    tag_keys: list[str] | None = None  # tags a request removes
    created: bool = False
    prefix: str | None = None
    in_account: bool = True  # False: AWS's own (public images and parameters)
    extra: dict[str, Any] = field(default_factory=dict)


class Lookup:
    """The account's state, read with the owner's credentials through `session_for(region)`."""

    def __init__(self, session_for: Callable[[str], Any], region: str) -> None:
        self._session_for = session_for
        self.region = region
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        with _CLIENT_LOCK:  # botocore's client creation races across threads (shared loader)
            if service not in self._clients:
                session = self._session_for(self.region)
                self._clients[service] = session.client(service, region_name=self.region)
            return self._clients[service]

    def ec2_tags(self, ids: list[str]) -> dict[str, dict[str, str]]:
        if not ids:
            return {}
        found: dict[str, dict[str, str]] = {i: {} for i in ids}
        pages = self.client("ec2").get_paginator("describe_tags")
        for page in pages.paginate(Filters=[{"Name": "resource-id", "Values": ids}]):
            for tag in page["Tags"]:
                found.setdefault(tag["ResourceId"], {})[tag["Key"]] = tag["Value"]
        return found

    def default_group(self, subnet_id: str) -> str | None:
        """The default security group of a subnet's VPC (what RunInstances uses without any)."""
        ec2 = self.client("ec2")
        try:
            vpc = ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]["VpcId"]
            groups = ec2.describe_security_groups(
                Filters=[
                    {"Name": "vpc-id", "Values": [vpc]},
                    {"Name": "group-name", "Values": ["default"]},
                ]
            )["SecurityGroups"]
        except Exception:
            return None
        return str(groups[0]["GroupId"]) if groups else None

    def key_pair_name(self, key_pair_id: str) -> str:
        try:
            pairs = self.client("ec2").describe_key_pairs(KeyPairIds=[key_pair_id])["KeyPairs"]
            return str(pairs[0]["KeyName"])
        except Exception:
            return key_pair_id

    def role(self, name: str) -> tuple[str, dict[str, str]] | None:
        """(path, tags) of an existing role, None when there is none."""
        try:
            role = self.client("iam").get_role(RoleName=name)["Role"]
        except Exception:
            return None
        return str(role.get("Path", "/")), {t["Key"]: t["Value"] for t in role.get("Tags", [])}

    def profile(self, name: str) -> tuple[str, dict[str, str]] | None:
        try:
            found = self.client("iam").get_instance_profile(InstanceProfileName=name)
        except Exception:
            return None
        profile = found["InstanceProfile"]
        tags = {t["Key"]: t["Value"] for t in profile.get("Tags", [])}
        return str(profile.get("Path", "/")), tags

    def profile_role(self, name_or_arn: str) -> str | None:
        """The role in an instance profile (named by name or ARN), None when none."""
        name = name_or_arn.rsplit("/", 1)[-1]
        try:
            found = self.client("iam").get_instance_profile(InstanceProfileName=name)
        except Exception:
            return None
        roles = found["InstanceProfile"].get("Roles", [])
        return str(roles[0]["RoleName"]) if roles else None

    def parameter_tags(self, name: str) -> dict[str, str] | None:
        try:
            found = self.client("ssm").list_tags_for_resource(
                ResourceType="Parameter", ResourceId=name
            )
        except Exception:
            return None
        return {t["Key"]: t["Value"] for t in found.get("TagList", [])}

    def associations(self, instance_id: str) -> list[str]:
        """The ids of the State Manager associations that apply to an instance (moto 5 has no
        associations: none, unless a test stands in for State Manager)."""
        try:
            found = self.client("ssm").list_associations(
                AssociationFilterList=[{"key": "InstanceId", "value": instance_id}]
            )
        except Exception:
            return []
        return [str(a["AssociationId"]) for a in found.get("Associations", [])]

    def stack(self, name_or_arn: str) -> tuple[str, str] | None:
        """(name, id) of a live stack, None when there is none."""
        if name_or_arn.startswith("arn:"):
            parts = name_or_arn.split(":", 5)[5].split("/")
            return parts[1], parts[2]
        try:
            stacks = self.client("cloudformation").describe_stacks(StackName=name_or_arn)
        except Exception:
            return None
        stack_id = str(stacks["Stacks"][0]["StackId"])
        return name_or_arn, stack_id.rsplit("/", 1)[-1]

    def change_set_stack(self, change_set_arn: str) -> tuple[str, str] | None:
        try:
            found = self.client("cloudformation").describe_change_set(ChangeSetName=change_set_arn)
        except Exception:
            return None
        return self.stack(str(found["StackId"]))

    def stack_set_id(self, name: str) -> str | None:
        try:
            found = self.client("cloudformation").describe_stack_set(StackSetName=name)
        except Exception:
            return None
        return str(found["StackSet"]["StackSetId"]).split(":", 1)[-1]


def resources_of(request: Request, lookup: Lookup) -> list[Named]:
    """What `request` names or creates; an unknown service raises UnmappedRequest."""
    from amazonei_sandbox.iam_reference import UnmappedRequest

    reader = _READERS.get(request.service)
    if reader is None:
        if request.service in _NOTHING_NAMED:
            return []
        raise UnmappedRequest(f"the sandbox does not map {request.service} requests to ARNs")
    return reader(request, lookup)


def _tags(items: Any) -> dict[str, str]:
    return {str(t["Key"]): str(t.get("Value", "")) for t in items or []}


def _ec2(request: Request, lookup: Lookup) -> list[Named]:
    params, op = request.params, request.operation
    ids: list[str] = []
    for key, value in params.items():
        if key.endswith(_EC2_ID_PARAMS) and key != "ClientToken":
            ids += [value] if isinstance(value, str) else [v for v in value if isinstance(v, str)]
    template = params.get("LaunchTemplate")
    if isinstance(template, dict) and template.get("LaunchTemplateId"):
        ids.append(str(template["LaunchTemplateId"]))
    if op == "RunInstances" and not params.get("SecurityGroupIds") and "SubnetId" in params:
        group = lookup.default_group(str(params["SubnetId"]))  # EC2 puts it in the VPC's default
        ids += [group] if group else []
    tags = lookup.ec2_tags([i for i in ids if not i.startswith("ami-")])
    request_tags = _tags(params.get("Tags")) if op == "CreateTags" else None
    removed = [str(t["Key"]) for t in params.get("Tags", [])] if op == "DeleteTags" else None
    named = []
    for resource_id in dict.fromkeys(ids):
        kind = next((k for p, k in EC2_ID_TYPES.items() if resource_id.startswith(p)), None)
        if kind is None:
            continue
        value = lookup.key_pair_name(resource_id) if kind == "key-pair" else resource_id
        named.append(Named(kind, (value,), request_tags, tags.get(resource_id, {}), removed,
                           in_account=kind != "image"))  # fmt: skip
    specs = {s["ResourceType"]: _tags(s.get("Tags")) for s in params.get("TagSpecifications", [])}
    if op in ("CreateKeyPair", "ImportKeyPair"):
        tagged = specs.get("key-pair")
        named.append(Named("key-pair", (str(params["KeyName"]),), tagged, created=True))
    elif "KeyName" in params:
        named.append(Named("key-pair", (str(params["KeyName"]),), resource_tags={}))
    for kind in EC2_CREATES.get(op, ()):
        named.append(Named(kind, ("*",), specs.get(kind), created=True))
    if op == "RunInstances" and params.get("ElasticInferenceAccelerators"):
        named.append(Named("elastic-inference", ("*",)))
    return named


def role_value(name: str, path: str | None) -> str:
    """RoleNameWithPath: `path/name` without the leading slash; a missing entity has none."""
    return f"{(path or '/').lstrip('/')}{name}"


def _iam(request: Request, lookup: Lookup) -> list[Named]:
    params, op = request.params, request.operation
    named = []
    tags = _tags(params.get("Tags")) if "Tags" in params else None
    removed = list(params["TagKeys"]) if "TagKeys" in params else None
    for key, kind, find in (
        ("RoleName", "role", lookup.role),
        ("InstanceProfileName", "instance-profile", lookup.profile),
    ):
        if key not in params:
            continue
        name = str(params[key])
        if op in ("CreateRole", "CreateInstanceProfile"):
            value = role_value(name, params.get("Path"))
            named.append(Named(kind, (value,), tags, created=True))
            continue
        found = find(name)
        path, existing = found if found else (None, None)
        named.append(Named(kind, (role_value(name, path),), tags, existing, removed))
    source = str(params.get("PolicySourceArn", ""))
    if ":user/" in source or ":role/" in source:
        kind, value = source.split(":", 5)[5].split("/", 1)
        named.append(Named(kind, (value,)))
    return named


def _parameter(name: str, lookup: Lookup, tags: dict[str, str] | None, **extra: Any) -> Named:
    public = name.lstrip("/").startswith("aws/")
    existing = None if public else lookup.parameter_tags(name)
    return Named("parameter", (name.lstrip("/"),), tags, existing, in_account=not public,
                 extra=extra)  # fmt: skip


def _ssm(request: Request, lookup: Lookup) -> list[Named]:
    params, op = request.params, request.operation
    tags = _tags(params.get("Tags")) if "Tags" in params else None
    named = []
    names = [params[k] for k in ("Name", "Path") if k in params] + list(params.get("Names", []))
    if params.get("ResourceType") == "Parameter":
        names.append(params["ResourceId"])
    extra = (
        {"ssm:Overwrite": str(bool(params.get("Overwrite"))).lower()}
        if op == "PutParameter"
        else {}
    )
    named += [_parameter(str(n), lookup, tags, **extra) for n in names]
    targets = [params["Target"]] if "Target" in params else list(params.get("InstanceIds", []))
    instance_tags = lookup.ec2_tags([t for t in targets if t.startswith("i-")])
    for target in targets:
        kind = "instance" if target.startswith("i-") else "managed-instance"
        named.append(Named(kind, (target,), resource_tags=instance_tags.get(target, {})))
    if "DocumentName" in params or op == "StartSession":
        named.append(Named("document", (str(params.get("DocumentName", SESSION_DOCUMENT)),)))
    if "SessionId" in params:
        named.append(Named("session", (str(params["SessionId"]),)))
    if "AssociationId" in params:
        named.append(Named("association", (str(params["AssociationId"]),)))
    return named


def _cloudformation(request: Request, lookup: Lookup) -> list[Named]:
    params, op = request.params, request.operation
    tags = _tags(params.get("Tags")) if "Tags" in params else None
    named = []
    creates = op == "CreateStack" or (
        op == "CreateChangeSet" and params.get("ChangeSetType") == "CREATE"
    )
    if "StackName" in params:
        found = None if creates else lookup.stack(str(params["StackName"]))
        name, stack_id = found or (str(params["StackName"]), "*")
        named.append(Named("stack", (name, stack_id), tags, created=creates))
    elif str(params.get("ChangeSetName", "")).startswith("arn:"):
        found = lookup.change_set_stack(str(params["ChangeSetName"]))
        if found:
            named.append(Named("stack", found))
    if "StackSetName" in params:
        name = str(params["StackSetName"])
        stack_set_id = None if op == "CreateStackSet" else lookup.stack_set_id(name)
        named.append(Named("stackset", (name, stack_set_id or "*"), tags,
                           created=op == "CreateStackSet"))  # fmt: skip
    return named


def _s3(request: Request, lookup: Lookup) -> list[Named]:
    params = request.params
    if "Bucket" not in params:
        return []
    bucket = str(params["Bucket"])
    if "Delete" in params:
        keys = [str(o["Key"]) for o in params["Delete"].get("Objects", [])]
        return [Named("object", (bucket, key), in_account=False) for key in keys]
    if "Key" in params:
        return [Named("object", (bucket, str(params["Key"])), in_account=False)]
    return [Named("bucket", (bucket,), in_account=False)]


_READERS: dict[str, Callable[[Request, Lookup], list[Named]]] = {
    "ec2": _ec2,
    "iam": _iam,
    "ssm": _ssm,
    "cloudformation": _cloudformation,
    "s3": _s3,
}
# Services whose calls the tool makes name no resource IAM scopes (their optional resource
# types, an organization's roots and OUs or a quota, are granted on `*` in every policy, and a
# `*` resource never matches a narrower grant, so a wrong guess here cannot pass silently).
_NOTHING_NAMED = {"organizations", "service-quotas", "sts", "pricing"}
