"""The handout of a stack set deployment: one row per account and region (each attendee's
account, or each region of a team's), with how to reach that stack's outputs and keys."""

from __future__ import annotations

from pathlib import Path

from amazonei_setup.seats.handout import handout_paths, markdown_cell
from amazonei_setup.seats.handout import render_csv as handout_csv
from amazonei_setup.state.paths import write_private
from amazonei_setup.state.record import DeploymentRecord

COLUMNS = ("account", "region", "status", "status_reason", "stack_id", "outputs", "keys")


def handout_rows(record: DeploymentRecord) -> list[dict[str, str]]:
    """One row per stack instance, by account then region, from the record alone."""
    rows = []
    stack_set = record.stack_set
    for entry in stack_set.instances if stack_set else []:
        stack = entry.get("stack_id", "")
        region = entry["region"]
        rows.append(
            {
                "account": entry["account"],
                "region": region,
                "status": entry.get("detailed_status") or entry.get("status", ""),
                "status_reason": entry.get("status_reason", ""),
                "stack_id": stack,
                "outputs": (
                    f"aws cloudformation describe-stacks --region {region} --stack-name {stack} "
                    "--query Stacks[0].Outputs"
                    if stack
                    else ""
                ),
                "keys": "in that account: the stack's SeatNPrivateKeyCommand output "
                "(SSM /ec2/keypair/<key-pair-id>)"
                if record.profile.get("access", {}).get("mode", "ssh") == "ssh"
                else "(none: Session Manager)",
            }
        )
    return rows


def render_csv(rows: list[dict[str, str]]) -> str:
    return handout_csv(rows, COLUMNS)


def render_markdown(record: DeploymentRecord, rows: list[dict[str, str]]) -> str:
    name = record.stack_set.name if record.stack_set else record.name
    lines = [
        f"# Workshop handout: {record.name} (stack set {name}, from {record.region})",
        "",
        f"{len(rows)} account-region(s), each with "
        f"{record.profile.get('seats', 1)} x {record.profile.get('instance_type', '?')}.",
        "Each row belongs to one account: give every attendee only their own.",
        "",
        "| Account | Region | Status | Outputs (run in that account) | Keys |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        status = row["status"] + (f" ({row['status_reason']})" if row["status_reason"] else "")
        cells = [row["account"], row["region"], status, f"`{row['outputs']}`", row["keys"]]
        lines.append("| " + " | ".join(markdown_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def write_stackset_handout(target: Path, record: DeploymentRecord) -> tuple[Path, Path]:
    markdown_path, csv_path = handout_paths(target)
    rows = handout_rows(record)
    write_private(markdown_path, render_markdown(record, rows))
    write_private(csv_path, render_csv(rows))
    return markdown_path, csv_path
