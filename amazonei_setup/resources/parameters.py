"""The agent's SSM report parameters under /amazonei-setup/<name>/: written by the instances,
not by a launch, so this kind has nothing to plan; teardown lists them again once the
instances are gone, so an agent that publishes late leaves nothing behind."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from amazonei_setup.aws.clients import AwsClients, aws_errors
from amazonei_setup.resources.kind import (
    Found,
    ResourceKind,
    TeardownAction,
    TeardownRun,
    TeardownStep,
    grouped,
)
from amazonei_setup.resources.naming import PREFIX, report_parameter_prefix

if TYPE_CHECKING:
    from amazonei_setup.state.ledger import Ledger


def find(clients: AwsClients, path: str) -> list[str]:
    with aws_errors(f"listing SSM parameters under {path}"):
        pages = clients.ssm.get_paginator("get_parameters_by_path").paginate(
            Path=path.rstrip("/") or "/", Recursive=True
        )
        return [p["Name"] for page in pages for p in page["Parameters"]]


def delete(clients: AwsClients, names: list[str]) -> None:
    """Ten at a time, the API's limit; names already gone are ignored by AWS."""
    with aws_errors("deleting SSM parameters"):
        for start in range(0, len(names), 10):
            clients.ssm.delete_parameters(Names=names[start : start + 10])


class ReportParameterKind(ResourceKind):
    kind = "ssm-parameter"
    caller_actions: ClassVar[dict[str, tuple[str, ...]]] = {
        "ssm": (
            "ssm:DeleteParameters",
            "ssm:GetParameter",
            "ssm:GetParametersByPath",
            "ssm:ListTagsForResource",  # who wrote a report (report_scope.py)
        )
    }
    title = "SSM parameter"
    count_key = "ssm_parameters"
    teardown_after = ("ec2-instance",)  # once no agent can publish any more
    appears_on_its_own = True

    def inventory(
        self, clients: AwsClients, pool: ThreadPoolExecutor, name: str, region: str
    ) -> Future[list[Any]]:
        return pool.submit(find, clients, report_parameter_prefix(name))

    def region_inventory(self, clients: AwsClients, region: str) -> dict[str, list[Any]]:
        names = find(clients, f"/{PREFIX}/")
        parts = [(n, n.strip("/").split("/")) for n in names]
        # A deployment name has no '.': `/amazonei-setup/.claims/` is the claim kind's.
        return grouped([(p[1], n) for n, p in parts if len(p) >= 2 and not p[1].startswith(".")])

    def tags_of(self, item: Any) -> dict[str, str]:
        return {}

    def teardown(self, found: Found, home: Path, ledger: Ledger) -> list[TeardownStep]:
        actions = tuple(TeardownAction("delete", self.kind, n, n) for n in found.of(self.kind))
        if not actions and not found.of("ec2-instance"):
            return []
        return [TeardownStep("reports", self.kind, actions)]

    def remove(self, run: TeardownRun, step: TeardownStep) -> list[TeardownAction]:
        actions = list(step.actions)
        if run.found.of("ec2-instance"):
            known = {a.id for a in actions}
            late = find(run.clients, report_parameter_prefix(run.name))
            actions += [TeardownAction("delete", self.kind, n, n) for n in late if n not in known]
        if actions:
            delete(run.clients, [a.id for a in actions])
        return actions


KIND = ReportParameterKind()
