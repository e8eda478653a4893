"""`verify NAME`, and the part of `launch` that waits for the agents: read each instance's
report from SSM, show it with the cost per 100k inferences, and say pass or fail (exit 3)."""

from __future__ import annotations

import time
from pathlib import Path

from amazonei_setup.aws.clients import AwsClients
from amazonei_setup.cli.context import (
    Context,
    clients_for_record,
    environment,
    followup,
    recorded,
    sandbox_of,
)
from amazonei_setup.cli.render.results import (
    plural,
    ranking_chart,
    report_failures,
    reports_table,
)
from amazonei_setup.engines.pick import for_record
from amazonei_setup.errors import EXIT_OK, AgentCheckFailed, AwsFailure, InputError
from amazonei_setup.seats.handout import check_handout_target, write_handout
from amazonei_setup.seats.reports import Report, Reports, priced_latency_ms, wait_for_reports
from amazonei_setup.seats.untrusted import plain
from amazonei_setup.spec.catalog import load_catalog
from amazonei_setup.spec.costs import rank_options
from amazonei_setup.state.ledger import Ledger
from amazonei_setup.state.record import DeploymentRecord

REPORT_WAIT_S = 900  # a DLAMI boots, installs nothing, runs the agent: minutes, not hours


def wait_and_show(
    ctx: Context,
    clients: AwsClients,
    record: DeploymentRecord,
    instance_ids: list[str],
    *,
    wait_s: float,
) -> Reports:
    """Reports for the instances (waiting up to wait_s), shown; the caller records them."""
    name = record.name
    spinning = not ctx.terminal.json and wait_s > 0
    status = ctx.terminal.status("waiting for the agents' reports …") if spinning else None
    shown = status.__enter__() if status is not None else None

    def progress(reports: Reports) -> None:
        if shown is not None:
            arrived = sum(report is not None for report in reports.values())
            shown.update(f"waiting for the agents' reports: {arrived}/{len(reports)} arrived")

    try:
        reports = wait_for_reports(
            clients,
            name,
            instance_ids,
            timeout_s=wait_s,
            sleep=ctx.hooks.sleep or time.sleep,
            clock=ctx.hooks.clock or time.monotonic,
            on_poll=progress,
        )
    finally:
        if status is not None:
            status.__exit__(None, None, None)
    if not ctx.terminal.json:
        _show(ctx, record, reports)
    return reports


def record_agents(record: DeploymentRecord, reports: Reports) -> None:
    """Each seat's agent verdict into the record (the caller saves it)."""
    for entry in record.instances:
        report = reports.get(entry.id)
        entry.agent = None if report is None else report.get("status")


def write_handout_note(ctx: Context, target: Path, record: DeploymentRecord) -> None:
    """Write the handout from the record (agent results included) and say where it is."""
    sandbox = sandbox_of(ctx, record) is not None
    verify = followup(ctx, "verify", record.name, region=record.region, sandbox=sandbox)
    markdown, table = write_handout(target, record, verify)
    ctx.terminal.result(
        f"Handout for {plural(len(record.instances), 'seat')}: {markdown} and {table}",
        soft_wrap=True,
    )


def _show(ctx: Context, record: DeploymentRecord, reports: Reports) -> None:
    catalog = load_catalog()
    profile = record.profile
    accelerator = profile.get("accelerator")
    accelerator = None if accelerator in (None, "none") else accelerator
    hardware = profile["instance_type"] + (f" + {accelerator}" if accelerator else "")
    price = catalog.price_per_hour(profile["instance_type"], accelerator)
    ctx.terminal.result(reports_table(reports, price, hardware))
    for line in report_failures(reports):
        ctx.terminal.result(line, soft_wrap=True)
    priced = [priced_latency_ms(r) for r in reports.values() if r and r.get("status") == "passed"]
    latencies = [latency for latency in priced if latency is not None]
    if latencies and price is not None:
        latency = sorted(latencies)[len(latencies) // 2]
        options = rank_options(catalog, [(hardware, price, latency, "measured")])
        ctx.terminal.result(ranking_chart(options, limit=8))


def outcome_of(reports: Reports, name: str, region: str | None = None) -> int:
    """0 when every agent passed; raises for failed or degraded (exit 3) or missing (exit 1)
    reports. Degraded: the accelerator is there but no framework could run the model on it.
    The `amazonei-setup verify` named in the hint is completed for pasting by the CLI."""
    verify = f"amazonei-setup verify {name}" + (f" --region {region}" if region else "")
    failed: dict[str, Report] = {
        i: r for i, r in reports.items() if r is not None and r.get("status") != "passed"
    }
    missing = [i for i, r in reports.items() if r is None]
    if failed:
        reasons = "; ".join(
            plain(f"{i}: {r.get('reason') or 'no reason given'}") for i, r in failed.items()
        )
        degraded = all(r.get("status") == "degraded" for r in failed.values())
        remedies = sorted({str(r["remedy"]) for r in failed.values() if r.get("remedy")})
        what = (
            "the accelerator is there but the model did not run on it"
            if degraded
            else "the agent's checks failed"
        )
        raise AgentCheckFailed(
            f"{what} ({reasons})",
            "; ".join([*remedies, ""]) + f"the agent's log is /var/log/amazonei-agent.log on the "
            f"instance; `{verify}` reads the reports again",
        )
    if missing:
        raise AwsFailure(
            f"no agent report from {', '.join(missing)} yet",
            f"the instances run; `{verify}` checks again later, and the "
            "agent's log is /var/log/amazonei-agent.log on the instance",
        )
    return EXIT_OK


def cmd_verify(ctx: Context) -> int:
    """The record gathered → its engine (picked from it) names the instances → their agents'
    reports read, shown and recorded → pass or fail."""
    name = ctx.args.name
    record = recorded(ctx, name)[0]
    if ctx.args.handout:
        check_handout_target(Path(ctx.args.handout))
    clients = clients_for_record(ctx, record)
    targets = for_record(record, environment(ctx)).verify_targets(record)
    if not targets:
        raise InputError(f"'{name}' has no running instance to verify", "launch it again")
    reports = wait_and_show(ctx, clients, record, targets, wait_s=float(ctx.args.wait))
    # The wait holds no lock; the verdicts go into the record only if it still exists (a
    # teardown meanwhile removed it: it must not come back).
    with Ledger(ctx.home).edit(record.region, name, f"a verify of '{name}'") as edit:
        if edit.record is not None:
            record_agents(edit.record, reports)
            edit.save()
            record = edit.record
    if ctx.args.handout:
        write_handout_note(ctx, Path(ctx.args.handout), record)
    if ctx.terminal.json:
        ctx.terminal.emit_json({"deployment": name, "region": record.region, "reports": reports})
    return outcome_of(reports, name, record.region)
