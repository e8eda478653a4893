"""Stand-ins for the benchmark's framework environments: a DLAMI-like environment is a
`bin/python3` under the fake root that runs THIS interpreter, optionally with stub modules put
first on its path (a numpy-backed `torch`, `torch_neuronx`, or a `sitecustomize` that makes
ONNX Runtime claim the CUDA / TensorRT execution providers); or one that crashes or hangs. The
stubs' behaviour is switched by STUB_* environment variables the worker inherits."""

from __future__ import annotations

import json
import sys
from pathlib import Path

TORCH_STUB = '''
"""torch, for tests: tensors are NumPy arrays with a device; a TorchScript file is JSON
{"w": [[...]]}; the model computes x @ w and returns a tuple."""
import contextlib, json, os
import numpy as np

__version__ = os.environ.get("STUB_TORCH_VERSION", "2.5.0")
float32, float16, bfloat16, int64 = "float32", "float16", "bfloat16", "int64"


class Tensor:
    def __init__(self, data, device="cpu"):
        self.data, self.device = np.asarray(data), device

    @property
    def shape(self):
        return self.data.shape

    def to(self, where):
        if where in (float32, float16, bfloat16, int64):
            return Tensor(self.data.astype("float32" if where == bfloat16 else where), self.device)
        return Tensor(self.data, str(where))

    def cpu(self):
        return Tensor(self.data, "cpu")

    def float(self):
        return Tensor(self.data.astype("float32"), self.device)

    def numpy(self):
        assert self.device == "cpu", "numpy() of a tensor on " + self.device
        return self.data


def from_numpy(array):
    return Tensor(array)


def manual_seed(seed):
    pass


def no_grad():
    return contextlib.nullcontext()


class Module:
    def __init__(self, w, on_neuron=False):
        self.w, self.device, self.on_neuron = np.asarray(w, "float32"), "cpu", on_neuron

    def eval(self):
        return self

    def to(self, device):
        if os.environ.get("STUB_OOM"):
            raise RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB")
        self.device = str(device)
        return self

    def __call__(self, *xs):
        x = xs[0]
        assert x.device == self.device, "input on %s, model on %s" % (x.device, self.device)
        out = x.data.astype("float32") @ self.w
        if (self.device != "cpu" or self.on_neuron) and os.environ.get("STUB_WRONG"):
            out = out + 1.0
        return (Tensor(out, x.device),)


class _Cuda:
    @staticmethod
    def is_available():
        return os.environ.get("STUB_CUDA", "1") == "1"

    @staticmethod
    def get_device_name(index):
        return "NVIDIA A10G"


cuda = _Cuda()


class _Flags:
    allow_tf32 = True


class backends:
    cudnn = _Flags()

    class cuda:
        matmul = _Flags()


class jit:
    ScriptModule = Module

    @staticmethod
    def load(path, map_location=None):
        with open(path) as handle:
            data = json.load(handle)
        return Module(data["w"], data.get("neuron", False))

    @staticmethod
    def save(module, path):
        with open(path, "w") as handle:
            json.dump({"w": module.w.tolist(), "neuron": module.on_neuron}, handle)

    @staticmethod
    def trace(module, inputs):
        return module

    @staticmethod
    def optimized_execution(enabled, *options):
        if options and not os.environ.get("STUB_EIA"):
            raise TypeError("optimized_execution() takes 1 positional argument")
        return contextlib.nullcontext()


class _C:
    """TorchNeuron registers PyTorch's PrivateUse1 device as `neuron` (PyTorch 2.10 and later)."""

    @staticmethod
    def _get_privateuse1_backend_name():
        native = tuple(int(p) for p in __version__.split(".")[:2]) >= (2, 10)
        return "neuron" if native else "privateuseone"


class accelerator:
    @staticmethod
    def device_count():
        return int(os.environ.get("STUB_NEURON_DEVICES", "2"))


def compile(model, backend=None):
    model.compiled_for = backend
    return model
'''

TORCH_NEURONX_STUB = '''
"""torch_neuronx, for tests: trace() 'compiles' (counted in STUB_TRACE_LOG) or fails."""
import os
import torch

__version__ = "2.5.1.2.11.0"


def trace(model, inputs, compiler_args=None):
    assert compiler_args == ["--auto-cast", "none"], compiler_args
    if os.environ.get("STUB_COMPILE_FAIL"):
        raise RuntimeError("neuronx-cc: ERROR: operator aten::stub is not supported")
    if os.environ.get("STUB_TRACE_LOG"):
        with open(os.environ["STUB_TRACE_LOG"], "a") as log:
            log.write("traced\\n")
    return torch.Module(model.w, on_neuron=True)
'''

