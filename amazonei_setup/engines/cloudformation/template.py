"""A CloudFormation template of a deployment: the same resources, policy, rules, tags and user
data as the direct engine, built from the tool's own sources of truth, account-neutral.

Per-account values are Parameters (VPC, subnet, SSH source, AMI); the account, region and
partition come from pseudo parameters, so one template serves many accounts (StackSets build on
it). What a template cannot do, and the direct engine does: turn on the VPC's DNS attributes for
the Elastic Inference endpoint (the default VPC has them), pick a subnet per seat across zones
(every seat goes in `SubnetId`), fail over to another zone on capacity errors.

User data: exported templates carry it unsigned (on AWS the instance runs it; the signature only
tells the local sandbox to run it). `launch --engine cloudformation` against the sandbox signs
it with the home's key, as direct launches do.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from amazonei_setup.aws.amis import DEFAULT_ROOT_VOLUME_GIB, ResolvedAmi
from amazonei_setup.aws.arns import partition_of
from amazonei_setup.resources.launching import launch_request
from amazonei_setup.resources.naming import (
    IAM_PATH,
    PREFIX,
    TAG_ACCELERATOR,
    TAG_REGION,
    TAG_SEAT,
    deployment_tags,
    endpoint_sg_name,
    instance_sg_name,
    key_pair_name,
    report_parameter_prefix,
    role_name,
    tag_list,
)
from amazonei_setup.resources.role import POLICY_NAME, TRUST_POLICY, instance_policy
from amazonei_setup.resources.security_group import Rule, https_from_group, ssh_rule
from amazonei_setup.seats.userdata import render_user_data
from amazonei_setup.spec.catalog import Catalog, load_catalog
from amazonei_setup.spec.profile import Profile
from amazonei_setup.spec.profile_checks import WIDEST_PREFIX

ROLE = "InstanceRole"
INSTANCE_PROFILE = "InstanceProfile"
INSTANCE_SG = "InstanceSecurityGroup"
ENDPOINT_SG = "EndpointSecurityGroup"
ENDPOINT = "ElasticInferenceEndpoint"
LAUNCH_TEMPLATE = "LaunchTemplate"
ROOT_DEVICE_BY_OS = {"amazon-linux": "/dev/xvda", "ubuntu": "/dev/sda1"}
ACCOUNT = "${AWS::AccountId}"
REGION = "${AWS::Region}"
KEY_PARAMETER_PATH = "/ec2/keypair/"  # where CloudFormation keeps an AWS::EC2::KeyPair's key


def instance_logical_id(seat: int) -> str:
    return f"InstanceSeat{seat}"


def key_logical_id(seat: int) -> str:
    return f"KeyPairSeat{seat}"


# The direct engine's record key and kind of each logical id (seats: `<prefix>:<seat>`), so a
# stack's record reads like a direct launch's.
DIRECT_SHAPE = {
    ROLE: ("role", "iam-role"),
    INSTANCE_PROFILE: ("instance_profile", "iam-instance-profile"),
    INSTANCE_SG: ("instance_sg", "security-group"),
    ENDPOINT_SG: ("endpoint_sg", "security-group"),
    ENDPOINT: ("endpoint", "vpc-endpoint"),
    LAUNCH_TEMPLATE: ("launch_template", "launch-template"),
    "KeyPairSeat": ("key_pair", "key-pair"),
    "InstanceSeat": ("instance", "ec2-instance"),
}


def direct_shape(logical_id: str) -> tuple[str, str, int | None]:
    """(record key, kind, seat) of a logical id, as the direct engine records that resource."""
    prefix, _, seat = logical_id.partition("Seat")
    if seat.isdigit():
        key, kind = DIRECT_SHAPE[prefix + "Seat"]
        return f"{key}:{seat}", kind, int(seat)
    key, kind = DIRECT_SHAPE.get(logical_id, (logical_id, logical_id))
    return key, kind, None


def key_fetch_command(key_pair_id: str, key_file: str) -> str:
    """How to fetch a template-made key pair's private key (CloudFormation keeps it in SSM)."""
    return (
        f"aws ssm get-parameter --name {KEY_PARAMETER_PATH}{key_pair_id} --with-decryption "
        f"--query Parameter.Value --output text > {key_file} && chmod 600 {key_file}"
    )


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
    ssh = profile.access.mode == "ssh"
    create_keys = ssh and profile.access.key_pair == "create"
    tags = deployment_tags(profile.name, profile.region, profile.tags, defaults.expires_at)
    tags[TAG_REGION] = {"Ref": "AWS::Region"}  # type: ignore[assignment]
    parameters = _parameters(profile, catalog, ami, defaults)
    resources: dict[str, Any] = {
        ROLE: _role(profile, tags),
        INSTANCE_PROFILE: {
            "Type": "AWS::IAM::InstanceProfile",
            "Properties": {
                "InstanceProfileName": _sub(role_name(profile.name, REGION)),
                "Path": IAM_PATH,
                "Roles": [{"Ref": ROLE}],
            },
        },
        INSTANCE_SG: _group(
            instance_sg_name(profile.name),
            f"amazonei-setup {profile.name}: the instances" + (" (SSH)" if ssh else ""),
            [_ingress(ssh_rule("SshCidr"))] if ssh else [],
            tags,
        ),
        LAUNCH_TEMPLATE: _launch_template(profile, ami, signing_key, tags),
    }
    if profile.has_eia:
        resources[ENDPOINT_SG] = _group(
            endpoint_sg_name(profile.name),
            f"amazonei-setup {profile.name}: Elastic Inference endpoint (HTTPS from instances)",
            [_ingress(https_from_group(INSTANCE_SG))],
            tags,
        )
        resources[ENDPOINT] = _endpoint(catalog, tags)
    outputs: dict[str, Any] = {}
    for seat in range(1, profile.seats + 1):
        key_name: Any = None
        if create_keys:
            key_name = key_pair_name(profile.name, seat)
            resources[key_logical_id(seat)] = {
                "Type": "AWS::EC2::KeyPair",
                "Properties": {
                    "KeyName": key_name,
                    "KeyType": "ed25519",
                    "KeyFormat": "pem",
                    "Tags": tag_list(tags),
                },
            }
            key_name = {"Ref": key_logical_id(seat)}
        elif ssh:
            key_name = {"Ref": "KeyName"}
        resources[instance_logical_id(seat)] = _instance(profile, seat, key_name, tags)
        outputs.update(_seat_outputs(profile, catalog, seat, create_keys))
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": _description(profile),
        "Parameters": parameters,
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


