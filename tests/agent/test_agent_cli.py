"""The agent's command line in-process: expectations, exit codes, outputs, publishing."""

from __future__ import annotations

import json

import pytest

from amazonei_setup.agent.cli import main
from amazonei_setup.agent.report import PublishError, parse_console


class Publisher:
    """Fails `fail` times (True: always) with `error`, then publishes."""

    def __init__(self, fail: bool | int = False, error: str = "AccessDeniedException"):
        self.calls: list[tuple[dict, str, str | None]] = []
        self.fail, self.error = fail, error

    def __call__(self, report: dict, parameter_name: str, region: str | None) -> str:
        self.calls.append((report, parameter_name, region))
        if self.fail is True or len(self.calls) <= int(self.fail):
            raise PublishError(f"ssm put-parameter: {self.error}")
        return "fake"


class FakeTime:
    """sleep() advances clock(): no real waiting."""

    def __init__(self) -> None:
        self.now, self.sleeps = 0.0, []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


TIME = FakeTime()


LAST_STDERR = {}


def run(capsys, *argv: str, publisher: Publisher | None = None) -> tuple[int, dict]:
    """main() with --json; the report it printed; its stderr kept in LAST_STDERR["text"]."""
    capsys.readouterr()
    TIME.__init__()
    argv = ["--json", "--runs", "3", "--warmup", "1", *argv]
    code = main(argv, publisher=publisher, sleep=TIME.sleep, clock=TIME.clock)
    captured = capsys.readouterr()
    LAST_STDERR["text"] = captured.err
    return code, json.loads(captured.out)


def test_expect_none_without_imds_passes_on_the_cpu(tools, capsys):
    code, report = run(capsys, "--expect", "none")
    assert code == 0 and report["status"] == "passed" and report["reason"] is None
    assert report["accelerator"] == {
        "kind": "none",
        "expected": "none",
        "ok": True,
        "reason": "CPU only",
        "found": None,
        "simulated": False,
        "expected_from": "given",
    }
    assert report["smoke_test"]["ok"] is True and report["smoke_test"]["device"] == "cpu"
    assert report["instance"]["id"] is None and "IMDS unreachable" in report["instance"]["reason"]
    assert [c["name"] for c in report["checks"]] == ["smoke_test"]
    assert tools.calls("neuron-ls") == [] and tools.calls("nvidia-smi") == []


def test_default_expectation_is_none(tools, capsys):
    code, report = run(capsys)
    assert code == 0 and report["accelerator"]["kind"] == "none"


def test_neuron_no_driver_fails_with_its_text(tools, fake_imds, samples, monkeypatch, capsys):
    imds = fake_imds(samples.metadata("inf1.xlarge"))
    monkeypatch.setenv("AMAZONEI_AGENT_IMDS_ENDPOINT", imds.url)
    tools.install("neuron-ls", stderr=samples.neuron_no_driver, code=1)
    code, report = run(capsys, "--expect", "neuron")
    assert code == 1 and report["status"] == "failed"
    assert report["accelerator"]["ok"] is False
    assert "Unable to read device information from the driver" in report["accelerator"]["reason"]
    assert report["reason"].startswith("neuron_ls: neuron-ls exited 1")
    assert report["smoke_test"]["ok"] is True  # the CPU still works; the accelerator does not


def test_neuron_kind_uses_the_imds_type_for_the_catalog(
    tools, fake_imds, samples, monkeypatch, capsys
):
    imds = fake_imds(samples.metadata("inf1.xlarge"))
    monkeypatch.setenv("AMAZONEI_AGENT_IMDS_ENDPOINT", imds.url)
    tools.neuron_ls(samples.inf2)
    tools.neuron_devices(1)
    code, report = run(capsys, "--expect", "neuron")
    assert code == 1
    assert report["reason"] == "neuron_core_count: found 2 NeuronCores; inf1.xlarge has 4"


def test_the_instance_type_must_be_the_one_launched(tools, fake_imds, samples, monkeypatch, capsys):
    imds = fake_imds(samples.metadata("inf2.xlarge"))
    monkeypatch.setenv("AMAZONEI_AGENT_IMDS_ENDPOINT", imds.url)
    tools.neuron_ls(samples.inf2)
    tools.neuron_devices(1)
    code, report = run(capsys, "--expect", "inf1.xlarge")
    checks = {c["name"]: c for c in report["checks"]}
    assert code == 1
    assert checks["instance_type"] == {
        "name": "instance_type",
        "ok": False,
        "reason": "IMDS says inf2.xlarge, expected inf1.xlarge",
    }


def test_nvidia_passes_with_a_t4(tools, fake_imds, samples, monkeypatch, capsys):
    imds = fake_imds(samples.metadata("g4dn.xlarge"))
    monkeypatch.setenv("AMAZONEI_AGENT_IMDS_ENDPOINT", imds.url)
    tools.install("nvidia-smi", stdout=samples.t4)
    tools.framework("nvidia")
    code, report = run(capsys, "--expect", "g4dn.xlarge")
    assert code == 0, report["checks"]
    assert report["smoke_test"]["device"] == "cuda:0" and report["smoke_test"]["on_accelerator"]
    assert report["versions"]["nvidia_driver"] == "535.183.01"
    assert report["accelerator"]["found"]["gpus"][0]["name"] == "Tesla T4"


def test_eia_expected_without_imds_fails(tools, capsys):
    code, report = run(capsys, "--expect", "eia2.medium")
    assert code == 1 and report["accelerator"]["kind"] == "eia"
    assert "IMDS unreachable" in report["accelerator"]["reason"]


