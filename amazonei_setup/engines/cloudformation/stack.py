"""A deployment as a CloudFormation stack: the change set is the plan, the stack events are the
progress, and DeleteStack is the teardown. Library only: callers show what it reports.

Waits poll with bounded backoff (waiting.poll) through an injectable sleep, like every wait of
the tool.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from amazonei_setup.aws.clients import AwsClients, aws_errors, is_error
from amazonei_setup.aws.waiting import poll
from amazonei_setup.errors import AwsFailure
from amazonei_setup.resources.naming import PREFIX

CAPABILITIES = ["CAPABILITY_NAMED_IAM"]  # the role and instance profile carry our names
STACK_TIMEOUT_S = 3600
CHANGE_SET_TIMEOUT_S = 300
Sleep = Callable[[float], None]
Clock = Callable[[], float]
OnEvent = Callable[[dict[str, Any]], None]


def stack_name(deployment: str) -> str:
    """`amazonei-setup-<name>`: a letter first, then letters, digits and '-' (at most 128), as
    CloudFormation requires; deployment names are [a-z0-9-]{1,32}."""
    return f"{PREFIX}-{deployment}"


@dataclass
class Change:
    action: str  # Add | Modify | Remove | Import | Dynamic
    logical_id: str
    resource_type: str
    replacement: str  # True | False | Conditional | "" (not a Modify)


@dataclass
class ChangeSet:
    id: str
    stack_id: str
    kind: str  # CREATE | UPDATE
    changes: list[Change] = field(default_factory=list)


@dataclass
class StackResult:
    stack_id: str
    status: str
    outputs: dict[str, str]
    failure: str | None = None  # "<logical id> (<type>): <reason>" of the first failed resource


def find_stack(clients: AwsClients, name: str) -> dict[str, Any] | None:
    """The live stack of that name, or None (never made, or deleted)."""
    cfn = clients.client("cloudformation")
    with aws_errors(f"looking up stack {name}"):
        try:
            stacks = cfn.describe_stacks(StackName=name)["Stacks"]
        except Exception as exc:
            if is_error(exc, "ValidationError") and "does not exist" in str(exc):
                return None
            raise
    live = [s for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"]
    return live[0] if live else None


def create_change_set(
    clients: AwsClients,
    name: str,
    template_body: str,
    parameters: dict[str, str],
    tags: dict[str, str],
    *,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
) -> ChangeSet:
    """CreateChangeSet (CREATE for a new stack or one only under review, else UPDATE), waited
    for; a change set with no changes comes back with an empty list, not an error."""
    cfn = clients.client("cloudformation")
    existing = find_stack(clients, name)
    if existing and existing["StackStatus"] == "ROLLBACK_COMPLETE":
        raise AwsFailure(
            f"stack {name} failed to create earlier and was rolled back (ROLLBACK_COMPLETE); "
            "CloudFormation cannot update it",
            "tear the deployment down (it deletes the stack), then launch again",
        )
    kind = "UPDATE" if existing and existing["StackStatus"] != "REVIEW_IN_PROGRESS" else "CREATE"
    with aws_errors(f"creating a change set for stack {name}"):
        try:
            made = _create(cfn, name, kind, template_body, parameters, tags)
        except Exception as exc:  # moto refuses at once where AWS makes a FAILED change set
            if is_error(exc, "ValidationError") and "No updates are to be performed" in str(exc):
                return ChangeSet("", existing["StackId"] if existing else "", kind)
            raise

    def ready() -> dict[str, Any] | None:
        found = cfn.describe_change_set(ChangeSetName=made["Id"], StackName=name)
        return None if found["Status"] in ("CREATE_PENDING", "CREATE_IN_PROGRESS") else found

    with aws_errors(f"reading change set of stack {name}"):
        described = poll(
            ready, timeout_s=CHANGE_SET_TIMEOUT_S, sleep=sleep, clock=clock, on_timeout=_slow
        )
    assert described is not None
    reason = str(described.get("StatusReason") or "")
    if described["Status"] == "FAILED" and "didn't contain changes" not in reason:
        raise AwsFailure(f"CloudFormation refused the change set of {name}: {reason}")
    changes = [
        Change(
            c["ResourceChange"].get("Action", ""),
            c["ResourceChange"].get("LogicalResourceId", ""),
            c["ResourceChange"].get("ResourceType", ""),
            str(c["ResourceChange"].get("Replacement", "")),
        )
        for c in described.get("Changes", [])
        if c.get("Type") == "Resource"
    ]
    return ChangeSet(made["Id"], made["StackId"], kind, changes)


def _create(
    cfn: Any, name: str, kind: str, body: str, parameters: dict[str, str], tags: dict[str, str]
) -> dict[str, Any]:
    return cfn.create_change_set(
        StackName=name,
        ChangeSetName=f"{name}-{secrets.token_hex(4)}",
        ChangeSetType=kind,
        TemplateBody=body,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=CAPABILITIES,
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )


def discard_change_set(clients: AwsClients, change_set: ChangeSet) -> None:
    """Declined: the change set goes, and a stack that only existed for it goes too."""
    cfn = clients.client("cloudformation")
    if not change_set.id:
        return
    with aws_errors("discarding the change set"):
        cfn.delete_change_set(ChangeSetName=change_set.id)
        if change_set.kind == "CREATE":
            cfn.delete_stack(StackName=change_set.stack_id)


def execute(
    clients: AwsClients,
    change_set: ChangeSet,
    *,
    on_event: OnEvent,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    timeout_s: float = STACK_TIMEOUT_S,
) -> StackResult:
    """ExecuteChangeSet, then stream the stack's events until it settles."""
    cfn = clients.client("cloudformation")
    seen = {e["EventId"] for e in _events(clients, change_set.stack_id)}
    with aws_errors("executing the change set"):
        cfn.execute_change_set(ChangeSetName=change_set.id)
    return wait_settled(
        clients,
        change_set.stack_id,
        seen,
        on_event=on_event,
        sleep=sleep,
        clock=clock,
        timeout_s=timeout_s,
    )