def _sub(text: str) -> Any:
    """A string with ${...} variables as Fn::Sub, and a plain string as itself."""
    return {"Fn::Sub": text} if "${" in text else text


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
    if profile.ami == "auto" and rule.ssm_parameters:
        parameters["ImageId"] = {
            "Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
            "Default": rule.ssm_parameters[0],
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


def _ingress(rule: Rule) -> dict[str, Any]:
    """A Rule of the direct engine as a CloudFormation ingress; its source names a Parameter
    (a CIDR) or a security group's logical id."""
    entry: dict[str, Any] = {
        "IpProtocol": rule.protocol,
        "FromPort": rule.from_port,
        "ToPort": rule.to_port,
    }
    if rule.source.endswith("SecurityGroup"):
        entry["SourceSecurityGroupId"] = {"Ref": rule.source}
        return entry
    no_value = {"Ref": "AWS::NoValue"}
    entry["CidrIp"] = {"Fn::If": ["SshFromIpv6", no_value, {"Ref": rule.source}]}
    entry["CidrIpv6"] = {"Fn::If": ["SshFromIpv6", {"Ref": rule.source}, no_value]}
    return entry


def _group(name: str, description: str, ingress: list[Any], tags: dict[str, Any]) -> Any:
    properties: dict[str, Any] = {
        "GroupName": name,
        "GroupDescription": description,
        "VpcId": {"Ref": "VpcId"},
        "Tags": tag_list(tags),
    }
    if ingress:
        properties["SecurityGroupIngress"] = ingress
    return {"Type": "AWS::EC2::SecurityGroup", "Properties": properties}


def _role(profile: Profile, tags: dict[str, Any]) -> dict[str, Any]:
    """The direct engine's role: same trust, same scoped inline policy, ARNs made neutral."""
    policy = instance_policy(
        profile.name,
        profile.region,
        ACCOUNT,
        eia=profile.has_eia,
        ssm_access=profile.access.mode == "ssm",
    )
    own_arn = f"arn:{partition_of(profile.region)}:"
    for statement in policy["Statement"]:
        resource = statement["Resource"]
        if resource != "*":
            neutral = resource.replace(own_arn, "arn:${AWS::Partition}:", 1)
            statement["Resource"] = _sub(neutral.replace(f":{profile.region}:", f":{REGION}:"))
    role: dict[str, Any] = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "RoleName": _sub(role_name(profile.name, REGION)),
            "Path": IAM_PATH,
            "AssumeRolePolicyDocument": TRUST_POLICY,
            "Policies": [{"PolicyName": POLICY_NAME, "PolicyDocument": policy}],
            "Tags": tag_list(tags),
        },
    }
    if profile.has_eia:  # cfn-lint's IAM data dropped the retired service; AWS still needs it
        role["Metadata"] = {"cfn-lint": {"config": {"ignore_checks": ["W3037"]}}}
    return role


def _endpoint(catalog: Catalog, tags: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::EC2::VPCEndpoint",
        "Properties": {
            "VpcEndpointType": "Interface",
            "ServiceName": _sub(catalog.ei_endpoint_service_template.format(region=REGION)),
            "VpcId": {"Ref": "VpcId"},
            "SubnetIds": [{"Ref": "SubnetId"}],
            "SecurityGroupIds": [{"Ref": ENDPOINT_SG}],
            "PrivateDnsEnabled": True,
            "Tags": tag_list(tags),
        },
    }


