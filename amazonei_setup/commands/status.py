"""`status`: the recorded deployments with live instance states."""

from __future__ import annotations

from datetime import datetime, timezone

from amazonei_setup.commands.context import Context, clients_for, recorded
from amazonei_setup.errors import EXIT_OK


def cmd_status(ctx: Context) -> int:
    from amazonei_setup.catalog import load_catalog
    from amazonei_setup.overview import deployment_row
    from amazonei_setup.render import deployments_table
    from amazonei_setup.resources import instance as instance_res

    catalog = load_catalog()
    records = recorded(ctx, ctx.args.name)
    now = datetime.now(timezone.utc)
    rows = [
        deployment_row(
            record,
            instance_res.find(clients_for(ctx, record["region"]), record["name"]),
            catalog,
            now,
        )
        for record in records
    ]
    if ctx.terminal.json:
        ctx.terminal.emit_json({"deployments": rows})
    elif rows:
        ctx.terminal.say(deployments_table(rows))
    else:
        ctx.terminal.say(f"No deployments recorded in {ctx.home}.")
    return EXIT_OK
