"""What AWS says each instance type carries (`ec2:DescribeInstanceTypes`), cached per region in
the state home with the date it was read.

The answer changes only when AWS adds hardware, so a cached entry serves for `MAX_AGE_DAYS`;
a type not in the cache is asked for alone (one cheap call). The accelerated types (what
`estimate --rank` and the wizard offer) are read with one filtered, paginated call per region
and age; the whole list (about 1,400 types) only where asked for (`describe_all`). The
mapping to an `InstanceSpec` is pure (spec/hardware.py); this module only asks and caches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from amazonei_setup.aws.clients import AwsClients, aws_errors
from amazonei_setup.errors import AwsFailure, InputError
from amazonei_setup.spec.catalog import Catalog, InstanceSpec
from amazonei_setup.spec.hardware import accelerated, spec_from_aws
from amazonei_setup.spec.profile import did_you_mean
from amazonei_setup.state.dated_cache import read_dated, today
from amazonei_setup.state.paths import write_private_json

MAX_AGE_DAYS = 7
FILTER_VALUES = 100  # instance types per DescribeInstanceTypeOfferings filter (one page each)
# The fields spec/hardware.py reads; the rest of each entry is not kept.
KEPT = (
    "InstanceType",
    "VCpuInfo",
    "MemoryInfo",
    "ProcessorInfo",
    "GpuInfo",
    "NeuronInfo",
    "InferenceAcceleratorInfo",
    "CurrentGeneration",
)


def cache_path(home: Path, region: str) -> Path:
    return home / "cache" / "instance-types" / f"{region}.json"


def _read_cache(home: Path, region: str, on: str) -> dict[str, Any]:
    """The cached document when it is young enough, else an empty one for `on`."""
    empty = {"region": region, "read_at": on, "complete": False, "types": {}}
    return read_dated(cache_path(home, region), on, MAX_AGE_DAYS, "types", empty)


def _kept(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: entry[key] for key in KEPT if key in entry}


def _ask(clients: AwsClients, names: list[str]) -> list[dict[str, Any]]:
    """DescribeInstanceTypes for `names`; an unknown name is InputError (exit 2)."""
    region = clients.target.region
    try:
        with aws_errors(f"describing instance types {', '.join(names)}"):
            return list(clients.ec2.describe_instance_types(InstanceTypes=names)["InstanceTypes"])
    except AwsFailure as failure:
        if failure.code != "InvalidInstanceType":
            raise
    raise InputError(
        f"{', '.join(repr(n) for n in names)}: not an instance type AWS offers in {region} "
        "(DescribeInstanceTypes does not know it)",
        "check the spelling (e.g. g6.xlarge, c7i.xlarge), or `aws ec2 describe-instance-types "
        f"--region {region}` lists them",
    ) from None


def describe(
    clients: AwsClients, home: Path, names: list[str], on: str | None = None
) -> dict[str, dict[str, Any]]:
    """AWS's entries for `names`, from the cache or asked for (and cached)."""
    region, on = clients.target.region, on or today()
    document = _read_cache(home, region, on)
    missing = sorted({n for n in names if n not in document["types"]})
    if missing:
        for entry in _ask(clients, missing):
            document["types"][entry["InstanceType"]] = _kept(entry)
        write_private_json(cache_path(home, region), document)
    return {n: document["types"][n] for n in names if n in document["types"]}


def describe_all(clients: AwsClients, home: Path, on: str | None = None) -> dict[str, Any]:
    """Every type of the region (paginated once, then cached), with the date it was read."""
    region, on = clients.target.region, on or today()
    document = _read_cache(home, region, on)
    if not document.get("complete"):
        with aws_errors(f"listing the instance types of {region}"):
            pages = clients.ec2.get_paginator("describe_instance_types").paginate()
            entries = [entry for page in pages for entry in page["InstanceTypes"]]
        document = {
            "region": region,
            "read_at": on,
            "complete": True,
            "types": {e["InstanceType"]: _kept(e) for e in entries},
        }
        write_private_json(cache_path(home, region), document)
    return document


