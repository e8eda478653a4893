"""What the wizard hands to launch: the validated profile, where each value came from, the
public key to import once the plan is confirmed, and the final confirmation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from amazonei_setup.cli.wizard.keys import PublicKey
from amazonei_setup.cli.wizard.prompts import Asker, Back
from amazonei_setup.cli.wizard.provenance import (
    REVIEWED,
    Origin,
    dotted,
    lookup,
    origin_of,
    show_value,
)

if TYPE_CHECKING:
    from amazonei_setup.engines.discover import Discovery
    from amazonei_setup.engines.plan import Plan
    from amazonei_setup.spec.inputs import ProfileInputs
    from amazonei_setup.spec.profile import Profile

Path = tuple[str, ...]
SSH_ONLY = (("access", "key_pair"), ("access", "ssh_cidr"))
NOTHING_ASKED = "flags and the profile answered every question: there is none to go back to"


@dataclass
class KeyImport:
    """A public key file to import as key pair `name` once the plan is confirmed."""

    key: PublicKey
    name: str
    exists: bool = False  # imported by an earlier run: used as it is


@dataclass
class WizardResult:
    profile: Profile
    inputs: ProfileInputs
    origins: dict[Path, Origin]
    key_import: KeyImport | None = None
    asker: Asker | None = field(default=None, repr=False)
    # `<` at the review: the last question again, then a new result (None: none was asked)
    back: Callable[[], WizardResult] | None = field(default=None, repr=False)

    def confirm(self, prompt: str) -> bool:
        """A question after the review; raises prompts.Quit on q / Ctrl-C, and prompts.Back
        on `<` (the caller then calls `back`) when a question was asked."""
        if self.asker is None:
            raise RuntimeError("the wizard's answers were not given through an Asker")
        while True:
            try:
                return self.asker.confirm(prompt, back=True)
            except Back:
                if self.back is not None:
                    raise
                self.asker.problem(NOTHING_ASKED)

    def origin(self, path: Path) -> Origin:
        return origin_of(path, self.inputs, self.origins)

    @property
    def pending_import(self) -> KeyImport | None:
        return self.key_import if self.key_import and not self.key_import.exists else None

    def plan_profile(self) -> Profile:
        """The profile to plan the review with: before the import, the key pair does not exist
        yet, so the review plans a new key in its place and `review_plan` relabels it."""
        if self.pending_import is None:
            return self.profile
        access = self.profile.access.model_copy(update={"key_pair": "create"})
        return self.profile.model_copy(update={"access": access})

    def review_plan(self, plan: Plan) -> Plan:
        pending = self.pending_import
        if pending is None:
            return plan
        from amazonei_setup.engines.plan import PlannedResource
        from amazonei_setup.resources.key_pair import KeyDetails

        # The review planned a created key per seat; the import is one key for every seat.
        first = next(i for i, r in enumerate(plan.resources) if r.kind == "key-pair")
        planned = [r for r in plan.resources if r.kind != "key-pair"]
        for resource in planned:
            if resource.kind == "ec2-instance":
                resource.depends_on = tuple(
                    "key_pair" if d.startswith("key_pair") else d for d in resource.depends_on
                )
        planned.insert(
            first,
            PlannedResource(
                "key_pair",
                "key-pair",
                pending.name,
                "create",
                details=KeyDetails(owned=False),
                why=f"import of {pending.key.path} (after you confirm)",
            ),
        )
        plan.resources = planned
        return plan

    def rows(self, plan: Plan | None = None) -> list[tuple[str, str, str]]:
        """(setting, value, where it came from) for the review."""
        document = self.profile.to_document()
        discovery = plan.discovery if plan is not None else None
        rows = []
        for path in REVIEWED:
            value = lookup(document, path)[1]
            if self.profile.access.mode == "ssm" and path in SSH_ONLY:
                continue  # no key pair, no open port: nothing to show
            shown = show_value(path, value)
            if discovery is not None:
                shown += _resolved(path, value, discovery)
            rows.append((dotted(path), shown, str(self.origin(path))))
        return rows


def _resolved(path: Path, value: Any, discovery: Discovery) -> str:
    if path == ("network", "vpc") and value == "default":
        return f" ({discovery.vpc_id})"
    if path == ("network", "subnet") and value == "auto":
        return f" ({discovery.subnets[0].id})"
    if path == ("ami",) and value == "auto":
        return f" ({discovery.ami.id})"
    if path == ("access", "ssh_cidr") and value == "auto" and discovery.ssh_cidr:
        return f" ({discovery.ssh_cidr})"
    return ""
