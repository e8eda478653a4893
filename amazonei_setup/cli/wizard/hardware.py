"""The hardware questions: region (and whose account it is), family, size, accelerator, OS."""

from __future__ import annotations

from typing import Any

from amazonei_setup.aws.clients import configured_region
from amazonei_setup.cli.wizard.choices import DEFAULT_FAMILY, FAMILIES, Family, family
from amazonei_setup.cli.wizard.prompts import Answer, Option
from amazonei_setup.cli.wizard.provenance import Origin
from amazonei_setup.cli.wizard.questions import (
    Checked,
    Field,
    Line,
    Menu,
    Question,
    Settled,
    State,
)
from amazonei_setup.cli.wizard.sheet import Sheet
from amazonei_setup.errors import InputError
from amazonei_setup.spec.catalog import Catalog, InstanceSpec
from amazonei_setup.spec.hardware_choices import choices, price_cell, price_note


def family_specs(
    catalog: Catalog, fam: Family, aws: dict[str, InstanceSpec] | None = None
) -> list[InstanceSpec]:
    """The types of a family's menu: the catalog's, and for Neuron and NVIDIA the accelerated
    types AWS offers in the region (`aws`: Reads.accelerated), by family then size."""
    families = fam.instance_families or catalog.ei_host_families
    return choices(catalog, fam.kind, families, aws or {})


def family_types(
    catalog: Catalog, fam: Family, aws: dict[str, InstanceSpec] | None = None
) -> list[str]:
    return [spec.instance_type for spec in family_specs(catalog, fam, aws)]


# -- region -----------------------------------------------------------------------------------


def _show_region(state: State) -> Field:
    default = configured_region(state.ctx.aws_profile) or "us-east-1"
    return Field("Region", default, "Where to launch: e.g. us-west-2, us-east-1, eu-west-1.")


def _check_region(state: State, text: str) -> Checked:
    return text, state.sheet.problem(("region",), text, state.catalog)


def _record_region(state: State, answer: Answer) -> tuple[Line, ...]:
    state.sheet.take(("region",), answer)
    return ()


def _show_account(state: State) -> Settled:
    account, arn = state.aws.identity(state.region)
    where = ""
    if state.ctx.sandbox:
        where = f" (sandbox {state.aws.endpoint(state.region)})"
    return Settled(
        lines=(Line(f"Account {account} as {arn}, region {state.region}{where}.", "dim"),)
    )


# -- family and size --------------------------------------------------------------------------


def _is_eia(sheet: Sheet) -> None:
    sheet.family = family("eia")


def _show_family(state: State) -> Menu | Settled:
    sheet, catalog, region = state.sheet, state.catalog, state.region
    accelerator = sheet.get(("accelerator",))
    if sheet.fixed(("accelerator",)) and catalog.accelerator(str(accelerator)):
        return Settled(then=_is_eia)  # --accelerator eia2.large: the hardware is EI
    ei = state.aws.ei_azs(region)
    offers = state.aws.offers(region)
    aws = state.aws.accelerated(region)
    options = []
    for fam in FAMILIES:
        if fam.key == "eia" and (ei is None or sheet.fixed(("accelerator",))):
            continue
        offered = [t for t in family_types(catalog, fam, aws) if offers.get(t)]
        detail = fam.detail
        if fam.key == "eia":
            detail = f"retired by AWS; still in {len(ei or [])} AZs here"
        disabled = None if offered else f"not offered in {region}"
        options.append(Option(fam.key, (fam.key, fam.label, detail), disabled, (fam.label,)))
    note = "What runs your model."
    if ei is None:
        note += f" Elastic Inference is not offered in {region}: " + catalog.ei_retirement_note
    else:
        note += " Elastic Inference: " + catalog.ei_retirement_note
    enabled = [o.value for o in options if not o.disabled]
    if not enabled:
        raise InputError(
            f"{region} offers none of the catalog's instance types",
            "choose another region (--region)",
        )
    default = DEFAULT_FAMILY if DEFAULT_FAMILY in enabled else enabled[0]
    return Menu("Hardware family", tuple(options), default, note)


def _record_family(state: State, answer: Answer) -> tuple[Line, ...]:
    state.sheet.family = family(answer.value)
    if answer.value == "cpu":
        state.sheet.set(("accelerator",), "none", Origin("answer", "CPU only"))
    return ()


def _accelerator_cell(spec: Any, fam: Family) -> str:
    if spec.kind == "neuron":
        return f"{spec.neuron_cores} NeuronCores"
    if spec.kind == "nvidia":
        return f"{spec.gpus}× {spec.gpu_model} {spec.gpu_memory_gib:.0f} GiB"
    return "+ EI accelerator" if fam.key == "eia" else "none"


