"""Read-only look at the account and region: everything `plan` needs, and nothing mutating.

Independent lookups run concurrently; the caller gets one Discovery or a typed error that says
what is wrong with the input (exit 2) or with AWS (exit 1).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from amazonei_setup.aws.amis import ResolvedAmi, resolve_ami
from amazonei_setup.aws.clients import AwsClients, AwsTarget, aws_errors, is_error, unless_absent
from amazonei_setup.aws.discovered import Discovery, Existing, SeatKey
from amazonei_setup.aws.instance_types import offerings
from amazonei_setup.aws.routes import SESSION_MANAGER_SERVICES, ssm_reachability
from amazonei_setup.aws.subnets import Subnet, usable_subnets
from amazonei_setup.errors import InputError
from amazonei_setup.policy.caller import launch_checks, missing_actions
from amazonei_setup.resources import key_pair as key_pair_res
from amazonei_setup.resources.kind import DiscoverInput
from amazonei_setup.resources.naming import (
    key_pair_name,
    role_name,
)
from amazonei_setup.resources.registry import kinds
from amazonei_setup.spec.catalog import Catalog
from amazonei_setup.spec.profile import Profile
from amazonei_setup.state.record import DeploymentRecord


class EiRetiredError(InputError):
    """The region has no Elastic Inference endpoint service: say why and what to use instead."""


def own_resources_exist(existing: Existing) -> bool:
    """Does anything of this deployment's own already exist (a shared endpoint aside)?"""
    return any(_present(existing.of(kind.kind)) for kind in kinds() if kind.own)


def _present(found: Any) -> bool:
    pairs = getattr(found, "pairs", None)  # key pairs: the ones that exist
    return bool(pairs) if pairs is not None else bool(found)


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
        details = unless_absent(
            lambda: clients.ec2.describe_vpc_endpoint_services(ServiceNames=[name]),
            "InvalidServiceName",
        )
    services = details.get("ServiceDetails", []) if details else []
    if not services:
        return None
    return sorted(services[0].get("AvailabilityZones", []))


def offered_azs(clients: AwsClients, instance_type: str) -> list[str]:
    return offerings(clients, [instance_type])[instance_type]


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
        "(or set instance_type and accelerator: none in the profile), or with --accelerator "
        f"none alone to keep {profile.instance_type} CPU-only; nothing was created",
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


def _lookups(look: DiscoverInput, existing: Existing) -> Callable[[], int]:
    """Start every kind's look-ups of the deployment's own resources (those inside the VPC
    once `look.vpc_id` is set); the returned function waits for them, fills `existing` in,
    and says how many sequential rounds the slowest took."""
    inside = look.vpc_id is not None
    started = [
        (kind.kind, collect)
        for kind in kinds()
        if kind.needs_vpc() == inside and (collect := kind.discover(look)) is not None
    ]

    def wait() -> int:
        rounds = [0]
        for name, collect in started:
            existing.found[name], depth = collect()
            rounds.append(depth)
        return max(rounds)

    return wait


def _reach_ssm(
    clients: AwsClients,
    profile: Profile,
    vpc_id: str,
    subnets: list[Subnet],
    hidden: list[tuple[Subnet, str]],
) -> tuple[list[Subnet], list[tuple[Subnet, str]]]:
    """With Session Manager access, only subnets whose instances reach Systems Manager: a
    seat elsewhere could never be reached, and its agent's report never arrive."""
    if profile.access.mode != "ssm":
        return subnets, hidden
    why_not = ssm_reachability(clients, vpc_id, profile.region, subnets, SESSION_MANAGER_SERVICES)
    reachable = [s for s in subnets if why_not[s.id] is None]
    hidden = hidden + [(s, str(why_not[s.id])) for s in subnets if why_not[s.id] is not None]
    if not reachable:
        raise InputError(
            f"no subnet of {vpc_id} lets an instance reach Systems Manager, so Session Manager "
            "and the agent's report would never arrive: "
            + "; ".join(str(why_not[s.id]) for s in subnets),
            "add a NAT gateway route, create the ssm, ssmmessages and ec2messages interface "
            "endpoints in the VPC (private DNS on), choose a public subnet, or use --access ssh",
        )
    return reachable, hidden


def _user_key_pair(clients: AwsClients, profile: Profile) -> dict[str, Any]:
    key = key_pair_res.find(clients, profile.access.key_pair)
    if key is None:
        raise InputError(
            f"key pair '{profile.access.key_pair}' does not exist in {profile.region}",
            "use key_pair: create to make one, import yours with `aws ec2 import-key-pair`, "
            "or use --access ssm",
        )
    return key


def recorded_facts(record: DeploymentRecord | None, profile: Profile) -> dict[str, Any] | None:
    """The discovery facts of this deployment's last launch, when its hardware and network
    inputs are unchanged (otherwise everything is looked up afresh)."""
    if record is None or not record.discovered:
        return None
    before, now = record.profile, profile.to_document()
    inputs = ("instance_type", "accelerator", "os", "ami", "network")
    if any(before.get(key) != now.get(key) for key in inputs):
        return None
    return dict(record.discovered)


def discover(
    clients: AwsClients,
    catalog: Catalog,
    profile: Profile,
    home: Path,
    ip_lookup: IpLookup = public_ip_lookup,
    *,
    record: DeploymentRecord | None = None,
) -> Discovery:
    """Everything the plan needs, looked up concurrently; raises before anything is created.

    A re-run of a recorded deployment (`record`) reuses its recorded VPC, subnets and AMI, so
    an idempotent re-run costs only the lookups of its own resources.
    """
    facts = recorded_facts(record, profile)
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
        look = DiscoverInput(clients, profile, catalog, home, pool, keys)
        own = _lookups(look, existing)
        user_key = None
        if profile.access.mode == "ssh" and profile.access.key_pair != "create":
            user_key = pool.submit(_user_key_pair, clients, profile)
        wants_ip = profile.access.mode == "ssh" and profile.access.ssh_cidr == "auto"
        caller_ip = pool.submit(ip_lookup, clients.target) if wants_ip else None
        if facts is not None:
            vpc_id, vpc_is_default = facts["vpc_id"], bool(facts["vpc_is_default"])
            inside = _lookups(replace(look, vpc_id=vpc_id), existing)
            offered, ei_azs = list(facts["offered_azs"]), facts["ei_azs"]
            subnets = [Subnet(**s) for s in facts["subnets"]]
            hidden = [(Subnet(**s), reason) for s, reason in facts["hidden_subnets"]]
            resolved_ami = ResolvedAmi(**facts["ami"])
            account_id, caller_arn = identity.result()
            chains = [inside()]
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
            inside = _lookups(replace(look, vpc_id=vpc_id), existing)
            choice = usable_subnets(
                vpc_id,
                vpc_subnets(clients, vpc_id),
                offered,
                ei_azs,
                profile.instance_type,
                profile.network.subnet,
            )
            if not choice.usable:
                raise choice.unusable_error()
            subnets, hidden = _reach_ssm(clients, profile, vpc_id, choice.usable, choice.hidden)
            resolved_ami = ami.result()
            # The VPC, then what is inside it; the AMI's SSM parameter, then its image.
            chains = [1 + inside(), 2]
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
        chains.append(own())
        missing = permissions.result() if permissions else None

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
        depth=max(chains),
    )
