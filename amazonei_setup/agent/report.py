"""The report: checks, secret scrubbing, the serial-console framing, and publishing to SSM."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
from collections.abc import Callable
from typing import Any

AGENT_VERSION = "0.1.0"  # equals amazonei_setup.__version__ (tests/agent checks it)
REPORT_SCHEMA = 1
CONSOLE_BEGIN = "AMAZONEI-SETUP-REPORT-BEGIN"
CONSOLE_END = "AMAZONEI-SETUP-REPORT-END"
REDACTED = "[redacted]"
_SECRET_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
_SECRET_PATTERNS = re.compile(
    r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"
    r"|(?i:(?:secret|token|password)[\w-]*[\"']?\s*[:=]\s*)[\"']?[^\s\"',}]+"
)


# Right after boot the instance profile's credentials may not be there yet, or IAM not yet
# propagated: these errors are retried for a few minutes, with bounded backoff.
_TRANSIENT = ("AccessDenied", "Unable to locate credentials", "NoCredentials", "credentials")
REPORTER_TAG = "amazonei-setup:reporter"  # naming.TAG_REPORTER (the agent ships alone)
PUBLISH_RETRY_S, PUBLISH_FIRST_DELAY_S, PUBLISH_MAX_DELAY_S = 300.0, 2.0, 30.0


class PublishError(Exception):
    """The report could not be written to the SSM parameter."""


def publish_with_retry(
    publish: Callable[[], str],
    sleep: Callable[[float], object],
    clock: Callable[[], float],
    log: Callable[[str], None] = lambda message: None,
) -> str:
    """`publish()`, again after 2, 4, 8 ... 30 s while it fails for want of credentials or
    permissions, for at most PUBLISH_RETRY_S; any other failure is raised at once."""
    start, delay = clock(), PUBLISH_FIRST_DELAY_S
    while True:
        try:
            return publish()
        except PublishError as error:
            transient = any(mark in str(error) for mark in _TRANSIENT)
            if not transient or clock() - start + delay > PUBLISH_RETRY_S:
                raise
            log(f"publish failed ({error}); retrying in {delay:g} s")
        sleep(delay)
        delay = min(delay * 2, PUBLISH_MAX_DELAY_S)


def check(name: str, ok: bool, reason: str) -> dict:
    return {"name": name, "ok": bool(ok), "reason": reason}


def scrub(value: Any, secrets: Any = ()) -> Any:
    """A copy of `value` in which no known secret (the IMDS token, AWS credentials from the
    environment, anything shaped like an access key or `secret=...`) survives in any string."""
    known = [
        s for s in list(secrets) + [os.environ.get(n, "") for n in _SECRET_ENV] if len(s) >= 16
    ]
    if isinstance(value, dict):
        return {k: scrub(v, known) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, known) for v in value]
    if isinstance(value, str):
        for secret in known:
            value = value.replace(secret, REDACTED)
        return _SECRET_PATTERNS.sub(REDACTED, value)
    return value


def report_json(report: dict, pretty: bool = False) -> str:
    if pretty:
        return json.dumps(report, indent=2, sort_keys=True)
    return json.dumps(report, separators=(",", ":"), sort_keys=True)


def console_lines(report: dict) -> list:
    """The report framed for the serial console: marker, the JSON on one line, marker."""
    return [CONSOLE_BEGIN, report_json(report), CONSOLE_END]


def parse_console(text: str) -> dict | None:
    """The last complete report found in console output (lines may carry a log prefix)."""
    found, inside = None, None
    for line in text.splitlines():
        if line.rstrip().endswith(CONSOLE_BEGIN):
            inside = []
        elif line.rstrip().endswith(CONSOLE_END) and inside is not None:
            with contextlib.suppress(ValueError, IndexError):
                found = json.loads(inside[0][inside[0].index("{") :])
            inside = None
        elif inside is not None:
            inside.append(line)
    return found


def _boto3_ssm() -> Callable[[str | None], Any] | None:
    try:
        import boto3
    except ImportError:
        return None
    return lambda region: boto3.client("ssm", region_name=region)


def publish_report(
    report: dict,
    parameter_name: str,
    region: str | None,
    client_factory: Callable[[str | None], Any] | None = None,
    runner: Callable[..., Any] | None = None,
    reporter: str | None = None,
) -> str:
    """Write the report to the SSM parameter `parameter_name`, with boto3 when importable, else
    `aws ssm put-parameter`. Returns the means used; raises PublishError.

    With `reporter` (this instance's ARN) the parameter is created, once, carrying it in the tag
    REPORTER_TAG: the instance role allows nothing else (resources/report_scope.py), and the tool
    trusts a report only when that tag names the instance it reads it for."""
    if not parameter_name:
        raise PublishError("no SSM parameter name: nothing published")
    value = report_json(report)
    request = {"Name": parameter_name, "Value": value, "Type": "String", "Overwrite": not reporter}
    request["Tier"] = "Intelligent-Tiering"  # Standard up to 4 KB, Advanced beyond
    if reporter:  # the API takes tags only when it creates the parameter
        request["Tags"] = [{"Key": REPORTER_TAG, "Value": reporter}]
    factory = client_factory
    if factory is None and runner is None:
        factory = _boto3_ssm()
    if factory is not None:
        try:
            factory(region).put_parameter(**request)
        except Exception as error:
            raise PublishError(f"ssm put-parameter {parameter_name}: {error}") from None
        return "boto3"
    argv = ["aws", "ssm", "put-parameter", "--name", parameter_name, "--value", value]
    argv += ["--type", "String", "--tier", "Intelligent-Tiering"]
    argv += ["--tags", f"Key={REPORTER_TAG},Value={reporter}"] if reporter else ["--overwrite"]
    argv += ["--region", region] if region else []
    try:
        run = runner or subprocess.run
        done = run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as error:
        raise PublishError(f"aws ssm put-parameter {parameter_name}: {error}") from None
    if done.returncode != 0:
        detail = (done.stderr or "").strip()[-300:]
        raise PublishError(
            f"aws ssm put-parameter {parameter_name} exited {done.returncode}: {detail}"
        )
    return "aws-cli"
