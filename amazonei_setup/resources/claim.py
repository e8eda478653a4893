"""The deployment's name, claimed in AWS before anything else is made: an SSM parameter
`/amazonei-setup/.claims/<name>` holding the id of the state home that launched it. PutParameter
without Overwrite is atomic, so of two state homes launching one name at once exactly one
wins; the other stops before it has created anything (not check-then-act). A deployment name
cannot contain '.', so the claims never mix with a deployment's own reports."""

from __future__ import annotations

import secrets
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from amazonei_setup.aws.clients import AwsClients, aws_errors, is_error, unless_absent
from amazonei_setup.errors import InputError
from amazonei_setup.resources.kind import (
    ApplyRun,
    Collect,
    DiscoverInput,
    Found,
    PlanInput,
    PlannedResource,
    ResourceKind,
    TeardownAction,
    TeardownRun,
    TeardownStep,
    grouped,
)
from amazonei_setup.resources.naming import PREFIX
from amazonei_setup.state.paths import write_private

if TYPE_CHECKING:
    from amazonei_setup.state.ledger import Ledger

CLAIMS = f"/{PREFIX}/.claims"


def claim_name(deployment: str) -> str:
    return f"{CLAIMS}/{deployment}"


def home_id(home: Path) -> str:
    """This state home's id (made 0600 on first use): what its claims hold."""
    path = home / "home-id"
    if not path.exists():
        write_private(path, secrets.token_hex(16))
    return path.read_text(encoding="utf-8").strip()


def holder(clients: AwsClients, deployment: str) -> str | None:
    """The id of the state home that holds the name, or None when nobody does."""
    name = claim_name(deployment)
    with aws_errors(f"reading the claim on '{deployment}'"):
        found = unless_absent(lambda: clients.ssm.get_parameter(Name=name), "ParameterNotFound")
    return str(found["Parameter"]["Value"]) if found else None


def taken_error(deployment: str, region: str) -> InputError:
    return InputError(
        f"'{deployment}' in {region} is claimed by another state home (another machine's, a "
        "lost state home, or a launch that started a moment earlier); nothing was created",
        f"choose another --name, or remove it with `amazonei-setup teardown {deployment} "
        f"--region {region}`",
    )


class ClaimKind(ResourceKind):
    kind = "deployment-claim"
    title = "name claim"
    count_key = "claims"
    gate = True  # every other resource is made after it, and removed before it
    caller_actions: ClassVar[dict[str, tuple[str, ...]]] = {
        "ssm": ("ssm:DeleteParameter", "ssm:GetParameter", "ssm:PutParameter")
    }

    def discover(self, look: DiscoverInput) -> Collect:
        found = look.pool.submit(holder, look.clients, look.profile.name)
        return lambda: (found.result(), 1)

    def plan(self, given: PlanInput) -> list[PlannedResource]:
        name = claim_name(given.profile.name)
        held = given.discovery.existing.of(self.kind)
        if held is None:
            return [
                PlannedResource(
                    "claim", self.kind, name, "create", why="claims the name before anything else"
                )
            ]
        return [PlannedResource("claim", self.kind, name, "reuse", name, details=held)]

    def preflight(self, clients: AwsClients, plan: Any, home: Path) -> None:
        claim = next((r for r in plan.resources if r.kind == self.kind), None)
        if claim is not None and claim.action == "reuse" and claim.details != home_id(home):
            raise taken_error(plan.profile.name, plan.profile.region)

    def apply(self, run: ApplyRun, resource: PlannedResource) -> str:
        ours = run.home_id
        with aws_errors(f"claiming the name '{run.profile.name}'"):
            try:
                run.clients.ssm.put_parameter(
                    Name=resource.name,
                    Value=ours,
                    Type="String",
                    Overwrite=False,
                    Description="amazonei-setup: the state home that holds this deployment name",
                )
            except Exception as exc:
                if not is_error(exc, "ParameterAlreadyExists"):
                    raise
                if holder(run.clients, run.profile.name) != ours:  # ours: a lost answer
                    raise taken_error(run.profile.name, run.profile.region) from None
        return resource.name

    def inventory(
        self, clients: AwsClients, pool: ThreadPoolExecutor, name: str, region: str
    ) -> Future[list[Any]]:
        def ours() -> list[Any]:
            held = holder(clients, name)
            return [] if held is None else [{"id": claim_name(name), "name": claim_name(name)}]

        return pool.submit(ours)

    def region_inventory(self, clients: AwsClients, region: str) -> dict[str, list[Any]]:
        with aws_errors("listing deployment claims"):
            pages = clients.ssm.get_paginator("get_parameters_by_path").paginate(Path=CLAIMS)
            names = [p["Name"] for page in pages for p in page["Parameters"]]
        return grouped([(n.rsplit("/", 1)[1], {"id": n, "name": n}) for n in names])

    def tags_of(self, item: Any) -> dict[str, str]:
        return {}

    def teardown(self, found: Found, home: Path, ledger: Ledger) -> list[TeardownStep]:
        actions = tuple(
            TeardownAction("delete", self.kind, c["name"], c["id"]) for c in found.of(self.kind)
        )
        return [TeardownStep("claim", self.kind, actions)] if actions else []

    def remove(self, run: TeardownRun, step: TeardownStep) -> list[TeardownAction]:
        for action in step.actions:
            with aws_errors(f"releasing the claim {action.name}"):
                unless_absent(
                    partial(run.clients.ssm.delete_parameter, Name=action.name),
                    "ParameterNotFound",
                )
        return list(step.actions)


KIND = ClaimKind()
