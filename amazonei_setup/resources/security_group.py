"""Security groups: the instance group (SSH from one address, or nothing) and the endpoint group
(HTTPS from the instance group only). Ingress is synced to exactly what the deployment needs."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from amazonei_setup.aws.clients import AwsClients, aws_errors, is_error, unless_absent
from amazonei_setup.errors import AwsFailure
from amazonei_setup.resources.kind import (
    ApplyRun,
    Collect,
    DiscoverInput,
    Found,
    PlanInput,
    PlannedResource,
    ResourceKind,
    TagChange,
    TeardownAction,
    TeardownRun,
    TeardownStep,
    grouped,
)
from amazonei_setup.resources.naming import (
    TAG_DEPLOYMENT,
    endpoint_sg_name,
    instance_sg_name,
    tag_dict,
    tag_filters,
    tag_list,
    tag_specifications,
)
from amazonei_setup.resources.stack_form import (
    ENDPOINT_SG,
    INSTANCE_SG,
    StackInput,
    StackPart,
)
from amazonei_setup.resources.stack_handlers import handlers_of

if TYPE_CHECKING:
    from amazonei_setup.state.ledger import Ledger

# ENIs of terminated instances and deleted endpoints release groups with a delay on AWS.
DEPENDENCY_DELAYS_S = (2, 4, 8, 15, 30, 30, 30)


@dataclass(frozen=True, order=True)
class Rule:
    """One ingress permission: protocol, port range and a single source (CIDR or group id)."""

    protocol: str
    from_port: int
    to_port: int
    source: str

    def describe(self) -> str:
        ports = str(self.from_port) if self.from_port == self.to_port else f"{self.from_port}-"
        ports += "" if self.from_port == self.to_port else str(self.to_port)
        return f"{self.protocol}/{ports} from {self.source}"

    def permission(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "IpProtocol": self.protocol,
            "FromPort": self.from_port,
            "ToPort": self.to_port,
        }
        if self.source.startswith("sg-"):
            entry["UserIdGroupPairs"] = [{"GroupId": self.source}]
        elif ipaddress.ip_network(self.source).version == 6:
            entry["Ipv6Ranges"] = [{"CidrIpv6": self.source}]
        else:
            entry["IpRanges"] = [{"CidrIp": self.source}]
        return entry


def ssh_rule(cidr: str) -> Rule:
    return Rule("tcp", 22, 22, cidr)


def https_from_group(group_id: str) -> Rule:
    return Rule("tcp", 443, 443, group_id)


def rules_of(group: dict[str, Any]) -> set[Rule]:
    """Flatten AWS's nested IpPermissions into one Rule per source."""
    rules: set[Rule] = set()
    for perm in group.get("IpPermissions", []):
        protocol = str(perm.get("IpProtocol"))
        from_port = int(perm.get("FromPort", -1))
        to_port = int(perm.get("ToPort", -1))
        sources = [r["CidrIp"] for r in perm.get("IpRanges", [])]
        sources += [r["CidrIpv6"] for r in perm.get("Ipv6Ranges", [])]
        sources += [p["GroupId"] for p in perm.get("UserIdGroupPairs", [])]
        rules |= {Rule(protocol, from_port, to_port, source) for source in sources}
    return rules


def find(clients: AwsClients, vpc_id: str, group_name: str) -> dict[str, Any] | None:
    """The group with this name in this VPC: its id and its ingress rules."""
    return find_named(clients, vpc_id, [group_name]).get(group_name)


def find_named(clients: AwsClients, vpc_id: str, names: list[str]) -> dict[str, dict[str, Any]]:
    """The groups among `names` in this VPC, by name: one call for all of them."""
    with aws_errors(f"looking up security groups {', '.join(names)}"):
        groups = clients.ec2.describe_security_groups(
            Filters=[
                {"Name": "vpc-id", "Values": [vpc_id]},
                {"Name": "group-name", "Values": names},
            ]
        )["SecurityGroups"]
    return {
        g["GroupName"]: {"id": g["GroupId"], "name": g["GroupName"], "rules": rules_of(g)}
        for g in groups
        if g["GroupName"] in names
    }


def create(
    clients: AwsClients, vpc_id: str, group_name: str, description: str, tags: dict[str, str]
) -> str:
    with aws_errors(f"creating security group {group_name}"):
        try:
            created = clients.ec2.create_security_group(
                GroupName=group_name,
                Description=description,
                VpcId=vpc_id,
                TagSpecifications=tag_specifications(["security-group"], tags),
            )
        except Exception as exc:
            if not is_error(exc, "InvalidGroup.Duplicate"):
                raise
            # Created by a run that died before recording it: adopt it.
            existing = find(clients, vpc_id, group_name)
            if existing is None:
                raise
            return str(existing["id"])
    return str(created["GroupId"])


