"""The network questions: the VPC, then a subnet that can run the chosen hardware (the same
rule discovery plans with, from aws/subnets.py)."""

from __future__ import annotations

from amazonei_setup.aws.subnets import usable_subnets
from amazonei_setup.cli.wizard.prompts import Answer, Option
from amazonei_setup.cli.wizard.questions import Line, Menu, Question, Revisit, State
from amazonei_setup.errors import InputError

VPC_PATH = ("network", "vpc")
SUBNET_PATH = ("network", "subnet")


def _show_vpc(state: State) -> Menu:
    vpcs = state.aws.vpcs(state.region)
    if not vpcs:
        raise InputError(
            f"{state.region} has no VPC", "create one (or the default VPC) and run again"
        )
    options = tuple(
        Option(
            vpc.id,
            (vpc.id, vpc.cidr, vpc.name, "default VPC" if vpc.is_default else ""),
            aliases=("default",) if vpc.is_default else (),
        )
        for vpc in vpcs
    )
    return Menu("VPC", options, vpcs[0].id)


def _record_vpc(state: State, answer: Answer) -> tuple[Line, ...]:
    chosen = next(v for v in state.aws.vpcs(state.region) if v.id == answer.value)
    state.sheet.vpc_id = chosen.id
    value = "default" if chosen.is_default else chosen.id
    state.sheet.take(VPC_PATH, Answer(value, answer.typed))
    return ()


def _show_subnet(state: State) -> Menu:
    sheet, region, instance_type = state.sheet, state.region, state.instance_type
    vpc_id = sheet.vpc_id or state.aws.vpc_id(region, str(sheet.get(VPC_PATH) or "default"))
    has_eia = state.has_eia()
    choice = usable_subnets(
        vpc_id,
        state.aws.subnets(region, vpc_id),
        state.aws.offered(region, instance_type),
        state.aws.ei_azs(region) if has_eia else None,
        instance_type,
    )
    if not choice.usable:
        if sheet.fixed(VPC_PATH):
            raise choice.unusable_error()
        raise Revisit("vpc", f"{choice.unusable()}; choose another VPC")
    options = [Option("auto", ("auto", "the first that works,", "in this order"))]
    options += [
        Option(
            s.id, (s.id, s.availability_zone, "public IP" if s.maps_public_ip else "no public IP")
        )
        for s in choice.usable
    ]
    note = "Only AZs that offer " + instance_type
    note += " and the Elastic Inference endpoint." if has_eia else "."
    if choice.hidden:
        note += " " + choice.hidden_note()
    return Menu("Subnet", tuple(options), "auto", note)


def _record_subnet(state: State, answer: Answer) -> tuple[Line, ...]:
    state.sheet.take(SUBNET_PATH, answer)
    return ()


VPC = Question(
    "vpc",
    "VPC",
    (VPC_PATH,),
    _show_vpc,
    _record_vpc,
    skip_when_fixed=(VPC_PATH, SUBNET_PATH),
)
SUBNET = Question("subnet", "Subnet", (SUBNET_PATH,), _show_subnet, _record_subnet)
