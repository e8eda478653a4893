"""Read-only look at the account and region: everything `plan` needs, and nothing mutating.

Independent lookups run concurrently; the caller gets one Discovery or a typed error that says
what is wrong with the input (exit 2) or with AWS (exit 1).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from amazonei_setup.amis import ResolvedAmi, resolve_ami
from amazonei_setup.aws import AwsClients, AwsTarget, aws_errors, is_error
from amazonei_setup.catalog import Catalog
from amazonei_setup.errors import InputError
from amazonei_setup.iam_policy import launch_checks, missing_actions
from amazonei_setup.profile import Profile
from amazonei_setup.resources import endpoint as endpoint_res
from amazonei_setup.resources import instance as instance_res
from amazonei_setup.resources import instance_profile as instance_profile_res
from amazonei_setup.resources import key_pair as key_pair_res
from amazonei_setup.resources import role as role_res
from amazonei_setup.resources import security_group as sg_res
from amazonei_setup.resources.naming import (
    endpoint_sg_name,
    instance_sg_name,
    key_pair_name,
    role_name,
)


class EiRetiredError(InputError):
    """The region has no Elastic Inference endpoint service: say why and what to use instead."""


@dataclass(frozen=True)
class Subnet:
    id: str
    availability_zone: str
    vpc_id: str
    default_for_az: bool
    maps_public_ip: bool


@dataclass
class Existing:
    """What the deployment already has in AWS (found by name or tag), for reuse on re-runs."""

    role: dict[str, Any] | None = None
    instance_profile: dict[str, Any] | None = None
    instance_sg: dict[str, Any] | None = None
    endpoint_sg: dict[str, Any] | None = None
    endpoint: dict[str, Any] | None = None
    vpc_dns_missing: list[str] = field(default_factory=list)
    key_pairs: dict[str, dict[str, Any]] = field(default_factory=dict)  # ours, by name
    private_keys_present: set[str] = field(default_factory=set)  # names with a key file here
    instances: list[instance_res.LaunchedInstance] = field(default_factory=list)

    def any(self) -> bool:
        """Does anything of this deployment's own already exist (the shared endpoint aside)?"""
        return bool(
            self.role
            or self.instance_profile
            or self.instance_sg
            or self.endpoint_sg
            or self.key_pairs
            or self.instances
        )


@dataclass(frozen=True)
class SeatKey:
    """The key pair a seat's instance is launched with; `path` is None for the user's own."""

    name: str
    path: Path | None


@dataclass
class Discovery:
    account_id: str
    caller_arn: str
    region: str
    vpc_id: str
    vpc_is_default: bool
    offered_azs: list[str]
    ei_azs: list[str] | None
    subnets: list[Subnet]
    hidden_subnets: list[tuple[Subnet, str]]
    ami: ResolvedAmi
    ssh_cidr: str | None
    existing: Existing
    keys: dict[int, SeatKey]  # by seat; empty with SSM access
    missing_actions: list[str] | None = None  # None: the caller's permissions were not checked
    user_key_tags: dict[str, str] = field(default_factory=dict)  # a named key pair's tags
    from_record: bool = False  # VPC, subnets and AMI are the deployment's recorded ones
    depth: int = 0  # sequential rounds of AWS calls this discovery took

    def facts(self) -> dict[str, Any]:
        """What a re-run of the same deployment reuses instead of looking up again: the same
        VPC, subnets and AMI keep every seat alike, and an idempotent re-run cheap."""
        return {
            "account_id": self.account_id,
            "vpc_id": self.vpc_id,
            "vpc_is_default": self.vpc_is_default,
            "offered_azs": self.offered_azs,
            "ei_azs": self.ei_azs,
            "subnets": [asdict(s) for s in self.subnets],
            "hidden_subnets": [[asdict(s), reason] for s, reason in self.hidden_subnets],
            "ami": asdict(self.ami),
        }


IpLookup = Callable[[AwsTarget], str]


