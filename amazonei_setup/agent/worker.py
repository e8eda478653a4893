"""Runs the smoke model inside ONE framework environment (a DLAMI venv or conda env) and prints its
answer and timings. The agent runs it as `<env>/bin/python -c <this source> <backend>` with the
job (weights, input, runs) as JSON on stdin, and checks the answer against its own reference;
as `... probe <kind>` it says what the environment can import and which device it sees.
Python 3.6 syntax and standard library only at import time: the Elastic Inference conda
environments are Python 3.6, and nothing of the agent's package is importable there."""

import json
import os
import sys
import time

MARK = "AMAZONEI-WORKER "


class Unusable(Exception):
    """The framework is installed but cannot use the accelerator here."""


def timed(run, runs, warmup):
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000.0)
    return samples


def torch_model(torch, job):
    d, w, nn = job["dims"], job["weights"], torch.nn
    model = nn.Sequential(
        nn.Conv2d(job["input_shape"][0], d["conv"], 3, padding=1),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(d["pooled"], d["hidden"]),
        nn.ReLU(),
        nn.Linear(d["hidden"], d["classes"]),
    )
    with torch.no_grad():
        for index, name in ((0, "conv"), (4, "fc1"), (6, "fc2")):
            layer = model[index]
            layer.weight.copy_(torch.tensor(w[name + "_w"]).reshape(layer.weight.shape))
            layer.bias.copy_(torch.tensor(w[name + "_b"]))
    data = torch.tensor(job["x"], dtype=torch.float32).reshape([1] + job["input_shape"])
    return model.eval(), data


def torch_runner(torch, model, data):
    def run():
        with torch.no_grad():
            return model(data).cpu().reshape(-1).tolist()

    return run


def neuron(job, x_name):
    """torch-neuronx (inf2, trn1) or torch-neuron (inf1): the model traced and compiled for the
    NeuronCores in float32, the compiled model cached in the agent's directory."""
    import torch

    module = __import__(x_name)
    model, data = torch_model(torch, job)
    version = getattr(module, "__version__", torch.__version__)
    cache = os.path.join(job["cache"], f"{x_name}-{version}-{job['key']}.pt")
    if os.path.exists(cache):
        compiled = torch.jit.load(cache)
    else:
        if x_name == "torch_neuronx":
            compiled = module.trace(model, data, compiler_args=["--auto-cast", "none"])
        else:
            args = ["--fast-math", "none"]
            compiled = torch.neuron.trace(model, example_inputs=[data], compiler_args=args)
        os.makedirs(job["cache"], exist_ok=True)
        torch.jit.save(compiled, cache)
    name = x_name.replace("_", "-")
    info = {"framework": name, "framework_version": version, "device": "neuron"}
    info["device_name"] = "NeuronCore"
    return info, torch_runner(torch, compiled, data), torch_runner(torch, model, data), "pytorch"


def torchneuron(job):
    """TorchNeuron (PyTorch 2.10 and later): the model moved to PyTorch's `neuron` device and
    compiled by torch.compile's `neuron` backend (Neuron's "Native PyTorch" guide), float32 kept
    (--auto-cast none, as for torch_neuronx.trace), compiled graphs in the agent's cache."""
    flags = os.environ.get("NEURON_CC_FLAGS", "")
    if "--auto-cast" not in flags:
        os.environ["NEURON_CC_FLAGS"] = (flags + " --auto-cast none").strip()
    os.environ.setdefault("NEURON_COMPILE_CACHE_URL", os.path.join(job["cache"], "neuron"))
    import torch

    model, data = torch_model(torch, job)
    cpu_model, cpu_data = torch_model(torch, job)
    compiled = torch.compile(model.to("neuron"), backend="neuron")
    on_device = data.to("neuron")

    def run():
        with torch.no_grad():
            return compiled(on_device).cpu().reshape(-1).tolist()

    try:
        version = __import__("torch_neuronx").__version__
    except Exception:  # autoloaded by torch; the version is a courtesy
        version = torch.__version__
    info = {"framework": "torchneuron", "framework_version": version, "device": "neuron"}
    info["device_name"] = "NeuronCore"
    return info, run, torch_runner(torch, cpu_model, cpu_data), "pytorch"


