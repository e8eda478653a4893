"""EC2 key pairs: created ones keep their private key in the state home (0600); a named,
existing key pair is used as it is and never touched."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from amazonei_setup.aws.clients import AwsClients, aws_errors, is_error, unless_absent
from amazonei_setup.resources.kind import (
    Action,
    ApplyRun,
    Collect,
    DiscoverInput,
    Found,
    PlanInput,
    PlannedResource,
    ResourceKind,
    TagChange,
    TeardownAction,
    TeardownRun,
    TeardownStep,
    grouped,
)
from amazonei_setup.resources.naming import (
    TAG_DEPLOYMENT,
    TAG_MANAGED,
    key_pair_name,
    key_pair_names_pattern,
    tag_dict,
    tag_filters,
    tag_list,
    tag_specifications,
)
from amazonei_setup.resources.stack_form import StackInput, StackPart, key_logical_id
from amazonei_setup.resources.stack_handlers import handlers_of
from amazonei_setup.state.paths import write_private

if TYPE_CHECKING:
    from amazonei_setup.state.ledger import Ledger


def find(clients: AwsClients, key_name: str) -> dict[str, Any] | None:
    with aws_errors(f"looking up key pair {key_name}"):
        found = unless_absent(
            lambda: clients.ec2.describe_key_pairs(KeyNames=[key_name]), "InvalidKeyPair.NotFound"
        )
    pairs = found["KeyPairs"] if found else []
    if not pairs:
        return None
    return {
        "id": pairs[0].get("KeyPairId", key_name),
        "name": pairs[0]["KeyName"],
        "tags": tag_dict(pairs[0].get("Tags")),
    }


def private_key_path(home: Path, region: str, key_name: str) -> Path:
    return home / "keys" / region / f"{key_name}.pem"


def private_key_files(home: Path, region: str, deployment: str) -> list[Path]:
    """Every seat's private key file of the deployment that is still in the state home."""
    folder = home / "keys" / region
    found = {
        path
        for pattern in key_pair_names_pattern(deployment)
        for path in folder.glob(f"{pattern}.pem")
    }
    return sorted(found)


def find_named(clients: AwsClients, key_names: list[str]) -> dict[str, dict[str, Any]]:
    """The key pairs among `key_names` that exist, by name: one call for every seat."""
    if not key_names:
        return {}
    found = find_tagged(clients, [{"Name": "key-name", "Values": key_names}])
    return {pair["name"]: pair for pair in found}


def create(
    clients: AwsClients, key_name: str, key_path: Path, tags: dict[str, str], key_type: str
) -> str:
    """Create the key pair and write its private key before anything else can fail.

    If ours already exists (a retried call whose first answer was lost), its private key is
    gone with that answer: replace it rather than hand out a key nobody can use.
    """
    request = {
        "KeyName": key_name,
        "KeyType": key_type,
        "KeyFormat": "pem",
        "TagSpecifications": tag_specifications(["key-pair"], tags),
    }
    with aws_errors(f"creating key pair {key_name}"):
        try:
            created = clients.ec2.create_key_pair(**request)
        except Exception as exc:
            if not is_error(exc, "InvalidKeyPair.Duplicate"):
                raise
            theirs = [p for p in find_tagged(clients, [{"Name": "key-name", "Values": [key_name]}])
                      if p["tags"].get("amazonei-setup:managed") != "true"]  # fmt: skip
            if theirs:
                raise
            clients.ec2.delete_key_pair(KeyName=key_name)
            created = clients.ec2.create_key_pair(**request)
    write_private(key_path, created["KeyMaterial"])
    return str(created.get("KeyPairId", key_name))


