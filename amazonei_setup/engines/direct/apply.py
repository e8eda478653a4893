"""Carry out a plan: dependency order, independent steps concurrently, the record written
before the first create and after every step."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from amazonei_setup.aws.clients import AwsClients, AwsTarget
from amazonei_setup.engines.discover import Discovery, own_resources_exist
from amazonei_setup.engines.expiry import move_tags, tag_change
from amazonei_setup.engines.graph import MAX_PARALLEL_STEPS, Node, run_graph
from amazonei_setup.engines.plan import Action, Plan, PlannedResource
from amazonei_setup.errors import AwsFailure, InputError
from amazonei_setup.resources import instance as instance_res
from amazonei_setup.resources.claim import home_id
from amazonei_setup.resources.kind import PAST, TagChange
from amazonei_setup.resources.naming import deployment_tags
from amazonei_setup.resources.registry import kind_of, kinds
from amazonei_setup.seats.shell_access import command_line, host_of, ssh_argv, ssm_argv
from amazonei_setup.seats.userdata import render_user_data
from amazonei_setup.spec.profile import Profile
from amazonei_setup.spec.ttl import expiry_of, utc_clock, utc_iso
from amazonei_setup.state.ledger import Edit, new_record
from amazonei_setup.state.record import RecordedInstance, RecordedResource

__all__ = ["MAX_PARALLEL_STEPS", "Outcome", "Reporter", "Runtime", "apply_plan"]


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


def connect_command(
    profile: Profile,
    discovery: Discovery,
    instance: instance_res.LaunchedInstance,
    target: AwsTarget | None = None,
) -> str:
    """The exact command that gets the user a shell on the instance, with its seat's key
    (built by shell_access, as `connect` builds it)."""
    if profile.access.mode == "ssm":
        endpoint = target.endpoint_url if target is not None else None
        aws_profile = target.profile_name if target is not None else None
        return command_line(ssm_argv(instance.id, profile.region, aws_profile, endpoint))
    seat_key = discovery.keys.get(instance.seat)
    key = None
    if seat_key is not None:
        key = str(seat_key.path) if seat_key.path else f"<your private key for {seat_key.name}>"
    return command_line(ssh_argv(discovery.ami.ssh_user, host_of(instance), key))


class _Apply:
    """One launch in progress: what every kind's `apply` may use (`resources.kind.ApplyRun`)."""

    def __init__(self, plan: Plan, runtime: Runtime, edit: Edit):
        self.plan = plan
        self.profile = plan.profile
        self.discovery = plan.discovery
        self.runtime = runtime
        self.clients = runtime.clients
        self.sleep = runtime.sleep
        self.edit = edit
        self.ledger = edit.ledger
        self.ids: dict[str, str] = {r.key: r.id for r in plan.resources if r.id}
        previous = edit.record
        record = previous or new_record(
            self.profile.name,
            self.profile.region,
            self.profile.to_document(),
            self.clients.target.endpoint_url,
            utc_iso(runtime.now()),  # the injectable clock
        )
        self.created_at = record.created_at
        self.home_id = home_id(runtime.home)
        # Expiry = the first launch's created_at + ttl; a changed ttl moves it (see run()).
        self.expires_at = expiry_of(record.created_at, self.profile.ttl)
        # A re-run moves what exists in place: the expiry, and the user's changed tags.
        self.retagging = (
            tag_change(
                previous.profile.get("tags") or {},
                self.profile.tags,
                (previous.expires_at, self.expires_at),
            )
            if previous is not None
            else TagChange()
        )
        record.expires_at = self.expires_at
        self.tags = deployment_tags(
            self.profile.name, self.profile.region, self.profile.tags, self.expires_at
        )
        record.profile = self.profile.to_document()
        record.status = "applying"
        record.account_id = self.discovery.account_id
        record.vpc_id = self.discovery.vpc_id
        record.planned = [r.to_dict() for r in plan.resources]
        record.discovered = self.discovery.facts()
        edit.record = self.record = record
        self.user_data = render_user_data(self.profile, runtime.user_data_key)
        self.seats: dict[int, instance_res.LaunchedInstance] = {
            i.seat: i for i in self.discovery.existing.of("ec2-instance") or []
        }
        # What a step really did when it differs from the plan (e.g. joined, not created).
        self.actual: dict[str, Action] = {}
        self._remember = threading.Lock()

    # -- what kinds use -------------------------------------------------------------------

    def note(self, message: str) -> None:
        self.runtime.reporter.note(message)

    def get(self, key: str) -> PlannedResource | None:
        return self.plan.get(key)

    def new_attempt(self, resource: PlannedResource) -> str:
        """A fresh idempotency token for this attempt at creating `resource`, recorded
        before the call that uses it."""
        token = uuid.uuid4().hex
        with self._remember:
            self.record.launch_tokens = {**self.record.launch_tokens, resource.key: token}
            self.edit.save()
        return token

    def joined(self, resource: PlannedResource) -> None:
        self.actual[resource.key] = "update"

    def launched(self, seat: int, instance: instance_res.LaunchedInstance) -> None:
        self.seats[seat] = instance

    def remember(self, resource: PlannedResource, resource_id: str, owned: bool, **extra: Any):
        """Write-ahead: the record names a resource as soon as it exists."""
        with self._remember:
            self.ids[resource.key] = resource_id
            before = self.record.resources.get(resource.key)
            action = self.actual.get(resource.key, resource.action)
            kept = before.model_dump(exclude_none=True) if before else {}
            self.record.resources = {
                **self.record.resources,
                resource.key: RecordedResource(
                    **{
                        **kept,
                        "kind": resource.kind,
                        "name": resource.name,
                        "id": resource_id,
                        "action": PAST[action],
                        "owned": bool(before and before.owned) or owned,
                        **extra,
                    }
                ),
            }
            self.edit.save()

    # -- orchestration --------------------------------------------------------------------

    def run(self) -> Outcome:
        if self.retagging:  # before the record says so: a failed move is retried by a re-run
            move_tags(self.clients, self.profile.name, self.profile.region, self.retagging)
        self.edit.save()  # write-ahead: the intent exists before any create
        reporter = self.runtime.reporter
        reporter.plan_started(self.plan)

        def reused(node: Node[PlannedResource]) -> str | None:
            r = node.item
            if r.action != "reuse":
                return None
            self.remember(r, r.id or "", owned=kind_of(r.kind).owned_when_reused(self, r))
            return r.id or ""

        def finished(node: Node[PlannedResource], resource_id: str) -> None:
            r = node.item
            if r.action != "reuse":
                action = self.actual.get(r.key, r.action)
                owned = action in ("create", "replace") or kind_of(r.kind).owned_when_reused(
                    self, r
                )
                self.remember(r, resource_id or "", owned=owned)
            reporter.step_finished(r, resource_id)

        try:
            gates = tuple(r.key for r in self.plan.resources if kind_of(r.kind).gate)
            run_graph(
                [
                    Node(r.key, r, r.depends_on if r.key in gates else (*gates, *r.depends_on))
                    for r in self.plan.resources
                ],
                lambda node: kind_of(node.item.kind).apply(self, node.item),
                started=lambda node: reporter.step_started(node.item),
                finished=finished,
                instant=reused,
            )
        except BaseException:
            self.record.status = "incomplete"
            self.edit.save()
            raise
        return self.wait_and_finish()

    def wait_and_finish(self) -> Outcome:
        ids = [self.seats[seat].id for seat in sorted(self.seats)]
        booted = any(r.kind == "ec2-instance" and r.action != "reuse" for r in self.plan.resources)
        if not booted and all(i.state == "running" for i in self.seats.values()):
            running = list(self.seats.values())  # just seen running: no need to look again
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
        for seat in sorted(self.seats):
            current = by_id[self.seats[seat].id]
            current.seat = seat
            entry = current.to_dict()
            entry["connect"] = connect_command(
                self.profile, self.discovery, current, self.clients.target
            )
            instances.append(entry)
        self.record.instances = [RecordedInstance(**entry) for entry in instances]
        self.record.status = "ready"
        self.edit.save()
        return Outcome(
            resources={
                key: entry.model_dump(exclude_none=True)
                for key, entry in self.record.resources.items()
            },
            instances=instances,
            record_path=self.ledger.path(self.profile.region, self.profile.name),
        )


def apply_plan(plan: Plan, runtime: Runtime, edit: Edit) -> Outcome:
    """Create or update what the plan says, then wait until every instance runs.

    The caller holds the deployment's record open (`Ledger.edit`) from discovery on. Refuses
    a deployment that exists in AWS under this name but is not recorded in this state home
    (another machine's, or a lost home).
    """
    profile = plan.profile
    if plan.discovery.missing_actions:
        raise AwsFailure(
            "your credentials are not allowed: " + ", ".join(plan.discovery.missing_actions),
            "nothing was created; `amazonei-setup iam-policy` prints the policy this tool needs",
            code="AccessDenied",
        )
    if edit.record is None and own_resources_exist(plan.discovery.existing):
        raise InputError(
            f"a deployment named '{profile.name}' already exists in {profile.region} but is "
            f"not recorded in {runtime.home} (another machine's, or a lost state home); "
            "nothing was created",
            f"choose another --name, or remove it with `amazonei-setup teardown "
            f"{profile.name} --region {profile.region}`",
        )
    for kind in kinds():
        kind.preflight(runtime.clients, plan, runtime.home)
    return _Apply(plan, runtime, edit).run()
