"""The VPC's DNS attributes: the Elastic Inference endpoint's private DNS needs both on. The
tool switches them on when missing and never switches them off (other workloads may rely on them).
"""

from __future__ import annotations

from typing import Any, ClassVar

from amazonei_setup.aws.clients import AwsClients, aws_errors
from amazonei_setup.resources.kind import ApplyRun, PlanInput, PlannedResource, ResourceKind

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


class VpcDnsKind(ResourceKind):
    """The VPC's two DNS attributes, switched on for the endpoint's private DNS; never undone."""

    kind = "vpc-attribute"
    caller_actions: ClassVar[dict[str, tuple[str, ...]]] = {"read": ("ec2:DescribeVpcAttribute",)}
    title = "VPC attribute"

    def plan(self, given: PlanInput) -> list[PlannedResource]:
        found: Any = given.discovery.existing.of("vpc-endpoint")
        if not given.profile.has_eia or found is None or not found.dns_missing:
            return []
        vpc_id = given.discovery.vpc_id
        return [
            PlannedResource(
                "vpc_dns",
                self.kind,
                vpc_id,
                "update",
                vpc_id,
                details=list(found.dns_missing),
                why="private DNS needs " + " and ".join(found.dns_missing),
            )
        ]

    def step_calls(self, resource: PlannedResource) -> int:
        return len(resource.details)

    def apply(self, run: ApplyRun, resource: PlannedResource) -> str:
        enable_vpc_dns(run.clients, run.discovery.vpc_id, resource.details)
        return run.discovery.vpc_id

    def owned_when_reused(self, run: ApplyRun, resource: PlannedResource) -> bool:
        return False


KIND = VpcDnsKind()
