"""Teardown: remove everything a deployment created, in reverse dependency order, and nothing
it did not create. Every step is idempotent, so an interrupted teardown finishes when re-run,
and a deployment whose record is lost is torn down from its tags alone.

The order is the launch graph reversed (`ResourceKind.after`), plus each kind's own waits, run
by the same executor as a launch (`engine.run_graph`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from amazonei_setup.aws.clients import AwsClients
from amazonei_setup.engines.graph import Node, order, run_graph
from amazonei_setup.engines.inventory import DeploymentResources, deployment_resources
from amazonei_setup.errors import InputError
from amazonei_setup.resources.endpoint import other_users
from amazonei_setup.resources.kind import ResourceKind, TeardownAction, TeardownStep
from amazonei_setup.resources.registry import kind_of, kinds
from amazonei_setup.state.ledger import Ledger

__all__ = ["TeardownAction", "TeardownPlan", "TeardownReporter", "execute_teardown"]


@dataclass
class TeardownPlan:
    name: str
    region: str
    found: DeploymentResources
    actions: list[TeardownAction]
    record_exists: bool
    key_files: list[Path] = field(default_factory=list)
    steps: list[TeardownStep] = field(default_factory=list)

    @property
    def changes(self) -> list[TeardownAction]:
        return [a for a in self.actions if a.verb != "keep"]

    @property
    def kept(self) -> list[TeardownAction]:
        return [a for a in self.actions if a.verb == "keep"]

    @property
    def nothing_to_do(self) -> bool:
        return not self.changes and not self.record_exists and not self.key_files

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployment": self.name,
            "region": self.region,
            "actions": [a.to_dict() for a in self.actions],
            "record": self.record_exists,
            "key_files": [str(p) for p in self.key_files],
        }


class TeardownReporter(Protocol):
    """Progress hooks; the CLI renders them (`cli.console.TeardownConsoleReporter`), tests may
    record them. A protocol, so a reporter need not import the engine."""

    def action_started(self, action: TeardownAction) -> None: ...
    def action_finished(self, action: TeardownAction) -> None: ...
    def note(self, message: str) -> None: ...


class SilentTeardownReporter:
    """The reporter when none is given: reports nothing."""

    def action_started(self, action: TeardownAction) -> None:
        pass

    def action_finished(self, action: TeardownAction) -> None:
        pass

    def note(self, message: str) -> None:
        pass


def _dependents(kind: ResourceKind) -> set[str]:
    """The kinds teardown removes before this one: those launched after it (minus those it
    need not wait for), and its own extra waits."""
    launched_after = {k.kind for k in kinds() if kind.kind in k.after}
    return (launched_after - set(kind.teardown_ignores)) | set(kind.teardown_after)


def teardown_graph(steps: list[TeardownStep]) -> list[Node[TeardownStep]]:
    """The steps as graph nodes: each after its own kind's earlier steps and after every step
    of the kinds that must go first."""
    by_kind: dict[str, list[str]] = {}
    for step in steps:
        by_kind.setdefault(step.kind, []).append(step.key)
    nodes = []
    for step in steps:
        kind = kind_of(step.kind)
        first = [key for other in _dependents(kind) for key in by_kind.get(other, [])]
        if kind.gate:  # made first at launch: removed last
            first = [s.key for s in steps if s.kind != step.kind]
        nodes.append(Node(step.key, step, (*step.after, *first)))
    return order(nodes)


def plan_teardown(
    clients: AwsClients, ledger: Ledger, home: Path, name: str, region: str
) -> TeardownPlan:
    """What teardown would do, read-only: the eksctl-style list shown before acting."""
    found = deployment_resources(clients, name, region)
    record = ledger.load(region, name)
    steps = [step for kind in kinds() for step in kind.teardown(found, home, ledger)]
    nodes = teardown_graph(steps)
    actions = [action for node in nodes for action in node.item.actions]
    for key, entry in (record.resources if record else {}).items():
        if not entry.owned and key != "endpoint":
            actions.append(
                TeardownAction(
                    "keep", entry.kind, entry.name, entry.id, "reused, not created by us"
                )
            )
    return TeardownPlan(
        name=name,
        region=region,
        found=found,
        actions=actions,
        record_exists=record is not None,
        key_files=[path for step in steps for path in step.paths],
        steps=steps,
    )


def _added(shown: TeardownPlan, current: TeardownPlan) -> list[str]:
    """What the current plan would remove that the shown one did not (a kind whose
    resources appear on their own, like the agents' reports, is expected to grow)."""

    def removals(plan: TeardownPlan) -> set[str]:
        found = {f"{a.kind} {a.id}" for a in plan.changes if not kind_of(a.kind).appears_on_its_own}
        return found | {f"private key {p}" for p in plan.key_files}

    return sorted(removals(current) - removals(shown))


@dataclass
class _Teardown:
    """One teardown in progress: what every kind's `remove` may use (`kind.TeardownRun`)."""

    plan: TeardownPlan
    clients: AwsClients
    ledger: Ledger
    sleep: Callable[[float], None]
    reporter: TeardownReporter
    wait_timeout_s: float

    @property
    def name(self) -> str:
        return self.plan.name

    @property
    def region(self) -> str:
        return self.plan.region

    @property
    def found(self) -> DeploymentResources:
        return self.plan.found

    def note(self, message: str) -> None:
        self.reporter.note(message)

    def other_users(self, endpoint: dict[str, Any]) -> set[str]:
        return other_users(endpoint, self.name, self.region, self.ledger)


def execute_teardown(
    plan: TeardownPlan,
    clients: AwsClients,
    ledger: Ledger,
    *,
    sleep: Callable[[float], None] = time.sleep,
    reporter: TeardownReporter | None = None,
    wait_timeout_s: float = 600,
    replan: Callable[[], TeardownPlan] | None = None,
) -> list[TeardownAction]:
    """Carry out the plan in order; returns what was done. Safe to run again after a failure.

    With `replan`, the deployment is looked at again once its lock is held: a plan shown
    before the lock (and before the person confirmed) may be stale — a launch that finished
    meanwhile added a seat nobody was asked about. Then nothing is removed and the caller
    says so (exit 2): the person decides on the current plan, not an old one."""
    reporter = reporter or SilentTeardownReporter()
    done: list[TeardownAction] = []

    def started(node: Node[TeardownStep]) -> None:
        for action in node.item.actions:
            reporter.action_started(action)

    def finished(node: Node[TeardownStep], actions: list[TeardownAction]) -> None:
        for action in actions:
            reporter.action_finished(action)
        done.extend(actions)

    with ledger.edit(plan.region, plan.name, f"a teardown of '{plan.name}'") as edit:
        if replan is not None:
            current = replan()
            added = _added(plan, current)
            if added:
                raise InputError(
                    f"'{plan.name}' in {plan.region} changed since its teardown was shown: "
                    + ", ".join(added)
                    + " appeared; nothing was removed",
                    "run the same teardown again to see (and confirm) what is there now",
                )
            plan = current  # the same or less (removed meanwhile): its fresh view of AWS
        run = _Teardown(plan, clients, ledger, sleep, reporter, wait_timeout_s)
        if edit.record is not None:
            edit.record.status = "tearing-down"
            edit.save()
        run_graph(
            teardown_graph(plan.steps),
            lambda node: kind_of(node.item.kind).remove(run, node.item),
            started=started,
            finished=finished,
        )
        edit.remove()
    return done
