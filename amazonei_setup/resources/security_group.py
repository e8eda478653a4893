"""Security groups: the instance group (SSH from one address, or nothing) and the endpoint group
(HTTPS from the instance group only). Ingress is synced to exactly what the deployment needs."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from amazonei_setup.aws import AwsClients, aws_errors, is_error
from amazonei_setup.resources.naming import tag_specifications


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
    from amazonei_setup.resources.naming import tag_dict

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
        try:
            clients.ec2.delete_security_group(GroupId=group_id)
        except Exception as exc:
            if is_error(exc, "InvalidGroup.NotFound"):
                return False
            raise
    return True
