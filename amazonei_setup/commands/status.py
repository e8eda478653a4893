"""`status`: the recorded deployments with live instance states."""

from __future__ import annotations

from rich.text import Text

from amazonei_setup.commands.context import Context, clients_for, recorded, wall_clock
from amazonei_setup.errors import EXIT_OK


def cmd_status(ctx: Context) -> int:
    from amazonei_setup.catalog import load_catalog
    from amazonei_setup.ledger import Ledger
    from amazonei_setup.overview import deployment_row
    from amazonei_setup.render import deployments_table
    from amazonei_setup.resources import instance as instance_res

    catalog = load_catalog()
    records = recorded(ctx, ctx.args.name)
    if not ctx.args.name:
        for fault in Ledger(ctx.home).damaged():
            ctx.terminal.say(Text(f"! skipped: {fault.message}"), soft_wrap=True)
    now = wall_clock(ctx)()
    rows = []
    for record in records:
        with ctx.terminal.status(f"looking at {record.name} in {record.region} …"):
            found = instance_res.find(clients_for(ctx, record.region), record.name)
        rows.append(deployment_row(record, found, catalog, now))
    if ctx.terminal.json:
        ctx.terminal.emit_json({"deployments": rows})
    elif rows:
        ctx.terminal.result(deployments_table(rows))
        if ctx.args.name:
            from amazonei_setup.render import seat_connect_lines, seats_table

            for row in rows:
                ctx.terminal.result(seats_table(row))
                for line in seat_connect_lines(row):
                    ctx.terminal.result(Text(line), soft_wrap=True)
    else:
        ctx.terminal.result(Text(f"No deployments recorded in {ctx.home}."), soft_wrap=True)
    return EXIT_OK
