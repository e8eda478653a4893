"""A deployment's expiry in AWS: the `amazonei-setup:expires-at` tag its resources carry, read
back (the record may be on another machine, e.g. the CI runner that launched a workshop), moved
when a re-run changes the ttl, and which deployments of a region are past it (`sweep --expired`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from amazonei_setup.aws import AwsClients, aws_errors
from amazonei_setup.inventory import DeploymentResources, deployment_resources, region_inventory
from amazonei_setup.resources.naming import TAG_DEPLOYMENT, TAG_EXPIRES, TAG_MANAGED, tag_list
from amazonei_setup.ttl import parse_time, time_left_s

EC2_TAG_BATCH = 1000  # CreateTags/DeleteTags take at most 1000 resource ids per call


def _own_tags(found: DeploymentResources) -> list[dict[str, str]]:
    """The tags of what the deployment alone owns; a shared endpoint is left out (it carries
    its creator's expiry even after another deployment took it over)."""
    tags = [instance.tags or {} for instance in found.instances]
    tags += [group["tags"] for group in found.security_groups]
    tags += [pair["tags"] for pair in found.key_pairs]
    tags += [holder["tags"] for holder in (found.role, found.instance_profile) if holder]
    return tags


def tagged_expiry(found: DeploymentResources) -> str | None:
    """The expiry its resources carry. Should a move have stopped half-way, the latest wins:
    a sweep must never remove a deployment whose ttl was extended."""
    values = [tags[TAG_EXPIRES] for tags in _own_tags(found) if parse_time(tags.get(TAG_EXPIRES))]
    return max(values, key=lambda value: parse_time(value), default=None)  # type: ignore[arg-type,return-value]


def deployment_expiry(record: dict[str, Any] | None, found: DeploymentResources) -> str | None:
    """The record's expiry (the first source of truth, None when it has no ttl), else the one
    its tags carry (no record here, or a record written before ttl existed)."""
    if record is not None and "expires_at" in record:
        return record["expires_at"]
    return tagged_expiry(found)


@dataclass
class ExpiredDeployment:
    name: str
    region: str
    expires_at: str
    time_left_s: int  # zero or negative: how long ago it expired
    recorded: bool  # False: found by its tags alone
    found: DeploymentResources

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployment": self.name,
            "region": self.region,
            "expires_at": self.expires_at,
            "time_left_s": self.time_left_s,
            "recorded": self.recorded,
            "resources": self.found.counts(),
        }


def expired_in_region(
    clients: AwsClients, region: str, records: list[dict[str, Any]], now: datetime
) -> list[ExpiredDeployment]:
    """Every deployment of `region`, recorded in this state home or found only by its tags,
    whose expiry has passed; one without a ttl, or not yet expired, is never in the list."""
    by_tags = {
        name: found
        for name, found in region_inventory(clients, region).items()
        if name != "?" and not found.empty
    }
    recorded = {r["name"]: r for r in records if r["region"] == region}
    expired: list[ExpiredDeployment] = []
    for name in sorted(set(by_tags) | set(recorded)):
        found = by_tags.get(name) or DeploymentResources(name=name, region=region)
        expires_at = deployment_expiry(recorded.get(name), found)
        left = time_left_s(expires_at, now)
        if expires_at is None or left is None or left > 0:
            continue
        expired.append(ExpiredDeployment(name, region, expires_at, left, name in recorded, found))
    return expired


# ---------------------------------------------------------------------------------------------
# Moving the expiry of an existing deployment


def _batches(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), EC2_TAG_BATCH):
        yield ids[start : start + EC2_TAG_BATCH]


def _volume_ids(clients: AwsClients, name: str) -> list[str]:
    """The instances' root volumes: tagged at launch, so they move with the rest."""
    filters = [
        {"Name": f"tag:{TAG_DEPLOYMENT}", "Values": [name]},
        {"Name": f"tag:{TAG_MANAGED}", "Values": ["true"]},
    ]
    with aws_errors("listing the deployment's volumes"):
        pages = clients.ec2.get_paginator("describe_volumes").paginate(Filters=filters)
        return [volume["VolumeId"] for page in pages for volume in page["Volumes"]]


def ec2_ids(clients: AwsClients, found: DeploymentResources) -> list[str]:
    """Every EC2 resource id the deployment owns: instances and their volumes, groups, key
    pairs, and the endpoint only when it created it (a joined one is its creator's)."""
    ids = [instance.id for instance in found.instances]
    if ids:
        ids += _volume_ids(clients, found.name)
    ids += [group["id"] for group in found.security_groups]
    ids += [pair["id"] for pair in found.key_pairs if pair["id"].startswith("key-")]
    ids += [
        endpoint["id"]
        for endpoint in found.endpoints
        if endpoint["tags"].get(TAG_DEPLOYMENT) == found.name
        and endpoint["tags"].get(TAG_MANAGED) == "true"
    ]
    return ids


def _move_ec2(clients: AwsClients, ids: list[str], expires_at: str | None) -> None:
    for batch in _batches(ids):
        if expires_at:
            clients.ec2.create_tags(Resources=batch, Tags=tag_list({TAG_EXPIRES: expires_at}))
        else:
            clients.ec2.delete_tags(Resources=batch, Tags=[{"Key": TAG_EXPIRES}])


def _move_iam(clients: AwsClients, found: DeploymentResources, expires_at: str | None) -> None:
    tags = tag_list({TAG_EXPIRES: expires_at}) if expires_at else []
    if found.role and expires_at:
        clients.iam.tag_role(RoleName=found.role["name"], Tags=tags)
    elif found.role:
        clients.iam.untag_role(RoleName=found.role["name"], TagKeys=[TAG_EXPIRES])
    holder = found.instance_profile["name"] if found.instance_profile else None
    if holder and expires_at:
        clients.iam.tag_instance_profile(InstanceProfileName=holder, Tags=tags)
    elif holder:
        clients.iam.untag_instance_profile(InstanceProfileName=holder, TagKeys=[TAG_EXPIRES])


def move_expiry(clients: AwsClients, name: str, region: str, expires_at: str | None) -> None:
    """Put the new expiry (or, with the ttl gone, none) on everything the deployment already
    has, found by its tags: one EC2 call for all its EC2 resources, one IAM call each for
    its role and instance profile."""
    found = deployment_resources(clients, name, region)
    ids = ec2_ids(clients, found)
    with aws_errors(f"moving the expiry tag of '{name}'"):
        _move_ec2(clients, ids, expires_at)
        _move_iam(clients, found, expires_at)
