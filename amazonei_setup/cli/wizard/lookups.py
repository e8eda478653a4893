"""Read-only AWS lookups that feed the wizard's choices, each made once per region, with a
status line while a slow one runs. engines/discover.py and resources/ do the reading where
they have a helper; this module adds what they lack (every VPC, the AZ offerings of many types
at once).

Only Describe, List and Get calls (pricing:GetProducts for the size menus' prices): a person
who quits has caused no change in AWS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from amazonei_setup.aws.clients import AwsClients, aws_errors
from amazonei_setup.aws.instance_types import offerings
from amazonei_setup.aws.subnets import Subnet
from amazonei_setup.cli.wizard.context import WizardContext
from amazonei_setup.errors import SetupError
from amazonei_setup.spec.catalog import Catalog, InstanceSpec
from amazonei_setup.spec.pricing import Price

T = TypeVar("T")


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


def key_pairs(clients: AwsClients) -> list[dict[str, Any]]:
    from amazonei_setup.resources import key_pair as key_pair_res

    return sorted(key_pair_res.find_tagged(clients, []), key=lambda p: p["name"])


class Reads(Protocol):
    """The reads the questions make, by region (Lookups against AWS; plain data in tests)."""

    def identity(self, region: str) -> tuple[str, str]: ...
    def endpoint(self, region: str) -> str | None: ...
    def ei_azs(self, region: str) -> list[str] | None: ...
    def offers(self, region: str) -> dict[str, list[str]]: ...
    def accelerated(self, region: str) -> dict[str, InstanceSpec]: ...
    def prices(self, region: str, instance_types: list[str]) -> dict[str, Price]: ...
    def offered(self, region: str, instance_type: str) -> list[str]: ...
    def vpcs(self, region: str) -> list[Vpc]: ...
    def vpc_id(self, region: str, wanted: str) -> str: ...
    def subnets(self, region: str, vpc_id: str) -> list[Subnet]: ...
    def key_pairs(self, region: str) -> list[dict[str, Any]]: ...
    def key_pair_exists(self, region: str, name: str) -> bool: ...
    def my_cidr(self, region: str) -> tuple[str | None, str | None]: ...
    def recorded(self, region: str, name: str) -> bool: ...


@dataclass
class Lookups:
    """The wizard's reads, remembered by (what, region): going back and forth between
    questions asks AWS nothing twice."""

    ctx: WizardContext
    catalog: Catalog
    _seen: dict[tuple[str, ...], Any] = field(default_factory=dict, repr=False)

    def _once(self, key: tuple[str, ...], read: Callable[[], T], status: str = "") -> T:
        if key not in self._seen:
            if status:
                with self.ctx.console.status(status):
                    self._seen[key] = read()
            else:
                self._seen[key] = read()
        return self._seen[key]

    def clients(self, region: str) -> AwsClients:
        return self.ctx.clients_for(region)

    def endpoint(self, region: str) -> str | None:
        """The endpoint AWS is reached at (the sandbox's), None for AWS itself."""
        return self.clients(region).target.endpoint_url

    def identity(self, region: str) -> tuple[str, str]:
        from amazonei_setup.engines.discover import caller_identity

        status = f"checking your AWS credentials for {region} …"
        return self._once(
            ("identity", region), lambda: caller_identity(self.clients(region)), status
        )

    def ei_azs(self, region: str) -> list[str] | None:
        """The EI endpoint service's AZs; None where the region does not have it."""
        from amazonei_setup.engines.discover import ei_service_azs

        return self._once(
            ("ei", region), lambda: ei_service_azs(self.clients(region), self.catalog, region)
        )

    def _described(self, region: str) -> dict[str, InstanceSpec]:
        """AWS's accelerated types of the region (DescribeInstanceTypes, cached in the state
        home); none when AWS cannot be asked (the menus keep the catalog's)."""
        from amazonei_setup.aws.instance_types import accelerated_specs

        def read() -> dict[str, InstanceSpec]:
            try:
                return accelerated_specs(self.clients(region), self.ctx.home, self.catalog)
            except SetupError:
                return {}

        return self._once(("described", region), read, f"reading the hardware of {region} …")

    def offers(self, region: str) -> dict[str, list[str]]:
        """The AZs offering each of the catalog's instance types and AWS's accelerated ones."""
        types = sorted({*self.catalog.instances, *self._described(region)})
        status = f"looking at what {region} offers …"
        return self._once(
            ("offers", region), lambda: offerings(self.clients(region), types), status
        )

    def accelerated(self, region: str) -> dict[str, InstanceSpec]:
        """AWS's accelerated types that a zone of the region offers and a DLAMI serves."""
        from amazonei_setup.spec.hardware_choices import offered_accelerated

        return offered_accelerated(self.catalog, self._described(region), self.offers(region))

    def prices(self, region: str, instance_types: list[str]) -> dict[str, Price]:
        """The region's on-demand prices with their source (the price list, cached; offline
        list prices where it cannot be asked): the accelerated types in one read."""
        from amazonei_setup.aws.price_list import PRICE_LIST_REGION, region_prices

        described = self._described(region)
        names = sorted(instance_types)
        together = [n for n in names if n in described]

        def read() -> dict[str, Price]:
            pricing = self.clients(PRICE_LIST_REGION)
            return region_prices(
                pricing, self.ctx.home, self.catalog, region, names, accelerated=together
            )

        status = f"reading the {region} price list …"
        return self._once(("prices", region, *names), read, status)

    def offered(self, region: str, instance_type: str) -> list[str]:
        """The AZs offering one type (from `offers` when it was looked up already)."""
        known = self._seen.get(("offers", region), {}).get(instance_type)
        if known is not None:
            return list(known)
        from amazonei_setup.engines.discover import offered_azs

        return self._once(
            ("offered", region, instance_type),
            lambda: offered_azs(self.clients(region), instance_type),
        )

    def vpcs(self, region: str) -> list[Vpc]:
        return self._once(("vpcs", region), lambda: list_vpcs(self.clients(region)))

    def vpc_id(self, region: str, wanted: str) -> str:
        """The id of `wanted` ('default' or an id), or InputError when it does not exist."""
        from amazonei_setup.engines.discover import resolve_vpc

        return self._once(
            ("vpc", region, wanted), lambda: resolve_vpc(self.clients(region), wanted, region)[0]
        )

    def subnets(self, region: str, vpc_id: str) -> list[Subnet]:
        from amazonei_setup.engines.discover import vpc_subnets

        return self._once(
            ("subnets", region, vpc_id), lambda: vpc_subnets(self.clients(region), vpc_id)
        )

    def key_pairs(self, region: str) -> list[dict[str, Any]]:
        return self._once(("keys", region), lambda: key_pairs(self.clients(region)))

    def key_pair_exists(self, region: str, name: str) -> bool:
        from amazonei_setup.resources import key_pair as key_pair_res

        return key_pair_res.find(self.clients(region), name) is not None

    def my_cidr(self, region: str) -> tuple[str | None, str | None]:
        """The caller's public IP as a /32, or None and why it is unknown."""

        def find() -> tuple[str | None, str | None]:
            try:
                return f"{self.ctx.ip_lookup(self.clients(region).target)}/32", None
            except SetupError as exc:
                return None, exc.message

        return self._once(("ip",), find)

    def recorded(self, region: str, name: str) -> bool:
        """Is a deployment of this name recorded in the state home (a launch resumes it)?"""
        from amazonei_setup.state.ledger import Ledger

        return Ledger(self.ctx.home).load(region, name) is not None
