"""Names and tags every resource of a deployment carries: the second source of truth after the
local record, so a deployment can be found (and torn down) from AWS alone."""

from __future__ import annotations

from typing import Any

TAG_DEPLOYMENT = "amazonei-setup:deployment"
TAG_MANAGED = "amazonei-setup:managed"
TAG_SEAT = "amazonei-setup:seat"
TAG_ACCELERATOR = "amazonei-setup:accelerator"  # what an instance was launched with (or none)
TAG_ENDPOINT_USER_PREFIX = "amazonei-setup:user:"
TAG_REGION = "amazonei-setup:region"
TAG_EXPIRES = "amazonei-setup:expires-at"  # ISO-8601 UTC; `sweep --expired` reads it
TAG_REPORTER = "amazonei-setup:reporter"  # on a report parameter: the writing instance's ARN
PREFIX = "amazonei-setup"
IAM_PATH = "/amazonei-setup/"  # roles and instance profiles live under it: easy to list, to scope


def deployment_tags(
    name: str,
    region: str,
    user_tags: dict[str, str] | None = None,
    expires_at: str | None = None,
) -> dict[str, str]:
    """The user's tags plus ours (ours win: they are what teardown trusts). The region tag
    lets global IAM resources be told apart per region; the expiry tag lets a deployment
    whose record is elsewhere (a CI machine's) be swept once its time-to-live has passed."""
    tags = {**(user_tags or {}), TAG_DEPLOYMENT: name, TAG_MANAGED: "true", TAG_REGION: region}
    if expires_at is not None:
        tags[TAG_EXPIRES] = expires_at
    return tags


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def tag_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags or []}


def tag_specifications(resource_types: list[str], tags: dict[str, str]) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": tag_list(tags)} for kind in resource_types]


def role_name(name: str, region: str) -> str:
    """IAM is global while deployment names are unique per region, so the region is in the name."""
    return f"{PREFIX}-{region}-{name}"


def instance_sg_name(name: str) -> str:
    return f"{PREFIX}-{name}-instance"


def endpoint_sg_name(name: str) -> str:
    return f"{PREFIX}-{name}-endpoint"


def key_pair_name(name: str, seat: int = 1) -> str:
    """One key pair per seat, so a workshop hands each attendee only their own key. Seat 1 keeps
    the plain name; '.' cannot occur in deployment names, so `demo.seat2` never collides with a
    deployment called `demo-seat2`."""
    return f"{PREFIX}-{name}" if seat == 1 else f"{PREFIX}-{name}.seat{seat}"


def key_pair_names_pattern(name: str) -> tuple[str, str]:
    """Glob patterns matching every seat's key pair name of a deployment (for its key files)."""
    return f"{PREFIX}-{name}", f"{PREFIX}-{name}.seat*"


def report_parameter_prefix(name: str) -> str:
    return f"/{PREFIX}/{name}/"


def endpoint_user_tag(name: str) -> str:
    """A shared endpoint carries one such tag per deployment that uses it."""
    return f"{TAG_ENDPOINT_USER_PREFIX}{name}"


def tag_filters(deployment: str | None = None) -> list[dict[str, Any]]:
    """EC2 filters for what carries our managed tag (and, given one, the deployment's name)."""
    filters: list[dict[str, Any]] = [{"Name": f"tag:{TAG_MANAGED}", "Values": ["true"]}]
    if deployment is not None:
        filters.insert(0, {"Name": f"tag:{TAG_DEPLOYMENT}", "Values": [deployment]})
    return filters


def owned_by(tags: dict[str, str] | None, name: str, region: str) -> bool:
    """Carries our managed tag and this deployment's name (and region, where recorded)."""
    tags = tags or {}
    return (
        tags.get(TAG_MANAGED) == "true"
        and tags.get(TAG_DEPLOYMENT) == name
        and tags.get(TAG_REGION, region) == region
    )


def in_region(found: dict[str, Any] | None, region: str) -> bool:
    """A global (IAM) resource of ours that belongs to this region."""
    tags = (found or {}).get("tags", {})
    return tags.get(TAG_MANAGED) == "true" and tags.get(TAG_REGION) == region


def expiry_tags(expires_at: str) -> list[dict[str, str]]:
    return tag_list({TAG_EXPIRES: expires_at})
