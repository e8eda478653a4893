"""The Elastic Inference PrivateLink endpoint: one per VPC, shared by every deployment in it.

A deployment adds its subnet (when the AZ is not served yet) and its endpoint security group to
an existing endpoint rather than making a second one, and marks itself as a user with a tag.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from amazonei_setup.aws import AwsClients, aws_errors, is_error
from amazonei_setup.errors import AwsFailure
from amazonei_setup.resources.naming import tag_dict, tag_list, tag_specifications
from amazonei_setup.waiting import poll

GONE_STATES = ("deleted", "deleting", "failed", "rejected", "expired")


def _summary(endpoint: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": endpoint["VpcEndpointId"],
        "vpc_id": endpoint.get("VpcId"),
        "service": endpoint.get("ServiceName"),
        "subnets": list(endpoint.get("SubnetIds", [])),
        "groups": [g["GroupId"] for g in endpoint.get("Groups", [])],
        "tags": tag_dict(endpoint.get("Tags")),
        "state": endpoint.get("State"),
    }


def find_tagged(clients: AwsClients, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Live endpoints matching tag filters (deleted ones, which moto keeps listing, skipped)."""
    with aws_errors("listing VPC endpoints"):
        endpoints = clients.ec2.describe_vpc_endpoints(Filters=filters)["VpcEndpoints"]
    return [_summary(e) for e in endpoints if str(e.get("State", "")).lower() not in GONE_STATES]


def find(clients: AwsClients, vpc_id: str, service_name: str) -> dict[str, Any] | None:
    """The live endpoint for the service in the VPC (moto keeps deleted ones listed: skip them)."""
    with aws_errors(f"looking up the {service_name} endpoint"):
        endpoints = clients.ec2.describe_vpc_endpoints(
            Filters=[
                {"Name": "vpc-id", "Values": [vpc_id]},
                {"Name": "service-name", "Values": [service_name]},
            ]
        )["VpcEndpoints"]
    live = [e for e in endpoints if str(e.get("State", "")).lower() not in GONE_STATES]
    return _summary(live[0]) if live else None


DNS_ATTRIBUTES = (
    ("enableDnsSupport", "EnableDnsSupport"),
    ("enableDnsHostnames", "EnableDnsHostnames"),
)


def vpc_dns_missing(clients: AwsClients, vpc_id: str) -> list[str]:
    """Which of the two VPC DNS attributes private DNS needs are off (both read at once)."""
    from concurrent.futures import ThreadPoolExecutor

    def is_off(attribute: str, key: str) -> bool:
        with aws_errors(f"reading the DNS settings of {vpc_id}"):
            found = clients.ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=attribute)
        return not found[key]["Value"]

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="vpc-dns") as pool:
        off = list(pool.map(lambda pair: is_off(*pair), DNS_ATTRIBUTES))
    return [key for (_, key), missing in zip(DNS_ATTRIBUTES, off, strict=True) if missing]


def enable_vpc_dns(clients: AwsClients, vpc_id: str, attributes: list[str]) -> None:
    """One attribute per call: the API refuses both at once."""
    with aws_errors(f"enabling DNS on {vpc_id}"):
        for attribute in attributes:
            clients.ec2.modify_vpc_attribute(VpcId=vpc_id, **{attribute: {"Value": True}})


def create(
    clients: AwsClients,
    vpc_id: str,
    service_name: str,
    subnet_ids: list[str],
    group_ids: list[str],
    tags: dict[str, str],
) -> str:
    # The client token makes a retried create return the first endpoint, not a second one.
    token = hashlib.sha256(f"{vpc_id}|{service_name}|{sorted(tags.items())}".encode())
    with aws_errors(f"creating the {service_name} endpoint"):
        created = clients.ec2.create_vpc_endpoint(
            ClientToken=token.hexdigest()[:48],
            VpcEndpointType="Interface",
            VpcId=vpc_id,
            ServiceName=service_name,
            SubnetIds=subnet_ids,
            SecurityGroupIds=group_ids,
            PrivateDnsEnabled=True,
            TagSpecifications=tag_specifications(["vpc-endpoint"], tags),
        )
    return str(created["VpcEndpoint"]["VpcEndpointId"])


def add_to(
    clients: AwsClients,
    endpoint_id: str,
    subnet_ids: list[str],
    group_ids: list[str],
    user_tags: dict[str, str],
) -> None:
    """Join an existing endpoint: our subnet and group, and our user tag."""
    with aws_errors(f"updating endpoint {endpoint_id}"):
        if subnet_ids or group_ids:
            request: dict[str, Any] = {"VpcEndpointId": endpoint_id}
            if subnet_ids:
                request["AddSubnetIds"] = subnet_ids
            if group_ids:
                request["AddSecurityGroupIds"] = group_ids
            clients.ec2.modify_vpc_endpoint(**request)
        if user_tags:
            clients.ec2.create_tags(Resources=[endpoint_id], Tags=tag_list(user_tags))


def leave(
    clients: AwsClients,
    endpoint_id: str,
    group_ids: list[str],
    user_tag: str,
    hand_over: dict[str, str] | None = None,
) -> None:
    """Stop using a shared endpoint: take our group off it and drop our user tag. When we
    created it, `hand_over` re-tags it to a remaining user, so nothing keeps our name."""
    with aws_errors(f"leaving endpoint {endpoint_id}"):
        if group_ids:
            clients.ec2.modify_vpc_endpoint(
                VpcEndpointId=endpoint_id, RemoveSecurityGroupIds=group_ids
            )
        if hand_over:
            clients.ec2.create_tags(Resources=[endpoint_id], Tags=tag_list(hand_over))
        clients.ec2.delete_tags(Resources=[endpoint_id], Tags=[{"Key": user_tag}])


def delete(
    clients: AwsClients,
    endpoint_id: str,
    *,
    sleep: Callable[[float], None],
    timeout_s: float = 300,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Delete the endpoint and wait until AWS reports it gone (its ENIs hold our groups)."""
    with aws_errors(f"deleting endpoint {endpoint_id}"):
        try:
            clients.ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint_id])
        except Exception as exc:
            if is_error(exc, "InvalidVpcEndpointId.NotFound"):
                return
            raise

    def gone() -> bool | None:
        with aws_errors(f"waiting for endpoint {endpoint_id} to go"):
            try:
                found = clients.ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])
            except Exception as exc:
                if is_error(exc, "InvalidVpcEndpointId.NotFound"):
                    return True
                raise
        states = [str(e.get("State", "")).lower() for e in found["VpcEndpoints"]]
        return True if all(state in ("deleted", "") for state in states) else None

    poll(
        gone,
        timeout_s=timeout_s,
        sleep=sleep,
        clock=clock,
        first_delay_s=1.0,
        on_timeout=lambda: AwsFailure(
            f"endpoint {endpoint_id} is still there after {timeout_s:.0f}s",
            "run the same teardown again to keep waiting",
        ),
    )
