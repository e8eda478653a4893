"""The plan's cost line for a type the catalog does not price (issue 21): the region's
price-list price, with its source; the catalog's types keep their dated list price."""

from __future__ import annotations

import json

from support import on_event

from amazonei_sandbox.price_list import answer_request, snapshot
from amazonei_setup.state.dated_cache import today


def _plan(run_cli, instance_type: str, *flags: str):
    return run_cli(
        "plan", *flags, "--region", "us-east-1", "--name", "priced", "--access", "ssm",
        "--instance-type", instance_type,
    )  # fmt: skip


def test_a_type_only_aws_knows_costs_the_regions_price_with_its_source(aws, run_cli, hooks):
    aws("us-east-1")
    on_event(hooks, "before-send.pricing.GetProducts", answer_request)
    # Dated the day the price list was read (cached with it), not the snapshot's recording day.
    source = f"us-east-1 price list, {today()}"
    result = _plan(run_cli, "g6.xlarge", "--output", "json")
    assert result.code == 0, result.err
    cost = json.loads(result.out)["cost"]
    assert cost["price_per_hour_usd"] == snapshot()["regions"]["us-east-1"]["g6.xlarge"]
    assert cost["price_source"] == source and cost["total_per_day_usd"] is not None
    text = _plan(run_cli, "g6.xlarge")
    assert text.code == 0 and f"(on-demand, {source})" in " ".join(text.out.split())
    # A catalog type: its dated list price, as before (no price_source).
    listed = json.loads(_plan(run_cli, "g4dn.xlarge", "--output", "json").out)["cost"]
    assert listed["price_per_hour_usd"] == 0.526 and "price_source" not in listed
