"""The agent as a separate process, as `python3 -m amazonei_setup.agent` and as the single shipped
file, under a loopback IMDS and fake tools on PATH: both must give the same verdicts."""

from __future__ import annotations

import ast
import glob
import gzip
import re
import shutil
import subprocess

import pytest

from amazonei_setup.agent.bundle import BundleError, build_single_file, bundle_sizes

HOW = ["module", "bundle"]
ARGS = ("--json", "--runs", "3", "--warmup", "1")


def verdict(report: dict) -> tuple:
    """What must not differ between the two ways of running (timings may)."""
    return (
        report["status"],
        report["reason"],
        report["accelerator"]["kind"],
        report["accelerator"]["ok"],
        report["accelerator"]["found"],
        report["accelerator"]["simulated"],
        [(c["name"], c["ok"], c["reason"]) for c in report["checks"]],
        report["instance"],
        report["smoke_test"]["framework"],
        report["smoke_test"]["ok"],
    )


@pytest.fixture
def inf1(tools, fake_imds, samples, monkeypatch):
    monkeypatch.setenv(
        "AMAZONEI_AGENT_IMDS_ENDPOINT", fake_imds(samples.metadata("inf1.xlarge")).url
    )
    tools.neuron_ls(samples.inf1)
    tools.neuron_devices(1)
    tools.framework("inf1")


@pytest.fixture
def eia(tools, fake_imds, samples, monkeypatch):
    items = samples.metadata("m5.xlarge", eia_type="eia2.medium")
    monkeypatch.setenv("AMAZONEI_AGENT_IMDS_ENDPOINT", fake_imds(items).url)
    tools.framework("eia")


@pytest.fixture
def plain_m5(tools, fake_imds, samples, monkeypatch):
    monkeypatch.setenv("AMAZONEI_AGENT_IMDS_ENDPOINT", fake_imds(samples.metadata("m5.xlarge")).url)


@pytest.mark.parametrize("how", HOW)
def test_inf1_xlarge_passes_with_four_neuroncores(inf1, agent_process, how, samples):
    run = agent_process(how, "--expect", "inf1.xlarge", *ARGS)
    assert run.code == 0, run.stderr
    report = run.report
    assert report["status"] == "passed"
    assert report["accelerator"]["kind"] == "neuron" and report["accelerator"]["ok"] is True
    assert report["accelerator"]["found"]["neuron_cores"] == 4
    assert report["accelerator"]["simulated"] is False
    assert report["instance"]["id"] == samples.instance_id
    assert report["smoke_test"]["ok"] is True and report["smoke_test"]["latency_ms"]["p50"] > 0


@pytest.mark.parametrize("how", HOW)
def test_eia2_medium_with_its_association_passes(eia, agent_process, how):
    run = agent_process(how, "--expect", "eia2.medium", *ARGS)
    assert run.code == 0, run.stderr
    assert run.report["status"] == "passed"
    assert run.report["accelerator"]["found"]["associations"][0]["type"] == "eia2.medium"


@pytest.mark.parametrize("how", HOW)
def test_eia2_medium_without_association_fails(plain_m5, agent_process, how):
    run = agent_process(how, "--expect", "eia2.medium", *ARGS)
    assert run.code == 1
    assert run.report["status"] == "failed"
    assert run.report["accelerator"]["ok"] is False
    assert "no Elastic Inference accelerator is associated" in run.report["reason"]


@pytest.mark.parametrize("how", HOW)
def test_nvidia_without_nvidia_smi_fails_with_a_reason(plain_m5, agent_process, how):
    run = agent_process(how, "--expect", "nvidia", *ARGS)
    assert run.code == 1
    assert run.report["status"] == "failed"
    assert run.report["reason"] == "nvidia_smi: nvidia-smi not found on PATH"


