"""Rich renderables for plans, outcomes and deployments. Building them prints nothing; the CLI
decides where they go (stderr for people, stdout stays for JSON)."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

ACTION_STYLE = {
    "create": "green",
    "update": "yellow",
    "replace": "yellow",
    "reuse": "dim",
    "created": "green",
    "updated": "yellow",
    "replaced": "yellow",
    "reused": "dim",
}


def money(value: float | None, digits: int = 3) -> str:
    return "unknown" if value is None else f"${value:,.{digits}f}"


def plan_table(plan: Any) -> Group:
    """The plan as a person reads it: what happens to each resource, then the cost."""
    profile, discovery = plan.profile, plan.discovery
    accelerator = f" + {profile.accelerator}" if profile.accelerator else ""
    title = (
        f"Plan for '{profile.name}' in {profile.region}: "
        f"{profile.seats} × {profile.instance_type}{accelerator}"
    )
    table = Table(title=title, title_justify="left", expand=False)
    table.add_column("action", no_wrap=True)
    table.add_column("resource", no_wrap=True)
    table.add_column("name / id", overflow="fold")
    table.add_column("why", overflow="fold")
    table.add_row(
        "use", "vpc", discovery.vpc_id + (" (default)" if discovery.vpc_is_default else ""), ""
    )
    zones = ", ".join(s.availability_zone for s in discovery.subnets)
    table.add_row("use", "subnet", discovery.subnets[0].id, f"AZs in failover order: {zones}")
    table.add_row(
        "use", "ami", discovery.ami.id, f"{discovery.ami.name} (from {discovery.ami.source})"
    )
    for resource in plan.resources:
        style = ACTION_STYLE.get(resource.action, "")
        label = resource.name if not resource.id else f"{resource.name} ({resource.id})"
        table.add_row(Text(resource.action, style=style), resource.kind, label, resource.why)
    cost = plan.cost
    lines = [
        Text(
            f"Cost: {money(cost.price_per_hour_usd)}/hour per seat × {cost.seats} = "
            f"{money(cost.total_per_hour_usd)}/hour, {money(cost.total_per_day_usd, 2)}/day "
            f"(on-demand list prices as of {cost.prices_as_of})"
        ),
        Text(f"{len(plan.changes)} change(s); {len(plan.resources) - len(plan.changes)} reused."),
    ]
    lines += [Text(f"Note: {note}", style="yellow") for note in plan.notes]
    return Group(table, *lines)


def outcome_panel(profile: Any, outcome: Any, cost: Any) -> Panel:
    """The final word of a launch: what runs where and what it costs. The commands to connect
    and to tear down are printed after it, unwrapped, so they copy and paste intact."""
    table = Table(show_header=True, box=None, pad_edge=False)
    for column in ("seat", "instance", "AZ", "state"):
        table.add_column(column)
    for instance in outcome.instances:
        table.add_row(
            str(instance["seat"]),
            instance["id"],
            instance["availability_zone"],
            instance["state"],
        )
    return Panel(
        Group(
            table,
            Text(""),
            Text(
                f"Cost: {money(cost.total_per_hour_usd)}/hour "
                f"({money(cost.total_per_day_usd, 2)}/day) while running."
            ),
            Text(f"Record: {outcome.record_path}", overflow="fold"),
        ),
        title=f"'{profile.name}' is running in {profile.region}",
        title_align="left",
        expand=False,
    )


def command_lines(outcome: Any, teardown_command: str) -> list[Text]:
    lines = [Text("Connect:", style="bold")]
    lines += [Text(f"  {instance['connect']}") for instance in outcome.instances]
    lines.append(Text("Remove everything:", style="bold"))
    lines.append(Text(f"  {teardown_command}"))
    return lines


def deployments_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Deployments", title_justify="left")
    for column in ("name", "region", "hardware", "seats", "status", "instances", "$/hour"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["name"],
            row["region"],
            row["hardware"],
            str(row["seats"]),
            row["status"],
            ", ".join(f"{i['id']} {i['state']}" for i in row["instances"]) or "none",
            money(row["price_per_hour_usd"]),
        )
    return table
