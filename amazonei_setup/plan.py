"""The plan: what a launch would reuse, create or update, in which order, at what cost.

Built from a Profile and a Discovery without calling AWS; `plan` and `launch --dry-run` stop here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from amazonei_setup.amis import deprecation_note
from amazonei_setup.catalog import Catalog
from amazonei_setup.discover import Discovery
from amazonei_setup.profile import Profile
from amazonei_setup.resources import role as role_res
from amazonei_setup.resources import security_group as sg_res
from amazonei_setup.resources.naming import (
    TAG_DEPLOYMENT,
    TAG_MANAGED,
    endpoint_sg_name,
    endpoint_user_tag,
    instance_sg_name,
    role_name,
)

Action = Literal["create", "reuse", "update", "replace"]


@dataclass
class PlannedResource:
    key: str
    kind: str
    name: str
    action: Action
    id: str | None = None
    depends_on: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    why: str = ""

    @property
    def per_seat(self) -> bool:
        """One of a workshop's per-seat resources (instance:N, key_pair:N)."""
        return ":" in self.key

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "id": self.id,
            "depends_on": list(self.depends_on),
            "why": self.why,
        }


@dataclass
class Cost:
    price_per_hour_usd: float | None
    seats: int
    prices_as_of: str

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

    def get(self, key: str) -> PlannedResource | None:
        return next((r for r in self.resources if r.key == key), None)

    @property
    def changes(self) -> list[PlannedResource]:
        return [r for r in self.resources if r.action != "reuse"]

    def _longest_chain(self, weight: Callable[[PlannedResource], int]) -> int:
        """The heaviest chain of dependent resources, each weighing `weight(resource)`."""
        by_key = {r.key: r for r in self.resources}
        total: dict[str, int] = {}

        def visit(key: str) -> int:
            if key not in total:
                resource = by_key[key]
                parents = [visit(d) for d in resource.depends_on if d in by_key]
                total[key] = weight(resource) + max(parents, default=0)
            return total[key]

        return max((visit(r.key) for r in self.resources), default=0)

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
    action, kind = resource.action, resource.kind
    if action == "reuse":
        return 0
    if kind in ("iam-role", "iam-instance-profile"):
        return 2 if action == "create" else 1  # create, then the policy / the role in it
    if kind == "security-group":
        current, wanted = resource.details["current_rules"], resource.details["ingress"]
        if action == "create":
            return 1 + int(bool(wanted))  # create, then authorize its ingress
        return int(bool(current - wanted)) + int(bool(wanted - current))  # revoke, authorize
    if kind == "vpc-attribute":
        return len(resource.details["attributes"])
    if kind == "vpc-endpoint":
        return 2 if action == "create" else 3  # look, then create (or modify and tag)
    if kind == "key-pair":
        return 2 if action == "replace" else 1
    return 1  # an instance: run (or start) it


# ---------------------------------------------------------------------------------------------


def _role(profile: Profile, discovery: Discovery) -> list[PlannedResource]:
    name = role_name(profile.name, profile.region)
    policy = role_res.instance_policy(
        profile.name,
        profile.region,
        discovery.account_id,
        eia=profile.has_eia,
        ssm_access=profile.access.mode == "ssm",
    )
    existing = discovery.existing
    if existing.role is None:
        role = PlannedResource("role", "iam-role", name, "create", why="instance role")
    elif existing.role["policy"] != policy:
        role = PlannedResource(
            "role", "iam-role", name, "update", existing.role["arn"], why="policy differs"
        )
    else:
        role = PlannedResource("role", "iam-role", name, "reuse", existing.role["arn"])
    role.details["policy"] = policy

    found = existing.instance_profile
    if found is None:
        action: Action = "create"
        why = "hands the role to the instances"
    elif name not in found["roles"]:
        action, why = "update", "role not attached yet"
    else:
        action, why = "reuse", ""
    holder = PlannedResource(
        "instance_profile",
        "iam-instance-profile",
        name,
        action,
        found["arn"] if found else None,
        depends_on=("role",),
        why=why,
    )
    return [role, holder]


