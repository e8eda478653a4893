"""What every kind of resource provides, so plan, apply, inventory, teardown and expiry can
iterate over the registry (`resources.registry`) instead of naming kinds.

A kind owns: how discovery finds the deployment's own one (`discover`), the desired state and
the diff against what exists (`plan`), create / update / replace (`apply`), how inventory finds
it by tags (`inventory`, `region_inventory`), what teardown does with it and how (`teardown`,
`remove`), the tags it carries (`tags_of`, `retag`), its launch dependencies (in `plan`, and
`after` for the reversed teardown graph), and how it is counted and shown (`count_key`).
For the stack engines it owns its CloudFormation form (`stack_part`), what CloudFormation's
handlers call for it with the caller's credentials (`stack_handlers`) and how a stack's
resources read back as the direct engine's record (`stack_records`).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from amazonei_setup.aws.clients import AwsClients
from amazonei_setup.resources.stack_form import StackInput, StackPart

if TYPE_CHECKING:
    from amazonei_setup.aws.discovered import Discovery
    from amazonei_setup.spec.catalog import Catalog
    from amazonei_setup.spec.profile import Profile
    from amazonei_setup.state.ledger import Ledger

Action = Literal["create", "reuse", "update", "replace"]
Verb = Literal["terminate", "delete", "leave", "keep"]
PAST = {"create": "created", "reuse": "reused", "update": "updated", "replace": "replaced"}


@dataclass
class PlannedResource:
    """One resource of the launch plan; `details` is the kind's own typed data."""

    key: str
    kind: str
    name: str
    action: Action
    id: str | None = None
    depends_on: tuple[str, ...] = ()
    details: Any = None
    why: str = ""

    @property
    def per_seat(self) -> bool:
        """One of a workshop's per-seat resources (instance:N, key_pair:N)."""
        return ":" in self.key

    def to_dict(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "key": self.key,
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "id": self.id,
            "depends_on": list(self.depends_on),
            "why": self.why,
        }
        if isinstance(self.details, dict) and "Statement" in self.details:
            shown["policy"] = self.details  # an IAM policy it writes: shown, so it can be read
        return shown


@dataclass
class TeardownAction:
    verb: Verb
    kind: str
    name: str
    id: str
    reason: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "verb": self.verb,
            "kind": self.kind,
            "name": self.name,
            "id": self.id,
            "reason": self.reason,
        }


@dataclass
class PlanInput:
    """What a kind plans from: the profile, the read-only discovery, and the resources the
    kinds before it planned (so it can depend on them)."""

    profile: Profile
    discovery: Discovery
    catalog: Catalog
    planned: list[PlannedResource]

    def keys(self, *kinds: str) -> tuple[str, ...]:
        return tuple(r.key for r in self.planned if r.kind in kinds)


@dataclass
class DiscoverInput:
    """The lookups a kind may start during discovery; `vpc_id` is set for the second round."""

    clients: AwsClients
    profile: Profile
    catalog: Catalog
    home: Path
    pool: ThreadPoolExecutor
    keys: dict[int, Any]  # seat → SeatKey
    vpc_id: str | None = None


Collect = Callable[[], tuple[Any, int]]  # waits for a kind's lookups: (what was found, rounds)


@dataclass
class Found:
    """What one deployment has in AWS, by kind (the local record may be lost)."""

    name: str
    region: str
    items: dict[str, list[Any]] = field(default_factory=dict)

    def of(self, kind: str) -> list[Any]:
        return self.items.setdefault(kind, [])


class ApplyRun(Protocol):
    """What a kind's `apply` may use of the running launch."""

    clients: AwsClients
    profile: Profile
    discovery: Discovery
    ledger: Ledger
    tags: dict[str, str]
    ids: dict[str, str]
    created_at: str
    home_id: str
    sleep: Callable[[float], None]

    @property
    def user_data(self) -> bytes | None: ...

    def note(self, message: str) -> None: ...
    def new_attempt(self, resource: PlannedResource) -> str: ...
    def remember(self, resource: PlannedResource, resource_id: str, owned: bool, **extra: Any): ...
    def joined(self, resource: PlannedResource) -> None: ...
    def launched(self, seat: int, instance: Any) -> None: ...
    def get(self, key: str) -> PlannedResource | None: ...


class TeardownRun(Protocol):
    """What a kind's `remove` may use of the running teardown."""

    clients: AwsClients
    ledger: Ledger
    wait_timeout_s: float

    # read-only: a kind's `remove` looks at them, never sets them
    @property
    def sleep(self) -> Callable[[float], None]: ...
    @property
    def name(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def found(self) -> Found: ...

    def note(self, message: str) -> None: ...
    def other_users(self, endpoint: dict[str, Any]) -> set[str]: ...


@dataclass
class TagChange:
    """Tags a re-run moves on what exists: a new expiry, the user's changed or dropped tags."""

    put: dict[str, str] = field(default_factory=dict)
    remove: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.put or self.remove)


