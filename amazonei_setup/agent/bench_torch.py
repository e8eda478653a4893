"""The benchmark worker's PyTorch paths: a TorchScript `.pt` (torch.jit.load), a torch.export
`.pt2` (torch.export.load) or a built-in workload (torchvision's ResNet-50/152, a BERT-base
encoder from transformers' BertConfig defaults, seeded random weights, nothing downloaded), run
on cpu, cuda:0, Neuron (torch-neuronx trace up to PyTorch 2.9; TorchNeuron's `neuron` device
with torch.compile from 2.10, the torchneuron backend; torch-neuron on inf1; compiled once per
batch size and cached by the model's SHA-256) or Elastic Inference (eia:0). Python 3.6 syntax."""

import os
import time

from .bench_inputs import Failure, given_only, make_inputs, merge_given, precision_of

BUILTINS = ("resnet50", "resnet152", "bert-base")
BERT_SEQUENCE = 128
# Neuron compilers keep float32 (their defaults cast matrix multiplies to bf16 / fp16): the
# answer is then held to the fp32 tolerance like every other device.
NEURON_ARGS = {"torch_neuronx": ["--auto-cast", "none"], "torch_neuron": ["--fast-math", "none"]}
# Neuron's PyTorch 2.10 and later is TorchNeuron (aws-neuron-sdk: "Announcing Transition to
# PyTorch Native Support", frameworks/torch/pytorch-native-overview.rst): the same package name
# torch_neuronx, registered as PyTorch's PrivateUse1 device `neuron`, eager or
# torch.compile(backend="neuron"), Trn2/Trn3 only; up to 2.9 it is torch-neuronx on PyTorch/XLA
# with torch_neuronx.trace (Inf2, Trn1, Trn2).
NATIVE_NEURON = (2, 10)


def version_tuple(text: str) -> "tuple":
    parts = []
    for piece in str(text).split("+")[0].split(".")[:2]:
        digits = ""
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        parts.append(int(digits or 0))
    return tuple(parts)


def native_neuron(torch) -> bool:
    """Whether this PyTorch is TorchNeuron (its PrivateUse1 backend is named `neuron`)."""
    if version_tuple(torch.__version__) >= NATIVE_NEURON:
        return True
    try:
        return torch._C._get_privateuse1_backend_name() == "neuron"
    except Exception:  # an older torch has no such call
        return False


def builtin(torch, name: str) -> "tuple":
    """(model, input specs) of a built-in workload, its weights drawn from a fixed seed."""
    torch.manual_seed(0)
    if name in ("resnet50", "resnet152"):
        import torchvision

        make = getattr(torchvision.models, name)
        try:
            model = make(weights=None)
        except TypeError:  # torchvision before 0.13
            model = make(pretrained=False)
        return model, [{"name": "image", "shape": [None, 3, 224, 224], "dtype": "float32"}]
    if name == "bert-base":
        import transformers

        model = transformers.BertModel(transformers.BertConfig(torchscript=True))
        specs = [
            {"name": "input_ids", "shape": [None, BERT_SEQUENCE], "dtype": "int64"},
            {"name": "attention_mask", "shape": [None, BERT_SEQUENCE], "dtype": "int64"},
        ]
        return model, specs
    known = ", ".join(BUILTINS)
    raise Failure("bad model", f"no built-in workload {name!r} (known: {known})")


def export_specs(program) -> "list":
    """The user inputs of an ExportedProgram, from their example values' shapes and dtypes."""
    user, specs = set(program.graph_signature.user_inputs), []
    for node in program.graph.nodes:
        if node.op == "placeholder" and node.name in user:
            value = node.meta.get("val")
            shape = [d if isinstance(d, int) else None for d in value.shape]
            dtype = str(value.dtype).replace("torch.", "")
            specs.append({"name": node.name, "shape": shape, "dtype": dtype, "dtype_fixed": True})
    return specs


def load(torch, job: "dict") -> "tuple":
    """(model in eval mode on the CPU, input specs)."""
    model_job, given = job["model"], job["model"].get("inputs")
    form = model_job["format"]
    if form == "builtin":
        model, specs = builtin(torch, model_job["builtin"])
        return model.eval(), merge_given(specs, given)
    try:
        if form == "torchscript":
            model = torch.jit.load(model_job["path"], map_location="cpu")
            return model.eval(), given_only(given, "a TorchScript model")
        program = torch.export.load(model_job["path"])
        specs = merge_given(export_specs(program), given)
        return program.module(), specs  # an exported module refuses .eval(): it is already
    except (Failure, ImportError):
        raise
    except Exception as error:
        raise Failure("bad model", f"PyTorch cannot load the model: {error}") from None


def host_outputs(torch, out) -> "list":
    """Every output tensor, copied to host memory (which also waits for the device)."""
    if isinstance(out, torch.Tensor):
        return [out.cpu()]
    if isinstance(out, dict):
        values = list(out.values())
    elif hasattr(out, "to_tuple"):
        values = list(out.to_tuple())
    elif isinstance(out, (list, tuple)):
        values = list(out)
    else:
        return []
    flat = []
    for value in values:
        flat.extend(host_outputs(torch, value))
    return flat


def _tensors(torch, np, specs: "list", batch_size: int) -> "list":
    tensors = []
    arrays = make_inputs(np, specs, batch_size)
    for spec, array in zip(specs, arrays):  # noqa: B905 (Python 3.6 has no strict=)
        tensor = torch.from_numpy(array)
        tensors.append(tensor.to(torch.bfloat16) if spec["dtype"] == "bfloat16" else tensor)
    return tensors


