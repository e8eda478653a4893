"""`status`: the recorded deployments with live instance states."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from rich.text import Text

from amazonei_setup.commands.context import (
    Context,
    clients_for,
    recorded,
    sandbox_sessions,
    wall_clock,
)
from amazonei_setup.errors import EXIT_OK


def cmd_status(ctx: Context) -> int:
    from amazonei_setup.catalog import load_catalog
    from amazonei_setup.commands import stackset_manage
    from amazonei_setup.ledger import Ledger
    from amazonei_setup.overview import deployment_row
    from amazonei_setup.render import deployments_table
    from amazonei_setup.resources import instance as instance_res

    catalog = load_catalog()
    records = recorded(ctx, ctx.args.name)
    stack_sets = stackset_manage.status_documents(
        ctx, [r for r in records if stackset_manage.is_stackset(r)]
    )
    records = [r for r in records if not stackset_manage.is_stackset(r)]
    if not ctx.args.name:
        for fault in Ledger(ctx.home).damaged():
            ctx.terminal.say(Text(f"! skipped: {fault.message}"), soft_wrap=True)
    now = wall_clock(ctx)()
    rows = []
    for record in records:
        sandbox = _sandbox_of(ctx, record)
        if sandbox is not None and not sandbox["running"]:
            live: list[Any] = []  # gone with the stopped sandbox: nothing to ask
        else:
            clients = _sandbox_clients(ctx, record) if sandbox else clients_for(ctx, record.region)
            with ctx.terminal.status(f"looking at {record.name} in {record.region} …"):
                live = instance_res.find(clients, record.name)
        row = deployment_row(record, live, catalog, now)
        if sandbox is not None:
            row["sandbox"] = sandbox
        rows.append(row)
    if ctx.terminal.json:
        ctx.terminal.emit_json(
            {"deployments": rows, **({"stack_sets": stack_sets} if stack_sets else {})}
        )
        return EXIT_OK
    stackset_manage.show_status(ctx, stack_sets)
    if rows:
        ctx.terminal.result(deployments_table(rows))
        _stopped_sandbox_lines(ctx, rows)
        if ctx.args.name:
            from amazonei_setup.render import seat_connect_lines, seats_table

            for row in rows:
                ctx.terminal.result(seats_table(row))
                mark = "  (simulated)" if row.get("sandbox") else ""
                for line in seat_connect_lines(row):
                    ctx.terminal.result(Text(line + mark), soft_wrap=True)
            for record in records:
                if record.stack is not None:
                    from amazonei_setup.commands.stack_engine import stack_status

                    stack_status(ctx, record)
    elif not stack_sets:
        ctx.terminal.result(Text(f"No deployments recorded in {ctx.home}."), soft_wrap=True)
    return EXIT_OK


def _sandbox_of(ctx: Context, record: Any) -> dict[str, Any] | None:
    """For a deployment made in the sandbox (its endpoint is on 127.0.0.1): whether this home's
    sandbox still runs there. None for a deployment in AWS."""
    from amazonei_setup.sandbox import control

    endpoint = record.endpoint_url
    if not endpoint or urlsplit(endpoint).hostname != control.LOOPBACK_HOST:
        return None
    info = control.status(ctx.home)
    running = info is not None and info.running and info.endpoint == endpoint
    return {"endpoint": endpoint, "running": running, "simulated": True}


def _sandbox_clients(ctx: Context, record: Any) -> Any:
    """Clients for the sandbox the deployment lives in, with or without --sandbox."""
    if ctx.args.sandbox:
        return clients_for(ctx, record.region)
    from amazonei_setup.aws import AwsClients, AwsTarget

    target = AwsTarget(region=record.region, endpoint_url=record.endpoint_url)
    return AwsClients(target, ctx.hooks.session_factory or sandbox_sessions(ctx))


def _stopped_sandbox_lines(ctx: Context, rows: list[dict[str, Any]]) -> None:
    """Say, instead of failing to connect, that a deployment's sandbox is stopped."""
    from amazonei_setup.commands.sandbox import sandbox_command, sandbox_teardown_command

    gone = [row for row in rows if row.get("sandbox") and not row["sandbox"]["running"]]
    if not gone:
        return
    names = ", ".join(f"{row['name']} ({row['region']})" for row in gone)
    ctx.terminal.result(
        f"The sandbox is stopped: {names} lived in it and went with it (simulated, nothing "
        f"billed). Start a new, empty one: {sandbox_command(ctx, 'start')}; then "
        f"`{sandbox_teardown_command(ctx)}` clears a record.",
        soft_wrap=True,
    )
