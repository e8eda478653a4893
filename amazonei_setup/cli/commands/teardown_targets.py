"""What `teardown` and `sweep` apply to, gathered before any engine is asked: the regions
(--region, --all-regions, the records', the configured one), the deployments NAME, --all or
--tag selects (from the records and from the tags in AWS), a benchmark's candidates, and a
mistyped NAME said as such."""

from __future__ import annotations

from amazonei_setup.aws.clients import aws_errors
from amazonei_setup.cli.commands.sandbox import DEFAULT_REGION
from amazonei_setup.cli.context import Context, clients_for, default_region, parse_tags
from amazonei_setup.engines.inventory import region_inventory
from amazonei_setup.errors import InputError
from amazonei_setup.spec.profile import did_you_mean
from amazonei_setup.state.ledger import Ledger
from amazonei_setup.state.record import DeploymentRecord


def chosen_regions(ctx: Context, fallback: list[str]) -> list[str]:
    """--region (repeatable), --all-regions, else the regions the caller's records name."""
    args = ctx.args
    if args.all_regions:
        seed = (args.regions or fallback or ["us-east-1"])[0]
        with aws_errors("listing the enabled regions"), ctx.terminal.status("listing regions …"):
            found = clients_for(ctx, seed).ec2.describe_regions()["Regions"]
        return sorted(r["RegionName"] for r in found)
    given = list(args.regions or [])
    if args.region and args.region not in given:
        given.append(args.region)
    if given or fallback:
        return given or sorted(set(fallback))
    configured = default_region(ctx)  # as the AWS CLI: AWS_REGION, AWS_DEFAULT_REGION, profile
    if not configured and args.sandbox:  # the sandbox's own default, as `sandbox env` says
        configured = DEFAULT_REGION
    return [configured] if configured else []


def benchmark_candidates(records: list[DeploymentRecord], name: str, region: str) -> list[str]:
    """A benchmark's candidates' deployments (its record names them): `teardown NAME` of a
    benchmark removes them with its bucket."""
    for record in records:
        if record.name == name and record.region == region and record.benchmark:
            states = record.benchmark.get("candidates") or {}
            return sorted(state["deployment"] for state in states.values())
    return []


def which_regions() -> InputError:
    return InputError(
        "which regions? none is given, recorded here, or configured",
        "pass --region R (repeatable) or --all-regions, or set AWS_REGION (or the AWS profile's "
        "region)",
    )


def region_words(looked_at: list[str]) -> list[str]:
    """`--region R` for each region looked at, so the printed sweep looks there again."""
    return [word for region in looked_at for word in ("--region", region)]


def targets(ctx: Context) -> list[tuple[str, str]]:
    """(name, region) pairs the teardown applies to, from records and from tags in AWS."""
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
        named_in = chosen_regions(ctx, known)
        if not named_in:
            raise InputError(
                f"no record of '{args.name}' in {ctx.home}, so its region is unknown",
                "pass --region R (the deployment is then found by its tags alone)",
            )
        return [
            (name, region)
            for region in named_in
            for name in (*benchmark_candidates(records, args.name, region), args.name)
        ]
    wanted = parse_tags(args.tag) if args.tag else {}
    looked_at = chosen_regions(ctx, [r.region for r in records])
    if not looked_at:
        raise InputError("no deployments recorded here", "pass --region R or --all-regions")
    found: set[tuple[str, str]] = set()
    for record in records:
        tags = record.profile.get("tags") or {}
        if record.region in looked_at and all(tags.get(k) == v for k, v in wanted.items()):
            found.add((record.name, record.region))
    for region in looked_at:
        with ctx.terminal.status(f"looking for tagged resources in {region} …"):
            inventory = region_inventory(clients_for(ctx, region), region)
        for name, resources in inventory.items():
            tags = resources.user_tags()
            if all(tags.get(k) == v for k, v in wanted.items()):
                found.add((name, region))
    return sorted(found)


def selected_records(ctx: Context, records: list[DeploymentRecord]) -> list[DeploymentRecord]:
    """The recorded deployments NAME, --all or --tag selects (within --region), found in the
    records alone: what no tag in this account finds (a stack set's instances are elsewhere)."""
    args = ctx.args
    within = set(args.regions or []) | ({args.region} if args.region else set())
    wanted = parse_tags(args.tag) if args.tag else None

    def selected(record: DeploymentRecord) -> bool:
        if wanted is not None:
            tags = record.profile.get("tags") or {}
            return all(tags.get(k) == v for k, v in wanted.items())
        return bool(args.all) or record.name == args.name

    return [r for r in records if selected(r) and (not within or r.region in within)]


def _suggestion(ctx: Context, ledger: Ledger) -> str | None:
    return did_you_mean(ctx.args.name, sorted({r.name for r in ledger.all()}))


def known_or_suggest(ctx: Context, ledger: Ledger) -> None:
    """A NAME with no record and no --region: a typo of a recorded one is named at once."""
    name = ctx.args.name
    looked = getattr(ctx.args, "regions", None) or getattr(ctx.args, "all_regions", False)
    if looked or any(r.name == name for r in ledger.all()):
        return
    hint = _suggestion(ctx, ledger)
    if hint:
        raise InputError(
            f"no deployment named '{name}' is recorded in {ctx.home}",
            f"{hint} (or pass --region R to look for '{name}' by its tags)",
        )


def refuse_unknown(ctx: Context, ledger: Ledger, looked_at: list[str]) -> None:
    """Nothing of NAME in the records or in any tags, and a recorded name close to it: a typo,
    said as such (exit 2). Without a near miss it is a teardown already done: nothing to do."""
    name = ctx.args.name
    hint = _suggestion(ctx, ledger)
    if hint is None:
        return
    raise InputError(
        f"no deployment named '{name}' exists: not in {ctx.home}'s records, and no resource "
        f"in {', '.join(looked_at)} carries its tags",
        hint,
    )
