"""`estimate`: what an inference costs on one hardware option, and, given an agent's report,
on every option of the catalog at the measured latency, ranked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from amazonei_setup.commands.context import Context
from amazonei_setup.errors import EXIT_OK, InputError


def _from_report(path: str) -> tuple[str, str | None, float]:
    """(instance type, accelerator, p50 latency) measured by an agent's report file."""
    from amazonei_setup.reports import p50_latency_ms

    try:
        report = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise InputError(
            f"cannot read the report {path}: {exc}", "pass an agent report (JSON)"
        ) from None
    if not isinstance(report, dict):
        raise InputError(f"{path} is not an agent report", "pass an agent report (JSON)")
    instance_type = (report.get("instance") or {}).get("type")
    accelerator = report.get("accelerator") or {}
    latency = p50_latency_ms(report)
    if not instance_type or latency is None:
        raise InputError(
            f"{path} has no instance type or no smoke-test latency",
            "use the report of an agent that ran its smoke test",
        )
    eia = accelerator.get("expected") if accelerator.get("kind") == "eia" else None
    return instance_type, eia, latency


def cmd_estimate(ctx: Context) -> int:
    from amazonei_setup.catalog import load_catalog
    from amazonei_setup.costs import cost_per_100k, rank_options

    args = ctx.args
    catalog = load_catalog()
    instance_type, accelerator, latency_ms = args.instance_type, args.accelerator, args.latency_ms
    if args.report:
        instance_type, accelerator, latency_ms = _from_report(args.report)
    if not instance_type or latency_ms is None:
        raise InputError(
            "estimate needs --instance-type and --latency-ms, or --report FILE",
            "e.g. --instance-type m5.large --accelerator eia1.large --latency-ms 222.78",
        )
    accelerator = accelerator if accelerator not in (None, "none") else None
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
    if not latency_ms > 0:
        raise InputError("--latency-ms must be a positive number of milliseconds")
    price = catalog.price_per_hour(instance_type, accelerator)
    if price is None:
        raise InputError(f"the catalog has no price for {instance_type}")
    canonical = catalog.canonical_accelerator(accelerator) if accelerator else None
    hardware = instance_type + (f" + {canonical}" if canonical else "")
    cost = cost_per_100k(price, latency_ms)
    document: dict[str, Any] = {
        "instance_type": instance_type,
        "accelerator": canonical,
        "latency_ms": latency_ms,
        "price_per_hour_usd": price,
        "cost_per_100k_usd": round(cost, 4),
        "prices_as_of": catalog.prices_as_of,
    }
    ranking = None
    if args.report or args.rank:
        ranking = rank_options(catalog, [(hardware, price, latency_ms)], latency_ms)
        document["ranking"] = [option.to_dict() for option in ranking]
    if ctx.terminal.json:
        ctx.terminal.emit_json(document)
        return EXIT_OK
    ctx.terminal.say(
        f"{hardware}: ${price:.4f}/hour at {latency_ms:g} ms per inference → "
        f"${cost:.2f} per 100k inferences (prices as of {catalog.prices_as_of})"
    )
    if ranking:
        from amazonei_setup.render import ranking_chart

        ctx.terminal.say(ranking_chart(ranking))
    return EXIT_OK
