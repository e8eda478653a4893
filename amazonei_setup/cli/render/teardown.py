"""What `teardown` shows: the table of what will go (and what stays, and why) before anything
does, and the summary after. Building them prints nothing."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from amazonei_setup.cli.render.results import resource_label

VERB_STYLE = {"terminate": "red", "delete": "red", "leave": "yellow", "keep": "dim"}


def teardown_table(plan: Any) -> Group:
    """eksctl-style: everything that will go (and what stays, and why) before anything does."""
    table = Table(
        title=f"Teardown of '{plan.name}' in {plan.region}",
        title_justify="left",
        expand=False,
        box=box.SIMPLE_HEAD,
    )
    table.add_column("action", no_wrap=True)
    table.add_column("resource", no_wrap=True)
    table.add_column("name / id", overflow="fold")
    notes = any(action.reason for action in plan.actions)
    if notes:
        table.add_column("note", overflow="fold")
    for action in plan.actions:
        row = [
            Text(action.verb, style=VERB_STYLE[action.verb]),
            action.kind,
            resource_label(action.name, action.id),
        ]
        table.add_row(*row, action.reason) if notes else table.add_row(*row)
    extra = []
    for key_file in plan.key_files:
        extra.append(Text(f"The private key {key_file} is deleted too."))
    if plan.record_exists:
        extra.append(Text("The local record is removed last."))
    else:
        extra.append(Text("No local record: found by its tags alone.", style="yellow"))
    shown: RenderableType = table
    if not plan.actions:  # only the record is left: a line says so, not an empty table
        shown = Text(f"Nothing of '{plan.name}' is left in {plan.region} to remove.")
    return Group(shown, *extra)


def teardown_summary(summaries: list[dict[str, Any]]) -> Group:
    lines: list[Text] = []
    for summary in summaries:
        done = summary["done"]
        kept = summary["kept"]
        lines.append(
            Text(
                f"'{summary['deployment']}' in {summary['region']}: "
                f"{len(done)} removed or released, {len(kept)} kept.",
                style="bold",
            )
        )
        for action in done:
            if action["verb"] == "leave":
                lines.append(Text(f"  left {action['kind']} {action['id']}: {action['reason']}"))
        for action in kept:
            lines.append(Text(f"  kept {action['kind']} {action['name']}: {action['reason']}"))
    return Group(*lines)
