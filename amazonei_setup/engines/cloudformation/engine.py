"""The CloudFormation engine behind the engine protocol: the deployment is stack
`amazonei-setup-<name>`, its change set the plan, its events the progress, DeleteStack the
teardown (launch.py holds the launch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amazonei_setup.aws.clients import AwsClients
from amazonei_setup.engines.cloudformation import stack as cfn
from amazonei_setup.engines.cloudformation.launch import (
    StackOutcome,
    StackPlan,
    apply_stack,
    plan_stack,
    refuse,
)
from amazonei_setup.engines.direct.engine import live_instances
from amazonei_setup.engines.protocol import (
    EngineName,
    EngineStatus,
    Environment,
    SilentStackReporter,
    StackReporter,
    StackState,
)
from amazonei_setup.errors import AwsFailure, InputError
from amazonei_setup.resources import instance as instance_res
from amazonei_setup.spec.profile import Profile
from amazonei_setup.state.ledger import Edit, Ledger
from amazonei_setup.state.record import DeploymentRecord, RecordedStack


@dataclass
class StackTeardown:
    """What deleting the stack removes: the stack as it is now (None: gone) and its
    resources."""

    record: DeploymentRecord
    stack: RecordedStack
    clients: AwsClients
    live: dict[str, Any] | None
    items: list[dict[str, str]] = field(default_factory=list)

    @property
    def status(self) -> str:
        return str(self.live["StackStatus"]) if self.live else "gone"


@dataclass
class StackEngine:
    """The template deployed as one stack through a change set."""

    env: Environment
    reporter: StackReporter = field(default_factory=SilentStackReporter)
    name: EngineName = "cloudformation"

    def check(self, profile: Profile) -> None:
        refuse(profile)

    def plan(self, profile: Profile, record: DeploymentRecord | None) -> StackPlan:
        refuse(profile)
        return plan_stack(self.env, profile, record)

    def discard(self, plan: StackPlan) -> None:
        """The change set goes, and a stack that only existed for it goes too."""
        cfn.discard_change_set(plan.clients, plan.change_set)

    def apply(self, plan: StackPlan, edit: Edit) -> StackOutcome:
        return apply_stack(self.env, self.reporter, plan, edit)

    def status(self, record: DeploymentRecord, detail: bool = False) -> EngineStatus:
        """The stack's instances; with `detail`, the stack's status and its drift."""
        found = EngineStatus(instances=live_instances(self.env, record))
        if detail:
            found.stack = self.stack_state(record)
        return found

    def stack_state(self, record: DeploymentRecord) -> StackState:
        stack = _stack_of(record)
        clients = self.env.record_clients(record)
        live = cfn.find_stack(clients, stack.id)
        if not live:
            return StackState(status="DELETED", name=stack.name)
        drift = cfn.drifted(clients, stack.id, sleep=self.env.sleep, clock=self.env.clock)
        return StackState(status=str(live["StackStatus"]), drift=drift, name=stack.name)

    def verify_targets(self, record: DeploymentRecord) -> list[str]:
        return [i.id for i in instance_res.find(self.env.record_clients(record), record.name)]

    def plan_teardown(
        self, name: str, region: str, record: DeploymentRecord | None
    ) -> StackTeardown:
        if record is None:
            raise InputError(
                f"no record of stack deployment '{name}' in {region}",
                "`amazonei-setup status` lists the recorded deployments",
            )
        stack = _stack_of(record)
        clients = self.env.record_clients(record)
        live = cfn.find_stack(clients, stack.id)
        items = cfn.resources(clients, stack.id) if live else []
        return StackTeardown(record=record, stack=stack, clients=clients, live=live, items=items)

    def teardown(self, plan: StackTeardown) -> None:
        """DeleteStack, waited for; then the local key files and the record go."""
        if plan.live:
            result = cfn.delete(
                plan.clients,
                plan.stack.id,
                on_event=self.reporter.stack_event,
                sleep=self.env.sleep,
                clock=self.env.clock,
            )
            if result.failure:
                raise AwsFailure(
                    f"stack {plan.stack.name} could not be deleted: {result.failure}",
                    "fix what blocks it, then run the same command again",
                )
        record = plan.record
        with Ledger(self.env.home).edit(record.region, record.name, "a teardown") as edit:
            for entry in (edit.record.resources if edit.record else {}).values():
                if entry.private_key:
                    Path(entry.private_key).unlink(missing_ok=True)
            edit.remove()


def _stack_of(record: DeploymentRecord) -> RecordedStack:
    if record.stack is None:
        raise InputError(f"'{record.name}' was not launched as a stack")
    return record.stack
