"""`launch --engine cloudformation`, and `teardown`/`status` of such a deployment: the template
deployed as stack `amazonei-setup-<name>` through a change set that is shown, confirmed and
executed, its events as the progress. The record keeps the stack, and mirrors its instances and
key files in the direct engine's shape so `verify` and `connect` work unchanged."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from amazonei_setup.cli.context import (
    Context,
    clients_for_record,
    confirm,
    discover_and_plan,
    wall_clock,
)
from amazonei_setup.errors import EXIT_OK, AwsFailure


def _waits(ctx: Context) -> dict[str, Any]:
    """The sleep and clock every wait uses: the hooks' in tests (nothing waits for real)."""
    import time

    return {"sleep": ctx.hooks.sleep or time.sleep, "clock": ctx.hooks.clock or time.monotonic}


def _on_event(ctx: Context) -> Any:
    def show(event: dict[str, Any]) -> None:
        reason = event.get("ResourceStatusReason") or ""
        line = f"  {event.get('ResourceStatus', '')} {event['LogicalResourceId']}"
        line += f" ({event.get('ResourceType', '')})" + (f": {reason}" if reason else "")
        ctx.terminal.say(line, soft_wrap=True)  # progress: stderr

    return show


def change_table(name: str, change_set: Any) -> Table:
    table = Table(title=f"Change set of stack {name} ({change_set.kind})", title_justify="left")
    for column in ("action", "logical id", "type", "replacement"):
        table.add_column(column)
    for change in change_set.changes:
        table.add_row(change.action, change.logical_id, change.resource_type, change.replacement)
    return table


def launch_stack(ctx: Context, profile: Any, edit: Any) -> int:
    """Discover → template → change set (shown) → confirm → execute (events) → record."""
    from amazonei_setup.engines.cloudformation import stack as cfn
    from amazonei_setup.engines.cloudformation.template import (
        Defaults,
        build_template,
        template_json,
    )
    from amazonei_setup.resources.naming import deployment_tags
    from amazonei_setup.spec.ttl import utc_iso
    from amazonei_setup.state.ledger import new_record
    from amazonei_setup.state.record import RecordedStack

    clients, plan = discover_and_plan(ctx, profile, edit.record)
    discovery = plan.discovery
    check_vpc_fits_a_stack(plan, edit.record)
    key = None
    if ctx.args.sandbox:  # the sandbox runs only user data signed with the home's key
        from amazonei_setup.seats.userdata import sandbox_signing_key

        key = sandbox_signing_key(ctx.home)
    defaults = Defaults(discovery.vpc_id, discovery.subnets[0].id, discovery.ssh_cidr)
    template = build_template(
        profile,
        ami=discovery.ami,
        signing_key=key,
        defaults=defaults,
    )
    parameters = {k: v["Default"] for k, v in template["Parameters"].items() if "Default" in v}
    if template["Parameters"]["ImageId"]["Type"] == "AWS::EC2::Image::Id":
        parameters["ImageId"] = discovery.ami.id
    name = cfn.stack_name(profile.name)
    tags = deployment_tags(profile.name, profile.region, profile.tags)
    change_set = cfn.create_change_set(
        clients, name, template_json(template), parameters, tags, **_waits(ctx)
    )
    # what the question is about (stderr, with the prompt)
    ctx.terminal.shown_for(change_table(name, change_set), asking=not ctx.args.yes)
    if not change_set.changes:
        if change_set.kind == "UPDATE":
            cfn.discard_change_set(clients, change_set)
        ctx.terminal.result(f"Stack {name} is up to date: nothing to change.")
        return EXIT_OK
    try:
        approved = confirm(
            ctx,
            "Apply these changes?",
            "launch creates resources that bill by the hour",
            "pass --yes to confirm when not on a terminal (or --dry-run to only look)",
        )
    except BaseException:  # no answer (not a terminal, Ctrl-C): nothing stays behind either
        cfn.discard_change_set(clients, change_set)
        raise
    if not approved:
        cfn.discard_change_set(clients, change_set)
        ctx.terminal.say("Nothing was created.")
        return EXIT_OK
    record = edit.record or new_record(
        profile.name,
        profile.region,
        profile.to_document(),
        clients.target.endpoint_url,
        utc_iso(wall_clock(ctx)()),
    )
    record.engine = "cloudformation"
    record.stack = RecordedStack(id=change_set.stack_id, name=name, status="executing")
    record.account_id, record.vpc_id = discovery.account_id, discovery.vpc_id
    record.status = "applying"
    edit.record = record
    edit.save()  # write-ahead: a failed or interrupted stack can always be torn down
    ctx.terminal.say(f"Stack {name}: executing the change set")
    result = cfn.execute(clients, change_set, on_event=_on_event(ctx), **_waits(ctx))
    record.stack.status = result.status
    if result.failure:
        record.status = "incomplete"
        edit.save()
        raise AwsFailure(
            f"stack {name} failed ({result.status}): {result.failure}",
            f"CloudFormation rolled back what it made; `amazonei-setup teardown {profile.name} "
            f"--region {profile.region}` deletes the stack and the record",
        )
    _mirror(ctx, clients, profile, record, plan)
    record.status = "ready"
    edit.save()
    for seat in record.instances:
        ctx.terminal.result(f"seat {seat.seat}: {seat.connect}", soft_wrap=True)
    ctx.terminal.result(
        f"Stack {name} is {result.status}. `amazonei-setup verify {profile.name}` reads the "
        f"agents' reports; `amazonei-setup teardown {profile.name}` deletes the stack."
    )
    reports: dict[str, Any] = {}
    try:
        if profile.agent.enabled and not ctx.args.no_wait:
            from amazonei_setup.cli.commands.verify import (
                REPORT_WAIT_S,
                record_agents,
                wait_and_show,
            )

            ids = [seat.id for seat in record.instances]
            reports = wait_and_show(ctx, clients, record, ids, wait_s=REPORT_WAIT_S)
            record_agents(record, reports)
            edit.save()
            from amazonei_setup.cli.commands.verify import outcome_of

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


