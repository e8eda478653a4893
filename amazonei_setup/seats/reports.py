"""The agents' reports, read back from SSM where each instance published its own."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from amazonei_setup.aws.clients import AwsClients, aws_errors, unless_absent
from amazonei_setup.aws.waiting import poll
from amazonei_setup.resources.naming import report_parameter_prefix
from amazonei_setup.resources.report_scope import reporter_is, tags_of

Report = dict[str, Any]  # one agent's report, as it published it (agent/README.md: its schema)
Reports = dict[str, Report | None]  # by instance id; None while one has not reported


def report_parameter(deployment: str, instance_id: str) -> str:
    return f"{report_parameter_prefix(deployment)}{instance_id}/report"


def fetch_report(clients: AwsClients, deployment: str, instance_id: str) -> dict[str, Any] | None:
    """The instance's report, or None while it has not published one."""
    name = report_parameter(deployment, instance_id)
    with aws_errors(f"reading the agent report {name}"):
        found = unless_absent(lambda: clients.ssm.get_parameter(Name=name), "ParameterNotFound")
    if found is None:
        return None
    if written_by_another(clients, name, instance_id):
        return {
            "status": "failed",
            "reason": f"the report in {name} was written by another instance; it is ignored",
        }
    value = found["Parameter"]["Value"]
    try:
        report = json.loads(value)
    except ValueError:
        return {"status": "failed", "reason": f"the report in {name} is not JSON"}
    return report if isinstance(report, dict) else {"status": "failed", "reason": "not a report"}


def written_by_another(clients: AwsClients, name: str, instance_id: str) -> bool:
    """True when the parameter's reporter tag names another instance (report_scope.py): the
    instance role cannot stop one seat from creating another's report before it publishes,
    but it can only tag what it creates with its own ARN."""
    with aws_errors(f"reading the tags of the agent report {name}"):
        found = unless_absent(
            lambda: clients.ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name),
            "InvalidResourceId",
        )
    return reporter_is(tags_of(found or {}), instance_id) is False


def wait_for_reports(
    clients: AwsClients,
    deployment: str,
    instance_ids: list[str],
    *,
    timeout_s: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_poll: Callable[[Reports], None] = lambda reports: None,
) -> Reports:
    """Poll with bounded backoff until every instance reported or the time is up.

    Returns what arrived; missing reports are None (the caller decides what that means).
    """
    reports: Reports = dict.fromkeys(instance_ids)

    def all_arrived() -> bool | None:
        for instance_id in instance_ids:
            if reports[instance_id] is None:
                reports[instance_id] = fetch_report(clients, deployment, instance_id)
        on_poll(reports)
        return True if all(report is not None for report in reports.values()) else None

    poll(all_arrived, timeout_s=timeout_s, sleep=sleep, clock=clock, first_delay_s=0.25,
         max_delay_s=15)  # fmt: skip
    return reports


def p50_latency_ms(report: dict[str, Any] | None) -> float | None:
    smoke = (report or {}).get("smoke_test") or {}
    latency = smoke.get("latency_ms") or {}
    value = latency.get("p50")
    return float(value) if isinstance(value, int | float) and value > 0 else None


def ran_where_priced(report: dict[str, Any] | None) -> bool:
    """False when an accelerator was expected but the model ran on the CPU (a degraded report):
    its latency is not the accelerator's and must not be priced as the accelerator's."""
    kind = ((report or {}).get("accelerator") or {}).get("kind")
    smoke = (report or {}).get("smoke_test") or {}
    return kind in (None, "none") or smoke.get("on_accelerator") is not False


def priced_latency_ms(report: dict[str, Any] | None) -> float | None:
    """The p50 latency to price the report's hardware with, or None (no latency, or not measured
    on that hardware)."""
    return p50_latency_ms(report) if ran_where_priced(report) else None
