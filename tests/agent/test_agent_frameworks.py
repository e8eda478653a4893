"""Framework discovery under a fake root: for each accelerator kind, an environment that works,
none at all, one that crashes, one that hangs, one that answers wrongly. The agent must run the
model on the accelerator only through an environment whose answer matches the reference, try the
next one after any failure, never hang, and say `degraded` when the hardware is there but no
framework can use it."""

from __future__ import annotations

import json

import pytest

from amazonei_setup.agent.cli import main

ARGS = ["--json", "--runs", "3", "--warmup", "0", "--framework-timeout", "2"]

# kind -> (IMDS instance type, EIA type, fake environment key, device, framework, --expect)
KINDS = {
    "inf2": ("inf2.xlarge", None, "neuron", "neuron", "torch-neuronx", "inf2.xlarge"),
    "inf1": ("inf1.xlarge", None, "inf1", "neuron", "torch-neuron", "inf1.xlarge"),
    "gpu": ("g4dn.xlarge", None, "nvidia", "cuda:0", "pytorch", "g4dn.xlarge"),
    "eia": ("m5.large", "eia1.large", "eia", "eia:0", "pytorch-ei", "eia1.large"),
}


@pytest.fixture
def hardware(tools, fake_imds, samples, monkeypatch):
    """hardware(kind): IMDS and the probed tools of that instance; returns its KINDS row."""

    def make(kind: str) -> tuple:
        row = KINDS[kind]
        imds = fake_imds(samples.metadata(row[0], eia_type=row[1]))
        monkeypatch.setenv("AMAZONEI_AGENT_IMDS_ENDPOINT", imds.url)
        if kind in ("inf1", "inf2"):
            tools.neuron_ls(samples.inf1 if kind == "inf1" else samples.inf2)
            tools.neuron_devices(1)
        if kind == "gpu":
            tools.install("nvidia-smi", stdout=samples.t4)
        return row

    return make


def agent(capsys, *argv: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*ARGS, *argv])
    return code, json.loads(capsys.readouterr().out)


def checks(report: dict) -> dict:
    return {c["name"]: c for c in report["checks"]}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_working_environment_runs_the_model_on_the_accelerator(kind, hardware, tools, capsys):
    _, _, key, device, framework, expect = hardware(kind)
    tools.framework(key)
    code, report = agent(capsys, "--expect", expect)
    smoke = report["smoke_test"]
    assert code == 0 and report["status"] == "passed", report["reason"]
    assert smoke["device"] == device and smoke["framework"] == framework
    assert smoke["on_accelerator"] is True and smoke["simulated"] is True
    assert smoke["environment"].startswith(("/opt/", "/home/ec2-user/anaconda3/envs/"))
    assert smoke["latency_ms"]["p50"] > 0 and smoke["load_s"] is not None
    assert smoke["cpu_latency_ms"]["p50"] > 0 and smoke["speedup"] > 0
    assert checks(report)["model_on_accelerator"]["ok"] is True
    assert report["remedy"] is None


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_no_environment_is_degraded_with_what_to_install(kind, hardware, capsys):
    hardware(kind)
    code, report = agent(capsys, "--expect", KINDS[kind][5])
    smoke = report["smoke_test"]
    assert code == 1 and report["status"] == "degraded"
    assert report["accelerator"]["ok"] is True  # the hardware is there
    assert smoke["ok"] is True and smoke["device"] == "cpu" and smoke["on_accelerator"] is False
    assert report["reason"].startswith("model_on_accelerator: no framework could run the model")
    assert "no framework environment found under" in report["reason"]
    assert report["remedy"] and ("DLAMI" in report["remedy"] or "AMI" in report["remedy"])


