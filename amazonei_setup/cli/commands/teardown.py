"""`teardown` and `sweep`: show what will go, ask, then remove it; summarise what went and
what was kept and why."""

from __future__ import annotations

from typing import Any

from amazonei_setup.cli.context import (
    Context,
    SandboxGone,
    clients_for,
    confirm,
    default_region,
    environment,
    followup,
    parse_tags,
    wall_clock,
)
from amazonei_setup.cli.render.results import plural
from amazonei_setup.engines.direct.engine import DirectEngine
from amazonei_setup.engines.direct.teardown import TeardownPlan
from amazonei_setup.engines.pick import engine_of
from amazonei_setup.errors import EXIT_INTERRUPTED, EXIT_OK, InputError
from amazonei_setup.state.ledger import Ledger


def _regions(ctx: Context, fallback: list[str]) -> list[str]:
    """--region (repeatable), --all-regions, else the regions the caller's records name."""
    args = ctx.args
    if args.all_regions:
        from amazonei_setup.aws.clients import aws_errors

        seed = (args.regions or fallback or ["us-east-1"])[0]
        with aws_errors("listing the enabled regions"), ctx.terminal.status("listing regions …"):
            found = clients_for(ctx, seed).ec2.describe_regions()["Regions"]
        return sorted(r["RegionName"] for r in found)
    regions = list(args.regions or [])
    if args.region and args.region not in regions:
        regions.append(args.region)
    if regions or fallback:
        return regions or sorted(set(fallback))
    configured = default_region(ctx)  # as the AWS CLI: AWS_REGION, AWS_DEFAULT_REGION, profile
    if not configured and args.sandbox:  # the sandbox's own default, as `sandbox env` says
        from amazonei_setup.cli.commands.sandbox import DEFAULT_REGION

        configured = DEFAULT_REGION
    return [configured] if configured else []


def benchmark_candidates(records: list[Any], name: str, region: str) -> list[str]:
    """A benchmark's candidates' deployments (its record names them): `teardown NAME` of a
    benchmark removes them with its bucket."""
    for record in records:
        if record.name == name and record.region == region and record.benchmark:
            states = record.benchmark.get("candidates") or {}
            return sorted(state["deployment"] for state in states.values())
    return []


def _which_regions() -> InputError:
    return InputError(
        "which regions? none is given, recorded here, or configured",
        "pass --region R (repeatable) or --all-regions, or set AWS_REGION (or the AWS profile's "
        "region)",
    )


def _region_words(regions: list[str]) -> list[str]:
    """`--region R` for each region looked at, so the printed sweep looks there again."""
    return [word for region in regions for word in ("--region", region)]


def _targets(ctx: Context) -> list[tuple[str, str]]:
    """(name, region) pairs the teardown applies to, from records and from tags in AWS."""
    from amazonei_setup.engines.inventory import region_inventory

    args = ctx.args
    records = Ledger(ctx.home).all()
    selectors = sum(bool(x) for x in (args.name, args.all, args.tag))
    if selectors != 1:
        raise InputError(
            "say what to tear down: a deployment NAME, --all, or --tag K=V",
            "e.g. `amazonei-setup teardown demo --region us-west-2`; "
            "`amazonei-setup status` lists deployments",
        )
    if args.name:
        known = [r.region for r in records if r.name == args.name]
        regions = _regions(ctx, known)
        if not regions:
            raise InputError(
                f"no record of '{args.name}' in {ctx.home}, so its region is unknown",
                "pass --region R (the deployment is then found by its tags alone)",
            )
        return [
            (name, region)
            for region in regions
            for name in (*benchmark_candidates(records, args.name, region), args.name)
        ]
    wanted = parse_tags(args.tag) if args.tag else {}
    regions = _regions(ctx, [r.region for r in records])
    if not regions:
        raise InputError("no deployments recorded here", "pass --region R or --all-regions")
    targets: set[tuple[str, str]] = set()
    for record in records:
        tags = record.profile.get("tags") or {}
        if record.region in regions and all(tags.get(k) == v for k, v in wanted.items()):
            targets.add((record.name, record.region))
    for region in regions:
        with ctx.terminal.status(f"looking for tagged resources in {region} …"):
            inventory = region_inventory(clients_for(ctx, region), region)
        for name, found in inventory.items():
            tags = found.user_tags()
            if all(tags.get(k) == v for k, v in wanted.items()):
                targets.add((name, region))
    return sorted(targets)