ORT_SITECUSTOMIZE = '''
"""Makes ONNX Runtime claim GPU execution providers (tests only): sessions asked for CUDA or
TensorRT run on the CPU and say they ran there; STUB_ORT=cuda makes TensorRT fail to load."""
import os
import onnxruntime as _ort

_Real = _ort.InferenceSession


class InferenceSession:
    def __init__(self, path, providers=None, **kwargs):
        names = [p if isinstance(p, str) else p[0] for p in providers or []]
        trt = "TensorrtExecutionProvider" in names and os.environ.get("STUB_ORT") == "tensorrt"
        cuda = "CUDAExecutionProvider" in names
        self._device = "CUDAExecutionProvider" if cuda else None
        self._device = "TensorrtExecutionProvider" if trt else self._device
        self._session, self._built = _Real(path, providers=["CPUExecutionProvider"]), None

    def get_inputs(self):
        return self._session.get_inputs()

    def get_providers(self):
        return ([self._device] if self._device else []) + ["CPUExecutionProvider"]

    def run(self, names, feed):
        if self._device == "TensorrtExecutionProvider" and not self._built:
            self._built = [self._session.run(names, feed) for _ in range(300)]  # "the engine"
        out = self._session.run(names, feed)
        if self._device and os.environ.get("STUB_WRONG"):
            out = [o + 1.0 for o in out]
        return out


_ort.InferenceSession = InferenceSession
_ort.get_available_providers = lambda: [
    "TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"
]
'''

JAX_STUB = '''
"""jax with jax-neuronx, for tests: NumPy underneath; devices() lists NeuronDevices
(STUB_JAX_NEURON=0: CPU only), jit() and device_put() do nothing."""
import os
import numpy as np

__version__ = "0.10.0"


class Device:
    def __init__(self, platform, index):
        self.platform, self.id = platform, index

    def __repr__(self):
        name = "NeuronDevice" if self.platform == "neuron" else "CpuDevice"
        return "%s(id=%d)" % (name, self.id)


def devices(backend=None):
    if backend == "cpu" or os.environ.get("STUB_JAX_NEURON") == "0":
        return [Device("cpu", 0)]
    return [Device("neuron", 0), Device("neuron", 1)]


def device_put(value, device):
    return value


def jit(function):
    return function


class lax:
    class Precision:
        HIGHEST = "highest"

    @staticmethod
    def conv_general_dilated(x, w, strides, padding, lhs, rhs, dims, precision=None):
        assert dims == ("NCHW", "OIHW", "NCHW") and precision == "highest"
        side, out = x.shape[2], 0.0
        padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
        for i in range(3):
            for j in range(3):
                window = padded[:, :, i : i + side, j : j + side]
                out = out + np.einsum("oc,bcij->boij", w[:, :, i, j], window)
        return out


class numpy:
    maximum = staticmethod(np.maximum)

    @staticmethod
    def dot(a, b, precision=None):
        assert precision == "highest"
        return np.dot(a, b)
'''

STUBS = {
    "torch": {"torch.py": TORCH_STUB, "torch_neuronx.py": TORCH_NEURONX_STUB},
    "ort-gpu": {"sitecustomize.py": ORT_SITECUSTOMIZE},
    "jax": {"jax.py": JAX_STUB, "jax_neuronx.py": '__version__ = "0.10.0.1.0"\n'},
    "none": {},
}


def _executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def environment(root: Path, env: str, stubs: str = "none", simulated: bool = False) -> Path:
    """`root/env/bin/python3`: this interpreter, the stub modules of `stubs` first on its path;
    with `simulated`, it says on stderr that it is a stand-in (as the sandbox's do)."""
    stub_dir = root.parent / "stubs" / env.replace("/", "_")
    stub_dir.mkdir(parents=True, exist_ok=True)
    for name, text in STUBS[stubs].items():
        (stub_dir / name).write_text(text)
    say = "echo AMAZONEI-SETUP-SIMULATED >&2\n" if simulated else ""
    script = f'#!/bin/sh\n{say}PYTHONPATH="{stub_dir}" exec "{sys.executable}" "$@"\n'
    return _executable(root / env / "bin" / "python3", script)


def broken_environment(root: Path, env: str, behaviour: str) -> Path:
    """An environment whose Python crashes (a segfault's exit status) or hangs."""
    body = {
        "crash": "echo 'Segmentation fault (core dumped)' >&2\nexit 139\n",
        "hang": "exec sleep 600\n",
    }[behaviour]
    return _executable(root / env / "bin" / "python3", "#!/bin/sh\n" + body)


def torchscript_model(path: Path, rows: int = 4, columns: int = 3) -> Path:
    """A 'TorchScript' file the torch stub loads: JSON weights of a rows x columns matrix."""
    weights = [[(r + 1) * 0.5 - c * 0.25 for c in range(columns)] for r in range(rows)]
    path.write_text(json.dumps({"w": weights}))
    return path
