"""Rich renderables for plans, outcomes and deployments. Building them prints nothing; the CLI
decides where they go (stderr for people, stdout stays for JSON)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from amazonei_setup.resources.registry import kind_of
from amazonei_setup.seats.untrusted import plain

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


def plan_table(plan: Any, complete: Callable[[str], str] = str) -> Group:
    """The plan as a person reads it: what happens to each resource, then the cost.
    `complete` makes each `amazonei-setup ...` in its notes a command that works pasted."""
    profile, discovery = plan.profile, plan.discovery
    accelerator = f" + {profile.accelerator}" if profile.accelerator else ""
    title = (
        f"Plan for '{profile.name}' in {profile.region}: "
        f"{profile.seats} × {profile.instance_type}{accelerator}"
    )
    table = Table(title=title, title_justify="left", expand=False, box=box.SIMPLE_HEAD)
    table.add_column("action", no_wrap=True)
    table.add_column("resource", no_wrap=True)
    table.add_column("name / id · why", overflow="fold")

    def cell(label: str, why: str) -> Text:
        text = Text(label)
        if why:
            text.append(f"\n{why}", style="dim")
        return text

    default = " (default)" if discovery.vpc_is_default else ""
    table.add_row("use", "vpc", cell(discovery.vpc_id + default, ""))
    zones = ", ".join(s.availability_zone for s in discovery.subnets)
    table.add_row("use", "subnet", cell(discovery.subnets[0].id, f"AZ failover order: {zones}"))
    ami = discovery.ami
    table.add_row("use", "ami", cell(ami.id, f"{ami.name} (from {ami.source})"))
    for action, kind, label, why in plan_rows(plan.resources):
        table.add_row(Text(action, style=ACTION_STYLE.get(action, "")), kind, cell(label, why))
    cost = plan.cost
    lines = [
        Text(
            f"Cost: {money(cost.price_per_hour_usd)}/hour per seat × {cost.seats} = "
            f"{money(cost.total_per_hour_usd)}/hour, {money(cost.total_per_day_usd, 2)}/day "
            + (
                f"(on-demand, {cost.price_source})"
                if cost.price_source
                else f"(on-demand list prices as of {cost.prices_as_of})"
            )
        ),
        Text(f"{len(plan.changes)} change(s); {len(plan.resources) - len(plan.changes)} reused."),
    ]
    expiry = expiry_line(plan)
    if expiry is not None:
        lines.append(Text(complete(expiry.plain)))
    lines += [Text(f"Note: {complete(note)}", style="yellow") for note in plan.notes]
    return Group(table, *lines)


SEAT_ROWS_SHOWN = 3  # more seats alike than this fold into one row


def plan_rows(resources: list[Any]) -> list[tuple[str, str, str, str]]:
    """(action, kind, name, why) per row; a workshop's seats that share kind and action fold
    into one row, so a 20-seat plan stays one screen."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for resource in resources:
        if resource.per_seat:
            groups.setdefault((resource.kind, resource.action), []).append(resource)
    rows: list[tuple[str, str, str, str]] = []
    for resource in resources:
        group = groups.get((resource.kind, resource.action), []) if resource.per_seat else []
        if len(group) > SEAT_ROWS_SHOWN:
            if resource is group[0]:
                first, last = group[0], group[-1]
                why = kind_of(resource.kind).folded_why(first)
                label = f"{len(group)} seats: {first.name} … {last.name}"
                rows.append((resource.action, resource.kind, label, why))
            continue
        label = resource_label(resource.name, resource.id)
        rows.append((resource.action, resource.kind, label, resource.why))
    return rows


def expiry_line(plan: Any) -> Text | None:
    """'Time-to-live 4h: expires 2026-11-21 16:00 UTC (in 4h).' for a plan with a ttl."""
    from amazonei_setup.spec.ttl import expiry_words

    expires_at = getattr(plan, "expires_at", None)
    if not expires_at:
        return None
    words = expiry_words(expires_at, getattr(plan, "expires_in_s", None) or 0)
    return Text(
        f"Time-to-live {plan.profile.ttl}: {words}; "
        f"`amazonei-setup sweep --expired --delete --region {plan.profile.region}` removes it "
        "after that."
    )


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
    """One row per deployment; the second line of a cell carries its detail (80 columns fit)."""
    table = Table(title="Deployments", title_justify="left", box=box.SIMPLE_HEAD)
    columns = ("name · hardware", "region", "instances", "agent", "age · ttl", "cost so far")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        states: dict[str, int] = {}
        for instance in row["instances"]:
            states[instance["state"]] = states.get(instance["state"], 0) + 1
        running = ", ".join(f"{n} {state}" for state, n in states.items()) or "none"
        name = Text(row["name"])
        name.append(f"\n{row['hardware']}", style="dim")
        cost = Text(money(row["cost_so_far_usd"], 2))
        cost.append(f"\n{money(row['price_per_hour_usd'])}/h per seat", style="dim")
        if row["seats"] > 1:
            cost.append(f"\n{money(row['total_per_hour_usd'])}/h in all", style="dim")
        seats = plural(row["seats"], "seat")
        stopped = row.get("status") == "sandbox-stopped"
        instances = "gone with the stopped sandbox" if stopped else f"{running}\nof {seats}"
        if row.get("benchmark"):  # the benchmark's own record: its bucket; candidates apart
            instances = f"its bucket\n{plural(row['seats'], 'candidate')} listed apart"
            cost = Text("—")
        table.add_row(
            name,
            row["region"],
            instances,
            row.get("agent") or "—",
            age_and_time_left(row),
            cost,
        )
    return table


