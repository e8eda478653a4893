"""Instances: launched with IMDSv2 required, an encrypted gp3 root volume and the deployment's
tags; failing over to the next AZ on capacity errors and waiting out IAM propagation."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from amazonei_setup.aws import AwsClients, aws_errors, error_message, is_error, translate
from amazonei_setup.errors import AwsFailure
from amazonei_setup.resources.naming import TAG_DEPLOYMENT, TAG_MANAGED, TAG_SEAT, tag_dict
from amazonei_setup.waiting import poll

LIVE_STATES = ["pending", "running", "stopping", "stopped"]
CAPACITY_CODES = ("InsufficientInstanceCapacity", "Unsupported")
# IAM is eventually consistent: a just-created instance profile is often "invalid" for seconds.
IAM_PROPAGATION_DELAYS_S = (1, 2, 4, 8, 15, 30)


@dataclass(frozen=True)
class Placement:
    subnet_id: str
    availability_zone: str


@dataclass
class LaunchedInstance:
    id: str
    seat: int
    availability_zone: str
    subnet_id: str
    state: str
    instance_type: str
    public_ip: str | None = None
    public_dns: str | None = None
    private_ip: str | None = None
    launched_at: str | None = None
    tags: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "tags"}


def _from_description(item: dict[str, Any]) -> LaunchedInstance:
    tags = tag_dict(item.get("Tags"))
    return LaunchedInstance(
        id=item["InstanceId"],
        seat=int(tags.get(TAG_SEAT, "1") or 1),
        availability_zone=item.get("Placement", {}).get("AvailabilityZone", ""),
        subnet_id=item.get("SubnetId", ""),
        state=item.get("State", {}).get("Name", "unknown"),
        instance_type=item.get("InstanceType", ""),
        public_ip=item.get("PublicIpAddress"),
        public_dns=item.get("PublicDnsName") or None,
        private_ip=item.get("PrivateIpAddress"),
        launched_at=str(item["LaunchTime"]) if item.get("LaunchTime") else None,
        tags=tags,
    )


def find(clients: AwsClients, deployment: str) -> list[LaunchedInstance]:
    """The deployment's instances that are not terminated, by tag, ordered by seat."""
    return find_tagged(clients, [{"Name": f"tag:{TAG_DEPLOYMENT}", "Values": [deployment]}])


def find_tagged(clients: AwsClients, filters: list[dict[str, Any]]) -> list[LaunchedInstance]:
    """Our (managed-tagged) instances matching `filters` that are not terminated."""
    with aws_errors("looking up instances"):
        pages = clients.ec2.get_paginator("describe_instances").paginate(
            Filters=[
                *filters,
                {"Name": f"tag:{TAG_MANAGED}", "Values": ["true"]},
                {"Name": "instance-state-name", "Values": LIVE_STATES},
            ]
        )
        found = [
            _from_description(item)
            for page in pages
            for reservation in page["Reservations"]
            for item in reservation["Instances"]
        ]
    return sorted(found, key=lambda instance: (instance.seat, instance.id))


def describe(clients: AwsClients, instance_ids: list[str]) -> list[LaunchedInstance]:
    with aws_errors("reading instance state"):
        reservations = clients.ec2.describe_instances(InstanceIds=instance_ids)["Reservations"]
    return [_from_description(item) for r in reservations for item in r["Instances"]]


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
) -> LaunchedInstance:
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
        return _from_description(item)
    raise _capacity_failure(request["InstanceType"], tried)


def start(clients: AwsClients, instance_ids: list[str]) -> None:
    with aws_errors("starting stopped instances"):
        clients.ec2.start_instances(InstanceIds=instance_ids)


def wait_running(
    clients: AwsClients,
    instance_ids: list[str],
    *,
    timeout_s: float = 600,
    sleep: Sleep = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_poll: Callable[[list[LaunchedInstance]], None] = lambda states: None,
) -> list[LaunchedInstance]:
    """Until every instance runs; fail at once on a terminal state, or at the deadline."""

    def check() -> list[LaunchedInstance] | None:
        current = describe(clients, instance_ids)
        on_poll(current)
        bad = [i for i in current if i.state in ("terminated", "shutting-down", "stopped")]
        if bad:
            raise AwsFailure(
                f"instance {bad[0].id} went to '{bad[0].state}' instead of running",
                "check the EC2 console's state reason; `teardown` removes the deployment",
            )
        return current if current and all(i.state == "running" for i in current) else None

    running = poll(
        check,
        timeout_s=timeout_s,
        sleep=sleep,
        clock=clock,
        on_timeout=lambda: AwsFailure(
            f"instances still not running after {timeout_s:.0f}s",
            "run the same command again to keep waiting, or `status` to look",
        ),
    )
    return running or []


def terminate(clients: AwsClients, instance_ids: list[str]) -> None:
    with aws_errors("terminating instances"):
        try:
            clients.ec2.terminate_instances(InstanceIds=instance_ids)
        except Exception as exc:
            if not is_error(exc, "InvalidInstanceID.NotFound"):
                raise


def wait_terminated(
    clients: AwsClients,
    instance_ids: list[str],
    *,
    timeout_s: float = 600,
    sleep: Sleep = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_poll: Callable[[list[LaunchedInstance]], None] = lambda states: None,
) -> None:
    """Until every instance is terminated (or gone), or the deadline."""

    def check() -> bool | None:
        try:
            current = describe(clients, instance_ids)
        except AwsFailure as exc:
            if exc.code == "InvalidInstanceID.NotFound":
                return True
            raise
        on_poll(current)
        return True if all(i.state == "terminated" for i in current) else None

    poll(
        check,
        timeout_s=timeout_s,
        sleep=sleep,
        clock=clock,
        first_delay_s=1.0,
        on_timeout=lambda: AwsFailure(
            f"instances still not terminated after {timeout_s:.0f}s",
            "run the same teardown again to keep waiting",
        ),
    )