def public_ip_lookup(target: AwsTarget) -> str:
    """The caller's public IPv4 as AWS sees it; loopback for the local sandbox."""
    if target.is_loopback:
        return "127.0.0.1"
    import urllib.request

    try:
        with urllib.request.urlopen("https://checkip.amazonaws.com", timeout=5) as response:
            return response.read().decode().strip()
    except OSError as exc:
        raise InputError(
            f"could not find your public IP address for ssh_cidr: auto ({exc})",
            "pass --ssh-cidr 203.0.113.7/32 with your address, or use --access ssm",
        ) from None


# ---------------------------------------------------------------------------------------------


def caller_identity(clients: AwsClients) -> tuple[str, str]:
    with aws_errors("checking who you are (sts get-caller-identity)"):
        identity = clients.sts.get_caller_identity()
    return identity["Account"], identity["Arn"]


def ei_service_azs(clients: AwsClients, catalog: Catalog, region: str) -> list[str] | None:
    """AZs of the EI endpoint service, or None where the region does not have it."""
    name = catalog.ei_endpoint_service(region)
    with aws_errors("looking for the Elastic Inference endpoint service"):
        try:
            details = clients.ec2.describe_vpc_endpoint_services(ServiceNames=[name])
        except Exception as exc:
            if is_error(exc, "InvalidServiceName"):
                return None
            raise
    services = details.get("ServiceDetails", [])
    if not services:
        return None
    return sorted(services[0].get("AvailabilityZones", []))


def offered_azs(clients: AwsClients, instance_type: str) -> list[str]:
    with aws_errors(f"checking which AZs offer {instance_type}"):
        pages = clients.ec2.get_paginator("describe_instance_type_offerings").paginate(
            LocationType="availability-zone",
            Filters=[{"Name": "instance-type", "Values": [instance_type]}],
        )
        return sorted({o["Location"] for page in pages for o in page["InstanceTypeOfferings"]})


def offered_in_region(clients: AwsClients, instance_types: list[str]) -> set[str]:
    with aws_errors("checking which instance types the region offers"):
        found = clients.ec2.describe_instance_type_offerings(
            LocationType="region", Filters=[{"Name": "instance-type", "Values": instance_types}]
        )["InstanceTypeOfferings"]
    return {offer["InstanceType"] for offer in found}


def resolve_vpc(clients: AwsClients, wanted: str, region: str) -> tuple[str, bool]:
    with aws_errors("looking up the VPC"):
        if wanted == "default":
            vpcs = clients.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])
            if not vpcs["Vpcs"]:
                raise InputError(
                    f"{region} has no default VPC",
                    "pass --vpc vpc-... (or network.vpc in the profile) to use one of yours",
                )
            return vpcs["Vpcs"][0]["VpcId"], True
        try:
            vpcs = clients.ec2.describe_vpcs(VpcIds=[wanted])
        except Exception as exc:
            if is_error(exc, "InvalidVpcID.NotFound", "InvalidVpcID.Malformed"):
                raise InputError(
                    f"VPC {wanted} does not exist in {region}",
                    "list yours with `aws ec2 describe-vpcs`, or use network.vpc: default",
                ) from None
            raise
        return wanted, bool(vpcs["Vpcs"][0].get("IsDefault"))


def vpc_subnets(clients: AwsClients, vpc_id: str) -> list[Subnet]:
    with aws_errors(f"listing the subnets of {vpc_id}"):
        pages = clients.ec2.get_paginator("describe_subnets").paginate(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]
        )
        raw = [s for page in pages for s in page["Subnets"]]
    return [
        Subnet(
            id=s["SubnetId"],
            availability_zone=s["AvailabilityZone"],
            vpc_id=s["VpcId"],
            default_for_az=bool(s.get("DefaultForAz")),
            maps_public_ip=bool(s.get("MapPublicIpOnLaunch")),
        )
        for s in raw
    ]


