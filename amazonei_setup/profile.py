"""The launch profile: one declarative spec, from YAML, flags or the wizard, validated in one place.

Every problem is reported with the file and line where it sits, the field, the bad value, what is
allowed, and a suggestion when the value is a near miss.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from amazonei_setup.catalog import Catalog, load_catalog
from amazonei_setup.errors import ProfileError, ProfileIssue
from amazonei_setup.ttl import NONE_WORDS, TTL_ALLOWED, parse_ttl

NAME_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")
TAG_PREFIXES_RESERVED = ("aws:", "amazonei-setup:")
WORLD_CIDRS = ("0.0.0.0/0", "::/0")
MAX_SEATS = 200


@lru_cache(maxsize=1)
def known_regions() -> list[str]:
    """Every region botocore knows for EC2, in all partitions (read from its bundled data)."""
    import botocore.session

    session = botocore.session.get_session()
    regions: list[str] = []
    for partition in session.get_available_partitions():
        regions.extend(session.get_available_regions("ec2", partition_name=partition))
    return sorted(set(regions))


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


class Agent(_Strict):
    enabled: bool = True
    smoke_test: bool = True


class Profile(_Strict):
    """The DESIGN contract's profile. `accelerator` is None for no Elastic Inference accelerator."""

    name: str
    region: str
    instance_type: str
    accelerator: str | None = "eia2.medium"
    os: Literal["amazon-linux", "ubuntu"] = "amazon-linux"
    ami: str = "auto"
    network: Network = Field(default_factory=Network)
    access: Access = Field(default_factory=Access)
    seats: int = Field(default=1, ge=1, le=MAX_SEATS)
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
        regions = known_regions()
        if value not in regions:
            hint = did_you_mean(value, regions) or "See `aws ec2 describe-regions`."
            raise ValueError(f"'{value}' is not an AWS region. {hint}")
        return value

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: str) -> str:
        known = sorted(load_catalog().instances)
        if value not in known:
            hint = did_you_mean(value, known) or ""
            raise ValueError(
                f"'{value}' is not in the catalog; supported: {', '.join(known)}. {hint}".strip()
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
            raise ValueError(f"{_show(value)} is not a duration; use {TTL_ALLOWED}")
        parse_ttl(value.strip())
        return value.strip()

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
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
        return document


# ---------------------------------------------------------------------------------------------
# Reading YAML with line numbers


@dataclass
class ProfileSource:
    """A profile document plus where each of its keys came from (for error locations)."""

    document: dict[str, Any]
    label: str = "profile"
    lines: dict[tuple[str, ...], int] = field(default_factory=dict)


def _key_lines(node: yaml.Node, prefix: tuple[str, ...], out: dict[tuple[str, ...], int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*prefix, str(key_node.value))
            out[key] = key_node.start_mark.line + 1
            _key_lines(value_node, key, out)


def read_profile_file(path: str | Path) -> ProfileSource:
    """Parse a YAML profile; syntax, encoding and shape problems become ProfileErrors."""
    path = Path(path)
    label = str(path)

    def fail(message: str, line: int | None = None) -> ProfileError:
        return ProfileError([ProfileIssue(field="", message=message, source=label, line=line)])

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise fail("file not found; check the path given to --profile-file") from None
    except IsADirectoryError:
        raise fail("is a directory, not a YAML profile") from None
    except OSError as exc:
        raise fail(f"cannot be read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise fail(f"is not UTF-8 text (byte {exc.start}); a profile is a YAML file") from None
    if not text.strip():
        raise fail("is empty; a profile needs at least name, region and instance_type")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise fail(f"is not valid YAML: {problem}", mark.line + 1 if mark else None) from None
    if not isinstance(document, dict):
        kind = type(document).__name__ if document is not None else "nothing"
        raise fail(f"must be a mapping of keys (name: ..., region: ...), not a {kind}", 1)
    lines: dict[tuple[str, ...], int] = {}
    if node is not None:
        _key_lines(node, (), lines)
    return ProfileSource(document=document, label=label, lines=lines)


# ---------------------------------------------------------------------------------------------
# Validation


def merge_documents(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Overlay flag values on a profile document (nested mappings merge key by key)."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_documents(merged[key], value)
        else:
            merged[key] = value
    return merged


def _flatten(document: dict[str, Any], prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    paths: set[tuple[str, ...]] = set()
    for key, value in document.items():
        paths.add((*prefix, str(key)))
        if isinstance(value, dict):
            paths |= _flatten(value, (*prefix, str(key)))
    return paths


def _model_at(path: tuple[str, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] = Profile
    for part in path:
        annotation = model.model_fields.get(part)
        if annotation is None:
            return None
        inner = annotation.annotation
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            model = inner
        else:
            return None
    return model


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Locator:
    """Maps a field path to 'file:line', to the flag that set it, or to 'default value'."""

    def __init__(
        self,
        source: ProfileSource | None,
        flag_paths: dict[tuple[str, ...], str],
        document: dict[str, Any],
    ):
        self.source = source
        self.flag_paths = flag_paths
        self.document = document

    def issue(self, path: tuple[str, ...], message: str, suggestion: str | None = None):
        dotted = ".".join(path)
        label = self.source.label if self.source else "launch options"
        if path in self.flag_paths:
            label = self.flag_paths[path]
            return ProfileIssue(dotted, message, source=label, suggestion=suggestion)
        if path and not _present(self.document, path) and _model_default(path):
            message = f"{message} (this is the default; set {dotted} to choose another)"
            return ProfileIssue(dotted, message, source=label, suggestion=suggestion)
        if self.source is None:
            return ProfileIssue(dotted, message, source=label, suggestion=suggestion)
        line = None
        for length in range(len(path), 0, -1):
            line = self.source.lines.get(path[:length])
            if line:
                break
        return ProfileIssue(
            dotted, message, source=self.source.label, line=line, suggestion=suggestion
        )


def _present(document: dict[str, Any], path: tuple[str, ...]) -> bool:
    node: Any = document
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _model_default(path: tuple[str, ...]) -> bool:
    parent = _model_at(path[:-1])
    info = parent.model_fields.get(path[-1]) if parent else None
    return info is not None and not info.is_required()


def _pydantic_issues(error: ValidationError, locate: _Locator) -> list[ProfileIssue]:
    issues = []
    for item in error.errors():
        path = tuple(str(part) for part in item["loc"])
        kind = item["type"]
        value = item.get("input")
        if kind == "extra_forbidden":
            parent = _model_at(path[:-1])
            allowed = sorted(parent.model_fields) if parent else []
            issues.append(
                locate.issue(
                    path,
                    f"unknown key; allowed here: {', '.join(allowed)}.",
                    did_you_mean(path[-1], allowed),
                )
            )
        elif kind == "missing":
            issues.append(locate.issue(path, "is required."))
        elif kind == "value_error":
            message = str(item["msg"]).removeprefix("Value error, ")
            issues.append(locate.issue(path, message))
        elif kind == "literal_error":
            expected = str(item.get("ctx", {}).get("expected", ""))
            choices = re.findall(r"'([^']+)'", expected)
            issues.append(
                locate.issue(
                    path,
                    f"{_show(value)} is not allowed; use one of {expected}.",
                    did_you_mean(value, choices),
                )
            )
        elif kind in ("greater_than_equal", "less_than_equal"):
            issues.append(
                locate.issue(path, f"{_show(value)} is out of range: must be 1 to {MAX_SEATS}.")
            )
        else:
            issues.append(locate.issue(path, f"{_show(value)}: {item['msg'].lower()}."))
    return issues


def _sorted(issues: list[ProfileIssue]) -> list[ProfileIssue]:
    return sorted(issues, key=lambda issue: (issue.line is None, issue.line or 0))


def _catalog_issues(profile: Profile, catalog: Catalog, locate: _Locator) -> list[ProfileIssue]:
    """Checks that need the hardware catalog (types, accelerators, where they were sold)."""
    issues: list[ProfileIssue] = []
    spec = catalog.instance(profile.instance_type)
    refusal = catalog.refusal(profile.instance_type)
    if refusal is not None and profile.ami == "auto":
        issues.append(
            locate.issue(
                ("instance_type",),
                f"{profile.instance_type} cannot be launched with a Deep Learning AMI: "
                f"{refusal.reason}. Use {' or '.join(refusal.alternatives)} instead "
                "(or name your own AMI with ami: ami-...).",
            )
        )
    if profile.accelerator is None:
        return issues
    accelerator = catalog.accelerator(profile.accelerator)
    if accelerator is None:
        names = sorted(catalog.accelerators) + sorted(catalog.accelerator_aliases) + ["none"]
        issues.append(
            locate.issue(
                ("accelerator",),
                f"'{profile.accelerator}' is not an Elastic Inference accelerator; "
                f"use one of {', '.join(names)}.",
                did_you_mean(profile.accelerator, names),
            )
        )
        return issues
    if spec is not None and not catalog.accepts_accelerator(profile.instance_type):
        issues.append(
            locate.issue(
                ("accelerator",),
                f"'{profile.accelerator}' cannot be attached to {profile.instance_type}: it "
                f"carries its own accelerator ({spec.accelerator_summary()}); set accelerator: "
                f"none, or use a CPU instance ({', '.join(catalog.ei_host_families)}).",
            )
        )
    sold_here = any(profile.region in acc.regions for acc in catalog.accelerators.values())
    # Regions that never had EI at all are left to discovery, which asks AWS and explains the
    # retirement with priced alternatives; here only the generation mismatch is caught.
    if sold_here and profile.region not in accelerator.regions:
        others = [
            acc.name
            for acc in catalog.accelerators.values()
            if profile.region in acc.regions and acc.memory_gib >= accelerator.memory_gib
        ]
        alternative = f" Try {others[0]}." if others else ""
        issues.append(
            locate.issue(
                ("accelerator",),
                f"{accelerator.generation} accelerators were never offered in "
                f"{profile.region}.{alternative}",
            )
        )
    return issues


def _access_issues(profile: Profile, locate: _Locator) -> list[ProfileIssue]:
    access = profile.access
    issues = []
    if access.mode == "ssh" and access.ssh_cidr in WORLD_CIDRS and not access.allow_world_ssh:
        issues.append(
            locate.issue(
                ("access", "ssh_cidr"),
                f"'{access.ssh_cidr}' opens SSH to the whole internet; use 'auto' (your IP /32) "
                "or a narrow block, or set access.allow_world_ssh: true if you really mean it.",
            )
        )
    if access.mode == "ssm":
        # SSH settings with SSM-only access would be silently ignored: say so instead.
        for field_name, default in (("key_pair", "create"), ("ssh_cidr", "auto")):
            value = getattr(access, field_name)
            if value != default:
                issues.append(
                    locate.issue(
                        ("access", field_name),
                        f"'{value}' conflicts with access mode ssm (no SSH, no key, no open "
                        "port); drop it, or use access mode ssh.",
                    )
                )
    return issues


def _default_accelerator(document: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
    """Only CPU hosts get the contract's default accelerator; Inferentia/GPU carry their own."""
    if "accelerator" in document:
        return document
    instance_type = document.get("instance_type")
    if isinstance(instance_type, str) and not catalog.accepts_accelerator(instance_type):
        return {**document, "accelerator": None}
    return document


def validate_profile(
    source: ProfileSource | None,
    overrides: dict[str, Any] | None = None,
    flag_paths: dict[tuple[str, ...], str] | None = None,
    catalog: Catalog | None = None,
) -> Profile:
    """Build a Profile from a file and/or flag overrides, or raise ProfileError with every issue.

    `flag_paths` names the flag behind each overridden field, so messages say `--instance-type`
    rather than a line of a file the value did not come from.
    """
    catalog = catalog or load_catalog()
    overrides = overrides or {}
    flag_paths = flag_paths or {}
    base = source.document if source else {}
    document = _default_accelerator(merge_documents(base, overrides), catalog)
    given = {p: f for p, f in flag_paths.items() if p in _flatten(overrides)}
    locate = _Locator(source, given, document)
    try:
        profile = Profile.model_validate(document)
    except ValidationError as exc:
        raise ProfileError(_sorted(_pydantic_issues(exc, locate))) from None
    if profile.accelerator is not None:
        profile = profile.model_copy(
            update={"accelerator": catalog.canonical_accelerator(profile.accelerator)}
        )
    issues = _catalog_issues(profile, catalog, locate) + _access_issues(profile, locate)
    if issues:
        raise ProfileError(_sorted(issues))
    return profile
