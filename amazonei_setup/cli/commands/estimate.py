"""`estimate`: what an inference costs on one hardware option, at a latency either measured by an
agent on that hardware (`--report`) or given (`--latency-ms`), and, with `--rank` or a report,
the catalog's other options beside it, each latency labelled measured, given or missing."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amazonei_setup.cli.context import Context, clients_for, default_region
from amazonei_setup.errors import EXIT_OK, InputError


@dataclass(frozen=True)
class Measured:
    """What an agent's report says: where it ran and how fast."""

    instance_type: str | None
    accelerator: str | None
    latency_ms: float
    region: str | None


def _from_report(path: str) -> Measured:
    from amazonei_setup.seats.reports import p50_latency_ms, ran_where_priced

    try:
        report = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise InputError(
            f"cannot read the report {path}: {exc}", "pass an agent report (JSON)"
        ) from None
    if not isinstance(report, dict):
        raise InputError(f"{path} is not an agent report", "pass an agent report (JSON)")
    accelerator = report.get("accelerator") or {}
    latency = p50_latency_ms(report)
    if latency is None:
        raise InputError(
            f"{path} has no smoke-test latency",
            "use the report of an agent that ran its smoke test",
        )
    if not ran_where_priced(report):
        device = (report.get("smoke_test") or {}).get("device") or "cpu"
        raise InputError(
            f"{path}: the model ran on {device}, not on the {accelerator.get('expected')} "
            f"accelerator (status {report.get('status')}); its latency is not the accelerator's",
            str(report.get("remedy") or "fix the framework environment and run the agent again"),
        )
    instance = report.get("instance") or {}
    eia = accelerator.get("expected") if accelerator.get("kind") == "eia" else None
    return Measured(instance.get("type"), eia, latency, instance.get("region"))


def _hardware(args: Any) -> tuple[str, str | None, float, str, Measured | None]:
    """(instance type, accelerator, latency, latency source, the report's facts)."""
    if args.report and args.latency_ms is not None:
        raise InputError(
            "give --report or --latency-ms, not both",
            "a report's latency is measured; --latency-ms is a latency you give",
        )
    if not args.report:
        if not args.instance_type or args.latency_ms is None:
            raise InputError(
                "estimate needs --instance-type and --latency-ms, or --report FILE",
                "e.g. --instance-type m5.large --accelerator eia1.large --latency-ms 222.78",
            )
        return args.instance_type, args.accelerator, args.latency_ms, "given", None
    measured = _from_report(args.report)
    instance_type = measured.instance_type or args.instance_type
    if not instance_type:
        raise InputError(
            f"{args.report} names no instance type (the agent ran outside EC2)",
            "add --instance-type T: the hardware that report was measured on",
        )
    if args.instance_type and args.instance_type != instance_type:
        raise InputError(
            f"{args.report} was measured on {instance_type}, not {args.instance_type}",
            "drop --instance-type, or give --latency-ms to price other hardware",
        )
    accelerator = measured.accelerator or args.accelerator
    return instance_type, accelerator, measured.latency_ms, "measured", measured


def _measured_for_model(ctx: Context) -> list[tuple[str, float, float, str]]:
    """The latencies past benchmarks measured for --model, as ranking rows."""
    from amazonei_setup.engines.benchmark.past import measured_latencies
    from amazonei_setup.spec.model_file import inspect_model

    model = inspect_model(ctx.args.model, (), (1,))
    found = measured_latencies(ctx.home, model.sha256)
    return [(hardware, price, latency, "measured") for hardware, price, latency in found]


