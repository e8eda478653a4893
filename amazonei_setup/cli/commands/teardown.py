"""`teardown` and `sweep`: what NAME, --all or --tag selects is gathered
(teardown_targets.py), each deployment's engine is picked once (`engines.pick`: from its
record, the direct engine for one found by its tags alone), the engine plans its teardown,
the plan is shown and asked for, and the engine removes it; then what went and what was kept
and why. The engines differ only in how their plans read and how often the question comes:
the stack sets together, each stack alone, the direct engine's together."""

from __future__ import annotations

from typing import Protocol, TypeVar

from amazonei_setup.cli.commands import stack_engine, stackset_manage
from amazonei_setup.cli.commands.teardown_targets import (
    chosen_regions,
    known_or_suggest,
    refuse_unknown,
    region_words,
    selected_records,
    targets,
    which_regions,
)
from amazonei_setup.cli.console import ConsoleReporters, JsonDocument
from amazonei_setup.cli.context import (
    Context,
    SandboxGone,
    clients_for,
    confirm,
    environment,
    followup,
    wall_clock,
)
from amazonei_setup.cli.render.results import expired_table, plural, sweep_table
from amazonei_setup.cli.render.teardown import teardown_summary, teardown_table
from amazonei_setup.engines.direct.engine import DirectEngine
from amazonei_setup.engines.direct.teardown import TeardownPlan
from amazonei_setup.engines.expiry import expired_in_region
from amazonei_setup.engines.inventory import region_inventory
from amazonei_setup.engines.pick import engine_of, pick
from amazonei_setup.errors import EXIT_INTERRUPTED, EXIT_OK, InputError
from amazonei_setup.state.ledger import Ledger
from amazonei_setup.state.record import DeploymentRecord

PlanT = TypeVar("PlanT", covariant=True)


class _PlansTeardown(Protocol[PlanT]):
    def plan_teardown(self, name: str, region: str, record: DeploymentRecord | None) -> PlanT: ...


def _show(ctx: Context, plans: list[TeardownPlan]) -> None:
    if ctx.terminal.json:
        return
    for plan in plans:  # with --dry-run the answer; else what the question is about
        if ctx.args.dry_run:
            ctx.terminal.result(teardown_table(plan))
        else:
            ctx.terminal.shown_for(teardown_table(plan), asking=not ctx.args.yes)


def _execute(
    engine: DirectEngine, progress: ConsoleReporters, plans: list[TeardownPlan]
) -> list[JsonDocument]:
    """The direct engine removes each deployment, its progress on stderr."""
    summaries = []
    for plan in plans:
        try:
            summaries.append(engine.teardown(plan))
        finally:
            progress.teardown.close()
    return summaries


def _finish(
    ctx: Context, plans: list[TeardownPlan], verb: str, extra_json: JsonDocument | None = None
) -> int:
    """The direct engine's tail of teardown and sweep --delete: its plans shown, dry-run or
    confirm, the engine acts, the summary. `extra_json` joins the JSON document (the stack
    sets removed before; sweep --expired says what expired when)."""
    args = ctx.args
    extra = extra_json or {}
    pending = [p for p in plans if not p.nothing_to_do]
    _show(ctx, pending)
    if not pending:
        if ctx.terminal.json:
            ctx.terminal.emit_json({**extra, "dry_run": bool(args.dry_run), "deployments": []})
        else:
            ctx.terminal.result("Nothing to remove: no resource carries these deployments' tags.")
        return EXIT_OK
    if args.dry_run:
        if ctx.terminal.json:
            ctx.terminal.emit_json(
                {**extra, "dry_run": True, "deployments": [p.to_dict() for p in pending]}
            )
        else:
            ctx.terminal.say("Dry run: nothing was changed.")
        return EXIT_OK
    count = sum(len(p.changes) for p in pending)
    if not confirm(
        ctx,
        f"{verb} {plural(count, 'resource')} of {plural(len(pending), 'deployment')}?",
        f"{verb.lower()} deletes resources",
        "pass --yes to confirm when not on a terminal (or --dry-run to only look)",
    ):
        ctx.terminal.say("Nothing was changed.")
        return EXIT_OK
    progress = ConsoleReporters.on(ctx.terminal)
    engine = pick("direct", environment(ctx), progress)
    try:
        summaries = _execute(engine, progress, pending)
    except KeyboardInterrupt:
        ctx.terminal.fail(
            ["interrupted; what is left is still tagged", "run the same command again to finish"]
        )
        return EXIT_INTERRUPTED
    if ctx.terminal.json:
        ctx.terminal.emit_json({**extra, "dry_run": False, "deployments": summaries})
    else:
        ctx.terminal.result(teardown_summary(summaries), soft_wrap=True)
    return EXIT_OK


