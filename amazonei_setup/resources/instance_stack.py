"""A seat's instance in a stack (its kind is in instance.py, which is full): launched from the
launch template into the SubnetId parameter, and the outputs that tell the seat's user how to
reach it (its report parameter, how to connect, where its created key's private half is)."""

from __future__ import annotations

from typing import Any

from amazonei_setup.resources.naming import key_pair_name, report_parameter_prefix, tag_list
from amazonei_setup.resources.stack_form import (
    ENDPOINT,
    KEY_PARAMETER_PATH,
    LAUNCH_TEMPLATE,
    REGION,
    StackInput,
    StackPart,
    instance_logical_id,
    instance_tags,
    key_logical_id,
)
from amazonei_setup.resources.stack_handlers import handlers_of

HANDLERS = handlers_of("AWS::EC2::Instance")
RECORDS = {"InstanceSeat": "instance"}


def key_fetch_command(key_pair_id: str, key_file: str) -> str:
    """How to fetch a template-made key pair's private key (CloudFormation keeps it in SSM)."""
    return (
        f"aws ssm get-parameter --name {KEY_PARAMETER_PATH}{key_pair_id} --with-decryption "
        f"--query Parameter.Value --output text > {key_file} && chmod 600 {key_file}"
    )


def part(given: StackInput, seat: int | None) -> StackPart:
    if seat is None:
        return StackPart()
    profile = given.profile
    properties: dict[str, Any] = {
        "LaunchTemplate": {
            "LaunchTemplateId": {"Ref": LAUNCH_TEMPLATE},
            "Version": {"Fn::GetAtt": [LAUNCH_TEMPLATE, "LatestVersionNumber"]},
        },
        "SubnetId": {"Ref": "SubnetId"},
        "Tags": tag_list(instance_tags(profile, given.tags, seat)),
    }
    if given.create_keys:
        properties["KeyName"] = {"Ref": key_logical_id(seat)}
    elif given.ssh:
        properties["KeyName"] = {"Ref": "KeyName"}
    if profile.accelerator:
        properties["ElasticInferenceAccelerators"] = [{"Type": profile.accelerator, "Count": 1}]
    resource: dict[str, Any] = {"Type": "AWS::EC2::Instance", "Properties": properties}
    if profile.has_eia:  # the accelerator is reached through the endpoint from the first boot
        resource["DependsOn"] = [ENDPOINT]
    return StackPart({instance_logical_id(seat): resource}, _outputs(given, seat))


def _outputs(given: StackInput, seat: int) -> dict[str, Any]:
    profile = given.profile
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
        user = given.catalog.ssh_user(profile.os)
        connect = f"ssh -i {key_file} {user}@${{{instance}.PublicDnsName}}"
    outputs[f"Seat{seat}Connect"] = {
        "Description": f"seat {seat}: how to connect",
        "Value": {"Fn::Sub": connect},
    }
    if given.create_keys:  # the key pair's outputs, beside the connect line that uses it
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
