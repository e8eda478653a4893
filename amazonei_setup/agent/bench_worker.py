"""Runs the user's model inside ONE framework environment and measures it. benchmark.py starts
it as `<env>/bin/python -c <source> <backend>` (the source: loadgen.py, bench_inputs.py,
bench_torch.py and this file, their relative imports dropped), the job as JSON on stdin; the
answer is the last line starting `AMAZONEI-WORKER `. ONNX models run in ONNX Runtime (the CPU
execution provider; on cuda TensorRT's where this build has it, then CUDA's: the answer names
the one session.get_providers() says ran), the others in PyTorch (bench_torch.py). Every query
takes its inputs from host memory and returns its outputs there, as MLPerf's system under test
does; the first output at each batch size is held to the CPU's answer on the same input before
anything is timed. Python 3.6 syntax; numpy and the framework are imported only here, inside
the environment."""

import json
import os
import sys
import time

from .bench_inputs import (
    Failure,
    check_batches,
    classify,
    compare,
    make_inputs,
    merge_given,
    precision_of,
)
from .bench_torch import torch_backend
from .loadgen import (
    LADDER_STEPS,
    WARMUP_QUERIES,
    concurrent,
    figures,
    ladder,
    plan,
    single_stream,
    warm_up,
)

MARK = "AMAZONEI-WORKER "
ONNX_TYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(int8)": "int8",
    "tensor(uint8)": "uint8",
    "tensor(bool)": "bool",
}


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "cpu"


def onnx_specs(session) -> "list":
    specs = []
    for arg in session.get_inputs():
        dtype = ONNX_TYPES.get(arg.type)
        if dtype is None:
            raise Failure("shape mismatch", f"input {arg.name!r} is a {arg.type}: not supported")
        shape = [d if isinstance(d, int) else None for d in arg.shape]
        specs.append({"name": arg.name, "shape": shape, "dtype": dtype, "dtype_fixed": True})
    return specs


def _cuda_session(ort, path: str, cache: str):
    available = ort.get_available_providers()
    if "CUDAExecutionProvider" not in available:
        raise Failure(
            "unusable",
            f"onnxruntime {ort.__version__} has no CUDAExecutionProvider (a CPU build: "
            "onnxruntime-gpu has it)",
        )
    wanted = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if "TensorrtExecutionProvider" in available:
        options = {"trt_engine_cache_enable": True}
        options["trt_engine_cache_path"] = os.path.join(cache, "tensorrt")
        wanted.insert(0, ("TensorrtExecutionProvider", options))
    session = ort.InferenceSession(path, providers=wanted)
    ran = session.get_providers()
    if ran[0] not in ("TensorrtExecutionProvider", "CUDAExecutionProvider"):
        raise Failure(
            "unusable",
            f"ONNX Runtime could not start the CUDA execution provider (it ran {', '.join(ran)})",
        )
    return session


def onnx_backend(job: "dict", backend: str, np) -> "dict":
    """The runner for an ONNX model: {info, specs, reference(batch), device(batch), first}."""
    import onnxruntime as ort

    if backend not in ("cpu", "cuda"):
        raise Failure(
            "unusable",
            f"ONNX Runtime has no execution provider for the {backend} backend: give the model as "
            "TorchScript (.pt) or torch.export (.pt2)",
        )
    path = job["model"]["path"]
    try:
        cpu = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    except Exception as error:
        raise Failure("bad model", f"ONNX Runtime cannot load the model: {error}") from None
    specs = merge_given(onnx_specs(cpu), job["model"].get("inputs"))
    session = _cuda_session(ort, path, job["cache"]) if backend == "cuda" else cpu
    provider = session.get_providers()[0]
    info = {"framework_name": "onnxruntime", "framework_version": ort.__version__}
    info.update(provider=provider, providers=session.get_providers())
    info["compiler"] = "TensorRT" if provider == "TensorrtExecutionProvider" else None
    info["lazy_compile"] = info["compiler"] is not None  # its engine is built at the 1st query
    info["device"] = "cuda:0" if backend == "cuda" else "cpu"
    info["precision"] = precision_of(specs[0]["dtype"]) if specs else "fp32"
    names = [spec["name"] for spec in specs]

    def feed(batch_size):
        arrays = make_inputs(np, specs, batch_size)
        return dict(zip(names, arrays))  # noqa: B905 (Python 3.6 has no strict=)

    def reference(batch_size):
        return cpu.run(None, feed(batch_size))[0]

    def device(batch_size):
        data = feed(batch_size)
        return (lambda: session.run(None, data)), 0.0

    return {
        "info": info,
        "specs": specs,
        "reference": reference,
        "device": device,
        "first": lambda out: out[0],
    }


