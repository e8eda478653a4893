"""The plan of a stack set launch: which accounts and regions get which resources, and what
it costs (seats × price × targets). Printable, JSON-able; nothing in AWS changes here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from amazonei_setup.engines.stackset.images import ImageChoice
from amazonei_setup.engines.stackset.operations import PREFERENCES, stack_set_name
from amazonei_setup.engines.stackset.targets import Resolved, Targets


@dataclass
class StackSetPlan:
    deployment: str
    region: str  # where the stack set itself lives (the profile's region)
    targets: Targets
    resolved: Resolved
    template: dict[str, Any]
    seats: int
    hardware: str
    price_per_hour_usd: float | None
    tags: dict[str, str]
    # region → ParameterOverrides (ImageId where no public SSM parameter names the AMI)
    overrides: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    profile_document: dict[str, Any] = field(default_factory=dict)  # what the record keeps
    image: ImageChoice | None = None  # the ImageId default every target region has

    @property
    def name(self) -> str:
        return stack_set_name(self.deployment)

    @property
    def auto_deployment(self) -> bool:
        """An OU target keeps deploying to accounts that join it (a workshop's late comers);
        a list of accounts is exactly that list."""
        return self.targets.ou is not None

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return [(a, r) for a in self.resolved.accounts for r in self.targets.regions]

    @property
    def instances_total(self) -> int:
        return self.seats * len(self.pairs)

    @property
    def total_per_hour_usd(self) -> float | None:
        if self.price_per_hour_usd is None:
            return None
        return round(self.price_per_hour_usd * self.instances_total, 6)

    def resources(self) -> list[dict[str, str]]:
        """What each stack instance creates, in template order (network only where needed)."""
        out = []
        for logical_id, resource in self.template.get("Resources", {}).items():
            entry = {"logical_id": logical_id, "type": resource["Type"]}
            if "Condition" in resource:
                entry["only_if"] = resource["Condition"]
            out.append(entry)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "engine": "stackset",
            "deployment": self.deployment,
            "stack_set": self.name,
            "region": self.region,
            "permission_model": "SERVICE_MANAGED",
            "auto_deployment": self.auto_deployment,
            "call_as": "SELF",
            "operation_preferences": PREFERENCES,
            "requested": self.targets.to_dict(),
            "deployment_targets": self.resolved.deployment_targets,
            "targets": [{"account": a, "region": r} for a, r in self.pairs],
            "resources_per_target": self.resources(),
            "parameter_overrides": self.overrides,
            "image_parameter": self.image.to_dict() if self.image else None,
            "hardware": self.hardware,
            "seats_per_target": self.seats,
            "instances_total": self.instances_total,
            "price_per_hour_usd": self.price_per_hour_usd,
            "total_per_hour_usd": self.total_per_hour_usd,
            "tags": self.tags,
        }
