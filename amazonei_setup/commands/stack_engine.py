"""`launch --engine cloudformation`, and `teardown`/`status` of such a deployment: the template
deployed as stack `amazonei-setup-<name>` through a change set that is shown, confirmed and
executed, its events as the progress. The record keeps the stack, and mirrors its instances and
key files in the direct engine's shape so `verify` and `connect` work unchanged."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from amazonei_setup.commands.context import (
    Context,
    clients_for,
    confirm,
    discover_and_plan,
    wall_clock,
)
from amazonei_setup.errors import EXIT_OK, AwsFailure

PHYSICAL_KINDS = {"AWS::EC2::Instance": "ec2-instance", "AWS::EC2::KeyPair": "key-pair"}


def _sleep(ctx: Context) -> Any:
    import time

    return ctx.hooks.sleep or time.sleep


def _on_event(ctx: Context) -> Any:
    def show(event: dict[str, Any]) -> None:
        reason = event.get("ResourceStatusReason") or ""
        line = f"  {event.get('ResourceStatus', '')} {event['LogicalResourceId']}"
        line += f" ({event.get('ResourceType', '')})" + (f": {reason}" if reason else "")
        ctx.terminal.err.print(line, soft_wrap=True, markup=False)

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
    from amazonei_setup.cloudformation import stack as cfn
    from amazonei_setup.cloudformation.template import Defaults, build_template, template_json
    from amazonei_setup.ledger import new_record
    from amazonei_setup.record import RecordedStack
    from amazonei_setup.resources.naming import deployment_tags
    from amazonei_setup.ttl import utc_iso

    clients, plan = discover_and_plan(ctx, profile, edit.record)
    discovery = plan.discovery
    key = None
    if ctx.args.sandbox:  # the sandbox runs only user data signed with the home's key
        from amazonei_setup.userdata import sandbox_signing_key

        key = sandbox_signing_key(ctx.home)
    defaults = Defaults(discovery.vpc_id, discovery.subnets[0].id, discovery.ssh_cidr)
    template = build_template(profile, ami=discovery.ami, signing_key=key, defaults=defaults)
    parameters = {k: v["Default"] for k, v in template["Parameters"].items() if "Default" in v}
    if template["Parameters"]["ImageId"]["Type"] == "AWS::EC2::Image::Id":
        parameters["ImageId"] = discovery.ami.id
    name = cfn.stack_name(profile.name)
    tags = deployment_tags(profile.name, profile.region, profile.tags)
    sleep = _sleep(ctx)
    change_set = cfn.create_change_set(
        clients, name, template_json(template), parameters, tags, sleep=sleep
    )
    ctx.terminal.say(change_table(name, change_set))
    if not change_set.changes:
        if change_set.kind == "UPDATE":
            cfn.discard_change_set(clients, change_set)
        ctx.terminal.say(f"Stack {name} is up to date: nothing to change.")
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
    result = cfn.execute(clients, change_set, on_event=_on_event(ctx), sleep=sleep)
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
        ctx.terminal.err.print(f"seat {seat.seat}: {seat.connect}", soft_wrap=True, markup=False)
    ctx.terminal.say(
        f"Stack {name} is {result.status}. `amazonei-setup verify {profile.name}` reads the "
        f"agents' reports; `amazonei-setup teardown {profile.name}` deletes the stack."
    )
    return EXIT_OK


def _mirror(ctx: Context, clients: Any, profile: Any, record: Any, plan: Any) -> None:
    """Instances and key files of the stack, in the direct engine's record shape; each created
    key pair's private key is fetched from SSM and written 0600 like a direct launch's."""
    from amazonei_setup.apply import connect_command
    from amazonei_setup.cloudformation import stack as cfn
    from amazonei_setup.discovered import SeatKey
    from amazonei_setup.paths import write_private
    from amazonei_setup.record import RecordedInstance, RecordedResource
    from amazonei_setup.resources import instance as instance_res
    from amazonei_setup.resources.key_pair import private_key_path

    resources = cfn.resources(clients, record.stack.id)
    record.resources = {}
    for item in resources:
        kind = PHYSICAL_KINDS.get(item["type"], item["type"])
        seat = (
            int(item["logical_id"].rsplit("Seat", 1)[1]) if "Seat" in item["logical_id"] else None
        )
        entry = RecordedResource(
            kind=kind,
            name=item["logical_id"],
            id=item["id"],
            action="created",
            owned=True,
            seat=seat,
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
        record.resources[f"{kind}:{item['logical_id']}"] = entry
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
    from amazonei_setup.cloudformation import stack as cfn
    from amazonei_setup.ledger import Ledger

    clients = clients_for(ctx, record.region)
    live = cfn.find_stack(clients, record.stack.id)
    items = cfn.resources(clients, record.stack.id) if live else []
    table = Table(title=f"Stack {record.stack.name} ({live['StackStatus'] if live else 'gone'})")
    for column in ("logical id", "type", "id"):
        table.add_column(column)
    for item in items:
        table.add_row(item["logical_id"], item["type"], item["id"])
    ctx.terminal.say(table)
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
        result = cfn.delete(clients, record.stack.id, on_event=_on_event(ctx), sleep=_sleep(ctx))
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
    ctx.terminal.say(f"Stack {record.stack.name} deleted; its key files and record removed.")
    return EXIT_OK


def stack_status(ctx: Context, record: Any) -> None:
    """The stack's status, and its drift (where drift detection is available)."""
    from amazonei_setup.cloudformation import stack as cfn

    clients = clients_for(ctx, record.region)
    live = cfn.find_stack(clients, record.stack.id)
    status = live["StackStatus"] if live else "DELETED"
    ctx.terminal.err.print(f"stack {record.stack.name}: {status}", soft_wrap=True, markup=False)
    if not live:
        return
    drift = cfn.drifted(clients, record.stack.id, sleep=_sleep(ctx))
    if drift is None:
        line = "drift: unavailable here (the sandbox's CloudFormation has no drift detection)"
    elif drift:
        line = "drift: DRIFTED: " + ", ".join(f"{d['logical_id']} {d['drift']}" for d in drift)
    else:
        line = "drift: IN_SYNC"
    ctx.terminal.err.print(line, soft_wrap=True, markup=False)
