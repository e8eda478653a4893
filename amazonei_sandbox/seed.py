"""Seed moto's in-process backends so that a region looks like the real one to this tool.

moto 5 serves EC2, SSM and IAM well, but three things the tool depends on are missing or wrong:

1. Deep Learning AMIs. moto bundles a few current Amazon Linux images and no DLAMI at all, and
   `register_image` makes images owned by the caller, so `describe_images(Owners=["amazon"])`
   never finds one. We insert amazon-owned images for every catalog AMI rule (at least an older
   and a newer release, so "newest CreationDate wins" is exercised) straight into the EC2
   backend, dated as AWS dates them with the DeprecationTime AWS gives them
   (`dlami_releases`); DescribeImages then hides deprecated ones unless IncludeDeprecated=True
   (`deprecation`), as EC2 does: moto does neither.
   moto also stamps its bundled images with the time they were loaded as CreationDate, which
   would make them outrank every real release; those that match a catalog pattern get the date
   written in their name instead (`al2023-ami-2023.11.20260427.1-...` -> 2026-04-27).
2. SSM public parameters. `/aws/service/deeplearning|neuron|canonical/...` do not exist, and
   `put_parameter` refuses names under `/aws/`. We append them to the SSM backend's parameter
   store, each naming the newer image of its rule, the way AWS points `latest` at the newest
   release. moto's own lazily loaded `/aws/service/ami-amazon-linux-latest/...` parameters stay
   loaded; the one the catalog uses gets a new version naming our image.
3. The Elastic Inference endpoint service. moto lists
   `com.amazonaws.<region>.elastic-inference.runtime` in every region and in every zone. AWS only
   offered it in the eia1 regions of the catalog, and not in every zone; elsewhere
   `describe_vpc_endpoint_services(ServiceNames=[...])` fails with InvalidServiceName.

Everything is deterministic (ids derive from region and name) and idempotent: seeding a region
twice changes nothing. Nothing else is needed: moto already has per-zone instance-type
offerings, default VPCs and subnets.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from moto.ec2.models import ec2_backends
from moto.ec2.models.amis import Ami
from moto.ec2.models.vpcs import ENDPOINT_SERVICE_COLLECTION_LOCK
from moto.ssm.models import Parameter, ssm_backends

from amazonei_sandbox import (
    cfn_models,
    cfn_network,
    ec2_strict,
    instance_type_facts,
    request_transformers,
    s3_strict,
    spot_history,
    ssm_strict,
    stackset_strict,
    subnet_ips,
)
from amazonei_sandbox.deprecation import install as install_deprecation
from amazonei_sandbox.dlami_releases import LINES, description, iso
from amazonei_setup.spec.catalog import AmiRule, Catalog, load_catalog

SANDBOX_ACCOUNT_ID = "123456789012"  # moto's default account
AMAZON_OWNER_ID = "898082745236"  # the account that publishes the Deep Learning AMIs
SEED_MARK = "seeded by the amazonei-setup sandbox"

# The newer release of every rule, unless moto already holds a later one (see _releases).
# Naive UTC, like moto's own timestamps.
_NEWER_RELEASE = datetime(2025, 11, 4, 18, 30)
_RELEASE_GAP = timedelta(days=147)
_STAMP_IN_NAME = re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)")
_SEED_LOCK = threading.Lock()
# (region, public parameter) not published there, in any account: AWS publishes a newer
# framework's parameter later in some regions. Empty unless a test withholds one.
WITHHELD: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class _Release:
    """What fills the `*` of a name pattern for one release."""

    created: datetime
    version: str  # "Deep Learning AMI (Amazon Linux 2) Version 70.0"
    minor: str  # "Deep Learning AMI Neuron PyTorch 2.5 (Amazon Linux 2023) 20251104"

    @property
    def stamp(self) -> str:
        return self.created.strftime("%Y%m%d")


def seed_region(region: str, account_id: str = SANDBOX_ACCOUNT_ID) -> None:
    """Make `region` of `account_id` look like the real region (idempotent, thread-safe)."""
    catalog = load_catalog()
    install_deprecation()
    with _SEED_LOCK:
        ec2 = ec2_backends[account_id][region]
        ssm = ssm_backends[account_id][region]
        for rule in ami_rules(catalog):
            images = _seed_rule_images(ec2, region, rule)
            for name in rule.ssm_parameters:
                if (region, name) in WITHHELD:
                    ssm._parameters.pop(name, None)
                    continue
                _put_public_parameter(ssm, account_id, name, _parameter_image(name, images))
        _shape_ei_endpoint_service(ec2, catalog, account_id, region)
        request_transformers.install()  # a request's answer shaped by it alone
        ec2_strict.install()
        subnet_ips.install()  # parallel launches into one subnet, each its own IP
        instance_type_facts.install()  # moto's hardware data, mended to AWS's
        spot_history.install()  # spot prices from a dated snapshot, not moto's 2006 figure
        ssm_strict.install()
        s3_strict.install()
        cfn_models.install()
        cfn_network.install()
        stackset_strict.install(seed_region)
        ec2_strict.give_default_vpc_internet(ec2)


def ami_rules(catalog: Catalog) -> Iterator[AmiRule]:
    """Every AMI rule of the catalog (accelerator kind × OS)."""
    yield from catalog.all_ami_rules()


# --- Deep Learning AMIs --------------------------------------------------------------------


def _seed_rule_images(ec2: Any, region: str, rule: AmiRule) -> list[Ami]:
    """The releases of each name pattern of the rule that dlami_releases dates like AWS (with
    their deprecation); two generic releases of the first pattern otherwise."""
    images = []
    for pattern in rule.name_patterns:
        line = LINES.get(pattern)
        if line is not None:
            for entry in line.releases:
                release = _Release(entry.created, version=entry.label, minor=entry.label)
                deprecated = line.deprecation(entry)
                images.append(
                    _ensure_image(ec2, region, rule, pattern, release, deprecated, entry.neuron_sdk)
                )
        elif pattern == rule.name_patterns[0]:
            for release in _releases(_date_bundled_images(ec2, rule)):
                images.append(_ensure_image(ec2, region, rule, pattern, release))
    return images


def _parameter_image(name: str, images: list[Ami]) -> Ami:
    """The image a public parameter names: the newest of its line (OS, framework version)."""
    hints = []
    for found in re.finditer(r"ubuntu-(\d+\.\d+)|(amazon-linux-2023)|pytorch-(\d+\.\d+)", name):
        ubuntu, al2023, pytorch = found.groups()
        hints.append(
            f"(Ubuntu {ubuntu})"
            if ubuntu
            else "(Amazon Linux 2023)"
            if al2023
            else f"PyTorch {pytorch} "
        )
    fitting = [i for i in images if all(hint in (i.name or "") for hint in hints)] or images
    return max(fitting, key=lambda image: image.creation_date)


def _date_bundled_images(ec2: Any, rule: AmiRule) -> list[datetime]:
    """Give moto's bundled images that match the rule the date in their name; return all dates."""
    dates = []
    for ami in ec2.amis.values():
        if SEED_MARK in (ami.description or "") or not _matches(ami, rule):
            continue
        match = _STAMP_IN_NAME.search(ami.name or "")
        if match:
            year, month, day = (int(part) for part in match.groups())
            ami.creation_date = datetime(year, month, day)
        dates.append(ami.creation_date)
    return dates