def measure(job: "dict", runner: "dict", np, clock=time.perf_counter) -> "dict":
    """Each batch size: the answer checked, warm-up, single-stream, the throughput ladder."""
    sizes, duration = job["batch_sizes"], float(job["duration_s"])
    check_batches(runner["specs"], sizes)
    timing = plan(len(sizes), duration)
    step_s = float(job.get("step_s") or timing["step_s"])
    warmup_s = timing["warmup_s"] if job.get("warmup_s") is None else float(job["warmup_s"])
    deadline = clock() + float(job["deadline_s"]) if job.get("deadline_s") else None
    began = clock()
    references = dict((size, runner["reference"](size)) for size in sizes)
    check_s, compile_s, worst, tolerance, rows = clock() - began, 0.0, 0.0, None, []
    precision = runner["info"]["precision"]
    for index, size in enumerate(sizes):
        run, seconds = runner["device"](size)
        began = clock()
        output = run()
        first_s = clock() - began
        compile_s += seconds + (first_s if runner["info"].get("lazy_compile") else 0.0)
        ok, error, tolerance = compare(np, runner["first"](output), references[size], precision)
        if not ok:
            said = tolerance.get("why") or (
                f"max abs error {error:.3g} over {tolerance['atol']:.3g} "
                f"({tolerance['of_largest']:g} of its largest |value|)"
            )
            said = f"batch {size}: the first output is not the CPU's: {said}"
            raise Failure("wrong answer", said)
        worst = max(worst, error)
        warm = warm_up(run, int(job.get("warmup_queries", WARMUP_QUERIES)), warmup_s, clock)
        max_s = None
        if deadline is not None:  # what is left, shared by the batch sizes still to measure
            share = (deadline - clock()) / (len(sizes) - index) - step_s * LADDER_STEPS - warmup_s
            max_s = max(share, duration)
        samples, elapsed = single_stream(run, duration, int(job["min_queries"]), clock, max_s)
        single = figures(samples, elapsed, size)
        steps = ladder(
            lambda streams, run=run: concurrent(run, streams, step_s, clock),
            size,
            single,
            job.get("p99_target_ms"),
        )
        row = dict((k, single[k]) for k in ("p50_ms", "p90_ms", "p99_ms", "mean_ms", "queries"))
        row.update(batch_size=size, cv=single["cv"], valid=single["valid"], why=single["why"])
        best = steps["best"]
        row.update(throughput_per_s=best["throughput_per_s"], streams=best["streams"])
        row.update(steps=steps["steps"], stopped=steps["stopped"], warmup=warm)
        row.update(single_stream_s=single["seconds"], first_query_ms=round(first_s * 1000.0, 3))
        rows.append(row)
    return {
        "batches": rows,
        "max_abs_error": worst,
        "tolerance": tolerance,
        "compile_s": round(compile_s, 3),
        "check_s": round(check_s, 3),
        "step_s": step_s,
        "warmup_s": warmup_s,
    }


def framework_text(info: "dict") -> str:
    """`onnxruntime 1.20.1 CUDAExecutionProvider`, `torch-neuronx 2.1.2 (torch_neuronx.trace)`."""
    text = f"{info.get('framework_name')} {info.get('framework_version')}"
    if info.get("provider"):
        text += " " + info["provider"]
    elif info.get("compiler"):
        text += f" ({info['compiler']})"
    return text


def work(backend: str, job: "dict") -> "dict":
    """The answer: ok with the measurements, or ok false with an outcome and why."""
    started, runner = time.perf_counter(), None
    try:
        import numpy as np

        if job["model"]["format"] == "onnx":
            runner = onnx_backend(job, backend, np)
        else:
            runner = torch_backend(job, backend, np)
        if runner["info"]["device"] == "cpu":
            runner["info"]["device_name"] = cpu_name()
        load_s = time.perf_counter() - started
        measured = measure(job, runner, np)
    except Exception as error:  # the harness reports it and tries the next environment
        outcome, reason = classify(error)
        answer = dict(runner["info"]) if runner else {}
        answer.update(ok=False, outcome=outcome, error=reason)
        return answer
    answer = dict(runner["info"], ok=True, load_s=round(load_s, 3), python=sys.version.split()[0])
    answer.update(measured)
    answer["framework"] = framework_text(answer)
    return answer


def main() -> None:
    try:
        answer = work(sys.argv[1], json.loads(sys.stdin.read()))
    except Exception as error:  # a job the worker cannot read: still one answer line
        answer = {
            "ok": False,
            "outcome": "crashed",
            "error": f"{type(error).__name__}: {error}",
        }
    sys.stdout.write("\n" + MARK + json.dumps(answer) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
