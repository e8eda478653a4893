"""The agent's command line. Exit status: 0 every check passed, 1 a check failed (or the report
could not be published), 2 bad usage. Publishes nothing unless given a parameter name."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone

from .catalog import parse_expect
from .imds import ImdsClient, read_instance
from .model import run_smoke_test
from .probes import PROBE_TIMEOUT_S, probe_eia, probe_neuron, probe_nvidia
from .report import (
    AGENT_VERSION,
    REPORT_SCHEMA,
    PublishError,
    check,
    console_lines,
    publish_report,
    report_json,
    scrub,
)

DEFAULT_RUNS, DEFAULT_WARMUP = 50, 5


def _log(message: str) -> None:
    sys.stderr.write(f"amazonei-agent: {message}\n")
    sys.stderr.flush()


def run_agent(
    expect: str = "none",
    instance_type: str | None = None,
    smoke_test: bool = True,
    runs: int = DEFAULT_RUNS,
    warmup: int = DEFAULT_WARMUP,
    probe_timeout: float = PROBE_TIMEOUT_S,
    imds: ImdsClient | None = None,
    deployment: str | None = None,
) -> dict:
    """Probe, smoke-test and return the report (already scrubbed of secrets). `expect` is
    eia|neuron|nvidia|none, an instance type or an accelerator type (ValueError otherwise);
    `instance_type` is the type launched, when the expectation names only an accelerator."""
    clock = time.monotonic()
    started = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    spec = parse_expect(expect)
    client = imds or ImdsClient()
    instance = read_instance(client)
    checks = []
    wanted = spec["instance_type"] or instance_type
    if wanted and instance["type"]:
        said = f"IMDS says {instance['type']}, expected {wanted}"
        checks.append(check("instance_type", instance["type"] == wanted, said))
    kind = spec["kind"]
    _log(f"expecting {spec['spec']} (kind {kind}); instance {instance['type'] or 'unknown'}")
    if kind == "eia":
        probe = probe_eia(client, spec["eia_type"])
    elif kind == "neuron":
        probe = probe_neuron(wanted or instance["type"], probe_timeout)
    elif kind == "nvidia":
        probe = probe_nvidia(wanted or instance["type"], probe_timeout)
    else:
        probe = {"found": None, "simulated": False, "checks": []}
    checks += probe["checks"]
    failed = [c["reason"] for c in probe["checks"] if not c["ok"]]
    reason = "; ".join(failed or [c["reason"] for c in probe["checks"]]) or "CPU only"
    accelerator = {"kind": kind, "expected": spec["spec"], "ok": not failed, "reason": reason}
    accelerator.update(found=probe["found"], simulated=probe["simulated"])
    if smoke_test:
        _log(f"smoke test: {runs} runs after {warmup} warm-up")
        try:
            smoke = run_smoke_test(kind, runs, warmup)
        except Exception as error:  # a broken framework must give a report, not a traceback
            smoke = {"ok": False, "skipped": False, "reason": f"{type(error).__name__}: {error}"}
        checks.append(check("smoke_test", smoke["ok"], smoke.get("reason") or ""))
    else:
        smoke = {"ok": None, "skipped": True, "latency_ms": None, "reason": "skipped by request"}
    versions = {"python": platform.python_version(), "agent": AGENT_VERSION}
    if smoke.get("framework"):
        versions[smoke["framework"]] = smoke.get("framework_version")
    if kind == "nvidia" and probe["found"]:
        versions["nvidia_driver"] = probe["found"]["driver_version"]
    failures = [f"{c['name']}: {c['reason']}" for c in checks if not c["ok"]]
    report = {
        "schema": REPORT_SCHEMA,
        "status": "failed" if failures else "passed",
        "reason": failures[0] if failures else None,
        "deployment": deployment,
        "accelerator": accelerator,
        "smoke_test": smoke,
        "instance": instance,
        "versions": versions,
        "checks": checks,
        "started_at": started,
        "duration_s": round(time.monotonic() - clock, 3),
    }
    return scrub(report, client.secrets())


def summary_lines(report: dict) -> list:
    accelerator, smoke = report["accelerator"], report["smoke_test"]
    lines = [f"status {report['status']}" + (f": {report['reason']}" if report["reason"] else "")]
    simulated = " (simulated)" if accelerator["simulated"] else ""
    lines.append(f"accelerator {accelerator['expected']}{simulated}: {accelerator['reason']}")
    if smoke.get("latency_ms"):
        line = f"smoke test {smoke['framework']} on {smoke['device']}: "
        line += f"p50 {smoke['latency_ms']['p50']} ms, {smoke['throughput_per_s']} inferences/s"
        if smoke.get("speedup"):
            line += f", {smoke['speedup']}x the CPU ({smoke['cpu_latency_ms']['p50']} ms)"
        lines.append(line)
    for item in report["checks"]:
        lines.append(f"  [{'ok' if item['ok'] else 'FAILED'}] {item['name']}: {item['reason']}")
    return lines


def load_config(path: str) -> dict:
    with open(path) as handle:
        config = json.load(handle)
    if not isinstance(config, dict):
        raise ValueError("the config must be a JSON object")
    return config


def write_report_file(report: dict, path: str) -> None:
    """Atomically (write, then rename): a reader never sees half a report."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".tmp", "w") as out:
        out.write(report_json(report, pretty=True) + "\n")
    os.replace(path + ".tmp", path)


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="amazonei-agent", description="Check the accelerator, run a smoke test, report."
    )
    add = parser.add_argument
    add("--expect", help="eia|neuron|nvidia|none, an instance or accelerator type (inf1.xlarge)")
    add("--config", help="JSON config written by the bootstrap")
    add("--json", action="store_true", help="print the report as JSON on stdout")
    add("--report-file", help="write the report (JSON) here")
    add("--console", help="write the report between marker lines here (/dev/console)")
    add("--publish", metavar="PARAMETER", help="SSM parameter to write the report to")
    add("--region", help="region of that parameter (default: the instance's)")
    add("--no-smoke-test", action="store_true", help="check the hardware only")
    add("--runs", type=_count, help=f"timed runs (default {DEFAULT_RUNS})")
    add("--warmup", type=_count, help=f"warm-up runs (default {DEFAULT_WARMUP})")
    add("--probe-timeout", type=float, default=PROBE_TIMEOUT_S, help="seconds per probe")
    add("--version", action="version", version=f"amazonei-agent {AGENT_VERSION}")
    return parser


