"""Where a stack set goes: accounts or an OU, times regions. Checked before any AWS call, then
resolved through AWS Organizations, so the plan names every account that will get a stack."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from amazonei_setup.errors import InputError

ACCOUNT_PATTERN = re.compile(r"^\d{12}$")
# CreateStackInstances' own constraint on DeploymentTargets.OrganizationalUnitIds (a root too).
OU_PATTERN = re.compile(r"^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$")
TARGETS_HINT = "give --accounts 111122223333,444455556666 or --ou ou-abcd-12345678, and --regions"


@dataclass(frozen=True)
class Targets:
    """What the user asked for: accounts or one OU, and regions (all checked)."""

    accounts: tuple[str, ...]
    ou: str | None
    regions: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"accounts": list(self.accounts), "ou": self.ou, "regions": list(self.regions)}


def _items(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def parse_targets(
    accounts: str | None, ou: str | None, regions: str | None, known: list[str]
) -> Targets:
    """The flags as Targets, or InputError naming the bad value and what is allowed."""
    if bool(accounts) == bool(ou):
        raise InputError(
            "--engine stackset needs either --accounts or --ou (one of them)", TARGETS_HINT
        )
    account_ids = _items(accounts)
    bad = [a for a in account_ids if not ACCOUNT_PATTERN.fullmatch(a)]
    if bad or (accounts and not account_ids):
        raise InputError(
            f"--accounts: {', '.join(repr(b) for b in bad) or 'no account'} is not an AWS "
            "account id (12 digits)",
            TARGETS_HINT,
        )
    if len(set(account_ids)) != len(account_ids):
        raise InputError("--accounts: an account is listed twice", TARGETS_HINT)
    if ou is not None and not OU_PATTERN.fullmatch(ou.strip()):
        raise InputError(
            f"--ou: '{ou}' is not an organizational unit id (ou-xxxx-yyyyyyyy) or root id (r-xxxx)",
            "`aws organizations list-organizational-units-for-parent --parent-id r-...` lists them",
        )
    region_names = _items(regions)
    if not region_names:
        raise InputError("--engine stackset needs --regions R1,R2", TARGETS_HINT)
    unknown = [r for r in region_names if r not in known]
    if unknown:
        raise InputError(
            f"--regions: unknown region {', '.join(repr(u) for u in unknown)}",
            "use region codes such as us-east-1, us-west-2, eu-west-1",
        )
    if len(set(region_names)) != len(region_names):
        raise InputError("--regions: a region is listed twice", TARGETS_HINT)
    return Targets(tuple(account_ids), ou.strip() if ou else None, tuple(region_names))


@dataclass(frozen=True)
class Resolved:
    """The targets as Organizations sees them: which accounts will get stack instances, and
    the DeploymentTargets structure that says so to CloudFormation."""

    accounts: tuple[str, ...]
    deployment_targets: dict[str, Any]


def resolve(organizations: Any, targets: Targets) -> Resolved:
    """Accounts checked against the organization (members only, never the management
    account: StackSets does not deploy there), or the OU's accounts, however deep."""
    management = organizations.describe_organization()["Organization"]["MasterAccountId"]
    if targets.ou is None:
        members = _all_accounts(organizations)
        outside = [a for a in targets.accounts if a not in members]
        if outside:
            raise InputError(
                f"--accounts: {', '.join(outside)} is not an active account of your organization",
                "`aws organizations list-accounts` lists them",
            )
        if management in targets.accounts:
            raise InputError(
                f"--accounts: {management} is the organization's management account, where "
                "service-managed stack sets never deploy",
                "leave it out; use the direct engine for that account",
            )
        root = organizations.list_roots()["Roots"][0]["Id"]
        return Resolved(
            targets.accounts,
            {
                "OrganizationalUnitIds": [root],
                "Accounts": list(targets.accounts),
                "AccountFilterType": "INTERSECTION",
            },
        )
    accounts = [a for a in accounts_under(organizations, targets.ou) if a != management]
    return Resolved(tuple(accounts), {"OrganizationalUnitIds": [targets.ou]})


def _all_accounts(organizations: Any) -> set[str]:
    pages = organizations.get_paginator("list_accounts").paginate()
    return {a["Id"] for page in pages for a in page["Accounts"] if a.get("Status") == "ACTIVE"}


def accounts_under(organizations: Any, parent: str) -> list[str]:
    """Every account below an OU or root, depth first (the order the plan shows)."""
    from amazonei_setup.aws.clients import is_error

    try:
        found = [
            a["Id"]
            for page in organizations.get_paginator("list_accounts_for_parent").paginate(
                ParentId=parent
            )
            for a in page["Accounts"]
        ]
        children = [
            ou["Id"]
            for page in organizations.get_paginator(
                "list_organizational_units_for_parent"
            ).paginate(ParentId=parent)
            for ou in page["OrganizationalUnits"]
        ]
    except Exception as exc:
        if is_error(exc, "ParentNotFoundException", "OrganizationalUnitNotFoundException"):
            raise InputError(
                f"--ou: {parent} is not an organizational unit of your organization",
                "`aws organizations list-roots` and list-organizational-units-for-parent list them",
            ) from None
        raise
    for child in children:
        found.extend(accounts_under(organizations, child))
    return found
