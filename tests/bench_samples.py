"""Benchmark results as the agent writes them (schema 1, the agent README's "Benchmark (issue
22)"), built small for the results, report and render tests."""

from __future__ import annotations

from typing import Any

from amazonei_setup.engines.benchmark.results import Candidate, rank, to_json_document

FRAMEWORK = {
    "cpu": ("cpu", "onnxruntime 1.20.1 CPUExecutionProvider", None),
    "nvidia": ("cuda:0", "onnxruntime 1.20.1 CUDAExecutionProvider", "NVIDIA A10G"),
    "neuron": ("neuron", "torch-neuronx 2.5.1.2.4.0 (torch_neuronx.trace)", "Inferentia2"),
    "eia": ("eia:0", "pytorch-ei 1.5.1", "eia2.medium"),
}
# Every field issue 22 names for a row of `--output json`.
ISSUE_FIELDS = {"instance_type", "accelerator", "device", "framework", "status", "batch_size",
                "p50_ms", "p90_ms", "p99_ms", "queries", "throughput_per_s", "cost_per_100k_usd",
                "cost_per_100k_at_throughput_usd", "price_per_hour_usd", "price_source", "pareto",
                "meets_target", "simulated", "reason"}  # fmt: skip
MODEL = {"name": "demo-cnn", "format": "onnx", "sha256": "ab" * 32, "bytes": 97_000}


def batch(
    batch_size: int,
    p50_ms: float,
    *,
    p90_ms: float | None = None,
    p99_ms: float | None = None,
    mean_ms: float | None = None,
    throughput_per_s: float | None = None,
    queries: int = 1200,
    streams: int = 1,
    valid: bool = True,
    why: str | None = None,
) -> dict[str, Any]:
    """One `batches` entry; unset figures follow from the p50 (a quiet device's spread)."""
    p99 = p99_ms if p99_ms is not None else p50_ms * 1.5
    mean = mean_ms if mean_ms is not None else p50_ms
    throughput = throughput_per_s if throughput_per_s is not None else batch_size * 1000 / mean
    return {
        "batch_size": batch_size,
        "p50_ms": p50_ms,
        "p90_ms": p90_ms if p90_ms is not None else p50_ms * 1.2,
        "p99_ms": p99,
        "mean_ms": mean,
        "queries": queries,
        "cv": 0.05,
        "valid": valid,
        "why": why,
        "throughput_per_s": throughput,
        "streams": streams,
        "steps": [],
        "stopped": "gain under 5 %",
    }


def result(
    instance_type: str,
    kind: str,
    batches: list[dict[str, Any]] | None = None,
    *,
    status: str = "ok",
    outcome: str | None = None,
    reason: str | None = None,
    simulated: bool = False,
) -> dict[str, Any]:
    """A whole result: ok with its batches, or failed with the agent's outcome and reason."""
    device, framework, accelerator = FRAMEWORK[kind]
    if simulated:
        device, framework = FRAMEWORK["cpu"][:2]
    return {
        "schema": 1,
        "instance_type": instance_type,
        "kind": kind,
        "accelerator": accelerator,
        "device": device,
        "framework": framework,
        "status": status,
        "outcome": outcome,
        "reason": reason,
        "batches": batches if status == "ok" else [],
        "simulated": simulated,
        "model": MODEL,
    }


def candidate(
    instance_type: str,
    price: float | None,
    res: dict[str, Any] | None,
    *,
    accelerator: str | None = None,
    reason: str | None = None,
    minutes: float = 6.0,
    simulated: bool = False,
    source: str = "us-east-1 list price of 2026-11-21, offline",
) -> Candidate:
    return Candidate(
        instance_type=instance_type,
        accelerator=accelerator,
        price_per_hour_usd=price,
        price_source=source,
        result=res,
        reason=reason,
        minutes_used=minutes,
        simulated=simulated,
    )


def three_candidates(*, simulated: bool = False, inf2_fails: bool = False) -> list[Candidate]:
    """c5.xlarge (cpu), g5.xlarge (nvidia), inf2.xlarge (neuron) at batch 1 and 8, priced as the
    catalog prices them; with `inf2_fails`, inf2.xlarge found no capacity and left no result."""
    cpu = result(
        "c5.xlarge", "cpu", [batch(1, 9.0), batch(8, 40.0, p99_ms=70.0)], simulated=simulated
    )
    gpu = result(
        "g5.xlarge",
        "nvidia",
        [batch(1, 2.0), batch(8, 4.0, p99_ms=6.0, throughput_per_s=5000.0, streams=4)],
        simulated=simulated,
    )
    neuron = result(
        "inf2.xlarge", "neuron", [batch(1, 1.5), batch(8, 3.0)], simulated=simulated
    )
    inf2 = (
        candidate(
            "inf2.xlarge",
            0.7582,
            None,
            reason="no capacity in any AZ: InsufficientInstanceCapacity",
            minutes=0.0,
            simulated=simulated,
        )
        if inf2_fails
        else candidate("inf2.xlarge", 0.7582, neuron, simulated=simulated)
    )
    return [
        candidate("c5.xlarge", 0.17, cpu, simulated=simulated),
        candidate("g5.xlarge", 1.006, gpu, simulated=simulated),
        inf2,
    ]


def document(
    *, simulated: bool = False, inf2_fails: bool = False, target: float | None = 50.0
) -> dict[str, Any]:
    """The JSON document of `three_candidates`, as `--output json` gives it."""
    candidates = three_candidates(simulated=simulated, inf2_fails=inf2_fails)
    return to_json_document(MODEL, candidates, rank(candidates, target), target)
