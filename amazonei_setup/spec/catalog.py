"""The hardware catalog: instance types, Elastic Inference accelerators, prices, AMI rules.

All figures live in `templates/catalog/*.yaml`; this module only gives them types.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml

from amazonei_setup.state.paths import templates_dir

Kind = Literal["cpu", "neuron", "nvidia"]


@dataclass(frozen=True)
class InstanceSpec:
    instance_type: str
    family: str
    kind: Kind
    label: str
    vcpus: int
    memory_gib: float
    price_per_hour: float | None
    neuron_devices: int = 0
    neuron_cores: int = 0
    gpus: int = 0
    gpu_model: str | None = None
    gpu_memory_gib: float = 0
    architecture: str = "x86_64"  # or arm64 (ProcessorInfo.SupportedArchitectures)
    neuron_device_name: str | None = None  # Inferentia2, Trainium2, ... (NeuronInfo)
    neuron_memory_gib: float = 0  # all devices together
    source: str = "catalog"  # catalog (the bundled YAML) or aws (DescribeInstanceTypes)

    def accelerator_summary(self) -> str:
        """A short human description of what the instance carries."""
        if self.kind == "neuron":
            chip = f"{self.neuron_device_name} " if self.neuron_device_name else ""
            return f"{self.neuron_cores} NeuronCores on {self.neuron_devices} {chip}device(s)"
        if self.kind == "nvidia":
            return f"{self.gpus}× {self.gpu_model} {self.gpu_memory_gib:g} GiB"
        return "CPU only"


@dataclass(frozen=True)
class AcceleratorSpec:
    name: str
    generation: str
    memory_gib: float
    fp32_tflops: float
    fp16_tflops: float
    regions: tuple[str, ...]
    price_per_hour: float | None


@dataclass(frozen=True)
class AmiRule:
    key: str
    os: str
    ssm_parameters: tuple[str, ...]
    owners: tuple[str, ...]
    name_patterns: tuple[str, ...]
    ssh_user: str
    include_deprecated: bool = False  # the images are no longer published (hidden by default)
    max_neuron_sdk: str | None = None  # only images of this Neuron SDK release or older
    architecture: str = "x86_64"  # DescribeImages' architecture filter


@dataclass(frozen=True)
class Refusal:
    """Hardware no Deep Learning AMI supports any more, and what to use instead."""

    reason: str
    alternatives: tuple[str, ...]


@dataclass(frozen=True)
class VcpuQuota:
    code: str
    name: str


class Catalog:
    """Typed, read-only view over the catalog data files."""

    def __init__(self, hardware: dict[str, Any], prices: dict[str, Any], amis: dict[str, Any]):
        self._prices = prices
        instance_prices: dict[str, float] = prices["instances"]
        self.instances: dict[str, InstanceSpec] = {}
        for family, entry in hardware["families"].items():
            for instance_type, size in entry["sizes"].items():
                self.instances[instance_type] = InstanceSpec(
                    instance_type=instance_type,
                    family=family,
                    kind=entry["kind"],
                    label=entry["label"],
                    price_per_hour=instance_prices.get(instance_type),
                    **size,
                )
        ei = hardware["elastic_inference"]
        self.ei_retirement_note: str = ei["retirement_note"]
        self.ei_endpoint_service_template: str = ei["endpoint_service"]
        self.ei_host_kinds: tuple[str, ...] = tuple(ei["host_kinds"])
        # Every catalog family of a host kind, in file order (the wizard offers these).
        self.ei_host_families: tuple[str, ...] = tuple(
            family
            for family, entry in hardware["families"].items()
            if entry["kind"] in self.ei_host_kinds
        )
        self.accelerator_aliases: dict[str, str] = dict(ei["aliases"])
        self.accelerators: dict[str, AcceleratorSpec] = {}
        for name, spec in ei["types"].items():
            generation = name.split(".")[0]
            self.accelerators[name] = AcceleratorSpec(
                name=name,
                generation=generation,
                regions=tuple(ei["regions"][generation]),
                price_per_hour=prices["accelerators"].get(name),
                **spec,
            )
        self.ei_alternatives: tuple[str, ...] = tuple(hardware["ei_alternatives"])
        self._quotas = {k: VcpuQuota(**v) for k, v in hardware["vcpu_quotas"].items()}
        self._os = amis["os"]
        self._ami_rules = amis["rules"]
        self._rule_for = amis["rule_for"]
        self._refused = {
            family: Refusal(" ".join(str(entry["reason"]).split()), tuple(entry["alternatives"]))
            for family, entry in amis.get("refused_families", {}).items()
        }
        self.family_labels: dict[str, str] = {
            family: str(entry["label"]) for family, entry in hardware["families"].items()
        }
        self._arm64_alternatives: dict[str, list[str]] = dict(amis.get("arm64_alternatives", {}))

    def with_instances(self, specs: dict[str, InstanceSpec]) -> Catalog:
        """This catalog with AWS's own figures for `specs` (DescribeInstanceTypes, mapped by
        spec/hardware.py): they replace the YAML's for a type both know, and add the rest."""
        learned = copy.copy(self)
        learned.instances = {**self.instances, **specs}
        return learned

    @property
    def prices_as_of(self) -> str:
        return str(self._prices["as_of"])

    @property
    def prices_region(self) -> str:
        return str(self._prices["region"])

    @property
    def os_names(self) -> tuple[str, ...]:
        return tuple(self._os)

    def instance(self, instance_type: str) -> InstanceSpec | None:
        return self.instances.get(instance_type)

    def canonical_accelerator(self, name: str) -> str:
        """`eia.medium` and friends are the 2019 names of eia1; everything else is as given."""
        return self.accelerator_aliases.get(name, name)

    def accelerator(self, name: str) -> AcceleratorSpec | None:
        return self.accelerators.get(self.canonical_accelerator(name))

    def accepts_accelerator(self, instance_type: str) -> bool:
        """EI attaches to any instance type (EC2 User Guide); this tool puts it on CPU hosts."""
        spec = self.instance(instance_type)
        return spec is not None and spec.kind in self.ei_host_kinds

    def ei_endpoint_service(self, region: str) -> str:
        return self.ei_endpoint_service_template.format(region=region)

    def price_per_hour(self, instance_type: str, accelerator: str | None = None) -> float | None:
        """Instance plus accelerator, or None when either price is unknown."""
        spec = self.instance(instance_type)
        if spec is None or spec.price_per_hour is None:
            return None
        total = spec.price_per_hour
        if accelerator:
            acc = self.accelerator(accelerator)
            if acc is None or acc.price_per_hour is None:
                return None
            total += acc.price_per_hour
        return round(total, 6)

    def ami_rule_key(self, instance_type: str, accelerator: str | None) -> str:
        """Which DLAMI family serves this hardware (amis.yaml `rule_for`)."""
        if accelerator:
            return str(self._rule_for["accelerator"])
        spec = self.instance(instance_type)
        if spec is None:
            return str(self._rule_for["kinds"]["cpu"])
        by_family = self._rule_for["families"].get(spec.family)
        return str(by_family or self._rule_for["kinds"][spec.kind])

    def refusal(
        self, instance_type: str, accelerator: str | None = None, os_name: str | None = None
    ) -> Refusal | None:
        """Why no Deep Learning AMI can serve this hardware, or None when one can: a family
        no current DLAMI supports, or an arm64 type whose rule has no arm64 image for the OS."""
        spec = self.instance(instance_type)
        if spec is None:
            return None
        refused = self._refused.get(spec.family)
        if refused is not None or spec.architecture != "arm64":
            return refused
        key = self.ami_rule_key(instance_type, accelerator)
        per_os = self._ami_rules[key]
        wanted = [os_name] if os_name else list(per_os)
        if all("arm64" in per_os.get(name, {}) for name in wanted):
            return None
        others = [name for name in per_os if "arm64" in per_os[name] and name not in wanted]
        what = "Elastic Inference" if key == "eia" else key
        reason = f"{instance_type} is arm64 (Graviton) and AWS publishes no arm64 {what} image" + (
            f" for {os_name}" if os_name else ""
        )
        alternatives = tuple(f"os: {name}" for name in others) + tuple(
            self._arm64_alternatives.get(spec.kind, [])
        )
        return Refusal(reason, alternatives)

    def ami_rule(self, instance_type: str, accelerator: str | None, os_name: str) -> AmiRule:
        spec = self.instance(instance_type)
        architecture = spec.architecture if spec is not None else "x86_64"
        return self._rule(self.ami_rule_key(instance_type, accelerator), os_name, architecture)

    def all_ami_rules(self) -> list[AmiRule]:
        """Every rule (DLAMI family × OS): what the sandbox seeds images for."""
        return [
            self._rule(key, os_name, architecture)
            for key, per_os in self._ami_rules.items()
            for os_name, rule in per_os.items()
            for architecture in ("x86_64", *(["arm64"] if "arm64" in rule else []))
        ]

    def _rule(self, key: str, os_name: str, architecture: str = "x86_64") -> AmiRule:
        rule = self._ami_rules[key][os_name]
        if architecture == "arm64":
            rule = {**rule, **rule["arm64"]}
        return AmiRule(
            key=key,
            os=os_name,
            ssm_parameters=tuple(rule["ssm_parameters"]),
            owners=tuple(rule["owners"]),
            name_patterns=tuple(rule["name_patterns"]),
            ssh_user=self.ssh_user(os_name),
            include_deprecated=bool(rule.get("include_deprecated", False)),
            max_neuron_sdk=rule.get("max_neuron_sdk"),
            architecture=architecture,
        )

    def ssh_user(self, os_name: str) -> str:
        return str(self._os[os_name]["ssh_user"])

    def vcpu_quota(self, instance_type: str) -> VcpuQuota:
        family = instance_type.split(".")[0]
        for prefix in ("inf", "trn", "g", "p"):
            if family.startswith(prefix) and family[len(prefix) :][:1].isdigit():
                return self._quotas[prefix]
        return self._quotas["standard"]


def _read_yaml(path: Path) -> dict[str, Any]:
    """The bundled catalog, with libyaml's parser where PyYAML has it (the catalog is the
    tool's own data, so its error messages never reach a user; profiles keep the pure one)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=loader)


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The catalog bundled with the tool (cached: it is read-only data)."""
    folder = templates_dir() / "catalog"
    return Catalog(
        hardware=_read_yaml(folder / "hardware.yaml"),
        prices=_read_yaml(folder / "prices.yaml"),
        amis=_read_yaml(folder / "amis.yaml"),
    )
