"""The smoke test: a small CNN with seeded weights, its pure-Python reference (the answer every
framework is held to), and the CPU backends run in the agent's own process (ONNX Runtime, NumPy,
pure Python), timed. Accelerators run it in their own environments: frameworks.py, worker.py."""

from __future__ import annotations

import math
import operator
import platform
import sys
import time

SEED = 2019
INPUT_SHAPE = (3, 12, 12)
CONV_OUT, HIDDEN, CLASSES = 8, 32, 10
POOLED = CONV_OUT * 6 * 6
RTOL, ATOL = 1e-3, 1e-4  # float32 against the float64 reference
MODEL_NAME = "conv3x3(3-8)+relu+avgpool2+fc(288-32)+relu+fc(32-10); xorshift32 seed 2019"
SHAPES = {"conv_w": (CONV_OUT, 3, 3, 3), "fc1_w": (HIDDEN, POOLED), "fc2_w": (CLASSES, HIDDEN)}


def _xorshift32(seed: int):
    state = seed & 0xFFFFFFFF or 0x9E3779B9
    while True:
        state ^= (state << 13) & 0xFFFFFFFF
        state ^= state >> 17
        state ^= (state << 5) & 0xFFFFFFFF
        yield state


def _draw(stream, count: int, fan_in: int = 1) -> list:
    """Values k / 2**23 times a power of two: exact in float32, so every backend sees the same
    weights as the reference."""
    scale = 2.0 ** -round(math.log2(math.sqrt(fan_in)))
    return [((next(stream) >> 8) - 8388608) / 8388608 * scale for _ in range(count)]


def make_weights(seed: int = SEED) -> dict:
    stream = _xorshift32(seed)
    return {
        "conv_w": _draw(stream, CONV_OUT * 27, 27),
        "conv_b": _draw(stream, CONV_OUT, 256),
        "fc1_w": _draw(stream, HIDDEN * POOLED, POOLED),
        "fc1_b": _draw(stream, HIDDEN, 256),
        "fc2_w": _draw(stream, CLASSES * HIDDEN, HIDDEN),
        "fc2_b": _draw(stream, CLASSES, 256),
    }


def make_input(seed: int = SEED + 1) -> list:
    return _draw(_xorshift32(seed), INPUT_SHAPE[0] * INPUT_SHAPE[1] * INPUT_SHAPE[2])


def reference_forward(weights: dict, x: list) -> list:
    """The model in plain Python floats (float64): the answer every backend is held to."""
    channels, height, width = INPUT_SHAPE
    row = width + 2
    padded = [[0.0] * (row * (height + 2)) for _ in range(channels)]
    for c in range(channels):
        for i in range(height):
            start = (c * height + i) * width
            padded[c][(i + 1) * row + 1 : (i + 1) * row + 1 + width] = x[start : start + width]
    conv_w, pooled = weights["conv_w"], []
    for o in range(CONV_OUT):
        taps = [
            (padded[c], di * row + dj, conv_w[((o * channels + c) * 3 + di) * 3 + dj])
            for c in range(channels)
            for di in range(3)
            for dj in range(3)
        ]
        fmap = []
        for i in range(height):
            for j in range(width):
                total, base = weights["conv_b"][o], i * row + j
                for plane, offset, k in taps:
                    total += k * plane[base + offset]
                fmap.append(total if total > 0 else 0.0)
        for i in range(0, height, 2):
            for j in range(0, width, 2):
                at = i * width + j
                pooled.append(
                    (fmap[at] + fmap[at + 1] + fmap[at + width] + fmap[at + width + 1]) / 4
                )
    hidden = _dense(weights["fc1_w"], weights["fc1_b"], pooled, relu=True)
    return _dense(weights["fc2_w"], weights["fc2_b"], hidden, relu=False)


def _dense(matrix: list, bias: list, vector: list, relu: bool) -> list:
    size, out = len(vector), []
    for r, b in enumerate(bias):
        value = b + sum(map(operator.mul, matrix[r * size : (r + 1) * size], vector))
        out.append(max(value, 0.0) if relu else value)
    return out


