"""`launch` and `plan`: profile → discover → plan → (confirm) → apply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from amazonei_setup.commands.context import (
    Context,
    confirm,
    discover_and_plan,
    profile_from_args,
    teardown_hint,
)
from amazonei_setup.commands.verify import REPORT_WAIT_S, outcome_of, wait_and_show
from amazonei_setup.console import RichReporter
from amazonei_setup.errors import EXIT_INTERRUPTED, EXIT_OK, InputError, SetupError
from amazonei_setup.ledger import Ledger


def cmd_plan(ctx: Context) -> int:
    from amazonei_setup.render import plan_table

    profile = profile_from_args(ctx)
    _, plan = discover_and_plan(ctx, profile)
    if ctx.terminal.json:
        ctx.terminal.emit_json(plan.to_dict())
    else:
        ctx.terminal.say(plan_table(plan))
    return EXIT_OK


def cmd_launch(ctx: Context) -> int:
    from amazonei_setup.apply import Runtime, apply_plan
    from amazonei_setup.render import command_lines, outcome_panel, plan_table

    args = ctx.args
    profile = profile_from_args(ctx)
    if args.save_profile:
        save_profile(profile, Path(args.save_profile), force=bool(args.force))
    clients, plan = discover_and_plan(ctx, profile)
    if args.dry_run:
        if ctx.terminal.json:
            ctx.terminal.emit_json(plan.to_dict())
        else:
            ctx.terminal.say(plan_table(plan))
            ctx.terminal.say("Dry run: nothing was created.")
        return EXIT_OK
    ctx.terminal.say(plan_table(plan))
    if plan.changes and not confirm(
        ctx,
        "Create these resources?",
        "launch creates resources that bill by the hour",
        "pass --yes to confirm when not on a terminal (or --dry-run to only look)",
    ):
        ctx.terminal.say("Nothing was created.")
        return EXIT_OK
    reporter = RichReporter(ctx.terminal)
    runtime = Runtime(clients=clients, home=ctx.home, reporter=reporter)
    if ctx.args.sandbox:
        from amazonei_setup.userdata import sandbox_signing_key

        runtime.user_data_key = sandbox_signing_key(ctx.home)
    if ctx.hooks.sleep is not None:
        runtime.sleep = ctx.hooks.sleep
    try:
        outcome = apply_plan(plan, runtime)
    except KeyboardInterrupt:
        reporter.close()
        ctx.terminal.fail(
            [
                "interrupted; the deployment record is up to date",
                f"resume: run the same command again; remove: {teardown_hint(ctx, profile)}",
            ]
        )
        return EXIT_INTERRUPTED
    except SetupError as exc:
        reporter.close()
        exc.hint = (exc.hint + "; " if exc.hint else "") + (
            f"what was created is recorded: run the same command to resume, "
            f"or `{teardown_hint(ctx, profile)}` to remove it"
        )
        raise
    finally:
        reporter.close()
    if not ctx.terminal.json:
        ctx.terminal.say(outcome_panel(profile, outcome, plan.cost))
        for line in command_lines(outcome, teardown_hint(ctx, profile)):
            ctx.terminal.err.print(line, soft_wrap=True)
    reports: dict[str, Any] = {}
    code = EXIT_OK
    if profile.agent.enabled and not args.no_wait:
        record = Ledger(ctx.home).load(profile.region, profile.name)
        ids = [instance["id"] for instance in outcome.instances]
        reports = wait_and_show(ctx, clients, record, ids, wait_s=REPORT_WAIT_S)
        try:
            code = outcome_of(reports, profile.name)
        except SetupError as exc:
            if not ctx.terminal.json:
                raise
            ctx.terminal.fail(exc.lines())  # stderr; the JSON document still follows
            code = exc.exit_code
    if ctx.terminal.json:
        ctx.terminal.emit_json(
            {
                "deployment": profile.name,
                "region": profile.region,
                "status": "ready",
                "resources": outcome.resources,
                "instances": [
                    {**instance, "report": reports.get(instance["id"])}
                    for instance in outcome.instances
                ],
                "cost": plan.cost.to_dict(),
                "record": str(outcome.record_path),
            }
        )
    return code


def save_profile(profile: Any, path: Path, force: bool) -> None:
    import yaml

    from amazonei_setup.paths import write_private

    if path.exists() and not force:
        raise InputError(f"{path} exists", "pass --force to overwrite it, or choose another file")
    write_private(path, yaml.safe_dump(profile.to_document(), sort_keys=False))
