"""The Neuron DLAMIs as they are laid out, release by release (the sandbox's
dlami_releases.NEURON_LAYOUTS, from the Neuron DLAMI guide): the agent probes every environment
and runs the smoke model on `neuron` in each layout, through whatever that release carries for
the family: torch-neuron on Inf1 (SDK 2.26), torch-neuronx (XLA) up to SDK 2.31, JAX NeuronX
on Inf2/Trn1 from SDK 2.32 (no PyTorch environment is published but vLLM's), TorchNeuron
(PyTorch 2.10+) where it sees NeuronCores. The vLLM and JAX environments are never taken for
PyTorch."""

from __future__ import annotations

import json

import pytest
from bench_fakes import environment, torchscript_model

from amazonei_sandbox.dlami_releases import neuron_layout
from amazonei_sandbox.fake_tools import environments_for
from amazonei_setup.agent.bench_job import check_job, sha256_file
from amazonei_setup.agent.benchmark import run_job
from amazonei_setup.agent.cli import main

ARGS = ["--json", "--runs", "3", "--warmup", "0", "--framework-timeout", "5"]
VLLM_0_24 = "/opt/aws_neuronx_venv_pytorch_inference_vllm_0_24_0_1_1_0"


@pytest.fixture
def dlami(tools, fake_imds, samples, monkeypatch):
    """dlami(instance_type, sdk): that instance's IMDS, neuron-ls and /dev, and the framework
    environments of the Neuron DLAMI of `sdk` (None: none) laid out under the fake root."""

    def make(instance_type: str, sdk: str | None) -> list[tuple[str, str]]:
        imds = fake_imds(samples.metadata(instance_type))
        monkeypatch.setenv("AMAZONEI_AGENT_IMDS_ENDPOINT", imds.url)
        tools.neuron_ls(samples.inf1 if instance_type.startswith("inf1") else samples.inf2)
        tools.neuron_devices(1)
        layout = environments_for(instance_type, neuron_sdk=sdk) if sdk else []
        for env, key in layout:
            tools.framework(key, env=env)
        return layout

    return make


def agent(capsys, *argv: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*ARGS, *argv])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("instance_type", "sdk", "framework", "environment"),
    [
        ("inf1.xlarge", "2.26.0", "torch-neuron", "/opt/aws_neuron_venv_pytorch_1_13_inf1"),
        ("inf2.xlarge", "2.26.0", "torch-neuronx", "/opt/aws_neuronx_venv_pytorch_2_8"),
        ("inf2.xlarge", "2.31.0", "torch-neuronx", "/opt/aws_neuronx_venv_pytorch_2_9"),
        ("trn1.2xlarge", "2.31.0", "torch-neuronx", "/opt/aws_neuronx_venv_pytorch_2_9"),
        ("inf2.xlarge", "2.32.0", "jax-neuronx", "/opt/aws_neuronx_venv_jax_0_10"),
        ("trn1.2xlarge", "2.34.0", "jax-neuronx", "/opt/aws_neuronx_venv_jax_0_10"),
        ("trn2.3xlarge", "2.32.0", "torchneuron", VLLM_0_24),
    ],
)
def test_the_model_runs_on_neuron_in_every_dlami_layout(
    instance_type, sdk, framework, environment, dlami, capsys
):
    dlami(instance_type, sdk)
    code, report = agent(capsys, "--expect", instance_type)
    smoke = report["smoke_test"]
    assert code == 0 and report["status"] == "passed", report["reason"]
    assert (smoke["device"], smoke["on_accelerator"]) == ("neuron", True)
    assert (smoke["framework"], smoke["environment"]) == (framework, environment)
    ran = [a for a in smoke["attempts"] if a["outcome"] != "skipped"]
    assert ran == []  # the first environment tried ran it: the probe chose well