def _planned(
    ctx: Context,
    ledger: Ledger,
    engine: _PlansTeardown[PlanT],
    name: str,
    region: str,
    record: DeploymentRecord | None,
    cleared: list[str],
) -> PlanT | None:
    """The engine's teardown plan; None for a deployment gone with its stopped sandbox (its
    record cleared, its name added to `cleared`)."""
    try:
        return engine.plan_teardown(name, region, record)
    except SandboxGone as gone:
        cleared.append(_clear_gone(ctx, ledger, name, region, gone))
        return None


def cmd_teardown(ctx: Context) -> int:
    """Each deployment through the engine that made it (picked once, from its record): the
    stack sets first (they go as one, asked once), then each stack, then the rest."""
    ledger = Ledger(ctx.home)
    records = ledger.all()
    engines = {(r.name, r.region): engine_of(r) for r in records}
    env, progress = environment(ctx), ConsoleReporters.on(ctx.terminal)
    sets_json: JsonDocument | None = None
    chosen = [r for r in selected_records(ctx, records) if engine_of(r) == "stackset"]
    if chosen:  # a stack set goes as one: its instances, then the set
        sets = pick("stackset", env, progress)
        set_plans = [sets.plan_teardown(r.name, r.region, r) for r in chosen]
        code, part = stackset_manage.teardown(ctx, sets, set_plans)
        if ctx.args.name and ctx.terminal.json:
            ctx.terminal.emit_json(part)
        if code != EXIT_OK or ctx.args.name:
            return code
        sets_json = {"stack_sets": part["stack_sets"]}
    if ctx.args.name:
        known_or_suggest(ctx, ledger)
    try:  # a set's resources are elsewhere: no tag here finds them
        found = [t for t in targets(ctx) if engines.get(t) != "stackset"]
    except InputError:
        if sets_json is None:
            raise
        found = []  # the stack sets were all there was to find
    by_key = {(r.name, r.region): r for r in records}
    stacked = [t for t in found if engines.get(t) == "cloudformation"]
    code = EXIT_OK
    if stacked:  # CloudFormation's: each stack goes whole, asked for each
        stacks = pick("cloudformation", env, progress)
        for name, region in stacked:
            plan = _planned(ctx, ledger, stacks, name, region, by_key[(name, region)], [])
            if plan is not None:
                code = max(code, stack_engine.teardown_stack(ctx, stacks, plan))
    rest = [t for t in found if t not in stacked]
    if not rest and (len(rest) < len(found) or sets_json):
        if sets_json and ctx.terminal.json:
            ctx.terminal.emit_json({**sets_json, "dry_run": bool(ctx.args.dry_run)})
        return code
    direct = pick("direct", env, progress)
    cleared: list[str] = []
    planned = [
        _planned(ctx, ledger, direct, name, region, ledger.load(region, name), cleared)
        for name, region in rest
    ]
    plans = [plan for plan in planned if plan is not None]
    if cleared and not plans:
        if ctx.terminal.json:
            ctx.terminal.emit_json(
                {"dry_run": bool(ctx.args.dry_run), "deployments": [], "records_cleared": cleared}
            )
        return code
    if ctx.args.name and all(p.nothing_to_do for p in plans):
        refuse_unknown(ctx, ledger, [p.region for p in plans])
    return max(code, _finish(ctx, plans, "Tear down", sets_json))


