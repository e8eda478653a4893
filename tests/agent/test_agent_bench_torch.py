"""The benchmark's PyTorch paths. torch is not installed here: without it every PyTorch model
is `not installed (torch)`; with a NumPy-backed torch stub (bench_fakes.py) in a fake DLAMI
environment, the worker's own code runs each device path (cuda:0, torch-neuronx trace and its
cache, TorchNeuron's `neuron` device from PyTorch 2.10, Elastic Inference) and each failure is
classified: wrong answer, out of accelerator memory, compile failed, unusable device."""

from __future__ import annotations

import pytest
from bench_fakes import environment, torchscript_model

from amazonei_setup.agent.bench_job import check_job
from amazonei_setup.agent.benchmark import run_job

INPUTS = [{"name": "x", "shape": [1, 4], "dtype": "float32"}]
NEURONX_ENV = "opt/aws_neuronx_venv_pytorch_2_5"


@pytest.fixture
def root(tmp_path, monkeypatch):
    machine = tmp_path / "root"
    machine.mkdir()
    monkeypatch.setenv("AMAZONEI_AGENT_ROOT", str(machine))
    monkeypatch.setenv("AMAZONEI_AGENT_CACHE_DIR", str(tmp_path / "cache"))
    for name in ("STUB_WRONG", "STUB_OOM", "STUB_CUDA", "STUB_EIA", "STUB_COMPILE_FAIL"):
        monkeypatch.delenv(name, raising=False)
    return machine


def run(tmp_path, expect: str, inputs: list | None = INPUTS, **changes) -> dict:
    path = torchscript_model(tmp_path / "model.pt")
    from amazonei_setup.agent.bench_job import sha256_file

    model = {"path": str(path), "sha256": sha256_file(str(path)), "format": "torchscript"}
    if inputs is not None:
        model["inputs"] = inputs
    job = {"model": model, "batch_sizes": [1, 8], "duration_s": 0.03, "min_queries": 10}
    job.update(step_s=0.01, warmup_queries=1, expect=expect, result_uri=str(tmp_path / "r.json"))
    job.update(changes)
    return run_job(check_job(job))


def test_without_torch_a_pytorch_model_is_not_installed(root, tmp_path):
    result = run(tmp_path, "none")
    assert (result["status"], result["outcome"]) == ("failed", "not installed")
    assert result["reason"].startswith("not installed: not installed (torch)")


def test_without_torchvision_a_builtin_workload_is_not_installed(root, tmp_path):
    job = {"model": {"uri": "builtin:resnet50"}, "expect": "none", "duration_s": 0.1}
    result = run_job(check_job(dict(job, result_uri=str(tmp_path / "r.json"))))
    assert result["outcome"] == "not installed" and "(torch)" in result["reason"]
    assert result["model"]["format"] == "builtin" and len(result["model"]["sha256"]) == 64


def test_a_torchscript_model_runs_on_cuda(root, tmp_path):
    environment(root, "opt/pytorch", "torch")
    result = run(tmp_path, "g5.xlarge")
    assert result["status"] == "ok", result["reason"]
    assert (result["device"], result["accelerator"]) == ("cuda:0", "NVIDIA A10G")
    assert result["framework"] == "pytorch 2.5.0" and result["max_abs_error"] == 0.0
    assert [row["batch_size"] for row in result["batches"]] == [1, 8]


def test_a_torchscript_model_needs_its_input_shapes(root, tmp_path):
    environment(root, "opt/pytorch", "torch")
    result = run(tmp_path, "g5.xlarge", inputs=None)
    assert result["outcome"] == "shape mismatch"
    assert "a TorchScript model carries no input shapes: give them" in result["reason"]


