"""The instance profile that hands the deployment's role to its instances."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from amazonei_setup.aws.clients import AwsClients, aws_errors, is_error, unless_absent
from amazonei_setup.resources.adopt import create_or_adopt
from amazonei_setup.resources.iam_named import by_deployment, deployments_own
from amazonei_setup.resources.kind import (
    Action,
    ApplyRun,
    Collect,
    DiscoverInput,
    Found,
    PlanInput,
    PlannedResource,
    ResourceKind,
    TagChange,
    TeardownAction,
    TeardownRun,
    TeardownStep,
)
from amazonei_setup.resources.naming import (
    IAM_PATH,
    role_name,
    tag_dict,
    tag_list,
)
from amazonei_setup.resources.stack_form import (
    INSTANCE_PROFILE,
    REGION,
    ROLE,
    StackInput,
    StackPart,
    sub,
)
from amazonei_setup.resources.stack_handlers import handlers_of

if TYPE_CHECKING:
    from amazonei_setup.state.ledger import Ledger


def find(clients: AwsClients, profile_name: str) -> dict[str, Any] | None:
    with aws_errors(f"looking up instance profile {profile_name}"):
        found = unless_absent(
            lambda: clients.iam.get_instance_profile(InstanceProfileName=profile_name),
            "NoSuchEntity",
        )
    if found is None:
        return None
    profile = found["InstanceProfile"]
    return {
        "arn": profile["Arn"],
        "name": profile["InstanceProfileName"],
        "roles": [role["RoleName"] for role in profile.get("Roles", [])],
        "tags": tag_dict(profile.get("Tags")),
    }


def create(clients: AwsClients, profile_name: str, tags: dict[str, str]) -> str:
    return create_or_adopt(
        lambda: _create(clients, profile_name, tags),
        lambda: find(clients, profile_name),
        tags,
        f"instance profile {profile_name}",
    )


def _create(clients: AwsClients, profile_name: str, tags: dict[str, str]) -> str:
    with aws_errors(f"creating instance profile {profile_name}"):
        created = clients.iam.create_instance_profile(
            InstanceProfileName=profile_name, Path=IAM_PATH, Tags=tag_list(tags)
        )
    return str(created["InstanceProfile"]["Arn"])


def add_role(clients: AwsClients, profile_name: str, role_name: str) -> None:
    with aws_errors(f"adding role {role_name} to instance profile {profile_name}"):
        try:
            clients.iam.add_role_to_instance_profile(
                InstanceProfileName=profile_name, RoleName=role_name
            )
        except Exception as exc:
            # A profile holds one role; a resumed run may find ours already there.
            if not is_error(exc, "LimitExceeded", "EntityAlreadyExists"):
                raise


def delete(clients: AwsClients, profile_name: str, roles: list[str] | None = None) -> bool:
    """Take the roles out (those given, else those it holds now), then delete the profile;
    False when it was already gone."""
    if roles is None:
        found = find(clients, profile_name)
        if found is None:
            return False
        roles = found["roles"]
    with aws_errors(f"deleting instance profile {profile_name}"):
        for role in roles:
            unless_absent(
                partial(
                    clients.iam.remove_role_from_instance_profile,
                    InstanceProfileName=profile_name,
                    RoleName=role,
                ),
                "NoSuchEntity",
            )
        deleted = unless_absent(
            lambda: clients.iam.delete_instance_profile(InstanceProfileName=profile_name),
            "NoSuchEntity",
        )
    return deleted is not None


class InstanceProfileKind(ResourceKind):
    """Hands the role (of the same name) to the instances."""

    kind = "iam-instance-profile"
    caller_actions: ClassVar[dict[str, tuple[str, ...]]] = {
        "iam": (
            "iam:AddRoleToInstanceProfile",
            "iam:CreateInstanceProfile",
            "iam:DeleteInstanceProfile",
            "iam:GetInstanceProfile",
            "iam:RemoveRoleFromInstanceProfile",
            "iam:TagInstanceProfile",
            "iam:UntagInstanceProfile",
        )
    }
    title = "instance profile"
    count_key = "instance_profiles"
    after = ("iam-role",)

    def discover(self, look: DiscoverInput) -> Collect:
        name = role_name(look.profile.name, look.profile.region)
        found = look.pool.submit(find, look.clients, name)
        return lambda: (found.result(), 1)

    def plan(self, given: PlanInput) -> list[PlannedResource]:
        name = role_name(given.profile.name, given.profile.region)
        found = given.discovery.existing.of(self.kind)
        action: Action
        if found is None:
            action, why = "create", "hands the role to the instances"
        elif name not in found["roles"]:
            action, why = "update", "role not attached yet"
        else:
            action, why = "reuse", ""
        arn = found["arn"] if found else None
        return [
            PlannedResource(
                "instance_profile", self.kind, name, action, arn, given.keys("iam-role"), why=why
            )
        ]

    def step_calls(self, resource: PlannedResource) -> int:
        return {"create": 2, "reuse": 0}.get(resource.action, 1)  # create, then the role in it

    def apply(self, run: ApplyRun, resource: PlannedResource) -> str:
        arn = resource.id or create(run.clients, resource.name, run.tags)
        if resource.action == "create":
            run.remember(resource, arn, owned=True)
        add_role(run.clients, resource.name, resource.name)  # role and profile share a name
        return arn

    def inventory(
        self, clients: AwsClients, pool: ThreadPoolExecutor, name: str, region: str
    ) -> Future[list[Any]]:
        return pool.submit(deployments_own, find, clients, name, region)

    def region_inventory(self, clients: AwsClients, region: str) -> dict[str, list[Any]]:
        with aws_errors("listing instance profiles"):
            pages = clients.iam.get_paginator("list_instance_profiles").paginate(
                PathPrefix=IAM_PATH
            )
            names = [p["InstanceProfileName"] for page in pages for p in page["InstanceProfiles"]]
        return by_deployment(find, clients, names, region)

    def retag(
        self, clients: AwsClients, found: Found, change: TagChange, ec2_ids: list[str]
    ) -> None:
        for holder in found.of(self.kind):
            name = holder["name"]
            if change.put:
                clients.iam.tag_instance_profile(
                    InstanceProfileName=name, Tags=tag_list(change.put)
                )
            if change.remove:
                clients.iam.untag_instance_profile(InstanceProfileName=name, TagKeys=change.remove)

    def teardown(self, found: Found, home: Path, ledger: Ledger) -> list[TeardownStep]:
        holders = found.of(self.kind)
        actions = tuple(TeardownAction("delete", self.kind, h["name"], h["arn"]) for h in holders)
        return [TeardownStep("instance_profile", self.kind, actions)] if actions else []

    def remove(self, run: TeardownRun, step: TeardownStep) -> list[TeardownAction]:
        roles = {h["name"]: list(h.get("roles", [])) for h in run.found.of(self.kind)}
        for action in step.actions:
            delete(run.clients, action.name, roles.get(action.name))
        return list(step.actions)

    stack_handlers: ClassVar[dict[str, tuple[str, ...]]] = handlers_of("AWS::IAM::InstanceProfile")
    stack_records: ClassVar[dict[str, str]] = {INSTANCE_PROFILE: "instance_profile"}

    def stack_part(self, given: StackInput, seat: int | None) -> StackPart:
        if seat is not None:
            return StackPart()
        properties = {
            "InstanceProfileName": sub(role_name(given.profile.name, REGION)),
            "Path": IAM_PATH,
            "Roles": [{"Ref": ROLE}],
        }
        return StackPart(
            {INSTANCE_PROFILE: {"Type": "AWS::IAM::InstanceProfile", "Properties": properties}}
        )


KIND = InstanceProfileKind()
