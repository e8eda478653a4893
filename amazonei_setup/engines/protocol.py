"""The engine protocol: the one shape every way of making a deployment real has (direct API
calls, a CloudFormation stack, a StackSets stack set), so the commands can pick an engine once
and then only gather, call and render (docs/DESIGN.md, "The engine protocol").

An engine is a library: it never prints, prompts or exits. What it has to say while it works
goes to a reporter; what it needs of the outside world (clients, clocks, the sandbox's signing
key) comes in an `Environment`; the question between plan and apply is the caller's."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from amazonei_setup.aws.clients import AwsClients, AwsTarget
from amazonei_setup.resources.instance import LaunchedInstance
from amazonei_setup.spec.profile import Profile
from amazonei_setup.spec.ttl import utc_clock
from amazonei_setup.state.ledger import Edit
from amazonei_setup.state.record import DeploymentRecord

EngineName = Literal["direct", "cloudformation", "stackset"]
ENGINES: tuple[EngineName, ...] = ("direct", "cloudformation", "stackset")

PlanT = TypeVar("PlanT")
TeardownT = TypeVar("TeardownT")
LaunchedT = TypeVar("LaunchedT", covariant=True)
RemovedT = TypeVar("RemovedT", covariant=True)


def _no_ip(target: AwsTarget) -> str:
    raise RuntimeError("no public-IP lookup was given to this engine")


@dataclass
class Environment:
    """What an engine needs from outside, injectable for tests (nothing sleeps there)."""

    home: Path
    clients: Callable[[str], AwsClients]  # a region's clients (one session per command)
    # a recorded deployment's own clients (its sandbox's for a sandbox deployment); may raise
    record_clients: Callable[[DeploymentRecord], AwsClients]
    ip_lookup: Callable[[AwsTarget], str] = _no_ip  # the caller's public address (ssh auto)
    now: Callable[[], datetime] = utc_clock  # dates a new deployment, and so its expiry
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    # the sandbox's key (read when needed): it runs only user data signed with it; else None
    user_data_key: Callable[[], bytes | None] = field(default=lambda: None)
    # a spinner (or nothing) around a read that may take seconds, e.g. "looking at us-west-2"
    busy: Callable[[str], AbstractContextManager[Any]] = field(default=lambda _: nullcontext())


@dataclass
class StackState:
    """A stack's status now, and its drift: None where drift detection is unavailable (the
    sandbox's CloudFormation), [] in sync, else each drifted resource."""

    status: str  # DELETED when the stack is gone
    drift: list[dict[str, str]] | None = None
    name: str = ""  # the stack's name (amazonei-setup-<deployment>)


@dataclass
class EngineStatus:
    """A recorded deployment as it is now."""

    instances: list[LaunchedInstance] = field(default_factory=list)  # direct and stack
    stack: StackState | None = None  # CloudFormation, when asked for the detail
    stack_instances: list[dict[str, str]] | None = None  # a stack set's, per account-region


class StackReporter(Protocol):
    """How the CloudFormation and StackSets engines tell the terminal (or a test) what they
    are doing; the direct engine has its own, richer one (`engines.direct.apply.Reporter`)."""

    def stage(self, message: str) -> None: ...
    def stack_event(self, event: dict[str, Any]) -> None: ...
    def target_state(self, account: str, region: str, state: str) -> None: ...


class SilentStackReporter:
    def stage(self, message: str) -> None:
        pass

    def stack_event(self, event: dict[str, Any]) -> None:
        pass

    def target_state(self, account: str, region: str, state: str) -> None:
        pass


class Engine(Protocol[PlanT, LaunchedT, TeardownT, RemovedT]):
    """One engine. The calls come in this order, each phase's result handed to the next:

    plan → (the caller shows it and asks) → apply, or discard when the answer is no or the
    person pressed Ctrl-C; status and verify_targets read a recorded deployment;
    plan_teardown → (shown, asked) → teardown.

    `apply` saves the record (through `edit`) before every step that changes AWS, so an
    interrupted run can be resumed or torn down; `teardown` removes the record last."""

    name: EngineName

    def plan(self, profile: Profile, record: DeploymentRecord | None) -> PlanT:
        """Everything checked and resolved, nothing billable made (a change set at most)."""
        ...

    def discard(self, plan: PlanT) -> None:
        """What planning left in AWS (a change set) removed: the answer was no."""
        ...

    def apply(self, plan: PlanT, edit: Edit) -> LaunchedT:
        """Make the plan real, the record saved before every step."""
        ...

    def status(self, record: DeploymentRecord, detail: bool = False) -> EngineStatus:
        """The deployment as it runs now; `detail`: what takes longer to read (a stack's
        drift), for the one deployment a person asked about."""
        ...

    def verify_targets(self, record: DeploymentRecord) -> list[str]:
        """The instance ids whose agents' reports `verify` reads."""
        ...

    def plan_teardown(self, name: str, region: str, record: DeploymentRecord | None) -> TeardownT:
        """What a teardown would remove, read from AWS; nothing changes. `record` is None
        for a deployment found by its tags alone (the direct engine's only)."""
        ...

    def teardown(self, plan: TeardownT) -> RemovedT:
        """Remove it, then the record."""
        ...
