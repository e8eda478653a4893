"""`launch --engine stackset`: one deployment through a service-managed stack set. Plan
(accounts × regions × resources, cost), confirm, record, create the set and its instances,
follow each operation per account and region. (`status`/`teardown`: stackset_manage.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from amazonei_setup.cli.context import Context, clients_for, confirm, profile_from_args
from amazonei_setup.engines.stackset import operations as ops
from amazonei_setup.engines.stackset.plan import StackSetPlan
from amazonei_setup.errors import EXIT_AWS, EXIT_OK, InputError
from amazonei_setup.state.record import RecordedStackSet


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


def build_plan(ctx: Context) -> StackSetPlan:
    """Everything checked and resolved before anything is created."""
    from amazonei_setup.aws.clients import aws_errors
    from amazonei_setup.engines.cloudformation.template import Defaults, build_template
    from amazonei_setup.engines.stackset.targets import parse_targets, resolve
    from amazonei_setup.engines.stackset.template import stackset_template
    from amazonei_setup.resources.naming import deployment_tags
    from amazonei_setup.spec.catalog import load_catalog
    from amazonei_setup.spec.profile import known_regions

    args = ctx.args
    targets = parse_targets(args.accounts, args.ou, args.regions_csv, known_regions())
    profile = profile_from_args(ctx)
    if profile.ttl:
        raise InputError(
            "a time-to-live cannot be kept across accounts: --engine stackset takes no ttl",
            "drop ttl/--ttl; `amazonei-setup teardown NAME` removes the stack set",
        )
    if profile.ami != "auto" and len(targets.regions) > 1:
        raise InputError(
            f"ami: {profile.ami} exists in one region only; --regions names {len(targets.regions)}",
            "use ami: auto (each region gets its own Deep Learning AMI), or one region",
        )
    if profile.access.mode == "ssh" and profile.access.key_pair != "create":
        raise InputError(
            f"key pair '{profile.access.key_pair}' lives in one account; a stack set deploys "
            "into many",
            "use key_pair: create (each account gets its own, private key in its SSM) or "
            "--access ssm",
        )
    catalog = load_catalog()
    clients = clients_for(ctx, profile.region)
    with aws_errors("reading your organization (AWS Organizations)"):
        resolved = resolve(clients.client("organizations"), targets)
    if not resolved.accounts:
        raise InputError(
            f"--ou {targets.ou} holds no account besides the management account",
            "move the attendees' accounts into it first, or give --accounts",
        )
    signing_key = None
    if args.sandbox:
        from amazonei_setup.seats.userdata import sandbox_signing_key

        signing_key = sandbox_signing_key(ctx.home)
    tags = deployment_tags(profile.name, profile.region, profile.tags)
    defaults = Defaults(ssh_cidr=_ssh_cidr(ctx, profile, clients))
    template = stackset_template(
        build_template(profile, catalog=catalog, signing_key=signing_key, defaults=defaults),
        profile.name,
        tags,
        auto_deployment=targets.ou is not None,
    )
    hardware = profile.instance_type + (f" + {profile.accelerator}" if profile.accelerator else "")
    plan = StackSetPlan(
        deployment=profile.name,
        region=profile.region,
        targets=targets,
        resolved=resolved,
        template=template,
        seats=profile.seats,
        hardware=hardware,
        price_per_hour_usd=catalog.price_per_hour(profile.instance_type, profile.accelerator),
        tags=tags,
    )
    plan.overrides = _image_overrides(ctx, plan, profile, catalog)
    plan.profile_document = profile.to_document()
    return plan


def _ssh_cidr(ctx: Context, profile: Any, clients: Any) -> str | None:
    """The SSH source every stack allows: the profile's, or (auto) the caller's address /32,
    as the direct engine does."""
    if profile.access.mode != "ssh":
        return None
    if profile.access.ssh_cidr != "auto":
        return str(profile.access.ssh_cidr)
    from amazonei_setup.engines.discover import public_ip_lookup

    lookup = ctx.hooks.ip_lookup or public_ip_lookup
    return f"{lookup(clients.target)}/32"


def _image_overrides(ctx: Context, plan: StackSetPlan, profile: Any, catalog: Any) -> dict:
    """Where no public SSM parameter names the AMI, each region's own image (looked up in
    this account: public DLAMIs are the same in every account of a region)."""
    from amazonei_setup.aws.amis import resolve_ami

    spec = plan.template["Parameters"].get("ImageId", {})
    if spec.get("Type") != "AWS::EC2::Image::Id":
        return {}
    overrides = {}
    for region in plan.targets.regions:
        here = profile.model_copy(update={"region": region})
        image = resolve_ami(clients_for(ctx, region), catalog, here)
        overrides[region] = [{"ParameterKey": "ImageId", "ParameterValue": image.id}]
    return overrides


def launch_stackset(ctx: Context) -> int:
    from amazonei_setup.state.ledger import Ledger, new_record, utc_now

    args = ctx.args
    if args.handout:
        from amazonei_setup.seats.handout import check_handout_target

        check_handout_target(Path(args.handout))
    plan = build_plan(ctx)
    if Ledger(ctx.home).load(plan.region, plan.deployment) is not None:
        raise _recorded_already(plan)
    if ctx.terminal.json and args.dry_run:
        ctx.terminal.emit_json(plan.to_dict())
        return EXIT_OK
    _show_plan(ctx, plan)
    if args.dry_run:
        ctx.terminal.say("Dry run: nothing was created.")
        return EXIT_OK
    if not confirm(
        ctx,
        f"Create stack set {plan.name} in {len(plan.pairs)} account-region(s)?",
        "a stack set launch creates resources in other accounts",
        "pass --yes to confirm when not on a terminal (or --dry-run to only look)",
    ):
        ctx.terminal.say("Nothing was created.")
        return EXIT_OK
    cfn = clients_for(ctx, plan.region).client("cloudformation")
    with Ledger(ctx.home).edit(
        plan.region, plan.deployment, f"a launch of '{plan.deployment}'"
    ) as edit:
        if edit.record is not None:  # another run got there between the look and the lock
            raise _recorded_already(plan)
        edit.record = new_record(
            plan.deployment, plan.region, plan.profile_document, args.endpoint_url, utc_now()
        )
        edit.record.engine = "stackset"
        edit.record.stack_set = RecordedStackSet(
            name=plan.name,
            ou=plan.targets.ou,
            accounts=list(plan.resolved.accounts),
            regions=list(plan.targets.regions),
            deployment_targets=plan.resolved.deployment_targets,
            auto_deployment=plan.auto_deployment,
        )
        edit.save()  # write-ahead: teardown can find the set even if we stop now
        record = edit.record
        record.stack_set.id = ops.create_stack_set(  # type: ignore[union-attr]
            cfn,
            plan.name,
            plan.template,
            plan.tags,
            plan.auto_deployment,
            plan.template["Description"],
        )
        edit.save()
        status = _deploy_instances(ctx, cfn, plan, edit)
        record.status = "ready" if status == "SUCCEEDED" else "incomplete"
        edit.save()
    if args.handout:
        from amazonei_setup.engines.stackset.handout import write_stackset_handout

        paths = write_stackset_handout(Path(args.handout), record)
        ctx.terminal.result(f"handout: {paths[0]} and {paths[1]}", soft_wrap=True)
    rows = record.stack_set.instances  # type: ignore[union-attr]
    if ctx.terminal.json:
        ctx.terminal.emit_json(
            {"deployment": plan.deployment, "status": record.status, "stack_instances": rows}
        )
    if status != "SUCCEEDED":
        failed = [r for r in rows if r["detailed_status"] != "SUCCEEDED"]
        ctx.terminal.fail(
            [
                f"stack set operation {status}: {len(failed)} of {len(rows)} stack instance(s) "
                "did not deploy (reasons above)",
                f"`amazonei-setup teardown {plan.deployment} --region {plan.region}` "
                "removes it all",
            ]
        )
        return EXIT_AWS
    ctx.terminal.result(f"Deployed {plan.deployment} to {len(rows)} account-region(s).")
    return EXIT_OK


def _recorded_already(plan: StackSetPlan) -> InputError:
    return InputError(
        f"'{plan.deployment}' is already recorded in {plan.region}; a stack set launch "
        "does not update one",
        f"`amazonei-setup teardown {plan.deployment}` first, or choose another --name",
    )


def _deploy_instances(ctx: Context, cfn: Any, plan: StackSetPlan, edit: Any) -> str:
    """One CreateStackInstances for all regions, or one per region when each needs its own
    AMI (operations on a set run one at a time); the worst status of them."""
    batches = (
        [([r], plan.overrides[r]) for r in plan.targets.regions]
        if plan.overrides
        else [(list(plan.targets.regions), [])]
    )
    record = edit.record
    worst = "SUCCEEDED"
    for regions, overrides in batches:
        operation = ops.create_instances(
            cfn, plan.name, plan.resolved.deployment_targets, regions, overrides
        )
        record.stack_set.operations.append(operation)
        edit.save()
        status = follow(ctx, cfn, plan.name, operation)
        if status != "SUCCEEDED":
            worst = status
    record.stack_set.instances = [r.to_dict() for r in ops.instances(cfn, plan.name)]
    return worst


def follow(ctx: Context, cfn: Any, name: str, operation: str) -> str:
    """Wait for an operation, printing each account and region as its status changes."""
    shown: dict[tuple[str, str], str] = {}

    def progress(rows: list[ops.InstanceRow]) -> None:
        for row in rows:
            state = f"{row.detailed or row.status}{': ' + row.reason if row.reason else ''}"
            if shown.get((row.account, row.region)) != state:
                shown[(row.account, row.region)] = state
                ctx.terminal.say(f"  {row.account} {row.region}: {state}", soft_wrap=True)

    kwargs: dict[str, Any] = {"on_progress": progress}
    if ctx.hooks.sleep is not None:
        kwargs["sleep"] = ctx.hooks.sleep
    if ctx.hooks.clock is not None:
        kwargs["clock"] = ctx.hooks.clock
    return ops.wait(cfn, name, operation, **kwargs)


def _show_plan(ctx: Context, plan: StackSetPlan) -> None:
    from rich.table import Table

    def show(*renderables: Any) -> None:
        ctx.terminal.plan(*renderables, dry_run=ctx.args.dry_run, asking=not ctx.args.yes)

    table = Table(title=f"Stack set {plan.name} (service-managed, from {plan.region})")
    for column in ("account", "region", "instances", "$/hour"):
        table.add_column(column)
    price = plan.price_per_hour_usd
    for account, region in plan.pairs:
        cost = f"{price * plan.seats:.3f}" if price is not None else "?"
        table.add_row(account, region, f"{plan.seats} x {plan.hardware}", cost)
    show(table)
    kinds: dict[str, int] = {}
    for resource in plan.resources():
        if "only_if" not in resource:
            kinds[resource["type"]] = kinds.get(resource["type"], 0) + 1
    show(
        "each account-region gets: "
        + ", ".join(f"{n} {t}" for t, n in kinds.items())
        + " (network included: each stack builds its own VPC)"
    )
    total = plan.total_per_hour_usd
    show(
        f"{plan.seats} seat(s) x {len(plan.pairs)} target(s) = {plan.instances_total} instance(s)"
        + (f", ${total:.3f}/hour" if total is not None else ", price unknown")
        + (" ; accounts joining the OU later get it too" if plan.auto_deployment else "")
    )