def delete(
    clients: AwsClients,
    stack_id: str,
    *,
    on_event: OnEvent,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    timeout_s: float = STACK_TIMEOUT_S,
) -> StackResult:
    """DeleteStack, waited for to DELETE_COMPLETE (or DELETE_FAILED, with the reason)."""
    cfn = clients.client("cloudformation")
    seen = {e["EventId"] for e in _events(clients, stack_id)}
    with aws_errors(f"deleting stack {stack_id}"):
        cfn.delete_stack(StackName=stack_id)
    return wait_settled(
        clients, stack_id, seen, on_event=on_event, sleep=sleep, clock=clock, timeout_s=timeout_s
    )


def wait_settled(
    clients: AwsClients,
    stack_id: str,
    seen: set[str],
    *,
    on_event: OnEvent,
    sleep: Sleep,
    clock: Clock,
    timeout_s: float,
) -> StackResult:
    """Poll the stack's events (new ones, oldest first, to `on_event`) until it is no longer
    IN_PROGRESS; the first failed resource's reason comes back with the result."""
    cfn = clients.client("cloudformation")
    failures: list[str] = []

    def settled() -> dict[str, Any] | None:
        for event in reversed(_events(clients, stack_id)):
            if event["EventId"] in seen:
                continue
            seen.add(event["EventId"])
            on_event(event)
            if event.get("ResourceStatus", "").endswith("_FAILED"):
                failures.append(
                    f"{event['LogicalResourceId']} ({event.get('ResourceType', '')}): "
                    f"{event.get('ResourceStatusReason') or 'no reason given'}"
                )
        stack = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
        return None if stack["StackStatus"].endswith("_IN_PROGRESS") else stack

    with aws_errors(f"following stack {stack_id}"):
        stack = poll(settled, timeout_s=timeout_s, sleep=sleep, clock=clock, on_timeout=_slow)
    assert stack is not None
    status = stack["StackStatus"]
    ok = status in ("CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE")
    return StackResult(
        stack_id,
        status,
        {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs") or []},
        None if ok else (failures[0] if failures else stack.get("StackStatusReason") or status),
    )


def resources(clients: AwsClients, stack_id: str) -> list[dict[str, str]]:
    """The stack's resources: logical id, type, physical id, status."""
    cfn = clients.client("cloudformation")
    with aws_errors(f"listing the resources of stack {stack_id}"):
        pages = cfn.get_paginator("list_stack_resources").paginate(StackName=stack_id)
        return [
            {
                "logical_id": r["LogicalResourceId"],
                "type": r["ResourceType"],
                "id": r.get("PhysicalResourceId", ""),
                "status": r.get("ResourceStatus", ""),
            }
            for page in pages
            for r in page["StackResourceSummaries"]
        ]


def drifted(
    clients: AwsClients, stack_id: str, *, sleep: Sleep = time.sleep, clock: Clock = time.monotonic
) -> list[dict[str, str]] | None:
    """DetectStackDrift, waited for: the resources that drifted ([] when in sync), or None when
    drift detection is not available (the sandbox: moto does not implement it)."""
    cfn = clients.client("cloudformation")
    try:
        detection = cfn.detect_stack_drift(StackName=stack_id)["StackDriftDetectionId"]
    except Exception as exc:
        if is_error(exc, "ValidationError"):
            raise AwsFailure(f"drift detection refused for {stack_id}: {exc}") from exc
        return None

    def done() -> dict[str, Any] | None:
        found = cfn.describe_stack_drift_detection_status(StackDriftDetectionId=detection)
        return None if found["DetectionStatus"] == "DETECTION_IN_PROGRESS" else found

    with aws_errors(f"detecting drift of stack {stack_id}"):
        status = poll(
            done, timeout_s=CHANGE_SET_TIMEOUT_S, sleep=sleep, clock=clock, on_timeout=_slow
        )
        assert status is not None
        if status.get("StackDriftStatus") != "DRIFTED":
            return []
        found = cfn.describe_stack_resource_drifts(
            StackName=stack_id, StackResourceDriftStatusFilters=["MODIFIED", "DELETED"]
        )["StackResourceDrifts"]
    return [
        {"logical_id": d["LogicalResourceId"], "drift": d["StackResourceDriftStatus"]}
        for d in found
    ]


def _events(clients: AwsClients, stack_id: str) -> list[dict[str, Any]]:
    """Newest first, as CloudFormation lists them (the first page is enough per poll)."""
    return clients.client("cloudformation").describe_stack_events(StackName=stack_id)["StackEvents"]


def _slow() -> Exception:
    return AwsFailure(
        "CloudFormation has not finished in time",
        "see the stack's events in the console, then run the same command again",
    )