def _pick(flag: object, config: dict, key: str, default: object = None) -> object:
    return flag if flag is not None else config.get(key, default)


def main(argv: list | None = None, publisher: Callable[..., object] | None = None) -> int:
    """`publisher(report, parameter_name, region)` replaces publish_report (tests inject one)."""
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config) if args.config else {}
        expect = str(_pick(args.expect, config, "expect", "none"))
        parse_expect(expect)
    except (OSError, ValueError) as error:
        _log(f"bad input: {error}")
        return 2
    agent_options = config.get("agent") or {}
    report = run_agent(
        expect,
        instance_type=config.get("instance_type"),
        smoke_test=not args.no_smoke_test and agent_options.get("smoke_test", True) is not False,
        runs=int(_pick(args.runs, config, "runs", DEFAULT_RUNS)),
        warmup=int(_pick(args.warmup, config, "warmup", DEFAULT_WARMUP)),
        probe_timeout=args.probe_timeout,
        deployment=config.get("deployment"),
    )
    parameter = args.publish or config.get("report_parameter")
    prefix, instance_id = config.get("report_parameter_prefix"), report["instance"]["id"]
    if not parameter and prefix and instance_id:
        parameter = f"{prefix.rstrip('/')}/{instance_id}/report"
    report["report_parameter"] = parameter
    code = 0 if report["status"] == "passed" else 1
    report_file, console = (
        _pick(args.report_file, config, "report_file"),
        _pick(args.console, config, "console"),
    )
    if report_file:
        write_report_file(report, str(report_file))
    if console:
        try:
            with open(str(console), "a") as out:
                out.write("\n".join(console_lines(report)) + "\n")
        except OSError as error:
            _log(f"cannot write the report to {console}: {error}")
    summary = summary_lines(report)
    if args.json:
        sys.stdout.write(report_json(report, pretty=True) + "\n")
        for line in summary:
            _log(line)
    else:
        sys.stdout.write("\n".join(summary) + "\n")
    sys.stdout.flush()
    if not parameter:
        _log("no report parameter: nothing published")
        return code
    region = args.region or config.get("region") or report["instance"]["region"]
    try:
        means = (publisher or publish_report)(report, parameter, region)
        _log(f"report published to SSM parameter {parameter} ({means})")
    except PublishError as error:
        _log(f"publish failed: {error}")
        return 1
    return code
