"""A CloudFormation launch: discovery (the direct engine's), the template, the change set that
is its plan; then, once approved, the record written ahead, the change set executed (its
events reported) and the stack's instances and key files mirrored into the record in the
direct engine's shape, so `verify` and `connect` work unchanged."""

from __future__ import annotations

from dataclasses import dataclass

from amazonei_setup.aws.clients import AwsClients
from amazonei_setup.aws.discovered import SeatKey
from amazonei_setup.engines.cloudformation import stack as cfn
from amazonei_setup.engines.cloudformation.template import (
    Defaults,
    build_template,
    direct_shape,
    template_json,
)
from amazonei_setup.engines.direct.apply import connect_command
from amazonei_setup.engines.direct.engine import plan_launch
from amazonei_setup.engines.plan import Plan
from amazonei_setup.engines.protocol import Environment, StackReporter
from amazonei_setup.errors import AwsFailure, InputError
from amazonei_setup.resources import instance as instance_res
from amazonei_setup.resources.key_pair import private_key_path
from amazonei_setup.resources.naming import deployment_tags
from amazonei_setup.spec.profile import Profile
from amazonei_setup.spec.ttl import utc_iso
from amazonei_setup.state.ledger import Edit, new_record
from amazonei_setup.state.paths import write_private
from amazonei_setup.state.record import (
    DeploymentRecord,
    RecordedInstance,
    RecordedResource,
    RecordedStack,
)


@dataclass
class StackPlan:
    """The plan of a stack launch: the direct plan it came from (discovery), and the change
    set CloudFormation made of the template (shown, then executed or discarded)."""

    plan: Plan
    name: str
    change_set: cfn.ChangeSet
    clients: AwsClients

    @property
    def changes(self) -> list[cfn.Change]:
        return self.change_set.changes


@dataclass
class StackOutcome:
    record: DeploymentRecord
    result: cfn.StackResult


def refuse(profile: Profile) -> None:
    """What a stack cannot keep, refused before anything is asked of AWS (exit 2)."""
    if profile.ttl is not None:  # sweep --expired removes resources one by one, not stacks
        raise InputError(
            "a time-to-live is not supported with --engine cloudformation",
            "drop --ttl (or ttl: in the profile); `teardown NAME` deletes the stack",
        )


def check_vpc_fits_a_stack(plan: Plan, record: DeploymentRecord | None) -> None:
    """What the template cannot change in a VPC, refused before anything is made (exit 2): a
    private-DNS Elastic Inference endpoint another deployment made (AWS refuses a second one
    for the same service: the direct engine shares it), and DNS attributes that are off."""
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
    vpc_dns = plan.get("vpc_dns")
    if vpc_dns is not None and vpc_dns.action != "reuse":
        raise InputError(
            f"VPC {vpc} has DNS support or DNS hostnames off; the endpoint's private DNS needs "
            "both, and a template cannot turn them on",
            f"turn them on (aws ec2 modify-vpc-attribute --vpc-id {vpc} "
            "--enable-dns-hostnames), or launch with the direct engine, which does",
        )


def plan_stack(env: Environment, profile: Profile, record: DeploymentRecord | None) -> StackPlan:
    """Discover → template → change set. An update that changes nothing leaves no change set
    behind (it is discarded at once); a create always has changes."""
    plan = plan_launch(env, profile, record)
    discovery = plan.discovery
    check_vpc_fits_a_stack(plan, record)
    defaults = Defaults(discovery.vpc_id, discovery.subnets[0].id, discovery.ssh_cidr)
    template = build_template(
        profile, ami=discovery.ami, signing_key=env.user_data_key(), defaults=defaults
    )
    parameters = {k: v["Default"] for k, v in template["Parameters"].items() if "Default" in v}
    if template["Parameters"]["ImageId"]["Type"] == "AWS::EC2::Image::Id":
        parameters["ImageId"] = discovery.ami.id
    name = cfn.stack_name(profile.name)
    tags = deployment_tags(profile.name, profile.region, profile.tags)
    clients = env.clients(profile.region)
    change_set = cfn.create_change_set(
        clients,
        name,
        template_json(template),
        parameters,
        tags,
        sleep=env.sleep,
        clock=env.clock,
    )
    if not change_set.changes and change_set.kind == "UPDATE":
        cfn.discard_change_set(clients, change_set)
    return StackPlan(plan=plan, name=name, change_set=change_set, clients=clients)


def apply_stack(
    env: Environment, reporter: StackReporter, stack_plan: StackPlan, edit: Edit
) -> StackOutcome:
    """Record (write-ahead) → execute the change set (events reported) → mirror → record."""
    plan, clients, name = stack_plan.plan, stack_plan.clients, stack_plan.name
    profile, discovery = plan.profile, plan.discovery
    record = edit.record or new_record(
        profile.name,
        profile.region,
        profile.to_document(),
        clients.target.endpoint_url,
        utc_iso(env.now()),
    )
    record.engine = "cloudformation"
    record.stack = RecordedStack(id=stack_plan.change_set.stack_id, name=name, status="executing")
    record.account_id, record.vpc_id = discovery.account_id, discovery.vpc_id
    record.status = "applying"
    edit.record = record
    edit.save()  # write-ahead: a failed or interrupted stack can always be torn down
    reporter.stage(f"Stack {name}: executing the change set")
    result = cfn.execute(
        clients,
        stack_plan.change_set,
        on_event=reporter.stack_event,
        sleep=env.sleep,
        clock=env.clock,
    )
    record.stack.status = result.status
    if result.failure:
        record.status = "incomplete"
        edit.save()
        raise AwsFailure(
            f"stack {name} failed ({result.status}): {result.failure}",
            f"CloudFormation rolled back what it made; `amazonei-setup teardown {profile.name} "
            f"--region {profile.region}` deletes the stack and the record",
        )
    mirror(env, clients, record, plan)
    record.status = "ready"
    edit.save()
    return StackOutcome(record=record, result=result)


def mirror(env: Environment, clients: AwsClients, record: DeploymentRecord, plan: Plan) -> None:
    """Instances and key files of the stack, in the direct engine's record shape; each created
    key pair's private key is fetched from SSM and written 0600 like a direct launch's."""
    assert record.stack is not None
    profile = plan.profile
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
            path = private_key_path(env.home, profile.region, item["id"])
            write_private(path, secret)
            entry.private_key = str(path)
            if seat is not None:  # a key pair is per seat (KeyPairSeat<N>)
                plan.discovery.keys[seat] = SeatKey(name=item["id"], path=path)
        record.resources[key] = entry
    ids = [r["id"] for r in resources if r["type"] == "AWS::EC2::Instance"]
    record.instances = []
    for found_instance in sorted(instance_res.describe(clients, ids), key=lambda i: i.id):
        record.instances.append(
            RecordedInstance(
                **{
                    k: v
                    for k, v in found_instance.to_dict().items()
                    if k in RecordedInstance.model_fields
                },
                connect=connect_command(profile, plan.discovery, found_instance),
            )
        )
    record.instances.sort(key=lambda i: i.seat)
