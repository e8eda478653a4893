"""The deployment record: what a launch created and reused, and what runs, as one typed,
versioned document. Records written before the schema had a version are read and migrated.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SCHEMA_VERSION = 2


class RecordError(ValueError):
    """A record that cannot be read: the caller names the file and what to do."""


class RecordedResource(BaseModel):
    """One resource of the deployment, as apply last saw it."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    name: str
    id: str
    action: str  # created | reused | updated | replaced
    owned: bool = False  # created by this deployment: teardown removes it
    shared: bool | None = None  # the VPC's endpoint, which other deployments may use
    private_key: str | None = None  # a created key pair's private key file
    seat: int | None = None


class RecordedInstance(BaseModel):
    """One seat's instance as last seen running, how to reach it, and its agent's verdict."""

    model_config = ConfigDict(extra="forbid")

    id: str
    seat: int = 1
    availability_zone: str = ""
    subnet_id: str = ""
    state: str = "unknown"
    instance_type: str = ""
    public_ip: str | None = None
    public_dns: str | None = None
    private_ip: str | None = None
    launched_at: str | None = None
    connect: str | None = None
    agent: str | None = None


class RecordedStack(BaseModel):
    """The CloudFormation stack that holds a deployment made with `--engine cloudformation`."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    status: str = "unknown"


class RecordedStackSet(BaseModel):
    """A deployment carried by a service-managed stack set: where it goes, and what the
    last look at its stack instances found (one row per account and region)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    id: str | None = None
    ou: str | None = None
    accounts: list[str] = Field(default_factory=list)  # the accounts resolved at launch
    regions: list[str] = Field(default_factory=list)
    deployment_targets: dict[str, Any] = Field(default_factory=dict)
    auto_deployment: bool = False
    operations: list[str] = Field(default_factory=list)
    instances: list[dict[str, str]] = Field(default_factory=list)


class DeploymentRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    schema_version: int = SCHEMA_VERSION
    name: str
    region: str
    endpoint_url: str | None = None
    created_at: str
    updated_at: str | None = None
    status: str = "applying"  # applying | incomplete | ready | tearing-down
    profile: dict[str, Any] = Field(default_factory=dict)
    resources: dict[str, RecordedResource] = Field(default_factory=dict)
    instances: list[RecordedInstance] = Field(default_factory=list)
    account_id: str | None = None
    vpc_id: str | None = None
    planned: list[dict[str, Any]] = Field(default_factory=list)
    discovered: dict[str, Any] | None = None  # facts a re-run reuses (VPC, subnets, AMI)
    # None: no ttl. Unset (a record from before ttl existed): the tags say.
    expires_at: str | None = None
    # RunInstances' ClientToken of each seat's latest attempt, written before the call: EC2
    # answers a repeated token with the first instance (even terminated), so each attempt
    # gets its own, and a retry of the same call (botocore's) keeps it.
    launch_tokens: dict[str, str] = Field(default_factory=dict)
    # None: the direct engine. "cloudformation": `stack` holds every resource; `resources`
    # and `instances` mirror it in the direct engine's shape (connect and verify read those).
    engine: str | None = None
    stack: RecordedStack | None = None
    stack_set: RecordedStackSet | None = None
    # A benchmark's own record (its bucket): the request it resumes and each candidate's
    # deployment and progress (engines/benchmark/run.py). None for every other deployment.
    benchmark: dict[str, Any] | None = None

    @property
    def has_expiry_field(self) -> bool:
        return "expires_at" in self.model_fields_set

    def resource_id(self, key: str) -> str | None:
        found = self.resources.get(key)
        return found.id if found else None

    def to_document(self) -> dict[str, Any]:
        exclude = set() if self.has_expiry_field else {"expires_at"}
        exclude |= {
            k for k in ("engine", "stack", "stack_set", "benchmark") if getattr(self, k) is None
        }
        return self.model_dump(mode="json", exclude=exclude)


def migrate(document: Any) -> dict[str, Any]:
    """A stored document brought to the current schema. Version 1 (no `schema_version`) is
    what the tool wrote before records were typed: same keys, untyped; `expires_at` absent
    in the oldest ones (kept absent: the tags then say)."""
    if not isinstance(document, dict):
        raise RecordError(f"expected a JSON object, found {type(document).__name__}")
    version = document.get("schema_version", 1)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise RecordError(f"schema_version {version!r} is newer than this tool understands")
    migrated = dict(document)
    if version == 1:
        migrated["resources"] = {
            key: {k: v for k, v in entry.items() if k in RecordedResource.model_fields}
            for key, entry in (document.get("resources") or {}).items()
            if isinstance(entry, dict)
        }
        migrated["instances"] = [
            {k: v for k, v in entry.items() if k in RecordedInstance.model_fields}
            for entry in document.get("instances") or []
            if isinstance(entry, dict)
        ]
        migrated["schema_version"] = SCHEMA_VERSION
    return migrated


def parse_record(document: Any) -> DeploymentRecord:
    try:
        return DeploymentRecord.model_validate(migrate(document))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the document"
        raise RecordError(f"{where}: {first['msg']}") from None
