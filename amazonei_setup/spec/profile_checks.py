"""Validating a profile document (from a file, flags and the wizard's answers): every problem
is reported with the file and line where it sits, the field, the bad value, what is allowed, and
a suggestion when the value is a near miss."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from pydantic import BaseModel, ValidationError

from amazonei_setup.errors import ProfileError, ProfileIssue
from amazonei_setup.spec.catalog import Catalog, load_catalog
from amazonei_setup.spec.profile import (
    MAX_SEATS,
    Profile,
    did_you_mean,
    show_value,
)
from amazonei_setup.spec.profile_file import ProfileSource

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
                    f"{show_value(value)} is not allowed; use one of {expected}.",
                    did_you_mean(value, choices),
                )
            )
        elif kind in ("greater_than_equal", "less_than_equal"):
            issues.append(
                locate.issue(
                    path, f"{show_value(value)} is out of range: must be 1 to {MAX_SEATS}."
                )
            )
        else:
            issues.append(locate.issue(path, f"{show_value(value)}: {item['msg'].lower()}."))
    return issues


def _sorted(issues: list[ProfileIssue]) -> list[ProfileIssue]:
    return sorted(issues, key=lambda issue: (issue.line is None, issue.line or 0))


def _catalog_issues(profile: Profile, catalog: Catalog, locate: _Locator) -> list[ProfileIssue]:
    """Checks that need the hardware catalog (types, accelerators, where they were sold)."""
    issues: list[ProfileIssue] = []
    spec = catalog.instance(profile.instance_type)
    refusal = catalog.refusal(profile.instance_type, profile.accelerator, profile.os)
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


# The widest SSH source accepted without allow_world_ssh: an organisation's range fits, a
# slice of the internet does not (0.0.0.0/1 + 128.0.0.0/1, ::/1, 2000::/3, ::ffff:0:0/96).
WIDEST_PREFIX = {4: 16, 6: 48}


def too_wide(cidr: str) -> bool:
    if cidr == "auto":
        return False
    network = ipaddress.ip_network(cidr, strict=False)
    mapped = getattr(network.network_address, "ipv4_mapped", None)
    if network.version == 6 and mapped is not None:  # ::ffff:a.b.c.d/N is IPv4 /N-96
        return network.prefixlen - 96 < WIDEST_PREFIX[4]
    return network.prefixlen < WIDEST_PREFIX[network.version]


def reach(cidr: str) -> str:
    """How much of the internet a too-wide source is, in words."""
    if ipaddress.ip_network(cidr, strict=False).prefixlen == 0:
        return "the whole internet"
    widest = f"/{WIDEST_PREFIX[4]} for IPv4, /{WIDEST_PREFIX[6]} for IPv6"
    return f"a large part of the internet (wider than {widest})"


def _access_issues(profile: Profile, locate: _Locator) -> list[ProfileIssue]:
    access = profile.access
    issues = []
    if access.mode == "ssh" and too_wide(access.ssh_cidr) and not access.allow_world_ssh:
        issues.append(
            locate.issue(
                ("access", "ssh_cidr"),
                f"'{access.ssh_cidr}' opens SSH to {reach(access.ssh_cidr)}; use 'auto' (your "
                "IP /32) or a narrow block, or set access.allow_world_ssh: true if you mean it.",
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


def check_hardware(profile: Profile, catalog: Catalog) -> None:
    """The catalog checks again, once AWS's own figures for the type are in `catalog`
    (aws/instance_types.py): a type the bundled YAML does not know is checked here."""
    issues = _catalog_issues(profile, catalog, _Locator(None, {}, {}))
    if issues:
        raise ProfileError(_sorted(issues))


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
