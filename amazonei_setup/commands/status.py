"""`status`: the recorded deployments with live instance states."""

from __future__ import annotations

from amazonei_setup.commands.context import Context, clients_for, recorded, wall_clock
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
            ctx.terminal.err.print(f"! skipped: {fault.message}", soft_wrap=True, markup=False)
    now = wall_clock(ctx)()
    rows = [
        deployment_row(
            record,
            instance_res.find(clients_for(ctx, record.region), record.name),
            catalog,
            now,
        )
        for record in records
    ]
    if ctx.terminal.json:
        ctx.terminal.emit_json(
            {"deployments": rows, **({"stack_sets": stack_sets} if stack_sets else {})}
        )
        return EXIT_OK
    stackset_manage.show_status(ctx, stack_sets)
    if rows:
        ctx.terminal.say(deployments_table(rows))
        if ctx.args.name:
            from amazonei_setup.render import seat_connect_lines, seats_table

            for row in rows:
                ctx.terminal.say(seats_table(row))
                for line in seat_connect_lines(row):
                    ctx.terminal.err.print(line, soft_wrap=True)
            for record in records:
                if record.stack is not None:
                    from amazonei_setup.commands.stack_engine import stack_status

                    stack_status(ctx, record)
    elif not stack_sets:
        ctx.terminal.say(f"No deployments recorded in {ctx.home}.")
    return EXIT_OK
