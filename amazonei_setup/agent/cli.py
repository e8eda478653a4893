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

from .catalog import normalize_eia_type, parse_expect
from .environments import agent_root
from .frameworks import FRAMEWORK_TIMEOUT_S, INSTALL_HINTS, run_smoke
from .imds import ImdsClient, ImdsError, instance_arn, read_associations, read_instance
from .launch import run_benchmark
from .probes import PROBE_TIMEOUT_S, probe_eia, probe_neuron, probe_nvidia
from .report import (
    AGENT_VERSION,
    REPORT_SCHEMA,
    PublishError,
    check,
    console_lines,
    publish_report,
    publish_with_retry,
    report_json,
    scrub,
)

DEFAULT_RUNS, DEFAULT_WARMUP = 50, 5
# The accelerator probe per kind: (IMDS client, EIA type, instance type, timeout) -> probe. An
# agent bundled for one kind carries only its own (bundle.py), for room in the user data.
PROBES = {
    "eia": lambda client, eia_type, instance_type, timeout: probe_eia(client, eia_type),
    "neuron": lambda client, eia_type, instance_type, timeout: probe_neuron(instance_type, timeout),
    "nvidia": lambda client, eia_type, instance_type, timeout: probe_nvidia(instance_type, timeout),
}


def _log(message: str) -> None:
    sys.stderr.write(f"amazonei-agent: {message}\n")
    sys.stderr.flush()


def expected_from_imds(client: ImdsClient, instance_type: str | None) -> str:
    """Without --expect: what IMDS says the instance carries, an EI association first."""
    try:
        associations = read_associations(client)
    except ImdsError:
        associations = []
    if associations:
        return normalize_eia_type(associations[0]["type"] or "eia")
    return instance_type or "none"


def _on_accelerator_check(kind: str, smoke: dict) -> dict:
    if smoke.get("on_accelerator"):
        said = f"{smoke['framework']} in {smoke['environment']} ran it on {smoke['device']}"
        return check("model_on_accelerator", True, said)
    tried = "; ".join(
        f"{a.get('environment', '')} {a['framework']}: {a['outcome']}, {a['reason']}"
        for a in smoke.get("attempts", [])
        if a.get("environment")
    )
    tried = tried or f"no framework environment found under {agent_root()}"
    said = f"no framework could run the model on the {kind} accelerator ({tried}); ran on cpu"
    return check("model_on_accelerator", False, said)


