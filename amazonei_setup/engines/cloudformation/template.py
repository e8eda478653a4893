"""A CloudFormation template of a deployment: the same resources, policy, rules, tags and user
data as the direct engine, built from the tool's own sources of truth, account-neutral.

Per-account values are Parameters (VPC, subnet, SSH source, AMI); the account, region and
partition come from pseudo parameters, so one template serves many accounts (StackSets build on
it). What a template cannot do, and the direct engine does: turn on the VPC's DNS attributes for
the Elastic Inference endpoint (the default VPC has them), pick a subnet per seat across zones
(every seat goes in `SubnetId`), fail over to another zone on capacity errors.

Each kind gives its own resources and outputs (`ResourceKind.stack_part`, resources/
stack_form.py); this module adds what belongs to the whole template: parameters, conditions,
the description.

User data: exported templates carry it unsigned (on AWS the instance runs it; the signature
only tells the local sandbox to run it). `launch --engine cloudformation` against the sandbox signs
it with the home's key, as direct launches do.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from amazonei_setup.aws.amis import ResolvedAmi
from amazonei_setup.resources import registry
from amazonei_setup.resources.instance_stack import key_fetch_command as key_fetch_command
from amazonei_setup.resources.naming import TAG_REGION, deployment_tags
from amazonei_setup.resources.stack_form import StackInput
from amazonei_setup.seats.userdata import render_user_data
from amazonei_setup.spec.catalog import Catalog, load_catalog
from amazonei_setup.spec.profile import Profile
from amazonei_setup.spec.profile_checks import WIDEST_PREFIX


def direct_shape(logical_id: str) -> tuple[str, str, int | None]:
    """(record key, kind, seat) of a logical id, as the direct engine records that resource:
    the kind that makes it says (`ResourceKind.stack_records`; seats: `<key>:<seat>`)."""
    prefix, _, seat = logical_id.partition("Seat")
    for kind in registry.kinds():
        if seat.isdigit() and prefix + "Seat" in kind.stack_records:
            return f"{kind.stack_records[prefix + 'Seat']}:{seat}", kind.kind, int(seat)
        if logical_id in kind.stack_records:
            return kind.stack_records[logical_id], kind.kind, None
    return logical_id, logical_id, None


@dataclass(frozen=True)
class Defaults:
    """Parameter defaults from a look at one account (launch); an export leaves them out."""

    vpc_id: str | None = None
    subnet_id: str | None = None
    ssh_cidr: str | None = None
    expires_at: str | None = None


def build_template(
    profile: Profile,
    *,
    catalog: Catalog | None = None,
    ami: ResolvedAmi | None = None,
    signing_key: bytes | None = None,
    defaults: Defaults | None = None,
) -> dict[str, Any]:
    """The template of `profile`. `ami` is the image looked up for it (the ImageId default when
    no public SSM parameter names the image, and the root device); `signing_key` signs the user
    data for the sandbox. The user data names no account or region: the agent reads its own
    from IMDS, so the template's instances publish their reports wherever they run."""
    catalog = catalog or load_catalog()
    defaults = defaults or Defaults()
    tags = deployment_tags(profile.name, profile.region, profile.tags, defaults.expires_at)
    tags[TAG_REGION] = {"Ref": "AWS::Region"}  # type: ignore[assignment]
    given = StackInput(profile, catalog, ami, render_user_data(profile, signing_key), tags)
    resources: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    for seat in (None, *range(1, profile.seats + 1)):  # shared ones first, then seat by seat
        for kind in registry.kinds():
            part = kind.stack_part(given, seat)
            resources.update(part.resources)
            outputs.update(part.outputs)
    ssh = profile.access.mode == "ssh"
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": _description(profile),
        "Parameters": _parameters(profile, catalog, ami, defaults),
        **({"Conditions": _ssh_conditions()} if ssh else {}),
        "Resources": resources,
        "Outputs": outputs,
    }


def template_json(template: dict[str, Any]) -> str:
    return json.dumps(template, indent=2) + "\n"