@pytest.mark.parametrize(
    ("switch", "outcome", "said"),
    [
        ("STUB_WRONG", "wrong answer", "the first output is not the CPU's: max abs error 1"),
        ("STUB_OOM", "out of memory", "RuntimeError: CUDA out of memory. Tried to allocate"),
    ],
)
def test_cuda_failures_are_classified(root, tmp_path, monkeypatch, switch, outcome, said):
    environment(root, "opt/pytorch", "torch")
    monkeypatch.setenv(switch, "1")
    result = run(tmp_path, "g5.xlarge")
    assert (result["status"], result["outcome"]) == ("failed", outcome)
    assert said in result["reason"]


def test_a_pytorch_without_cuda_is_an_unusable_device(root, tmp_path, monkeypatch):
    environment(root, "opt/pytorch", "torch")
    monkeypatch.setenv("STUB_CUDA", "0")
    result = run(tmp_path, "g5.xlarge")
    assert result["outcome"] == "unusable"
    assert "torch 2.5.0: CUDA is not available" in result["reason"]


def test_neuron_compiles_once_per_batch_size_and_then_uses_its_cache(root, tmp_path, monkeypatch):
    environment(root, NEURONX_ENV, "torch")
    log = tmp_path / "traces.log"
    monkeypatch.setenv("STUB_TRACE_LOG", str(log))
    first = run(tmp_path, "inf2.xlarge")
    assert first["status"] == "ok", first["reason"]
    assert (first["device"], first["accelerator"]) == ("neuron", "Inferentia2")
    assert first["framework"] == "torch-neuronx 2.5.1.2.11.0 (torch_neuronx.trace)"
    assert first["compile_s"] is not None and log.read_text().count("traced") == 2
    again = run(tmp_path, "inf2.xlarge")
    assert again["status"] == "ok" and log.read_text().count("traced") == 2  # from the cache


def test_a_model_the_neuron_compiler_cannot_place_fails_to_compile(root, tmp_path, monkeypatch):
    environment(root, NEURONX_ENV, "torch")
    monkeypatch.setenv("STUB_COMPILE_FAIL", "1")
    result = run(tmp_path, "inf2.xlarge")
    assert (result["status"], result["outcome"]) == ("failed", "compile failed")
    assert "torch_neuronx.trace: neuronx-cc: ERROR: operator aten::stub" in result["reason"]


def test_pytorch_2_10_on_neuron_uses_the_neuron_device_and_torch_compile(
    root, tmp_path, monkeypatch
):
    environment(root, "opt/aws_neuronx_venv_pytorch_2_10", "torch")
    monkeypatch.setenv("STUB_TORCH_VERSION", "2.10.0")
    result = run(tmp_path, "trn2.48xlarge")
    assert result["status"] == "ok", result["reason"]
    assert (result["device"], result["accelerator"]) == ("neuron", "Trainium2")
    assert result["compiler"] == "neuronx-cc (torch.compile backend neuron)"


def test_inf1_needs_torch_neuron(root, tmp_path):
    environment(root, "opt/aws_neuron_venv_pytorch", "torch")  # torch-neuronx's, not inf1's
    result = run(tmp_path, "inf1.xlarge")
    assert result["outcome"] == "not installed" and result["attempts"] == []  # never run
    found = "(found of no use: /opt/aws_neuron_venv_pytorch ("
    assert (
        found in result["reason"]
        and "torch_neuronx, onnxruntime): no torch-neuron" in (result["reason"])
    )


def test_elastic_inference_runs_only_on_an_ei_enabled_pytorch(root, tmp_path, monkeypatch):
    environment(root, "opt/conda/envs/amazonei_pytorch_p36", "torch")
    stock = run(tmp_path, "eia1.large")
    assert stock["outcome"] == "unusable"
    assert "torch 2.5.0 is not Elastic Inference-enabled" in stock["reason"]
    monkeypatch.setenv("STUB_EIA", "1")
    enabled = run(tmp_path, "eia1.large")
    assert enabled["status"] == "ok", enabled["reason"]
    assert (enabled["device"], enabled["accelerator"], enabled["kind"]) == (
        "eia:0",
        "eia1.large",
        "eia",
    )