def choose_subnets(
    subnets: list[Subnet],
    offered: list[str],
    ei_azs: list[str] | None,
    wanted: str,
    instance_type: str,
) -> tuple[list[Subnet], list[tuple[Subnet, str]]]:
    """Subnets whose AZ offers the type (and the EI endpoint), one per AZ, in AZ order.

    Returns the eligible ones and the hidden ones with the reason each was hidden.
    """
    eligible: list[Subnet] = []
    hidden: list[tuple[Subnet, str]] = []
    for subnet in sorted(subnets, key=lambda s: (s.availability_zone, not s.default_for_az, s.id)):
        if subnet.availability_zone not in offered:
            hidden.append((subnet, f"{subnet.availability_zone} does not offer {instance_type}"))
        elif ei_azs is not None and subnet.availability_zone not in ei_azs:
            hidden.append((subnet, f"{subnet.availability_zone} has no Elastic Inference endpoint"))
        elif any(e.availability_zone == subnet.availability_zone for e in eligible):
            hidden.append((subnet, f"another subnet already serves {subnet.availability_zone}"))
        else:
            eligible.append(subnet)
    if wanted != "auto":
        chosen = [s for s in eligible if s.id == wanted]
        if not chosen:
            all_ids = {s.id: s for s in subnets}
            if wanted not in all_ids:
                raise InputError(
                    f"subnet {wanted} is not in the chosen VPC",
                    "list them with `aws ec2 describe-subnets`, or use network.subnet: auto",
                )
            reason = next(r for s, r in hidden if s.id == wanted)
            raise InputError(
                f"subnet {wanted} cannot be used: {reason}",
                "use network.subnet: auto to let the tool pick a subnet that works",
            )
        # The chosen subnet first; other eligible AZs stay available for capacity failover.
        eligible = chosen + [s for s in eligible if s.id != wanted]
    return eligible, hidden


def retired_error(clients: AwsClients, catalog: Catalog, profile: Profile) -> EiRetiredError:
    """EI is gone here: say so, and price the nearest modern hardware side by side."""
    offered = offered_in_region(clients, list(catalog.ei_alternatives))
    wanted = catalog.price_per_hour(profile.instance_type, profile.accelerator)
    options = []
    for instance_type in catalog.ei_alternatives:
        spec = catalog.instance(instance_type)
        if spec is None:
            continue
        where = "" if instance_type in offered else f", not offered in {profile.region}"
        options.append(
            f"{instance_type} ({spec.accelerator_summary()}, ${spec.price_per_hour:.3f}/h{where})"
        )
    your = f" ({profile.instance_type} + {profile.accelerator}"
    your += f" was ${wanted:.3f}/h)" if wanted is not None else ")"
    first = next((t for t in catalog.ei_alternatives if t in offered), catalog.ei_alternatives[0])
    return EiRetiredError(
        f"Elastic Inference is not available in {profile.region}: AWS retired the service in "
        f"April 2024 (no new customers since 2023-04-15){your}. Nearest alternatives: "
        + "; ".join(options)
        + ".",
        f"run again with --instance-type {first} --accelerator none "
        "(or set instance_type and accelerator: none in the profile); nothing was created",
    )


def seat_keys(profile: Profile, home: Path) -> dict[int, SeatKey]:
    """Created key pairs: one per seat, its private key in the state home. A named key pair:
    the same for every seat (its private key is the user's). SSM access: none."""
    if profile.access.mode != "ssh":
        return {}
    seats = range(1, profile.seats + 1)
    if profile.access.key_pair != "create":
        return {seat: SeatKey(profile.access.key_pair, None) for seat in seats}
    region = profile.region
    keys = {}
    for seat in seats:
        name = key_pair_name(profile.name, seat)
        keys[seat] = SeatKey(name, key_pair_res.private_key_path(home, region, name))
    return keys


