"""What exists in AWS for a deployment, found by its tags alone (the record may be lost), and
every managed resource of a region grouped by deployment (for --all, --tag and sweep)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from amazonei_setup.aws import AwsClients
from amazonei_setup.resources import endpoint as endpoint_res
from amazonei_setup.resources import instance as instance_res
from amazonei_setup.resources import instance_profile as instance_profile_res
from amazonei_setup.resources import key_pair as key_pair_res
from amazonei_setup.resources import parameters as parameters_res
from amazonei_setup.resources import role as role_res
from amazonei_setup.resources import security_group as sg_res
from amazonei_setup.resources.naming import (
    PREFIX,
    TAG_DEPLOYMENT,
    TAG_ENDPOINT_USER_PREFIX,
    TAG_MANAGED,
    TAG_REGION,
    endpoint_user_tag,
    report_parameter_prefix,
    role_name,
)


@dataclass
class DeploymentResources:
    """One deployment's footprint in one region. Only resources carrying our tags are here."""

    name: str
    region: str
    instances: list[instance_res.LaunchedInstance] = field(default_factory=list)
    security_groups: list[dict[str, Any]] = field(default_factory=list)
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    key_pairs: list[dict[str, Any]] = field(default_factory=list)
    role: dict[str, Any] | None = None
    instance_profile: dict[str, Any] | None = None
    parameters: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.instances
            or self.security_groups
            or self.endpoints
            or self.key_pairs
            or self.role
            or self.instance_profile
            or self.parameters
        )

    def user_tags(self) -> dict[str, str]:
        """The user's own tags, as carried by the deployment's resources."""
        for tags in [i.tags for i in self.instances] + [g["tags"] for g in self.security_groups]:
            if tags:
                return {k: v for k, v in tags.items() if not k.startswith(f"{PREFIX}:")}
        return {}

    def counts(self) -> dict[str, int]:
        return {
            "instances": len(self.instances),
            "security_groups": len(self.security_groups),
            "endpoints": len(self.endpoints),
            "key_pairs": len(self.key_pairs),
            "iam_roles": int(self.role is not None),
            "instance_profiles": int(self.instance_profile is not None),
            "ssm_parameters": len(self.parameters),
        }


def endpoint_users(endpoint: dict[str, Any]) -> set[str]:
    """The deployments a shared endpoint serves, from its user tags."""
    prefix = TAG_ENDPOINT_USER_PREFIX
    return {key[len(prefix) :] for key in endpoint["tags"] if key.startswith(prefix)}


def _ours(tags: dict[str, str] | None, name: str, region: str) -> bool:
    """Carries our managed tag and this deployment's name (and region, where recorded)."""
    tags = tags or {}
    return (
        tags.get(TAG_MANAGED) == "true"
        and tags.get(TAG_DEPLOYMENT) == name
        and tags.get(TAG_REGION, region) == region
    )


def deployment_resources(clients: AwsClients, name: str, region: str) -> DeploymentResources:
    """Everything of deployment `name` in `region`, by tag (and by our naming for IAM); the
    lookups are independent, so they run at once."""
    from concurrent.futures import ThreadPoolExecutor

    by_name = [{"Name": f"tag:{TAG_DEPLOYMENT}", "Values": [name]}]
    managed = [*by_name, {"Name": f"tag:{TAG_MANAGED}", "Values": ["true"]}]
    user_tag = endpoint_user_tag(name)
    iam_name = role_name(name, region)
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="inventory") as pool:
        instances = pool.submit(instance_res.find_tagged, clients, by_name)
        groups = pool.submit(sg_res.find_tagged, clients, managed)
        used = pool.submit(
            endpoint_res.find_tagged, clients, [{"Name": "tag-key", "Values": [user_tag]}]
        )
        created = pool.submit(endpoint_res.find_tagged, clients, managed)
        key_pairs = pool.submit(key_pair_res.find_tagged, clients, managed)
        role = pool.submit(role_res.find, clients, iam_name)
        holder = pool.submit(instance_profile_res.find, clients, iam_name)
        parameters = pool.submit(parameters_res.find, clients, report_parameter_prefix(name))
    found = DeploymentResources(name=name, region=region)
    found.instances = instances.result()
    found.security_groups = groups.result()
    found.endpoints = used.result() + [e for e in created.result() if user_tag not in e["tags"]]
    found.key_pairs = key_pairs.result()
    ours = role.result()
    found.role = ours if ours and _ours(ours.get("tags"), name, region) else None
    held = holder.result()
    found.instance_profile = held if held and _ours(held.get("tags"), name, region) else None
    found.parameters = parameters.result()
    return found


def region_inventory(clients: AwsClients, region: str) -> dict[str, DeploymentResources]:
    """Every managed resource in the region, grouped by the deployment named in its tags."""
    managed = [{"Name": f"tag:{TAG_MANAGED}", "Values": ["true"]}]
    groups: dict[str, DeploymentResources] = {}

    def group(name: str) -> DeploymentResources:
        return groups.setdefault(name, DeploymentResources(name=name, region=region))

    for instance in instance_res.find_tagged(clients, []):
        group((instance.tags or {}).get(TAG_DEPLOYMENT, "?")).instances.append(instance)
    for sg in sg_res.find_tagged(clients, managed):
        group(sg["tags"].get(TAG_DEPLOYMENT, "?")).security_groups.append(sg)
    for endpoint in endpoint_res.find_tagged(clients, managed):
        users = endpoint_users(endpoint)
        for user in users or [endpoint["tags"].get(TAG_DEPLOYMENT, "?")]:
            group(user).endpoints.append(endpoint)
    for pair in key_pair_res.find_tagged(clients, managed):
        group(pair["tags"].get(TAG_DEPLOYMENT, "?")).key_pairs.append(pair)
    for kind, found in _iam_by_region(clients, region):
        target = group(found["tags"].get(TAG_DEPLOYMENT, "?"))
        setattr(target, kind, found)
    for parameter in parameters_res.find(clients, f"/{PREFIX}/"):
        parts = parameter.strip("/").split("/")
        if len(parts) >= 2:
            group(parts[1]).parameters.append(parameter)
    return groups


def _iam_by_region(clients: AwsClients, region: str):
    """Our roles and instance profiles (under our IAM path) that belong to this region."""
    from amazonei_setup.aws import aws_errors
    from amazonei_setup.resources.naming import IAM_PATH

    with aws_errors("listing IAM roles and instance profiles"):
        roles = [
            role
            for page in clients.iam.get_paginator("list_roles").paginate(PathPrefix=IAM_PATH)
            for role in page["Roles"]
        ]
        holders = [
            holder
            for page in clients.iam.get_paginator("list_instance_profiles").paginate(
                PathPrefix=IAM_PATH
            )
            for holder in page["InstanceProfiles"]
        ]

    def in_region(found: dict[str, Any] | None) -> bool:
        tags = (found or {}).get("tags", {})
        return tags.get(TAG_MANAGED) == "true" and tags.get(TAG_REGION) == region

    for role in roles:
        found = role_res.find(clients, role["RoleName"])
        if found and in_region(found):
            yield "role", found
    for holder in holders:
        found = instance_profile_res.find(clients, holder["InstanceProfileName"])
        if found and in_region(found):
            yield "instance_profile", found
