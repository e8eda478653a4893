"""A deployment's expiry in AWS: the `amazonei-setup:expires-at` tag its resources carry, read
back (the record may be on another machine, e.g. the CI runner that launched a workshop), moved
when a re-run changes the ttl, and which deployments of a region are past it (`sweep --expired`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from amazonei_setup.aws.clients import AwsClients, aws_errors
from amazonei_setup.engines.inventory import (
    DeploymentResources,
    deployment_resources,
    region_inventory,
)
from amazonei_setup.resources.kind import TagChange
from amazonei_setup.resources.naming import TAG_EXPIRES, tag_list
from amazonei_setup.resources.registry import kinds
from amazonei_setup.spec.ttl import parse_time, time_left_s
from amazonei_setup.state.record import DeploymentRecord

EC2_TAG_BATCH = 1000  # CreateTags/DeleteTags take at most 1000 resource ids per call


def tagged_expiry(found: DeploymentResources) -> str | None:
    """The expiry its resources carry. Should a move have stopped half-way, the latest wins:
    a sweep must never remove a deployment whose ttl was extended."""
    values = [tags[TAG_EXPIRES] for tags in found.own_tags() if parse_time(tags.get(TAG_EXPIRES))]
    return max(values, key=lambda value: parse_time(value), default=None)  # type: ignore[arg-type,return-value]


def deployment_expiry(record: DeploymentRecord | None, found: DeploymentResources) -> str | None:
    """The record's expiry (the first source of truth, None when it has no ttl), else the one
    its tags carry (no record here, or a record written before ttl existed)."""
    if record is not None and record.has_expiry_field:
        return record.expires_at
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
    clients: AwsClients, region: str, records: list[DeploymentRecord], now: datetime
) -> list[ExpiredDeployment]:
    """Every deployment of `region`, recorded in this state home or found only by its tags,
    whose expiry has passed; one without a ttl, or not yet expired, is never in the list."""
    by_tags = {
        name: found
        for name, found in region_inventory(clients, region).items()
        if name != "?" and not found.empty
    }
    recorded = {r.name: r for r in records if r.region == region}
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


def move_tags(clients: AwsClients, name: str, region: str, change: TagChange) -> None:
    """Put `change` (a new expiry, or none; the user's changed tags) on everything the
    deployment already has, found by its tags: one EC2 call for all its EC2 resources, one
    IAM call each for its role and instance profile."""
    found = deployment_resources(clients, name, region)
    ec2_ids: list[str] = []
    with aws_errors(f"moving the tags of '{name}'"):
        for kind in kinds():
            kind.retag(clients, found, change, ec2_ids)
        for batch in _batches(ec2_ids):
            for put in _apart(change.put):
                clients.ec2.create_tags(Resources=batch, Tags=tag_list(put))
            for remove in _apart(dict.fromkeys(change.remove, "")):
                clients.ec2.delete_tags(Resources=batch, Tags=[{"Key": k} for k in remove])


def _apart(tags: dict[str, str]) -> list[dict[str, str]]:
    """Our expiry tag and the user's tags, one call each: the caller policy grants them in two
    statements (each `ForAllValues` on aws:TagKeys), so IAM refuses one request with both."""
    ours = {k: v for k, v in tags.items() if k == TAG_EXPIRES}
    theirs = {k: v for k, v in tags.items() if k != TAG_EXPIRES}
    return [part for part in (ours, theirs) if part]


def tag_change(
    before: dict[str, str], after: dict[str, str], expiry: tuple[str | None, str | None] | None
) -> TagChange:
    """From the user's tags before and after (and the expiry, when it moves)."""
    change = TagChange(
        put={k: v for k, v in after.items() if before.get(k) != v},
        remove=sorted(set(before) - set(after)),
    )
    if expiry is not None and expiry[0] != expiry[1]:
        if expiry[1] is None:
            change.remove.append(TAG_EXPIRES)
        else:
            change.put[TAG_EXPIRES] = expiry[1]
    return change