def test_config_instance_type_is_checked_for_eia(
    tools, fake_imds, samples, monkeypatch, tmp_path, capsys
):
    imds = fake_imds(samples.metadata("m5.large", eia_type="eia2.medium"))
    monkeypatch.setenv("AMAZONEI_AGENT_IMDS_ENDPOINT", imds.url)
    config = tmp_path / "deployment.json"
    config.write_text(json.dumps({"expect": "eia2.medium", "instance_type": "m5.xlarge"}))
    code, report = run(capsys, "--config", str(config))
    assert code == 1 and report["reason"] == "instance_type: IMDS says m5.large, expected m5.xlarge"
    assert report["accelerator"]["ok"] is True


@pytest.mark.parametrize("bad", ["eia9.small", "not an instance"])
def test_bad_expectation_is_a_usage_error(tools, capsys, bad):
    assert main(["--expect", bad]) == 2
    assert "bad input" in capsys.readouterr().err


def test_unreadable_config_is_a_usage_error(tools, tmp_path, capsys):
    config = tmp_path / "c.json"
    config.write_text("[1, 2]")
    assert main(["--config", str(config)]) == 2
    assert main(["--config", str(tmp_path / "missing.json")]) == 2


def test_no_smoke_test(tools, capsys):
    code, report = run(capsys, "--no-smoke-test")
    assert code == 0
    assert report["smoke_test"] == {
        "ok": None,
        "skipped": True,
        "latency_ms": None,
        "reason": "skipped by request",
    }
    assert report["checks"] == []


def test_config_can_turn_the_smoke_test_off(tools, tmp_path, capsys):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"expect": "none", "agent": {"smoke_test": False}}))
    assert run(capsys, "--config", str(config))[1]["smoke_test"]["skipped"] is True


def test_nothing_is_published_without_a_parameter(tools, capsys):
    publisher = Publisher()
    code, report = run(capsys, publisher=publisher)
    assert code == 0 and publisher.calls == [] and report["report_parameter"] is None
    assert "nothing published" in LAST_STDERR["text"]


def test_publish_uses_the_parameter_name_exactly(tools, capsys):
    publisher = Publisher()
    name = "/amazonei-setup/demo/i-0a1b2c3d4e5f67890/report"
    code, report = run(capsys, "--publish", name, "--region", "eu-west-1", publisher=publisher)
    assert code == 0
    [(published, parameter, region)] = publisher.calls
    assert parameter == name and region == "eu-west-1"
    assert published == report


def test_config_prefix_and_instance_id_name_the_parameter(
    tools, fake_imds, samples, monkeypatch, tmp_path, capsys
):
    imds = fake_imds(samples.metadata("m5.xlarge"))
    monkeypatch.setenv("AMAZONEI_AGENT_IMDS_ENDPOINT", imds.url)
    config = tmp_path / "deployment.json"
    config.write_text(
        json.dumps(
            {
                "deployment": "demo",
                "expect": "m5.xlarge",
                "report_parameter_prefix": "/amazonei-setup/demo/",
            }
        )
    )
    publisher = Publisher()
    code, report = run(capsys, "--config", str(config), publisher=publisher)
    assert code == 0 and report["deployment"] == "demo"
    [(_, parameter, region)] = publisher.calls
    assert parameter == f"/amazonei-setup/demo/{samples.instance_id}/report"
    assert region == "us-west-2"  # from IMDS when the config names none


def test_a_prefix_without_an_instance_id_publishes_nothing(tools, tmp_path, capsys):
    config = tmp_path / "deployment.json"
    config.write_text(json.dumps({"report_parameter_prefix": "/amazonei-setup/demo/"}))
    publisher = Publisher()
    run(capsys, "--config", str(config), publisher=publisher)
    assert publisher.calls == []


def test_a_failed_publish_exits_1(tools, capsys):
    code, _ = run(capsys, "--publish", "/p", publisher=Publisher(fail=True))
    assert code == 1
    assert "publish failed" in LAST_STDERR["text"]


def test_report_file_and_console(tools, tmp_path, capsys):
    report_file, console = tmp_path / "out" / "report.json", tmp_path / "console"
    console.write_text("[   12.3] cloud-init: earlier boot noise\n")
    _, report = run(capsys, "--report-file", str(report_file), "--console", str(console))
    assert json.loads(report_file.read_text()) == report
    text = console.read_text()
    assert "AMAZONEI-SETUP-REPORT-BEGIN\n" in text and text.endswith("AMAZONEI-SETUP-REPORT-END\n")
    assert parse_console(text) == report


def test_without_json_a_summary_is_printed(tools, capsys):
    assert main(["--runs", "2", "--warmup", "0"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("status passed\n") and "[ok] smoke_test" in out


def test_publishing_retries_while_the_instance_profile_propagates(tools, capsys):
    publisher = Publisher(fail=2, error="An error occurred (AccessDeniedException)")
    code, _ = run(capsys, "--expect", "none", "--publish", "/p/r", publisher=publisher)
    assert code == 0 and len(publisher.calls) == 3
    assert TIME.sleeps == [2.0, 4.0]
    assert "retrying in 2 s" in LAST_STDERR["text"]


def test_publishing_gives_up_after_the_retry_window(tools, capsys):
    publisher = Publisher(fail=True, error="Unable to locate credentials")
    code, _ = run(capsys, "--expect", "none", "--publish", "/p/r", publisher=publisher)
    assert code == 1 and "publish failed" in LAST_STDERR["text"]
    assert sum(TIME.sleeps) <= 300 and max(TIME.sleeps) == 30.0


def test_other_publishing_errors_are_not_retried(tools, capsys):
    publisher = Publisher(fail=True, error="ParameterMaxVersionLimitExceeded")
    code, _ = run(capsys, "--expect", "none", "--publish", "/p/r", publisher=publisher)
    assert code == 1 and len(publisher.calls) == 1 and TIME.sleeps == []