def check_vpc_fits_a_stack(plan: Any, record: Any) -> None:
    """What the template cannot change in a VPC, refused before anything is made (exit 2): a
    private-DNS Elastic Inference endpoint another deployment made (AWS refuses a second one
    for the same service: the direct engine shares it), and DNS attributes that are off."""
    from amazonei_setup.errors import InputError

    vpc = plan.discovery.vpc_id
    endpoint = plan.get("endpoint")
    ours = {r.id for r in record.resources.values()} if record is not None else set()
    if endpoint is not None and endpoint.id and endpoint.id not in ours:
        raise InputError(
            f"VPC {vpc} already has an Elastic Inference endpoint ({endpoint.id}) with private "
            "DNS; AWS refuses a stack's own endpoint beside it",
            "launch this deployment with the direct engine (it shares that endpoint), "
            "or choose another VPC with --vpc",
        )
    if plan.get("vpc_dns") is not None and plan.get("vpc_dns").action != "reuse":
        raise InputError(
            f"VPC {vpc} has DNS support or DNS hostnames off; the endpoint's private DNS needs "
            "both, and a template cannot turn them on",
            f"turn them on (aws ec2 modify-vpc-attribute --vpc-id {vpc} "
            "--enable-dns-hostnames), or launch with the direct engine, which does",
        )