def _own_lookups(
    pool: ThreadPoolExecutor, clients: AwsClients, profile: Profile, keys: dict[int, SeatKey]
) -> Callable[[Existing], None]:
    """Start the lookups of the deployment's own resources that need no VPC; the returned
    function waits for them and fills them in."""
    role = role_name(profile.name, profile.region)
    found_role = pool.submit(role_res.find, clients, role)
    found_holder = pool.submit(instance_profile_res.find, clients, role)
    created_keys = [k for k in keys.values() if k.path is not None]
    found_keys = pool.submit(key_pair_res.find_named, clients, [k.name for k in created_keys])
    found_instances = pool.submit(instance_res.find, clients, profile.name)

    def collect(existing: Existing) -> None:
        existing.role = found_role.result()
        existing.instance_profile = found_holder.result()
        existing.key_pairs = found_keys.result()
        existing.private_keys_present = {
            k.name for k in created_keys if k.path is not None and k.path.exists()
        }
        existing.instances = found_instances.result()

    return collect


def _vpc_lookups(
    pool: ThreadPoolExecutor, clients: AwsClients, profile: Profile, vpc_id: str, catalog: Catalog
) -> Callable[[Existing], int]:
    """Start the lookups inside the VPC (groups, endpoint); the returned function waits for
    them, fills them in, and says how many sequential rounds they took."""
    names = [instance_sg_name(profile.name)]
    if profile.has_eia:
        names.append(endpoint_sg_name(profile.name))
    groups = pool.submit(sg_res.find_named, clients, vpc_id, names)
    service = catalog.ei_endpoint_service(profile.region)
    endpoint = pool.submit(endpoint_res.find, clients, vpc_id, service) if profile.has_eia else None

    def collect(existing: Existing) -> int:
        found = groups.result()
        existing.instance_sg = found.get(instance_sg_name(profile.name))
        existing.endpoint_sg = found.get(endpoint_sg_name(profile.name))
        if endpoint is None:
            return 1
        existing.endpoint = endpoint.result()
        if existing.endpoint is not None:
            return 1  # an endpoint with private DNS exists: the VPC's DNS is on
        existing.vpc_dns_missing = endpoint_res.vpc_dns_missing(clients, vpc_id)
        return 2

    return collect


def _user_key_pair(clients: AwsClients, profile: Profile) -> dict[str, Any]:
    key = key_pair_res.find(clients, profile.access.key_pair)
    if key is None:
        raise InputError(
            f"key pair '{profile.access.key_pair}' does not exist in {profile.region}",
            "use key_pair: create to make one, import yours with `aws ec2 import-key-pair`, "
            "or use --access ssm",
        )
    return key


def recorded_facts(home: Path, profile: Profile) -> dict[str, Any] | None:
    """The discovery facts of this deployment's last launch, when its hardware and network
    inputs are unchanged (otherwise everything is looked up afresh)."""
    from amazonei_setup.ledger import Ledger

    record = Ledger(home).load(profile.region, profile.name)
    if not record or "discovered" not in record:
        return None
    before, now = record.get("profile", {}), profile.to_document()
    inputs = ("instance_type", "accelerator", "os", "ami", "network")
    if any(before.get(key) != now.get(key) for key in inputs):
        return None
    return dict(record["discovered"])


def discover(
    clients: AwsClients,
    catalog: Catalog,
    profile: Profile,
    home: Path,
    ip_lookup: IpLookup = public_ip_lookup,
) -> Discovery:
    """Everything the plan needs, looked up concurrently; raises before anything is created.

    A re-run of a recorded deployment reuses its recorded VPC, subnets and AMI, so an
    idempotent re-run costs only the lookups of its own resources.
    """
    facts = recorded_facts(home, profile)
    found = _discover(clients, catalog, profile, home, ip_lookup, facts)
    if facts is not None and found.account_id != facts.get("account_id"):
        return _discover(clients, catalog, profile, home, ip_lookup, None)  # other credentials
    return found


