"""Accelerator probes against fake neuron-ls / nvidia-smi on PATH and a fake /dev."""

from __future__ import annotations

import json
import sys

import pytest

from amazonei_setup.agent.catalog import kind_of_instance, parse_expect
from amazonei_setup.agent.imds import ImdsClient
from amazonei_setup.agent.probes import (
    parse_neuron_ls,
    parse_nvidia_smi,
    probe_eia,
    probe_neuron,
    probe_nvidia,
    run_tool,
)


def by_name(probe: dict) -> dict:
    return {c["name"]: c for c in probe["checks"]}


def test_inf1_xlarge_has_four_neuroncores(tools, samples):
    tools.neuron_ls(samples.inf1)
    tools.neuron_devices(1)
    probe = probe_neuron("inf1.xlarge")
    assert all(c["ok"] for c in probe["checks"]), probe
    assert probe["found"]["neuron_cores"] == 4
    assert probe["found"]["devices"] == 1
    assert probe["found"]["memory_bytes"] == 8589934592
    assert probe["found"]["dev_nodes"] == [str(tools.dev / "neuron0")]
    assert probe["simulated"] is False
    assert tools.calls("neuron-ls") == [["--output-format", "json"]]


def test_an_older_neuron_ls_is_asked_with_json_output(tools, samples):
    """Before Neuron 2.34 `--output-format json` is an unknown flag; `--json-output` works."""
    script = tools.bin / "neuron-ls"
    script.write_text(
        f"#!{sys.executable}\nimport sys\n"
        "if sys.argv[1:] != ['--json-output']:\n"
        "    sys.exit('neuron-ls: unknown option ' + sys.argv[1])\n"
        f"print({json.dumps(samples.inf2)!r})\n"
    )
    script.chmod(0o755)
    tools.neuron_devices(1)
    probe = probe_neuron("inf2.xlarge")
    assert all(c["ok"] for c in probe["checks"]), probe
    assert probe["found"]["neuron_cores"] == 2


def test_inf2_xlarge_has_two(tools, samples):
    tools.neuron_ls(samples.inf2)
    tools.neuron_devices(1)
    probe = probe_neuron("inf2.xlarge")
    assert by_name(probe)["neuron_core_count"] == {
        "name": "neuron_core_count",
        "ok": True,
        "reason": "found 2 NeuronCores; inf2.xlarge has 2",
    }


def test_a_wrong_core_count_fails(tools, samples):
    tools.neuron_ls(samples.inf2)  # 2 cores where inf1.xlarge has 4
    tools.neuron_devices(1)
    check = by_name(probe_neuron("inf1.xlarge"))["neuron_core_count"]
    assert check["ok"] is False
    assert check["reason"] == "found 2 NeuronCores; inf1.xlarge has 4"


def test_no_driver_fails_with_the_tools_own_words(tools, samples):
    tools.install("neuron-ls", stderr=samples.neuron_no_driver + "\n", code=1)
    probe = probe_neuron("inf1.xlarge")
    checks = by_name(probe)
    assert checks["neuron_ls"]["ok"] is False
    assert "exited 1" in checks["neuron_ls"]["reason"]
    assert "Make sure aws-neuronx-dkms is installed" in checks["neuron_ls"]["reason"]
    assert checks["neuron_dev_nodes"]["ok"] is False
    assert probe["found"] is None


def test_missing_device_nodes_fail(tools, samples):
    tools.neuron_ls(samples.inf1)
    check = by_name(probe_neuron("inf1.xlarge"))["neuron_dev_nodes"]
    assert check["ok"] is False and "neuron" in check["reason"]


def test_no_neuron_ls_at_all(tools):
    checks = by_name(probe_neuron("inf1.xlarge"))
    assert checks["neuron_ls"] == {
        "name": "neuron_ls",
        "ok": False,
        "reason": "neuron-ls not found on PATH",
    }


def test_unreadable_output_is_a_reason_not_a_crash(tools):
    tools.install("neuron-ls", stdout="+--------+ not json\n")
    assert "unreadable" in by_name(probe_neuron("inf1.xlarge"))["neuron_ls"]["reason"]


def test_an_unknown_type_is_not_compared(tools, samples):
    tools.neuron_ls(samples.inf1 * 4)
    tools.neuron_devices(4)
    check = by_name(probe_neuron("trn2.48xlarge"))["neuron_core_count"]
    assert check["ok"] is True and "no catalog figure for trn2.48xlarge" in check["reason"]


def test_the_simulated_marker_is_read_from_stderr(tools, samples):
    tools.neuron_ls(samples.inf1, stderr="AMAZONEI-SETUP-SIMULATED\n")
    tools.neuron_devices(1)
    assert probe_neuron("inf1.xlarge")["simulated"] is True


def test_a_hanging_tool_times_out_with_a_reason(tools):
    path = tools.bin / "neuron-ls"
    path.write_text(f"#!{__import__('sys').executable}\nimport time\ntime.sleep(30)\n")
    path.chmod(0o755)
    result = run_tool(["neuron-ls", "--json-output"], timeout=0.5)
    assert result["reason"] == "neuron-ls did not answer within 0.5 s"