def _launch_template(
    profile: Profile,
    ami: ResolvedAmi | None,
    signing_key: bytes | None,
    tags: dict[str, Any],
) -> dict[str, Any]:
    """The direct engine's RunInstances request (launching.launch_request: IMDSv2 required,
    encrypted gp3 root) as launch template data. The accelerator is not here: since EI's
    retirement the LaunchTemplate resource schema no longer lists ElasticInferenceAccelerators,
    while AWS::EC2::Instance still does."""
    user_data = render_user_data(profile, signing_key)
    data = launch_request(
        image_id="ImageId",
        instance_type=profile.instance_type,
        root_device_name=ami.root_device_name if ami else ROOT_DEVICE_BY_OS[profile.os],
        root_volume_gib=ami.root_volume_gib if ami else DEFAULT_ROOT_VOLUME_GIB,
        group_ids=[INSTANCE_SG],
        instance_profile_name=INSTANCE_PROFILE,
        key_name=None,
        accelerator=profile.accelerator,
        user_data=None,
        tags=_instance_tags(profile, tags),
    )
    for key in ("MinCount", "MaxCount", "ElasticInferenceAccelerators"):
        data.pop(key, None)  # the accelerator goes on the instance (see _instance)
    data["ImageId"] = {"Ref": "ImageId"}
    data["SecurityGroupIds"] = [{"Ref": INSTANCE_SG}]
    data["IamInstanceProfile"] = {"Arn": {"Fn::GetAtt": [INSTANCE_PROFILE, "Arn"]}}
    data["UserData"] = base64.b64encode(user_data).decode("ascii")
    return {
        "Type": "AWS::EC2::LaunchTemplate",
        "Properties": {
            "LaunchTemplateName": f"{PREFIX}-{profile.name}",
            "LaunchTemplateData": data,
            "TagSpecifications": [{"ResourceType": "launch-template", "Tags": tag_list(tags)}],
        },
    }


def _instance_tags(profile: Profile, tags: dict[str, Any], seat: int | None = None) -> Any:
    own = {**tags, TAG_ACCELERATOR: profile.accelerator or "none"}
    if seat is not None:
        own |= {TAG_SEAT: str(seat), "Name": f"{profile.name}-{seat}"}
    return own


def _instance(profile: Profile, seat: int, key_name: Any, tags: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "LaunchTemplate": {
            "LaunchTemplateId": {"Ref": LAUNCH_TEMPLATE},
            "Version": {"Fn::GetAtt": [LAUNCH_TEMPLATE, "LatestVersionNumber"]},
        },
        "SubnetId": {"Ref": "SubnetId"},
        "Tags": tag_list(_instance_tags(profile, tags, seat)),
    }
    if key_name is not None:
        properties["KeyName"] = key_name
    if profile.accelerator:
        properties["ElasticInferenceAccelerators"] = [{"Type": profile.accelerator, "Count": 1}]
    resource: dict[str, Any] = {"Type": "AWS::EC2::Instance", "Properties": properties}
    if profile.has_eia:  # the accelerator is reached through the endpoint from the first boot
        resource["DependsOn"] = [ENDPOINT]
    return resource


def _seat_outputs(
    profile: Profile, catalog: Catalog, seat: int, create_keys: bool
) -> dict[str, Any]:
    instance = instance_logical_id(seat)
    key_file = f"{key_pair_name(profile.name, seat)}.pem"
    outputs: dict[str, Any] = {
        f"Seat{seat}InstanceId": {
            "Description": f"seat {seat}: the instance",
            "Value": {"Ref": instance},
        },
        f"Seat{seat}ReportParameter": {
            "Description": f"seat {seat}: the SSM parameter of the agent's report",
            "Value": {"Fn::Sub": f"{report_parameter_prefix(profile.name)}${{{instance}}}/report"},
        },
    }
    if profile.access.mode == "ssm":
        connect = f"aws ssm start-session --region {REGION} --target ${{{instance}}}"
    else:
        user = catalog.ssh_user(profile.os)
        connect = f"ssh -i {key_file} {user}@${{{instance}.PublicDnsName}}"
    outputs[f"Seat{seat}Connect"] = {
        "Description": f"seat {seat}: how to connect",
        "Value": {"Fn::Sub": connect},
    }
    if create_keys:
        key = key_logical_id(seat)
        outputs[f"Seat{seat}KeyPairId"] = {
            "Description": f"seat {seat}: the key pair (its private key is in SSM)",
            "Value": {"Fn::GetAtt": [key, "KeyPairId"]},
        }
        outputs[f"Seat{seat}PrivateKeyCommand"] = {
            "Description": f"seat {seat}: fetch the private key",
            "Value": {"Fn::Sub": key_fetch_command(f"${{{key}.KeyPairId}}", key_file)},
        }
    return outputs
