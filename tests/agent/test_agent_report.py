"""The report: no secrets, the console framing, publishing to SSM, and the agent's built-in
figures against the repository's catalog."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import boto3
import pytest
import yaml
from moto import mock_aws

import amazonei_setup
from amazonei_setup.agent.catalog import (
    EIA_TYPES,
    NEURON_CORES,
    NVIDIA_GPUS,
    kind_of_instance,
    normalize_eia_type,
)
from amazonei_setup.agent.cli import main
from amazonei_setup.agent.report import (
    AGENT_VERSION,
    CONSOLE_BEGIN,
    CONSOLE_END,
    PublishError,
    console_lines,
    parse_console,
    publish_report,
    scrub,
)

HARDWARE = Path(__file__).resolve().parents[2] / "templates" / "catalog" / "hardware.yaml"
FIXED_TOKEN = "AQAEAFakeImdsSessionTokenThatMustNeverLeak0123456789=="
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN0123456789abcdef"


def test_the_report_carries_no_secrets(tools, fake_imds, samples, monkeypatch, tmp_path, capsys):
    """The IMDS token and AWS credentials stay out of the report even when a tool prints them."""
    imds = fake_imds(samples.metadata("inf1.xlarge"), token_value=FIXED_TOKEN)
    monkeypatch.setenv("AMAZONEI_AGENT_IMDS_ENDPOINT", imds.url)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    leaky = f"token {FIXED_TOKEN} key {ACCESS_KEY} secret={SECRET_KEY} {SESSION_TOKEN}\n"
    tools.install("neuron-ls", stderr=leaky + "password: hunter2hunter2\n", code=1)
    report_file, console = tmp_path / "report.json", tmp_path / "console"
    argv = ["--expect", "inf1.xlarge", "--json", "--runs", "2", "--report-file", str(report_file)]
    code = main([*argv, "--console", str(console), "--publish", "/p"], publisher=_Keep())
    out = capsys.readouterr()
    assert code == 1
    assert FIXED_TOKEN in imds.tokens  # the token really was issued and used
    for text in (out.out, out.err, report_file.read_text(), console.read_text(), _Keep.last):
        for secret in (FIXED_TOKEN, SECRET_KEY, ACCESS_KEY, SESSION_TOKEN, "hunter2"):
            assert secret not in text
    assert "[redacted]" in json.loads(out.out)["reason"]


class _Keep:
    last = ""

    def __call__(self, report: dict, name: str, region: str | None) -> str:
        _Keep.last = json.dumps(report)
        return "kept"


def test_scrub_walks_nested_values(monkeypatch):
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    value = {"a": ["x ASIAQWERTYUIOPASDFGH y", {"b": "the-imds-token-value-123"}], "n": 3}
    assert scrub(value, ["the-imds-token-value-123"]) == {
        "a": ["x [redacted] y", {"b": "[redacted]"}],
        "n": 3,
    }


def test_console_lines_round_trip():
    report = {"status": "passed", "accelerator": {"kind": "none"}, "note": "ünïcode"}
    lines = console_lines(report)
    assert lines[0] == CONSOLE_BEGIN and lines[2] == CONSOLE_END and len(lines) == 3
    assert "\n" not in lines[1] and json.loads(lines[1]) == report
    assert parse_console("\n".join(lines)) == report
    prefixed = "\n".join(f"[  42.1] cloud-init[991]: {line}" for line in lines)
    assert parse_console("boot noise\n" + prefixed + "\nmore noise") == report


def test_parse_console_takes_the_last_complete_report():
    first, second = console_lines({"n": 1}), console_lines({"n": 2})
    assert parse_console("\n".join(first + second)) == {"n": 2}
    assert parse_console("\n".join(first + second[:2])) == {"n": 1}  # the second is cut off
    assert parse_console("nothing here") is None


class _Ssm:
    def __init__(self, error: Exception | None = None):
        self.requests: list[dict] = []
        self.error = error

    def put_parameter(self, **request) -> dict:
        self.requests.append(request)
        if self.error:
            raise self.error
        return {"Version": 1}


def test_publish_with_an_injected_client():
    ssm, regions = _Ssm(), []

    def factory(region):
        regions.append(region)
        return ssm

    name = "/amazonei-setup/demo/i-0a1b2c3d4e5f67890/report"
    assert (
        publish_report({"status": "passed"}, name, "us-west-2", client_factory=factory) == "boto3"
    )
    [request] = ssm.requests
    assert request["Name"] == name and regions == ["us-west-2"]
    assert json.loads(request["Value"]) == {"status": "passed"}
    assert request["Type"] == "String" and request["Overwrite"] is True


def test_publish_errors_are_typed():
    with pytest.raises(PublishError, match="AccessDenied"):
        publish_report(
            {}, "/p", None, client_factory=lambda region: _Ssm(RuntimeError("AccessDenied"))
        )
    with pytest.raises(PublishError, match="no SSM parameter name"):
        publish_report({}, "", "us-west-2", client_factory=lambda region: _Ssm())


def test_publish_through_the_aws_cli():
    calls = []

    def runner(argv, **kwargs):
        calls.append(argv)
        return subprocess.CompletedProcess(argv, 0, "{}", "")

    assert (
        publish_report({"status": "failed"}, "/x/y/report", "eu-west-1", runner=runner) == "aws-cli"
    )
    [argv] = calls
    assert argv[:3] == ["aws", "ssm", "put-parameter"]
    assert argv[argv.index("--name") + 1] == "/x/y/report"
    assert argv[argv.index("--region") + 1] == "eu-west-1"
    assert json.loads(argv[argv.index("--value") + 1]) == {"status": "failed"}


def test_a_failing_aws_cli_is_reported():
    def runner(argv, **kwargs):
        return subprocess.CompletedProcess(
            argv, 254, "", "An error occurred (AccessDeniedException)"
        )

    with pytest.raises(PublishError, match="exited 254: An error occurred"):
        publish_report({}, "/p", "us-west-2", runner=runner)


def test_publish_with_boto3_against_moto():
    with mock_aws():
        name = "/amazonei-setup/demo/i-0a1b2c3d4e5f67890/report"
        report = {"status": "passed", "smoke_test": {"latency_ms": {"p50": 1.5}}}
        assert publish_report(report, name, "us-west-2") == "boto3"
        stored = boto3.client("ssm", region_name="us-west-2").get_parameter(Name=name)
        assert json.loads(stored["Parameter"]["Value"]) == report


def _hardware() -> dict:
    return yaml.safe_load(HARDWARE.read_text())


def test_neuron_cores_match_the_catalog():
    families = _hardware()["families"]
    from_yaml = {
        size: spec["neuron_cores"]
        for family in families.values()
        if family["kind"] == "neuron"
        for size, spec in family["sizes"].items()
    }
    assert from_yaml == NEURON_CORES


def test_gpus_match_the_catalog():
    families = _hardware()["families"]
    from_yaml = {
        size: (spec["gpus"], spec["gpu_model"])
        for family in families.values()
        if family["kind"] == "nvidia"
        for size, spec in family["sizes"].items()
    }
    assert from_yaml == NVIDIA_GPUS


def test_kinds_and_eia_types_match_the_catalog():
    hardware = _hardware()
    for family in hardware["families"].values():
        for size in family["sizes"]:
            assert kind_of_instance(size) == family["kind"].replace("cpu", "none"), size
    assert set(hardware["elastic_inference"]["types"]) == set(EIA_TYPES)
    for alias, target in hardware["elastic_inference"]["aliases"].items():
        assert normalize_eia_type(alias) == target


def test_agent_version_is_the_tools():
    assert amazonei_setup.__version__ == AGENT_VERSION
