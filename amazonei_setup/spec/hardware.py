"""What an instance type carries, read from AWS's own answer (`ec2:DescribeInstanceTypes`).

AWS publishes vCPUs, memory, architecture, `GpuInfo`, `NeuronInfo` and
`InferenceAcceleratorInfo` for every type it sells (docs/DESIGN.md, "Hardware facts"), so the
tool types none of it by hand: this module maps one entry of that answer to an `InstanceSpec`.
The catalog YAML keeps only what AWS does not publish: family labels, Elastic Inference and
the AMI rules. Pure: no AWS call here (`aws/instance_types.py` makes them).
"""

from __future__ import annotations

from typing import Any

from amazonei_setup.spec.catalog import InstanceSpec, Kind

MIB_PER_GIB = 1024


def _gib(mib: Any) -> float:
    return round(float(mib or 0) / MIB_PER_GIB, 2)


def _neuron(entry: dict[str, Any]) -> tuple[int, int, str | None, float]:
    """(devices, NeuronCores, device name, memory GiB) from NeuronInfo, else from the older
    InferenceAcceleratorInfo (which names Inferentia chips but not their cores)."""
    devices = (entry.get("NeuronInfo") or {}).get("NeuronDevices") or []
    if devices:
        count = sum(int(d.get("Count") or 0) for d in devices)
        cores = sum(
            int(d.get("Count") or 0) * int((d.get("CoreInfo") or {}).get("Count") or 0)
            for d in devices
        )
        memory = sum(
            int(d.get("Count") or 0) * int((d.get("MemoryInfo") or {}).get("SizeInMiB") or 0)
            for d in devices
        )
        return count, cores, devices[0].get("Name"), _gib(memory)
    accelerators = [
        a
        for a in (entry.get("InferenceAcceleratorInfo") or {}).get("Accelerators") or []
        if str(a.get("Manufacturer", "")).upper() == "AWS"
    ]
    count = sum(int(a.get("Count") or 0) for a in accelerators)
    memory = sum(
        int(a.get("Count") or 0) * int((a.get("MemoryInfo") or {}).get("SizeInMiB") or 0)
        for a in accelerators
    )
    name = accelerators[0].get("Name") if accelerators else None
    return count, 0, name, _gib(memory)


def _nvidia(entry: dict[str, Any]) -> tuple[int, str | None, float]:
    """(GPUs, model, memory GiB per GPU) of the NVIDIA GPUs in GpuInfo (AMD ones do not count:
    no Deep Learning AMI drives them)."""
    gpus = [
        g
        for g in (entry.get("GpuInfo") or {}).get("Gpus") or []
        if str(g.get("Manufacturer", "")).upper() == "NVIDIA"
    ]
    if not gpus:
        return 0, None, 0.0
    first = gpus[0]
    count = sum(int(g.get("Count") or 0) for g in gpus)
    return count, first.get("Name"), _gib((first.get("MemoryInfo") or {}).get("SizeInMiB"))


def architecture_of(entry: dict[str, Any]) -> str:
    """x86_64 or arm64 (a type that lists both, such as the old i386/x86_64 ones, is x86_64)."""
    supported = (entry.get("ProcessorInfo") or {}).get("SupportedArchitectures") or ["x86_64"]
    return "x86_64" if "x86_64" in supported else str(supported[0])


def default_label(kind: Kind, accelerator: str | None, architecture: str) -> str:
    """A family label when the YAML has none: what AWS says the hardware is."""
    if kind == "nvidia":
        return f"NVIDIA {accelerator}" if accelerator else "NVIDIA GPU"
    if kind == "neuron":
        return f"AWS {accelerator}" if accelerator else "AWS Neuron"
    return "CPU (Graviton, arm64)" if architecture == "arm64" else "CPU (x86_64)"


def spec_from_aws(
    entry: dict[str, Any], labels: dict[str, str], known: InstanceSpec | None = None
) -> InstanceSpec:
    """One DescribeInstanceTypes entry as an InstanceSpec. `labels` are the YAML's family labels;
    `known` the YAML's own figures for the type, used only where AWS leaves a field out (the
    NeuronCores of an entry that has InferenceAcceleratorInfo but no NeuronInfo)."""
    instance_type = str(entry["InstanceType"])
    family = instance_type.split(".")[0]
    architecture = architecture_of(entry)
    devices, cores, neuron_name, neuron_memory = _neuron(entry)
    gpus, gpu_model, gpu_memory = _nvidia(entry)
    kind: Kind = "neuron" if devices else "nvidia" if gpus else "cpu"
    if kind == "neuron" and not cores and known is not None:
        cores = known.neuron_cores
    accelerator = neuron_name if kind == "neuron" else gpu_model if kind == "nvidia" else None
    return InstanceSpec(
        instance_type=instance_type,
        family=family,
        kind=kind,
        label=labels.get(family) or default_label(kind, accelerator, architecture),
        vcpus=int((entry.get("VCpuInfo") or {}).get("DefaultVCpus") or 0),
        memory_gib=_gib((entry.get("MemoryInfo") or {}).get("SizeInMiB")),
        price_per_hour=known.price_per_hour if known is not None else None,
        neuron_devices=devices,
        neuron_cores=cores,
        gpus=gpus,
        gpu_model=gpu_model,
        gpu_memory_gib=gpu_memory,
        architecture=architecture,
        neuron_device_name=neuron_name if kind == "neuron" else None,
        neuron_memory_gib=neuron_memory if kind == "neuron" else 0.0,
        source="aws",
    )


def accelerated(spec: InstanceSpec) -> bool:
    """Whether the type carries its own accelerator (what `estimate --rank` and the wizard
    offer from AWS's list, beside the catalog's CPU hosts)."""
    return spec.kind != "cpu"


def accelerator_count(spec: InstanceSpec) -> int:
    """Neuron devices or GPUs: what a model runs on (0 for a CPU host)."""
    return spec.neuron_devices if spec.kind == "neuron" else spec.gpus


def hardware_summary(spec: InstanceSpec) -> dict[str, object]:
    """What the plan says the type carries, and where the figures came from."""
    accelerator = spec.neuron_device_name if spec.kind == "neuron" else spec.gpu_model
    memory = spec.neuron_memory_gib if spec.kind == "neuron" else spec.gpus * spec.gpu_memory_gib
    return {
        "kind": spec.kind,
        "accelerator_name": accelerator,
        "accelerator_count": accelerator_count(spec),
        "neuron_cores": spec.neuron_cores,
        "accelerator_memory_gib": round(memory, 2),
        "architecture": spec.architecture,
        "vcpus": spec.vcpus,
        "memory_gib": spec.memory_gib,
        "hardware_source": "DescribeInstanceTypes" if spec.source == "aws" else "catalog",
    }