def jax_neuron(job):
    """JAX NeuronX (the DLAMI's aws_neuronx_venv_jax_*; from SDK 2.32 its only framework for
    Inf2/Trn1 besides vLLM): the model jit-compiled for the first NeuronDevice, float32 kept;
    the CPU baseline is the same function on JAX's CPU device."""
    flags = os.environ.get("NEURON_CC_FLAGS", "")
    if "--auto-cast" not in flags:
        os.environ["NEURON_CC_FLAGS"] = (flags + " --auto-cast none").strip()
    import jax
    import numpy as np

    devices = [d for d in jax.devices() if d.platform == "neuron"]
    if not devices:
        raise Unusable(f"jax {jax.__version__} sees no neuron device")
    lax, jnp, best = jax.lax, jax.numpy, jax.lax.Precision.HIGHEST
    shapes, d = job["shapes"], job["dims"]
    w = dict(
        (k, np.array(v, np.float32).reshape(shapes.get(k, [-1]))) for k, v in job["weights"].items()
    )
    x = np.array(job["x"], np.float32).reshape([1] + job["input_shape"])

    def forward(w, x):
        dims = ("NCHW", "OIHW", "NCHW")
        h = lax.conv_general_dilated(
            x, w["conv_w"], (1, 1), [(1, 1), (1, 1)], None, None, dims, precision=best
        )
        h = jnp.maximum(h + w["conv_b"][None, :, None, None], 0.0)
        side = job["input_shape"][1] // 2
        h = h.reshape(1, d["conv"], side, 2, side, 2).mean(axis=(3, 5)).reshape(1, -1)
        h = jnp.maximum(jnp.dot(h, w["fc1_w"].T, precision=best) + w["fc1_b"], 0.0)
        return jnp.dot(h, w["fc2_w"].T, precision=best) + w["fc2_b"]

    compiled = jax.jit(forward)

    def runner(device):
        args = jax.device_put((w, x), device)
        return lambda: np.asarray(compiled(*args)).reshape(-1).tolist()

    info = {"framework": "jax-neuronx", "framework_version": jax.__version__, "device": "neuron"}
    info["device_name"] = str(devices[0])
    try:
        cpu = runner(jax.devices("cpu")[0])
    except Exception:  # no CPU platform (JAX_PLATFORMS): the agent times its own baseline
        cpu = None
    return info, runner(devices[0]), cpu, "jax"


def cuda(job):
    import torch

    if not torch.cuda.is_available():
        raise Unusable(f"torch {torch.__version__}: CUDA is not available")
    try:  # TF32 would round beyond the float32 tolerance
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    except AttributeError:
        pass
    model, data = torch_model(torch, job)
    on_gpu = torch_runner(torch, model.cuda(), data.cuda())
    cpu_model, cpu_data = torch_model(torch, job)
    info = {"framework": "pytorch", "framework_version": torch.__version__, "device": "cuda:0"}
    info["device_name"] = torch.cuda.get_device_name(0)
    return info, on_gpu, torch_runner(torch, cpu_model, cpu_data), "pytorch"


def pytorch_ei(job):
    """Elastic Inference PyTorch: TorchScript run under optimized_execution on eia:0 (1.3.1), or
    attached with torch.jit.attach_eia (1.5.1). A stock PyTorch refuses both."""
    import torch

    model, data = torch_model(torch, job)
    traced = torch.jit.trace(model, data)
    if hasattr(torch.jit, "attach_eia"):
        traced, options = torch.jit.attach_eia(traced, 0), ()
    else:
        options = ({"target_device": "eia:0"},)
    try:
        torch.jit.optimized_execution(True, *options)
    except TypeError:
        raise Unusable(f"torch {torch.__version__} is not Elastic Inference-enabled") from None

    def run():
        with torch.no_grad(), torch.jit.optimized_execution(True, *options):
            return traced(data).reshape(-1).tolist()

    info = {"framework": "pytorch-ei", "framework_version": torch.__version__}
    info.update(device="eia:0", device_name="eia:0")
    return info, run, torch_runner(torch, model, data), "pytorch"


