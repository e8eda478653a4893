"""Instances: launched with IMDSv2 required, an encrypted gp3 root volume and the deployment's
tags; failing over to the next AZ on capacity errors and waiting out IAM propagation."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from amazonei_setup.aws.clients import AwsClients, aws_errors, unless_absent
from amazonei_setup.aws.quotas import explain_vcpu_limit
from amazonei_setup.aws.waiting import poll
from amazonei_setup.errors import AwsFailure
from amazonei_setup.resources import instance_stack
from amazonei_setup.resources.kind import (
    Action,
    ApplyRun,
    Collect,
    DiscoverInput,
    Found,
    PlanInput,
    PlannedResource,
    ResourceKind,
    TagChange,
    TeardownAction,
    TeardownRun,
    TeardownStep,
    grouped,
)
from amazonei_setup.resources.launching import (
    Placement,
    check_accelerator,
    launch_request,
    run_one,
)
from amazonei_setup.resources.naming import (
    TAG_ACCELERATOR,
    TAG_DEPLOYMENT,
    TAG_SEAT,
    deployment_tags,
    tag_dict,
    tag_filters,
    tag_specifications,
)
from amazonei_setup.resources.stack_form import StackInput, StackPart
from amazonei_setup.spec.catalog import load_catalog

if TYPE_CHECKING:
    from amazonei_setup.state.ledger import Ledger

Sleep = Callable[[float], None]

LIVE_STATES = ["pending", "running", "stopping", "stopped"]


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
    image_id: str | None = None
    key_name: str | None = None
    vpc_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        hidden = ("tags", "image_id", "key_name", "vpc_id")
        return {k: v for k, v in self.__dict__.items() if k not in hidden}


def from_description(item: dict[str, Any]) -> LaunchedInstance:
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
        launched_at=_iso(item.get("LaunchTime")),
        tags=tags,
        image_id=item.get("ImageId"),
        key_name=item.get("KeyName"),
        vpc_id=item.get("VpcId"),
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
                *tag_filters(),
                {"Name": "instance-state-name", "Values": LIVE_STATES},
            ]
        )
        found = [
            from_description(item)
            for page in pages
            for reservation in page["Reservations"]
            for item in reservation["Instances"]
        ]
    return sorted(found, key=lambda instance: (instance.seat, instance.id))


def describe(clients: AwsClients, instance_ids: list[str]) -> list[LaunchedInstance]:
    with aws_errors("reading instance state"):
        reservations = clients.ec2.describe_instances(InstanceIds=instance_ids)["Reservations"]
    return [from_description(item) for r in reservations for item in r["Instances"]]


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
        unless_absent(
            lambda: clients.ec2.terminate_instances(InstanceIds=instance_ids),
            "InvalidInstanceID.NotFound",
        )


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


@dataclass
class SeatDetails:
    seat: int


def _volume_ids(clients: AwsClients, name: str) -> list[str]:
    """The instances' root volumes: tagged at launch, so their expiry moves with the rest."""
    filters = tag_filters(name)
    with aws_errors("listing the deployment's volumes"):
        pages = clients.ec2.get_paginator("describe_volumes").paginate(Filters=filters)
        return [volume["VolumeId"] for page in pages for volume in page["Volumes"]]


def replaced_by(found: LaunchedInstance, given: PlanInput, key_name: str | None) -> str:
    """What a running instance cannot take in place: why it must be replaced, or ""."""
    profile, discovery = given.profile, given.discovery
    changes = []
    if found.instance_type and found.instance_type != profile.instance_type:
        changes.append(f"instance type {found.instance_type} → {profile.instance_type}")
    tags = found.tags or {}
    carried = tags.get(TAG_ACCELERATOR)
    wanted = profile.accelerator or "none"
    if carried is not None and carried != wanted:
        changes.append(f"accelerator {carried} → {wanted}")
    if found.image_id and found.image_id != discovery.ami.id:
        changes.append(f"AMI {found.image_id} → {discovery.ami.id}")
    if (found.key_name or None) != key_name:
        changes.append(f"key pair {found.key_name or 'none'} → {key_name or 'none'}")
    subnet = profile.network.subnet
    if subnet != "auto" and found.subnet_id and found.subnet_id != subnet:
        changes.append(f"subnet {found.subnet_id} → {subnet}")
    return "; ".join(changes)


