"""The hardware catalog: instance types, Elastic Inference accelerators, prices, AMI rules.

All figures live in `templates/catalog/*.yaml`; this module only gives them types.
"""

from __future__ import annotations

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

    def accelerator_summary(self) -> str:
        """A short human description of what the instance carries."""
        if self.kind == "neuron":
            return f"{self.neuron_cores} NeuronCores on {self.neuron_devices} device(s)"
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

    def refusal(self, instance_type: str) -> Refusal | None:
        """Why no Deep Learning AMI can serve this instance type, or None when one can."""
        spec = self.instance(instance_type)
        return self._refused.get(spec.family) if spec is not None else None

    def ami_rule(self, instance_type: str, accelerator: str | None, os_name: str) -> AmiRule:
        return self._rule(self.ami_rule_key(instance_type, accelerator), os_name)

    def all_ami_rules(self) -> list[AmiRule]:
        """Every rule (DLAMI family × OS): what the sandbox seeds images for."""
        return [
            self._rule(key, os_name)
            for key, per_os in self._ami_rules.items()
            for os_name in per_os
        ]

    def _rule(self, key: str, os_name: str) -> AmiRule:
        rule = self._ami_rules[key][os_name]
        return AmiRule(
            key=key,
            os=os_name,
            ssm_parameters=tuple(rule["ssm_parameters"]),
            owners=tuple(rule["owners"]),
            name_patterns=tuple(rule["name_patterns"]),
            ssh_user=self.ssh_user(os_name),
            include_deprecated=bool(rule.get("include_deprecated", False)),
            max_neuron_sdk=rule.get("max_neuron_sdk"),
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
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The catalog bundled with the tool (cached: it is read-only data)."""
    folder = templates_dir() / "catalog"
    return Catalog(
        hardware=_read_yaml(folder / "hardware.yaml"),
        prices=_read_yaml(folder / "prices.yaml"),
        amis=_read_yaml(folder / "amis.yaml"),
    )
