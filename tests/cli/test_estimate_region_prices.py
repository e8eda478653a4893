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
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["price_per_hour_usd"] == snapshot()["regions"]["us-east-1"]["g6.xlarge"]
    assert document["price_source"] == f"us-east-1 price list, {today()}"
    # A type the price list has no figure for (nor the catalog): said plainly, exit 2.
    result = _estimate_json(run_cli, "us-east-1", "g6.4xlarge")
    assert result.code == 2 and "g6.4xlarge" in result.err and "Traceback" not in result.err


def test_rank_in_a_region_lists_the_accelerated_types_aws_offers_there(
    aws, run_cli, hooks, recorder
):
    _priced(hooks)
    result = _estimate_json(run_cli, "us-east-1", "m5.large", "--rank")
    assert result.code == 0, result.err
    rows = {row["hardware"]: row for row in json.loads(result.out)["ranking"]}
    listed = f"us-east-1 price list, {today()}"
    # AWS's own hardware (DescribeInstanceTypes), priced from the region's price list ...
    assert rows["g6.xlarge"]["price_basis"] == rows["g6e.xlarge"]["price_basis"] == listed
    assert rows["g6e.xlarge"]["price_per_hour_usd"] == 1.861
    # ... beside the catalog's CPU hosts; Neuron types too (another Price List family).
    assert rows["c5.large"]["price_basis"] == rows["trn1.2xlarge"]["price_basis"] == listed
    assert "g6.4xlarge" not in rows  # neither the price list nor the catalog has a figure
    assert "p2.xlarge" not in rows  # no DLAMI drives a K80 (refused family)
    assert not [name for name in rows if name.startswith("trn2")]  # not offered in us-east-1
    assert not [name for name in rows if name.endswith(".metal")]
    # The accelerated types' prices: one paginated read per Price List family, not one a type.
    asked = [c.params for c in recorder.calls if c.operation == "GetProducts"]
    families = [f["Value"] for c in asked for f in c["Filters"] if f["Field"] == "instanceFamily"]
    assert sorted(families) == ["GPU instance", "Machine Learning ASIC Instances"]
    assert len(asked) <= 2 + 8  # the catalog's 8 CPU hosts are asked one by one


def test_rank_without_a_region_is_the_catalog_offline(run_cli, recorder):
    result = run_cli(
        "estimate", "--rank", "--instance-type", "m5.large", "--latency-ms", "10",
        "--output", "json",
    )  # fmt: skip
    assert result.code == 0, result.err
    rows = json.loads(result.out)["ranking"]
    assert not recorder.calls  # asks AWS nothing
    assert {row["hardware"] for row in rows} == {"m5.large", *_catalog_priced()}
    assert all(row["price_basis"] == "us-east-1 list price" for row in rows)


def _catalog_priced() -> set[str]:
    from amazonei_setup.spec.catalog import load_catalog

    catalog = load_catalog()
    return {name for name, spec in catalog.instances.items() if spec.price_per_hour is not None}


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


def test_rank_where_aws_will_not_describe_its_hardware_ranks_the_catalog(aws, run_cli, hooks):
    _priced(hooks)

    def denied(**_):
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "UnauthorizedOperation", "Message": "no"}}, "X")

    on_event(hooks, "before-call.ec2.DescribeInstanceTypes", denied)
    result = _estimate_json(run_cli, "us-west-2", "m5.large", "--rank")
    assert result.code == 0, result.err
    rows = {row["hardware"] for row in json.loads(result.out)["ranking"]}
    assert {"g5.xlarge", "inf2.xlarge", "c5.large"} <= rows and "g6e.xlarge" not in rows
