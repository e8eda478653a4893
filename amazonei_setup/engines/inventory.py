"""What exists in AWS for a deployment, found by its tags alone (the record may be lost), and
every managed resource of a region grouped by deployment (for --all, --tag and sweep). Each kind
finds its own (`resources.registry`)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from amazonei_setup.aws.clients import AwsClients
from amazonei_setup.resources.kind import Found
from amazonei_setup.resources.naming import PREFIX
from amazonei_setup.resources.registry import kinds


@dataclass
class DeploymentResources(Found):
    """One deployment's footprint in one region. Only resources carrying our tags are here."""

    @property
    def empty(self) -> bool:
        return not any(self.items.values())

    def user_tags(self) -> dict[str, str]:
        """The user's own tags, as carried by the deployment's own resources."""
        for kind in kinds():
            for item in self.of(kind.kind) if kind.own else []:
                tags = kind.tags_of(item)
                if tags:
                    return {k: v for k, v in tags.items() if not k.startswith(f"{PREFIX}:")}
        return {}

    def own_tags(self) -> list[dict[str, str]]:
        """The tags of what the deployment alone owns (a shared endpoint left out)."""
        return [kind.tags_of(i) for kind in kinds() if kind.own for i in self.of(kind.kind)]

    def counts(self) -> dict[str, int]:
        return {k.count_key: len(self.of(k.kind)) for k in kinds() if k.count_key is not None}


def deployment_resources(clients: AwsClients, name: str, region: str) -> DeploymentResources:
    """Everything of deployment `name` in `region`, by tag (and by our naming for IAM); the
    kinds' lookups are independent, so they run at once."""
    found = DeploymentResources(name=name, region=region)
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="inventory") as pool:
        lookups: list[tuple[str, Any]] = [
            (kind.kind, kind.inventory(clients, pool, name, region)) for kind in kinds()
        ]
    for kind_name, lookup in lookups:
        if lookup is not None:
            found.items[kind_name] = lookup.result()
    return found


def region_inventory(clients: AwsClients, region: str) -> dict[str, DeploymentResources]:
    """Every managed resource in the region, grouped by the deployment named in its tags."""
    groups: dict[str, DeploymentResources] = {}
    for kind in kinds():
        for name, items in kind.region_inventory(clients, region).items():
            target = groups.setdefault(name, DeploymentResources(name=name, region=region))
            target.of(kind.kind).extend(items)
    return groups