def traced(torch, module, model, tensors: "list", job: "dict", batch_size: int) -> "tuple":
    """(compiled model, compile seconds): traced for the NeuronCores by torch-neuronx or
    torch-neuron once per batch size, then loaded from the agent's cache."""
    version = getattr(module, "__version__", torch.__version__)
    shapes = "-".join("x".join(str(d) for d in t.shape) for t in tensors)
    key = f"{module.__name__}-{version}-{job['model']['sha256'][:16]}-{shapes}.pt"
    path = os.path.join(job["cache"], key)
    if os.path.exists(path):
        return torch.jit.load(path), 0.0
    began = time.perf_counter()
    args = NEURON_ARGS[module.__name__]
    try:
        if module.__name__ == "torch_neuronx":
            compiled = module.trace(model, tuple(tensors), compiler_args=args)
        else:
            compiled = torch.neuron.trace(model, example_inputs=tensors, compiler_args=args)
    except Exception as error:
        raise Failure("compile failed", f"{module.__name__}.trace: {error}") from None
    seconds = time.perf_counter() - began
    os.makedirs(job["cache"], exist_ok=True)
    torch.jit.save(compiled, path)
    return compiled, seconds


def eia_options(torch) -> "tuple":
    """Elastic Inference PyTorch: optimized_execution on eia:0 (1.3.1) or attach_eia (1.5.1);
    a stock PyTorch refuses both."""
    options = () if hasattr(torch.jit, "attach_eia") else ({"target_device": "eia:0"},)
    try:
        torch.jit.optimized_execution(True, *options)
    except TypeError:
        raise Failure(
            "unusable", f"torch {torch.__version__} is not Elastic Inference-enabled"
        ) from None
    return options


def torch_backend(job: "dict", backend: str, np) -> "dict":
    """The runner for a PyTorch model: {info, specs, reference(batch), device(batch)}."""
    if backend in ("neuronx", "neuron", "torchneuron"):  # before torch: read at import
        cache = os.path.join(job["cache"], "neuron-compile-cache")
        os.environ.setdefault("NEURON_COMPILE_CACHE_URL", cache)
        flags = os.environ.get("NEURON_CC_FLAGS", "")
        if backend == "torchneuron" and "--auto-cast" not in flags:  # fp32, as for trace
            os.environ["NEURON_CC_FLAGS"] = (flags + " --auto-cast none").strip()
    import torch

    if backend in ("mxnet-ei", "tf-ei"):
        raise Failure("unusable", f"the benchmark runs ONNX and PyTorch models, not on {backend}")
    info = {"framework_name": "pytorch", "framework_version": torch.__version__, "device": "cpu"}
    info.update(compiler=None, lazy_compile=False)
    model, specs = load(torch, job)
    info["precision"] = precision_of(specs[0]["dtype"]) if specs else "fp32"
    module, on = None, None
    if backend == "cuda":
        if not torch.cuda.is_available():
            raise Failure("unusable", f"torch {torch.__version__}: CUDA is not available")
        torch.backends.cudnn.allow_tf32 = False  # the fp32 answer is checked against the CPU
        torch.backends.cuda.matmul.allow_tf32 = False
        info.update(device="cuda:0", device_name=torch.cuda.get_device_name(0))
        on = "cuda:0"
    elif backend == "torchneuron" or (backend == "neuronx" and native_neuron(torch)):
        module = __import__("torch_neuronx")  # autoloaded by torch already; named for its version
        info.update(framework_name="torchneuron", device="neuron", lazy_compile=True)
        info.update(framework_version=getattr(module, "__version__", torch.__version__))
        info.update(compiler="neuronx-cc (torch.compile backend neuron)", device_name="NeuronCore")
        on = "neuron"
    elif backend in ("neuronx", "neuron"):
        module = __import__("torch_neuronx" if backend == "neuronx" else "torch_neuron")
        info.update(framework_name=module.__name__.replace("_", "-"), device="neuron")
        info.update(framework_version=getattr(module, "__version__", torch.__version__))
        info.update(compiler=f"{module.__name__}.trace", device_name="NeuronCore")
    elif backend == "pytorch-ei":
        options = eia_options(torch)
        info.update(framework_name="pytorch-ei", device="eia:0", device_name="eia:0")
    elif backend != "cpu":
        raise Failure("unusable", f"no PyTorch path for the {backend} backend")
    state = {"moved": False, "compiled": None}

    def reference(batch_size):
        with torch.no_grad():
            tensors = _tensors(torch, np, specs, batch_size)
            return host_outputs(torch, model(*tensors))[0].float().numpy()

    def device(batch_size):
        tensors = _tensors(torch, np, specs, batch_size)
        if on is not None and not state["moved"]:
            model.to(on)
            state["moved"] = True
            if on == "neuron":
                state["compiled"] = torch.compile(model, backend="neuron")
        runnable, seconds = state["compiled"] or model, 0.0
        if module is not None and on is None:
            runnable, seconds = traced(torch, module, model, tensors, job, batch_size)
        if backend == "pytorch-ei":
            runnable = model if isinstance(model, torch.jit.ScriptModule) else None
            runnable = runnable or torch.jit.trace(model, tuple(tensors))
            if hasattr(torch.jit, "attach_eia"):  # Elastic Inference PyTorch 1.5.1
                runnable = torch.jit.attach_eia(runnable, 0)

            def run():
                with torch.no_grad(), torch.jit.optimized_execution(True, *options):
                    return host_outputs(torch, runnable(*tensors))

            return run, seconds

        def run():
            with torch.no_grad():
                if on is None:
                    return host_outputs(torch, runnable(*tensors))
                return host_outputs(torch, runnable(*[t.to(on) for t in tensors]))

        return run, seconds

    def first(outputs):
        return outputs[0].float().numpy()

    return {"info": info, "specs": specs, "reference": reference, "device": device, "first": first}