def _model_ranking(ctx: Context) -> int:
    """`estimate --rank --model M` alone: what benchmarks measured for M, beside the catalog."""
    from amazonei_setup.spec.catalog import load_catalog
    from amazonei_setup.spec.costs import rank_options

    known = _measured_for_model(ctx)
    ranking = rank_options(load_catalog(), known)
    if ctx.terminal.json:
        ctx.terminal.emit_json({"model": ctx.args.model, "ranking": [o.to_dict() for o in ranking]})
        return EXIT_OK
    if not known:
        ctx.terminal.say(
            f"No benchmark of {ctx.args.model} is recorded in {ctx.home}: every latency is "
            "missing (`amazonei-setup benchmark --model M --candidates ...` measures it)",
            soft_wrap=True,
        )
    from amazonei_setup.cli.render.results import ranking_chart

    ctx.terminal.result(ranking_chart(ranking))
    return EXIT_OK


def _region_prices(
    ctx: Context, catalog: Any, region: str, names: list[str], together: list[str]
) -> dict:
    """The region's on-demand prices (Price List Query API, cached; offline list prices where
    it cannot be asked) for `names`, each with its source; `together` (the accelerated ones)
    are read with their Price List families in one paginated call each."""
    from amazonei_setup.aws.price_list import PRICE_LIST_REGION, region_prices

    pricing = clients_for(ctx, PRICE_LIST_REGION)
    with ctx.terminal.status(f"reading the {region} price list …"):
        return region_prices(pricing, ctx.home, catalog, region, names, accelerated=together)


def _offered_accelerated(ctx: Context, catalog: Any, region: str) -> dict | None:
    """The accelerated types AWS offers in the region (DescribeInstanceTypes, cached, and
    DescribeInstanceTypeOfferings) that a Deep Learning AMI serves: what --rank lists beside
    the catalog's CPU hosts. None when AWS cannot be asked (the catalog's types are ranked)."""
    from amazonei_setup.aws.instance_types import accelerated_specs, offerings
    from amazonei_setup.errors import SetupError
    from amazonei_setup.spec.hardware_choices import offered_accelerated

    clients = clients_for(ctx, region)
    try:
        with ctx.terminal.status(f"reading the hardware of {region} …"):
            specs = accelerated_specs(clients, ctx.home, catalog)
            offers = offerings(clients, sorted(specs))
    except SetupError:
        return None
    return offered_accelerated(catalog, specs, offers)


def _spot(ctx: Context, region: str | None, instance_type: str, latency_ms: float) -> dict:
    """The current spot price beside on-demand (DescribeSpotPriceHistory), where AWS has one."""
    from amazonei_setup.aws.price_list import spot_price
    from amazonei_setup.spec.costs import cost_per_100k

    if region is None:
        raise InputError("--spot needs a region", "pass --region R (spot prices are per zone)")
    found = spot_price(clients_for(ctx, region), instance_type)
    if found is None:
        return {"price_per_hour_usd": None, "source": f"no spot price listed in {region}"}
    source = found.source(region)
    if ctx.args.sandbox:  # the sandbox's figures are a dated snapshot, never AWS's live ones
        source += ", the sandbox's snapshot (derived figures)"
    return {
        "price_per_hour_usd": found.usd_per_hour,
        "zone": found.zone,
        "source": source,
        "price_since": found.since,
        "cost_per_100k_usd": round(cost_per_100k(found.usd_per_hour, latency_ms), 4),
    }


