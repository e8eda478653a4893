"""A deployment as a service-managed stack set: create it, add its stack instances, wait for
each operation, read every instance's status, and remove instances then the set.

StackSets runs one operation at a time per set and answers asynchronously: every call here
that starts an operation returns its id, and `wait` polls DescribeStackSetOperation with
bounded backoff (sleep and clock injectable), reporting instance progress as it changes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from amazonei_setup.aws.clients import aws_errors, is_error
from amazonei_setup.aws.waiting import poll
from amazonei_setup.errors import AwsFailure

CAPABILITIES = ["CAPABILITY_NAMED_IAM"]  # the template names its role and instance profile
DONE = {"SUCCEEDED", "FAILED", "STOPPED"}
OPERATION_TIMEOUT_S = 3600.0
# Deploy to every target at once, but stop the operation at the first failed account, so
# a broken template costs one account's rollback, not a hundred.
PREFERENCES = {
    "RegionConcurrencyType": "PARALLEL",
    "MaxConcurrentPercentage": 100,
    "FailureToleranceCount": 0,
}


def stack_set_name(deployment: str) -> str:
    """StackSet names must start with a letter; deployment names may start with a digit."""
    return f"amazonei-setup-{deployment}"


@dataclass(frozen=True)
class InstanceRow:
    """One stack instance: an account × region, as StackSets last reported it."""

    account: str
    region: str
    status: str  # CURRENT | OUTDATED | INOPERABLE
    detailed: str  # SUCCEEDED | FAILED | RUNNING | PENDING | CANCELLED | INOPERABLE
    reason: str
    stack_id: str

    def to_dict(self) -> dict[str, str]:
        return {
            "account": self.account,
            "region": self.region,
            "status": self.status,
            "detailed_status": self.detailed,
            "status_reason": self.reason,
            "stack_id": self.stack_id,
        }


def create_stack_set(
    cfn: Any,
    name: str,
    template: dict[str, Any],
    tags: dict[str, str],
    auto_deployment: bool,
    description: str,
) -> str:
    """CreateStackSet with service-managed permissions; returns its id."""
    with aws_errors(f"creating stack set {name}"):
        answer = cfn.create_stack_set(
            StackSetName=name,
            Description=description[:1024],
            TemplateBody=json.dumps(template),
            Capabilities=CAPABILITIES,
            PermissionModel="SERVICE_MANAGED",
            AutoDeployment={
                "Enabled": auto_deployment,
                **({"RetainStacksOnAccountRemoval": False} if auto_deployment else {}),
            },
            CallAs="SELF",
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )
    return str(answer["StackSetId"])


def create_instances(
    cfn: Any,
    name: str,
    deployment_targets: dict[str, Any],
    regions: list[str],
    overrides: list[dict[str, str]] | None = None,
) -> str:
    """CreateStackInstances; returns the operation id. `overrides` (ParameterOverrides) apply
    to every account and region of this call."""
    with aws_errors(f"creating the stack instances of {name}"):
        answer = cfn.create_stack_instances(
            StackSetName=name,
            DeploymentTargets=deployment_targets,
            Regions=regions,
            ParameterOverrides=overrides or [],
            OperationPreferences=PREFERENCES,
            CallAs="SELF",
        )
    return str(answer["OperationId"])


def delete_instances(
    cfn: Any, name: str, deployment_targets: dict[str, Any], regions: list[str]
) -> str:
    """DeleteStackInstances with RetainStacks=False: the stacks and their resources go."""
    with aws_errors(f"deleting the stack instances of {name}"):
        answer = cfn.delete_stack_instances(
            StackSetName=name,
            DeploymentTargets=deployment_targets,
            Regions=regions,
            RetainStacks=False,
            OperationPreferences=PREFERENCES | {"FailureToleranceCount": 0},
            CallAs="SELF",
        )
    return str(answer["OperationId"])


def delete_stack_set(cfn: Any, name: str) -> bool:
    """DeleteStackSet; False when it was already gone."""
    try:
        cfn.delete_stack_set(StackSetName=name, CallAs="SELF")
    except Exception as exc:
        if is_error(exc, "StackSetNotFoundException"):
            return False
        with aws_errors(f"deleting stack set {name}"):
            raise
    return True


def exists(cfn: Any, name: str) -> bool:
    try:
        status = cfn.describe_stack_set(StackSetName=name, CallAs="SELF")["StackSet"]["Status"]
    except Exception as exc:
        if is_error(exc, "StackSetNotFoundException"):
            return False
        with aws_errors(f"reading stack set {name}"):
            raise
    return status != "DELETED"


def instances(cfn: Any, name: str) -> list[InstanceRow]:
    """Every stack instance of the set, by account then region; [] when the set is gone."""
    rows: list[InstanceRow] = []
    try:
        pages = cfn.get_paginator("list_stack_instances").paginate(StackSetName=name, CallAs="SELF")
        for page in pages:
            for item in page["Summaries"]:
                rows.append(
                    InstanceRow(
                        account=item["Account"],
                        region=item["Region"],
                        status=item.get("Status", ""),
                        detailed=(item.get("StackInstanceStatus") or {}).get("DetailedStatus", ""),
                        reason=item.get("StatusReason", "") or "",
                        stack_id=item.get("StackId", "") or "",
                    )
                )
    except Exception as exc:
        if is_error(exc, "StackSetNotFoundException"):
            return []
        with aws_errors(f"listing the stack instances of {name}"):
            raise
    return sorted(rows, key=lambda r: (r.account, r.region))


def wait(
    cfn: Any,
    name: str,
    operation_id: str,
    *,
    on_progress: Callable[[list[InstanceRow]], None] = lambda rows: None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    timeout_s: float = OPERATION_TIMEOUT_S,
) -> str:
    """Poll the operation until it ends; its final status. Progress is reported whenever an
    instance's status changes."""
    seen: list[list[InstanceRow]] = [[]]

    def check() -> str | None:
        with aws_errors(f"reading operation {operation_id} of {name}"):
            status = cfn.describe_stack_set_operation(
                StackSetName=name, OperationId=operation_id, CallAs="SELF"
            )["StackSetOperation"]["Status"]
        rows = instances(cfn, name)
        if rows != seen[0]:
            seen[0] = rows
            on_progress(rows)
        return status if status in DONE else None

    def late() -> Exception:
        return AwsFailure(
            f"stack set operation {operation_id} of {name} did not end in {timeout_s:.0f}s",
            f"`aws cloudformation describe-stack-set-operation --stack-set-name {name} "
            f"--operation-id {operation_id}` shows where it is",
        )

    result = poll(
        check, timeout_s=timeout_s, sleep=sleep, clock=clock, max_delay_s=15, on_timeout=late
    )
    return str(result)
