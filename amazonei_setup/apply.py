"""Carry out a plan: dependency order, independent steps concurrently, the record written
before the first create and after every step."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from amazonei_setup.aws import AwsClients
from amazonei_setup.catalog import load_catalog
from amazonei_setup.discover import Discovery
from amazonei_setup.errors import AwsFailure, InputError
from amazonei_setup.expiry import move_expiry
from amazonei_setup.ledger import Ledger, new_record
from amazonei_setup.plan import Action, Plan, PlannedResource
from amazonei_setup.profile import Profile
from amazonei_setup.quotas import explain_vcpu_limit
from amazonei_setup.resources import endpoint as endpoint_res
from amazonei_setup.resources import instance as instance_res
from amazonei_setup.resources import instance_profile as instance_profile_res
from amazonei_setup.resources import key_pair as key_pair_res
from amazonei_setup.resources import role as role_res
from amazonei_setup.resources import security_group as sg_res
from amazonei_setup.resources.naming import (
    TAG_DEPLOYMENT,
    TAG_SEAT,
    deployment_tags,
    endpoint_user_tag,
)
from amazonei_setup.ttl import expiry_of, utc_clock, utc_iso
from amazonei_setup.userdata import render_user_data


class Reporter(Protocol):
    """How apply tells the terminal (or a test) what it is doing. Libraries never print."""

    def plan_started(self, plan: Plan) -> None: ...
    def step_started(self, resource: PlannedResource) -> None: ...
    def step_finished(self, resource: PlannedResource, resource_id: str | None) -> None: ...
    def note(self, message: str) -> None: ...
    def instances_polled(self, instances: list[instance_res.LaunchedInstance]) -> None: ...


class SilentReporter:
    def plan_started(self, plan: Plan) -> None:
        pass

    def step_started(self, resource: PlannedResource) -> None:
        pass

    def step_finished(self, resource: PlannedResource, resource_id: str | None) -> None:
        pass

    def note(self, message: str) -> None:
        pass

    def instances_polled(self, instances: list[instance_res.LaunchedInstance]) -> None:
        pass


@dataclass
class Runtime:
    """What apply needs from the outside world, injectable for tests (no real sleeping there)."""

    clients: AwsClients
    home: Path
    reporter: Reporter = field(default_factory=SilentReporter)
    sleep: Callable[[float], None] = time.sleep
    wait_timeout_s: float = 600
    user_data_key: bytes | None = None  # the sandbox's: it runs only user data signed with it
    now: Callable[[], datetime] = utc_clock  # dates a new deployment, and so its expiry


@dataclass
class Outcome:
    resources: dict[str, dict[str, Any]]
    instances: list[dict[str, Any]]
    record_path: Path


# Steps in flight at once: 20 seats launch in two waves. Far inside EC2's request buckets
# (RunInstances: 1000 instance tokens, refilled 2 per second); botocore's adaptive retry mode
# slows the whole client down when AWS answers RequestLimitExceeded all the same.
MAX_PARALLEL_STEPS = 10

PAST = {"create": "created", "reuse": "reused", "update": "updated", "replace": "replaced"}


def connect_command(
    profile: Profile, discovery: Discovery, instance: instance_res.LaunchedInstance
) -> str:
    """The exact command that gets the user a shell on the instance, with its seat's key."""
    if profile.access.mode == "ssm":
        return f"aws ssm start-session --target {instance.id} --region {profile.region}"
    host = instance.public_dns or instance.public_ip or instance.private_ip or instance.id
    seat_key = discovery.keys.get(instance.seat)
    key = ""
    if seat_key is not None:
        key = (
            f"-i {seat_key.path} "
            if seat_key.path
            else f"-i <your private key for {seat_key.name}> "
        )
    return f"ssh {key}{discovery.ami.ssh_user}@{host}"


