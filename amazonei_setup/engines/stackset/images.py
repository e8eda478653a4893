"""The stack set's ImageId: one public SSM parameter that exists in every target region, else
an image id per region (docs/DESIGN.md, "Hardware and prices", the ImageId default).

Public parameters differ by region (a newer framework's DLAMI is published later in some), and
a stack set's body is one for all its regions: a default that is missing in one region fails
that region's stack instances after the set is made. So at plan time, before anything is
created, each target region is asked for the rule's parameters (in this account: public
parameters and DLAMIs are the same in every account of a region). The first, in the rule's
order, that exists and names a fitting image in all of them becomes the default; when none
does, ImageId becomes a plain image id given per region through ParameterOverrides (the way
StackSets varies a parameter by region, and the way it already gets rules with no parameter),
each region's being the image the direct engine would launch there — the plan names the
regions that lacked which parameter. A region with no image at all fails the plan there
(resolve_ami's error, naming the region), before anything is created.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from amazonei_setup.aws.amis import fitting_parameters
from amazonei_setup.engines.protocol import Environment
from amazonei_setup.spec.catalog import Catalog
from amazonei_setup.spec.profile import Profile

PER_REGION = {
    "Type": "AWS::EC2::Image::Id",
    "Description": "the Deep Learning AMI of this region (given per region: no public SSM "
    "parameter of the rule exists in every target region)",
}


@dataclass(frozen=True)
class ImageChoice:
    """The public parameter every target region has (None: an image id per region), and per
    region the rule's parameters it lacks."""

    parameter: str | None
    missing: dict[str, list[str]] = field(default_factory=dict)

    def note(self) -> str | None:
        lacking = "; ".join(
            f"{region} lacks {', '.join(names)}" for region, names in self.missing.items() if names
        )
        if self.parameter is None:
            return (
                "no public SSM parameter of the AMI rule exists in every target region "
                f"({lacking}): each region gets its own image id"
            )
        if lacking:
            return (
                f"ImageId defaults to {self.parameter}, the rule's first that every target "
                f"region has ({lacking})"
            )
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"ssm_parameter": self.parameter, "missing": self.missing, "note": self.note()}


def choose_image(
    env: Environment, profile: Profile, catalog: Catalog, regions: list[str]
) -> ImageChoice | None:
    """None when the rule has no public parameter (or the profile names an AMI): the image is
    given per region already."""
    rule = catalog.ami_rule(profile.instance_type, profile.accelerator, profile.os)
    if profile.ami != "auto" or not rule.ssm_parameters:
        return None
    present = {
        region: fitting_parameters(
            env.clients(region), catalog, profile.model_copy(update={"region": region})
        )
        for region in regions
    }
    missing = {
        r: [p for p in rule.ssm_parameters if p not in found] for r, found in present.items()
    }
    for name in rule.ssm_parameters:
        if all(name in found for found in present.values()):
            return ImageChoice(name, missing)
    return ImageChoice(None, missing)


def apply_choice(template: dict[str, Any], choice: ImageChoice | None) -> None:
    """The body's ImageId made to fit every target region."""
    if choice is None:
        return
    parameters = template["Parameters"]
    if choice.parameter is not None:
        parameters["ImageId"]["Default"] = choice.parameter
    else:
        parameters["ImageId"] = dict(PER_REGION)
