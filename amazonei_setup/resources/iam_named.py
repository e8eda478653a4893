"""What the role and its instance profile share: IAM is global, so both are named after the
deployment and its region, found by that name, and listed under our IAM path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from amazonei_setup.aws.clients import AwsClients
from amazonei_setup.resources.kind import grouped
from amazonei_setup.resources.naming import TAG_DEPLOYMENT, in_region, owned_by, role_name

Find = Callable[[AwsClients, str], "dict[str, Any] | None"]


def deployments_own(find: Find, clients: AwsClients, name: str, region: str) -> list[Any]:
    """The deployment's one entity of this kind, when it exists and carries its tags."""
    found = find(clients, role_name(name, region))
    return [found] if found and owned_by(found.get("tags"), name, region) else []


def by_deployment(
    find: Find, clients: AwsClients, names: list[str], region: str
) -> dict[str, list[Any]]:
    """The listed entities that belong to `region`, by the deployment their tags name."""
    found = [find(clients, name) for name in names]
    return grouped(
        [(f["tags"].get(TAG_DEPLOYMENT, "?"), f) for f in found if f and in_region(f, region)]
    )
