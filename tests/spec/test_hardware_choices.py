"""Which types the menus and the ranking offer, in what order, and how their prices' sources
are said (spec/hardware_choices.py: pure)."""

from __future__ import annotations

from amazonei_setup.spec.catalog import InstanceSpec, load_catalog
from amazonei_setup.spec.hardware_choices import (
    choices,
    offered_accelerated,
    price_cell,
    price_note,
    rank_types,
    smallest_per_accelerator_count,
)
from amazonei_setup.spec.pricing import listed_price, offline_price


def _gpu(
    name: str, vcpus: int, arch: str = "x86_64", kind: str = "nvidia", gpus: int = 1
) -> InstanceSpec:
    return InstanceSpec(
        name, name.split(".")[0], kind, "", vcpus, vcpus * 4.0, None,  # type: ignore[arg-type]
        gpus=gpus if kind == "nvidia" else 0, gpu_model="L4", gpu_memory_gib=22.35,
        architecture=arch, source="aws",
    )  # fmt: skip


AWS = {
    spec.instance_type: spec
    for spec in (
        _gpu("g6.2xlarge", 8),
        _gpu("g6.xlarge", 4),
        _gpu("g5g.xlarge", 4, "arm64"),  # arm64: the Ubuntu arm64 DLAMI serves it
        _gpu("p2.xlarge", 4),  # K80: refused by the AMI rules
        _gpu("g6.metal", 192),
        _gpu("p5.48xlarge", 192),  # offered in no zone below
        _gpu("trn1.2xlarge", 8, kind="neuron"),
    )
}
OFFERS = {name: ["us-west-2a"] for name in AWS if name != "p5.48xlarge"}


def test_offered_accelerated_keeps_what_a_zone_offers_and_a_dlami_serves():
    offered = offered_accelerated(load_catalog(), AWS, OFFERS)
    assert sorted(offered) == [
        "g5g.xlarge", "g6.2xlarge", "g6.metal", "g6.xlarge", "trn1.2xlarge",
    ]  # fmt: skip


def test_a_menu_is_the_catalogs_types_and_awss_of_its_kind_by_family_then_size():
    catalog = load_catalog()
    offered = offered_accelerated(catalog, AWS, OFFERS)
    nvidia = [s.instance_type for s in choices(catalog, "nvidia", ("g4dn", "g5", "p3"), offered)]
    # Bare metal left out, and g6.2xlarge (g6.xlarge's one L4 on a bigger host); the catalog's
    # p3 kept (the menu disables it where not offered).
    expected = ["g4dn.xlarge", "g5.xlarge", "g5g.xlarge", "g6.xlarge", "p3.2xlarge"]
    assert nvidia == expected
    neuron = [s.instance_type for s in choices(catalog, "neuron", ("inf2",), offered)]
    assert neuron[-1] == "trn1.2xlarge" and neuron[0] == "inf2.xlarge"
    cpu = [s.instance_type for s in choices(catalog, "cpu", ("m5", "c5"), offered)]
    assert cpu[:2] == ["m5.large", "m5.xlarge"] and len(cpu) == 8  # the catalog's, its order


def test_one_size_per_family_and_accelerator_count_the_smallest_host():
    sizes = [
        _gpu("g6.4xlarge", 16), _gpu("g6.xlarge", 4), _gpu("g6.2xlarge", 8),
        _gpu("g6.12xlarge", 48, gpus=4), _gpu("g6.24xlarge", 96, gpus=4),
        _gpu("g6.48xlarge", 192, gpus=8), _gpu("g6.metal", 192, gpus=8),
        _gpu("g6e.xlarge", 4),
    ]  # fmt: skip
    kept = smallest_per_accelerator_count({s.instance_type: s for s in sizes})
    assert sorted(kept) == ["g6.12xlarge", "g6.48xlarge", "g6.xlarge", "g6e.xlarge"]


def test_rank_types_are_the_catalogs_cpu_hosts_and_the_offered_accelerated_ones():
    catalog = load_catalog()
    names = rank_types(catalog, offered_accelerated(catalog, AWS, OFFERS))
    assert "m5.large" in names and "g6.xlarge" in names and "g5.xlarge" not in names
    assert "p2.xlarge" not in names and "inf1.xlarge" not in names


def test_the_price_note_says_each_source_and_marks_the_second():
    catalog = load_catalog()
    listed = listed_price(0.805, "us-west-2", "2026-12-07")
    offline = offline_price(catalog, "m5.large")
    note, plain = price_note([listed, offline, None])
    assert offline is not None
    expected = f"On-demand $/hour: us-west-2 price list, 2026-12-07; * {offline.source}; ?"
    assert note == expected + " no price known."
    assert price_cell(listed, plain) == "0.805" and price_cell(offline, plain) == "0.096*"
    assert price_cell(None, plain) == "?"
    assert price_note([offline]) == (f"On-demand $/hour: {offline.source}.", None)