def _show_size(state: State) -> Menu:
    fam = state.sheet.family or family(DEFAULT_FAMILY)
    offers = state.aws.offers(state.region)
    specs = family_specs(state.catalog, fam, state.aws.accelerated(state.region))
    found = state.aws.prices(state.region, [spec.instance_type for spec in specs])
    prices = [found.get(spec.instance_type) for spec in specs]
    note, plain = price_note(prices)
    if fam.key == "cpu":
        note += " Any other type AWS sells: --instance-type (e.g. c7i.xlarge, c7g.xlarge)."
    elif fam.key != "eia":
        note += (
            " One size per family and accelerator count (the smallest host);"
            " any other size: --instance-type."
        )
    options = []
    for spec, price in zip(specs, prices, strict=True):
        azs = offers.get(spec.instance_type) or []
        cells = (
            spec.instance_type,
            f"{spec.vcpus}",
            f"{spec.memory_gib:g} GiB",
            _accelerator_cell(spec, fam),
            price_cell(price, plain),
            f"{len(azs)} AZs" if azs else "",
        )
        options.append(
            Option(spec.instance_type, cells, None if azs else f"not offered in {state.region}")
        )
    enabled = [o.value for o in options if not o.disabled]
    return Menu(
        f"Size ({fam.label})",
        tuple(options),
        fam.default_size if fam.default_size in enabled else enabled[0],
        note,
        ("type", "vCPU", "memory", "accelerator", "$/hour", "offered"),
    )


def _record_size(state: State, answer: Answer) -> tuple[Line, ...]:
    state.sheet.take(("instance_type",), answer)
    learned = state.aws.accelerated(state.region).get(str(answer.value))
    if learned is not None:  # the questions after this one (OS, name) know what it carries
        state.catalog = state.catalog.with_instances({learned.instance_type: learned})
    return ()


# -- accelerator and OS -----------------------------------------------------------------------


def _takes_accelerator(state: State) -> bool:
    """Inferentia and GPUs carry their own; CPU only was chosen as a family."""
    if not state.catalog.accepts_accelerator(state.instance_type):
        return False
    return state.sheet.family is None or state.sheet.family.key != "cpu"


def _show_accelerator(state: State) -> Menu | Settled:
    catalog, region, instance_type = state.catalog, state.region, state.instance_type
    ei = state.aws.ei_azs(region)
    if ei is None:

        def none_here(sheet: Sheet) -> None:
            sheet.set(("accelerator",), "none", Origin("default", f"no EI in {region}"))

        warning = (
            f"Elastic Inference is not offered in {region}: {catalog.ei_retirement_note} "
            f"{instance_type} runs without an accelerator; for one, choose Inferentia or an "
            "NVIDIA GPU (--instance-type inf2.xlarge, g4dn.xlarge)."
        )
        return Settled("Accelerator", (Line(warning, "yellow"),), none_here)
    accelerators = sorted(
        catalog.accelerators.values(), key=lambda a: (-int(a.generation[-1]), a.memory_gib)
    )
    options = []
    for acc in accelerators:
        price = f"{acc.price_per_hour:.2f}" if acc.price_per_hour is not None else "?"
        cells = (
            acc.name,
            f"{acc.memory_gib:g} GiB",
            f"{acc.fp32_tflops:g} / {acc.fp16_tflops:g}",
            price,
        )
        sold = region in acc.regions
        options.append(
            Option(
                acc.name, cells, None if sold else f"{acc.generation} was never sold in {region}"
            )
        )
    if state.sheet.family is None:  # the type came from a flag: CPU only is a choice too
        options.append(Option("none", ("none", "CPU only", "", ""), aliases=("cpu",)))
    enabled = [o.value for o in options if not o.disabled]
    return Menu(
        "Elastic Inference accelerator",
        tuple(options),
        "eia2.medium" if "eia2.medium" in enabled else enabled[0],
        f"Attached to {instance_type} over PrivateLink; the endpoint service is in "
        f"{len(ei)} AZs of {region}. Retired by AWS: no new customers since 2023-04-15.",
        ("type", "memory", "TFLOPS fp32/16", "$/hour"),
    )


def _record_accelerator(state: State, answer: Answer) -> tuple[Line, ...]:
    state.sheet.take(("accelerator",), answer)
    return ()


def _show_os(state: State) -> Menu:
    catalog = state.catalog
    options = tuple(
        Option(name, (name, f"SSH user {catalog.ssh_user(name)}")) for name in catalog.os_names
    )
    return Menu(
        "Operating system", options, "amazon-linux", "The Deep Learning AMI is found for it."
    )


def _record_os(state: State, answer: Answer) -> tuple[Line, ...]:
    state.sheet.take(("os",), answer)
    return ()


REGION = Question(
    "region", "Region", (("region",),), _show_region, _record_region, validate=_check_region
)
# Whose account and which region, said once the region is known (asked or fixed).
ACCOUNT = Question("account", "", (), _show_account)
FAMILY = Question(
    "family",
    "Hardware family",
    (("instance_type",),),
    _show_family,
    _record_family,
)
SIZE = Question("size", "Size", (("instance_type",),), _show_size, _record_size)
ACCELERATOR = Question(
    "accelerator",
    "Accelerator",
    (("accelerator",),),
    _show_accelerator,
    _record_accelerator,
    applies=_takes_accelerator,
)
OS = Question("os", "Operating system", (("os",),), _show_os, _record_os)
