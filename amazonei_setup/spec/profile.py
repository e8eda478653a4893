"""The launch profile: one declarative spec, from YAML, flags or the wizard, validated in one place.

Every problem is reported with the file and line where it sits, the field, the bad value, what is
allowed, and a suggestion when the value is a near miss.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from amazonei_setup.spec.catalog import load_catalog
from amazonei_setup.spec.ttl import NONE_WORDS, TTL_ALLOWED, parse_ttl

NAME_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")
TAG_PREFIXES_RESERVED = ("aws:", "amazonei-setup:")
MAX_SEATS = 200
# A resource takes 50 tags; the tool's own on an instance: deployment, managed, region,
# expires-at, seat, accelerator and Name.
MAX_USER_TAGS = 50 - 7


@lru_cache(maxsize=1)
def known_regions() -> list[str]:
    """Every region botocore knows for EC2, in all partitions (read from its bundled data)."""
    import botocore.session

    session = botocore.session.get_session()
    regions: list[str] = []
    for partition in session.get_available_partitions():
        regions.extend(session.get_available_regions("ec2", partition_name=partition))
    return sorted(set(regions))


def unknown_region_hint(value: str) -> str | None:
    """None for a region botocore knows; else what to say: the near miss, or where to look."""
    regions = known_regions()
    if value in regions:
        return None
    return did_you_mean(value, regions) or "See `aws ec2 describe-regions`."


# Any type AWS sells (checked against DescribeInstanceTypes at discovery): family, then a size.
INSTANCE_TYPE_SHAPE = re.compile(
    r"[a-z][a-z0-9-]*\.(nano|micro|small|medium|large|metal(-\d+xl)?|\d*xlarge)"
)


def did_you_mean(value: object, choices: list[str] | tuple[str, ...]) -> str | None:
    """'Did you mean X?' for a near miss, or None."""
    if not isinstance(value, str):
        return None
    match = difflib.get_close_matches(value.strip().lower(), list(choices), n=1, cutoff=0.6)
    return f"Did you mean '{match[0]}'?" if match else None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Network(_Strict):
    vpc: str = "default"
    subnet: str = "auto"

    @field_validator("vpc")
    @classmethod
    def _vpc(cls, value: str) -> str:
        if value != "default" and not re.fullmatch(r"vpc-[0-9a-f]{8,17}", value):
            raise ValueError(f"'{value}' is not a VPC; use 'default' or an id like vpc-0abc1234")
        return value

    @field_validator("subnet")
    @classmethod
    def _subnet(cls, value: str) -> str:
        if value != "auto" and not re.fullmatch(r"subnet-[0-9a-f]{8,17}", value):
            raise ValueError(f"'{value}' is not a subnet; use 'auto' or an id like subnet-0abc1234")
        return value


class Access(_Strict):
    mode: Literal["ssh", "ssm"] = "ssh"
    key_pair: str = "create"
    ssh_cidr: str = "auto"
    allow_world_ssh: bool = False

    @field_validator("key_pair")
    @classmethod
    def _key_pair(cls, value: str) -> str:
        if not value or len(value) > 255 or not value.isprintable():
            raise ValueError("a key pair name is 1-255 printable characters, or 'create'")
        return value

    @field_validator("ssh_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        if value == "auto":
            return value
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(
                f"'{value}' is not a CIDR block; use 'auto' (your public IP /32) "
                "or a block like 203.0.113.7/32"
            ) from None
        return str(network)


class BenchmarkAccess(_Strict):
    """Where a benchmark candidate's agent finds its work in the benchmark's bucket (issue
    22): the harness it runs (held to `harness_sha256`), the job, the model; and the one key
    it may write, its result. The instance role may read `read_keys` and write `result_key`
    and nothing else of S3."""

    bucket: str
    harness_key: str
    harness_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    job_key: str
    read_keys: list[str]
    result_key: str


class Agent(_Strict):
    enabled: bool = True
    smoke_test: bool = True
    benchmark: BenchmarkAccess | None = None  # set by `benchmark`, never by a profile file


class Profile(_Strict):
    """The profile of the command-line contract (README, "Profiles"). `accelerator` is None for
    no Elastic Inference accelerator."""

    name: str
    region: str
    instance_type: str
    accelerator: str | None = "eia2.medium"
    os: Literal["amazon-linux", "ubuntu"] = "amazon-linux"
    ami: str = "auto"
    network: Network = Field(default_factory=Network)
    access: Access = Field(default_factory=Access)
    seats: StrictInt = Field(default=1, ge=1, le=MAX_SEATS)  # `seats: true` is not 1
    tags: dict[str, str] = Field(default_factory=dict)
    agent: Agent = Field(default_factory=Agent)
    ttl: str | None = None  # e.g. 4h: `sweep --expired` removes the deployment after that

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_PATTERN.fullmatch(value):
            raise ValueError(
                f"'{value}' is not a deployment name; use 1-32 of a-z, 0-9 and '-', "
                "starting and ending with a letter or digit (e.g. 'demo-1')"
            )
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        hint = unknown_region_hint(value)
        if hint is not None:
            raise ValueError(f"'{value}' is not an AWS region. {hint}")
        return value

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: str) -> str:
        known = sorted(load_catalog().instances)
        if value not in known and not INSTANCE_TYPE_SHAPE.fullmatch(value):
            hint = did_you_mean(value, known) or ""
            raise ValueError(
                f"'{value}' is not in the catalog nor shaped like an EC2 instance type "
                f"(family.size, e.g. g6.xlarge); the catalog knows {', '.join(known)}. "
                f"{hint}".strip()
            )
        return value

    @field_validator("ami")
    @classmethod
    def _ami(cls, value: str) -> str:
        if value != "auto" and not re.fullmatch(r"ami-[0-9a-f]{8,17}", value):
            raise ValueError(f"'{value}' is not an AMI id; use 'auto' or an id like ami-0abc1234")
        return value

    @field_validator("accelerator", mode="before")
    @classmethod
    def _none_words(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "")):
            return None
        return value

    @field_validator("ttl", mode="before")
    @classmethod
    def _ttl(cls, value: Any) -> Any:
        """A duration word, checked here so every mistake names what is allowed."""
        if value is None or (isinstance(value, str) and value.strip().lower() in NONE_WORDS):
            return None
        if not isinstance(value, str):
            raise ValueError(f"{show_value(value)} is not a duration; use {TTL_ALLOWED}")
        parse_ttl(value.strip())
        return value.strip()

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_USER_TAGS:
            raise ValueError(
                f"{len(value)} tags are too many: AWS takes 50 per resource and the tool adds "
                f"its own {50 - MAX_USER_TAGS}, so at most {MAX_USER_TAGS} are yours"
            )
        for key, tag_value in value.items():
            if key.lower().startswith(TAG_PREFIXES_RESERVED):
                raise ValueError(f"tag key '{key}' uses a reserved prefix (aws:, amazonei-setup:)")
            if not 1 <= len(key) <= 128 or len(tag_value) > 256:
                raise ValueError(f"tag '{key}': keys are 1-128 characters, values at most 256")
        return value

    @property
    def has_eia(self) -> bool:
        return self.accelerator is not None

    def to_document(self) -> dict[str, Any]:
        """The profile as a YAML-ready mapping (the inverse of loading)."""
        document = self.model_dump(mode="json")
        document["accelerator"] = self.accelerator or "none"
        if self.ttl is None:  # absent, not null: profiles saved before ttl existed stay the same
            del document["ttl"]
        if self.agent.benchmark is None:  # likewise: only a benchmark's candidates carry it
            del document["agent"]["benchmark"]
        return document


def show_value(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
