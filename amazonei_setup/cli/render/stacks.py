"""What the CloudFormation and StackSets engines' plans, statuses and teardowns look like on
the terminal: tables and lines, built here, printed by the commands."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from amazonei_setup.engines.cloudformation.engine import StackTeardown
from amazonei_setup.engines.cloudformation.launch import StackPlan
from amazonei_setup.engines.protocol import StackState
from amazonei_setup.engines.stackset.plan import StackSetPlan


def change_table(plan: StackPlan) -> Table:
    change_set = plan.change_set
    table = Table(
        title=f"Change set of stack {plan.name} ({change_set.kind})", title_justify="left"
    )
    for column in ("action", "logical id", "type", "replacement"):
        table.add_column(column)
    for change in change_set.changes:
        table.add_row(change.action, change.logical_id, change.resource_type, change.replacement)
    return table


def stack_teardown_table(plan: StackTeardown) -> Table:
    table = Table(title=f"Stack {plan.stack.name} ({plan.status})")
    for column in ("logical id", "type", "id"):
        table.add_column(column)
    for item in plan.items:
        table.add_row(item["logical_id"], item["type"], item["id"])
    return table


def stack_state_lines(name: str, state: StackState) -> list[str]:
    """The stack's status, and its drift (where drift detection is available)."""
    lines = [f"stack {name}: {state.status}"]
    if state.status == "DELETED":
        return lines
    if state.drift is None:
        lines.append(
            "drift: unavailable here (the sandbox's CloudFormation has no drift detection)"
        )
    elif state.drift:
        drifted = ", ".join(f"{d['logical_id']} {d['drift']}" for d in state.drift)
        lines.append("drift: DRIFTED: " + drifted)
    else:
        lines.append("drift: IN_SYNC")
    return lines


def stackset_status_table(document: dict[str, Any]) -> Table:
    """A stack set deployment: a row per account and region."""
    table = Table(
        title=f"{document['deployment']}: stack set {document['stack_set']} "
        f"(from {document['region']})"
    )
    for column in ("account", "region", "status", "detail", "reason"):
        table.add_column(column)
    for row in document["stack_instances"]:
        table.add_row(
            row["account"],
            row["region"],
            row["status"],
            row["detailed_status"],
            row["status_reason"],
        )
    if not document["stack_instances"]:
        table.add_row("-", "-", "no stack instances", "", "")
    return table


def stackset_plan(plan: StackSetPlan) -> list[Table | str]:
    """The plan of a stack set launch: the targets and their cost, what each gets, the sum."""
    table = Table(title=f"Stack set {plan.name} (service-managed, from {plan.region})")
    for column in ("account", "region", "instances", "$/hour"):
        table.add_column(column)
    price = plan.price_per_hour_usd
    for account, region in plan.pairs:
        cost = f"{price * plan.seats:.3f}" if price is not None else "?"
        table.add_row(account, region, f"{plan.seats} x {plan.hardware}", cost)
    kinds: dict[str, int] = {}
    for resource in plan.resources():
        if "only_if" not in resource:
            kinds[resource["type"]] = kinds.get(resource["type"], 0) + 1
    each = (
        "each account-region gets: "
        + ", ".join(f"{n} {t}" for t, n in kinds.items())
        + " (network included: each stack builds its own VPC)"
    )
    total = plan.total_per_hour_usd
    summary = (
        f"{plan.seats} seat(s) x {len(plan.pairs)} target(s) = {plan.instances_total} instance(s)"
        + (f", ${total:.3f}/hour" if total is not None else ", price unknown")
        + (" ; accounts joining the OU later get it too" if plan.auto_deployment else "")
    )
    note = plan.image.note() if plan.image else None
    return [table, each, summary, *([f"AMI: {note}"] if note else [])]