def test_on_todays_dlami_the_vllm_environment_is_never_taken_for_pytorch(dlami, capsys):
    """SDK 2.32 on Inf2: vLLM's torch 2.11 (TorchNeuron) sees no NeuronCore there, so the
    smoke test runs in JAX, never in the vLLM environment, and says why it passed it by."""
    layout = dlami("inf2.xlarge", "2.32.0")
    assert [env for env, _ in layout] == [
        "opt/aws_neuronx_venv_jax_0_10",
        "opt/aws_neuronx_venv_pytorch_inference_vllm_0_24_0_1_1_0",
    ]  # the guide's list for 2.32.0 (deploy/environments/dlami.rst)
    code, report = agent(capsys, "--expect", "inf2.xlarge")
    assert code == 0 and report["smoke_test"]["framework"] == "jax-neuronx"
    [vllm] = [a for a in report["smoke_test"]["attempts"] if a["environment"] == VLLM_0_24]
    assert vllm["outcome"] == "skipped" and vllm["framework"] == "torch, torch_neuronx, vllm"
    assert vllm["reason"] == "torch 2.11.0 (TorchNeuron) sees no neuron device"


def test_a_general_pytorch_venv_comes_before_vllms_and_nxds(dlami, capsys):
    """SDK 2.31 carries torch-neuronx 2.9 three times: plain, NxD Inference, vLLM 0.16."""
    dlami("inf2.xlarge", "2.31.0")
    code, report = agent(capsys, "--expect", "inf2.xlarge")
    assert code == 0 and report["smoke_test"]["environment"] == "/opt/aws_neuronx_venv_pytorch_2_9"


def test_a_torchneuron_venv_the_user_made_is_found_and_preferred(dlami, tools, capsys):
    dlami("trn2.3xlarge", "2.32.0")
    tools.framework("torchneuron")  # ~/aws_neuron_venv_pytorch, as Neuron's install guide names
    code, report = agent(capsys, "--expect", "trn2.3xlarge")
    smoke = report["smoke_test"]
    assert code == 0, report["reason"]
    assert (smoke["framework"], smoke["device"]) == ("torchneuron", "neuron")
    assert smoke["environment"] == "/home/ubuntu/aws_neuron_venv_pytorch"  # not vLLM's


def test_jax_only_and_tensorflow_only_dlamis_run_no_pytorch_on_inf1(dlami, tools, capsys):
    """On Inf1 only torch-neuron counts: the 2.26 DLAMI's JAX and TensorFlow venvs are skipped."""
    dlami("inf1.xlarge", "2.26.0")
    _, report = agent(capsys, "--expect", "inf1.xlarge")
    skipped = {a["environment"] for a in report["smoke_test"]["attempts"]}
    assert "/opt/aws_neuronx_venv_jax_0_6" in skipped
    assert "/opt/aws_neuron_venv_tensorflow_2_10_inf1" in skipped
    assert report["smoke_test"]["framework"] == "torch-neuron"


def test_a_probe_that_hangs_is_killed_and_the_next_environment_runs(dlami, tools, capsys):
    dlami("inf2.xlarge", "2.31.0")
    tools.framework("neuron", "probe-hang", env="opt/aws_neuronx_venv_pytorch_2_10")
    code, report = agent(capsys, "--expect", "inf2.xlarge", "--framework-timeout", "1")
    [hung] = [a for a in report["smoke_test"]["attempts"] if a["outcome"] == "hung"]
    assert hung["environment"] == "/opt/aws_neuronx_venv_pytorch_2_10"
    assert hung["reason"] == "no answer to the probe within 1 s"
    assert code == 0 and report["smoke_test"]["environment"] == "/opt/aws_neuronx_venv_pytorch_2_9"


def _benchmark(tmp_path, expect: str) -> dict:
    path = torchscript_model(tmp_path / "model.pt")
    model = {"path": str(path), "sha256": sha256_file(str(path)), "format": "torchscript"}
    model["inputs"] = [{"name": "x", "shape": [1, 4], "dtype": "float32"}]
    job = {"model": model, "batch_sizes": [1], "duration_s": 0.03, "min_queries": 10}
    job.update(step_s=0.01, warmup_queries=1, expect=expect, result_uri=str(tmp_path / "r.json"))
    return run_job(check_job(job))


