"""`launch --engine stackset` on the terminal: the engine (engines/stackset/) plans the set
(accounts x regions x resources, cost), this shows it and asks, the engine records, creates
the set and its instances, each account and region shown as it goes.
(`status`/`teardown`: stackset_manage.py.)"""

from __future__ import annotations

from pathlib import Path

from amazonei_setup.cli.console import ConsoleReporters
from amazonei_setup.cli.context import Context, approved, environment, profile_from_args
from amazonei_setup.cli.render.stacks import stackset_plan
from amazonei_setup.engines.pick import pick
from amazonei_setup.engines.stackset.handout import write_stackset_handout
from amazonei_setup.engines.stackset.targets import parse_targets
from amazonei_setup.errors import EXIT_AWS, EXIT_OK, InputError
from amazonei_setup.seats.handout import check_handout_target
from amazonei_setup.spec.profile import known_regions
from amazonei_setup.state.ledger import Ledger


def check_flags(ctx: Context) -> None:
    """--accounts/--ou/--regions belong to --engine stackset only."""
    args = ctx.args
    if getattr(args, "engine", "direct") != "stackset" and any(
        getattr(args, flag, None) for flag in ("accounts", "ou", "regions_csv")
    ):
        raise InputError(
            "--accounts, --ou and --regions go with --engine stackset",
            "add --engine stackset, or drop them to launch into this account",
        )


def launch_stackset(ctx: Context) -> int:
    """Targets and profile gathered → the engine's plan shown → confirm → apply → render."""
    args = ctx.args
    if args.handout:
        check_handout_target(Path(args.handout))
    targets = parse_targets(args.accounts, args.ou, args.regions_csv, known_regions())
    engine = pick(
        "stackset",
        environment(ctx),
        ConsoleReporters.on(ctx.terminal),
        targets=targets,
        endpoint_url=ctx.args.endpoint_url,
    )
    profile = profile_from_args(ctx)
    engine.check(profile)
    plan = engine.plan(profile, Ledger(ctx.home).load(profile.region, profile.name))
    if ctx.terminal.json and args.dry_run:
        ctx.terminal.emit_json(plan.to_dict())
        return EXIT_OK
    for shown in stackset_plan(plan):  # with --dry-run the answer; else the question's
        ctx.terminal.plan(shown, dry_run=args.dry_run, asking=not args.yes)
    if args.dry_run:
        ctx.terminal.say("Dry run: nothing was created.")
        return EXIT_OK
    question = f"Create stack set {plan.name} in {len(plan.pairs)} account-region(s)?"
    why = "a stack set launch creates resources in other accounts"
    if not approved(ctx, lambda: engine.discard(plan), question, why):
        ctx.terminal.say("Nothing was created.")
        return EXIT_OK
    with Ledger(ctx.home).edit(
        plan.region, plan.deployment, f"a launch of '{plan.deployment}'"
    ) as edit:
        outcome = engine.apply(plan, edit)
    record, rows = outcome.record, outcome.rows
    if args.handout:
        paths = write_stackset_handout(Path(args.handout), record)
        ctx.terminal.result(f"handout: {paths[0]} and {paths[1]}", soft_wrap=True)
    if ctx.terminal.json:
        ctx.terminal.emit_json(
            {"deployment": plan.deployment, "status": record.status, "stack_instances": rows}
        )
    if outcome.status != "SUCCEEDED":
        failed = [r for r in rows if r["detailed_status"] != "SUCCEEDED"]
        ctx.terminal.fail(
            [
                f"stack set operation {outcome.status}: {len(failed)} of {len(rows)} stack "
                "instance(s) did not deploy (reasons above)",
                f"`amazonei-setup teardown {plan.deployment} --region {plan.region}` "
                "removes it all",
            ]
        )
        return EXIT_AWS
    ctx.terminal.result(f"Deployed {plan.deployment} to {len(rows)} account-region(s).")
    return EXIT_OK
