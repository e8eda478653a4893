"""The benchmark harness on the machine it runs on, for a lent GPU machine (issue 22): the
built-in ResNet-50 (torchvision, seeded random weights, nothing downloaded) at batch 1 and 8 on
CUDA and on the CPU, and the bundled demo ONNX model in ONNX Runtime on both, each measured by
the agent's real worker in THIS Python (no environment discovery, no network), printed as one
table; `--json PATH` keeps every result.

    python scripts/device_benchmark.py            # on the GPU machine: a few minutes
    python scripts/device_benchmark.py --quick    # anywhere, seconds; rows it cannot run say why

Rows whose framework this Python lacks (torch, a CUDA build of ONNX Runtime) are skipped, with
the reason. CPU rows ask fewer queries (--cpu-min-queries) so the run stays short: a row under
1,000 queries says its p99 is not valid, as the harness always does.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from amazonei_setup.agent.bench_job import check_job  # noqa: E402
from amazonei_setup.agent.benchmark import run_job  # noqa: E402

DEMO = REPO / "templates" / "models" / "demo-cnn.onnx"
# (workload, backend, what it needs): the rows, in the order printed
ROWS = (
    ("builtin:resnet50", "cuda", "torch"),
    ("builtin:resnet50", "cpu", "torch"),
    ("demo-cnn.onnx", "cuda", "onnxruntime"),
    ("demo-cnn.onnx", "cpu", "onnxruntime"),
)


def _missing(backend: str, needs: str) -> str | None:
    """Why this Python cannot run the row, or None."""
    if importlib.util.find_spec(needs) is None:
        return f"{needs} is not installed in this Python"
    if needs == "torch" and importlib.util.find_spec("torchvision") is None:
        return "torchvision is not installed in this Python"
    if backend == "cuda" and needs == "onnxruntime":
        import onnxruntime

        if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
            return f"onnxruntime {onnxruntime.__version__} has no CUDAExecutionProvider"
    return None


def _job(workload: str, backend: str, args: argparse.Namespace, out: Path) -> dict:
    if workload.startswith("builtin:"):
        model = {"uri": workload}
    else:
        model = {"path": str(DEMO), "sha256": hashlib.sha256(DEMO.read_bytes()).hexdigest()}
    minimum = args.min_queries if backend == "cuda" else args.cpu_min_queries
    job = {"model": model, "batch_sizes": [1, 8], "duration_s": args.duration}
    job.update(min_queries=minimum, expect="nvidia" if backend == "cuda" else "none")
    job.update(result_uri=str(out), time_limit_s=args.time_limit)
    if args.quick:
        job.update(step_s=0.05, warmup_s=0.2, warmup_queries=3)
    return job


def measure(args: argparse.Namespace) -> list[dict]:
    """One result per row: the harness's result, or {status: skipped, reason}."""
    own = {"env": sys.prefix, "python": sys.executable}
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        for workload, backend, needs in ROWS:
            reason = _missing(backend, needs)
            if reason:
                results.append(
                    {
                        "workload": workload,
                        "backend": backend,
                        "status": "skipped",
                        "reason": reason,
                        "batches": [],
                    }
                )
                continue
            job = check_job(_job(workload, backend, args, Path(scratch) / "result.json"))
            result = run_job(job, tried=[dict(own, backend=backend)])
            results.append(dict(result, workload=workload, backend=backend))
    return results


def table(results: list[dict]) -> list[str]:
    head = (
        "workload",
        "device",
        "framework",
        "batch",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "queries",
        "cv",
        "p99 valid",
        "inferences/s",
        "streams",
    )
    rows = [head]
    for result in results:
        if result["status"] != "ok":
            rows.append(
                (
                    result["workload"],
                    result["backend"],
                    f"{result['status']}: {result['reason']}",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                )
            )
            continue
        for row in result["batches"]:
            rows.append(
                (
                    result["workload"],
                    result["device_name"] or result["device"],
                    result["framework"],
                    str(row["batch_size"]),
                    f"{row['p50_ms']:.3f}",
                    f"{row['p90_ms']:.3f}",
                    f"{row['p99_ms']:.3f}",
                    str(row["queries"]),
                    f"{row['cv']:.3f}",
                    "yes" if row["valid"] else "no",
                    f"{row['throughput_per_s']:.1f}",
                    str(row["streams"]),
                )
            )
    widths = [max(len(r[i]) for r in rows if len(r[i]) < 60) for i in range(len(head))]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        lines.append(" | ".join(cells).rstrip())
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="seconds, not minutes (any machine)")
    parser.add_argument("--duration", type=float, help="seconds per batch size (5; quick 0.2)")
    parser.add_argument("--min-queries", type=int, help="queries per batch on CUDA (1000)")
    parser.add_argument("--cpu-min-queries", type=int, help="queries per batch on the CPU (200)")
    parser.add_argument("--time-limit", type=float, default=400.0, help="seconds per row")
    parser.add_argument("--json", type=Path, help="write every result here")
    args = parser.parse_args(argv)
    args.duration = args.duration or (0.2 if args.quick else 5.0)
    args.min_queries = args.min_queries or (50 if args.quick else 1000)
    args.cpu_min_queries = args.cpu_min_queries or (50 if args.quick else 200)
    results = measure(args)
    print("\n".join(table(results)))
    for result in results:
        if result["status"] == "ok":
            print(
                f"{result['workload']} {result['backend']}: load {result['load_s']} s, compile "
                f"{result['compile_s']} s, overhead {result.get('overhead_s')} s, simulated "
                f"{result['simulated']}, max abs error {result['max_abs_error']:.3g} "
                f"({result['tolerance']['precision']})"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    failed = [r for r in results if r["status"] == "failed"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
