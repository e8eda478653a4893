"""Framework environments, found by asking: every Python where a DLAMI keeps one (under the root,
`AMAZONEI_AGENT_ROOT`, default `/`) runs the worker's probe (worker.py `probe KIND`) with a time
limit and says what it can import and which device it sees; the kind's table in USABLE turns
that answer into the worker backends to try there. Directory names only say where to look,
never what an environment is: the Neuron DLAMI of SDK 2.32 dropped its PyTorch venvs and kept
`aws_neuronx_venv_pytorch_inference_vllm_*`, which a name glob took for a PyTorch environment
(docs/DESIGN.md, "Neuron DLAMI environments")."""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

ROOT_ENV = "AMAZONEI_AGENT_ROOT"
WORKER_MARK = "AMAZONEI-WORKER "
WORKER_SOURCE = ""  # bundle.py puts worker.py's source here: the shipped agent is one file
PROBE_S = 60.0  # importing torch and a Neuron plugin from a cold disk, not a typical probe
# Where DLAMIs keep Pythons (globs under the root), in this order: the Neuron DLAMIs' venvs
# (aws_neuronx_venv_* for Inf2/Trn, aws_neuron_venv_* for Inf1), the GPU PyTorch DLAMI's
# /opt/pytorch, the conda environments of the older DLAMIs (the EI ones under /home first), the
# venvs Neuron's manual install guides make in a home directory (`aws_neuron_venv_pytorch`),
# conda's base, the system Python.
PLACES = (
    "opt/aws_neuron*_venv_*",
    "opt/pytorch",
    "home/*/anaconda3/envs/*",
    "opt/conda/envs/*",
    "home/*/aws_neuron*_venv_*",
    "opt/conda",
    "usr",
)
# PyTorch 2.10 and later runs on NeuronCores through TorchNeuron (PyTorch's PrivateUse1 device
# `neuron`); up to 2.9 through torch-neuronx on PyTorch/XLA (aws-neuron-sdk release notes).
NATIVE_TORCH = (2, 10)
# Preference among a kind's backends (lower first; 0 when not listed), then the newer framework.
RANK = {"neuronx": 1, "neuron": 1, "jax-neuron": 5, "mxnet-ei": 1, "tf-ei": 2}


def agent_root() -> str:
    return os.environ.get(ROOT_ENV) or "/"


def natural(text: str) -> list:
    """`pytorch_2_10` after `pytorch_2_9`."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", text) if p]


def release(text: object) -> tuple:
    """(major, minor) of a version string: `2.9.0+cpu` -> (2, 9); () when there is none."""
    found = re.match(r"(\d+)\.(\d+)", str(text or ""))
    return (int(found.group(1)), int(found.group(2))) if found else ()


def pythons(root: str) -> list:
    """[(shown path, python)] of every environment under the root, in PLACES order; under the
    real root `/` the agent's own interpreter too (a framework installed there with pip)."""
    found, seen = [], set()
    for place in PLACES:
        for env in sorted(glob.glob(os.path.join(root, place)), key=natural, reverse=True):
            names = [os.path.join(env, "bin", name) for name in ("python3", "python")]
            python = next((p for p in names if os.access(p, os.X_OK)), None)
            if python and not env.endswith("_p27") and os.path.realpath(env) not in seen:
                seen.add(os.path.realpath(env))
                found.append(("/" + os.path.relpath(env, root), python))
    if os.path.abspath(root) == "/" and os.path.realpath(sys.prefix) not in seen:
        found.append((sys.prefix, sys.executable))
    return found


def worker_source() -> str:
    if WORKER_SOURCE:
        return WORKER_SOURCE
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")) as source:
        return source.read()