def _discover(
    clients: AwsClients,
    catalog: Catalog,
    profile: Profile,
    home: Path,
    ip_lookup: IpLookup,
    facts: dict[str, Any] | None,
) -> Discovery:
    region = profile.region
    keys = seat_keys(profile, home)
    existing = Existing()
    # Clients are made one at a time; EC2's (the largest model) is on the critical path, so it
    # comes first rather than queueing behind STS and IAM.
    clients.client("ec2")
    with ThreadPoolExecutor(max_workers=12, thread_name_prefix="discover") as pool:
        identity = pool.submit(caller_identity, clients)
        own = _own_lookups(pool, clients, profile, keys)
        user_key = None
        if profile.access.mode == "ssh" and profile.access.key_pair != "create":
            user_key = pool.submit(_user_key_pair, clients, profile)
        wants_ip = profile.access.mode == "ssh" and profile.access.ssh_cidr == "auto"
        caller_ip = pool.submit(ip_lookup, clients.target) if wants_ip else None
        if facts is not None:
            vpc_id, vpc_is_default = facts["vpc_id"], bool(facts["vpc_is_default"])
            inside = _vpc_lookups(pool, clients, profile, vpc_id, catalog)
            offered, ei_azs = list(facts["offered_azs"]), facts["ei_azs"]
            subnets = [Subnet(**s) for s in facts["subnets"]]
            hidden = [(Subnet(**s), reason) for s, reason in facts["hidden_subnets"]]
            resolved_ami = ResolvedAmi(**facts["ami"])
            account_id, caller_arn = identity.result()
            chains = [inside(existing)]
        else:
            ei = pool.submit(ei_service_azs, clients, catalog, region) if profile.has_eia else None
            offers = pool.submit(offered_azs, clients, profile.instance_type)
            vpc = pool.submit(resolve_vpc, clients, profile.network.vpc, region)
            ami = pool.submit(resolve_ami, clients, catalog, profile)
            account_id, caller_arn = identity.result()
            ei_azs = ei.result() if ei else None
            if profile.has_eia and ei_azs is None:
                raise retired_error(clients, catalog, profile)
            offered = offers.result()
            if not offered:
                raise InputError(
                    f"{profile.instance_type} is not offered in any AZ of {region}",
                    "pick another instance type or region "
                    "(`amazonei-setup estimate` compares them)",
                )
            vpc_id, vpc_is_default = vpc.result()
            inside = _vpc_lookups(pool, clients, profile, vpc_id, catalog)
            subnets, hidden = choose_subnets(
                vpc_subnets(clients, vpc_id),
                offered,
                ei_azs,
                profile.network.subnet,
                profile.instance_type,
            )
            if not subnets:
                reasons = sorted({reason for _, reason in hidden}) or ["the VPC has no subnets"]
                raise InputError(
                    f"no subnet of {vpc_id} can run {profile.instance_type}"
                    + (" with Elastic Inference" if profile.has_eia else "")
                    + f": {'; '.join(reasons)}",
                    "choose another VPC or instance type, or add a subnet in an AZ that offers it",
                )
            resolved_ami = ami.result()
            # The VPC, then what is inside it; the AMI's SSM parameter, then its image.
            chains = [1 + inside(existing), 2]
        permissions = None
        if not clients.target.is_loopback:  # the sandbox has no IAM policy simulator
            checks = launch_checks(
                region, account_id, role_name(profile.name, region), eia=profile.has_eia
            )
            permissions = pool.submit(missing_actions, clients, caller_arn, checks)
            chains.append(2)  # who you are, then what you may do
        user_key_found = user_key.result() if user_key is not None else None
        ssh_cidr = None
        if profile.access.mode == "ssh":
            ssh_cidr = f"{caller_ip.result()}/32" if caller_ip else profile.access.ssh_cidr
        own(existing)
        missing = permissions.result() if permissions else None

    chains.append(2 if existing.role is not None else 1)  # the role, then its inline policy
    return Discovery(
        account_id=account_id,
        caller_arn=caller_arn,
        region=region,
        vpc_id=vpc_id,
        vpc_is_default=vpc_is_default,
        offered_azs=offered,
        ei_azs=ei_azs,
        subnets=subnets,
        hidden_subnets=hidden,
        ami=resolved_ami,
        ssh_cidr=ssh_cidr,
        existing=existing,
        keys=keys,
        missing_actions=missing,
        user_key_tags=(user_key_found or {}).get("tags", {}),
        from_record=facts is not None,
        depth=max(chains),
    )
