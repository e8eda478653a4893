"""What the profile file and the flags fixed before anything is asked or validated: shared by
the commands (which collect it from argparse) and the wizard (which asks for the rest)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from amazonei_setup.errors import InputError

if TYPE_CHECKING:  # pydantic and yaml load only when a profile is read
    from amazonei_setup.spec.profile_file import ProfileSource

Path = tuple[str, ...]


def parse_tags(pairs: list[str]) -> dict[str, str]:
    """KEY=VALUE pairs as a dict; InputError naming the first pair that is not one."""
    tags = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"--tag '{pair}' is not KEY=VALUE", "e.g. --tag workshop=reinvent")
        tags[key] = value
    return tags


@dataclass
class ProfileInputs:
    """What the profile file and the flags fixed, before anything is asked or validated."""

    source: ProfileSource | None
    overrides: dict[str, Any]  # flag values, nested like the profile document
    flag_paths: dict[Path, str]  # profile path -> the flag that set it
    missing: list[str]  # flags of the required choices nobody fixed

    def fixed(self, path: Path) -> bool:
        """True when the file or a flag sets `path` (the wizard does not ask for it)."""
        documents = [self.overrides] + ([self.source.document] if self.source else [])
        for document in documents:
            node: Any = document
            for part in path:
                if not isinstance(node, dict) or part not in node:
                    break
                node = node[part]
            else:
                return True
        return False