class _Apply:
    def __init__(self, plan: Plan, runtime: Runtime):
        self.plan = plan
        self.profile = plan.profile
        self.discovery = plan.discovery
        self.runtime = runtime
        self.clients = runtime.clients
        self.ledger = Ledger(runtime.home)
        self.ids: dict[str, str] = {r.key: r.id for r in plan.resources if r.id}
        previous = self.ledger.load(self.profile.region, self.profile.name)
        self.record = previous or new_record(
            self.profile.name,
            self.profile.region,
            self.profile.to_document(),
            self.clients.target.endpoint_url,
        )
        if previous is None:
            self.record["created_at"] = utc_iso(runtime.now())  # the injectable clock
        # Expiry = the first launch's created_at + ttl; a changed ttl moves it (see run()).
        self.expires_at = expiry_of(self.record["created_at"], self.profile.ttl)
        self.moves_expiry = previous is not None and previous.get("expires_at") != self.expires_at
        self.record["expires_at"] = self.expires_at
        self.tags = deployment_tags(
            self.profile.name, self.profile.region, self.profile.tags, self.expires_at
        )
        self.record["profile"] = self.profile.to_document()
        self.record["status"] = "applying"
        self.record["account_id"] = self.discovery.account_id
        self.record["vpc_id"] = self.discovery.vpc_id
        self.record["planned"] = [r.to_dict() for r in plan.resources]
        self.record["discovered"] = self.discovery.facts()
        self.user_data = render_user_data(self.profile, runtime.user_data_key)
        self.launched: dict[int, instance_res.LaunchedInstance] = {
            i.seat: i for i in self.discovery.existing.instances
        }
        # What a step really did when it differs from the plan (e.g. joined, not created).
        self.actual: dict[str, Action] = {}

    # -- bookkeeping ----------------------------------------------------------------------

    def remember(self, resource: PlannedResource, resource_id: str, owned: bool, **extra: Any):
        self.ids[resource.key] = resource_id
        before = self.record["resources"].get(resource.key, {})
        action = self.actual.get(resource.key, resource.action)
        self.record["resources"][resource.key] = {
            **before,
            "kind": resource.kind,
            "name": resource.name,
            "id": resource_id,
            "action": PAST[action],
            "owned": bool(before.get("owned")) or owned,
            **extra,
        }
        self.ledger.save(self.record)

    # -- steps ----------------------------------------------------------------------------

    def role(self, r: PlannedResource) -> str:
        arn = r.id or role_res.create(self.clients, r.name, self.tags)
        if r.action == "create":
            self.remember(r, arn, owned=True)
        role_res.put_policy(self.clients, r.name, r.details["policy"])
        return arn

    def instance_profile(self, r: PlannedResource) -> str:
        arn = r.id or instance_profile_res.create(self.clients, r.name, self.tags)
        if r.action == "create":
            self.remember(r, arn, owned=True)
        # The role and its instance profile share one name.
        instance_profile_res.add_role(self.clients, r.name, r.name)
        return arn

    def security_group(self, r: PlannedResource) -> str:
        group_id = r.id or sg_res.create(
            self.clients,
            self.discovery.vpc_id,
            r.name,
            f"amazonei-setup {self.profile.name}: {r.why}",
            self.tags,
        )
        if r.action == "create":
            self.remember(r, group_id, owned=True)
        wanted = r.details["ingress"]
        if r.key == "endpoint_sg":
            wanted = {sg_res.https_from_group(self.ids["instance_sg"])}
        sg_res.sync_ingress(self.clients, group_id, r.details["current_rules"], wanted)
        return group_id

    def vpc_dns(self, r: PlannedResource) -> str:
        endpoint_res.enable_vpc_dns(self.clients, self.discovery.vpc_id, r.details["attributes"])
        return self.discovery.vpc_id

    def endpoint(self, r: PlannedResource) -> str:
        """Create the VPC's endpoint, or join the one that exists by now. Serialised per VPC
        in this state home; across machines, AWS's private-DNS conflict says 'join it'."""
        vpc_id = self.discovery.vpc_id
        service = r.details["service"]
        with self.ledger.lock(self.profile.region, vpc_id, "an endpoint change", wait_s=180):
            found = endpoint_res.find(self.clients, vpc_id, service)
            if found is None:
                try:
                    endpoint_id = endpoint_res.create(
                        self.clients,
                        vpc_id,
                        service,
                        r.details["subnets"],
                        [self.ids["endpoint_sg"]],
                        {**self.tags, endpoint_user_tag(self.profile.name): "true"},
                    )
                except AwsFailure as failure:
                    found = endpoint_res.find(self.clients, vpc_id, service)
                    if found is None:
                        raise
                    self.runtime.reporter.note(
                        f"another deployment created the endpoint meanwhile ({failure.code}); "
                        "joining it"
                    )
                else:
                    self.remember(r, endpoint_id, owned=True, shared=True)
                    return endpoint_id
            self.join_endpoint(found)
            self.actual[r.key] = "update"
            return str(found["id"])

    def join_endpoint(self, found: dict[str, Any]) -> None:
        first = self.discovery.subnets[0]
        known = self.discovery.subnets + [s for s, _ in self.discovery.hidden_subnets]
        served = {s.availability_zone for s in known if s.id in found["subnets"]}
        subnets = [] if first.availability_zone in served else [first.id]
        groups = [] if self.ids["endpoint_sg"] in found["groups"] else [self.ids["endpoint_sg"]]
        user_tag = {endpoint_user_tag(self.profile.name): "true"}
        endpoint_res.add_to(self.clients, found["id"], subnets, groups, user_tag)

    def key_pair(self, r: PlannedResource) -> str:
        path = Path(r.details["path"])
        if r.action == "replace":
            key_pair_res.delete(self.clients, r.name)
        key_id = key_pair_res.create(self.clients, r.name, path, self.tags, "ed25519")
        self.remember(r, key_id, owned=True, private_key=str(path), seat=r.details["seat"])
        return key_id

    def instance(self, r: PlannedResource) -> str:
        seat = int(r.details["seat"])
        if r.action == "update" and r.id:
            instance_res.start(self.clients, [r.id])
            return r.id
        request = instance_res.launch_request(
            image_id=self.discovery.ami.id,
            instance_type=self.profile.instance_type,
            root_device_name=self.discovery.ami.root_device_name,
            root_volume_gib=self.discovery.ami.root_volume_gib,
            group_ids=[self.ids["instance_sg"]],
            instance_profile_name=self.plan.get("instance_profile").name,  # type: ignore[union-attr]
            key_name=seat_key.name if (seat_key := self.discovery.keys.get(seat)) else None,
            accelerator=self.profile.accelerator,
            user_data=self.user_data,
            tags={**self.tags, TAG_SEAT: str(seat), "Name": f"{self.profile.name}-{seat}"},
        )
        placements = [
            instance_res.Placement(s.id, s.availability_zone) for s in self.discovery.subnets
        ]
        try:
            launched = instance_res.run_one(
                self.clients,
                request,
                placements,
                client_token=f"amazonei-setup-{self.profile.name}-{seat}-{self.record['created_at']}",
                sleep=self.runtime.sleep,
                notify=self.runtime.reporter.note,
            )
        except AwsFailure as failure:
            if failure.code != "VcpuLimitExceeded":
                raise
            raise explain_vcpu_limit(
                self.clients,
                load_catalog(),
                self.profile.instance_type,
                self.profile.seats,
                failure,
            ) from failure
        self.launched[seat] = launched
        self.remember(r, launched.id, owned=True, seat=seat)
        return launched.id

    def run_step(self, r: PlannedResource) -> str | None:
        handlers: dict[str, Callable[[PlannedResource], str]] = {
            "iam-role": self.role,
            "iam-instance-profile": self.instance_profile,
            "security-group": self.security_group,
            "vpc-attribute": self.vpc_dns,
            "vpc-endpoint": self.endpoint,
            "key-pair": self.key_pair,
            "ec2-instance": self.instance,
        }
        return handlers[r.kind](r)

    # -- orchestration --------------------------------------------------------------------

    def owned_when_reused(self, r: PlannedResource) -> bool:
        if r.kind == "vpc-endpoint":  # the creator's; a joined endpoint belongs to its creator
            found = self.discovery.existing.endpoint or {}
            return found.get("tags", {}).get(TAG_DEPLOYMENT) == self.profile.name
        if r.kind == "key-pair":
            return bool(r.details.get("owned"))
        return r.kind != "vpc-attribute"

    def run(self) -> Outcome:
        if self.moves_expiry:  # before the record says so: a failed move is retried by a re-run
            move_expiry(self.clients, self.profile.name, self.profile.region, self.expires_at)
        self.ledger.save(self.record)  # write-ahead: the intent exists before any create
        pending = {r.key: r for r in self.plan.resources}
        done: set[str] = set()
        reporter = self.runtime.reporter
        reporter.plan_started(self.plan)
        with ThreadPoolExecutor(max_workers=MAX_PARALLEL_STEPS, thread_name_prefix="apply") as pool:
            running: dict[Future[str | None], PlannedResource] = {}
            try:
                while pending or running:
                    ready = [
                        r
                        for r in pending.values()
                        if all(d in done or d not in self._keys for d in r.depends_on)
                    ]
                    for r in ready:
                        del pending[r.key]
                        if r.action == "reuse":
                            self.remember(r, r.id or "", owned=self.owned_when_reused(r))
                            reporter.step_finished(r, r.id)
                            done.add(r.key)
                            continue
                        reporter.step_started(r)
                        running[pool.submit(self.run_step, r)] = r
                    if not running:
                        continue
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        r = running.pop(future)
                        resource_id = future.result()  # re-raises the step's failure
                        action = self.actual.get(r.key, r.action)
                        owned = action in ("create", "replace") or self.owned_when_reused(r)
                        self.remember(r, resource_id or "", owned=owned)
                        reporter.step_finished(r, resource_id)
                        done.add(r.key)
            except BaseException:
                for future in running:
                    future.cancel()
                self.record["status"] = "incomplete"
                self.ledger.save(self.record)
                raise
        return self.wait_and_finish()

    @property
    def _keys(self) -> set[str]:
        return {r.key for r in self.plan.resources}

    def wait_and_finish(self) -> Outcome:
        ids = [self.launched[seat].id for seat in sorted(self.launched)]
        booted = any(r.kind == "ec2-instance" and r.action != "reuse" for r in self.plan.resources)
        if not booted and all(i.state == "running" for i in self.launched.values()):
            running = list(self.launched.values())  # just seen running: no need to look again
        else:
            running = instance_res.wait_running(
                self.clients,
                ids,
                timeout_s=self.runtime.wait_timeout_s,
                sleep=self.runtime.sleep,
                on_poll=self.runtime.reporter.instances_polled,
            )
        by_id = {i.id: i for i in running}
        instances = []
        for seat in sorted(self.launched):
            current = by_id[self.launched[seat].id]
            current.seat = seat
            entry = current.to_dict()
            entry["connect"] = connect_command(self.profile, self.discovery, current)
            instances.append(entry)
        self.record["instances"] = instances
        self.record["status"] = "ready"
        self.ledger.save(self.record)
        return Outcome(
            resources=self.record["resources"],
            instances=instances,
            record_path=self.ledger.path(self.profile.region, self.profile.name),
        )


def apply_plan(plan: Plan, runtime: Runtime) -> Outcome:
    """Create or update what the plan says, then wait until every instance runs.

    Holds the deployment's lock throughout, and refuses a deployment that exists in AWS under
    this name but is not recorded in this state home (another machine's, or a lost home).
    """
    ledger = Ledger(runtime.home)
    profile = plan.profile
    if plan.discovery.missing_actions:
        raise AwsFailure(
            "your credentials are not allowed: " + ", ".join(plan.discovery.missing_actions),
            "nothing was created; `amazonei-setup iam-policy` prints the policy this tool needs",
            code="AccessDenied",
        )
    with ledger.lock(profile.region, profile.name, f"a launch of '{profile.name}'"):
        if ledger.load(profile.region, profile.name) is None and plan.discovery.existing.any():
            raise InputError(
                f"a deployment named '{profile.name}' already exists in {profile.region} but is "
                f"not recorded in {runtime.home} (another machine's, or a lost state home)",
                f"choose another --name, or remove it with `amazonei-setup teardown "
                f"{profile.name} --region {profile.region}`",
            )
        return _Apply(plan, runtime).run()