def _show(ctx: Context, plans: list[Any]) -> None:
    from amazonei_setup.cli.render.teardown import teardown_table

    if ctx.terminal.json:
        return
    for plan in plans:  # with --dry-run the answer; else what the question is about
        if ctx.args.dry_run:
            ctx.terminal.result(teardown_table(plan))
        else:
            ctx.terminal.shown_for(teardown_table(plan), asking=not ctx.args.yes)


def _execute(ctx: Context, plans: list[TeardownPlan]) -> list[dict[str, Any]]:
    """The direct engine removes each deployment, its progress on stderr."""
    from amazonei_setup.cli.console import TeardownConsoleReporter

    reporter = TeardownConsoleReporter(ctx.terminal)
    engine = DirectEngine(environment(ctx), teardown_reporter=reporter)
    summaries = []
    for plan in plans:
        try:
            summaries.append(engine.teardown(plan))
        finally:
            reporter.close()
    return summaries


def _finish(
    ctx: Context, plans: list[Any], verb: str, extra_json: dict[str, Any] | None = None
) -> int:
    """Shared tail of teardown and sweep --delete: show, dry-run or confirm, act, summarise.
    `extra_json` joins the JSON document (sweep --expired says what expired when)."""
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
    try:
        summaries = _execute(ctx, pending)
    except KeyboardInterrupt:
        ctx.terminal.fail(
            ["interrupted; what is left is still tagged", "run the same command again to finish"]
        )
        return EXIT_INTERRUPTED
    if ctx.terminal.json:
        ctx.terminal.emit_json({**extra, "dry_run": False, "deployments": summaries})
    else:
        from amazonei_setup.cli.render.teardown import teardown_summary

        ctx.terminal.result(teardown_summary(summaries), soft_wrap=True)
    return EXIT_OK


def cmd_teardown(ctx: Context) -> int:
    """Each deployment through the engine that made it (picked once, from its record): the
    stack sets first (they go as one, asked once), then each stack, then the rest."""
    ledger = Ledger(ctx.home)
    engines = {(r.name, r.region): engine_of(r) for r in ledger.all()}
    stack_sets = _stack_set_records(ctx, ledger)
    sets_json: dict[str, Any] | None = None
    if stack_sets:  # a stack set goes as one: its instances, then the set
        from amazonei_setup.cli.commands.stackset_manage import teardown

        code, sets_json = teardown(ctx, stack_sets, emit=bool(ctx.args.name))
        if code != EXIT_OK or ctx.args.name:
            return code
        sets_json = {"stack_sets": sets_json["stack_sets"]}
    if ctx.args.name:
        _known_or_suggest(ctx, ledger)
    sets = {key for key, engine in engines.items() if engine == "stackset"}
    try:
        targets = [t for t in _targets(ctx) if t not in sets]  # a set's resources are elsewhere
    except InputError:
        if sets_json is None:
            raise
        targets = []  # the stack sets were all there was to find
    stacks = {
        (r.name, r.region): r
        for r in ledger.all()
        if engines[(r.name, r.region)] == "cloudformation"
    }
    code = EXIT_OK
    for target in [t for t in targets if t in stacks]:  # CloudFormation's: the stack goes whole
        from amazonei_setup.cli.commands.stack_engine import teardown_stack

        try:
            code = max(code, teardown_stack(ctx, stacks[target]))
        except SandboxGone as gone:  # the stack went with its sandbox: only the record is left
            _clear_gone(ctx, ledger, *target, gone)
    rest = [t for t in targets if t not in stacks]
    if not rest and (len(rest) < len(targets) or sets_json):
        if sets_json and ctx.terminal.json:
            ctx.terminal.emit_json({**sets_json, "dry_run": bool(ctx.args.dry_run)})
        return code
    plans = []
    cleared = []
    direct = DirectEngine(environment(ctx))
    for name, region in rest:
        try:
            plans.append(direct.plan_teardown(name, region, ledger.load(region, name)))
        except SandboxGone as gone:
            cleared.append(_clear_gone(ctx, ledger, name, region, gone))
    if cleared and not plans:
        if ctx.terminal.json:
            ctx.terminal.emit_json(
                {"dry_run": bool(ctx.args.dry_run), "deployments": [], "records_cleared": cleared}
            )
        return code
    if ctx.args.name and all(p.nothing_to_do for p in plans):
        _refuse_unknown(ctx, ledger, [p.region for p in plans])
    return max(code, _finish(ctx, plans, "Tear down", sets_json))