def plural(count: int, noun: str) -> str:
    """'1 seat', '2 seats'."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def count_words(counts: dict[str, int]) -> str:
    """'1 claim, 2 iam roles' from inventory counts (keys are plural: 'iam_roles')."""
    return ", ".join(
        plural(n, key.replace("_", " ").removesuffix("s")) for key, n in counts.items() if n
    )


def age_and_time_left(row: dict[str, Any]) -> Text:
    """'1.0 h' over '3h 12m left' / 'expired 25m ago' / '—' (no ttl)."""
    from amazonei_setup.spec.ttl import left_words

    left = row.get("time_left_s")
    text = Text(f"{row['age_hours']:.1f} h\n")
    style = "dim" if left is None else ("bold red" if left <= 0 else "")
    text.append(left_words(left), style=style)
    return text


def resource_label(name: str, resource_id: str | None) -> str:
    """'name (id)', but just the name when the id adds nothing a person reads (IAM ARNs)."""
    if not resource_id or resource_id == name or resource_id.startswith("arn:"):
        return name
    return f"{name} ({resource_id})"


def sweep_table(rows: list[dict[str, Any]], regions: list[str]) -> Table | Text:
    """Orphans found by their tags; the command that removes them is printed after it."""
    if not rows:
        return Text(f"No orphaned resources in {', '.join(regions)}.")
    table = Table(
        title="Tagged resources with no local record", title_justify="left", box=box.SIMPLE_HEAD
    )
    table.add_column("deployment")
    table.add_column("region")
    table.add_column("resources", overflow="fold")
    for row in rows:
        counts = count_words(row["resources"])
        table.add_row(row["deployment"], row["region"], counts)
    return table


def expired_table(rows: list[dict[str, Any]], regions: list[str]) -> Table | Text:
    """sweep --expired: each deployment past its time-to-live, and how long ago it expired."""
    from amazonei_setup.spec.ttl import parse_time, short_duration

    if not rows:
        return Text(f"No expired deployments in {', '.join(regions)}.")
    table = Table(title="Expired deployments", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("deployment", "region", "expired", "found by", "resources"):
        table.add_column(column, overflow="fold")
    for row in rows:
        moment = parse_time(row["expires_at"])
        when = moment.strftime("%Y-%m-%d %H:%M UTC") if moment else row["expires_at"]
        counts = count_words(row["resources"])
        table.add_row(
            row["deployment"],
            row["region"],
            f"{short_duration(row['time_left_s'])} ago ({when})",
            "record" if row["recorded"] else "tags only",
            counts or "none (only the record)",
        )
    return table


def reports_table(reports: dict[str, Any], price_per_hour: float | None, hardware: str) -> Table:
    """Per seat: did the accelerator check pass, what ran the model, how fast, what it costs."""
    from amazonei_setup.seats.reports import p50_latency_ms, ran_where_priced
    from amazonei_setup.spec.costs import cost_per_100k

    table = Table(
        title=f"Agent reports ({hardware})",
        title_justify="left",
        box=None,
        pad_edge=False,
        collapse_padding=True,  # fits 80 columns with the speed-up shown
    )
    speedups = any(
        isinstance(((r or {}).get("smoke_test") or {}).get("speedup"), int | float)
        for r in reports.values()
    )
    columns = ["instance", "status", "accelerator", "ran on", "p50", "$/100k"]
    if speedups:
        columns.insert(5, "×CPU")
    for column in columns:
        table.add_column(column, no_wrap=True)
    for instance_id, report in reports.items():
        if report is None:
            table.add_row(Text(plain(instance_id)), Text("no report yet", style="yellow"))
            continue
        accelerator = report.get("accelerator") or {}
        smoke = report.get("smoke_test") or {}
        latency = p50_latency_ms(report)
        kind = str(accelerator.get("kind", "?"))
        if accelerator.get("simulated"):
            kind += " (simulated)"
        ok = report.get("status") == "passed"
        cost = ""
        if ran_where_priced(report) and latency is not None and price_per_hour is not None:
            cost = money(cost_per_100k(price_per_hour, latency), 4)
        row: list[Text | str] = [  # what the agent wrote is shown as text, never as markup
            Text(plain(instance_id)),
            Text(plain(report.get("status")), style="green" if ok else "bold red"),
            Text(plain(kind)),
            Text(plain(smoke.get("device") or "?")),
            f"{latency:.3f} ms" if latency is not None else "",
        ]
        if speedups:
            speedup = smoke.get("speedup")
            row.append(f"{speedup:.1f}×" if isinstance(speedup, int | float) else "")
        table.add_row(*row, cost)
    return table


def report_failures(reports: dict[str, Any]) -> list[Text]:
    lines = []
    for instance_id, report in reports.items():
        if report and report.get("status") != "passed":
            lines.append(Text(plain(f"{instance_id}: {report.get('reason')}"), style="red"))
    return lines


def ranking_chart(options: list[Any], limit: int | None = None) -> Group:
    """Cost per 100k inferences per hardware option, with a bar each, cheapest first; each
    latency labelled measured, given or missing (no cost without one); the measured rows always
    shown; the cheapest and the fastest named in words (as the 2019 workshop charted them)."""
    shown = list(options[:limit] if limit else options)
    shown += [o for o in options if o.measured and o not in shown]
    costs = [o.cost_per_100k_usd for o in shown if o.cost_per_100k_usd is not None]
    most = max(costs, default=0) or 1
    # "us-east-1 list price" → "list prices"; a dated source ("eu-west-1 price list, 2026-12-07")
    # as it is; several sources, each once (the JSON says which row has which).
    bases = dict.fromkeys(o.price_basis for o in shown if o.price_basis)
    said = "; ".join(b + "s" if b.endswith("price") else b for b in bases)
    title = "Cost per 100k inferences" + (f" ({said})" if said else "")
    table = Table(title=title, title_justify="left", box=None, pad_edge=False)
    table.add_column("hardware", no_wrap=True)
    table.add_column("$/hour", justify="right", no_wrap=True)
    table.add_column("latency", justify="right", no_wrap=True)
    table.add_column("source", no_wrap=True)
    table.add_column("$/100k", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True, width=BAR_WIDTH)
    for option in shown:
        cost = option.cost_per_100k_usd
        bar = Text("█" * max(1, round(BAR_WIDTH * cost / most)) if cost is not None else "")
        bar.stylize("cyan" if option.measured else "dim")
        table.add_row(
            option.hardware,
            f"{option.price_per_hour_usd:.4f}",
            f"{option.latency_ms:.2f} ms" if option.latency_ms is not None else "—",
            option.latency_source,
            f"{cost:.4f}" if cost is not None else "—",
            bar,
        )
    lines = []
    costed = [o for o in options if o.cost_per_100k_usd is not None]
    if costed:
        cheapest = costed[0]
        lines.append(
            Text(
                f"Cheapest: {cheapest.hardware} at ${cheapest.cost_per_100k_usd:.4f} per 100k "
                f"inferences ({cheapest.latency_source} latency)."
            )
        )
    measured = [o for o in options if o.measured and o.latency_ms is not None]
    if measured:
        fastest = min(measured, key=lambda o: o.latency_ms)
        lines.append(Text(f"Fastest measured: {fastest.hardware} at {fastest.latency_ms:.2f} ms."))
    if any(o.latency_ms is None for o in shown):
        lines.append(
            Text(
                "Rows with a missing latency have no cost: measure them (launch, verify) or give "
                "--latency-ms.",
                "dim",
            )
        )
    return Group(table, *lines)


BAR_WIDTH = 16


def provenance_table(rows: list[tuple[str, str, str]]) -> Table:
    """The wizard's review: each setting, its value, and where it came from
    (default / profile file:line / flag / answer)."""
    table = Table(title="Your choices", title_justify="left", expand=False)
    table.add_column("setting", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_column("from", overflow="fold")
    for setting, value, origin in rows:
        style = "dim" if origin.startswith("default") else ""
        table.add_row(setting, value, Text(origin, style=style))
    return table


def seats_table(row: dict[str, Any]) -> Table:
    """`status NAME`: one line per seat, so a workshop host sees who is running what."""
    table = Table(title=f"Seats of {row['name']}", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("seat", "instance", "AZ", "state", "agent"):
        table.add_column(column, overflow="fold")
    for seat in sorted(row["instances"], key=lambda i: i["seat"]):
        table.add_row(
            str(seat["seat"]),
            seat["id"],
            seat["availability_zone"],
            seat["state"],
            seat.get("agent") or "—",
        )
    return table


def seat_connect_lines(row: dict[str, Any]) -> list[str]:
    """Each seat's connect command on a line of its own: printed unwrapped, to copy whole."""
    return [
        f"  seat {seat['seat']}: {seat['connect']}"
        for seat in sorted(row["instances"], key=lambda i: i["seat"])
        if seat.get("connect")
    ]
