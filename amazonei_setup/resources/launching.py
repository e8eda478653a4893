"""Launching one instance: the RunInstances request with secure defaults that are not
optional, failing over to the next AZ on capacity errors and waiting out IAM propagation."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from amazonei_setup.aws.clients import AwsClients, error_message, is_error, translate
from amazonei_setup.errors import AwsFailure, InputError
from amazonei_setup.resources.naming import TAG_SEAT

CAPACITY_CODES = ("InsufficientInstanceCapacity", "Unsupported")
# IAM is eventually consistent: a just-created instance profile is often "invalid" for seconds.
IAM_PROPAGATION_DELAYS_S = (1, 2, 4, 8, 15, 30)


@dataclass(frozen=True)
class Placement:
    subnet_id: str
    availability_zone: str


def launch_request(
    *,
    image_id: str,
    instance_type: str,
    root_device_name: str,
    root_volume_gib: int,
    group_ids: list[str],
    instance_profile_name: str,
    key_name: str | None,
    accelerator: str | None,
    user_data: bytes | None,
    tags: dict[str, str],
) -> dict[str, Any]:
    """The RunInstances request, minus placement: secure defaults are not optional here."""
    volume_tags = {k: v for k, v in tags.items() if k != TAG_SEAT}
    request: dict[str, Any] = {
        "ImageId": image_id,
        "InstanceType": instance_type,
        "MinCount": 1,
        "MaxCount": 1,
        "SecurityGroupIds": group_ids,
        "IamInstanceProfile": {"Name": instance_profile_name},
        "MetadataOptions": {
            "HttpTokens": "required",
            "HttpEndpoint": "enabled",
            "HttpPutResponseHopLimit": 2,
        },
        "BlockDeviceMappings": [
            {
                "DeviceName": root_device_name,
                "Ebs": {
                    "VolumeSize": root_volume_gib,
                    "VolumeType": "gp3",
                    "Encrypted": True,
                    "DeleteOnTermination": True,
                },
            }
        ],
        "TagSpecifications": [
            {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]},
            {
                "ResourceType": "volume",
                "Tags": [{"Key": k, "Value": v} for k, v in volume_tags.items()],
            },
        ],
    }
    if key_name:
        request["KeyName"] = key_name
    if accelerator:
        request["ElasticInferenceAccelerators"] = [{"Type": accelerator, "Count": 1}]
    if user_data:
        request["UserData"] = user_data
    return request


Notify = Callable[[str], None]
Sleep = Callable[[float], None]


def _run_with_iam_retry(clients: AwsClients, request: dict[str, Any], sleep: Sleep, notify: Notify):
    delays = list(IAM_PROPAGATION_DELAYS_S)
    while True:
        try:
            return clients.ec2.run_instances(**request)["Instances"][0]
        except Exception as exc:
            propagating = is_error(exc, "InvalidParameterValue") and (
                "iam instance profile" in error_message(exc).lower()
                or "iaminstanceprofile" in error_message(exc).lower()
            )
            if not propagating or not delays:
                raise
            delay = delays.pop(0)
            notify(f"the new instance profile is not visible to EC2 yet; retrying in {delay}s")
            sleep(delay)


def _token(base: str, availability_zone: str) -> str:
    """A stable idempotency token per deployment, seat and AZ (AWS allows 64 characters)."""
    return hashlib.sha256(f"{base}|{availability_zone}".encode()).hexdigest()[:48]


class EiUnavailable(InputError):
    """This account (or this request) cannot have an Elastic Inference accelerator."""


EI_REFUSALS = ("Unsupported", "InvalidParameterCombination", "InvalidParameterValue")


def check_accelerator(
    clients: AwsClients, accelerator: str, request: dict[str, Any], region: str
) -> None:
    """RunInstances with DryRun=True and the accelerator: `DryRunOperation` means AWS would
    launch it; a refusal is explained as what it is (never as "no capacity")."""
    try:
        clients.ec2.run_instances(
            **request, ElasticInferenceAccelerators=[{"Type": accelerator, "Count": 1}], DryRun=True
        )
    except Exception as exc:
        if is_error(exc, "DryRunOperation"):
            return
        if is_error(exc, *EI_REFUSALS):
            raise EiUnavailable(
                f"EC2 will not launch {request['InstanceType']} with {accelerator} in {region} "
                f"for this account ({error_message(exc)})",
                "Elastic Inference takes no new customers since April 2023 and is at its end "
                "of life: use inf1/inf2 or g4dn instead (`amazonei-setup estimate` compares "
                "their cost), or --accelerator none to keep the instance CPU-only; nothing was "
                "created",
            ) from None
        raise translate(exc, "checking that EC2 would launch the accelerator") from exc
    raise AwsFailure("EC2 accepted a dry run as a real launch", "report this as a bug")


def _capacity_failure(instance_type: str, tried: list[str]) -> AwsFailure:
    return AwsFailure(
        f"no AZ had capacity for {instance_type} (tried {', '.join(tried)})",
        "try again in a few minutes, another instance size, or another region; "
        "running the same command again resumes",
        code="InsufficientInstanceCapacity",
    )


def run_one(
    clients: AwsClients,
    request: dict[str, Any],
    placements: list[Placement],
    *,
    client_token: str,
    sleep: Sleep = time.sleep,
    notify: Notify = lambda message: None,
) -> dict[str, Any]:
    """Launch one instance, moving to the next AZ that offers the type when one has no capacity.

    The client token makes the call idempotent on AWS: a retried request never launches twice.
    """
    tried: list[str] = []
    for index, placement in enumerate(placements):
        attempt = {
            **request,
            "SubnetId": placement.subnet_id,
            "ClientToken": _token(client_token, placement.availability_zone),
        }
        try:
            item = _run_with_iam_retry(clients, attempt, sleep, notify)
        except Exception as exc:
            if is_error(exc, *CAPACITY_CODES):
                tried.append(placement.availability_zone)
                following = placements[index + 1 : index + 2]
                where = f"trying {following[0].availability_zone}" if following else "no AZ left"
                notify(
                    f"{placement.availability_zone} cannot run {request['InstanceType']} now "
                    f"({error_message(exc)}); {where}"
                )
                continue
            raise translate(exc, f"launching {request['InstanceType']}") from exc
        return dict(item)
    raise _capacity_failure(request["InstanceType"], tried)
