"""Finding the Deep Learning AMI for the hardware, the way AWS publishes them today.

SSM public parameters first (AWS points `latest` at the newest release), then DescribeImages
over the catalog's name patterns, newest CreationDate first. Images that AWS no longer publishes
are deprecated, and DescribeImages hides deprecated images unless IncludeDeprecated=True (EC2
User Guide, "Deprecate an AMI"), so the rules for them ask for it. inf1 takes the newest
multi-framework Neuron DLAMI whose description names Neuron SDK <= 2.26 (Neuron DLAMI guide:
from 2.26.1 on the DLAMIs no longer support Inf1).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from typing import Any

from amazonei_setup.aws.clients import AwsClients, aws_errors, unless_absent
from amazonei_setup.errors import AwsFailure, InputError
from amazonei_setup.spec.catalog import AmiRule, Catalog
from amazonei_setup.spec.profile import Profile

DEFAULT_ROOT_VOLUME_GIB = 100
_NEURON_SDK = re.compile(r"Neuron SDK (\d+(?:\.\d+)*)")


@dataclass(frozen=True)
class ResolvedAmi:
    id: str
    name: str
    source: str
    root_device_name: str
    root_volume_gib: int
    ssh_user: str
    deprecation_time: str | None = None  # ISO-8601, as DescribeImages gives it


def resolve_ami(clients: AwsClients, catalog: Catalog, profile: Profile) -> ResolvedAmi:
    """SSM public parameter first, then the newest amazon-owned image matching the rule."""
    rule = catalog.ami_rule(profile.instance_type, profile.accelerator, profile.os)
    if profile.ami != "auto":
        image = _describe_image(clients, profile.ami)
        if image is None:
            raise InputError(
                f"AMI {profile.ami} does not exist in {profile.region} (or is not shared with you)",
                "use ami: auto to find the Deep Learning AMI, or check the id and region",
            )
        return _resolved(image, "profile", rule.ssh_user)
    refusal = catalog.refusal(profile.instance_type, profile.accelerator, profile.os)
    if refusal is not None:  # profile validation says so first; a guard for direct callers
        raise InputError(
            f"{profile.instance_type} has no supported Deep Learning AMI: {refusal.reason}",
            f"use {' or '.join(refusal.alternatives)}, or name an AMI with ami: ami-...",
        )
    for parameter in rule.ssm_parameters:
        image = _parameter_image(clients, rule, parameter)
        if image is not None:
            return _resolved(image, f"ssm:{parameter}", rule.ssh_user)
    images = [image for image in _search(clients, rule) if _fits(rule, image)]
    if not images:
        raise AwsFailure(
            f"no {rule.key} Deep Learning AMI for {profile.os} found in {profile.region} "
            f"(looked for {', '.join(rule.ssm_parameters + rule.name_patterns)}"
            + (f", Neuron SDK <= {rule.max_neuron_sdk}" if rule.max_neuron_sdk else "")
            + (", deprecated images included" if rule.include_deprecated else "")
            + ")",
            "pass an AMI id with ami: ami-... in the profile, or try the other os",
        )
    newest = max(images, key=lambda image: image.get("CreationDate", ""))
    return _resolved(newest, "describe_images (newest)", rule.ssh_user)


def fitting_parameters(clients: AwsClients, catalog: Catalog, profile: Profile) -> list[str]:
    """The rule's public SSM parameters that exist in the clients' region and name a fitting
    image there, in the rule's order (public parameters differ by region: a newer framework's
    is published later in some). One that cannot be read counts as absent."""
    rule = catalog.ami_rule(profile.instance_type, profile.accelerator, profile.os)
    return [p for p in rule.ssm_parameters if _parameter_image(clients, rule, p) is not None]


def _parameter_image(clients: AwsClients, rule: AmiRule, parameter: str) -> dict[str, Any] | None:
    """The fitting image the public parameter names, or None (absent, unreadable, unfit)."""
    with aws_errors(f"reading SSM public parameter {parameter}"):
        found = unless_absent(
            partial(clients.ssm.get_parameter, Name=parameter),
            "ParameterNotFound",
            "AccessDeniedException",
        )
    if found is None:
        return None
    image = _describe_image(clients, found["Parameter"]["Value"])  # by id: even deprecated
    return image if image is not None and _fits(rule, image) else None


def deprecation_note(ami: ResolvedAmi, now: datetime | None = None) -> str | None:
    """A plan note when the chosen AMI is deprecated: AWS no longer lists or patches it."""
    when = _parse_time(ami.deprecation_time)
    if when is None or when > (now or datetime.now(timezone.utc)):
        return None
    return (
        f"AMI {ami.id} ({ami.name}) is deprecated since {when:%Y-%m-%d}: AWS no longer lists or "
        "updates it; it still launches, but expect old packages"
    )


def neuron_sdk_of(image: dict[str, Any]) -> tuple[int, ...] | None:
    """The Neuron SDK release an image's description names ("... Neuron SDK 2.26.0 ...")."""
    found = _NEURON_SDK.search(image.get("Description") or "")
    return _version(found.group(1)) if found else None


def _version(text: str) -> tuple[int, ...]:
    parts = tuple(int(part) for part in text.split("."))
    return parts + (0,) * (3 - len(parts))


def _fits(rule: AmiRule, image: dict[str, Any]) -> bool:
    if rule.max_neuron_sdk is None:
        return True
    release = neuron_sdk_of(image)
    return release is not None and release <= _version(rule.max_neuron_sdk)


def _search(clients: AwsClients, rule: AmiRule) -> list[dict[str, Any]]:
    with aws_errors("searching for the Deep Learning AMI"):
        request: dict[str, Any] = {
            "Owners": list(rule.owners),
            "Filters": [
                {"Name": "name", "Values": list(rule.name_patterns)},
                {"Name": "architecture", "Values": [rule.architecture]},
                {"Name": "root-device-type", "Values": ["ebs"]},
                {"Name": "state", "Values": ["available"]},
            ],
        }
        if rule.include_deprecated:
            request["IncludeDeprecated"] = True
        images = clients.ec2.describe_images(**request)["Images"]
    return [
        image
        for image in images
        if any(fnmatch.fnmatchcase(image.get("Name", ""), p) for p in rule.name_patterns)
    ]


def _describe_image(clients: AwsClients, image_id: str) -> dict[str, Any] | None:
    with aws_errors(f"describing AMI {image_id}"):
        found = unless_absent(
            lambda: clients.ec2.describe_images(ImageIds=[image_id]),
            "InvalidAMIID.NotFound",
            "InvalidAMIID.Malformed",
        )
    images = found["Images"] if found else []
    return images[0] if images else None


def _resolved(image: dict[str, Any], source: str, ssh_user: str) -> ResolvedAmi:
    root = image.get("RootDeviceName") or "/dev/xvda"
    size = DEFAULT_ROOT_VOLUME_GIB
    for mapping in image.get("BlockDeviceMappings", []):
        if mapping.get("DeviceName") == root and mapping.get("Ebs", {}).get("VolumeSize"):
            size = max(int(mapping["Ebs"]["VolumeSize"]), 8)
    return ResolvedAmi(
        id=image["ImageId"],
        name=image.get("Name", ""),
        source=source,
        root_device_name=root,
        root_volume_gib=size,
        ssh_user=ssh_user,
        deprecation_time=image.get("DeprecationTime"),
    )


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
