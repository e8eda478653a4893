"""Which subnets the Elastic Inference endpoint needs: an interface endpoint serves only the AZs
it has a subnet in (one per AZ), and a seat may land in any AZ of the failover order (EC2 User
Guide, Elastic Inference: "one endpoint subnet per Availability Zone used")."""

from __future__ import annotations

from typing import Any


def one_subnet_per_az(discovery: Any) -> list[Any]:
    """The subnets an endpoint needs: one in each AZ a seat may land in, capacity failover
    included (an interface endpoint serves only the AZs it has a subnet in)."""
    chosen: dict[str, Any] = {}
    for subnet in discovery.subnets:
        chosen.setdefault(subnet.availability_zone, subnet)
    return list(chosen.values())


def missing_subnets(discovery: Any, endpoint: dict[str, Any]) -> list[str]:
    """Our subnets in the AZs an existing endpoint does not serve yet."""
    served = served_azs(discovery, endpoint)
    return [s.id for s in one_subnet_per_az(discovery) if s.availability_zone not in served]


def served_azs(discovery: Any, endpoint: dict[str, Any]) -> set[str]:
    """The AZs an endpoint already has a subnet in, among the subnets discovery knows."""
    known = discovery.subnets + [s for s, _ in discovery.hidden_subnets]
    return {s.availability_zone for s in known if s.id in endpoint["subnets"]}
