"""What discovery found, as plain data: the plan reads it, every kind finds its own part in
`Existing`. No AWS calls and no resource kinds here (`discover` does the looking)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from amazonei_setup.aws.amis import ResolvedAmi
from amazonei_setup.aws.subnets import Subnet


@dataclass
class Existing:
    """What the deployment already has in AWS, by kind (each kind's own shape), for reuse on
    re-runs. A kind that was not looked up reads as None."""

    found: dict[str, Any] = field(default_factory=dict)

    def of(self, kind: str) -> Any:
        return self.found.get(kind)


@dataclass(frozen=True)
class SeatKey:
    """The key pair a seat's instance is launched with; `path` is None for the user's own."""

    name: str
    path: Path | None


@dataclass
class Discovery:
    account_id: str
    caller_arn: str
    region: str
    vpc_id: str
    vpc_is_default: bool
    offered_azs: list[str]
    ei_azs: list[str] | None
    subnets: list[Subnet]
    hidden_subnets: list[tuple[Subnet, str]]
    ami: ResolvedAmi
    ssh_cidr: str | None
    existing: Existing
    keys: dict[int, SeatKey]  # by seat; empty with SSM access
    missing_actions: list[str] | None = None  # None: the caller's permissions were not checked
    user_key_tags: dict[str, str] = field(default_factory=dict)  # a named key pair's tags
    depth: int = 0  # sequential rounds of AWS calls this discovery took

    def facts(self) -> dict[str, Any]:
        """What a re-run of the same deployment reuses instead of looking up again: the same
        VPC, subnets and AMI keep every seat alike, and an idempotent re-run cheap."""
        return {
            "account_id": self.account_id,
            "vpc_id": self.vpc_id,
            "vpc_is_default": self.vpc_is_default,
            "offered_azs": self.offered_azs,
            "ei_azs": self.ei_azs,
            "subnets": [asdict(s) for s in self.subnets],
            "hidden_subnets": [[asdict(s), reason] for s, reason in self.hidden_subnets],
            "ami": asdict(self.ami),
        }