def _clear_gone(ctx: Context, ledger: Ledger, name: str, region: str, gone: SandboxGone) -> str:
    """A deployment that went with its stopped sandbox: nothing remains to delete, so its
    record goes (a dry run only says so)."""
    what = f"'{name}' ({region}) went with the stopped sandbox it was made in: nothing is left"
    if ctx.args.dry_run:
        ctx.terminal.result(
            f"{what}; a teardown clears its record. Dry run: nothing was changed.", soft_wrap=True
        )
    else:
        with ledger.edit(region, name, f"a teardown of '{name}'") as edit:
            if edit.record is not None:
                edit.remove()
        ctx.terminal.result(f"{what}; its record is cleared.", soft_wrap=True)
    return name


def cmd_sweep(ctx: Context) -> int:
    """Tagged resources that no local record owns: list them, or with --delete remove them.
    With --expired: the deployments past their time-to-live instead."""
    if getattr(ctx.args, "expired", False):
        return _sweep_expired(ctx)
    ledger = Ledger(ctx.home)
    recorded = {(r.name, r.region) for r in ledger.all()}
    regions = chosen_regions(ctx, [region for _, region in recorded])
    if not regions:
        raise which_regions()
    orphans = []
    for region in regions:
        with ctx.terminal.status(f"looking for tagged resources in {region} …"):
            inventory = region_inventory(clients_for(ctx, region), region)
        for name, found in sorted(inventory.items()):
            if (name, region) not in recorded and not found.empty:
                orphans.append((name, region, found))
    if not ctx.args.delete:
        rows = [
            {"deployment": name, "region": region, "resources": found.counts()}
            for name, region, found in orphans
        ]
        if ctx.terminal.json:
            ctx.terminal.emit_json({"orphans": rows})
        else:
            ctx.terminal.result(sweep_table(rows, regions))
            if rows:
                command = followup(ctx, "sweep", "--delete", *region_words(regions))
                hint = f"Remove them with `{command}` (it shows the plan first)."
                ctx.terminal.result(hint, soft_wrap=True)
        return EXIT_OK
    direct = pick("direct", environment(ctx))
    plans = [direct.plan_teardown(name, region, None) for name, region, _ in orphans]
    return _finish(ctx, plans, "Sweep")


def _sweep_expired(ctx: Context) -> int:
    """Every deployment past its expiry, recorded here or found only by its tags (a workshop
    launched from a CI machine): list them, or with --delete tear them down the way teardown
    does. Deployments without a ttl, or not yet expired, are never touched."""
    ledger = Ledger(ctx.home)
    records = ledger.all()
    regions = chosen_regions(ctx, [r.region for r in records])
    if not regions:
        raise which_regions()
    now = wall_clock(ctx)()
    expired = []
    for region in regions:
        with ctx.terminal.status(f"looking for expired deployments in {region} …"):
            expired += expired_in_region(clients_for(ctx, region), region, records, now)
    rows = [found.to_dict() for found in expired]
    delete = bool(ctx.args.delete)
    if not ctx.terminal.json:
        table = expired_table(rows, regions)
        if delete and not ctx.args.dry_run:  # what the question is about
            ctx.terminal.shown_for(table, asking=not ctx.args.yes)
        else:
            ctx.terminal.result(table)
        if rows and not delete:
            command = followup(ctx, "sweep", "--expired", "--delete", *region_words(regions))
            hint = f"Remove them with `{command}` (it shows the plan)."
            ctx.terminal.result(hint, soft_wrap=True)
    if not delete or not expired:
        if ctx.terminal.json:
            done = {"dry_run": bool(ctx.args.dry_run), "deployments": []} if delete else {}
            ctx.terminal.emit_json({"expired": rows, **done})
        return EXIT_OK
    direct = pick("direct", environment(ctx))
    plans = [direct.plan_teardown(found.name, found.region, None) for found in expired]
    return _finish(ctx, plans, "Sweep", {"expired": rows})