def sync_ingress(clients: AwsClients, group_id: str, current: set[Rule], wanted: set[Rule]):
    """Make the group's ingress exactly `wanted`: revoke strays, authorize what is missing."""
    stray = sorted(current - wanted)
    missing = sorted(wanted - current)
    with aws_errors(f"updating the ingress rules of {group_id}"):
        if stray:
            clients.ec2.revoke_security_group_ingress(
                GroupId=group_id, IpPermissions=[rule.permission() for rule in stray]
            )
        if missing:
            try:
                clients.ec2.authorize_security_group_ingress(
                    GroupId=group_id, IpPermissions=[rule.permission() for rule in missing]
                )
            except Exception as exc:
                if not is_error(exc, "InvalidPermission.Duplicate"):
                    raise


def find_tagged(clients: AwsClients, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Groups matching tag filters, with id, name, VPC and tags."""
    with aws_errors("listing security groups"):
        pages = clients.ec2.get_paginator("describe_security_groups").paginate(Filters=filters)
        groups = [g for page in pages for g in page["SecurityGroups"]]
    return [
        {
            "id": g["GroupId"],
            "name": g["GroupName"],
            "vpc_id": g.get("VpcId"),
            "tags": tag_dict(g.get("Tags")),
        }
        for g in groups
    ]


def delete(clients: AwsClients, group_id: str) -> bool:
    """Delete one group; False when already gone. DependencyViolation propagates: the caller
    retries it (ENIs of terminated instances and endpoints take a while to let go)."""
    with aws_errors(f"deleting security group {group_id}"):
        deleted = unless_absent(
            lambda: clients.ec2.delete_security_group(GroupId=group_id), "InvalidGroup.NotFound"
        )
    return deleted is not None


def delete_when_released(
    clients: AwsClients, group_id: str, sleep: Callable[[float], None], note: Callable[[str], None]
) -> None:
    """Delete a group, waiting (bounded) while network interfaces that held it drain."""
    delays = list(DEPENDENCY_DELAYS_S)
    while True:
        try:
            delete(clients, group_id)
            return
        except AwsFailure as exc:
            if exc.code != "DependencyViolation" or not delays:
                raise
            delay = delays.pop(0)
            note(f"{group_id} is still in use (network interfaces draining); retrying in {delay}s")
            sleep(delay)


@dataclass
class GroupDetails:
    """The ingress a group has now and the ingress it must have."""

    current: set[Rule] = field(default_factory=set)
    wanted: set[Rule] = field(default_factory=set)


class SecurityGroupKind(ResourceKind):
    """The instance group (SSH from one address, or nothing) and, with an EIA, the endpoint
    group (HTTPS from the instance group only)."""

    kind = "security-group"
    caller_actions: ClassVar[dict[str, tuple[str, ...]]] = {
        "read": ("ec2:DescribeSecurityGroups",),
        "create": ("ec2:CreateSecurityGroup",),
        "owned": (
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:DeleteSecurityGroup",
            "ec2:RevokeSecurityGroupIngress",
        ),
    }
    title = "security group"
    count_key = "security_groups"

    def needs_vpc(self) -> bool:
        return True

    def discover(self, look: DiscoverInput) -> Collect:
        profile = look.profile
        names = [instance_sg_name(profile.name)]
        if profile.has_eia:
            names.append(endpoint_sg_name(profile.name))
        found = look.pool.submit(find_named, look.clients, str(look.vpc_id), names)
        return lambda: (found.result(), 1)

    def plan(self, given: PlanInput) -> list[PlannedResource]:
        profile, discovery = given.profile, given.discovery
        existing: dict[str, Any] = discovery.existing.of(self.kind) or {}
        wanted: set[Rule] = set()
        if profile.access.mode == "ssh" and discovery.ssh_cidr:
            wanted.add(ssh_rule(discovery.ssh_cidr))
        purpose = (
            f"SSH from {discovery.ssh_cidr} only" if wanted else "no inbound access (SSM only)"
        )
        name = instance_sg_name(profile.name)
        groups = [self._group("instance_sg", name, existing.get(name), wanted, (), purpose)]
        if profile.has_eia:
            instance_group = existing.get(name)
            rules = {https_from_group(instance_group["id"] if instance_group else "<new>")}
            endpoint_name = endpoint_sg_name(profile.name)
            groups.append(
                self._group(
                    "endpoint_sg",
                    endpoint_name,
                    existing.get(endpoint_name),
                    rules,
                    ("instance_sg",),
                    "HTTPS from the instance group only",
                )
            )
        return groups

    def _group(
        self,
        key: str,
        name: str,
        found: dict[str, Any] | None,
        wanted: set[Rule],
        after: tuple[str, ...],
        purpose: str,
    ) -> PlannedResource:
        details = GroupDetails(found["rules"] if found else set(), wanted)
        if found is None:
            return PlannedResource(key, self.kind, name, "create", None, after, details, purpose)
        if found["rules"] != wanted:
            return PlannedResource(
                key, self.kind, name, "update", found["id"], after, details, "ingress differs"
            )
        return PlannedResource(key, self.kind, name, "reuse", found["id"], after, details)

    def step_calls(self, resource: PlannedResource) -> int:
        details: GroupDetails = resource.details
        if resource.action == "reuse":
            return 0
        if resource.action == "create":
            return 1 + int(bool(details.wanted))  # create, then authorize its ingress
        return int(bool(details.current - details.wanted)) + int(
            bool(details.wanted - details.current)
        )

    def apply(self, run: ApplyRun, resource: PlannedResource) -> str:
        details: GroupDetails = resource.details
        group_id = resource.id or create(
            run.clients,
            run.discovery.vpc_id,
            resource.name,
            f"amazonei-setup {run.profile.name}: {resource.why}",
            run.tags,
        )
        if resource.action == "create":
            run.remember(resource, group_id, owned=True)
        wanted = details.wanted
        if resource.key == "endpoint_sg":  # the instance group's id is known only now
            wanted = {https_from_group(run.ids["instance_sg"])}
        sync_ingress(run.clients, group_id, details.current, wanted)
        return group_id

    def inventory(
        self, clients: AwsClients, pool: ThreadPoolExecutor, name: str, region: str
    ) -> Future[list[Any]]:
        return pool.submit(find_tagged, clients, tag_filters(name))

    def region_inventory(self, clients: AwsClients, region: str) -> dict[str, list[Any]]:
        groups = find_tagged(clients, tag_filters())
        return grouped([(g["tags"].get(TAG_DEPLOYMENT, "?"), g) for g in groups])

    def retag(
        self, clients: AwsClients, found: Found, change: TagChange, ec2_ids: list[str]
    ) -> None:
        ec2_ids += [group["id"] for group in found.of(self.kind)]

    def teardown(self, found: Found, home: Path, ledger: Ledger) -> list[TeardownStep]:
        """Endpoint groups first: their rules reference the instance group."""
        groups = sorted(found.of(self.kind), key=lambda g: not g["name"].endswith("-endpoint"))
        firsts = tuple(f"sg:{g['id']}" for g in groups if g["name"].endswith("-endpoint"))
        return [
            TeardownStep(
                f"sg:{g['id']}",
                self.kind,
                (TeardownAction("delete", self.kind, g["name"], g["id"]),),
                () if g["name"].endswith("-endpoint") else firsts,
            )
            for g in groups
        ]

    def remove(self, run: TeardownRun, step: TeardownStep) -> list[TeardownAction]:
        for action in step.actions:
            delete_when_released(run.clients, action.id, run.sleep, run.note)
        return list(step.actions)

    stack_handlers: ClassVar[dict[str, tuple[str, ...]]] = handlers_of("AWS::EC2::SecurityGroup")
    # the endpoint's group is listed with its endpoint (resources/endpoint_stack.py)
    stack_records: ClassVar[dict[str, str]] = {
        INSTANCE_SG: "instance_sg",
        ENDPOINT_SG: "endpoint_sg",
    }

    def stack_part(self, given: StackInput, seat: int | None) -> StackPart:
        if seat is not None:
            return StackPart()
        name = given.profile.name
        group = stack_group(
            instance_sg_name(name),
            f"amazonei-setup {name}: the instances" + (" (SSH)" if given.ssh else ""),
            [stack_ingress(ssh_rule("SshCidr"), "SSH from the one source allowed (SshCidr)")]
            if given.ssh
            else [],
            given.tags,
        )
        return StackPart({INSTANCE_SG: group})


def stack_ingress(rule: Rule, description: str) -> dict[str, Any]:
    """A Rule of the direct engine as a CloudFormation ingress; its source names a Parameter
    (a CIDR) or a security group's logical id. Every rule says why it is there (scanners such
    as checkov's CKV_AWS_23 want that, and so does whoever reads the group later)."""
    entry: dict[str, Any] = {
        "IpProtocol": rule.protocol,
        "FromPort": rule.from_port,
        "ToPort": rule.to_port,
        "Description": description,
    }
    if rule.source.endswith("SecurityGroup"):
        entry["SourceSecurityGroupId"] = {"Ref": rule.source}
        return entry
    no_value = {"Ref": "AWS::NoValue"}
    entry["CidrIp"] = {"Fn::If": ["SshFromIpv6", no_value, {"Ref": rule.source}]}
    entry["CidrIpv6"] = {"Fn::If": ["SshFromIpv6", {"Ref": rule.source}, no_value]}
    return entry


def stack_group(name: str, description: str, ingress: list[Any], tags: dict[str, Any]) -> Any:
    """An AWS::EC2::SecurityGroup in the deployment's VPC (the VpcId parameter)."""
    properties: dict[str, Any] = {
        "GroupName": name,
        "GroupDescription": description,
        "VpcId": {"Ref": "VpcId"},
        "Tags": tag_list(tags),
    }
    if ingress:
        properties["SecurityGroupIngress"] = ingress
    return {"Type": "AWS::EC2::SecurityGroup", "Properties": properties}


KIND = SecurityGroupKind()
