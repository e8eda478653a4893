"""Where each value of the profile came from: a flag, the profile file, an answer, or a default.

The review shows it (the way Ray's bootstrap tells you default vs. profile vs. prompt), and the
same records label the answers for `validate_profile`, so a bad value is blamed on the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from amazonei_setup.spec.inputs import ProfileInputs

Path = tuple[str, ...]
Kind = Literal["default", "profile", "flag", "answer"]

# The fields the review lists, in the order of the profile document.
REVIEWED: tuple[Path, ...] = (
    ("name",),
    ("region",),
    ("instance_type",),
    ("accelerator",),
    ("os",),
    ("ami",),
    ("network", "vpc"),
    ("network", "subnet"),
    ("access", "mode"),
    ("access", "key_pair"),
    ("access", "ssh_cidr"),
    ("seats",),
    ("tags",),
)


@dataclass(frozen=True)
class Origin:
    kind: Kind
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind} ({self.detail})" if self.detail else self.kind


def dotted(path: Path) -> str:
    return ".".join(path)


def lookup(document: Any, path: Path) -> tuple[bool, Any]:
    node = document
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def origin_of(path: Path, inputs: ProfileInputs, answered: dict[Path, Origin]) -> Origin:
    """Flags beat the file; answers fill only what neither fixed; the rest is the default."""
    for fixed_path, flag in inputs.flag_paths.items():
        if path[: len(fixed_path)] == fixed_path:
            return Origin("flag", flag)
    if path in answered:
        return answered[path]
    source = inputs.source
    if source is not None and lookup(source.document, path)[0]:
        line = source.lines.get(path)
        return Origin("profile", f"{source.label}:{line}" if line else source.label)
    return Origin("default")


def show_value(path: Path, value: Any) -> str:
    if path == ("tags",):
        return ", ".join(f"{k}={v}" for k, v in value.items()) if value else "none"
    if value is None:
        return "none"
    return str(value)
