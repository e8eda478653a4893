"""What a kind gives the stack engines: its CloudFormation resources and outputs (`StackPart`),
built from a `StackInput`, with the logical ids kinds refer to each other by.

A kind's part is asked for once for the shared resources (`seat=None`) and once per seat; the
template lists them in the registry's order, shared ones first, then seat by seat. Values
that differ per account or region are Parameters or pseudo parameters, never literals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from amazonei_setup.aws.amis import ResolvedAmi
    from amazonei_setup.spec.catalog import Catalog
    from amazonei_setup.spec.profile import Profile

ROLE = "InstanceRole"
INSTANCE_PROFILE = "InstanceProfile"
INSTANCE_SG = "InstanceSecurityGroup"
ENDPOINT_SG = "EndpointSecurityGroup"
ENDPOINT = "ElasticInferenceEndpoint"
LAUNCH_TEMPLATE = "LaunchTemplate"
ACCOUNT = "${AWS::AccountId}"
REGION = "${AWS::Region}"
KEY_PARAMETER_PATH = "/ec2/keypair/"  # where CloudFormation keeps an AWS::EC2::KeyPair's key


def instance_logical_id(seat: int) -> str:
    return f"InstanceSeat{seat}"


def key_logical_id(seat: int) -> str:
    return f"KeyPairSeat{seat}"


def sub(text: str) -> Any:
    """A string with ${...} variables as Fn::Sub, and a plain string as itself."""
    return {"Fn::Sub": text} if "${" in text else text


@dataclass(frozen=True)
class StackInput:
    """What a kind builds its stack form from: the profile, the looked-up image (or None),
    the rendered user data and the tags every resource carries."""

    profile: Profile
    catalog: Catalog
    ami: ResolvedAmi | None
    user_data: bytes
    tags: dict[str, Any]

    @property
    def ssh(self) -> bool:
        return self.profile.access.mode == "ssh"

    @property
    def create_keys(self) -> bool:
        return self.ssh and self.profile.access.key_pair == "create"


@dataclass
class StackPart:
    """A kind's resources and outputs, by logical id, in the order the template lists them."""

    resources: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)


def instance_tags(profile: Profile, tags: dict[str, Any], seat: int | None = None) -> Any:
    """The instances' tags (the launch template's too): the accelerator, and per seat its
    number and Name."""
    from amazonei_setup.resources.naming import TAG_ACCELERATOR, TAG_SEAT

    own = {**tags, TAG_ACCELERATOR: profile.accelerator or "none"}
    if seat is not None:
        own |= {TAG_SEAT: str(seat), "Name": f"{profile.name}-{seat}"}
    return own