def run_agent(
    expect: str | None = None,
    instance_type: str | None = None,
    smoke_test: bool = True,
    runs: int = DEFAULT_RUNS,
    warmup: int = DEFAULT_WARMUP,
    probe_timeout: float = PROBE_TIMEOUT_S,
    imds: ImdsClient | None = None,
    deployment: str | None = None,
    framework_timeout: float = FRAMEWORK_TIMEOUT_S,
) -> dict:
    """Probe, smoke-test and return the report (already scrubbed of secrets). `expect` is
    eia|neuron|nvidia|none, an instance type or an accelerator type (ValueError otherwise), or
    None for what IMDS says; `instance_type` is the type launched, when the expectation names
    only an accelerator. Status: passed, failed, or degraded (the accelerator is there but no
    framework environment could run the model on it)."""
    clock = time.monotonic()
    started = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    client = imds or ImdsClient()
    instance = read_instance(client)
    source = "given"
    if expect is None:
        expect, source = expected_from_imds(client, instance["type"]), "imds"
    spec = parse_expect(expect)
    checks = []
    wanted = spec["instance_type"] or instance_type
    if wanted and instance["type"]:
        said = f"IMDS says {instance['type']}, expected {wanted}"
        checks.append(check("instance_type", instance["type"] == wanted, said))
    kind = spec["kind"]
    _log(f"expecting {spec['spec']} (kind {kind}); instance {instance['type'] or 'unknown'}")
    if kind in PROBES:
        probe = PROBES[kind](client, spec["eia_type"], wanted or instance["type"], probe_timeout)
    else:
        probe = {"found": None, "simulated": False, "checks": []}
    checks += probe["checks"]
    failed = [c["reason"] for c in probe["checks"] if not c["ok"]]
    reason = "; ".join(failed or [c["reason"] for c in probe["checks"]]) or "CPU only"
    accelerator = {"kind": kind, "expected": spec["spec"], "ok": not failed, "reason": reason}
    accelerator["expected_from"] = source
    accelerator.update(found=probe["found"], simulated=probe["simulated"])
    if smoke_test:
        _log(f"smoke test: {runs} runs after {warmup} warm-up")
        try:
            smoke = run_smoke(kind, wanted or instance["type"], runs, warmup, framework_timeout)
        except Exception as error:  # a broken framework must give a report, not a traceback
            smoke = {"ok": False, "skipped": False, "reason": f"{type(error).__name__}: {error}"}
        checks.append(check("smoke_test", smoke["ok"], smoke.get("reason") or ""))
        if kind != "none":
            checks.append(_on_accelerator_check(kind, smoke))
    else:
        smoke = {"ok": None, "skipped": True, "latency_ms": None, "reason": "skipped by request"}
    versions = {"python": platform.python_version(), "agent": AGENT_VERSION}
    if smoke.get("framework"):
        versions[smoke["framework"]] = smoke.get("framework_version")
    if kind == "nvidia" and probe["found"]:
        versions["nvidia_driver"] = probe["found"]["driver_version"]
    failures = [f"{c['name']}: {c['reason']}" for c in checks if not c["ok"]]
    status = "failed" if failures else "passed"
    if failures and all(f.startswith("model_on_accelerator:") for f in failures):
        status = "degraded"
    report = {
        "schema": REPORT_SCHEMA,
        "status": status,
        "reason": failures[0] if failures else None,
        "remedy": INSTALL_HINTS.get(kind) if status == "degraded" else None,
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
        latency, where = smoke["latency_ms"], smoke["device"]
        where += " (simulated)" if smoke.get("simulated") else ""
        line = f"smoke test {smoke['framework']} in {smoke.get('environment')} on {where}: "
        line += f"p50 {latency['p50']} / p90 {latency['p90']} / p99 {latency['p99']} ms"
        line += f", load {smoke['load_s']} s" if smoke.get("load_s") is not None else ""
        if smoke.get("speedup"):
            line += f", {smoke['speedup']}x the CPU ({smoke['cpu_latency_ms']['p50']} ms)"
        lines.append(line)
    for item in report["checks"]:
        lines.append(f"  [{'ok' if item['ok'] else 'FAILED'}] {item['name']}: {item['reason']}")
    if report.get("remedy"):
        lines.append(f"to use the accelerator: {report['remedy']}")
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
    add(
        "--framework-timeout",
        type=float,
        default=FRAMEWORK_TIMEOUT_S,
        help="seconds per framework environment's smoke run (compile included)",
    )
    add("--version", action="version", version=f"amazonei-agent {AGENT_VERSION}")
    return parser


def _pick(flag: object, config: dict, key: str, default: object = None) -> object:
    return flag if flag is not None else config.get(key, default)


def main(
    argv: list | None = None,
    publisher: Callable[..., object] | None = None,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """`publisher(report, parameter_name, region)` replaces publish_report, `sleep`/`clock` the
    waits between its retries (tests inject them)."""
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config) if args.config else {}
        expect = _pick(args.expect, config, "expect")
        if expect is not None:
            expect = str(expect)
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
        framework_timeout=args.framework_timeout,
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
    # Where and who from IMDS: a stack set's instance runs (and its role allows its report) in
    # its own region and account, which no user data can know. The config only fills gaps.
    region = args.region or report["instance"]["region"] or config.get("region")
    if parameter:
        code = _publish(report, parameter, region, config, publisher, sleep, clock) or code
    else:
        _log("no report parameter: nothing published")
    if config.get("benchmark"):  # after the report: the tool knows the instance is up
        code = run_benchmark(config["benchmark"], region, _log) or code
    return code


def _publish(report, parameter, region, config, publisher, sleep, clock) -> int:
    # The report's tag names its writer, this instance: the role allows no other.
    prefix, instance_id = config.get("instance_arn_prefix"), report["instance"]["id"]
    reporter = instance_arn(ImdsClient()) or (prefix and instance_id and prefix + instance_id)
    publish = publisher or (lambda *given: publish_report(*given, reporter=reporter))
    try:
        means = publish_with_retry(lambda: publish(report, parameter, region), sleep, clock, _log)
        _log(f"report published to SSM parameter {parameter} ({means})")
    except PublishError as error:
        _log(f"publish failed: {error}")
        return 1
    return 0
