"""The plan: what a launch would reuse, create or update, in which order, at what cost.

Built from a Profile and a Discovery without calling AWS; `plan` and `launch --dry-run` stop here.
Each kind of resource plans itself (`resources.registry`); this module adds them up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from amazonei_setup.aws.amis import deprecation_note
from amazonei_setup.engines.discover import Discovery
from amazonei_setup.resources.kind import Action, PlanInput, PlannedResource
from amazonei_setup.resources.registry import kind_of, kinds
from amazonei_setup.spec.catalog import Catalog
from amazonei_setup.spec.hardware import hardware_summary
from amazonei_setup.spec.pricing import Price
from amazonei_setup.spec.profile import Profile
from amazonei_setup.spec.profile_checks import reach, too_wide

__all__ = ["Action", "Cost", "Plan", "PlannedResource", "build_plan", "step_calls"]


@dataclass
class Cost:
    price_per_hour_usd: float | None
    seats: int
    prices_as_of: str
    # Where a price not in the catalog came from ("us-east-1 price list, 2026-12-07"); None for
    # the catalog's dated list price.
    price_source: str | None = None

    @property
    def total_per_hour_usd(self) -> float | None:
        if self.price_per_hour_usd is None:
            return None
        return round(self.price_per_hour_usd * self.seats, 6)

    @property
    def total_per_day_usd(self) -> float | None:
        total = self.total_per_hour_usd
        return None if total is None else round(total * 24, 4)

    def to_dict(self) -> dict[str, Any]:
        return {
            "price_per_hour_usd": self.price_per_hour_usd,
            "seats": self.seats,
            "total_per_hour_usd": self.total_per_hour_usd,
            "total_per_day_usd": self.total_per_day_usd,
            "prices_as_of": self.prices_as_of,
            **({"price_source": self.price_source} if self.price_source else {}),
        }


@dataclass
class Plan:
    profile: Profile
    discovery: Discovery
    resources: list[PlannedResource]
    cost: Cost
    notes: list[str] = field(default_factory=list)
    expires_at: str | None = None  # set with the clock by the caller: the plan reads no time
    expires_in_s: int | None = None
    # What the type carries (kind, accelerator, architecture: spec/hardware.py, from AWS).
    carries: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str) -> PlannedResource | None:
        return next((r for r in self.resources if r.key == key), None)

    @property
    def changes(self) -> list[PlannedResource]:
        return [r for r in self.resources if r.action != "reuse"]

    def _longest_chain(self, weight: Callable[[PlannedResource], int]) -> int:
        """The heaviest chain of dependent resources, each weighing `weight(resource)`; a
        gate (the name's claim) comes before every chain."""
        gates = [r for r in self.resources if kind_of(r.kind).gate]
        by_key = {r.key: r for r in self.resources if r not in gates}
        total: dict[str, int] = {}

        def visit(key: str) -> int:
            if key not in total:
                resource = by_key[key]
                parents = [visit(d) for d in resource.depends_on if d in by_key]
                total[key] = weight(resource) + max(parents, default=0)
            return total[key]

        first = sum(weight(r) for r in gates)
        return first + max((visit(key) for key in by_key), default=0)

    def critical_path_depth(self) -> int:
        """The longest chain of dependent changes: the lower bound on sequential AWS steps."""
        return self._longest_chain(lambda r: 0 if r.action == "reuse" else 1)

    def critical_path_calls(self) -> int:
        """The fewest sequential AWS round trips this launch can take: discovery's rounds, the
        longest chain of dependent calls of the changes, and the look that sees them running.
        Wall time ÷ (this × per-call latency) says how close a launch came to its bound."""
        chain = self._longest_chain(step_calls)
        boots = any(r.kind == "ec2-instance" and r.action != "reuse" for r in self.resources)
        return self.discovery.depth + chain + (1 if boots else 0)

    def to_dict(self) -> dict[str, Any]:
        d = self.discovery
        return {
            "deployment": self.profile.name,
            "region": self.profile.region,
            "account_id": d.account_id,
            "hardware": {
                "instance_type": self.profile.instance_type,
                "accelerator": self.profile.accelerator,
                "seats": self.profile.seats,
                "os": self.profile.os,
            },
            "carries": self.carries,
            "vpc": {"id": d.vpc_id, "default": d.vpc_is_default},
            "subnets": [{"id": s.id, "availability_zone": s.availability_zone} for s in d.subnets],
            "hidden_subnets": [
                {"id": s.id, "availability_zone": s.availability_zone, "reason": reason}
                for s, reason in d.hidden_subnets
            ],
            "ami": {"id": d.ami.id, "name": d.ami.name, "source": d.ami.source},
            "resources": [r.to_dict() for r in self.resources],
            "changes": len(self.changes),
            "critical_path_depth": self.critical_path_depth(),
            "critical_path_calls": self.critical_path_calls(),
            "cost": self.cost.to_dict(),
            "notes": list(self.notes),
            "expires_at": self.expires_at,
            "expires_in_s": self.expires_in_s,
        }


def step_calls(resource: PlannedResource) -> int:
    """Sequential AWS calls one step makes (apply's handlers, one by one); 0 to reuse."""
    return kind_of(resource.kind).step_calls(resource)


def build_plan(
    profile: Profile, discovery: Discovery, catalog: Catalog, price: Price | None = None
) -> Plan:
    given = PlanInput(profile, discovery, catalog, [])
    for kind in kinds():
        given.planned += kind.plan(given)
    resources = given.planned

    notes: list[str] = []
    if discovery.hidden_subnets:
        notes.append(
            f"{len(discovery.hidden_subnets)} subnet(s) hidden: "
            + "; ".join(sorted({reason for _, reason in discovery.hidden_subnets}))
        )
    first = discovery.subnets[0]
    if profile.access.mode == "ssh" and not first.maps_public_ip:
        notes.append(
            f"subnet {first.id} gives no public IP: SSH needs a VPN/bastion, or use --access ssm"
        )
    if profile.access.mode == "ssh" and discovery.ssh_cidr and too_wide(discovery.ssh_cidr):
        notes.append(
            f"SSH is open to {reach(discovery.ssh_cidr)} ({discovery.ssh_cidr}) because the "
            "profile sets allow_world_ssh: true; anyone there can try to log in"
        )
    deprecated = deprecation_note(discovery.ami)
    if deprecated:
        notes.append(deprecated)
    if discovery.missing_actions:
        notes.append(
            "your credentials lack "
            + ", ".join(discovery.missing_actions)
            + " (iam:SimulatePrincipalPolicy); `amazonei-setup iam-policy` prints what is needed"
        )
    surplus = [i for i in discovery.existing.of("ec2-instance") or [] if i.seat > profile.seats]
    if surplus:
        notes.append(
            f"{len(surplus)} instance(s) beyond seat {profile.seats} are left running; "
            "`teardown` removes them"
        )
    listed = catalog.price_per_hour(profile.instance_type, profile.accelerator)
    if listed is None and price is not None:  # a type the catalog does not price
        cost = Cost(price.usd_per_hour, profile.seats, price.as_of, price.source)
    else:
        cost = Cost(listed, profile.seats, catalog.prices_as_of)
    spec = catalog.instance(profile.instance_type)
    carries = {} if spec is None else hardware_summary(spec)
    return Plan(
        profile=profile,
        discovery=discovery,
        resources=resources,
        cost=cost,
        notes=notes,
        carries=carries,
    )
