"""The smoke test: a small CNN with seeded weights, a pure-Python reference, and the best backend
present (PyTorch on CUDA, Neuron trace, PyTorch on an EI accelerator, ONNX Runtime, NumPy, pure
Python) checked against the reference and timed. Every framework is optional and imported late."""

from __future__ import annotations

import math
import operator
import platform
import time

SEED = 2019
INPUT_SHAPE = (3, 12, 12)
CONV_OUT, HIDDEN, CLASSES = 8, 32, 10
POOLED = CONV_OUT * 6 * 6
RTOL, ATOL = 1e-3, 1e-4  # float32 against the float64 reference
MODEL_NAME = "conv3x3(3-8)+relu+avgpool2+fc(288-32)+relu+fc(32-10); xorshift32 seed 2019"
SHAPES = {"conv_w": (CONV_OUT, 3, 3, 3), "fc1_w": (HIDDEN, POOLED), "fc2_w": (CLASSES, HIDDEN)}


class BackendUnavailable(Exception):
    """This backend cannot run here (no device, no driver)."""


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


def _torch_module(torch, weights: dict):
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(3, CONV_OUT, 3, padding=1),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(POOLED, HIDDEN),
        nn.ReLU(),
        nn.Linear(HIDDEN, CLASSES),
    )
    with torch.no_grad():
        for index, name in ((0, "conv"), (4, "fc1"), (6, "fc2")):
            layer = model[index]
            layer.weight.copy_(torch.tensor(weights[name + "_w"]).reshape(layer.weight.shape))
            layer.bias.copy_(torch.tensor(weights[name + "_b"]))
    return model.eval()


def _torch_input(torch, x: list):
    return torch.tensor(x, dtype=torch.float32).reshape(1, *INPUT_SHAPE)


def backend_torch_cuda(weights: dict, x: list) -> tuple:
    import torch

    if not torch.cuda.is_available():
        raise BackendUnavailable(f"torch {torch.__version__}: CUDA is not available")
    try:  # TF32 would round beyond the float32 tolerance
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    except AttributeError:
        pass
    model, data = _torch_module(torch, weights).cuda(), _torch_input(torch, x).cuda()

    def run() -> list:  # input resident on the GPU; the copy back to the host synchronises
        with torch.no_grad():
            return model(data).cpu().reshape(-1).tolist()

    name = torch.cuda.get_device_name(0)
    return run, {
        "framework": "pytorch",
        "framework_version": torch.__version__,
        "device": "cuda",
        "device_name": name,
    }


def backend_neuron(weights: dict, x: list) -> tuple:
    import torch

    try:
        import torch_neuronx as neuron

        framework, trace, args = "torch-neuronx", neuron.trace, ["--auto-cast", "none"]
    except ImportError:
        import torch_neuron as neuron  # inf1: registers torch.neuron

        framework, trace, args = "torch-neuron", torch.neuron.trace, ["--fast-math", "none"]
    data = _torch_input(torch, x)
    model = trace(_torch_module(torch, weights), data, compiler_args=args)  # fp32: no auto-cast

    def run() -> list:
        with torch.no_grad():
            return model(data).reshape(-1).tolist()

    version = getattr(neuron, "__version__", torch.__version__)
    return run, {
        "framework": framework,
        "framework_version": version,
        "device": "neuron",
        "device_name": "NeuronCore",
    }


def backend_torch_eia(weights: dict, x: list) -> tuple:
    """PyTorch built for Elastic Inference (the 2019 `use_ei=True` path): TorchScript on eia:0.
    A stock PyTorch refuses the target device, and the next backend is tried."""
    import torch

    data = _torch_input(torch, x)
    model = torch.jit.trace(_torch_module(torch, weights), data)

    def run() -> list:
        with torch.no_grad(), torch.jit.optimized_execution(True, {"target_device": "eia:0"}):
            return model(data).reshape(-1).tolist()

    return run, {
        "framework": "pytorch-ei",
        "framework_version": torch.__version__,
        "device": "eia",
        "device_name": "eia:0",
    }


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
    ("pytorch-cuda", backend_torch_cuda),
    ("neuron", backend_neuron),
    ("pytorch-ei", backend_torch_eia),
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
    text = (
        f"{type(error).__name__}: {error}"
        if not isinstance(error, BackendUnavailable)
        else str(error)
    )
    return text[:300]


def run_smoke_test(
    kind: str = "none",
    runs: int = 50,
    warmup: int = 5,
    backends: tuple | None = None,
    cpu_backends: tuple | None = None,
) -> dict:
    """Run the model on the first backend that works, compare to the reference, time it; when
    it ran on an accelerator, time the CPU path too and report the speed-up."""
    weights, x = make_weights(), make_input()
    reference = reference_forward(weights, x)
    result = {"ok": False, "skipped": False, "model": MODEL_NAME, "batch_size": 1}
    result.update(tolerance={"rtol": RTOL, "atol": ATOL}, runs=runs, warmup=warmup, attempts=[])
    chosen = None
    for name, backend in BACKENDS if backends is None else backends:
        if name == "pytorch-ei" and kind != "eia":
            continue
        try:
            run, info = backend(weights, x)
            output = run()
        except Exception as error:  # this backend cannot run here: say why, try the next
            result["attempts"].append({"framework": name, "reason": _why(error)})
            continue
        chosen = (name, run, info, output)
        break
    if chosen is None:
        result["reason"] = "no backend could run the model"
        return result
    name, run, info, output = chosen
    ok, error = compare(output, reference)
    samples = time_runs(run, runs, warmup)
    result.update(info)
    result.update(ok=ok, max_abs_error=error, latency_ms=latency_summary(samples))
    result["throughput_per_s"] = round(len(samples) * 1000.0 / sum(samples), 2)
    result["on_accelerator"] = info["device"] != "cpu"
    result["reason"] = (
        f"{info['framework']} on {info['device']} matches the reference"
        if ok
        else f"{info['framework']} differs from the reference beyond rtol {RTOL}/atol {ATOL} "
        f"(max abs error {error})"
    )
    if result["on_accelerator"]:
        for cpu_name, cpu_backend in CPU_BACKENDS if cpu_backends is None else cpu_backends:
            try:
                cpu_run, cpu_info = cpu_backend(weights, x)
                cpu_samples = time_runs(cpu_run, runs, warmup)
            except Exception as failure:
                result["attempts"].append({"framework": cpu_name, "reason": _why(failure)})
                continue
            result["cpu_framework"] = cpu_info["framework"]
            result["cpu_latency_ms"] = latency_summary(cpu_samples)
            accelerated = result["latency_ms"]["p50"] or 1e-9
            result["speedup"] = round(result["cpu_latency_ms"]["p50"] / accelerated, 3)
            break
    return result