def mxnet_net(mx, np, job, ctx):
    from mxnet.gluon import nn

    d, w = job["dims"], job["weights"]
    net = nn.HybridSequential()
    net.add(
        nn.Conv2D(d["conv"], 3, padding=1, in_channels=job["input_shape"][0]),
        nn.Activation("relu"),
        nn.AvgPool2D(2),
        nn.Flatten(),
        nn.Dense(d["hidden"], activation="relu", in_units=d["pooled"]),
        nn.Dense(d["classes"], in_units=d["hidden"]),
    )
    net.initialize(ctx=mx.cpu())
    for index, name in ((0, "conv"), (4, "fc1"), (5, "fc2")):
        shape = job["shapes"].get(name + "_w")
        net[index].weight.set_data(mx.nd.array(np.array(w[name + "_w"]).reshape(shape)))
        net[index].bias.set_data(mx.nd.array(w[name + "_b"]))
    if ctx is not None:
        net.collect_params().reset_ctx(ctx)
    return net


def mxnet_ei(job):
    """MXNet EI: 1.7+ partitions for the EIA back end (eimx); 1.5.1 and earlier bind to mx.eia()."""
    import mxnet as mx
    import numpy as np

    data = mx.nd.array(np.array(job["x"], np.float32).reshape([1] + job["input_shape"]))
    try:
        import eimx  # noqa: F401

        net = mxnet_net(mx, np, job, None)
        net.hybridize(backend="EIA", static_alloc=True, static_shape=True)
    except ImportError:
        if not hasattr(mx, "eia"):
            raise Unusable(f"mxnet {mx.__version__} has no Elastic Inference (mx.eia)") from None
        net = mxnet_net(mx, np, job, mx.eia())
        net.hybridize(static_alloc=True, static_shape=True)
    cpu_net = mxnet_net(mx, np, job, None)
    cpu_net.hybridize()
    info = {"framework": "mxnet-ei", "framework_version": mx.__version__, "device": "eia:0"}
    info["device_name"] = "eia:0"
    ei = lambda: net(data).asnumpy().reshape(-1).tolist()  # noqa: E731
    return info, ei, lambda: cpu_net(data).asnumpy().reshape(-1).tolist(), "mxnet"


def tf_ei(job):
    """TensorFlow EI, the 2019 workshop's way: a SavedModel run by EIPredictor with use_ei on
    (the accelerator) and off (the CPU baseline)."""
    import tempfile

    import numpy as np
    import tensorflow as tf

    try:
        from ei_for_tf.python.predictor.ei_predictor import EIPredictor
    except ImportError:
        try:
            from tensorflow.contrib.ei.python.predictor.ei_predictor import EIPredictor
        except ImportError:
            raise Unusable(f"tensorflow {tf.__version__} has no EIPredictor") from None
    v1 = tf.compat.v1 if hasattr(tf, "compat") else tf
    shapes = job["shapes"]
    arrays = {
        k: np.array(v, np.float32).reshape(shapes.get(k, [-1])) for k, v in job["weights"].items()
    }
    os.makedirs(job["cache"], exist_ok=True)
    folder = os.path.join(tempfile.mkdtemp(dir=job["cache"]), "model")
    graph = v1.Graph()
    with graph.as_default():
        x = v1.placeholder(v1.float32, [1] + job["input_shape"], name="x")
        h = v1.transpose(x, [0, 2, 3, 1])
        kernel = v1.constant(arrays["conv_w"].transpose(2, 3, 1, 0))
        h = v1.nn.relu(v1.nn.conv2d(h, kernel, [1, 1, 1, 1], "SAME") + arrays["conv_b"])
        h = v1.nn.avg_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
        h = v1.reshape(v1.transpose(h, [0, 3, 1, 2]), [1, -1])
        h = v1.nn.relu(v1.matmul(h, arrays["fc1_w"].T) + arrays["fc1_b"])
        y = v1.identity(v1.matmul(h, arrays["fc2_w"].T) + arrays["fc2_b"], name="y")
        with v1.Session(graph=graph) as session:
            v1.saved_model.simple_save(session, folder, {"x": x}, {"y": y})
    feed = {"x": np.array(job["x"], np.float32).reshape([1] + job["input_shape"])}
    names = {"input_names": {"x": "x:0"}, "output_names": {"y": "y:0"}}
    on = EIPredictor(model_dir=folder, use_ei=True, accelerator_id=0, **names)
    off = EIPredictor(model_dir=folder, use_ei=False, **names)
    info = {"framework": "tensorflow-ei", "framework_version": tf.__version__, "device": "eia:0"}
    info["device_name"] = "eia:0"
    return (
        info,
        lambda: on(feed)["y"].reshape(-1).tolist(),
        lambda: off(feed)["y"].reshape(-1).tolist(),
        "tensorflow",
    )


