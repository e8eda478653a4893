"""CloudFormation StackSets as AWS answers them, where moto 5 is kinder or wrong:

- **Service-managed targets**: moto reads only the top-level `Accounts` and deploys to every
  account directly under an OU (one level of child OUs), ignoring `DeploymentTargets.Accounts`
  and `AccountFilterType`. AWS walks the whole OU tree, applies INTERSECTION / DIFFERENCE /
  NONE, refuses UNION on create, wants `AccountFilterType` when both OUs and accounts are
  given, and never deploys to the organization's management account.
- **DeleteStackInstances** on a service-managed stack set: moto ignores `DeploymentTargets`
  and deletes nothing; AWS deletes the targeted instances.
- **A stack instance that fails** to create: moto raises out of CreateStackInstances and
  forgets the targets it had already created; AWS answers with an operation that ends FAILED
  and keeps the instance (status OUTDATED, with a reason) until it is deleted.
- **DeleteStackSet** of an unknown name: moto succeeds; AWS answers StackSetNotFoundException.
  With failed instances left: StackSetNotEmptyException, as with healthy ones.
- **CreateStackSet** with a name in use: moto makes a second one; AWS answers
  NameAlreadyExistsException.
- A target account's region is **seeded** like the sandbox's own (DLAMIs, public SSM
  parameters): on AWS every member account sees the same public images and parameters.

Installed once per process by `sandbox.seed.seed_region`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from moto.cloudformation.exceptions import (
    CloudFormationError,
    StackSetNotEmpty,
    StackSetNotFoundException,
    ValidationError,
)
from moto.cloudformation.models import StackSet
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.moto_api._internal import mock_random

from amazonei_sandbox.patching import once

# stack set id → {(account, region): why its stack could not be created}
_FAILED: dict[str, dict[tuple[str, str], str]] = {}
# (region, account) → None: how a target account's region is made to look like AWS's
_SEED: list[Callable[[str, str], None]] = []


class NameAlreadyExists(CloudFormationError):
    code = "NameAlreadyExistsException"


@once
def install(seed: Callable[[str, str], None]) -> None:
    """Replace moto's StackSet handlers once per process (idempotent, thread-safe); `seed`
    prepares a target account's region (seed.seed_region)."""
    _SEED.append(seed)
    original_create_set = CloudFormationResponse.create_stack_set
    original_list = CloudFormationResponse.list_stack_instances

    def create_stack_set(self: Any) -> ActionResult:
        name = self._get_param("StackSetName")
        if any(s.name == name and s.status != "DELETED" for s in _sets(self)):
            raise NameAlreadyExists(f"StackSet {name} already exists")
        return original_create_set(self)

    def list_stack_instances(self: Any) -> ActionResult:
        answer = original_list(self)
        stack_set = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))
        failed = [
            _failed_summary(stack_set, account, region, reason)
            for (account, region), reason in _FAILED.get(stack_set.id, {}).items()
        ]
        result = cast(dict[str, Any], answer.result)  # moto types every action's result `object`
        result["Summaries"] = list(result["Summaries"]) + failed
        return answer

    CloudFormationResponse.create_stack_set = create_stack_set  # type: ignore[method-assign]
    CloudFormationResponse.list_stack_instances = list_stack_instances  # type: ignore[method-assign]
    CloudFormationResponse.create_stack_instances = _create_stack_instances  # type: ignore[method-assign]
    CloudFormationResponse.delete_stack_instances = _delete_stack_instances  # type: ignore[method-assign]
    CloudFormationResponse.delete_stack_set = _delete_stack_set  # type: ignore[method-assign]


def _sets(response: Any) -> list[StackSet]:
    return list(response.cloudformation_backend.stacksets.values())


def _failed_summary(stack_set: StackSet, account: str, region: str, reason: str) -> dict:
    return {
        "StackSetId": stack_set.id,
        "Region": region,
        "Account": account,
        "Status": "OUTDATED",
        "StatusReason": reason,
        "StackInstanceStatus": {"DetailedStatus": "FAILED"},
    }


