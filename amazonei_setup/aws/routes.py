"""Can an instance in this subnet reach Systems Manager? Session Manager needs the `ssm`,
`ssmmessages` and `ec2messages` APIs, and the agent's report needs `ssm`. An instance reaches
them through the internet (a default route to an internet gateway, with a public IP, or to a
NAT gateway), or through interface endpoints of those services in the VPC (AWS Systems Manager
User Guide, "Use VPC endpoints to improve the security of EC2 instances"). Without either,
Session Manager and the agent's report silently never arrive: the plan says so first."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from amazonei_setup.aws.clients import AwsClients, aws_errors

SESSION_MANAGER_SERVICES = ("ssm", "ssmmessages", "ec2messages")
LIVE = ("available", "pending", "pendingacceptance")


def _route_tables(clients: AwsClients, vpc_id: str) -> list[dict[str, Any]]:
    with aws_errors(f"reading the route tables of {vpc_id}"):
        found = clients.ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    return list(found["RouteTables"])


def _endpoint_services(clients: AwsClients, vpc_id: str, region: str) -> set[str]:
    """The Session Manager services the VPC has a live interface endpoint for."""
    with aws_errors(f"listing the VPC endpoints of {vpc_id}"):
        found = clients.ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    names = {f"com.amazonaws.{region}.{service}": service for service in SESSION_MANAGER_SERVICES}
    return {
        names[e["ServiceName"]]
        for e in found["VpcEndpoints"]
        if e.get("ServiceName") in names and str(e.get("State", "")).lower() in LIVE
    }


def _default_route(tables: list[dict[str, Any]], subnet_id: str) -> dict[str, Any] | None:
    """The subnet's 0.0.0.0/0 route: from its own route table, else the VPC's main one."""
    own = [
        t for t in tables if any(a.get("SubnetId") == subnet_id for a in t.get("Associations", []))
    ]
    main = [t for t in tables if any(a.get("Main") for a in t.get("Associations", []))]
    for table in own or main:
        for route in table.get("Routes", []):
            if (
                route.get("DestinationCidrBlock") == "0.0.0.0/0"
                and route.get("State") != "blackhole"
            ):
                return dict(route)
    return None


def reaches_internet(route: dict[str, Any] | None, public_ip: bool) -> bool:
    if route is None:
        return False
    if route.get("NatGatewayId") or route.get("TransitGatewayId"):
        return True
    return str(route.get("GatewayId", "")).startswith("igw-") and public_ip


def ssm_reachability(
    clients: AwsClients, vpc_id: str, region: str, subnets: list[Any], needed: tuple[str, ...]
) -> dict[str, str | None]:
    """Per subnet id: None when an instance there reaches the `needed` SSM services, else
    why not (one sentence, for the plan's hidden-subnet note)."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="routes") as pool:
        tables = pool.submit(_route_tables, clients, vpc_id)
        endpoints = pool.submit(_endpoint_services, clients, vpc_id, region)
    missing = [service for service in needed if service not in endpoints.result()]
    answers: dict[str, str | None] = {}
    for subnet in subnets:
        route = _default_route(tables.result(), subnet.id)
        if not missing or reaches_internet(route, subnet.maps_public_ip):
            answers[subnet.id] = None
        else:
            answers[subnet.id] = (
                f"{subnet.availability_zone}: {subnet.id} has no route to Systems Manager "
                f"(no internet or NAT route, no {'/'.join(missing)} endpoint)"
            )
    return answers
