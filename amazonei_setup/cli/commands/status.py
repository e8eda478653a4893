"""`status`: the recorded deployments with live instance states."""

from __future__ import annotations

from rich.text import Text

from amazonei_setup.cli.commands.sandbox import sandbox_command
from amazonei_setup.cli.commands.stackset_manage import show_status
from amazonei_setup.cli.console import JsonDocument
from amazonei_setup.cli.context import (
    Context,
    environment,
    followup,
    recorded,
    sandbox_of,
    wall_clock,
)
from amazonei_setup.cli.render.overview import deployment_row
from amazonei_setup.cli.render.results import deployments_table, seat_connect_lines, seats_table
from amazonei_setup.cli.render.stacks import stack_state_lines
from amazonei_setup.engines.pick import for_record
from amazonei_setup.engines.protocol import StackState
from amazonei_setup.engines.stackset.engine import status_document
from amazonei_setup.errors import EXIT_OK
from amazonei_setup.resources.instance import LaunchedInstance
from amazonei_setup.spec.catalog import load_catalog
from amazonei_setup.state.ledger import Ledger

SANDBOX_STOPPED = "sandbox-stopped"  # the status of a deployment gone with its sandbox


def cmd_status(ctx: Context) -> int:
    """Each recorded deployment asked of the engine that made it (picked from its record):
    a stack set's as StackSets reports its instances, in other accounts (a table per set);
    every other's by its live instances here, with a stack's status and drift when one
    deployment is named; one gone with its stopped sandbox is said to be, not asked."""
    catalog = load_catalog()
    env = environment(ctx)
    picked = [(record, for_record(record, env)) for record in recorded(ctx, ctx.args.name)]
    stack_sets = [
        status_document(record, engine.status(record).stack_instances or [])
        for record, engine in picked
        if engine.name == "stackset"
    ]
    picked = [(record, engine) for record, engine in picked if engine.name != "stackset"]
    if not ctx.args.name:
        for fault in Ledger(ctx.home).damaged():
            ctx.terminal.say(Text(f"! skipped: {fault.message}"), soft_wrap=True)
    now = wall_clock(ctx)()
    detail = bool(ctx.args.name) and not ctx.terminal.json  # a stack's drift, when shown
    rows = []
    stacks: list[StackState | None] = []  # each row's stack, where it has one
    for record, engine in picked:
        sandbox = sandbox_of(ctx, record)
        if sandbox is not None and not sandbox["running"]:
            live: list[LaunchedInstance] = []  # gone with the stopped sandbox: nothing to ask
            stacks.append(None)
        else:
            found = engine.status(record, detail=detail)
            live = found.instances
            stacks.append(found.stack)
        row = deployment_row(record, live, catalog, now)
        if sandbox is not None:
            row["sandbox"] = sandbox
            if not sandbox["running"]:
                row["status"] = SANDBOX_STOPPED
        rows.append(row)
    if ctx.terminal.json:
        ctx.terminal.emit_json(
            {"deployments": rows, **({"stack_sets": stack_sets} if stack_sets else {})}
        )
        return EXIT_OK
    show_status(ctx, stack_sets)
    if rows:
        ctx.terminal.result(deployments_table(rows))
        _stopped_sandbox_lines(ctx, rows)
        if ctx.args.name:
            for row in rows:
                if row.get("status") == SANDBOX_STOPPED:
                    continue  # no seats: they went with the sandbox (said below the table)
                ctx.terminal.result(seats_table(row))
                mark = "  (simulated)" if row.get("sandbox") else ""
                for line in seat_connect_lines(row):
                    ctx.terminal.result(Text(line + mark), soft_wrap=True)
            for stack in stacks:
                if stack is not None:  # a stack's, when one deployment is named
                    for line in stack_state_lines(stack.name, stack):
                        ctx.terminal.result(line, soft_wrap=True)
    elif not stack_sets:
        ctx.terminal.result(Text(f"No deployments recorded in {ctx.home}."), soft_wrap=True)
    return EXIT_OK


def _stopped_sandbox_lines(ctx: Context, rows: list[JsonDocument]) -> None:
    """Say, instead of failing to connect, that a deployment's sandbox is stopped."""
    gone = [row for row in rows if row.get("sandbox") and not row["sandbox"]["running"]]
    if not gone:
        return
    names = ", ".join(f"{row['name']} ({row['region']})" for row in gone)
    clear = "; ".join(
        f"`{followup(ctx, 'teardown', row['name'], region=row['region'], sandbox=True)}`"
        for row in gone
    )
    ctx.terminal.result(
        f"The sandbox is stopped: {names} lived in it and went with it (simulated, nothing "
        f"billed). Start a new, empty one: {sandbox_command(ctx, 'start')}; clear the "
        f"record{'s' if len(gone) > 1 else ''}: {clear}.",
        soft_wrap=True,
    )