def test_parse_neuron_ls_counts_ids_when_nc_count_is_absent():
    text = json.dumps([{"neuron_device": 0, "neuroncore_ids": [0, 1], "memory_size": 1}])
    assert parse_neuron_ls(text) == [{"index": 0, "cores": 2, "memory_bytes": 1}]
    with pytest.raises(ValueError):
        parse_neuron_ls(json.dumps({"error": "nope"}))


def test_nvidia_t4_on_g4dn(tools, samples):
    tools.install("nvidia-smi", stdout=samples.t4)
    probe = probe_nvidia("g4dn.xlarge")
    assert all(c["ok"] for c in probe["checks"]), probe
    assert probe["found"]["gpus"] == [
        {"name": "Tesla T4", "memory_mib": 15360, "driver_version": "535.183.01"}
    ]
    assert tools.calls("nvidia-smi") == [
        ["--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"]
    ]


def test_nvidia_wrong_model_fails(tools, samples):
    tools.install("nvidia-smi", stdout=samples.a10g)
    checks = by_name(probe_nvidia("g4dn.xlarge"))
    assert checks["gpu_model"]["ok"] is False
    assert checks["gpu_model"]["reason"] == "expected T4, found NVIDIA A10G"


def test_nvidia_without_driver(tools, samples):
    tools.install("nvidia-smi", stdout=samples.nvidia_no_driver, code=9)
    check = by_name(probe_nvidia("g4dn.xlarge"))["nvidia_smi"]
    assert check["ok"] is False
    assert check["reason"].startswith("nvidia-smi exited 9: NVIDIA-SMI has failed")


def test_no_nvidia_smi(tools):
    probe = probe_nvidia("g4dn.xlarge")
    assert probe["checks"] == [
        {"name": "nvidia_smi", "ok": False, "reason": "nvidia-smi not found on PATH"}
    ]


def test_parse_nvidia_smi_two_gpus():
    gpus = parse_nvidia_smi(
        "Tesla V100-SXM2-16GB, 16160 MiB, 470.57.02\nTesla V100-SXM2-16GB, 16160 MiB, 470.57.02\n\n"
    )
    assert [g["memory_mib"] for g in gpus] == [16160, 16160]
    with pytest.raises(ValueError):
        parse_nvidia_smi("garbage\n")


def test_eia_matching_type(fake_imds, samples):
    imds = fake_imds(samples.metadata("m5.xlarge", eia_type="eia2.medium"))
    probe = probe_eia(ImdsClient(imds.url), "eia2.medium")
    assert [c["ok"] for c in probe["checks"]] == [True, True]


def test_eia_other_type_fails(fake_imds, samples):
    imds = fake_imds(samples.metadata("m5.xlarge", eia_type="eia1.medium"))
    checks = by_name(probe_eia(ImdsClient(imds.url), "eia2.medium"))
    assert checks["eia_type"] == {
        "name": "eia_type",
        "ok": False,
        "reason": "expected eia2.medium, found eia1.medium",
    }


def test_eia_absent_fails(fake_imds, samples):
    imds = fake_imds(samples.metadata("m5.xlarge"))
    probe = probe_eia(ImdsClient(imds.url), "eia2.medium")
    assert probe["checks"][0]["ok"] is False
    assert "no Elastic Inference accelerator" in probe["checks"][0]["reason"]


def test_eia_without_imds_fails(closed_port):
    probe = probe_eia(ImdsClient(f"http://127.0.0.1:{closed_port}"), None)
    assert probe["checks"][0]["ok"] is False
    assert "IMDS unreachable" in probe["checks"][0]["reason"]


@pytest.mark.parametrize(
    ("spec", "kind", "instance_type", "eia_type"),
    [
        ("inf1.xlarge", "neuron", "inf1.xlarge", None),
        ("g4dn.xlarge", "nvidia", "g4dn.xlarge", None),
        ("m5.large", "none", "m5.large", None),
        ("eia.medium", "eia", None, "eia1.medium"),
        ("EIA2.Large", "eia", None, "eia2.large"),
        ("neuron", "neuron", None, None),
        ("none", "none", None, None),
    ],
)
def test_parse_expect(spec, kind, instance_type, eia_type):
    found = parse_expect(spec)
    assert (found["kind"], found["instance_type"], found["eia_type"]) == (
        kind,
        instance_type,
        eia_type,
    )


@pytest.mark.parametrize("spec", ["eia3.medium", "gpu please", "eia2.huge", ""])
def test_parse_expect_refuses(spec):
    if spec == "":
        assert parse_expect(spec)["kind"] == "none"  # empty means nothing expected
        return
    with pytest.raises(ValueError, match="eia"):
        parse_expect(spec)


def test_g4ad_is_not_nvidia():
    assert kind_of_instance("g4ad.xlarge") == "none"
    assert kind_of_instance("trn1.32xlarge") == "neuron"
