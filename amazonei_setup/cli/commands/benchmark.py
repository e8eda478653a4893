"""`benchmark`: which hardware is cheapest for this model, measured. Flags → request (checked,
exit 2) → plan (read-only lookups; --dry-run stops) → confirm → run (engines/benchmark) →
the ranked table, the JSON document and the report files."""

from __future__ import annotations

import time
from pathlib import Path

from amazonei_setup.cli.console import BenchmarkConsoleReporter
from amazonei_setup.cli.context import (
    Context,
    clients_for,
    confirm,
    default_region,
    followup,
    sandbox_run,
    wall_clock,
)
from amazonei_setup.cli.render.benchmark import plan_table, results_table, summary_lines
from amazonei_setup.engines.benchmark.candidate import Environment, Stopped
from amazonei_setup.engines.benchmark.past import remember
from amazonei_setup.engines.benchmark.plan import BenchmarkPlan, plan_benchmark
from amazonei_setup.engines.benchmark.report import write_report
from amazonei_setup.engines.benchmark.results import Candidate, rank, to_json_document
from amazonei_setup.engines.benchmark.run import BenchmarkOutcome, run_benchmark
from amazonei_setup.errors import EXIT_INTERRUPTED, EXIT_OK, InputError, SetupError
from amazonei_setup.seats.userdata import sandbox_signing_key
from amazonei_setup.spec.benchmark import (
    BenchmarkRequest,
    check_duration,
    check_fits,
    check_name,
    check_positive,
    check_region,
    default_name,
    parse_batch_sizes,
    parse_candidates,
)
from amazonei_setup.spec.catalog import Catalog, load_catalog
from amazonei_setup.spec.model_file import inspect_model, parse_input_shapes


def _request(ctx: Context) -> BenchmarkRequest:
    args = ctx.args
    catalog = load_catalog()
    region = check_region(_region(ctx))
    candidates = parse_candidates(args.candidates, catalog)
    batch_sizes = parse_batch_sizes(args.batch_sizes)
    duration = check_duration(args.duration)
    target = check_positive("--p99-target-ms", args.p99_target_ms)
    max_cost = check_positive("--max-cost", args.max_cost)
    shapes = parse_input_shapes(args.input_shape, args.input_dtype)
    model = inspect_model(args.model, shapes, batch_sizes)
    request = BenchmarkRequest(
        name=check_name(args.name) if args.name else default_name(model),
        region=region,
        model=model,
        candidates=candidates,
        batch_sizes=batch_sizes,
        duration_s=duration,
        p99_target_ms=target,
        max_cost_usd=max_cost,
        keep=bool(args.keep),
    )
    check_fits(request, catalog)
    return request


def _region(ctx: Context) -> str:
    region = getattr(ctx.args, "region", None) or default_region(ctx)
    if not region:
        raise InputError("no region given", "pass --region R, e.g. --region us-west-2")
    return region


def cmd_benchmark(ctx: Context) -> int:
    request = _request(ctx)
    catalog = load_catalog()
    clients = clients_for(ctx, request.region)
    with ctx.terminal.status(f"checking the candidates in {request.region} …"):
        plan = plan_benchmark(clients, catalog, request)
    shown = plan_table([row.to_dict() for row in plan.candidates])
    if ctx.args.dry_run:
        if ctx.terminal.json:
            ctx.terminal.emit_json({"dry_run": True, "plan": plan.to_dict()})
        else:
            ctx.terminal.result(shown)
            ctx.terminal.say("Dry run: nothing was created.")
        return EXIT_OK
    ctx.terminal.shown_for(shown, asking=not ctx.args.yes)
    for note in plan.notes:
        ctx.terminal.say(f"Note: {note}", soft_wrap=True)
    if not confirm(
        ctx,
        f"Launch {len(plan.candidates)} candidate(s) and measure the model?",
        "benchmark launches instances that bill by the minute",
        "pass --yes to confirm when not on a terminal (or --dry-run to only look)",
    ):
        ctx.terminal.say("Nothing was created.")
        return EXIT_OK
    return _run(ctx, plan, catalog)


def _run(ctx: Context, plan: BenchmarkPlan, catalog: Catalog) -> int:
    request = plan.request
    sandbox = sandbox_run(ctx)
    env = Environment(
        home=ctx.home,
        clients=clients_for(ctx, request.region),
        catalog=catalog,
        clock=ctx.hooks.clock or time.monotonic,
        now=wall_clock(ctx),
        user_data_key=sandbox_signing_key(ctx.home) if ctx.args.sandbox else None,
        poll_s=1.0 if sandbox else 10.0,
        sleep_impl=ctx.hooks.sleep,
    )
    remove = followup(ctx, "teardown", request.name, region=request.region)
    reporter = BenchmarkConsoleReporter(ctx.terminal)
    endpoint = clients_for(ctx, request.region).target.endpoint_url
    try:
        outcome = run_benchmark(plan, env, reporter, endpoint_url=endpoint)
    except Stopped:
        kept = "kept (--keep): " + remove if request.keep else "everything was removed"
        ctx.terminal.fail([f"interrupted; {kept}", "run the same command again to benchmark"])
        return EXIT_INTERRUPTED
    except SetupError as exc:
        exc.hint = (exc.hint + "; " if exc.hint else "") + (
            f"run the same command to resume, or `{remove}` to remove what is left"
        )
        raise
    return _show(ctx, outcome, sandbox, remove)


def _show(ctx: Context, outcome: BenchmarkOutcome, sandbox: bool, remove: str) -> int:
    request = outcome.plan.request
    found = []
    for done in outcome.outcomes:
        price = done.plan.price
        found.append(
            Candidate(
                instance_type=done.plan.candidate.instance_type,
                accelerator=done.plan.candidate.accelerator,
                price_per_hour_usd=price.usd_per_hour if price else None,
                price_source=price.source if price else "no price known",
                result=done.result,
                reason=done.reason,
                minutes_used=done.minutes_used,
                simulated=sandbox or bool((done.result or {}).get("simulated")),
            )
        )
    rows = rank(found, request.p99_target_ms)
    document = to_json_document(request.model.to_dict(), found, rows, request.p99_target_ms)
    document.update(benchmark=request.name, region=request.region)
    folder = Path(ctx.args.report_dir) if ctx.args.report_dir else _report_folder(ctx, request)
    paths = write_report(folder, document)
    remember(ctx.home, document)  # `estimate --rank --model M` shows it as measured
    document["report"] = {"html": str(paths.html), "csv": str(paths.csv), "json": str(paths.json)}
    if outcome.kept:
        document["teardown"] = remove
    if ctx.terminal.json:
        ctx.terminal.emit_json(document)
    else:
        ctx.terminal.result(results_table(document))
        for line in summary_lines(document):
            ctx.terminal.result(line, soft_wrap=True)
        ctx.terminal.result(f"Report: {paths.html}", soft_wrap=True)
        if outcome.kept:
            ctx.terminal.result(f"Kept (--keep); remove it all with: {remove}", soft_wrap=True)
    measured = any(row.status == "ok" for row in rows)
    return EXIT_OK if measured else 1


def _report_folder(ctx: Context, request: BenchmarkRequest) -> Path:
    """The benchmark's folder in the state home: benchmarks/<region>/<name>/<UTC time>."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return ctx.home / "benchmarks" / request.region / request.name / stamp
