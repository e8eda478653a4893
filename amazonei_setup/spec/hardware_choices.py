"""Which instance types are offered as choices (the wizard's size menus, `estimate --rank`),
and in what order, from what AWS describes and offers in the region. Pure: the lookups are
made by aws/instance_types.py and aws/price_list.py.

AWS sells hundreds of CPU types, so CPU choices stay the catalog's hosts (any other type can be
named with --instance-type); the accelerated types are AWS's own list for the region: every
type with Neuron devices or NVIDIA GPUs that some zone offers and a Deep Learning AMI serves.
"""

from __future__ import annotations

from amazonei_setup.spec.catalog import Catalog, InstanceSpec, Kind
from amazonei_setup.spec.hardware import accelerator_count
from amazonei_setup.spec.pricing import Price


def size_key(spec: InstanceSpec) -> tuple[str, int, float, str]:
    """By family, then size (vCPUs, then memory): inf1 before inf2, xlarge before 2xlarge."""
    return (spec.family, spec.vcpus, spec.memory_gib, spec.instance_type)


def served(catalog: Catalog, spec: InstanceSpec) -> bool:
    """Whether some OS has a Deep Learning AMI for it (not a refused family such as p2; an
    arm64 type only where the rule has an arm64 image)."""
    learned = catalog.with_instances({spec.instance_type: spec})
    return any(learned.refusal(spec.instance_type, None, name) is None for name in catalog.os_names)


def offered_accelerated(
    catalog: Catalog, specs: dict[str, InstanceSpec], offers: dict[str, list[str]]
) -> dict[str, InstanceSpec]:
    """AWS's accelerated types (`specs`) that some zone of the region offers and an AMI serves."""
    return {
        name: spec
        for name, spec in specs.items()
        if spec.kind != "cpu" and offers.get(name) and served(catalog, spec)
    }


def choices(
    catalog: Catalog,
    kind: Kind,
    families: tuple[str, ...],
    aws: dict[str, InstanceSpec],
) -> list[InstanceSpec]:
    """The types of one menu: the catalog's of `families` (kept even where the region does
    not offer them, so the menu can say so), and for an accelerated kind AWS's offered types
    of that kind (`aws`, from offered_accelerated; bare metal left out), AWS's figures over the
    YAML's; sorted by family and size."""
    found = {
        name: aws.get(name, spec)
        for name, spec in catalog.instances.items()
        if spec.family in families and spec.source == "catalog"
    }
    if kind == "cpu":  # the catalog's hosts, in the catalog's order
        return list(found.values())
    found.update(smallest_per_accelerator_count({n: s for n, s in aws.items() if s.kind == kind}))
    return sorted(found.values(), key=size_key)


def smallest_per_accelerator_count(aws: dict[str, InstanceSpec]) -> dict[str, InstanceSpec]:
    """Of AWS's types, the smallest host (fewest vCPUs, then memory) of each family and
    accelerator count, bare metal left out: a model runs on the accelerators, so g6.2xlarge's
    one L4 is g6.xlarge's at a higher price (moto's us-west-2: 60 NVIDIA sizes, 33 kept).
    Any other size can still be named with --instance-type."""
    kept: dict[tuple[str, int], InstanceSpec] = {}
    for name, spec in aws.items():
        if bare_metal(name):
            continue
        group = (spec.family, accelerator_count(spec))
        if group not in kept or size_key(spec) < size_key(kept[group]):
            kept[group] = spec
    return {spec.instance_type: spec for spec in kept.values()}


def bare_metal(instance_type: str) -> bool:
    """`.metal` sizes: the whole host, for what a demo does not need (--instance-type names
    one)."""
    return instance_type.split(".")[-1].startswith("metal")


def rank_types(catalog: Catalog, aws: dict[str, InstanceSpec]) -> list[str]:
    """What `estimate --rank --region R` ranks: the catalog's CPU hosts and the accelerated
    types R offers (offered_accelerated), the cheapest host of each accelerator count (the
    ranking asks what is cheapest; a bigger host of the same accelerators never is)."""
    cpu = [n for n, s in catalog.instances.items() if s.kind == "cpu" and s.source == "catalog"]
    return sorted({*cpu, *smallest_per_accelerator_count(aws)})


def price_cell(price: Price | None, plain: str | None) -> str:
    """$/hour as the menu shows it: '*' marks a figure of another source than `plain` (the
    offline list price where the region's price list has none), '?' an unknown one."""
    if price is None:
        return "?"
    star = "*" if plain is not None and price.source != plain else ""
    return f"{price.usd_per_hour:.3f}{star}"


def price_note(prices: list[Price | None]) -> tuple[str, str | None]:
    """The menu's note on where its prices came from, and the source shown plain when there
    are several (the price list's; the offline figures get a '*'); None when there is one
    source or none."""
    known = sorted((p for p in prices if p is not None), key=lambda p: p.offline)  # stable
    sources = list(dict.fromkeys(p.source for p in known))  # the price list's first
    missing = any(p is None for p in prices)
    if not sources:
        return "On-demand $/hour: no price known (?).", None
    note = f"On-demand $/hour: {sources[0]}"
    if len(sources) > 1:
        note += f"; * {'; '.join(sources[1:])}"
    if missing:
        note += "; ? no price known"
    return note + ".", sources[0] if len(sources) > 1 else None
