"""Which subnets of a VPC can run an instance type: one pure rule shared by discovery (which
plans with the first usable subnet) and the wizard (which lists them to choose from).

A subnet is usable when its AZ offers the type and, with an Elastic Inference accelerator
attached, has the EI endpoint service; one subnet per AZ, default-for-AZ first, in AZ order.
Every other subnet is hidden with the reason why, so both callers can say it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from amazonei_setup.errors import InputError


@dataclass(frozen=True)
class Subnet:
    id: str
    availability_zone: str
    vpc_id: str
    default_for_az: bool
    maps_public_ip: bool


@dataclass(frozen=True)
class SubnetChoice:
    """The usable subnets of `vpc_id` (the wanted one first) and the hidden ones, with why."""

    vpc_id: str
    instance_type: str
    with_ei: bool
    usable: list[Subnet]
    hidden: list[tuple[Subnet, str]]

    def reasons(self) -> list[str]:
        """Why subnets were hidden, each reason once."""
        return sorted({reason for _, reason in self.hidden})

    def hidden_note(self) -> str:
        """'N subnet(s) hidden: why; why' ('' when none was)."""
        if not self.hidden:
            return ""
        return f"{len(self.hidden)} subnet(s) hidden: " + "; ".join(self.reasons())

    def unusable(self) -> str | None:
        """Why no subnet can run the type (None when one can)."""
        if self.usable:
            return None
        reasons = self.reasons() or ["the VPC has no subnets"]
        with_ei = " with Elastic Inference" if self.with_ei else ""
        return f"no subnet of {self.vpc_id} can run {self.instance_type}{with_ei}: " + "; ".join(
            reasons
        )

    def unusable_error(self) -> InputError:
        return InputError(
            self.unusable() or f"a subnet of {self.vpc_id} can run {self.instance_type}",
            "choose another VPC or instance type, or add a subnet in an AZ that offers it",
        )


def usable_subnets(
    vpc_id: str,
    subnets: Sequence[Subnet],
    offered: Sequence[str],
    ei_azs: Sequence[str] | None,
    instance_type: str,
    wanted: str = "auto",
) -> SubnetChoice:
    """Sort the VPC's subnets into usable and hidden for `instance_type`.

    `offered`: the AZs that offer the type; `ei_azs`: the EI endpoint service's AZs when an
    accelerator is attached (None: no EI needed). `wanted` a subnet id puts it first (the rest
    stay for capacity failover), or raises InputError saying why it cannot be used.
    """
    usable: list[Subnet] = []
    hidden: list[tuple[Subnet, str]] = []
    for subnet in sorted(subnets, key=lambda s: (s.availability_zone, not s.default_for_az, s.id)):
        zone = subnet.availability_zone
        if zone not in offered:
            hidden.append((subnet, f"{zone} does not offer {instance_type}"))
        elif ei_azs is not None and zone not in ei_azs:
            hidden.append((subnet, f"{zone} has no Elastic Inference endpoint"))
        elif any(u.availability_zone == zone for u in usable):
            hidden.append((subnet, f"another subnet already serves {zone}"))
        else:
            usable.append(subnet)
    if wanted != "auto":
        chosen = [s for s in usable if s.id == wanted]
        if not chosen:
            if wanted not in {s.id for s in subnets}:
                raise InputError(
                    f"subnet {wanted} is not in the chosen VPC",
                    "list them with `aws ec2 describe-subnets`, or use network.subnet: auto",
                )
            reason = next(r for s, r in hidden if s.id == wanted)
            raise InputError(
                f"subnet {wanted} cannot be used: {reason}",
                "use network.subnet: auto to let the tool pick a subnet that works",
            )
        usable = chosen + [s for s in usable if s.id != wanted]
    return SubnetChoice(vpc_id, instance_type, ei_azs is not None, usable, hidden)
