"""Pricing what the agent measured: `estimate --report` and `--rank` label each latency as
measured, given or missing, never price a CPU latency as the accelerator's, and say which region
the prices are for; `verify` exits 3 on a degraded report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from amazonei_setup.cli.commands.verify import outcome_of
from amazonei_setup.errors import AgentCheckFailed


def agent_report(
    instance_type: str | None = "m5.large",
    kind: str = "eia",
    expected: str = "eia1.large",
    on_accelerator: bool = True,
    status: str = "passed",
    p50: float = 222.78,
    region: str | None = "us-west-2",
) -> dict:
    return {
        "status": status,
        "reason": None if status == "passed" else "model_on_accelerator: no framework ...",
        "remedy": None if status == "passed" else "use a Deep Learning AMI (Conda) ...",
        "accelerator": {"kind": kind, "expected": expected, "ok": True},
        "smoke_test": {
            "ok": True,
            "device": "eia:0" if on_accelerator else "cpu",
            "on_accelerator": on_accelerator,
            "latency_ms": {"p50": p50, "p90": p50, "p99": p50},
        },
        "instance": {"type": instance_type, "region": region},
    }


def write(tmp_path: Path, report: dict) -> str:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    return str(path)


def test_given_latency_keeps_the_2019_arithmetic_and_is_labelled_given(run_cli):
    result = run_cli(
        "estimate", "--instance-type", "m5.large", "--accelerator", "eia1.large",
        "--latency-ms", "222.78", "--rank", "--output", "json",
    )  # fmt: skip
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert round(document["cost_per_100k_usd"], 2) == 2.20
    assert document["latency_source"] == "given" and document["price_basis"] == (
        "us-east-1 list price"
    )
    first, *others = document["ranking"]
    assert first["hardware"] == "m5.large + eia1.large" and first["latency_source"] == "given"
    assert first["measured"] is False  # a typed-in latency is never "measured"
    assert others and all(o["latency_source"] == "missing" for o in others)
    assert all(o["cost_per_100k_usd"] is None and o["latency_ms"] is None for o in others)


def test_a_report_is_priced_as_measured_and_the_region_is_said(run_cli, tmp_path):
    result = run_cli("estimate", "--report", write(tmp_path, agent_report()))
    assert result.code == 0, result.err
    flat = " ".join((result.out + result.err).split())
    assert "$2.20 per 100k" in flat and "(measured)" in flat
    assert "us-east-1 list price" in flat and "us-west-2's may differ" in flat
    assert "m5.large + eia1.large 0.3560 222.78 ms measured 2.2030" in flat
    assert "Fastest measured: m5.large + eia1.large" in flat


def test_the_measured_row_always_appears_in_the_chart():
    from rich.console import Console

    from amazonei_setup.cli.render.results import ranking_chart
    from amazonei_setup.spec.catalog import load_catalog
    from amazonei_setup.spec.costs import rank_options

    catalog = load_catalog()
    known = [("c5.large", 0.085, 1.0, "given"), ("p3.2xlarge", 3.06, 5000.0, "measured")]
    options = rank_options(catalog, known)
    assert [o.hardware for o in options[:2]] == ["c5.large", "p3.2xlarge"]
    console = Console(width=120, record=True)
    console.print(ranking_chart(options, limit=1))
    text = console.export_text()
    assert "c5.large" in text and "p3.2xlarge" in text and "m5.large" not in text


def test_a_degraded_report_is_not_priced_as_the_accelerator(run_cli, tmp_path):
    report = agent_report(on_accelerator=False, status="degraded")
    result = run_cli("estimate", "--report", write(tmp_path, report))
    assert result.code == 2
    assert "the model ran on cpu, not on the eia1.large accelerator" in result.err
    assert "Deep Learning AMI (Conda)" in result.err


def test_a_local_report_takes_the_instance_type_from_the_command_line(run_cli, tmp_path):
    report = agent_report(instance_type=None, kind="nvidia", expected="nvidia", region=None)
    path = write(tmp_path, report)
    missing = run_cli("estimate", "--report", path)
    assert missing.code == 2 and "add --instance-type" in missing.err
    result = run_cli(
        "estimate", "--report", path, "--instance-type", "g4dn.xlarge", "--output", "json"
    )
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["instance_type"] == "g4dn.xlarge" and document["latency_source"] == "measured"


def test_a_report_cannot_be_priced_as_other_hardware(run_cli, tmp_path):
    path = write(tmp_path, agent_report())
    result = run_cli("estimate", "--report", path, "--instance-type", "c5.large")
    assert result.code == 2 and "measured on m5.large, not c5.large" in result.err
    both = run_cli("estimate", "--report", path, "--latency-ms", "10")
    assert both.code == 2 and "not both" in both.err


def test_verify_exits_3_on_degraded_with_what_to_install():
    report = agent_report(on_accelerator=False, status="degraded")
    with pytest.raises(AgentCheckFailed) as caught:
        outcome_of({"i-1": report}, "demo")
    assert caught.value.exit_code == 3
    assert "the accelerator is there but the model did not run on it" in str(caught.value)
    assert "Deep Learning AMI (Conda)" in str(caught.value.hint)


def test_a_degraded_report_shows_no_cost_in_the_reports_table():
    from rich.console import Console

    from amazonei_setup.cli.render.results import reports_table

    console = Console(width=160, record=True)
    degraded = agent_report(on_accelerator=False, status="degraded")
    console.print(reports_table({"i-1": degraded, "i-2": agent_report()}, 0.356, "m5.large"))
    lines = console.export_text().splitlines()
    row = {line.split()[0]: line for line in lines if line.startswith("i-")}
    assert "$" not in row["i-1"] and "2.2030" in row["i-2"]