def _matches(ami: Ami, rule: AmiRule) -> bool:
    owned = ami.owner_id in rule.owners or ami.owner_alias in rule.owners
    return owned and any(fnmatch.fnmatchcase(ami.name or "", p) for p in rule.name_patterns)


def _releases(other_dates: list[datetime]) -> tuple[_Release, _Release]:
    """An older and a newer release; the newer one is the newest image of its rule."""
    newer = max([_NEWER_RELEASE, *(d + timedelta(days=1) for d in other_dates)])
    newer = newer.replace(hour=_NEWER_RELEASE.hour, minute=_NEWER_RELEASE.minute)
    return (
        _Release(created=newer - _RELEASE_GAP, version="69.1", minor="4"),
        _Release(created=newer, version="70.0", minor="5"),
    )


def _ensure_image(
    ec2: Any,
    region: str,
    rule: AmiRule,
    pattern: str,
    release: _Release,
    deprecated: datetime | None = None,
    neuron_sdk: str | None = None,
) -> Ami:
    name = _image_name(pattern, release)
    ami_id = image_id(region, name)
    if ami_id not in ec2.amis:
        owner_id, owner_alias = _owner(rule)
        ec2.amis[ami_id] = Ami(
            ec2,
            ami_id,
            name=name,
            description=description(name, neuron_sdk, SEED_MARK),
            owner_id=owner_id,
            owner_alias=owner_alias,
            public=True,
            virtualization_type="hvm",
            architecture=rule.architecture,
            state="available",
            creation_date=release.created,
            hypervisor="xen",
            root_device_type="ebs",
            root_device_name="/dev/sda1" if rule.os == "ubuntu" else "/dev/xvda",
            region_name=ec2.describe_availability_zones()[0].name,  # where its snapshot lives
        )
        if deprecated is not None:  # serialized as DeprecationTime (see sandbox.deprecation)
            ec2.amis[ami_id].deprecation_time = iso(deprecated)
    return ec2.amis[ami_id]


