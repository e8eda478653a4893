"""What the agent must find, per expectation. The agent cannot read templates/catalog at run time,
so the figures it needs live here; tests/agent checks them against hardware.yaml."""

from __future__ import annotations

import re

# NeuronCores per instance (templates/catalog/hardware.yaml, families inf1/inf2/trn1).
NEURON_CORES = {
    "inf1.xlarge": 4,
    "inf1.2xlarge": 4,
    "inf1.6xlarge": 16,
    "inf1.24xlarge": 64,
    "inf2.xlarge": 2,
    "inf2.8xlarge": 2,
    "inf2.24xlarge": 12,
    "inf2.48xlarge": 24,
    "trn1.2xlarge": 2,
    "trn1.32xlarge": 32,
}
# GPUs per instance and a string the nvidia-smi name contains (hardware.yaml gpus, gpu_model).
NVIDIA_GPUS = {
    "g4dn.xlarge": (1, "T4"),
    "g5.xlarge": (1, "A10G"),
    "p2.xlarge": (1, "K80"),
    "p3.2xlarge": (1, "V100"),
}
EIA_TYPES = ("eia1.medium", "eia1.large", "eia1.xlarge", "eia2.medium", "eia2.large", "eia2.xlarge")
KINDS = ("eia", "neuron", "nvidia", "none")
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$")


def normalize_eia_type(name: str) -> str:
    """`eia.medium` is the seed's older name for `eia1.medium`."""
    name = name.strip().lower()
    return "eia1." + name[4:] if name.startswith("eia.") else name


def kind_of_instance(instance_type: str) -> str:
    """The accelerator an instance type carries by itself: neuron, nvidia or none."""
    family = instance_type.split(".")[0]
    if family.startswith(("inf", "trn")):
        return "neuron"
    if re.match(r"^[gp]\d", family) and family != "g4ad":  # g4ad carries AMD GPUs
        return "nvidia"
    return "none"


def parse_expect(spec: str) -> dict:
    """`--expect` -> {spec, kind, instance_type, eia_type}; a ValueError says what is allowed."""
    text = (spec or "none").strip().lower()
    found = {"spec": text, "kind": "none", "instance_type": None, "eia_type": None}
    if text in KINDS:
        found["kind"] = text
    elif text.startswith("eia"):
        eia_type = normalize_eia_type(text)
        if eia_type not in EIA_TYPES:
            raise ValueError(f"unknown accelerator type {spec!r}; known: {', '.join(EIA_TYPES)}")
        found.update(spec=eia_type, kind="eia", eia_type=eia_type)
    elif _INSTANCE_TYPE.match(text):
        found.update(kind=kind_of_instance(text), instance_type=text)
    else:
        raise ValueError(
            f"--expect {spec!r} is not eia|neuron|nvidia|none, an instance type (inf1.xlarge) "
            "or an accelerator type (eia2.medium)"
        )
    return found
