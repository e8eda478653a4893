"""`estimate`: what an inference costs on a hardware option."""

from __future__ import annotations

from amazonei_setup.commands.context import Context
from amazonei_setup.errors import EXIT_OK, InputError


def cmd_estimate(ctx: Context) -> int:
    from amazonei_setup.catalog import load_catalog

    args = ctx.args
    catalog = load_catalog()
    accelerator = args.accelerator if args.accelerator not in (None, "none") else None
    if catalog.instance(args.instance_type) is None:
        raise InputError(
            f"'{args.instance_type}' is not in the catalog",
            "supported: " + ", ".join(sorted(catalog.instances)),
        )
    if accelerator and catalog.accelerator(accelerator) is None:
        raise InputError(
            f"'{accelerator}' is not an Elastic Inference accelerator",
            "use one of " + ", ".join(sorted(catalog.accelerators)),
        )
    if not args.latency_ms > 0:
        raise InputError("--latency-ms must be a positive number of milliseconds")
    price = catalog.price_per_hour(args.instance_type, accelerator)
    if price is None:
        raise InputError(f"the catalog has no price for {args.instance_type}")
    cost = price * (args.latency_ms / 1000) * 100_000 / 3600
    document = {
        "instance_type": args.instance_type,
        "accelerator": catalog.canonical_accelerator(accelerator) if accelerator else None,
        "latency_ms": args.latency_ms,
        "price_per_hour_usd": price,
        "cost_per_100k_usd": round(cost, 4),
        "prices_as_of": catalog.prices_as_of,
    }
    if ctx.terminal.json:
        ctx.terminal.emit_json(document)
    else:
        hardware = args.instance_type + (f" + {document['accelerator']}" if accelerator else "")
        ctx.terminal.say(
            f"{hardware}: ${price:.4f}/hour at {args.latency_ms:g} ms per inference → "
            f"${cost:.2f} per 100k inferences (prices as of {catalog.prices_as_of})"
        )
    return EXIT_OK