PROBED = (
    "torch",
    "torch_neuronx",
    "torch_neuron",
    "jax_neuronx",
    "vllm",
    "onnxruntime",
    "mxnet",
    "tensorflow",
)


def ask_neuron(answer):
    """torch's version, the PrivateUse1 device TorchNeuron registers as `neuron` and how many
    PyTorch sees; the Neuron packages' versions; the platforms of JAX's devices."""
    found = answer["found"]
    if "torch" in found:
        import torch

        answer["torch"] = torch.__version__
        ask = getattr(getattr(torch, "_C", None), "_get_privateuse1_backend_name", None)
        name = ask() if ask else None
        answer["torch_device"] = name
        if name == "neuron":
            answer["neuron_devices"] = torch.accelerator.device_count()
        for module in ("torch_neuronx", "torch_neuron"):
            if module in found:
                answer[module] = str(getattr(__import__(module), "__version__", "?"))
    if "jax_neuronx" in found:
        import jax

        answer["jax"] = jax.__version__
        answer["jax_platforms"] = sorted(set(d.platform for d in jax.devices()))


def ask_nvidia(answer):
    if "torch" in answer["found"]:
        import torch

        answer["torch"], answer["cuda"] = torch.__version__, torch.cuda.is_available()


ASKS = {"neuron": ask_neuron, "nvidia": ask_nvidia}


def probe(kind):
    """What this Python can import and which device it sees, for the agent to pick the backends
    to run here (environments.py), never from the directory's name. It imports a framework
    only to ask its version and device, and only for the kind asked."""
    import importlib.util

    found = [name for name in PROBED if importlib.util.find_spec(name) is not None]
    answer = {"python": sys.version.split()[0], "found": found}
    try:
        ASKS.get(kind, len)(answer)
    except Exception as error:  # installed but broken: the agent says so
        answer["error"] = f"{type(error).__name__}: {error}"[:300]
    return answer


BACKENDS = {
    "neuronx": lambda job: neuron(job, "torch_neuronx"),
    "neuron": lambda job: neuron(job, "torch_neuron"),
    "torchneuron": torchneuron,
    "jax-neuron": jax_neuron,
    "cuda": cuda,
    "pytorch-ei": pytorch_ei,
    "mxnet-ei": mxnet_ei,
    "tf-ei": tf_ei,
}


def work(backend, job):
    """The answer for one job: on the accelerator, then the same model on the CPU."""
    start = time.perf_counter()
    try:
        info, run, cpu_run, cpu_framework = BACKENDS[backend](job)
        output = run()  # the first call: a lazy compile or load belongs to load_s
    except ImportError as error:
        return {"ok": False, "unusable": "not installed (%s)" % (error.name or error)}
    except Unusable as error:
        return {"ok": False, "unusable": str(error)}
    info.update(ok=True, output=output, load_s=round(time.perf_counter() - start, 3))
    info["samples_ms"] = timed(run, job["runs"], job["warmup"])
    try:
        info["cpu_samples_ms"] = timed(cpu_run, job["runs"], job["warmup"])
        info["cpu_framework"] = cpu_framework
    except Exception as error:  # the accelerator's numbers stand without a baseline
        info["cpu_error"] = f"{type(error).__name__}: {error}"
    return info


def main():
    if sys.argv[1] == "probe":  # `probe KIND`: no job on stdin
        sys.stdout.write("\n" + MARK + json.dumps(probe(sys.argv[2])) + "\n")
        return
    job = json.loads(sys.stdin.read())
    try:
        answer = work(sys.argv[1], job)
    except Exception as error:  # a broken framework: the agent reports it and tries the next
        answer = {"ok": False, "error": (f"{type(error).__name__}: {error}")[:400]}
    sys.stdout.write("\n" + MARK + json.dumps(answer) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
