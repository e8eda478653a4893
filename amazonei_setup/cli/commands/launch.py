"""`launch` and `plan`: profile → discover → plan → (confirm) → apply."""

from __future__ import annotations

from pathlib import Path

import yaml
from rich.console import RenderableType
from rich.text import Text

from amazonei_setup.aws.clients import AwsClients
from amazonei_setup.cli.commands.sandbox import sandbox_command
from amazonei_setup.cli.commands.stack_engine import launch_stack
from amazonei_setup.cli.commands.stackset import check_flags, launch_stackset
from amazonei_setup.cli.commands.verify import (
    REPORT_WAIT_S,
    outcome_of,
    record_agents,
    wait_and_show,
    write_handout_note,
)
from amazonei_setup.cli.console import ConsoleReporters, RichReporter
from amazonei_setup.cli.context import (
    Context,
    clients_for,
    confirm,
    environment,
    followup,
    pasteable,
    profile_from_args,
    profile_inputs,
    sandbox_run,
    teardown_hint,
    verify_hint,
    wizard_applies,
    wizard_context,
)
from amazonei_setup.cli.render.results import (
    command_lines,
    outcome_panel,
    plan_table,
    provenance_table,
)
from amazonei_setup.cli.wizard import Quit, WizardResult, run_wizard
from amazonei_setup.cli.wizard.keys import import_public_key
from amazonei_setup.cli.wizard.prompts import Back
from amazonei_setup.engines.direct.apply import Outcome
from amazonei_setup.engines.direct.engine import DirectEngine
from amazonei_setup.engines.pick import engine_name, pick
from amazonei_setup.engines.plan import Plan
from amazonei_setup.engines.protocol import EngineName
from amazonei_setup.errors import EXIT_INTERRUPTED, EXIT_OK, InputError, SetupError
from amazonei_setup.resources.naming import deployment_tags
from amazonei_setup.seats.handout import check_handout_target
from amazonei_setup.seats.reports import Reports
from amazonei_setup.spec.profile import Profile
from amazonei_setup.state.ledger import Edit, Ledger
from amazonei_setup.state.paths import write_private


def cmd_plan(ctx: Context) -> int:
    profile = profile_from_args(ctx)
    record = Ledger(ctx.home).load(profile.region, profile.name)
    plan = pick("direct", environment(ctx)).plan(profile, record)
    if ctx.terminal.json:
        ctx.terminal.emit_json(plan.to_dict())
    else:
        ctx.terminal.result(plan_table(plan, lambda text: pasteable(ctx, text)))
    return EXIT_OK


def cmd_launch(ctx: Context) -> int:
    """Profile (flags, file, or the wizard) → plan → review → apply → the agents' reports."""
    check_flags(ctx)
    engine = engine_name(ctx.args.engine)  # picked once: the rest follows it
    if engine == "stackset":
        return launch_stackset(ctx)
    gathered = _gather_profile(ctx)
    if isinstance(gathered, int):
        return gathered
    profile, wizard, save_to = gathered
    if ctx.args.handout:
        check_handout_target(Path(ctx.args.handout))
    while True:
        try:
            return _locked_launch(ctx, engine, profile, wizard, save_to)
        except Back:  # `<` at the review: nothing was created; the last question again
            assert wizard is not None and wizard.back is not None  # only its questions go back
            try:
                wizard = wizard.back()
            except Quit:
                return quit_wizard(ctx)
            profile = wizard.profile


def _locked_launch(
    ctx: Context,
    engine: EngineName,
    profile: Profile,
    wizard: WizardResult | None,
    save_to: Path | None,
) -> int:
    """The launch under the deployment's lock (a dry run takes none: it changes nothing;
    its plan is the direct engine's for a stack too: what the template will hold)."""
    if ctx.args.dry_run:
        return _launch(ctx, profile, wizard, save_to, None)
    ledger = Ledger(ctx.home)
    with ledger.edit(profile.region, profile.name, f"a launch of '{profile.name}'") as edit:
        if engine == "cloudformation":
            return _launch_stack(ctx, profile, wizard, save_to, edit)
        return _launch(ctx, profile, wizard, save_to, edit)


