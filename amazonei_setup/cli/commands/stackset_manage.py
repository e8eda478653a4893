"""`status` and `teardown` of stack set deployments: a row per account and region, and
removal in the order AWS requires (the stack instances, waited for, then the set)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from amazonei_setup.cli.context import Context, clients_for_record, confirm
from amazonei_setup.engines.stackset import operations as ops
from amazonei_setup.errors import EXIT_AWS, EXIT_OK
from amazonei_setup.state.record import DeploymentRecord


def is_stackset(record: DeploymentRecord) -> bool:
    return record.engine == "stackset" and record.stack_set is not None


def _cfn(ctx: Context, record: DeploymentRecord) -> Any:
    return clients_for_record(ctx, record).client("cloudformation")


def live_rows(ctx: Context, record: DeploymentRecord) -> list[dict[str, str]]:
    """The stack instances as StackSets reports them now."""
    assert record.stack_set is not None
    return [r.to_dict() for r in ops.instances(_cfn(ctx, record), record.stack_set.name)]


def status_documents(ctx: Context, records: list[DeploymentRecord]) -> list[dict[str, Any]]:
    return [
        {
            "deployment": record.name,
            "region": record.region,
            "engine": "stackset",
            "stack_set": record.stack_set.name if record.stack_set else None,
            "status": record.status,
            "stack_instances": live_rows(ctx, record),
        }
        for record in records
    ]


def show_status(
    ctx: Context, documents: list[dict[str, Any]], show: Callable[..., None] | None = None
) -> None:
    """A table per stack set: the answer of `status` (stdout) unless `show` says otherwise."""
    from rich.table import Table

    for document in documents:
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
        (show or ctx.terminal.result)(table)


def teardown(
    ctx: Context, records: list[DeploymentRecord], emit: bool = True
) -> tuple[int, dict[str, Any]]:
    """Show, (dry-run | confirm), delete instances, wait, delete the set, drop the record.
    The exit code, and the JSON part (emitted here when `emit`, else joined to the caller's
    document: `--output json` prints one document)."""
    code, part = _teardown(ctx, records)
    if emit and ctx.terminal.json:
        ctx.terminal.emit_json(part)
    return code, part


def _teardown(ctx: Context, records: list[DeploymentRecord]) -> tuple[int, dict[str, Any]]:
    documents = status_documents(ctx, records)
    if ctx.terminal.json and ctx.args.dry_run:
        return EXIT_OK, {"dry_run": True, "stack_sets": documents}
    if not ctx.terminal.json:

        def show(*renderables: Any) -> None:  # with --dry-run the answer; else the question's
            ctx.terminal.plan(*renderables, dry_run=ctx.args.dry_run, asking=not ctx.args.yes)

        show_status(ctx, documents, show)
        for document in documents:
            show(
                f"would delete {len(document['stack_instances'])} stack instance(s) "
                f"(RetainStacks=False), then stack set {document['stack_set']}"
            )
    if ctx.args.dry_run:
        ctx.terminal.say("Dry run: nothing was changed.")
        return EXIT_OK, {"dry_run": True, "stack_sets": documents}
    count = sum(len(d["stack_instances"]) for d in documents)
    if not confirm(
        ctx,
        f"Delete {count} stack instance(s) and {len(records)} stack set(s)?",
        "teardown deletes resources in other accounts",
        "pass --yes to confirm when not on a terminal (or --dry-run to only look)",
    ):
        ctx.terminal.say("Nothing was changed.")
        return EXIT_OK, {"dry_run": False, "stack_sets": []}
    summaries = []
    for record, document in zip(records, documents, strict=True):
        left = _remove(ctx, record, document["stack_instances"])
        summaries.append({**document, "stack_instances_left": left})
        if left:
            ctx.terminal.fail(
                [
                    f"{len(left)} stack instance(s) of {document['stack_set']} are still there "
                    "(reasons above); the stack set was kept",
                    f"run `amazonei-setup teardown {record.name} --region {record.region}` again",
                ]
            )
            return EXIT_AWS, {"dry_run": False, "stack_sets": summaries}
        ctx.terminal.result(f"Removed {record.name}: stack set {document['stack_set']} deleted.")
    return EXIT_OK, {"dry_run": False, "stack_sets": summaries}


def _remove(ctx: Context, record: DeploymentRecord, rows: list[dict[str, str]]) -> list[Any]:
    """Delete the instances (waited for), then the set; what is left ([] when all went)."""
    from amazonei_setup.cli.commands.stackset import follow
    from amazonei_setup.state.ledger import Ledger

    assert record.stack_set is not None
    cfn = _cfn(ctx, record)
    name = record.stack_set.name
    with Ledger(ctx.home).edit(
        record.region, record.name, f"a teardown of '{record.name}'"
    ) as edit:
        if edit.record is not None:
            edit.record.status = "tearing-down"
            edit.save()
        if rows:
            regions = sorted({*record.stack_set.regions, *(r["region"] for r in rows)})
            operation = ops.delete_instances(
                cfn, name, record.stack_set.deployment_targets, regions
            )
            follow(ctx, cfn, name, operation)
        left = ops.instances(cfn, name)
        if left:
            return [r.to_dict() for r in left]
        ops.delete_stack_set(cfn, name)
        edit.remove()
    return []