def _group(
    key: str,
    name: str,
    found: dict[str, Any] | None,
    wanted: set[sg_res.Rule],
    depends_on: tuple[str, ...],
    purpose: str,
) -> PlannedResource:
    if found is None:
        resource = PlannedResource(key, "security-group", name, "create", depends_on=depends_on)
        resource.why = purpose
    elif found["rules"] != wanted:
        resource = PlannedResource(key, "security-group", name, "update", found["id"], depends_on)
        resource.why = "ingress differs"
    else:
        resource = PlannedResource(key, "security-group", name, "reuse", found["id"], depends_on)
    resource.details["current_rules"] = found["rules"] if found else set()
    resource.details["ingress"] = wanted
    return resource


def _groups(profile: Profile, discovery: Discovery) -> list[PlannedResource]:
    existing = discovery.existing
    wanted: set[sg_res.Rule] = set()
    if profile.access.mode == "ssh" and discovery.ssh_cidr:
        wanted.add(sg_res.ssh_rule(discovery.ssh_cidr))
    purpose = f"SSH from {discovery.ssh_cidr} only" if wanted else "no inbound access (SSM only)"
    groups = [
        _group(
            "instance_sg", instance_sg_name(profile.name), existing.instance_sg, wanted, (), purpose
        )
    ]
    if profile.has_eia:
        instance_group_id = existing.instance_sg["id"] if existing.instance_sg else "<new>"
        endpoint_rules = {sg_res.https_from_group(instance_group_id)}
        groups.append(
            _group(
                "endpoint_sg",
                endpoint_sg_name(profile.name),
                existing.endpoint_sg,
                endpoint_rules,
                ("instance_sg",),
                "HTTPS from the instance group only",
            )
        )
    return groups


def _endpoint(profile: Profile, discovery: Discovery, catalog: Catalog) -> list[PlannedResource]:
    existing = discovery.existing
    planned: list[PlannedResource] = []
    depends: tuple[str, ...] = ("endpoint_sg",)
    if existing.vpc_dns_missing:
        planned.append(
            PlannedResource(
                "vpc_dns",
                "vpc-attribute",
                discovery.vpc_id,
                "update",
                discovery.vpc_id,
                details={"attributes": list(existing.vpc_dns_missing)},
                why="private DNS needs " + " and ".join(existing.vpc_dns_missing),
            )
        )
        depends = ("endpoint_sg", "vpc_dns")
    service = catalog.ei_endpoint_service(profile.region)
    subnet = discovery.subnets[0]
    found = existing.endpoint
    if found is None:
        planned.append(
            PlannedResource(
                "endpoint",
                "vpc-endpoint",
                service,
                "create",
                depends_on=depends,
                details={"service": service, "subnets": [subnet.id]},
                why=f"Elastic Inference PrivateLink in {subnet.availability_zone}",
            )
        )
        return planned
    served_azs = {
        s.availability_zone
        for s in discovery.subnets + [s for s, _ in discovery.hidden_subnets]
        if s.id in found["subnets"]
    }
    add_subnets = [] if subnet.availability_zone in served_azs else [subnet.id]
    our_group = existing.endpoint_sg["id"] if existing.endpoint_sg else None
    needs_group = our_group is None or our_group not in found["groups"]
    needs_tag = endpoint_user_tag(profile.name) not in found["tags"]
    changes = []
    if add_subnets:
        changes.append(f"add subnet {subnet.id}")
    if needs_group:
        changes.append("add our endpoint group")
    if needs_tag:
        changes.append("record this deployment as a user")
    planned.append(
        PlannedResource(
            "endpoint",
            "vpc-endpoint",
            service,
            "update" if changes else "reuse",
            found["id"],
            depends_on=depends,
            details={"service": service, "subnets": add_subnets, "shared": True},
            why="shared endpoint of the VPC: " + (", ".join(changes) if changes else "in use"),
        )
    )
    return planned