def _gather_profile(ctx: Context) -> tuple[Profile, WizardResult | None, Path | None] | int:
    """The profile from flags and file, or from the wizard when choices are missing on a
    terminal; an exit code when the person quit the wizard."""
    args = ctx.args
    inputs = profile_inputs(ctx)
    save_to = Path(args.save_profile) if args.save_profile else None
    if not wizard_applies(ctx, inputs):
        profile = profile_from_args(ctx, inputs)
        if save_to is not None:
            save_profile(profile, save_to, force=bool(args.force))
            saved_note(ctx, save_to, None)
        return profile, None, save_to
    if save_to is not None:
        check_save_target(save_to, force=bool(args.force))  # before the questions, not after
    try:
        wizard = run_wizard(wizard_context(ctx), inputs)
    except Quit:
        return quit_wizard(ctx)
    return wizard.profile, wizard, save_to


def _show_plan(ctx: Context, plan: Plan, wizard: WizardResult | None) -> None:
    """With --dry-run the plan is the answer (stdout); before creating, it is what the
    question "Create these resources?" is about (stderr, with the prompt), and so is the
    wizard's review, a dry run's too: it is part of the conversation."""
    shown: list[RenderableType] = [plan_table(plan, lambda text: pasteable(ctx, text))]
    if wizard is not None:
        shown.append(provenance_table(wizard.rows(plan)))
    for renderable in shown:
        if ctx.args.dry_run and wizard is None:
            ctx.terminal.result(renderable)
        else:
            asking = wizard is not None or (bool(plan.changes) and not ctx.args.yes)
            ctx.terminal.shown_for(renderable, asking=asking)


def _replacements_allowed(ctx: Context, plan: Plan, wizard: WizardResult | None) -> bool:
    """A running instance that cannot take a change in place is replaced only when the person
    says so: --replace, or the wizard's question naming it. Off a terminal without the flag,
    exit 2 and nothing changes (the record keeps describing what runs)."""
    replaced = [r for r in plan.resources if r.kind == "ec2-instance" and r.action == "replace"]
    if not replaced or getattr(ctx.args, "replace", False):
        return True
    what = "; ".join(f"{r.name} ({r.id}): {r.why}" for r in replaced)
    question = f"Replace {len(replaced)} running instance(s)? {what}. Their disks are deleted"
    if wizard is not None:
        try:
            if wizard.confirm(question + ". Replace them?"):
                return True
        except Quit:
            return False
    raise InputError(
        f"this launch would replace {len(replaced)} running instance(s), which cannot take the "
        f"change in place: {what}",
        "pass --replace to terminate and relaunch them (their disks are deleted), or launch "
        "with the settings they have; nothing was changed",
    )


def _launch_stack(
    ctx: Context, profile: Profile, wizard: WizardResult | None, save_to: Path | None, edit: Edit
) -> int:
    """The CloudFormation engine, with the same --save-profile and --handout as a direct one."""
    engine = pick("cloudformation", environment(ctx), ConsoleReporters.on(ctx.terminal))
    engine.check(profile)  # before the profile is saved: a ttl is refused
    if wizard is not None and save_to is not None:
        save_profile(profile, save_to, force=True)  # checked before the questions
    try:
        return launch_stack(ctx, engine, profile, edit)
    finally:
        if ctx.args.handout and edit.record is not None and edit.record.instances:
            write_handout_note(ctx, Path(ctx.args.handout), edit.record)


def _approved(ctx: Context, wizard: WizardResult | None) -> bool | None:
    """True to go ahead, False for no; None when the person quit the wizard."""
    if wizard is None:
        return confirm(
            ctx,
            "Create these resources?",
            "launch creates resources that bill by the hour",
            "pass --yes to confirm when not on a terminal (or --dry-run to only look)",
        )
    try:
        return bool(wizard.confirm("Create these resources?"))
    except Quit:
        return None