SCENARIOS = {
    "inf1": ("inf1", "inf1.xlarge"),
    "eia": ("eia", "eia2.medium"),
    "no-eia": ("plain_m5", "eia2.medium"),
    "no-nvidia": ("plain_m5", "nvidia"),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_the_bundle_and_the_module_agree(request, agent_process, scenario):
    fixture, expect = SCENARIOS[scenario]
    request.getfixturevalue(fixture)
    module = agent_process("module", "--expect", expect, *ARGS)
    bundle = agent_process("bundle", "--expect", expect, *ARGS)
    assert module.code == bundle.code
    assert verdict(module.report) == verdict(bundle.report)
    assert set(module.report) == set(bundle.report)
    assert set(module.report["smoke_test"]) == set(bundle.report["smoke_test"])


@pytest.mark.parametrize("kind", [None, "eia", "neuron", "nvidia", "none"])
def test_the_bundle_is_one_self_contained_small_file(kind):
    source = build_single_file(kind)
    tree = ast.parse(source, feature_version=(3, 8))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0 and not (node.module or "").startswith("amazonei_setup")
        if isinstance(node, ast.Import):
            assert not any(a.name.startswith("amazonei_setup") for a in node.names)
    assert source == build_single_file(kind)  # reproducible: user data does not churn
    sizes = bundle_sizes(source)
    # EC2 takes 16 KB of user data; the bootstrap and config around the agent need ~0.75 KB
    # (the whole user data: test_the_user_data_fits_ec2s_16_kb_with_room_to_spare). Reading
    # its own ARN from IMDS cost the agent ~130 bytes; the config lost instance_arn_prefix.
    # Probing each environment (worker.py's probe) and the TorchNeuron and JAX NeuronX backends
    # cost ~1.3 KB raw; the kind-specific bundles shed the other kinds' accelerator probes.
    assert sizes["raw_bytes"] < 52_000
    assert sizes["gzip_bytes"] < (17_500 if kind is None else 14_960)  # None: every kind
    assert gzip.decompress(gzip.compress(source.encode())).decode() == source


def test_the_bundle_refuses_clashing_names(tmp_path, monkeypatch):
    from amazonei_setup.agent import bundle

    for module in bundle.MODULES:
        shutil.copy(bundle.AGENT_DIR / f"{module}.py", tmp_path / f"{module}.py")
    with open(tmp_path / "model.py", "a") as extra:
        extra.write("\n\ndef check(name, ok, reason):\n    return None\n")
    monkeypatch.setattr(bundle, "AGENT_DIR", tmp_path)
    with pytest.raises(BundleError, match=r"check is defined in both report\.py and model\.py"):
        bundle.build_single_file()


def _python38() -> str | None:
    for candidate in [*sorted(glob.glob("/root/.pyenv/versions/3.8*/bin/python3.8")), "python3.8"]:
        path = shutil.which(candidate) if "/" not in candidate else candidate
        if path and subprocess.run([path, "-c", "pass"], capture_output=True).returncode == 0:
            return path
    return None


PY38 = _python38()


@pytest.mark.skipif(PY38 is None, reason="no Python 3.8 here")
@pytest.mark.parametrize("how", HOW)
def test_runs_on_python_3_8_with_the_pure_reference(inf1, agent_process, how):
    run = agent_process(how, "--expect", "inf1.xlarge", *ARGS, python=PY38)
    assert run.code == 0, run.stderr
    assert run.report["versions"]["python"].startswith("3.8")
    assert run.report["accelerator"]["found"]["neuron_cores"] == 4
    assert run.report["smoke_test"]["ok"] is True


def test_the_bundle_answers_like_the_module(agent_process):
    module, bundle = agent_process("module", "--version"), agent_process("bundle", "--version")
    assert module.code == bundle.code == 0
    assert module.stdout == bundle.stdout and "amazonei-agent" in module.stdout


def test_the_bundle_lists_the_same_options_without_their_help_texts(agent_process):
    module, bundle = agent_process("module", "--help"), agent_process("bundle", "--help")
    assert module.code == bundle.code == 0
    flags = set(re.findall(r"--[a-z-]+", module.stdout))
    assert "--framework-timeout" in flags and flags == set(re.findall(r"--[a-z-]+", bundle.stdout))
    assert "seconds per probe" in module.stdout and "seconds per probe" not in bundle.stdout


@pytest.mark.parametrize("kind", [None, "eia", "neuron", "nvidia"])
def test_the_worker_parses_as_python_3_6_and_keeps_its_kinds_backends(kind):
    from amazonei_setup.agent.bundle import WORKER_BACKENDS, worker_source

    source = worker_source(kind)
    tree = ast.parse(source, feature_version=(3, 6))
    assigns = [n for n in tree.body if isinstance(n, ast.Assign)]
    table = next(n for n in assigns if n.targets[0].id == "BACKENDS")
    keys = {k.value for k in table.value.keys}
    every = set().union(*WORKER_BACKENDS.values())
    assert keys == (every if kind is None else set(WORKER_BACKENDS[kind]))


@pytest.mark.parametrize(
    ("instance_type", "accelerator"),
    [("m5.large", "eia2.medium"), ("inf2.xlarge", None), ("g4dn.xlarge", None)],
)
def test_the_user_data_fits_ec2s_16_kb_with_room_to_spare(instance_type, accelerator):
    from amazonei_setup.seats.userdata import (
        USER_DATA_LIMIT_BYTES,
        decode_user_data,
        render_user_data,
    )
    from amazonei_setup.spec.profile_checks import validate_profile

    document = {"name": "workshop-reinvent-2019", "region": "us-west-2"}
    document.update(instance_type=instance_type, access={"mode": "ssm"})
    if accelerator:
        document["accelerator"] = accelerator
    payload = render_user_data(validate_profile(None, document), b"k" * 32)
    assert len(payload) <= USER_DATA_LIMIT_BYTES - 600
    script = decode_user_data(payload)
    kind = "eia" if accelerator else ("neuron" if instance_type.startswith("inf") else "nvidia")
    assert {"eia": "pytorch-ei", "neuron": "neuronx", "nvidia": "cuda"}[kind] in script
