"""The benchmark's plan: each candidate checked against the region (an AZ that offers it, the
Elastic Inference service for an EIA), priced, and timed; the total the benchmark may cost.
Read-only: DescribeInstanceTypeOfferings and DescribeVpcEndpointServices, nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from amazonei_setup.aws.clients import AwsClients
from amazonei_setup.engines.discover import ei_service_azs, offered_azs
from amazonei_setup.errors import InputError
from amazonei_setup.spec.benchmark import BenchmarkRequest, CandidateSpec
from amazonei_setup.spec.catalog import Catalog
from amazonei_setup.spec.pricing import Price, offline_price

# Minutes a candidate spends around its measurement: launch and a DLAMI's boot, the agent's
# check, the model's download; then teardown. Neuron compiles each batch size first.
BOOT_MIN = 6.0
TEARDOWN_MIN = 1.0
COMPILE_MIN = {"neuron": 4.0, "nvidia": 0.5, "cpu": 0.2}
LADDER_S = 40.0  # the throughput ladder and warm-ups, at most (agent README)
DOWNLOAD_BYTES_PER_S = 50e6


@dataclass
class CandidatePlan:
    candidate: CandidateSpec
    deployment: str
    kind: str
    price: Price | None
    azs: list[str]
    expected_min: float
    most_min: float  # the job's time limit, after which the candidate is stopped
    note: str = ""

    @property
    def expected_cost_usd(self) -> float | None:
        return None if self.price is None else self.price.usd_per_hour * self.expected_min / 60

    @property
    def most_cost_usd(self) -> float | None:
        return None if self.price is None else self.price.usd_per_hour * self.most_min / 60

    def to_dict(self) -> dict[str, Any]:
        return {
            "instance_type": self.candidate.instance_type,
            "accelerator": self.candidate.accelerator,
            "deployment": self.deployment,
            "kind": self.kind,
            "availability_zones": self.azs,
            "price_per_hour_usd": self.price.usd_per_hour if self.price else None,
            "price_source": self.price.source if self.price else None,
            "expected_minutes": round(self.expected_min, 1),
            "expected_cost_usd": _rounded(self.expected_cost_usd),
            "most_minutes": round(self.most_min, 1),
            "most_cost_usd": _rounded(self.most_cost_usd),
            "note": self.note,
        }


@dataclass
class BenchmarkPlan:
    request: BenchmarkRequest
    candidates: list[CandidatePlan]
    notes: list[str] = field(default_factory=list)

    @property
    def expected_cost_usd(self) -> float:
        return sum(c.expected_cost_usd or 0.0 for c in self.candidates)

    @property
    def most_cost_usd(self) -> float:
        return sum(c.most_cost_usd or 0.0 for c in self.candidates)

    def to_dict(self) -> dict[str, Any]:
        request = self.request
        return {
            "benchmark": request.name,
            "region": request.region,
            "model": request.model.to_dict(),
            "batch_sizes": list(request.batch_sizes),
            "duration_s": request.duration_s,
            "p99_target_ms": request.p99_target_ms,
            "candidates": [c.to_dict() for c in self.candidates],
            "expected_cost_usd": round(self.expected_cost_usd, 4),
            "most_cost_usd": round(self.most_cost_usd, 4),
            "max_cost_usd": request.max_cost_usd,
            "notes": list(self.notes),
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def format_note(request: BenchmarkRequest, kind: str) -> str:
    """What to know before paying: ONNX Runtime has no Neuron or Elastic Inference execution
    provider, so an ONNX model fails there (`unusable`); PyTorch forms run on both."""
    if request.model.format == "onnx" and kind in ("neuron", "eia"):
        what = "Neuron" if kind == "neuron" else "Elastic Inference"
        return (
            f"ONNX Runtime has no {what} provider: on AWS this row fails as unusable; give "
            "the model as .pt / .pt2 (or a builtin:) to measure it there"
        )
    return ""


def time_limit_s(request: BenchmarkRequest) -> float:
    """The harness's own limit (agent/bench_job.py's default): download, compile and every
    environment tried; a hung one spends it."""
    return 2 * request.duration_s * len(request.batch_sizes) + 900


def minutes(request: BenchmarkRequest, kind: str) -> tuple[float, float]:
    """(expected, most) minutes one candidate is billed."""
    sizes = len(request.batch_sizes)
    download = request.model.bytes / DOWNLOAD_BYTES_PER_S / 60
    measure = (request.duration_s * sizes + LADDER_S) / 60
    expected = BOOT_MIN + download + COMPILE_MIN.get(kind, 0.5) * sizes + measure + TEARDOWN_MIN
    most = BOOT_MIN + time_limit_s(request) / 60 + TEARDOWN_MIN
    return expected, max(most, expected)


def plan_benchmark(
    clients: AwsClients, catalog: Catalog, request: BenchmarkRequest
) -> BenchmarkPlan:
    """Every candidate offered and priced, or InputError naming those that are not."""
    region = request.region
    ei_azs: list[str] | None = None
    if any(c.accelerator for c in request.candidates):
        ei_azs = ei_service_azs(clients, catalog, region)
    rows, problems = [], []
    for candidate in request.candidates:
        spec = catalog.instance(candidate.instance_type)
        assert spec is not None  # spec.benchmark.parse_candidates checked it
        azs = offered_azs(clients, candidate.instance_type)
        if candidate.accelerator:
            if ei_azs is None:
                problems.append(f"{candidate.label}: Elastic Inference is retired in {region}")
            azs = [az for az in azs if az in (ei_azs or [])]
        if not azs:
            problems.append(f"{candidate.instance_type} is not offered in any AZ of {region}")
            continue
        price = offline_price(catalog, candidate.instance_type, candidate.accelerator)
        if price is None:
            problems.append(f"{candidate.label} has no known price")
        kind = "eia" if candidate.accelerator else spec.kind
        expected, most = minutes(request, kind)
        deployment = request.candidate_name(candidate)
        row = CandidatePlan(candidate, deployment, kind, price, azs, expected, most)
        row.note = format_note(request, kind)
        rows.append(row)
    if problems:
        raise InputError(
            "cannot benchmark: " + "; ".join(problems),
            "drop those candidates or choose another --region "
            "(`amazonei-setup estimate --rank` lists what the catalog prices); nothing was created",
        )
    plan = BenchmarkPlan(request, rows)
    if request.max_cost_usd is not None and plan.most_cost_usd > request.max_cost_usd:
        raise InputError(
            f"this benchmark could cost up to ${plan.most_cost_usd:.2f} (expected "
            f"${plan.expected_cost_usd:.2f}), more than --max-cost {request.max_cost_usd:g}",
            "raise --max-cost, or lower --duration, the batch sizes or the candidates; "
            "nothing was created",
        )
    return plan
