"""What `benchmark` is asked to do, checked before anything is asked of AWS: the candidates,
batch sizes, duration and limits (the model file itself: spec/model_file.py). Every rule here
is a refusal with exit 2 and nothing created."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from amazonei_setup.errors import InputError
from amazonei_setup.spec.catalog import Catalog, InstanceSpec
from amazonei_setup.spec.model_file import ModelSpec
from amazonei_setup.spec.profile import NAME_PATTERN, unknown_region_hint

MAX_BATCH_SIZES = 8  # the harness's limit (agent/bench_job.py)
MAX_BATCH_SIZE = 4096
MAX_DURATION_S = 3600
MIN_QUERIES = 1000  # a p99 rests on at least 10 queries (agent README, "Measurement rules")
# One Neuron device's memory (AWS Neuron docs, "Inferentia", "Inferentia2", "Trainium",
# "Trainium2" architecture pages): the model must fit one device, where the harness runs it.
NEURON_DEVICE_MEMORY_GIB = {"inf1": 8, "inf2": 32, "trn1": 32, "trn1n": 32, "trn2": 96}
CANDIDATE_PATTERN = re.compile(r"^([a-z0-9]+\.[a-z0-9]+)(?:\+(eia[12]\.[a-z0-9]+))?$")


@dataclass(frozen=True)
class CandidateSpec:
    """One hardware option: an instance type, with an Elastic Inference accelerator or not."""

    instance_type: str
    accelerator: str | None = None

    @property
    def label(self) -> str:
        return self.instance_type + (f"+{self.accelerator}" if self.accelerator else "")

    @property
    def slug(self) -> str:
        return self.label.replace(".", "-").replace("+", "-")


@dataclass(frozen=True)
class BenchmarkRequest:
    name: str
    region: str
    model: ModelSpec
    candidates: tuple[CandidateSpec, ...]
    batch_sizes: tuple[int, ...] = (1,)
    duration_s: float = 30.0
    p99_target_ms: float | None = None
    max_cost_usd: float | None = None
    keep: bool = False
    tags: dict[str, str] = field(default_factory=dict)

    def candidate_name(self, candidate: CandidateSpec) -> str:
        """The candidate's own deployment: `<benchmark>-<type>`, or `<benchmark>-c<N>` when
        that is longer than a deployment name may be."""
        name = f"{self.name}-{candidate.slug}"
        if NAME_PATTERN.fullmatch(name):
            return name
        return f"{self.name}-c{self.candidates.index(candidate) + 1}"

    def settings(self) -> dict[str, object]:
        """What a re-run must ask for to resume this benchmark (not start another)."""
        return {
            "model_sha256": self.model.sha256,
            "candidates": [c.label for c in self.candidates],
            "batch_sizes": list(self.batch_sizes),
            "duration_s": self.duration_s,
            "p99_target_ms": self.p99_target_ms,
        }


def default_name(model: ModelSpec) -> str:
    """`bench-<8 hex of the model's SHA-256>`: the same model resumes the same benchmark."""
    return "bench-" + model.sha256[:8]


def parse_candidates(text: str | None, catalog: Catalog) -> tuple[CandidateSpec, ...]:
    """`c5.xlarge,g5.xlarge,m5.large+eia2.medium` → candidates, each one the catalog knows."""
    words = [w.strip() for w in (text or "").split(",")]
    if not any(words):
        raise InputError(
            "--candidates is empty",
            "name the hardware to compare, e.g. --candidates c5.xlarge,g5.xlarge,inf2.xlarge",
        )
    if "" in words:
        raise InputError(f"--candidates {text!r} has an empty entry", "separate types by commas")
    seen: dict[str, int] = {}
    for word in words:
        seen[word] = seen.get(word, 0) + 1
    twice = sorted(w for w, n in seen.items() if n > 1)
    if twice:
        raise InputError(
            f"--candidates names {', '.join(twice)} more than once",
            "give each instance type once: one run measures it",
        )
    return tuple(_candidate(word, catalog) for word in words)


def _candidate(word: str, catalog: Catalog) -> CandidateSpec:
    match = CANDIDATE_PATTERN.fullmatch(word)
    if match is None:
        raise InputError(
            f"'{word}' is not an instance type",
            "write TYPE or TYPE+EIA, e.g. inf2.xlarge or m5.large+eia2.medium",
        )
    instance_type, accelerator = match.group(1), match.group(2)
    spec = catalog.instance(instance_type)
    if spec is None:
        raise InputError(
            f"'{instance_type}' is not in the catalog",
            "supported: " + ", ".join(sorted(catalog.instances)),
        )
    refusal = catalog.refusal(instance_type)
    if refusal is not None:
        raise InputError(
            f"{instance_type}: {refusal.reason}", "use " + " or ".join(refusal.alternatives)
        )
    if accelerator is not None:
        if catalog.accelerator(accelerator) is None:
            raise InputError(
                f"'{accelerator}' is not an Elastic Inference accelerator",
                "use one of " + ", ".join(sorted(catalog.accelerators)),
            )
        if not catalog.accepts_accelerator(instance_type):
            raise InputError(
                f"{instance_type} carries its own accelerator; this tool attaches Elastic "
                "Inference only to CPU instances",
                f"benchmark {instance_type} alone",
            )
        accelerator = catalog.canonical_accelerator(accelerator)
    return CandidateSpec(instance_type, accelerator)


def parse_batch_sizes(text: str | None) -> tuple[int, ...]:
    words = [w.strip() for w in (text or "1").split(",")]
    try:
        sizes = [int(w) for w in words]
    except ValueError:
        raise InputError(
            f"--batch-sizes {text!r} is not a list of whole numbers", "e.g. --batch-sizes 1,8"
        ) from None
    if any(not 1 <= s <= MAX_BATCH_SIZE for s in sizes):
        raise InputError(f"batch sizes are 1 to {MAX_BATCH_SIZE}, not {text}")
    if len(set(sizes)) != len(sizes):
        raise InputError(f"--batch-sizes {text} repeats a size", "give each size once")
    if len(sizes) > MAX_BATCH_SIZES:
        raise InputError(f"at most {MAX_BATCH_SIZES} batch sizes, not {len(sizes)}")
    return tuple(sizes)


def check_duration(duration_s: float) -> float:
    if not (math.isfinite(duration_s) and 0 < duration_s <= MAX_DURATION_S):
        raise InputError(
            f"--duration must be more than 0 and at most {MAX_DURATION_S} seconds, not "
            f"{duration_s:g}",
            "the default, 30 s, with at least 1,000 queries, gives a valid p99",
        )
    return duration_s


def check_positive(flag: str, value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise InputError(f"{flag} must be a positive number, not {value:g}")
    return value


def check_region(region: str) -> str:
    hint = unknown_region_hint(region)
    if hint is not None:
        raise InputError(f"'{region}' is not an AWS region", hint)
    return region


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise InputError(
            f"'{name}' is not a deployment name",
            "1-32 lowercase letters, digits and hyphens, starting and ending with a letter or "
            "digit",
        )
    return name


def accelerator_memory_gib(spec: InstanceSpec, accelerator_gib: float | None) -> tuple[float, str]:
    """(GiB the model must fit in, what that memory is): the EIA's, one Neuron device's, one
    GPU's, or the instance's own for a CPU."""
    if accelerator_gib is not None:
        return accelerator_gib, "the Elastic Inference accelerator's memory"
    if spec.kind == "neuron":
        gib = NEURON_DEVICE_MEMORY_GIB.get(spec.family, 32)
        return float(gib), "one Neuron device's memory"
    if spec.kind == "nvidia":
        return spec.gpu_memory_gib / max(spec.gpus, 1), f"one {spec.gpu_model} GPU's memory"
    return spec.memory_gib, "the instance's memory"


def check_fits(request: BenchmarkRequest, catalog: Catalog) -> None:
    """A model larger than a candidate's accelerator memory cannot be measured there."""
    too_big = []
    for candidate in request.candidates:
        spec = catalog.instance(candidate.instance_type)
        assert spec is not None  # parse_candidates checked it
        eia = catalog.accelerator(candidate.accelerator) if candidate.accelerator else None
        gib, what = accelerator_memory_gib(spec, eia.memory_gib if eia else None)
        if request.model.bytes > gib * (1 << 30):
            too_big.append(f"{candidate.label} ({what}: {gib:g} GiB)")
    if too_big:
        size = request.model.bytes / (1 << 30)
        raise InputError(
            f"the model ({size:.2f} GiB) is larger than the memory of " + ", ".join(too_big),
            "drop those candidates, or choose larger hardware",
        )

