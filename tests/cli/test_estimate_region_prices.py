"""`estimate --region R` prices from R's price list (pricing:GetProducts, answered by the
sandbox's recorded snapshot), and every figure says where it came from (issue 21)."""

from __future__ import annotations

import json

from support import on_event

from amazonei_sandbox.price_list import answer_request, snapshot
from amazonei_sandbox.spot_history import snapshot as spot_snapshot
from amazonei_setup.aws.instance_types import today
from amazonei_setup.aws.price_list import cache_path


def _priced(hooks) -> None:
    on_event(hooks, "before-send.pricing.GetProducts", answer_request)


def _estimate_json(run_cli, region: str, instance_type: str, *flags: str):
    """`estimate` of `instance_type` at a given 10 ms latency in `region`, as JSON."""
    return run_cli(
        "estimate", *flags, "--region", region, "--instance-type", instance_type,
        "--latency-ms", "10", "--output", "json",
    )  # fmt: skip


def test_rank_in_eu_west_1_shows_eu_west_1_prices_with_their_source(aws, run_cli, hooks, recorder):
    _priced(hooks)
    result = _estimate_json(run_cli, "eu-west-1", "inf2.xlarge", "--rank")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    # The price list's date is the day it was read (cached with it), not the snapshot's: the
    # snapshot was recorded on 2026-12-07, so comparing with it would pass on that day only.
    source = f"eu-west-1 price list, {today()}"
    assert document["price_source"] == document["price_basis"] == source
    assert document["prices_region"] == "eu-west-1"
    assert document["price_per_hour_usd"] == snapshot()["regions"]["eu-west-1"]["inf2.xlarge"]
    bases = {row["hardware"]: row["price_basis"] for row in document["ranking"]}
    assert bases["g5.xlarge"] == source and bases["inf2.xlarge"] == source
    asked = [c for c in recorder.calls if c.operation == "GetProducts"]
    filters = [{f["Field"]: f["Value"] for f in c.params["Filters"]} for c in asked]
    assert filters and all(f["regionCode"] == "eu-west-1" for f in filters)
    assert {
        "operatingSystem": "Linux",
        "tenancy": "Shared",
        "preInstalledSw": "NA",
        "capacitystatus": "Used",
    }.items() <= filters[0].items()
    assert json.loads(cache_path(run_cli.home, "eu-west-1").read_text())["read_at"]
    text = run_cli(
        "estimate",
        "--rank",
        "--region",
        "eu-west-1",
        "--instance-type",
        "inf2.xlarge",
        "--latency-ms",
        "10",
    )
    assert text.code == 0 and source in text.out


def test_without_the_price_list_the_offline_price_says_so(aws, run_cli, hooks):
    def denied(**_):
        from botocore.exceptions import ClientError

        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetProducts"
        )

    on_event(hooks, "before-call.pricing.GetProducts", denied)
    result = _estimate_json(run_cli, "eu-west-1", "m5.large")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["price_basis"].endswith(", offline") and "us-east-1" in document["price_basis"]


def test_a_type_only_aws_knows_is_priced_from_the_region(aws, run_cli, hooks):
    _priced(hooks)
    result = _estimate_json(run_cli, "us-east-1", "g6.xlarge")
    # The snapshot has no g6 figure: no price, said plainly (exit 2), not a traceback.
    assert result.code == 2 and "g6.xlarge" in result.err and "Traceback" not in result.err


def test_spot_is_shown_beside_on_demand_with_its_zone_source_and_date(
    aws, run_cli, hooks, recorder
):
    _priced(hooks)
    result = _estimate_json(run_cli, "us-west-2", "m5.large", "--spot")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    spot = document["spot"]
    # The sandbox's snapshot (spot_snapshot.json): the price in effect is its newest change, and
    # the cheapest zone of m5.large is the one whose derived fraction is lowest (b).
    zones = spot_snapshot()["history"]["us-west-2"]["m5.large"]
    since, price = zones["us-west-2b"][-1]
    assert spot["zone"] == "us-west-2b" and spot["price_per_hour_usd"] == float(price)
    assert spot["source"] == f"us-west-2 spot price history, {since[:10]}"
    assert spot["price_since"].startswith(since[:19])
    assert document["price_source"].startswith("us-west-2 price list")
    asked = [c for c in recorder.calls if c.operation == "DescribeSpotPriceHistory"]
    assert asked and all("StartTime" in c.params for c in asked)  # the price in effect now
    text = run_cli("estimate", "--spot", "--region", "us-west-2", "--instance-type", "m5.large",
                   "--latency-ms", "10")  # fmt: skip
    assert text.code == 0 and f"us-west-2 spot price history, {since[:10]}" in text.out


def test_in_the_sandbox_the_spot_source_says_it_is_the_sandbox_snapshot(
    aws, run_cli, hooks, monkeypatch
):
    from types import SimpleNamespace

    from amazonei_sandbox import control

    # The sandbox's answer as in-process moto gives it (the same patched moto): no server.
    monkeypatch.setattr(control, "start", lambda home: SimpleNamespace(endpoint=None))
    _priced(hooks)
    result = _estimate_json(run_cli, "us-west-2", "m5.large", "--spot", "--sandbox")
    assert result.code == 0, result.err
    source = json.loads(result.out)["spot"]["source"]
    assert source.startswith("us-west-2 spot price history, 2026-12-06")
    assert source.endswith("the sandbox's snapshot (derived figures)")