def numpy_forward(np, arrays: dict, x):
    """The model in NumPy float32; x has shape (batch, 3, 12, 12)."""
    batch, side = x.shape[0], INPUT_SHAPE[1]
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((batch, CONV_OUT, side, side), np.float32) + arrays["conv_b"][:, None, None]
    for di in range(3):
        for dj in range(3):
            window = padded[:, :, di : di + side, dj : dj + side]
            out += np.einsum("oc,bcij->boij", arrays["conv_w"][:, :, di, dj], window)
    out = np.maximum(out, 0).reshape(batch, CONV_OUT, side // 2, 2, side // 2, 2).mean(axis=(3, 5))
    hidden = np.maximum(out.reshape(batch, -1) @ arrays["fc1_w"].T + arrays["fc1_b"], 0)
    return hidden @ arrays["fc2_w"].T + arrays["fc2_b"]


def _numpy_arrays(np, weights: dict) -> dict:
    return {
        name: np.array(values, dtype=np.float32).reshape(SHAPES.get(name, (-1,)))
        for name, values in weights.items()
    }


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def backend_onnxruntime(weights: dict, x: list) -> tuple:
    import numpy as np
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper

    arrays = _numpy_arrays(np, weights)
    node = helper.make_node
    graph = helper.make_graph(
        [
            node("Conv", ["x", "conv_w", "conv_b"], ["c"], pads=[1, 1, 1, 1]),
            node("Relu", ["c"], ["cr"]),
            node("AveragePool", ["cr"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
            node("Flatten", ["p"], ["f"], axis=1),
            node("Gemm", ["f", "fc1_w", "fc1_b"], ["h"], transB=1),
            node("Relu", ["h"], ["hr"]),
            node("Gemm", ["hr", "fc2_w", "fc2_b"], ["y"], transB=1),
        ],
        "amazonei_smoke_test",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, *INPUT_SHAPE])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, CLASSES])],
        [numpy_helper.from_array(value, name) for name, value in arrays.items()],
    )
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx_model.ir_version = 7  # readable by every ONNX Runtime since 1.6
    session = onnxruntime.InferenceSession(
        onnx_model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    feed = {"x": np.array(x, np.float32).reshape(1, *INPUT_SHAPE)}
    info = {
        "framework": "onnxruntime",
        "framework_version": onnxruntime.__version__,
        "device": "cpu",
    }
    info["device_name"] = _cpu_name()
    return (lambda: session.run(None, feed)[0].reshape(-1).tolist()), info


def backend_numpy(weights: dict, x: list) -> tuple:
    import numpy as np

    arrays = _numpy_arrays(np, weights)
    data = np.array(x, np.float32).reshape(1, *INPUT_SHAPE)
    info = {
        "framework": "numpy",
        "framework_version": np.__version__,
        "device": "cpu",
        "device_name": _cpu_name(),
    }
    return (lambda: numpy_forward(np, arrays, data).reshape(-1).tolist()), info


def backend_python(weights: dict, x: list) -> tuple:
    info = {"framework": "python", "framework_version": platform.python_version(), "device": "cpu"}
    info["device_name"] = _cpu_name()
    return (lambda: reference_forward(weights, x)), info


BACKENDS = (
    ("onnxruntime", backend_onnxruntime),
    ("numpy", backend_numpy),
    ("python", backend_python),
)
CPU_BACKENDS = (("numpy", backend_numpy), ("python", backend_python))


def percentile(values: list, q: float) -> float:
    """Linear interpolation between closest ranks (NumPy's default)."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def time_runs(run, runs: int, warmup: int) -> list:
    """Latency of each of `runs` calls in ms, after `warmup` untimed calls."""
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000.0)
    return samples


def latency_summary(samples: list) -> dict:
    summary = {f"p{q}": round(percentile(samples, q), 4) for q in (50, 90, 99)}
    summary["mean"] = round(sum(samples) / len(samples), 4)
    return summary


def compare(output: list, reference: list, rtol: float = RTOL, atol: float = ATOL) -> tuple:
    """(ok, max_abs_error): ok when |out - ref| <= atol + rtol * |ref| everywhere."""
    if len(output) != len(reference):
        return False, None
    errors = [abs(output[i] - reference[i]) for i in range(len(reference))]
    ok = all(errors[i] <= atol + rtol * abs(reference[i]) for i in range(len(errors)))
    worst = max(errors)
    return ok, (worst if math.isfinite(worst) and all(map(math.isfinite, errors)) else None)


def _why(error: BaseException) -> str:
    if isinstance(error, ImportError):
        return f"not installed ({getattr(error, 'name', None) or error})"
    return f"{type(error).__name__}: {error}"[:300]


def smoke_result(runs: int, warmup: int, attempts: list) -> dict:
    """The smoke test's fields that do not depend on where it ran."""
    result = {"ok": False, "skipped": False, "model": MODEL_NAME, "batch_size": 1}
    result.update(tolerance={"rtol": RTOL, "atol": ATOL}, runs=runs, warmup=warmup)
    result.update(attempts=attempts, on_accelerator=False, simulated=False, load_s=None)
    return result


def cpu_baseline(runs: int, warmup: int, attempts: list, backends: tuple | None = None) -> tuple:
    """(framework, latencies) of the model on the CPU for the speed-up; (None, None) if none ran."""
    for name, backend in CPU_BACKENDS if backends is None else backends:
        try:
            run, info = backend(make_weights(), make_input())
            return info["framework"], time_runs(run, runs, warmup)
        except Exception as failure:
            attempts.append({"framework": name, "outcome": "crashed", "reason": _why(failure)})
    return None, None


def run_smoke_test(
    runs: int = 50, warmup: int = 5, backends: tuple | None = None, attempts: list | None = None
) -> dict:
    """The model on the CPU, in this process: ONNX Runtime, NumPy or pure Python, whichever is
    first to run; its answer compared to the reference and timed."""
    weights, x = make_weights(), make_input()
    reference = reference_forward(weights, x)
    result = smoke_result(runs, warmup, list(attempts or []))
    chosen = None
    for name, backend in BACKENDS if backends is None else backends:
        try:
            start = time.perf_counter()
            run, info = backend(weights, x)
            output = run()
        except Exception as error:  # this backend cannot run here: say why, try the next
            outcome = "not installed" if isinstance(error, ImportError) else "crashed"
            result["attempts"].append(
                {"framework": name, "outcome": outcome, "reason": _why(error)}
            )
            continue
        chosen = (run, info, output, time.perf_counter() - start)
        break
    if chosen is None:
        result["reason"] = "no backend could run the model"
        return result
    run, info, output, load_s = chosen
    ok, error = compare(output, reference)
    samples = time_runs(run, runs, warmup)
    result.update(info)
    result.update(ok=ok, max_abs_error=error, latency_ms=latency_summary(samples))
    result.update(load_s=round(load_s, 3), environment=sys.prefix)
    result["throughput_per_s"] = round(len(samples) * 1000.0 / sum(samples), 2)
    result["reason"] = (
        f"{info['framework']} on {info['device']} matches the reference"
        if ok
        else f"{info['framework']} differs from the reference beyond rtol {RTOL}/atol {ATOL} "
        f"(max abs error {error})"
    )
    return result