def _launch(
    ctx: Context,
    profile: Profile,
    wizard: WizardResult | None,
    save_to: Path | None,
    edit: Edit | None,
) -> int:
    """Everything after the profile; `edit` holds the record (and the lock) unless dry-run."""
    args = ctx.args
    record = edit.record if edit else Ledger(ctx.home).load(profile.region, profile.name)
    progress = ConsoleReporters.on(ctx.terminal)
    engine = pick("direct", environment(ctx), progress)
    clients = clients_for(ctx, profile.region)
    plan = engine.plan(wizard.plan_profile() if wizard else profile, record)
    if wizard is not None:
        plan = wizard.review_plan(plan)
        ctx.terminal.say("")
        ctx.terminal.say(Text("Review", style="bold"))
    if args.dry_run:
        if ctx.terminal.json:
            ctx.terminal.emit_json(plan.to_dict())
        else:
            _show_plan(ctx, plan, wizard)
        if wizard is not None and save_to is not None:
            save_profile(profile, save_to, force=True)  # checked before the questions
            saved_note(ctx, save_to, wizard)
        ctx.terminal.say("Dry run: nothing was created.")
        return EXIT_OK
    _show_plan(ctx, plan, wizard)
    if not _replacements_allowed(ctx, plan, wizard):
        return quit_wizard(ctx)
    if plan.changes:
        approved = _approved(ctx, wizard)
        if approved is None:
            return quit_wizard(ctx)
        if not approved:
            ctx.terminal.say("Nothing was created.")
            return EXIT_OK
    if wizard is not None:
        if save_to is not None:
            save_profile(profile, save_to, force=True)  # checked before the questions
            saved_note(ctx, save_to, wizard)
        if wizard.pending_import is not None:
            import_key(ctx, clients, wizard)
            plan = engine.plan(profile, record)  # the key pair exists now
    assert edit is not None  # only a dry run has none, and it returned above
    outcome = _apply(ctx, engine, progress.apply, clients, plan, profile, edit)
    if isinstance(outcome, int):
        return outcome
    try:
        return _await_agents(ctx, clients, plan, profile, outcome, wizard, edit)
    finally:  # failed checks too: the handout shows which seats need help
        if args.handout and edit.record is not None:
            write_handout_note(ctx, Path(args.handout), edit.record)


def _apply(
    ctx: Context,
    engine: DirectEngine,
    reporter: RichReporter,
    clients: AwsClients,
    plan: Plan,
    profile: Profile,
    edit: Edit,
) -> Outcome | int:
    """Apply with progress (the engine's reporter, closed here); on failure or Ctrl-C, say
    how to resume and how to remove."""
    remove = teardown_hint(ctx, profile)
    try:
        outcome = engine.apply(plan, edit)
    except KeyboardInterrupt:
        reporter.close()
        ctx.terminal.fail(
            [
                "interrupted; the deployment record is up to date",
                f"resume: run the same command again; remove: {remove}",
            ]
        )
        return EXIT_INTERRUPTED
    except SetupError as exc:
        reporter.close()
        if _created_something(edit):  # a refusal before the first create made nothing
            exc.hint = (exc.hint + "; " if exc.hint else "") + (
                f"what was created is recorded: run the same command to resume, "
                f"or `{remove}` to remove it"
            )
        raise
    finally:
        reporter.close()
    ctx.terminal.result(outcome_panel(profile, outcome, plan.cost))
    lines = command_lines(outcome, remove)
    if sandbox_run(ctx):  # the sandbox's instances are simulated: nothing to log in to
        lines[0] = Text(f"Connect {SIMULATED_CONNECT}:", style="bold")
    for line in lines:
        ctx.terminal.result(line, soft_wrap=True)
    if ctx.args.no_wait and profile.agent.enabled:
        later = verify_hint(ctx, profile)
        ctx.terminal.result(f"Read the agents' reports later: {later}", soft_wrap=True)
    if sandbox_run(ctx) and not ctx.terminal.json:
        sandbox_note(ctx, clients)
    return outcome


