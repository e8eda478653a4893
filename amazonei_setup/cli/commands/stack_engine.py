"""`launch --engine cloudformation`, and `teardown` of such a deployment, on the terminal:
the engine (engines/cloudformation/, picked by the command) plans a change set, this shows
it and asks, the engine executes it (its events shown) and mirrors the stack into the
record."""

from __future__ import annotations

from amazonei_setup.cli.commands.verify import (
    REPORT_WAIT_S,
    outcome_of,
    record_agents,
    wait_and_show,
)
from amazonei_setup.cli.context import Context, approved
from amazonei_setup.cli.render.stacks import (
    change_table,
    stack_teardown_table,
)
from amazonei_setup.engines.cloudformation.engine import StackEngine, StackTeardown
from amazonei_setup.errors import EXIT_OK
from amazonei_setup.seats.reports import Reports
from amazonei_setup.spec.profile import Profile
from amazonei_setup.state.ledger import Edit


def launch_stack(ctx: Context, engine: StackEngine, profile: Profile, edit: Edit) -> int:
    """Plan (the change set, shown) → confirm → apply (events) → the agents' reports."""
    plan = engine.plan(profile, edit.record)
    # what the question is about (stderr, with the prompt)
    ctx.terminal.shown_for(change_table(plan), asking=not ctx.args.yes)
    if not plan.changes:
        ctx.terminal.result(f"Stack {plan.name} is up to date: nothing to change.")
        return EXIT_OK
    why = "launch creates resources that bill by the hour"
    if not approved(ctx, lambda: engine.discard(plan), "Apply these changes?", why):
        ctx.terminal.say("Nothing was created.")
        return EXIT_OK
    outcome = engine.apply(plan, edit)
    record, result = outcome.record, outcome.result
    assert record.stack is not None
    for seat in record.instances:
        ctx.terminal.result(f"seat {seat.seat}: {seat.connect}", soft_wrap=True)
    ctx.terminal.result(
        f"Stack {plan.name} is {result.status}. `amazonei-setup verify {profile.name}` reads the "
        f"agents' reports; `amazonei-setup teardown {profile.name}` deletes the stack."
    )
    reports: Reports = {}
    try:
        if profile.agent.enabled and not ctx.args.no_wait:
            ids = [seat.id for seat in record.instances]
            reports = wait_and_show(ctx, plan.clients, record, ids, wait_s=REPORT_WAIT_S)
            record_agents(record, reports)
            edit.save()
            return outcome_of(reports, profile.name)  # as a direct launch: 3 when a check failed
        return EXIT_OK
    finally:
        if ctx.terminal.json:  # the launch's document, as a direct launch prints one
            ctx.terminal.emit_json(
                {
                    "deployment": profile.name,
                    "region": profile.region,
                    "engine": "cloudformation",
                    "stack": record.stack.model_dump(),
                    "outputs": result.outputs,
                    "instances": [
                        {**seat.model_dump(), "report": reports.get(seat.id)}
                        for seat in record.instances
                    ],
                }
            )


def teardown_stack(ctx: Context, engine: StackEngine, plan: StackTeardown) -> int:
    """The engine's teardown plan shown: --dry-run lists the stack and its resources; else,
    once confirmed, the engine deletes it, then its key files and the record."""
    table = stack_teardown_table(plan)
    if ctx.args.dry_run:  # the answer; else what the question is about
        ctx.terminal.result(table)
        ctx.terminal.say("Dry run: nothing was changed.")
        return EXIT_OK
    ctx.terminal.shown_for(table, asking=not ctx.args.yes)
    question = f"Delete stack {plan.stack.name} and its {len(plan.items)} resource(s)?"
    if not approved(ctx, lambda: None, question, "teardown deletes resources"):
        ctx.terminal.say("Nothing was changed.")
        return EXIT_OK
    engine.teardown(plan)
    ctx.terminal.result(f"Stack {plan.stack.name} deleted; its key files and record removed.")
    return EXIT_OK