def find_tagged(clients: AwsClients, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with aws_errors("listing key pairs"):
        pairs = clients.ec2.describe_key_pairs(Filters=filters)["KeyPairs"]
    return [
        {
            "id": p.get("KeyPairId", p["KeyName"]),
            "name": p["KeyName"],
            "tags": tag_dict(p.get("Tags")),
        }
        for p in pairs
    ]


def delete(clients: AwsClients, key_name: str) -> None:
    """Deleting a key pair that does not exist succeeds on AWS: safe to repeat."""
    with aws_errors(f"deleting key pair {key_name}"):
        clients.ec2.delete_key_pair(KeyName=key_name)


@dataclass
class KeyPairsFound:
    """The deployment's created key pairs that exist, and those whose private key is here."""

    pairs: dict[str, dict[str, Any]] = field(default_factory=dict)
    private_keys_present: set[str] = field(default_factory=set)


@dataclass
class KeyDetails:
    owned: bool
    path: str | None = None  # the private key file, for a key pair the tool creates
    seat: int | None = None


class KeyPairKind(ResourceKind):
    """One created key pair per seat (each attendee gets only their own key), or the user's
    named key pair, shared and never modified."""

    kind = "key-pair"
    caller_actions: ClassVar[dict[str, tuple[str, ...]]] = {
        "read": ("ec2:DescribeKeyPairs",),
        "create": ("ec2:CreateKeyPair", "ec2:ImportKeyPair"),
        "owned": ("ec2:DeleteKeyPair",),
    }
    title = "key pair"
    count_key = "key_pairs"
    teardown_ignores = ("ec2-instance",)  # deleting a key pair does not wait for instances
    # the private key goes to SSM as /ec2/keypair/<key pair id>, where the tool fetches it
    stack_handlers: ClassVar[dict[str, tuple[str, ...]]] = handlers_of("AWS::EC2::KeyPair")
    stack_records: ClassVar[dict[str, str]] = {"KeyPairSeat": "key_pair"}

    def stack_part(self, given: StackInput, seat: int | None) -> StackPart:
        """A created ed25519 key per seat (its outputs are the instance's: instance_stack)."""
        if seat is None or not given.create_keys:
            return StackPart()
        properties = {
            "KeyName": key_pair_name(given.profile.name, seat),
            "KeyType": "ed25519",
            "KeyFormat": "pem",
            "Tags": tag_list(given.tags),
        }
        key = {"Type": "AWS::EC2::KeyPair", "Properties": properties}
        return StackPart({key_logical_id(seat): key})

    def discover(self, look: DiscoverInput) -> Collect:
        created = [k for k in look.keys.values() if k.path is not None]
        pairs = look.pool.submit(find_named, look.clients, [k.name for k in created])

        def collect() -> tuple[Any, int]:
            present = {k.name for k in created if k.path.exists()}
            return KeyPairsFound(pairs.result(), present), 1

        return collect

    def plan(self, given: PlanInput) -> list[PlannedResource]:
        profile, discovery = given.profile, given.discovery
        if not discovery.keys:
            return []
        if profile.access.key_pair != "create":
            # A key pair the wizard imported for this deployment carries its tags: ours.
            tags = discovery.user_key_tags
            owned = tags.get(TAG_MANAGED) == "true" and tags.get(TAG_DEPLOYMENT) == profile.name
            why = (
                "imported for this deployment"
                if owned
                else "your existing key pair (never modified)"
            )
            name = profile.access.key_pair
            return [
                PlannedResource(
                    "key_pair", self.kind, name, "reuse", name, (), KeyDetails(owned), why
                )
            ]
        existing: KeyPairsFound = discovery.existing.of(self.kind) or KeyPairsFound()
        planned = []
        for seat, key in sorted(discovery.keys.items()):
            found = existing.pairs.get(key.name)
            action: Action
            if found is None:
                action, why = "create", f"ed25519; private key saved to {key.path}"
            elif key.name not in existing.private_keys_present:
                action, why = "replace", "the private key is not in the state home"
            else:
                action, why = "reuse", ""
            planned.append(
                PlannedResource(
                    f"key_pair:{seat}",
                    self.kind,
                    key.name,
                    action,
                    found["id"] if found else None,
                    details=KeyDetails(True, str(key.path), seat),
                    why=why,
                )
            )
        return planned

    def folded_why(self, first: PlannedResource) -> str:
        if not first.details.path:
            return first.why
        if first.action == "reuse":
            return ""
        return f"one per seat; private keys saved in {first.details.path.rsplit('/', 1)[0]}/"

    def step_calls(self, resource: PlannedResource) -> int:
        return {"replace": 2, "reuse": 0}.get(resource.action, 1)

    def apply(self, run: ApplyRun, resource: PlannedResource) -> str:
        details: KeyDetails = resource.details
        path = Path(str(details.path))
        if resource.action == "replace":
            delete(run.clients, resource.name)
        key_id = create(run.clients, resource.name, path, run.tags, "ed25519")
        run.remember(resource, key_id, owned=True, private_key=str(path), seat=details.seat)
        return key_id

    def owned_when_reused(self, run: ApplyRun, resource: PlannedResource) -> bool:
        return bool(resource.details.owned)

    def inventory(
        self, clients: AwsClients, pool: ThreadPoolExecutor, name: str, region: str
    ) -> Future[list[Any]]:
        return pool.submit(find_tagged, clients, tag_filters(name))

    def region_inventory(self, clients: AwsClients, region: str) -> dict[str, list[Any]]:
        return grouped(
            [(p["tags"].get(TAG_DEPLOYMENT, "?"), p) for p in find_tagged(clients, tag_filters())]
        )

    def retag(
        self, clients: AwsClients, found: Found, change: TagChange, ec2_ids: list[str]
    ) -> None:
        ec2_ids += [p["id"] for p in found.of(self.kind) if p["id"].startswith("key-")]

    def teardown(self, found: Found, home: Path, ledger: Ledger) -> list[TeardownStep]:
        """Each key pair, then the private key files (even of a key pair already gone)."""
        steps = [
            TeardownStep(
                f"key:{p['name']}",
                self.kind,
                (TeardownAction("delete", self.kind, p["name"], p["id"]),),
            )
            for p in found.of(self.kind)
        ]
        files = tuple(private_key_files(home, found.region, found.name))
        if files:
            steps.append(
                TeardownStep("key-files", self.kind, (), tuple(s.key for s in steps), files)
            )
        return steps

    def remove(self, run: TeardownRun, step: TeardownStep) -> list[TeardownAction]:
        for action in step.actions:
            delete(run.clients, action.name)
        for path in step.paths:
            path.unlink(missing_ok=True)
        return list(step.actions)


KIND = KeyPairKind()