def _clear_gone(ctx: Context, ledger: Any, name: str, region: str, gone: SandboxGone) -> str:
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


def _stack_set_records(ctx: Context, ledger: Any) -> list[Any]:
    """Recorded stack set deployments that NAME, --all or --tag selects (within --region)."""
    args = ctx.args
    regions = set(args.regions or []) | ({args.region} if args.region else set())
    wanted = parse_tags(args.tag) if args.tag else None

    def selected(record: Any) -> bool:
        if wanted is not None:
            tags = record.profile.get("tags") or {}
            return all(tags.get(k) == v for k, v in wanted.items())
        return bool(args.all) or record.name == args.name

    return [
        r
        for r in ledger.all()
        if engine_of(r) == "stackset" and selected(r) and (not regions or r.region in regions)
    ]


def _suggestion(ctx: Context, ledger: Any) -> str | None:
    from amazonei_setup.spec.profile import did_you_mean

    return did_you_mean(ctx.args.name, sorted({r.name for r in ledger.all()}))


def _known_or_suggest(ctx: Context, ledger: Any) -> None:
    """A NAME with no record and no --region: a typo of a recorded one is named at once."""
    name = ctx.args.name
    regions = getattr(ctx.args, "regions", None) or getattr(ctx.args, "all_regions", False)
    if regions or any(r.name == name for r in ledger.all()):
        return
    hint = _suggestion(ctx, ledger)
    if hint:
        raise InputError(
            f"no deployment named '{name}' is recorded in {ctx.home}",
            f"{hint} (or pass --region R to look for '{name}' by its tags)",
        )


def _refuse_unknown(ctx: Context, ledger: Any, regions: list[str]) -> None:
    """Nothing of NAME in the records or in any tags, and a recorded name close to it: a typo,
    said as such (exit 2). Without a near miss it is a teardown already done: nothing to do."""
    name = ctx.args.name
    hint = _suggestion(ctx, ledger)
    if hint is None:
        return
    raise InputError(
        f"no deployment named '{name}' exists: not in {ctx.home}'s records, and no resource "
        f"in {', '.join(regions)} carries its tags",
        hint,
    )


def cmd_sweep(ctx: Context) -> int:
    """Tagged resources that no local record owns: list them, or with --delete remove them.
    With --expired: the deployments past their time-to-live instead."""
    if getattr(ctx.args, "expired", False):
        return _sweep_expired(ctx)
    from amazonei_setup.engines.inventory import region_inventory

    ledger = Ledger(ctx.home)
    recorded = {(r.name, r.region) for r in ledger.all()}
    regions = _regions(ctx, [region for _, region in recorded])
    if not regions:
        raise _which_regions()
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
            from amazonei_setup.cli.render.results import sweep_table

            ctx.terminal.result(sweep_table(rows, regions))
            if rows:
                command = followup(ctx, "sweep", "--delete", *_region_words(regions))
                hint = f"Remove them with `{command}` (it shows the plan first)."
                ctx.terminal.result(hint, soft_wrap=True)
        return EXIT_OK
    direct = DirectEngine(environment(ctx))
    plans = [direct.plan_teardown(name, region, None) for name, region, _ in orphans]
    return _finish(ctx, plans, "Sweep")


def _sweep_expired(ctx: Context) -> int:
    """Every deployment past its expiry, recorded here or found only by its tags (a workshop
    launched from a CI machine): list them, or with --delete tear them down the way teardown
    does. Deployments without a ttl, or not yet expired, are never touched."""
    from amazonei_setup.cli.render.results import expired_table
    from amazonei_setup.engines.expiry import expired_in_region

    ledger = Ledger(ctx.home)
    records = ledger.all()
    regions = _regions(ctx, [r.region for r in records])
    if not regions:
        raise _which_regions()
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
            command = followup(ctx, "sweep", "--expired", "--delete", *_region_words(regions))
            hint = f"Remove them with `{command}` (it shows the plan)."
            ctx.terminal.result(hint, soft_wrap=True)
    if not delete or not expired:
        if ctx.terminal.json:
            done = {"dry_run": bool(ctx.args.dry_run), "deployments": []} if delete else {}
            ctx.terminal.emit_json({"expired": rows, **done})
        return EXIT_OK
    direct = DirectEngine(environment(ctx))
    plans = [direct.plan_teardown(found.name, found.region, None) for found in expired]
    return _finish(ctx, plans, "Sweep", {"expired": rows})
