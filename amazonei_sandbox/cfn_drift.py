"""Drift detection for the sandbox's CloudFormation, which moto does not implement.

AWS compares each resource's live configuration with what the stack last set. Here, the live
state of each resource is taken when a change set has been applied (`remember`). DetectStackDrift
then compares it with the state now. A resource that is gone is DELETED, and one that changed is
MODIFIED; a kind not compared here is NOT_CHECKED, as AWS answers for kinds it does not support.
Compared: security groups' ingress rules, an instance's type, state and groups, an endpoint's
state, a key pair's existence, and a role's inline policies. The detection completes at once.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.iam.models import iam_backends

from amazonei_sandbox.patching import once

_LOCK = threading.Lock()
# stack id → logical id → (type, physical id, state when the stack last set it)
_EXPECTED: dict[str, dict[str, tuple[str, str, Any]]] = {}
# detection id → (stack id, {logical id: (type, physical id, drift status)})
_DETECTIONS: dict[str, tuple[str, dict[str, tuple[str, str, str]]]] = {}
GONE = object()
UNCHECKED = object()


def live_state(kind: str, physical: str, account: str, region: str) -> Any:
    """What the resource looks like now: GONE, UNCHECKED, or a JSON-able value."""
    ec2 = ec2_backends[account][region]
    if kind == "AWS::EC2::SecurityGroup":
        group = ec2.get_security_group_from_id(physical)
        if group is None:
            return GONE
        return sorted(
            json.dumps([r.ip_protocol, r.from_port, r.to_port, r.ip_range, r.source_group])
            for r in group.ingress_rules
        )
    if kind == "AWS::EC2::Instance":
        found = [i for r in ec2.reservations.values() for i in r.instances if i.id == physical]
        if not found or found[0].state == "terminated":
            return GONE
        instance = found[0]
        return [
            instance.instance_type,
            instance.state,
            sorted(g.id for g in instance.security_groups),
        ]
    if kind == "AWS::EC2::VPCEndpoint":
        endpoint = ec2.vpc_end_points.get(physical)
        return GONE if endpoint is None or endpoint.state == "deleted" else endpoint.state
    if kind == "AWS::EC2::KeyPair":
        return "present" if physical in ec2.key_pairs else GONE
    if kind == "AWS::IAM::Role":
        roles = [r for r in iam_backends[account]["aws"].roles.values() if r.name == physical]
        return {k: str(v) for k, v in sorted(roles[0].policies.items())} if roles else GONE
    return UNCHECKED


def remember(stack: Any) -> None:
    """The state of each of the stack's resources as the stack has just set it."""
    expected = {}
    for logical_id, resource in list(stack.resource_map._parsed_resources.items()):
        kind = getattr(resource, "cf_resource_type", None)
        if kind is None or isinstance(resource, str):
            continue
        physical = str(getattr(resource, "physical_resource_id", "") or "")
        state = live_state(kind, physical, stack.account_id, stack.region_name)
        expected[logical_id] = (kind, physical, state)
    with _LOCK:
        _EXPECTED[stack.stack_id] = expected


def _detect(stack: Any) -> dict[str, tuple[str, str, str]]:
    with _LOCK:
        expected = dict(_EXPECTED.get(stack.stack_id, {}))
    found = {}
    for logical_id, (kind, physical, then) in expected.items():
        now = live_state(kind, physical, stack.account_id, stack.region_name)
        if then is UNCHECKED:
            status = "NOT_CHECKED"
        elif now is GONE:
            status = "DELETED"
        else:
            status = "IN_SYNC" if now == then else "MODIFIED"
        found[logical_id] = (kind, physical, status)
    return found


def _stack(response: CloudFormationResponse) -> Any:
    from moto.cloudformation.exceptions import ValidationError

    name = response._get_param("StackName")
    stacks = response.cloudformation_backend.describe_stacks(name)
    if not stacks:
        raise ValidationError(name)
    return stacks[0]


def detect_stack_drift(self: CloudFormationResponse) -> ActionResult:
    stack = _stack(self)
    detection = str(uuid.uuid4())
    found = _detect(stack)
    with _LOCK:
        _DETECTIONS[detection] = (stack.stack_id, found)
    return ActionResult({"StackDriftDetectionId": detection})


def describe_stack_drift_detection_status(self: CloudFormationResponse) -> ActionResult:
    detection = self._get_param("StackDriftDetectionId")
    with _LOCK:
        stack_id, found = _DETECTIONS[detection]
    drifted = [s for _, _, s in found.values() if s in ("MODIFIED", "DELETED")]
    return ActionResult(
        {
            "StackId": stack_id,
            "StackDriftDetectionId": detection,
            "StackDriftStatus": "DRIFTED" if drifted else "IN_SYNC",
            "DetectionStatus": "DETECTION_COMPLETE",
            "DriftedStackResourceCount": len(drifted),
            "Timestamp": "2026-01-01T00:00:00Z",
        }
    )


def describe_stack_resource_drifts(self: CloudFormationResponse) -> ActionResult:
    stack = _stack(self)
    wanted = set(self._get_param("StackResourceDriftStatusFilters", []) or [])
    drifts = [
        {
            "StackId": stack.stack_id,
            "LogicalResourceId": logical_id,
            "PhysicalResourceId": physical,
            "ResourceType": kind,
            "StackResourceDriftStatus": status,
            "Timestamp": "2026-01-01T00:00:00Z",
        }
        for logical_id, (kind, physical, status) in sorted(_detect(stack).items())
        if not wanted or status in wanted
    ]
    return ActionResult({"StackResourceDrifts": drifts})


@once
def install() -> None:
    """Serve the three drift actions (idempotent)."""
    CloudFormationResponse.detect_stack_drift = detect_stack_drift  # type: ignore[attr-defined]
    CloudFormationResponse.describe_stack_drift_detection_status = (  # type: ignore[attr-defined]
        describe_stack_drift_detection_status
    )
    CloudFormationResponse.describe_stack_resource_drifts = (  # type: ignore[attr-defined]
        describe_stack_resource_drifts
    )