def _image_name(pattern: str, release: _Release) -> str:
    """Fill each `*` of a catalog name pattern the way real image names read."""
    head, *tails = pattern.split("*")
    name = head
    for tail in tails:
        name += _star_value(name, tail, release) + tail
    return name


def _star_value(before: str, after: str, release: _Release) -> str:
    if before.endswith("Version "):
        return release.version
    if before.endswith(".") and before[-2:-1].isdigit():
        # "PyTorch 2.*" is a minor version; "al2023-ami-2023.*-x86_64" a minor plus a build.
        return release.minor if after.startswith(" ") else f"{release.minor}.{release.stamp}.0"
    return release.stamp


def image_id(region: str, name: str) -> str:
    """The same region and name always get the same id."""
    return "ami-" + hashlib.sha256(f"{region}\0{name}".encode()).hexdigest()[:17]


def _owner(rule: AmiRule) -> tuple[str, str | None]:
    """(owner id, owner alias): an account number in the rule wins (e.g. Canonical)."""
    accounts = [owner for owner in rule.owners if owner.isdigit()]
    return (accounts[0], None) if accounts else (AMAZON_OWNER_ID, "amazon")


# --- SSM public parameters -------------------------------------------------------------------


def withhold_parameter(region: str, name: str) -> None:
    """Make `name` absent from `region` in every account, now and whenever it is seeded
    again (a stack set's member account is seeded when it is first reached)."""
    WITHHELD.add((region, name))
    for account_id in list(ssm_backends):
        if region in ssm_backends[account_id]:
            ssm_backends[account_id][region]._parameters.pop(name, None)


def _put_public_parameter(ssm: Any, account_id: str, name: str, image: Ami) -> None:
    """Point a public parameter at `image`, as a new version when it named something else."""
    # ParameterDict.__getitem__ first runs moto's lazy loaders for its own /aws/service/...
    # trees, then (a defaultdict) creates the empty version list for a new name.
    versions: list[Parameter] = ssm._parameters[name]
    if versions and versions[-1].value == image.id:
        return
    versions.append(
        # moto's own Parameter leaves two of CloudFormationModel's abstract methods to the base
        Parameter(  # type: ignore[abstract]
            account_id=account_id,
            name=name,
            value=image.id,
            parameter_type="String",
            description=None,
            allowed_pattern=None,
            keyid=None,
            last_modified_date=image.creation_date,
            version=versions[-1].version + 1 if versions else 1,
            data_type="aws:ec2:image",
        )
    )


# --- Elastic Inference endpoint service ----------------------------------------------------


def _shape_ei_endpoint_service(ec2: Any, catalog: Catalog, account_id: str, region: str) -> None:
    """Offer the EI runtime endpoint service only where AWS did, in the zones it did.

    moto internals: `VPCBackend._collect_default_endpoint_services(account_id, region)` builds
    the region's default endpoint services once (from `AWS_ENDPOINT_SERVICES`, every zone) and
    caches the list in the module dict `moto.ec2.models.vpcs.DEFAULT_VPC_ENDPOINT_SERVICES`
    (keyed by region only, shared by every account, never reset), under
    `ENDPOINT_SERVICE_COLLECTION_LOCK`. `describe_vpc_endpoint_services` reads that same list,
    in `mock_aws` and in the server alike, so we force the collection and edit the cached list
    in place under the same lock.
    """
    service_name = catalog.ei_endpoint_service(region)
    services: list[dict[str, Any]] = ec2._collect_default_endpoint_services(account_id, region)
    zones = _ei_zones(ec2, catalog) if region in _ei_regions(catalog) else []
    with ENDPOINT_SERVICE_COLLECTION_LOCK:
        if not zones:
            services[:] = [s for s in services if s["ServiceName"] != service_name]
            return
        entries = [s for s in services if s["ServiceName"] == service_name]
        if not entries:
            service = service_name.removeprefix(f"com.amazonaws.{region}.")
            entries = ec2.default_vpc_endpoint_service_factory(region, zones, service)
            services.extend(entries)
        for entry in entries:
            entry["AvailabilityZones"] = list(zones)
            entry["ServiceType"] = [{"ServiceType": "Interface"}]


def _ei_regions(catalog: Catalog) -> set[str]:
    return {
        region
        for spec in catalog.accelerators.values()
        if spec.generation == "eia1"
        for region in spec.regions
    }


def _ei_zones(ec2: Any, catalog: Catalog) -> list[str]:
    """The zones that sell the host family, less the last one: AWS never covered them all."""
    family = catalog.ei_host_families[0]
    host_types = sorted(s.instance_type for s in catalog.instances.values() if s.family == family)
    offerings = ec2.describe_instance_type_offerings(
        location_type="availability-zone", filters={"instance-type": host_types}
    )
    zones = sorted({offer["Location"] for offer in offerings})
    return zones[:-1] if len(zones) > 1 else zones