def specs_of(catalog: Catalog, entries: dict[str, dict[str, Any]]) -> dict[str, InstanceSpec]:
    """AWS's entries as InstanceSpecs, the YAML keeping its labels and offline figures."""
    return {
        name: spec_from_aws(entry, catalog.family_labels, catalog.instances.get(name))
        for name, entry in entries.items()
    }


def catalog_for(
    clients: AwsClients, home: Path, catalog: Catalog, names: list[str], on: str | None = None
) -> Catalog:
    """The catalog with AWS's own figures for `names` (their vCPUs, memory, architecture and
    accelerators as AWS answers today)."""
    try:
        entries = describe(clients, home, names, on)
    except InputError:
        if not all(name in catalog.instances for name in names):
            raise
        # AWS describes only the types its region sells: discovery says where this one is.
        return catalog
    return catalog.with_instances(specs_of(catalog, entries))


def unknown_hint(catalog: Catalog, name: str) -> str | None:
    return did_you_mean(name, sorted(catalog.instances))


def offerings(clients: AwsClients, instance_types: list[str]) -> dict[str, list[str]]:
    """The AZs that offer each type (`ec2:DescribeInstanceTypeOfferings`), many types per
    paginated call instead of one call per type; a type no AZ offers has []."""
    found: dict[str, set[str]] = {t: set() for t in instance_types}
    names = sorted(found)
    which = names[0] if len(names) == 1 else "the instance types"
    with aws_errors(f"checking which AZs offer {which}"):
        for start in range(0, len(names), FILTER_VALUES):
            chunk = names[start : start + FILTER_VALUES]
            pages = clients.ec2.get_paginator("describe_instance_type_offerings").paginate(
                LocationType="availability-zone",
                Filters=[{"Name": "instance-type", "Values": chunk}],
            )
            for page in pages:
                for offer in page["InstanceTypeOfferings"]:
                    found.setdefault(offer["InstanceType"], set()).add(offer["Location"])
    return {t: sorted(zones) for t, zones in found.items()}


# The families AWS names its accelerated hardware in: G and P (NVIDIA GPUs), Inf and Trn (AWS
# Neuron). Only narrows the read (the `instance-type` filter takes wildcards: "c5*", EC2 API
# Reference, DescribeInstanceTypes); what a type carries is still read from its entry.
ACCELERATED_NAMES = ("g*", "p*", "inf*", "trn*")


def describe_accelerated(clients: AwsClients, home: Path, on: str | None = None) -> dict[str, Any]:
    """The entries of ACCELERATED_NAMES (one paginated, filtered call, then cached with the
    region's other entries), or of the whole list when that was read already."""
    region, on = clients.target.region, on or today()
    document = _read_cache(home, region, on)
    if not (document.get("complete") or document.get("accelerated")):
        with aws_errors(f"listing the accelerated instance types of {region}"):
            pages = clients.ec2.get_paginator("describe_instance_types").paginate(
                Filters=[{"Name": "instance-type", "Values": list(ACCELERATED_NAMES)}]
            )
            entries = [entry for page in pages for entry in page["InstanceTypes"]]
        document["types"].update({e["InstanceType"]: _kept(e) for e in entries})
        document["accelerated"] = True
        write_private_json(cache_path(home, region), document)
    return document


def accelerated_specs(
    clients: AwsClients, home: Path, catalog: Catalog, on: str | None = None
) -> dict[str, InstanceSpec]:
    """Every type of the region that carries its own accelerator (Neuron devices, NVIDIA
    GPUs), as AWS describes it (cached): what the wizard and `estimate --rank` offer beside
    the catalog's CPU hosts. Whether a zone offers it is `offerings`."""
    specs = specs_of(catalog, describe_accelerated(clients, home, on)["types"])
    return {name: spec for name, spec in specs.items() if accelerated(spec)}
