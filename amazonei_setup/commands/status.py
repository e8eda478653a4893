"""`status`: the recorded deployments with live instance states."""

from __future__ import annotations

from datetime import datetime, timezone

from amazonei_setup.commands.context import Context, clients_for
from amazonei_setup.errors import EXIT_OK, InputError


def cmd_status(ctx: Context) -> int:
    from amazonei_setup.catalog import load_catalog
    from amazonei_setup.ledger import Ledger
    from amazonei_setup.overview import deployment_row
    from amazonei_setup.render import deployments_table
    from amazonei_setup.resources import instance as instance_res

    catalog = load_catalog()
    records = Ledger(ctx.home).all()
    if ctx.args.region:
        records = [r for r in records if r["region"] == ctx.args.region]
    if ctx.args.name:
        records = [r for r in records if r["name"] == ctx.args.name]
        if not records:
            raise InputError(
                f"no deployment named '{ctx.args.name}' is recorded in {ctx.home}",
                "`amazonei-setup status` lists them",
            )
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
