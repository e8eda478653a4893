"""The wizard's answer sheet: what each question decided, and where every value came from
(a default, the profile file, a flag, or an answer), in one small typed object.

The flow copies the sheet before each question it asks, so going back one question is putting
the copy back. Values are read through the sheet: the answers first, then the flags, then the
profile file.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from amazonei_setup.cli.wizard.choices import Family
from amazonei_setup.cli.wizard.keys import PublicKey
from amazonei_setup.cli.wizard.prompts import Answer
from amazonei_setup.cli.wizard.provenance import Origin, dotted, lookup, origin_of
from amazonei_setup.errors import ProfileError

if TYPE_CHECKING:
    from amazonei_setup.spec.catalog import Catalog
    from amazonei_setup.spec.inputs import ProfileInputs

Path = tuple[str, ...]
# Stand-ins for what is not chosen yet, so that one value can be judged on its own.
PLACEHOLDERS = {"name": "wizard", "region": "us-east-1", "instance_type": "m5.large"}


def nested(path: Path, value: Any) -> dict[str, Any]:
    """{'a': {'b': value}} for the path ('a', 'b')."""
    node: dict[str, Any] = {path[-1]: value}
    for part in reversed(path[:-1]):
        node = {part: node}
    return node


@dataclass
class Sheet:
    inputs: ProfileInputs
    answers: dict[str, Any] = field(default_factory=dict)  # nested like the profile
    origins: dict[Path, Origin] = field(default_factory=dict)  # of the answered paths
    family: Family | None = None  # the hardware family chosen (None: the type was fixed)
    access: str | None = None  # the access choice (ssm, ssh-new, ssh-existing, ssh-import)
    key_file: PublicKey | None = None  # a public key to import after the confirmation
    vpc_id: str | None = None  # the VPC chosen, as an id

    def copy(self) -> Sheet:
        return copy.deepcopy(self)

    def get(self, path: Path) -> Any:
        """The value at `path`: answered, else flagged, else from the profile file."""
        for document in (self.answers, self.inputs.overrides, self._source_document()):
            found, value = lookup(document, path)
            if found:
                return value
        return None

    def fixed(self, path: Path) -> bool:
        """Set by a flag or the profile file: not asked."""
        return self.inputs.fixed(path)

    def set(self, path: Path, value: Any, origin: Origin) -> None:
        from amazonei_setup.spec.profile_checks import merge_documents

        self.answers = merge_documents(self.answers, nested(path, value))
        self.origins[path] = origin

    def take(self, path: Path, answer: Answer, detail: str = "") -> None:
        """Set an accepted answer: typed is the person's answer, Enter took the default."""
        self.set(path, answer.value, Origin("answer" if answer.typed else "default", detail))

    def origin(self, path: Path) -> Origin:
        return origin_of(path, self.inputs, self.origins)

    def document(self) -> dict[str, Any]:
        """The profile document as it stands: the file, the answers, the flags on top."""
        from amazonei_setup.spec.profile_checks import merge_documents

        merged = merge_documents(self._source_document(), self.answers)
        return merge_documents(merged, self.inputs.overrides)

    def problem(self, path: Path, value: Any, catalog: Catalog) -> str | None:
        """What validate_profile says about `value` at `path` (None: nothing), judged with the
        rest of the profile as it stands and placeholders for what is not chosen yet."""
        from amazonei_setup.spec.profile_checks import merge_documents, validate_profile

        document = merge_documents(self.document(), nested(path, value))
        for key, placeholder in PLACEHOLDERS.items():
            if document.get(key) in (None, "") and path != (key,):
                document[key] = placeholder
        try:
            validate_profile(None, document, catalog=catalog)
        except ProfileError as exc:
            messages = [
                issue.message + (f" {issue.suggestion}" if issue.suggestion else "")
                for issue in exc.issues
                if issue.field == dotted(path) or issue.field.startswith(dotted(path) + ".")
            ]
            return " ".join(messages) or None
        return None

    def _source_document(self) -> dict[str, Any]:
        return self.inputs.source.document if self.inputs.source else {}