def cmd_estimate(ctx: Context) -> int:
    from amazonei_setup.spec.catalog import load_catalog
    from amazonei_setup.spec.costs import cost_per_100k, price_basis, rank_options

    args = ctx.args
    if args.model and not args.rank:
        raise InputError("--model goes with --rank", "e.g. estimate --rank --model model.onnx")
    if args.model and not (args.report or args.instance_type or args.latency_ms is not None):
        return _model_ranking(ctx)
    catalog = load_catalog()
    instance_type, accelerator, latency_ms, source, measured = _hardware(args)
    accelerator = accelerator if accelerator not in (None, "none") else None
    region = args.region or (default_region(ctx) if args.spot else None)
    if region is not None and catalog.instance(instance_type) is None:
        from amazonei_setup.aws.instance_types import catalog_for

        catalog = catalog_for(clients_for(ctx, region), ctx.home, catalog, [instance_type])
    if catalog.instance(instance_type) is None:
        raise InputError(
            f"'{instance_type}' is not in the catalog",
            "supported: " + ", ".join(sorted(catalog.instances)),
        )
    if accelerator and catalog.accelerator(accelerator) is None:
        raise InputError(
            f"'{accelerator}' is not an Elastic Inference accelerator",
            "use one of " + ", ".join(sorted(catalog.accelerators)),
        )
    if not (latency_ms > 0 and math.isfinite(latency_ms)):  # nan and inf are not latencies
        raise InputError(
            f"--latency-ms must be a positive, finite number of milliseconds, not {latency_ms}"
        )
    ranks = bool(args.report or args.rank)
    ranked: list[str] | None = None
    regional = None
    if region:
        from amazonei_setup.spec.hardware import accelerated
        from amazonei_setup.spec.hardware_choices import rank_types

        offered = _offered_accelerated(ctx, catalog, region) if ranks else {}
        if offered is None:  # AWS's hardware is unknown: the catalog's types, as before
            ranked = sorted(catalog.instances)
        elif ranks:
            ranked = rank_types(catalog, offered)
            catalog = catalog.with_instances(offered)
        names = sorted({instance_type, *(ranked or [])})
        together = [n for n in names if accelerated(catalog.instances[n])]
        regional = _region_prices(ctx, catalog, region, names, together)
    listed = (regional or {}).get(instance_type) if not accelerator else None
    price = listed.usd_per_hour if listed else catalog.price_per_hour(instance_type, accelerator)
    if price is None:
        raise InputError(
            f"no price for {instance_type}: the catalog has none",
            "pass --region R to read it from the region's price list",
        )
    canonical = catalog.canonical_accelerator(accelerator) if accelerator else None
    hardware = instance_type + (f" + {canonical}" if canonical else "")
    cost = cost_per_100k(price, latency_ms)
    basis = listed.source if listed else price_basis(catalog)
    document: dict[str, Any] = {
        "instance_type": instance_type,
        "accelerator": canonical,
        "latency_ms": latency_ms,
        "latency_source": source,
        "price_per_hour_usd": price,
        "price_basis": basis,
        "prices_region": listed.region if listed else catalog.prices_region,
        "cost_per_100k_usd": round(cost, 4),
        "prices_as_of": listed.as_of if listed else catalog.prices_as_of,
    }
    if listed is not None:
        document["price_source"] = listed.source
    if args.spot:
        document["spot"] = _spot(ctx, region, instance_type, latency_ms)
    region = measured.region if measured else None
    note = None
    if region and region != document["prices_region"]:
        note = f"prices are {basis}s; {region}'s may differ by a few percent"
        document["note"] = note
    ranking = None
    if ranks:
        known = [(hardware, price, latency_ms, source)]
        if args.model:
            known += [row for row in _measured_for_model(ctx) if row[0] != hardware]
        ranking = rank_options(catalog, known, regional, ranked)
        document["ranking"] = [option.to_dict() for option in ranking]
    if ctx.terminal.json:
        ctx.terminal.emit_json(document)
        return EXIT_OK
    when = "" if listed else f", as of {catalog.prices_as_of}"
    ctx.terminal.result(
        f"{hardware}: ${price:.4f}/hour ({basis}{when}) at "
        f"{latency_ms:g} ms per inference ({source}) → ${cost:.2f} per 100k inferences"
    )
    spot = document.get("spot")
    if spot:
        ctx.terminal.result(
            f"spot: ${spot['price_per_hour_usd']:.4f}/hour in {spot['zone']} "
            f"({spot['source']}) → ${spot['cost_per_100k_usd']:.2f} per 100k inferences"
            if spot.get("price_per_hour_usd") is not None
            else f"spot: {spot['source']}"
        )
    if note:
        ctx.terminal.result(note)
    if ranking:
        from amazonei_setup.cli.render.results import ranking_chart

        ctx.terminal.result(ranking_chart(ranking))
    return EXIT_OK
