"""Where a benchmark's objects live in its bucket, and the job each candidate runs.

    input/harness-<sha256[:16]>.py       the harness (agent/bundle.build_benchmark_file)
    input/model-<sha256>.<ext>           the model, uploaded once for every candidate
    <candidate deployment>/job.json      that candidate's job
    <candidate deployment>/result.json   its result, written by its instance

Each candidate's instance role may read the two inputs and its own job, and write its own
result (resources/role.py, benchmark_statements): nothing of another candidate's."""

from __future__ import annotations

from typing import Any

from amazonei_setup.engines.benchmark.plan import CandidatePlan, time_limit_s
from amazonei_setup.spec.benchmark import MIN_QUERIES, BenchmarkRequest
from amazonei_setup.spec.profile import BenchmarkAccess


def harness_key(sha256: str) -> str:
    return f"input/harness-{sha256[:16]}.py"


def model_key(request: BenchmarkRequest) -> str | None:
    """None for a built-in workload: the instance builds it, nothing is uploaded."""
    model = request.model
    return None if model.builtin else f"input/model-{model.sha256}{model.suffix}"


def job_key(deployment: str) -> str:
    return f"{deployment}/job.json"


def result_key(deployment: str) -> str:
    return f"{deployment}/result.json"


def access(
    request: BenchmarkRequest, bucket: str, harness_sha256: str, deployment: str
) -> BenchmarkAccess:
    reads = [harness_key(harness_sha256), job_key(deployment)]
    model = model_key(request)
    if model is not None:
        reads.insert(1, model)
    return BenchmarkAccess(
        bucket=bucket,
        harness_key=harness_key(harness_sha256),
        harness_sha256=harness_sha256,
        job_key=job_key(deployment),
        read_keys=reads,
        result_key=result_key(deployment),
    )


def job_document(
    request: BenchmarkRequest, candidate: CandidatePlan, bucket: str, harness_sha256: str
) -> dict[str, Any]:
    """The job (agent README, "Job"): what to measure, how long, where to answer."""
    model = request.model
    key = model_key(request)
    described: dict[str, Any] = {
        "uri": f"s3://{bucket}/{key}" if key else model.source,
        "name": model.name,
        "inputs": [dict(i) for i in model.inputs],
    }
    if key:
        described.update(sha256=model.sha256, format=model.format, bytes=model.bytes)
    spec = candidate.candidate
    return {
        "model": described,
        "batch_sizes": list(request.batch_sizes),
        "duration_s": request.duration_s,
        "min_queries": MIN_QUERIES,
        "p99_target_ms": request.p99_target_ms,
        "expect": spec.accelerator or spec.instance_type,
        "instance_type": spec.instance_type,
        "result_uri": f"s3://{bucket}/{result_key(candidate.deployment)}",
        "time_limit_s": time_limit_s(request),
        "harness": {
            "uri": f"s3://{bucket}/{harness_key(harness_sha256)}",
            "sha256": harness_sha256,
        },
    }