@pytest.mark.parametrize("behaviour", ["crash", "hang", "wrong"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_broken_environment_is_reported_and_the_next_one_runs(
    kind, behaviour, hardware, tools, capsys
):
    _, _, key, device, _, expect = hardware(kind)
    env = {"neuron": "opt/aws_neuronx_venv_pytorch_2_9", "inf1": "opt/aws_neuron_venv_pytorch_9"}
    env.update(nvidia="opt/conda/envs/pytorch", eia="opt/conda/envs/amazonei_pytorch_p36")
    # the broken one is found first: a newer Neuron venv, the GPU DLAMI's /opt/pytorch before its
    # conda env, the EI environments under /home before /opt/conda
    broken = {"nvidia": "opt/pytorch", "eia": "home/ec2-user/anaconda3/envs/amazonei_pytorch_p36"}
    tools.framework(key, behaviour, env=broken.get(key) or env[key].replace("9", "10"))
    tools.framework(key, "correct", env=(broken.get(key) and env[key]) or env[key])
    code, report = agent(capsys, "--expect", expect)
    attempt = report["smoke_test"]["attempts"][0]
    outcome = {"crash": "crashed", "hang": "hung", "wrong": "wrong answer"}[behaviour]
    assert attempt["outcome"] == outcome, attempt
    assert code == 0 and report["status"] == "passed"
    assert report["smoke_test"]["device"] == device
    assert report["smoke_test"]["environment"] == "/" + (env[key])


@pytest.mark.parametrize("behaviour", ["crash", "hang", "wrong", "unusable"])
def test_only_broken_environments_are_degraded_never_passed(behaviour, hardware, tools, capsys):
    hardware("inf2")
    tools.framework("neuron", behaviour)
    code, report = agent(capsys, "--expect", "inf2.xlarge")
    assert code == 1 and report["status"] == "degraded"
    assert report["smoke_test"]["on_accelerator"] is False
    assert "/opt/aws_neuronx_venv_pytorch_2_5 neuronx" in report["reason"]
    if behaviour == "hang":
        assert "no answer within 2 s: killed" in report["reason"]


def test_missing_hardware_is_failed_not_degraded(tools, fake_imds, samples, monkeypatch, capsys):
    monkeypatch.setenv("AMAZONEI_AGENT_IMDS_ENDPOINT", fake_imds(samples.metadata("m5.large")).url)
    code, report = agent(capsys, "--expect", "eia1.large")
    assert code == 1 and report["status"] == "failed"
    assert report["reason"].startswith("eia_association:")


@pytest.mark.parametrize("kind", ["inf2", "eia"])
def test_without_expect_the_agent_expects_what_imds_says(kind, hardware, tools, capsys):
    instance_type, eia_type, key, device, _, _ = hardware(kind)
    tools.framework(key)
    code, report = agent(capsys)
    assert report["accelerator"]["expected"] == (eia_type or instance_type)
    assert report["accelerator"]["expected_from"] == "imds"
    assert code == 0 and report["smoke_test"]["device"] == device


def test_inf1_looks_only_at_torch_neuron_environments(hardware, tools, capsys):
    hardware("inf1")
    tools.framework("neuron")  # a torch-neuronx venv cannot drive Inferentia 1
    code, report = agent(capsys, "--expect", "inf1.xlarge")
    assert code == 1 and report["status"] == "degraded"
    [attempt] = [a for a in report["smoke_test"]["attempts"] if a.get("environment")]
    assert attempt == {
        "environment": "/opt/aws_neuronx_venv_pytorch_2_5",
        "framework": "torch, torch_neuronx",
        "outcome": "skipped",  # probed, never run
        "reason": "no torch-neuron",
    }


def test_under_the_real_root_the_agents_own_python_comes_last(tmp_path, monkeypatch):
    import sys

    from amazonei_setup.agent.frameworks import candidates

    monkeypatch.delenv("AMAZONEI_AGENT_ROOT", raising=False)
    from amazonei_setup.agent.environments import pythons

    assert pythons("/")[-1] == (sys.prefix, sys.executable)  # probed like the others
    own = [c for c in candidates("cpu") if c["python"] == sys.executable]
    assert [c["backend"] for c in own] == ["cpu"]  # onnxruntime is installed here
    moved = candidates("nvidia", "g4dn.xlarge", root=str(tmp_path))
    assert moved == []  # a moved root is the whole machine: nothing of this one is looked at


def _python(version: str) -> str | None:
    import glob
    import subprocess

    for path in sorted(glob.glob(f"/root/.pyenv/versions/{version}*/bin/python{version}")):
        if subprocess.run([path, "-c", "pass"], capture_output=True).returncode == 0:
            return path
    return None


PY36 = _python("3.6")


@pytest.mark.skipif(PY36 is None, reason="no Python 3.6 here")
@pytest.mark.parametrize("how", ["module", "bundle"])
def test_the_worker_runs_in_a_python_3_6_ei_environment(
    how, hardware, tools, agent_process, monkeypatch
):
    """The EI conda environments are Python 3.6: the worker's probe must run there and say
    what is missing (here: every framework), not die on syntax."""
    hardware("eia")
    env = tools.root / "home/ec2-user/anaconda3/envs/amazonei_pytorch_p36/bin"
    env.mkdir(parents=True)
    (env / "python").symlink_to(PY36)
    run = agent_process(how, "--expect", "eia1.large", *ARGS)
    assert run.code == 1 and run.report["status"] == "degraded", run.stderr
    [attempt] = [a for a in run.report["smoke_test"]["attempts"] if a.get("environment")]
    assert attempt["environment"] == "/home/ec2-user/anaconda3/envs/amazonei_pytorch_p36"
    assert (attempt["outcome"], attempt["reason"]) == ("skipped", "no torch, mxnet or tensorflow")
