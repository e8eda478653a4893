"""A stack set launch: the plan (accounts x regions x resources, cost) checked and resolved
before anything is made; then the record written ahead, the set created, its instances
deployed and each operation followed per account and region."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from amazonei_setup.aws.amis import resolve_ami
from amazonei_setup.aws.clients import AwsClients, aws_errors
from amazonei_setup.engines.cloudformation.template import Defaults, build_template
from amazonei_setup.engines.protocol import Environment, StackReporter
from amazonei_setup.engines.stackset import operations as ops
from amazonei_setup.engines.stackset.images import apply_choice, choose_image
from amazonei_setup.engines.stackset.plan import StackSetPlan
from amazonei_setup.engines.stackset.targets import Targets, resolve
from amazonei_setup.engines.stackset.template import stackset_template
from amazonei_setup.errors import InputError
from amazonei_setup.resources.naming import deployment_tags
from amazonei_setup.spec.catalog import Catalog, load_catalog
from amazonei_setup.spec.profile import Profile
from amazonei_setup.state.ledger import Edit, new_record, utc_now
from amazonei_setup.state.record import DeploymentRecord, RecordedStackSet


@dataclass
class StackSetOutcome:
    record: DeploymentRecord
    status: str  # the worst operation's: SUCCEEDED | FAILED | STOPPED

    @property
    def rows(self) -> list[dict[str, str]]:
        assert self.record.stack_set is not None
        return self.record.stack_set.instances


def refuse(profile: Profile, targets: Targets) -> None:
    """What one profile cannot be across accounts and regions (exit 2, nothing asked)."""
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


def recorded_already(deployment: str, region: str) -> InputError:
    return InputError(
        f"'{deployment}' is already recorded in {region}; a stack set launch does not update one",
        f"`amazonei-setup teardown {deployment}` first, or choose another --name",
    )


def plan_stackset(env: Environment, profile: Profile, targets: Targets) -> StackSetPlan:
    """Everything checked and resolved before anything is created."""
    refuse(profile, targets)
    catalog = load_catalog()
    clients = env.clients(profile.region)
    with aws_errors("reading your organization (AWS Organizations)"):
        resolved = resolve(clients.client("organizations"), targets)
    if not resolved.accounts:
        raise InputError(
            f"--ou {targets.ou} holds no account besides the management account",
            "move the attendees' accounts into it first, or give --accounts",
        )
    tags = deployment_tags(profile.name, profile.region, profile.tags)
    defaults = Defaults(ssh_cidr=_ssh_cidr(env, profile, clients))
    template = stackset_template(
        build_template(
            profile, catalog=catalog, signing_key=env.user_data_key(), defaults=defaults
        ),
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
    plan.image = choose_image(env, profile, catalog, list(targets.regions))
    apply_choice(plan.template, plan.image)
    plan.overrides = _image_overrides(env, plan, profile, catalog)
    plan.profile_document = profile.to_document()
    return plan


def _ssh_cidr(env: Environment, profile: Profile, clients: AwsClients) -> str | None:
    """The SSH source every stack allows: the profile's, or (auto) the caller's address /32,
    as the direct engine does."""
    if profile.access.mode != "ssh":
        return None
    if profile.access.ssh_cidr != "auto":
        return str(profile.access.ssh_cidr)
    return f"{env.ip_lookup(clients.target)}/32"


def _image_overrides(
    env: Environment, plan: StackSetPlan, profile: Profile, catalog: Catalog
) -> dict[str, list[dict[str, str]]]:
    """Where no public SSM parameter names the AMI, each region's own image (looked up in
    this account: public DLAMIs are the same in every account of a region)."""
    spec = plan.template["Parameters"].get("ImageId", {})
    if spec.get("Type") != "AWS::EC2::Image::Id":
        return {}
    overrides = {}
    for region in plan.targets.regions:
        here = profile.model_copy(update={"region": region})
        image = resolve_ami(env.clients(region), catalog, here)
        overrides[region] = [{"ParameterKey": "ImageId", "ParameterValue": image.id}]
    return overrides


def apply_stackset(
    env: Environment,
    reporter: StackReporter,
    plan: StackSetPlan,
    edit: Edit,
    endpoint_url: str | None,
) -> StackSetOutcome:
    """Record (write-ahead) → the set → its instances, each operation followed; the record
    ends `ready` or `incomplete`. `endpoint_url`: the one given (--endpoint-url), recorded."""
    if edit.record is not None:  # another run got there between the look and the lock
        raise recorded_already(plan.deployment, plan.region)
    cfn = env.clients(plan.region).client("cloudformation")
    record = new_record(
        plan.deployment, plan.region, plan.profile_document, endpoint_url, utc_now()
    )
    record.engine = "stackset"
    stack_set = RecordedStackSet(
        name=plan.name,
        ou=plan.targets.ou,
        accounts=list(plan.resolved.accounts),
        regions=list(plan.targets.regions),
        deployment_targets=plan.resolved.deployment_targets,
        auto_deployment=plan.auto_deployment,
    )
    record.stack_set = stack_set
    stack_set = record.stack_set  # the record's own (pydantic validates the assignment)
    edit.record = record
    edit.save()  # write-ahead: teardown can find the set even if we stop now
    stack_set.id = ops.create_stack_set(
        cfn,
        plan.name,
        plan.template,
        plan.tags,
        plan.auto_deployment,
        plan.template["Description"],
    )
    edit.save()
    status = _deploy_instances(env, reporter, cfn, plan, edit, stack_set)
    record.status = "ready" if status == "SUCCEEDED" else "incomplete"
    edit.save()
    return StackSetOutcome(record=record, status=status)


def _deploy_instances(
    env: Environment,
    reporter: StackReporter,
    cfn: Any,
    plan: StackSetPlan,
    edit: Edit,
    stack_set: RecordedStackSet,
) -> str:
    """One CreateStackInstances for all regions, or one per region when each needs its own
    AMI (operations on a set run one at a time); the worst status of them."""
    batches = (
        [([r], plan.overrides[r]) for r in plan.targets.regions]
        if plan.overrides
        else [(list(plan.targets.regions), [])]
    )
    worst = "SUCCEEDED"
    for regions, overrides in batches:
        operation = ops.create_instances(
            cfn, plan.name, plan.resolved.deployment_targets, regions, overrides
        )
        stack_set.operations.append(operation)
        edit.save()
        status = follow(env, reporter, cfn, plan.name, operation)
        if status != "SUCCEEDED":
            worst = status
    stack_set.instances = [r.to_dict() for r in ops.instances(cfn, plan.name)]
    return worst


def follow(env: Environment, reporter: StackReporter, cfn: Any, name: str, operation: str) -> str:
    """Wait for an operation, reporting each account and region as its status changes."""
    shown: dict[tuple[str, str], str] = {}

    def progress(rows: list[ops.InstanceRow]) -> None:
        for row in rows:
            state = f"{row.detailed or row.status}{': ' + row.reason if row.reason else ''}"
            if shown.get((row.account, row.region)) != state:
                shown[(row.account, row.region)] = state
                reporter.target_state(row.account, row.region, state)

    return ops.wait(cfn, name, operation, on_progress=progress, sleep=env.sleep, clock=env.clock)
