"""The workshop handout: one row per seat with how to connect, which key file, and what the
agent found, as Markdown (to print or share) and CSV (to mail-merge), from the record alone."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from amazonei_setup.errors import InputError
from amazonei_setup.seats.untrusted import plain, spreadsheet_cell
from amazonei_setup.state.paths import write_private
from amazonei_setup.state.record import DeploymentRecord, RecordedInstance

COLUMNS = ("seat", "instance_id", "availability_zone", "address", "connect", "key_file", "agent")


def handout_paths(target: Path) -> tuple[Path, Path]:
    """`F.md` and `F.csv` side by side, whichever of the two (or neither) F names."""
    stem = target.with_suffix("") if target.suffix.lower() in (".md", ".csv") else target
    return stem.with_name(stem.name + ".md"), stem.with_name(stem.name + ".csv")


def check_handout_target(target: Path) -> None:
    """Fail before anything is launched, not after, when the handout cannot be written."""
    for path in handout_paths(target):
        if not path.parent.is_dir():
            raise InputError(
                f"cannot write the handout {path}: {path.parent} is not a folder",
                "create the folder first, or pass --handout with a path in an existing one",
            )


def _key_file(record: DeploymentRecord, seat: int) -> str:
    own = record.resources.get(f"key_pair:{seat}")
    if own and own.private_key:
        return own.private_key
    shared = record.resources.get("key_pair")
    if shared:
        return f"(your own private key for {shared.name})"
    return "(none: Session Manager)"


def _agent(entry: RecordedInstance, deployment: str, verify: str | None) -> str:
    result = entry.agent
    return (
        str(result) if result else f"pending (`{verify or f'amazonei-setup verify {deployment}'}`)"
    )


def handout_rows(record: DeploymentRecord, verify: str | None = None) -> list[dict[str, str]]:
    """One row per seat, in seat order; `verify` is the command that reads the agents' reports
    as it works pasted (the CLI knows it: the program as invoked, its home and flags)."""
    rows = []
    for entry in sorted(record.instances, key=lambda e: e.seat):
        rows.append(
            {
                "seat": str(entry.seat),
                "instance_id": entry.id,
                "availability_zone": entry.availability_zone,
                "address": entry.public_dns or entry.public_ip or entry.private_ip or "",
                "connect": entry.connect or "",
                "key_file": _key_file(record, entry.seat),
                "agent": _agent(entry, record.name, verify),
            }
        )
    return rows


def render_csv(rows: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS) -> str:
    """CSV with every cell safe to open in a spreadsheet (no formula runs)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows([{k: spreadsheet_cell(v) for k, v in row.items()} for row in rows])
    return buffer.getvalue()


def markdown_cell(text: str) -> str:
    """Untrusted text as one Markdown table cell: no markup, no pipe, no line break."""
    return plain(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(record: DeploymentRecord, rows: list[dict[str, str]]) -> str:
    profile = record.profile
    accelerator = profile.get("accelerator")
    hardware = profile.get("instance_type", "?") + (
        f" + {accelerator}" if accelerator not in (None, "none") else ""
    )
    lines = [
        f"# Workshop handout: {record.name} ({record.region})",
        "",
        f"{len(rows)} seat(s) of {hardware}.",
    ]
    if record.expires_at:
        lines.append(f"The instances are removed after {record.expires_at} (time-to-live).")
    lines += [
        "Each key file belongs to one seat: give every attendee only their own.",
        "",
        "| Seat | Instance | AZ | Connect | Key file | Agent |",
        "|---:|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [
            row["seat"],
            f"`{row['instance_id']}`",
            row["availability_zone"],
            f"`{row['connect']}`",
            f"`{row['key_file']}`" if row["key_file"].startswith("/") else row["key_file"],
            row["agent"],
        ]
        lines.append("| " + " | ".join(markdown_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def write_handout(
    target: Path, record: DeploymentRecord, verify: str | None = None
) -> tuple[Path, Path]:
    """Write both files (0600: they say where every seat's private key is)."""
    markdown_path, csv_path = handout_paths(target)
    rows = handout_rows(record, verify)
    write_private(markdown_path, render_markdown(record, rows))
    write_private(csv_path, render_csv(rows))
    return markdown_path, csv_path
