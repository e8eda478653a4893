"""Read-only lookups that feed the wizard's choices and that discover.py has no helper for yet
(listing the VPCs, the AZ offerings of many types at once). Everything else comes from
discover.py and resources/ as it is.

Only Describe calls: a person who quits has caused no change in AWS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from amazonei_setup.aws import AwsClients, aws_errors


@dataclass(frozen=True)
class Vpc:
    id: str
    cidr: str
    name: str
    is_default: bool


def list_vpcs(clients: AwsClients) -> list[Vpc]:
    """The region's VPCs, the default one first."""
    with aws_errors("listing the VPCs"):
        pages = clients.ec2.get_paginator("describe_vpcs").paginate()
        raw = [vpc for page in pages for vpc in page["Vpcs"]]
    vpcs = [
        Vpc(
            id=vpc["VpcId"],
            cidr=vpc.get("CidrBlock", ""),
            name=next((t["Value"] for t in vpc.get("Tags", []) if t["Key"] == "Name"), ""),
            is_default=bool(vpc.get("IsDefault")),
        )
        for vpc in raw
    ]
    return sorted(vpcs, key=lambda v: (not v.is_default, v.name or "~", v.id))


def offerings(clients: AwsClients, instance_types: list[str]) -> dict[str, list[str]]:
    """The AZs that offer each type: discover.offered_azs for many types in one paginated
    call (one request instead of one per type)."""
    found: dict[str, set[str]] = {t: set() for t in instance_types}
    with aws_errors("checking which AZs offer the catalog's instance types"):
        pages = clients.ec2.get_paginator("describe_instance_type_offerings").paginate(
            LocationType="availability-zone",
            Filters=[{"Name": "instance-type", "Values": list(instance_types)}],
        )
        for page in pages:
            for offer in page["InstanceTypeOfferings"]:
                found.setdefault(offer["InstanceType"], set()).add(offer["Location"])
    return {t: sorted(zones) for t, zones in found.items()}


def key_pairs(clients: AwsClients) -> list[dict[str, Any]]:
    from amazonei_setup.resources import key_pair as key_pair_res

    return sorted(key_pair_res.find_tagged(clients, []), key=lambda p: p["name"])