def test_the_benchmark_takes_neither_vllm_nor_jax_for_a_pytorch_model(dlami, tmp_path):
    dlami("inf2.xlarge", "2.32.0")
    result = _benchmark(tmp_path, "inf2.xlarge")
    assert (result["status"], result["outcome"], result["attempts"]) == (
        "failed",
        "not installed",
        [],
    )
    assert (
        f"{VLLM_0_24} (torch, torch_neuronx, vllm): torch 2.11.0 (TorchNeuron)"
        in (result["reason"])
    )
    assert (
        "/opt/aws_neuronx_venv_jax_0_10 (jax): JAX: the benchmark runs ONNX" in (result["reason"])
    )
    assert "SDK 2.31 or earlier" in result["reason"]  # what to use instead


def test_the_benchmark_runs_pytorch_on_torchneuron_found_by_its_probe(tools, tmp_path, monkeypatch):
    """A venv the user made as Neuron's install guide names it (no DLAMI ships TorchNeuron):
    its torch 2.11 stub says `neuron` is its PrivateUse1 device, so the benchmark runs on
    TorchNeuron's `neuron` device with torch.compile."""
    environment(tools.root, "home/ubuntu/aws_neuron_venv_pytorch", "torch")
    monkeypatch.setenv("STUB_TORCH_VERSION", "2.11.0")
    result = _benchmark(tmp_path, "trn2.48xlarge")
    assert result["status"] == "ok", result["reason"]
    assert (result["device"], result["environment"]) == (
        "neuron",
        "/home/ubuntu/aws_neuron_venv_pytorch",
    )
    assert result["framework"].startswith("torchneuron ")
    assert result["compiler"] == "neuronx-cc (torch.compile backend neuron)"


def test_every_layout_is_the_guides_list(tmp_path):
    assert [env for env, _ in neuron_layout("2.26.0")][
        -1
    ] == "opt/aws_neuron_venv_pytorch_1_13_inf1"
    assert neuron_layout("2.30.0") == neuron_layout("2.26.0")  # the newest listed at or before
    assert neuron_layout("2.33.0") == neuron_layout("2.32.0")
    # with no SDK named, the newest release that runs PyTorch on the family
    assert "opt/aws_neuronx_venv_pytorch_2_9" in dict(environments_for("inf2.xlarge"))
    assert "opt/aws_neuron_venv_pytorch_1_13_inf1" in dict(environments_for("inf1.xlarge"))


@pytest.mark.parametrize("neuron", [True, False])
def test_the_workers_jax_path_runs_the_model_on_a_neuron_device(
    neuron, dlami, tools, capsys, monkeypatch
):
    """The real worker's jax-neuron backend in a venv whose JAX (a NumPy stub) lists
    NeuronDevices: the answer is held to the reference like any other; a JAX that sees no
    neuron device is passed by at the probe."""
    dlami("inf2.xlarge", None)  # no DLAMI layout: only the venv below
    environment(tools.root, "opt/aws_neuronx_venv_jax_0_10", "jax")
    monkeypatch.setenv("STUB_JAX_NEURON", "1" if neuron else "0")
    code, report = agent(capsys, "--expect", "inf2.xlarge")
    smoke = report["smoke_test"]
    if neuron:
        assert code == 0 and report["status"] == "passed", report["reason"]
        assert (smoke["framework"], smoke["device"]) == ("jax-neuronx", "neuron")
        assert smoke["device_name"] == "NeuronDevice(id=0)" and smoke["max_abs_error"] < 1e-4
        assert smoke["cpu_framework"] == "jax" and smoke["simulated"] is False
    else:
        assert report["status"] == "degraded"
        [passed] = [a for a in smoke["attempts"] if a.get("environment")]
        assert passed["reason"] == "jax 0.10.0 sees no neuron device"