def _created_something(edit: Edit) -> bool:
    """Whether this deployment has anything in AWS by its record (this run's or an earlier
    one's): only then is there something to resume or remove."""
    record = edit.record
    return record is not None and bool(record.resources or record.instances)


def _await_agents(
    ctx: Context,
    clients: AwsClients,
    plan: Plan,
    profile: Profile,
    outcome: Outcome,
    wizard: WizardResult | None,
    edit: Edit,
) -> int:
    """Wait for (and show) the agents' reports, then print the JSON document if asked."""
    reports: Reports = {}
    code = EXIT_OK
    if profile.agent.enabled and not ctx.args.no_wait and edit.record is not None:
        ids = [instance["id"] for instance in outcome.instances]
        reports = wait_and_show(ctx, clients, edit.record, ids, wait_s=REPORT_WAIT_S)
        record_agents(edit.record, reports)
        edit.save()
        try:
            code = outcome_of(reports, profile.name, profile.region)
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
                "sandbox": sandbox_run(ctx),
                "simulated": sandbox_run(ctx),
                "commands": {
                    "teardown": teardown_hint(ctx, profile),
                    "verify": verify_hint(ctx, profile),
                },
            }
        )
    elif wizard is not None and reports:
        remove = teardown_hint(ctx, profile)
        ctx.terminal.result(f"When you are done, remove everything: {remove}", soft_wrap=True)
    return code


def quit_wizard(ctx: Context) -> int:
    ctx.terminal.say("")
    ctx.terminal.say("Quit: nothing was created.")
    return EXIT_INTERRUPTED


def saved_note(ctx: Context, path: Path, wizard: WizardResult | None) -> None:
    replay = followup(ctx, "launch", "--profile-file", str(path), "--yes")
    ctx.terminal.result(f"Saved your answers to {path}; replay with: {replay}", soft_wrap=True)
    if ctx.args.dry_run and wizard is not None and wizard.pending_import is not None:
        key = wizard.pending_import
        ctx.terminal.say(
            f"Dry run: {key.key.path} was not imported; the profile names key pair {key.name}, "
            "which a launch through the wizard imports.",
            soft_wrap=True,
        )


def import_key(ctx: Context, clients: AwsClients, wizard: WizardResult) -> None:
    profile, pending = wizard.profile, wizard.pending_import
    assert pending is not None  # asked only when one is pending
    tags = deployment_tags(profile.name, profile.region, profile.tags)
    key_id = import_public_key(clients, pending.name, pending.key, tags)
    text = Text("  ✓ ", style="green")
    text.append(f"imported key-pair {pending.name} from {pending.key.path}")
    text.append(f" ({key_id})", style="dim")
    ctx.terminal.say(text)


def check_save_target(path: Path, force: bool) -> None:
    if path.is_dir():
        raise InputError(
            f"--save-profile {path} is a folder", "give a file name, e.g. --save-profile demo.yaml"
        )
    if path.exists() and not force:
        raise InputError(f"{path} exists", "pass --force to overwrite it, or choose another file")


def save_profile(profile: Profile, path: Path, force: bool) -> None:
    check_save_target(path, force)
    write_private(path, yaml.safe_dump(profile.to_document(), sort_keys=False))


SIMULATED_CONNECT = "(simulated: the sandbox runs no real instance to connect to)"


def sandbox_note(ctx: Context, clients: AwsClients) -> None:
    """Say that a local server keeps running, where, and how to stop it."""
    ctx.terminal.say(
        f"A local sandbox server (simulated AWS, nothing billed) is running at "
        f"{clients.target.endpoint_url} and stays up after this command; stop it with: "
        f"{sandbox_command(ctx, 'stop')}",
        soft_wrap=True,
    )
