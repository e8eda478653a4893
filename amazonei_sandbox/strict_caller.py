"""The strict caller mode: the tool runs as an IAM user holding exactly the policy it is given
(`iam-policy`'s output, in the tests), and every request it makes is authorized the way IAM
does before moto sees it (iam_requests.py: the action, the ARNs from the Service Authorization
Reference, the condition context), decided by policy_eval. moto itself authorizes nothing.

A request IAM would refuse gets AWS's answer: EC2 `UnauthorizedOperation` with its
"Encoded authorization failure message" (which this mode's sts:DecodeAuthorizationMessage
decodes, as STS does for AWS's), `AccessDenied` from query and REST services, and
`AccessDeniedException` from JSON ones, each saying "User: ARN is not authorized to perform:
ACTION on resource: ARN because no identity-based policy allows the ACTION action". A request
whose authorization the mode cannot work out raises UnmappedRequest instead of passing.

It works on the botocore sessions the tool makes (a session factory, `wrap`), so it serves the
in-process moto of the tests; every decision is kept in `log`, so a test can replay them
against a smaller policy (the first request a policy without one statement refuses is exactly
where a run under it would stop).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from amazonei_sandbox.cfn_handlers import handler_requests, parameter_requests
from amazonei_sandbox.iam_reference import UnmappedRequest
from amazonei_sandbox.iam_requests import Check, Request, checks_for
from amazonei_sandbox.iam_resources import Lookup
from amazonei_sandbox.policy_eval import allowed

DEFAULT_ACCOUNT = "123456789012"  # moto's
# The stack calls after which CloudFormation runs the resources' handlers as the caller.
_HANDLER_PHASES = {
    "ExecuteChangeSet": "create",
    "CreateStack": "create",
    "DetectStackDrift": "read",
}
_ENCODED = "Encoded authorization failure message: "
_NOT_AUTHORIZED = "You are not authorized to perform this operation. "


@dataclass(frozen=True)
class Decision:
    """One request the caller made, the checks IAM makes for it, and the first one refused."""

    command: str | None
    request: Request
    checks: tuple[Check, ...]
    denied: Check | None


class StrictCaller:
    """An IAM user holding `documents` and nothing else, and the judge of its every request."""

    def __init__(
        self,
        documents: Sequence[Mapping[str, Any]],
        *,
        user_name: str = "workshop-admin",
        owner_session: Callable[[str], Any] | None = None,
    ) -> None:
        self.documents = list(documents)
        self.user_name = user_name
        self.log: list[Decision] = []
        self.command: str | None = None  # a label for what the log records next
        self._owner_session = owner_session or _owner_session
        self._lock = threading.Lock()
        iam = self._owner_session("us-east-1").client("iam")
        user = iam.create_user(UserName=user_name)["User"]
        key = iam.create_access_key(UserName=user_name)["AccessKey"]
        self.user_arn, self.user_id = str(user["Arn"]), str(user["UserId"])
        self.account = self.user_arn.split(":")[4] or DEFAULT_ACCOUNT
        self.access_key = (str(key["AccessKeyId"]), str(key["SecretAccessKey"]))

    def wrap(self, factory: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """A session factory whose sessions sign as this user and are judged by this mode."""

        def strict(target: Any) -> Any:
            session = factory(target)
            session._session.set_credentials(*self.access_key)
            session.events.register("before-parameter-build.*.*", self._judge)
            session.events.register("before-call.*.*", self._answer)
            session.events.register("after-call.cloudformation.*", self._after_stack_call)
            return session

        return strict

    def global_context(self, region: str) -> dict[str, str]:
        """The keys IAM puts in every request of this user."""
        return {
            "aws:username": self.user_name,
            "aws:userid": self.user_id,
            "aws:PrincipalArn": self.user_arn,
            "aws:PrincipalAccount": self.account,
            "aws:PrincipalType": "User",
            "aws:RequestedRegion": region,
            "aws:SecureTransport": "true",
        }

    def decide(
        self, request: Request, documents: Sequence[Mapping[str, Any]] | None = None
    ) -> Decision:
        """The checks of `request` and the first one `documents` (default: the user's) refuse."""
        checks = checks_for(request, Lookup(self._owner_session, request.region))
        return self.replay(Decision(self.command, request, tuple(checks), None), documents)

    def replay(
        self, decision: Decision, documents: Sequence[Mapping[str, Any]] | None = None
    ) -> Decision:
        """A recorded decision taken again under `documents`."""
        policies = self.documents if documents is None else list(documents)
        base = self.global_context(decision.request.region)
        denied = next(
            (
                c
                for c in decision.checks
                if not allowed(policies, c.action, c.resource, {**base, **c.context})
            ),
            None,
        )
        return Decision(decision.command, decision.request, decision.checks, denied)

    def _judge(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        service = model.service_model.service_name
        region = _region_of(context) or "us-east-1"
        request = Request(service, model.name, dict(params), region, self.account)
        decision = self.decide(request)
        with self._lock:
            self.log.append(decision)
        context["amazonei_strict"] = decision

    def _answer(self, model: Any, context: dict[str, Any], **_: Any) -> Any:
        decision = context.get("amazonei_strict")
        if decision is None:
            raise UnmappedRequest(f"{model.name} reached the wire without a decision")
        if decision.denied is not None:
            return _refusal(model, self.user_arn, self.user_id, decision)
        if model.name == "DeleteStack":  # before moto removes what the handlers delete
            self._handlers(decision.request, "delete")
        if model.name == "DecodeAuthorizationMessage":  # moto has no decoder; ours is AWS's
            decoded = _decode(decision.request.params.get("EncodedMessage", ""))
            return SimpleNamespace(status_code=200, headers={}), {"DecodedMessage": decoded}
        return None

    def _after_stack_call(
        self, model: Any, http_response: Any, context: dict[str, Any], **_: Any
    ) -> None:
        decision = context.get("amazonei_strict")
        phase = _HANDLER_PHASES.get(model.name)
        if model.name in ("CreateChangeSet", "CreateStack") and decision is not None:
            for call in parameter_requests(decision.request):
                self._record(self.decide(call), "CloudFormation's template parameters")
        if (
            phase
            and decision is not None
            and decision.denied is None
            and http_response.status_code < 300
        ):
            self._handlers(decision.request, phase)

    def _handlers(self, request: Request, phase: str) -> None:
        """Decide what CloudFormation's handlers call as this user (cfn_handlers.py)."""
        stack = request.params.get("StackName") or request.params.get("ChangeSetName")
        lookup = Lookup(self._owner_session, request.region)
        if str(stack).startswith("arn:") and ":changeSet/" in str(stack):
            found = lookup.change_set_stack(str(stack))
            stack = found[0] if found else stack
        for call in handler_requests(lookup, str(stack), phase, self.account):
            self._record(self.decide(call), f"CloudFormation's {phase} handlers")

    def _record(self, decision: Decision, on_behalf: str) -> None:
        """A request CloudFormation made as this user, kept under the caller's command."""
        made = dataclasses.replace(decision, command=f"{self.command} ({on_behalf})")
        with self._lock:
            self.log.append(made)


def _region_of(context: dict[str, Any]) -> str | None:
    client_region = context.get("client_region")
    return str(client_region) if client_region else None


def denial_message(user_arn: str, check: Check, service: str) -> str:
    """AWS's words for a request no identity policy allows."""
    resource = f'"{check.resource}"' if service == "s3" else check.resource
    where = "" if check.resource == "*" else f" on resource: {resource}"
    return (
        f"User: {user_arn} is not authorized to perform: {check.action}{where} "
        f"because no identity-based policy allows the {check.action} action"
    )


def error_code(protocol: str, service: str) -> str:
    """The code each protocol's services answer a refused request with."""
    if service == "ec2":
        return "UnauthorizedOperation"
    return "AccessDeniedException" if protocol == "json" else "AccessDenied"


def encode_failure(user_arn: str, user_id: str, check: Check) -> str:
    """The decoded form STS returns, encoded (AWS's is opaque; ours is base64 of it)."""
    document = {
        "allowed": False,
        "explicitDeny": False,
        "matchedStatements": {"items": []},
        "failures": {"items": []},
        "context": {
            "principal": {"id": user_id, "arn": user_arn},
            "action": check.action,
            "resource": check.resource,
            "conditions": {
                "items": [
                    {"key": k, "values": {"items": [{"value": v} for v in _values(value)]}}
                    for k, value in sorted(check.context.items())
                ]
            },
        },
    }
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


def _decode(encoded: str) -> str:
    padded = encoded + "=" * (-len(encoded) % 4)
    return base64.urlsafe_b64decode(padded.encode()).decode()


def _values(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _refusal(
    model: Any, user_arn: str, user_id: str, decision: Decision
) -> tuple[Any, dict[str, Any]]:
    check = decision.denied
    if check is None:
        raise ValueError("only a refused decision has a refusal")
    service = model.service_model.service_name
    message = denial_message(user_arn, check, service)
    if service == "ec2":
        message = (
            f"{_NOT_AUTHORIZED}{message}. {_ENCODED}{encode_failure(user_arn, user_id, check)}"
        )
    code = error_code(model.service_model.protocol, service)
    request_id = str(uuid.uuid4())
    parsed = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 403, "RequestId": request_id},
    }
    return SimpleNamespace(status_code=403, headers={"x-amzn-RequestId": request_id}), parsed


def _owner_session(region: str) -> Any:
    """The sandbox owner's session (in-process moto: any credentials are the owner's)."""
    import boto3

    return boto3.Session(
        region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