def _key_pairs(profile: Profile, discovery: Discovery) -> list[PlannedResource]:
    """One created key pair per seat (each attendee gets only their own key), or the user's
    named key pair, shared and never modified."""
    if not discovery.keys:
        return []
    if profile.access.key_pair != "create":
        # A key pair the wizard imported for this deployment carries its tags: teardown owns it.
        tags = discovery.user_key_tags
        owned = tags.get(TAG_MANAGED) == "true" and tags.get(TAG_DEPLOYMENT) == profile.name
        why = "imported for this deployment" if owned else "your existing key pair (never modified)"
        name = profile.access.key_pair
        return [
            PlannedResource("key_pair", "key-pair", name, "reuse", name, (), {"owned": owned}, why)
        ]
    existing = discovery.existing
    planned = []
    for seat, key in sorted(discovery.keys.items()):
        found = existing.key_pairs.get(key.name)
        if found is None:
            action: Action = "create"
            why = f"ed25519; private key saved to {key.path}"
        elif key.name not in existing.private_keys_present:
            action, why = "replace", "the private key is not in the state home"
        else:
            action, why = "reuse", ""
        planned.append(
            PlannedResource(
                f"key_pair:{seat}",
                "key-pair",
                key.name,
                action,
                found["id"] if found else None,
                details={"owned": True, "path": str(key.path), "seat": seat},
                why=why,
            )
        )
    return planned


def _instances(
    profile: Profile, discovery: Discovery, shared: tuple[str, ...], keys: set[str]
) -> list[PlannedResource]:
    by_seat = {i.seat: i for i in discovery.existing.instances}
    planned = []
    for seat in range(1, profile.seats + 1):
        own_key = next((k for k in (f"key_pair:{seat}", "key_pair") if k in keys), None)
        dependencies = shared + ((own_key,) if own_key else ())
        found = by_seat.get(seat)
        key = f"instance:{seat}"
        label = f"{profile.name}-{seat}"
        if found is None:
            planned.append(
                PlannedResource(
                    key,
                    "ec2-instance",
                    label,
                    "create",
                    depends_on=dependencies,
                    details={"seat": seat},
                    why=f"{profile.instance_type}"
                    + (f" + {profile.accelerator}" if profile.accelerator else ""),
                )
            )
        elif found.state in ("stopped", "stopping"):
            planned.append(
                PlannedResource(
                    key,
                    "ec2-instance",
                    label,
                    "update",
                    found.id,
                    dependencies,
                    {"seat": seat},
                    "stopped: will be started",
                )
            )
        else:
            planned.append(
                PlannedResource(
                    key, "ec2-instance", label, "reuse", found.id, dependencies, {"seat": seat}
                )
            )
    return planned


def build_plan(profile: Profile, discovery: Discovery, catalog: Catalog) -> Plan:
    resources: list[PlannedResource] = []
    resources += _role(profile, discovery)
    resources += _groups(profile, discovery)
    if profile.has_eia:
        resources += _endpoint(profile, discovery, catalog)
    resources += _key_pairs(profile, discovery)
    shared = tuple(
        r.key for r in resources if r.key in ("instance_profile", "instance_sg", "endpoint")
    )
    keys = {r.key for r in resources if r.kind == "key-pair"}
    resources += _instances(profile, discovery, shared, keys)

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
    if profile.access.mode == "ssh" and discovery.ssh_cidr in ("0.0.0.0/0", "::/0"):
        notes.append(
            f"SSH is open to the whole internet ({discovery.ssh_cidr}) because the profile sets "
            "allow_world_ssh: true; anyone can try to log in"
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
    surplus = [i for i in discovery.existing.instances if i.seat > profile.seats]
    if surplus:
        notes.append(
            f"{len(surplus)} instance(s) beyond seat {profile.seats} are left running; "
            "`teardown` removes them"
        )
    cost = Cost(
        price_per_hour_usd=catalog.price_per_hour(profile.instance_type, profile.accelerator),
        seats=profile.seats,
        prices_as_of=catalog.prices_as_of,
    )
    return Plan(profile=profile, discovery=discovery, resources=resources, cost=cost, notes=notes)
