"""The smoke model on the accelerator: the DLAMI's own framework environments, found by probing
every Python under the root (environments.py), each running the model in its own Python as a
subprocess with a time limit (worker.py). A crash, a hang or a wrong answer is that environment's
failure and the next is tried; the answer is held to the pure-Python reference here."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys

from .environments import PROBE_S, WORKER_MARK, survey, worker_source
from .model import (
    ATOL,
    CLASSES,
    CONV_OUT,
    HIDDEN,
    INPUT_SHAPE,
    POOLED,
    RTOL,
    SHAPES,
    compare,
    cpu_baseline,
    latency_summary,
    make_input,
    make_weights,
    reference_forward,
    run_smoke_test,
    smoke_result,
)
from .probes import _tail

CACHE_ENV = "AMAZONEI_AGENT_CACHE_DIR"
FRAMEWORK_TIMEOUT_S = 90.0  # an upper bound for a first Neuron compile, not a typical run
INSTALL_HINTS = {
    "neuron": "PyTorch on Inf2/Trn1: a Neuron DLAMI of SDK 2.31 or earlier (torch-neuronx in "
    "/opt/aws_neuronx_venv_pytorch_2_9; from 2.32 it carries JAX and vLLM only) or TorchNeuron "
    "(PyTorch 2.10+); Inf1: a DLAMI of SDK 2.26 or earlier "
    "(/opt/aws_neuron_venv_pytorch_1_13_inf1)",
    "nvidia": "use the Deep Learning AMI GPU PyTorch (its PyTorch environment) or pip install a "
    "CUDA build of torch",
    "eia": "use a Deep Learning AMI (Conda) carrying the amazonei_pytorch_*, amazonei_mxnet_* or "
    "amazonei_tensorflow* environments, or install the Elastic Inference-enabled framework wheels",
}


def candidates(kind: str, instance_type: str | None = None, root: str | None = None) -> list:
    """The environments to try for `kind`, best first: [{backend, env, python}] (what each
    environment's probe answered decides; environments.py)."""
    return survey(kind, instance_type, root)[0]


def cache_dir() -> str:
    """Compiled models (Neuron) kept beside the agent, so a re-run skips the compile."""
    here = os.path.dirname(os.path.abspath(sys.argv[0] or __file__))
    return os.environ.get(CACHE_ENV) or os.path.join(here, "cache")


def _answer(stdout: str) -> dict | None:
    for line in reversed((stdout or "").splitlines()):
        if line.startswith(WORKER_MARK):
            try:
                answer = json.loads(line[len(WORKER_MARK) :])
            except ValueError:
                return None
            return answer if isinstance(answer, dict) else None
    return None


def _numbers(value: object, size: int | None = None) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and (size is None or len(value) == size)
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    )


def run_in_environment(candidate: dict, job: str, timeout: float) -> tuple:
    """(answer, outcome, reason): the worker's answer, or None with outcome unusable, crashed or
    hung. A hung worker is killed with its whole process group."""
    argv = [candidate["python"], "-c", worker_source(), candidate["backend"]]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env["PATH"] = os.path.dirname(candidate["python"]) + os.pathsep + env.get("PATH", "")
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
    except OSError as error:
        return None, "crashed", f"cannot start {candidate['python']}: {error}"
    try:
        stdout, stderr = process.communicate(job, timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:
            process.kill()
        process.communicate()
        return None, "hung", f"no answer within {timeout:g} s: killed"
    answer = _answer(stdout)
    if answer is None:
        said = _tail(stderr or stdout) or "no output"
        return None, "crashed", f"exited {process.returncode} without an answer: {said}"
    if answer.get("unusable"):
        return None, "unusable", str(answer["unusable"])[:300]
    if not answer.get("ok"):
        return None, "crashed", str(answer.get("error") or "no reason given")[:300]
    if not (_numbers(answer.get("output")) and _numbers(answer.get("samples_ms"))):
        return None, "crashed", "a malformed answer (no output or timings)"
    return answer, "ok", ""


def _job(weights: dict, x: list, runs: int, warmup: int) -> str:
    dims = {"conv": CONV_OUT, "hidden": HIDDEN, "classes": CLASSES, "pooled": POOLED}
    job = {"weights": weights, "x": x, "input_shape": list(INPUT_SHAPE), "dims": dims}
    job.update(shapes={k: list(v) for k, v in SHAPES.items()}, runs=runs, warmup=warmup)
    key = hashlib.sha256(json.dumps(job, sort_keys=True).encode()).hexdigest()[:16]
    job.update(cache=cache_dir(), key=key)
    return json.dumps(job)


def run_on_accelerator(
    kind: str, instance_type: str | None, runs: int, warmup: int, timeout: float
) -> tuple:
    """(result or None, attempts): the first environment whose answer matches the reference;
    the attempts list the environments found of no use too (outcome skipped, and why)."""
    weights, x = make_weights(), make_input()
    reference = reference_forward(weights, x)
    found, attempts = survey(kind, instance_type, timeout=min(timeout, PROBE_S))
    job = _job(weights, x, runs, warmup)
    for candidate in found:
        answer, outcome, reason = run_in_environment(candidate, job, timeout)
        if answer is not None:
            ok, error = compare(answer["output"], reference)
            if ok:
                return _accelerated(answer, candidate, error, runs, warmup, attempts), attempts
            outcome = "wrong answer"
            reason = f"differs from the reference beyond rtol {RTOL}/atol {ATOL} (max abs {error})"
        attempts.append(
            {
                "environment": candidate["env"],
                "framework": candidate["backend"],
                "outcome": outcome,
                "reason": reason,
            }
        )
    return None, attempts


def _accelerated(answer: dict, candidate: dict, error: float, runs: int, warmup: int, attempts):
    result = smoke_result(runs, warmup, attempts)
    samples = answer["samples_ms"]
    for key in ("framework", "framework_version", "device", "device_name", "load_s"):
        result[key] = answer.get(key)
    if isinstance(result["load_s"], (int, float)):
        result["load_s"] = round(result["load_s"], 3)
    result.update(ok=True, on_accelerator=True, max_abs_error=error)
    result.update(environment=candidate["env"], simulated=bool(answer.get("simulated")))
    result.update(latency_ms=latency_summary(samples), runs=len(samples))
    result["throughput_per_s"] = round(len(samples) * 1000.0 / sum(samples), 2)
    where = f"{result['framework']} in {candidate['env']} on {result['device']}"
    result["reason"] = where + " matches the reference"
    cpu, framework = answer.get("cpu_samples_ms"), answer.get("cpu_framework")
    if not _numbers(cpu):
        framework, cpu = cpu_baseline(runs, warmup, result["attempts"])
    if cpu:
        result["cpu_framework"], result["cpu_latency_ms"] = framework, latency_summary(cpu)
        accelerated = result["latency_ms"]["p50"] or 1e-9
        result["speedup"] = round(result["cpu_latency_ms"]["p50"] / accelerated, 3)
    return result


def run_smoke(kind: str, instance_type: str | None, runs: int, warmup: int, timeout: float) -> dict:
    """On the accelerator when an environment can use it, else on the CPU in this process; the
    result says which (`on_accelerator`, `device`), and `attempts` why the others did not."""
    attempts: list = []
    if kind != "none":
        result, attempts = run_on_accelerator(kind, instance_type, runs, warmup, timeout)
        if result is not None:
            return result
    return run_smoke_test(runs, warmup, attempts=attempts)