class InstanceKind(ResourceKind):
    """One instance per seat, launched after everything it uses exists."""

    kind = "ec2-instance"
    is_seat = True
    caller_actions: ClassVar[dict[str, tuple[str, ...]]] = {
        "read": (
            "ec2:DescribeImages",
            "ec2:DescribeInstanceTypeOfferings",
            "ec2:DescribeInstances",
            "ec2:DescribeVolumes",
        ),
        "create": ("ec2:RunInstances",),
        "owned": ("ec2:StartInstances", "ec2:TerminateInstances"),
    }
    title = "instance"
    count_key = "instances"
    after = ("iam-instance-profile", "security-group", "vpc-endpoint", "key-pair")
    stack_handlers = instance_stack.HANDLERS
    stack_records = instance_stack.RECORDS

    def stack_part(self, given: StackInput, seat: int | None) -> StackPart:
        return instance_stack.part(given, seat)

    def discover(self, look: DiscoverInput) -> Collect:
        found = look.pool.submit(find, look.clients, look.profile.name)
        return lambda: (found.result(), 1)

    def plan(self, given: PlanInput) -> list[PlannedResource]:
        profile = given.profile
        shared = tuple(
            r.key for r in given.planned if r.key in ("instance_profile", "instance_sg", "endpoint")
        )
        keys = set(given.keys("key-pair"))
        existing: list[LaunchedInstance] = given.discovery.existing.of(self.kind) or []
        by_seat = {i.seat: i for i in existing}
        hardware = profile.instance_type + (
            f" + {profile.accelerator}" if profile.accelerator else ""
        )
        planned = []
        for seat in range(1, profile.seats + 1):
            own_key = next((k for k in (f"key_pair:{seat}", "key_pair") if k in keys), None)
            after = shared + ((own_key,) if own_key else ())
            found = by_seat.get(seat)
            action: Action
            key = given.discovery.keys.get(seat)
            changed = found and replaced_by(found, given, key.name if key else None)
            if found is None:
                action, instance_id, why = "create", None, hardware
            elif changed:
                action, instance_id, why = "replace", found.id, changed
            elif found.state in ("stopped", "stopping"):
                action, instance_id, why = "update", found.id, "stopped: will be started"
            else:
                action, instance_id, why = "reuse", found.id, ""
            planned.append(
                PlannedResource(
                    f"instance:{seat}",
                    self.kind,
                    f"{profile.name}-{seat}",
                    action,
                    instance_id,
                    after,
                    SeatDetails(seat),
                    why,
                )
            )
        return planned

    def preflight(self, clients: AwsClients, plan: Any, home: Path) -> None:
        """An Elastic Inference service endpoint in the region does not prove this account
        may launch accelerators (EI takes no new customers): ask EC2 with a dry run of the
        real request before anything is created. It carries the launch's tags: IAM judges a
        dry run as the launch, and the caller policy lets RunInstances make tagged instances
        only (a dry run without them answers UnauthorizedOperation)."""
        profile, discovery = plan.profile, plan.discovery
        if not profile.has_eia or not any(
            r.kind == self.kind and r.action in ("create", "replace") for r in plan.resources
        ):
            return
        check_accelerator(
            clients,
            profile.accelerator,
            {
                "ImageId": discovery.ami.id,
                "InstanceType": profile.instance_type,
                "SubnetId": discovery.subnets[0].id,
                "MinCount": 1,
                "MaxCount": 1,
                "TagSpecifications": tag_specifications(
                    ["instance", "volume"],
                    deployment_tags(profile.name, profile.region, profile.tags),
                ),
            },
            profile.region,
        )

    def apply(self, run: ApplyRun, resource: PlannedResource) -> str:
        seat = resource.details.seat
        if resource.action == "update" and resource.id:
            start(run.clients, [resource.id])
            return resource.id
        if resource.action == "replace" and resource.id:  # the old one goes first: one seat
            terminate(run.clients, [resource.id])
            wait_terminated(run.clients, [resource.id], sleep=run.sleep)
        profile, discovery = run.profile, run.discovery
        seat_key = discovery.keys.get(seat)
        holder = run.get("instance_profile")
        request = launch_request(
            image_id=discovery.ami.id,
            instance_type=profile.instance_type,
            root_device_name=discovery.ami.root_device_name,
            root_volume_gib=discovery.ami.root_volume_gib,
            group_ids=[run.ids["instance_sg"]],
            instance_profile_name=holder.name if holder else "",
            key_name=seat_key.name if seat_key else None,
            accelerator=profile.accelerator,
            user_data=run.user_data,
            tags={
                **run.tags,
                TAG_SEAT: str(seat),
                TAG_ACCELERATOR: profile.accelerator or "none",
                "Name": f"{profile.name}-{seat}",
            },
        )
        placements = [Placement(s.id, s.availability_zone) for s in discovery.subnets]
        try:
            item = run_one(
                run.clients,
                request,
                placements,
                client_token=run.new_attempt(resource),
                sleep=run.sleep,
                notify=run.note,
            )
        except AwsFailure as failure:
            if failure.code != "VcpuLimitExceeded":
                raise
            raise explain_vcpu_limit(
                run.clients, load_catalog(), profile.instance_type, profile.seats, failure
            ) from failure
        launched = from_description(item)
        launched.seat = seat
        run.launched(seat, launched)
        run.remember(resource, launched.id, owned=True, seat=seat)
        return launched.id

    def inventory(
        self, clients: AwsClients, pool: ThreadPoolExecutor, name: str, region: str
    ) -> Future[list[Any]]:
        return pool.submit(find, clients, name)

    def region_inventory(self, clients: AwsClients, region: str) -> dict[str, list[Any]]:
        found = find_tagged(clients, [])
        return grouped([((i.tags or {}).get(TAG_DEPLOYMENT, "?"), i) for i in found])

    def tags_of(self, item: Any) -> dict[str, str]:
        return dict(item.tags or {})

    def retag(
        self, clients: AwsClients, found: Found, change: TagChange, ec2_ids: list[str]
    ) -> None:
        ids = [instance.id for instance in found.of(self.kind)]
        ec2_ids += ids + (_volume_ids(clients, found.name) if ids else [])

    def teardown(self, found: Found, home: Path, ledger: Ledger) -> list[TeardownStep]:
        """All seats at once: one call to terminate, one wait."""
        actions = tuple(
            TeardownAction("terminate", self.kind, f"{found.name}-{i.seat}", i.id)
            for i in found.of(self.kind)
        )
        return [TeardownStep("instances", self.kind, actions)] if actions else []

    def remove(self, run: TeardownRun, step: TeardownStep) -> list[TeardownAction]:
        ids = [action.id for action in step.actions]
        terminate(run.clients, ids)
        wait_terminated(run.clients, ids, sleep=run.sleep, timeout_s=run.wait_timeout_s)
        return list(step.actions)


KIND = InstanceKind()


def _iso(moment: Any) -> str | None:
    """EC2's LaunchTime (a datetime from botocore) as the tool writes every time: ISO, Z."""
    if not moment:
        return None
    if isinstance(moment, str):
        return moment
    from datetime import timezone

    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