def org_accounts_under(org: Any, ou_ids: list[str]) -> list[str]:
    """Every account below the OUs (or root), however deep, minus the management account."""
    parents = set(ou_ids)
    grew = True
    while grew:
        children = {ou.id for ou in org.ou if getattr(ou, "parent_id", None) in parents}
        grew = not children <= parents
        parents |= children
    management = org.org.master_account_id if org.org else None
    return [a.id for a in org.accounts if a.parent_id in parents and a.id != management]


def _targets(response: Any, stack_set: StackSet, creating: bool) -> list[str]:
    """The accounts a service-managed request targets, filtered as AWS filters them."""
    top_level = response._get_param("Accounts", [])
    targets = response._get_params().get("DeploymentTargets") or {}
    if stack_set.permission_model != "SERVICE_MANAGED":
        if targets.get("OrganizationalUnitIds"):
            raise ValidationError(
                message="StackSets with SELF_MANAGED permission model can only have "
                "accounts as target"
            )
        return list(top_level or targets.get("Accounts") or [])
    if top_level:
        raise ValidationError(
            message="StackSets with SERVICE_MANAGED permission model can only have "
            "OrganizationalUnit as target"
        )
    ous = list(targets.get("OrganizationalUnitIds") or [])
    accounts = list(targets.get("Accounts") or [])
    kind = targets.get("AccountFilterType") or ("NONE" if not accounts else "")
    if not ous:
        raise ValidationError(message="OrganizationalUnitIds are required")
    if accounts and not kind and creating:
        raise ValidationError(
            message="AccountFilterType is required when both OrganizationalUnitIds and "
            "Accounts are specified"
        )
    if kind == "UNION" and creating:
        raise ValidationError(message="AccountFilterType UNION is not supported for create")
    under = org_accounts_under(stack_set.instances.org_backend, ous)
    if kind == "INTERSECTION":
        return [a for a in accounts if a in under]
    if kind == "DIFFERENCE":
        return [a for a in under if a not in accounts]
    if kind == "UNION":
        return list(dict.fromkeys(under + accounts))
    return under


def _create_stack_instances(self: Any) -> ActionResult:
    stack_set = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))
    regions = self._get_param("Regions", [])
    overrides = self._get_param("ParameterOverrides", [])
    accounts = _targets(self, stack_set, creating=True)
    parameters = overrides or stack_set.parameters
    failed = _FAILED.setdefault(stack_set.id, {})
    status = "SUCCEEDED"
    for region in regions:
        for account in accounts:
            _seed(account, region)
            try:
                stack_set.instances.create_instances(
                    [account], [region], parameters, {}, stack_set.permission_model
                )
                failed.pop((account, region), None)
            except Exception as exc:  # AWS reports it on the instance, not to the caller
                failed[(account, region)] = f"{type(exc).__name__}: {exc}"[:500]
                status = "FAILED"
    operation_id = str(mock_random.uuid4())
    stack_set._create_operation(operation_id, "CREATE", status, accounts, regions)
    return ActionResult({"OperationId": operation_id})


def _delete_stack_instances(self: Any) -> ActionResult:
    stack_set = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))
    regions = self._get_param("Regions", [])
    accounts = _targets(self, stack_set, creating=False)
    stack_set.instances.delete(accounts, regions)
    failed = _FAILED.get(stack_set.id, {})
    for key in [k for k in failed if k[0] in accounts and k[1] in regions]:
        del failed[key]
    operation_id = self._get_param("OperationId") or str(mock_random.uuid4())
    stack_set._create_operation(operation_id, "DELETE", "SUCCEEDED", accounts, regions)
    return ActionResult({"OperationId": operation_id})


def _delete_stack_set(self: Any) -> EmptyResult:
    name = self._get_param("StackSetName")
    found = [s for s in _sets(self) if name in (s.id, s.name) and s.status != "DELETED"]
    if not found:
        raise StackSetNotFoundException(name)
    if found[0].stack_instances or _FAILED.get(found[0].id):
        raise StackSetNotEmpty()
    found[0].delete()
    return EmptyResult()


def _seed(account: str, region: str) -> None:
    """A member account's region with the public DLAMIs and parameters AWS shows everyone."""
    try:
        _SEED[0](region, account)
    except Exception:  # a region moto does not know: the stack then fails as it would
        return