@dataclass(frozen=True)
class TeardownStep:
    """One node of the teardown graph: the kind's actions done together, and the steps of
    the same kind that must go first (kinds' order comes from the registry)."""

    key: str
    kind: str
    actions: tuple[TeardownAction, ...]
    after: tuple[str, ...] = ()
    paths: tuple[Path, ...] = ()  # local files that go with it (private keys)


class ResourceKind:
    """Defaults are those of a kind with nothing to do in that phase."""

    kind: ClassVar[str]
    title: ClassVar[str]  # how a person reads it: "IAM role"
    count_key: ClassVar[str | None] = None  # its entry in inventory counts
    # Kinds whose resources this one's are launched after; teardown reverses these edges.
    after: ClassVar[tuple[str, ...]] = ()
    # Kinds that teardown runs this one after, beyond the reversed launch edges (its waits).
    teardown_after: ClassVar[tuple[str, ...]] = ()
    # Dependents whose removal teardown need not wait for (a key pair goes while its
    # instances shut down: AWS does not need the instance gone first).
    teardown_ignores: ClassVar[tuple[str, ...]] = ()
    own: ClassVar[bool] = True  # belongs to one deployment alone (not a shared endpoint)
    # The caller's IAM actions for this kind, by how `iam_policy` scopes them: "read" (any
    # resource), "create" (EC2, only with our tag in the request), "owned" (EC2, only on
    # resources with our tag), "iam" (our IAM path), "ssm" (our parameter path), "s3" (our
    # buckets, `amazonei-setup-*`, and their objects), "other".
    caller_actions: ClassVar[dict[str, tuple[str, ...]]] = {}
    appears_on_its_own: ClassVar[bool] = False  # made by the instances, not by a launch
    is_seat: ClassVar[bool] = False  # one per seat: what a workshop's progress bar counts
    gate: ClassVar[bool] = False  # made before every other kind, removed after all of them
    # Stack engines: what each CloudFormation type it makes has its handler call (create,
    # read, update, delete) with the caller's credentials, and the record key of each of its
    # logical ids (`<Prefix>Seat` for per-seat ones, recorded as `<key>:<seat>`).
    stack_handlers: ClassVar[dict[str, tuple[str, ...]]] = {}
    stack_records: ClassVar[dict[str, str]] = {}

    # -- discovery and plan ---------------------------------------------------------------
    def discover(self, look: DiscoverInput) -> Collect | None:
        """Start the lookups of the deployment's own resource; None when it needs none."""
        return None

    def needs_vpc(self) -> bool:
        return False

    def plan(self, given: PlanInput) -> list[PlannedResource]:
        return []

    def folded_why(self, first: PlannedResource) -> str:
        """The note on a plan row that folds many seats' resources into one."""
        return first.why

    def preflight(self, clients: AwsClients, plan: Any, home: Path) -> None:
        """Ask AWS, before anything is created, whether the planned changes can succeed;
        raise a typed error when they cannot."""

    def step_calls(self, resource: PlannedResource) -> int:
        """Sequential AWS calls `apply` makes for it (0 to reuse): the critical-path bound."""
        return 0 if resource.action == "reuse" else 1

    # -- apply ----------------------------------------------------------------------------
    def apply(self, run: ApplyRun, resource: PlannedResource) -> str:
        raise NotImplementedError(f"{self.kind} has nothing to apply")

    def owned_when_reused(self, run: ApplyRun, resource: PlannedResource) -> bool:
        return True

    # -- inventory, expiry and teardown ---------------------------------------------------
    def inventory(
        self, clients: AwsClients, pool: ThreadPoolExecutor, name: str, region: str
    ) -> Future[list[Any]] | None:
        return None

    def region_inventory(self, clients: AwsClients, region: str) -> dict[str, list[Any]]:
        """Every managed one in the region, by the deployment its tags name."""
        return {}

    def tags_of(self, item: Any) -> dict[str, str]:
        return dict(item.get("tags") or {})

    def retag(
        self, clients: AwsClients, found: Found, change: TagChange, ec2_ids: list[str]
    ) -> None:
        """Put `change` on the deployment's own resources of this kind: EC2 kinds add their
        ids to `ec2_ids` (one call for all of them), IAM kinds tag their own."""

    def teardown(self, found: Found, home: Path, ledger: Ledger) -> list[TeardownStep]:
        return []

    def remove(self, run: TeardownRun, step: TeardownStep) -> list[TeardownAction]:
        """Carry out the step; returns the actions done (a step may discover more)."""
        return list(step.actions)

    # -- stack engines --------------------------------------------------------------------
    def stack_part(self, given: StackInput, seat: int | None) -> StackPart:
        """Its CloudFormation resources and outputs: the shared ones (`seat` None), or one
        seat's; nothing when a stack makes none of it."""
        return StackPart()


def grouped(items: list[tuple[str, Any]]) -> dict[str, list[Any]]:
    """(deployment, item) pairs by deployment."""
    out: dict[str, list[Any]] = {}
    for name, item in items:
        out.setdefault(name, []).append(item)
    return out