def probe_python(python: str, kind: str, timeout: float) -> tuple:
    """(answer or None, outcome, why not): what this Python's probe answered within `timeout`."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env["PATH"] = os.path.dirname(python) + os.pathsep + env.get("PATH", "")
    argv = [python, "-c", worker_source(), "probe", kind]
    try:
        done = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return None, "hung", f"no answer to the probe within {timeout:g} s"
    except OSError as error:
        return None, "crashed", f"cannot start {python}: {error}"
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(WORKER_MARK):
            try:
                answer = json.loads(line[len(WORKER_MARK) :])
            except ValueError:
                break
            if isinstance(answer, dict) and isinstance(answer.get("found"), list):
                return answer, "", ""
    said = (done.stderr or done.stdout or "no output").strip()[-200:]
    return None, "crashed", f"the probe exited {done.returncode} without an answer: {said}"


def _torch(answer: dict) -> str:
    return f"torch {answer.get('torch')}"


def neuron_backends(family: str, answer: dict) -> tuple:
    """Inf1: torch-neuron only (NeuronCore v1). Others: TorchNeuron where torch is 2.10+ or
    its PrivateUse1 device is `neuron` and PyTorch sees one; torch-neuronx (XLA) below 2.10;
    JAX NeuronX where JAX sees a `neuron` device."""
    found, usable, why = set(answer["found"]), [], []
    if family == "inf1":
        return (["neuron"], "") if "torch_neuron" in found else ([], "no torch-neuron")
    torch = "torch" in found and "torch_neuronx" in found
    native = answer.get("torch_device") == "neuron" or release(answer.get("torch")) >= NATIVE_TORCH
    if torch and native and answer.get("neuron_devices") == 0:
        why.append(_torch(answer) + " (TorchNeuron) sees no neuron device")
    elif torch:
        usable.append("torchneuron" if native else "neuronx")
    if "jax_neuronx" in found and "neuron" in (answer.get("jax_platforms") or ()):
        usable.append("jax-neuron")
    elif "jax_neuronx" in found:
        why.append(f"jax {answer.get('jax')} sees no neuron device")
    return usable, "; ".join(why) or "no torch-neuronx, TorchNeuron or jax-neuronx"


def nvidia_backends(family: str, answer: dict) -> tuple:
    """torch (the smoke test, PyTorch models) or onnxruntime (ONNX models). A torch that says
    CUDA is not available is still tried, last: the worker's answer tells why."""
    ok = {"torch", "onnxruntime"} & set(answer["found"])
    return (["cuda"], "") if ok else ([], "neither torch nor onnxruntime")


def eia_backends(family: str, answer: dict) -> tuple:
    """Every framework an EI build of which may be there; the worker tells EI from stock."""
    pairs = (("torch", "pytorch-ei"), ("mxnet", "mxnet-ei"), ("tensorflow", "tf-ei"))
    usable = [backend for module, backend in pairs if module in answer["found"]]
    return usable, "" if usable else "no torch, mxnet or tensorflow"


def cpu_backends(family: str, answer: dict) -> tuple:
    if {"torch", "onnxruntime"} & set(answer["found"]):
        return ["cpu"], ""
    return [], "neither torch nor onnxruntime"


# The backends an environment offers, per kind (bundle.py keeps only the agent's kind).
USABLE = {
    "neuron": neuron_backends,
    "nvidia": nvidia_backends,
    "eia": eia_backends,
    "cpu": cpu_backends,
}


def survey(
    kind: str, instance_type: str | None = None, root: str | None = None, timeout: float = PROBE_S
) -> tuple:
    """(candidates, skipped): [{backend, env, python}] to try for `kind` (neuron, nvidia, eia,
    none), best first, and [{environment, framework, outcome, reason}] for the environments found
    but of no use (another framework, no device, a probe that crashed or hung)."""
    root, family = root or agent_root(), (instance_type or "").split(".")[0]
    kind = "cpu" if kind == "none" else kind
    found = pythons(root)
    with ThreadPoolExecutor(max(1, min(8, len(found)))) as pool:
        answers = list(pool.map(lambda pair: probe_python(pair[1], kind, timeout), found))
    ranked, skipped = [], []
    pairs = enumerate(zip(found, answers))  # noqa: B905 (the agent runs on Python 3.8)
    for order, ((env, python), (answer, outcome, failure)) in pairs:
        if answer is None:
            skipped.append({"environment": env, "framework": "probe", "outcome": outcome})
            skipped[-1]["reason"] = failure
            continue
        usable, why = USABLE[kind](family, answer)
        if not usable:
            framework = ", ".join(answer["found"]) or "no framework"
            skipped.append({"environment": env, "framework": framework, "outcome": "skipped"})
            skipped[-1]["reason"] = (why + "; " + answer.get("error", "")).strip("; ")[:300]
        version = [-v for v in release(answer.get("torch") or answer.get("jax"))]
        serving = "vllm" in answer["found"] or answer.get("cuda") is False  # last resorts
        named = kind == "eia" and "amazonei" not in env  # the EI conda envs' own names first
        for backend in usable:
            # equals otherwise, a DLAMI's plain framework venv before its NxD variants
            key = (RANK.get(backend, 0), serving, named, version, "_nxd" in env, order)
            ranked.append((key, {"backend": backend, "env": env, "python": python}))
    ranked.sort(key=lambda pair: pair[0])
    return [candidate for _, candidate in ranked], skipped