def _mirror(ctx: Context, clients: Any, profile: Any, record: Any, plan: Any) -> None:
    """Instances and key files of the stack, in the direct engine's record shape; each created
    key pair's private key is fetched from SSM and written 0600 like a direct launch's."""
    from amazonei_setup.aws.discovered import SeatKey
    from amazonei_setup.engines.cloudformation import stack as cfn
    from amazonei_setup.engines.cloudformation.template import direct_shape
    from amazonei_setup.engines.direct.apply import connect_command
    from amazonei_setup.resources import instance as instance_res
    from amazonei_setup.resources.key_pair import private_key_path
    from amazonei_setup.state.paths import write_private
    from amazonei_setup.state.record import RecordedInstance, RecordedResource

    resources = cfn.resources(clients, record.stack.id)
    record.resources = {}
    for item in resources:
        key, kind, seat = direct_shape(item["logical_id"])
        name = f"{profile.name}-{seat}" if kind == "ec2-instance" else item["id"]
        entry = RecordedResource(
            kind=kind, name=name, id=item["id"], action="created", owned=True, seat=seat
        )
        if item["type"] == "AWS::EC2::KeyPair":
            found = clients.ec2.describe_key_pairs(KeyNames=[item["id"]])["KeyPairs"][0]
            secret = clients.ssm.get_parameter(
                Name=f"/ec2/keypair/{found['KeyPairId']}", WithDecryption=True
            )["Parameter"]["Value"]
            path = private_key_path(ctx.home, profile.region, item["id"])
            write_private(path, secret)
            entry.private_key = str(path)
            plan.discovery.keys[seat] = SeatKey(name=item["id"], path=path)
        record.resources[key] = entry
    ids = [r["id"] for r in resources if r["type"] == "AWS::EC2::Instance"]
    record.instances = []
    for found in sorted(instance_res.describe(clients, ids), key=lambda i: i.id):
        record.instances.append(
            RecordedInstance(
                **{k: v for k, v in found.to_dict().items() if k in RecordedInstance.model_fields},
                connect=connect_command(profile, plan.discovery, found),
            )
        )
    record.instances.sort(key=lambda i: i.seat)


def teardown_stack(ctx: Context, record: Any) -> int:
    """--dry-run lists the stack and its resources; else DeleteStack, waited for, then the
    local key files and the record go."""
    from amazonei_setup.engines.cloudformation import stack as cfn
    from amazonei_setup.state.ledger import Ledger

    clients = clients_for_record(ctx, record)
    live = cfn.find_stack(clients, record.stack.id)
    items = cfn.resources(clients, record.stack.id) if live else []
    table = Table(title=f"Stack {record.stack.name} ({live['StackStatus'] if live else 'gone'})")
    for column in ("logical id", "type", "id"):
        table.add_column(column)
    for item in items:
        table.add_row(item["logical_id"], item["type"], item["id"])
    if ctx.args.dry_run:  # the answer; else what the question is about
        ctx.terminal.result(table)
    else:
        ctx.terminal.shown_for(table, asking=not ctx.args.yes)
    if ctx.args.dry_run:
        ctx.terminal.say("Dry run: nothing was changed.")
        return EXIT_OK
    if not confirm(
        ctx,
        f"Delete stack {record.stack.name} and its {len(items)} resource(s)?",
        "teardown deletes resources",
        "pass --yes to confirm when not on a terminal (or --dry-run to only look)",
    ):
        ctx.terminal.say("Nothing was changed.")
        return EXIT_OK
    if live:
        result = cfn.delete(clients, record.stack.id, on_event=_on_event(ctx), **_waits(ctx))
        if result.failure:
            raise AwsFailure(
                f"stack {record.stack.name} could not be deleted: {result.failure}",
                "fix what blocks it, then run the same command again",
            )
    with Ledger(ctx.home).edit(record.region, record.name, "a teardown") as edit:
        for entry in (edit.record.resources if edit.record else {}).values():
            if entry.private_key:
                from pathlib import Path

                Path(entry.private_key).unlink(missing_ok=True)
        edit.remove()
    ctx.terminal.result(f"Stack {record.stack.name} deleted; its key files and record removed.")
    return EXIT_OK


def stack_status(ctx: Context, record: Any) -> None:
    """The stack's status, and its drift (where drift detection is available)."""
    from amazonei_setup.engines.cloudformation import stack as cfn

    clients = clients_for_record(ctx, record)
    live = cfn.find_stack(clients, record.stack.id)
    status = live["StackStatus"] if live else "DELETED"
    ctx.terminal.result(f"stack {record.stack.name}: {status}", soft_wrap=True)
    if not live:
        return
    drift = cfn.drifted(clients, record.stack.id, **_waits(ctx))
    if drift is None:
        line = "drift: unavailable here (the sandbox's CloudFormation has no drift detection)"
    elif drift:
        line = "drift: DRIFTED: " + ", ".join(f"{d['logical_id']} {d['drift']}" for d in drift)
    else:
        line = "drift: IN_SYNC"
    ctx.terminal.result(line, soft_wrap=True)