def _description(profile: Profile) -> str:
    hardware = profile.instance_type + (f" + {profile.accelerator}" if profile.accelerator else "")
    text = f"amazonei-setup deployment {profile.name}: {profile.seats} x {hardware}"
    if profile.has_eia:
        text += " (the VPC needs DNS support and DNS hostnames for the endpoint's private DNS)"
    return text


def _parameters(
    profile: Profile, catalog: Catalog, ami: ResolvedAmi | None, defaults: Defaults
) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "VpcId": {"Type": "AWS::EC2::VPC::Id", "Description": "the VPC of the instances"},
        "SubnetId": {
            "Type": "AWS::EC2::Subnet::Id",
            "Description": "the subnet of every seat (and of the Elastic Inference endpoint)",
        },
    }
    rule = catalog.ami_rule(profile.instance_type, profile.accelerator, profile.os)
    parameter = _ami_parameter(profile, rule.ssm_parameters, ami)
    if parameter is not None:
        parameters["ImageId"] = {
            "Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
            "Default": parameter,
            "Description": "the Deep Learning AMI, through AWS's public SSM parameter",
        }
    else:
        image = profile.ami if profile.ami != "auto" else (ami.id if ami else None)
        parameters["ImageId"] = {
            "Type": "AWS::EC2::Image::Id",
            "Description": f"the {rule.key} Deep Learning AMI for {profile.os} "
            "(no public SSM parameter names it: the default was looked up in one region)",
            **({"Default": image} if image else {}),
        }
    if profile.access.mode == "ssh":
        parameters["SshCidr"] = {
            "Type": "String",
            "Description": "the only source allowed to SSH in (e.g. your public IP /32)",
            "AllowedPattern": ssh_cidr_pattern(profile.access.allow_world_ssh),
            "ConstraintDescription": f"a CIDR block no wider than /{WIDEST_PREFIX[4]} (IPv4) "
            f"or /{WIDEST_PREFIX[6]} (IPv6)"
            if not profile.access.allow_world_ssh
            else "a CIDR block; never 0.0.0.0/0 or ::/0",
        }
        if profile.access.key_pair != "create":
            parameters["KeyName"] = {
                "Type": "AWS::EC2::KeyPair::KeyName",
                "Default": profile.access.key_pair,
                "Description": "the existing key pair every seat uses",
            }
    for name, value in (
        ("VpcId", defaults.vpc_id),
        ("SubnetId", defaults.subnet_id),
        ("SshCidr", defaults.ssh_cidr),
    ):
        if value and name in parameters:
            parameters[name]["Default"] = value
    return parameters


def _ami_parameter(profile: Profile, names: Sequence[str], ami: ResolvedAmi | None) -> str | None:
    """The public SSM parameter the ImageId defaults to: the one the look-up found (it exists
    in the region and names a fitting image); none when the look-up found the image another
    way (the looked-up id is the default then). Without a look-up, the rule's first."""
    if profile.ami != "auto" or not names:
        return None
    if ami is None:
        return names[0]
    source = ami.source.removeprefix("ssm:")
    return source if source in names else None


def ssh_cidr_pattern(allow_world: bool) -> str:
    """The tool's width guard (profile_checks.too_wide) as a regular expression: never /0, and
    unless the profile allows it, no wider than WIDEST_PREFIX."""
    v4 = range(1 if allow_world else WIDEST_PREFIX[4], 33)
    v6 = range(1 if allow_world else WIDEST_PREFIX[6], 129)
    octet = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
    ipv4 = rf"({octet}\.){{3}}{octet}/({'|'.join(str(n) for n in reversed(v4))})"
    group = "[0-9A-Fa-f]{0,4}"
    ipv6 = rf"{group}(:{group}){{2,7}}/({'|'.join(str(n) for n in reversed(v6))})"
    return f"^({ipv4}|{ipv6})$"


def _ssh_conditions() -> dict[str, Any]:
    """SshFromIpv6: the SSH source has a ':' (split on ':' and joined again, it changes)."""
    cidr = {"Ref": "SshCidr"}
    without_colons = {"Fn::Join": ["", {"Fn::Split": [":", cidr]}]}
    return {"SshFromIpv6": {"Fn::Not": [{"Fn::Equals": [without_colons, cidr]}]}}
