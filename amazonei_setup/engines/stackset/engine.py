"""The StackSets engine behind the engine protocol: one deployment through a service-managed
stack set (launch.py), its status a row per account and region, and its removal in the order
AWS requires (the stack instances, waited for, then the set)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from amazonei_setup.engines.protocol import (
    EngineName,
    EngineStatus,
    Environment,
    SilentStackReporter,
    StackReporter,
)
from amazonei_setup.engines.stackset import operations as ops
from amazonei_setup.engines.stackset.launch import (
    StackSetOutcome,
    apply_stackset,
    follow,
    plan_stackset,
    recorded_already,
    refuse,
)
from amazonei_setup.engines.stackset.plan import StackSetPlan
from amazonei_setup.engines.stackset.targets import Targets
from amazonei_setup.errors import InputError
from amazonei_setup.resources import instance as instance_res
from amazonei_setup.spec.profile import Profile
from amazonei_setup.state.ledger import Edit, Ledger
from amazonei_setup.state.record import DeploymentRecord, RecordedStackSet


def is_stackset(record: DeploymentRecord) -> bool:
    return record.engine == "stackset" and record.stack_set is not None


def status_document(record: DeploymentRecord, rows: list[dict[str, str]]) -> dict[str, Any]:
    """What `status --output json` (and teardown's) says of a stack set deployment."""
    return {
        "deployment": record.name,
        "region": record.region,
        "engine": "stackset",
        "stack_set": record.stack_set.name if record.stack_set else None,
        "status": record.status,
        "stack_instances": rows,
    }


@dataclass
class StackSetTeardown:
    record: DeploymentRecord
    document: dict[str, Any]  # its status document: the rows to remove

    @property
    def rows(self) -> list[dict[str, str]]:
        rows: list[dict[str, str]] = self.document["stack_instances"]
        return rows


@dataclass
class StackSetEngine:
    """`targets`: the accounts or OU, and regions, the set deploys to (launch only);
    `endpoint_url`: the endpoint given, kept in the record."""

    env: Environment
    targets: Targets | None = None
    endpoint_url: str | None = None
    reporter: StackReporter = field(default_factory=SilentStackReporter)
    name: EngineName = "stackset"

    def _targets(self) -> Targets:
        if self.targets is None:
            raise InputError("a stack set launch needs --accounts or --ou, and --regions")
        return self.targets

    def check(self, profile: Profile) -> None:
        refuse(profile, self._targets())

    def plan(self, profile: Profile, record: DeploymentRecord | None) -> StackSetPlan:
        plan = plan_stackset(self.env, profile, self._targets())
        if record is not None:
            raise recorded_already(plan.deployment, plan.region)
        return plan

    def discard(self, plan: StackSetPlan) -> None:
        """Planning made nothing in AWS: nothing to discard."""

    def apply(self, plan: StackSetPlan, edit: Edit) -> StackSetOutcome:
        return apply_stackset(self.env, self.reporter, plan, edit, self.endpoint_url)

    def _cfn(self, record: DeploymentRecord) -> Any:
        return self.env.record_clients(record).client("cloudformation")

    def status(self, record: DeploymentRecord, detail: bool = False) -> EngineStatus:
        """The stack instances as StackSets reports them now (they run in other accounts)."""
        stack_set = _stack_set_of(record)
        rows = [r.to_dict() for r in ops.instances(self._cfn(record), stack_set.name)]
        return EngineStatus(stack_instances=rows)

    def verify_targets(self, record: DeploymentRecord) -> list[str]:
        """The instances in this account by the deployment's tags (a set's are elsewhere)."""
        return [i.id for i in instance_res.find(self.env.record_clients(record), record.name)]

    def plan_teardown(
        self, name: str, region: str, record: DeploymentRecord | None
    ) -> StackSetTeardown:
        if record is None:
            raise InputError(f"no record of stack set deployment '{name}' in {region}")
        rows = self.status(record).stack_instances or []
        return StackSetTeardown(record=record, document=status_document(record, rows))

    def teardown(self, plan: StackSetTeardown) -> list[dict[str, str]]:
        """Delete the instances (waited for), then the set and the record; the instances
        left ([] when all went: only then do the set and the record go)."""
        record = plan.record
        stack_set = _stack_set_of(record)
        cfn = self._cfn(record)
        name = stack_set.name
        with Ledger(self.env.home).edit(
            record.region, record.name, f"a teardown of '{record.name}'"
        ) as edit:
            if edit.record is not None:
                edit.record.status = "tearing-down"
                edit.save()
            if plan.rows:
                regions = sorted({*stack_set.regions, *(r["region"] for r in plan.rows)})
                operation = ops.delete_instances(cfn, name, stack_set.deployment_targets, regions)
                follow(self.env, self.reporter, cfn, name, operation)
            left = ops.instances(cfn, name)
            if left:
                return [r.to_dict() for r in left]
            ops.delete_stack_set(cfn, name)
            edit.remove()
        return []


def _stack_set_of(record: DeploymentRecord) -> RecordedStackSet:
    if record.stack_set is None:
        raise InputError(f"'{record.name}' was not launched as a stack set")
    return record.stack_set
