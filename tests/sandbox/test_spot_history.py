"""The sandbox's DescribeSpotPriceHistory (moto answers 0.00001 dated 2006 for every zone):
answered from a dated snapshot whose figures are derived, and say so, with AWS's semantics for
the product, type and zone filters and for StartTime (issue 21)."""

from __future__ import annotations

from datetime import datetime, timezone

import boto3
import pytest
from botocore.exceptions import ClientError

from amazonei_sandbox.price_list import snapshot as on_demand_snapshot
from amazonei_sandbox.spot_history import derived_price, history, snapshot

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
LATEST, MIDDLE = "2026-12-06T09:05:51.000Z", "2026-11-24T17:40:03.000Z"


def _ask(**request):
    return history("us-west-2", request, NOW)["SpotPriceHistory"]


def test_the_snapshot_is_dated_says_it_is_derived_and_every_figure_follows_its_rule() -> None:
    data = snapshot()
    assert data["recorded"] and data["provenance"].startswith("DERIVED, NOT RECORDED FROM AWS")
    changes = dict(data["derivation"]["changes"])
    for region, types in data["history"].items():
        for instance_type, zones in types.items():
            on_demand = on_demand_snapshot()["regions"][region][instance_type]
            for zone, entries in zones.items():
                for stamp, price in entries:
                    assert price == derived_price(on_demand, zone, changes[stamp])


def test_start_time_now_gives_the_price_in_effect_in_each_zone() -> None:
    found = _ask(InstanceTypes=["m5.large"], ProductDescriptions=["Linux/UNIX"], StartTime=NOW)
    assert sorted(e["AvailabilityZone"] for e in found) == [f"us-west-2{z}" for z in "abcd"]
    assert {e["Timestamp"] for e in found} == {LATEST}
    assert {e["ProductDescription"] for e in found} == {"Linux/UNIX"}
    assert all(isinstance(e["SpotPrice"], str) and float(e["SpotPrice"]) > 0 for e in found)


def test_a_range_gives_its_changes_and_the_one_in_effect_at_its_start() -> None:
    start = datetime(2026, 11, 20, tzinfo=timezone.utc)
    found = _ask(InstanceTypes=["m5.large"], AvailabilityZone="us-west-2a", StartTime=start)
    assert [e["Timestamp"] for e in found] == [LATEST, MIDDLE, "2026-11-09T06:14:27.000Z"]
    end = datetime(2026, 11, 30, tzinfo=timezone.utc)
    found = _ask(InstanceTypes=["m5.large"], AvailabilityZone="us-west-2a", StartTime=start,
                 EndTime=end)  # fmt: skip
    assert [e["Timestamp"] for e in found] == [MIDDLE, "2026-11-09T06:14:27.000Z"]


def test_without_a_start_time_the_past_90_days_newest_first() -> None:
    found = _ask(Filters={"instance-type": ["m5.large"], "availability-zone": ["us-west-2b"]})
    assert [e["Timestamp"] for e in found] == sorted({e["Timestamp"] for e in found}, reverse=True)
    assert len(found) == 3
    later = history(
        "us-west-2", {"InstanceTypes": ["m5.large"]}, datetime(2027, 6, 1, tzinfo=timezone.utc)
    )
    assert later["SpotPriceHistory"] == []


def test_filters_other_products_and_pages() -> None:
    assert _ask(InstanceTypes=["m5.large"], ProductDescriptions=["Windows"]) == []
    assert _ask(Filters={"product-description": ["Linux*"], "instance-type": ["m5.*"]})
    first = history("us-west-2", {"InstanceTypes": ["m5.large"], "MaxResults": 5}, NOW)
    rest = history(
        "us-west-2", {"InstanceTypes": ["m5.large"], "NextToken": first["NextToken"]}, NOW
    )
    assert len(first["SpotPriceHistory"]) == 5 and len(rest["SpotPriceHistory"]) == 7
    assert rest["NextToken"] == ""


def test_moto_answers_from_the_snapshot_and_refuses_what_ec2_refuses(aws) -> None:
    ec2 = boto3.client("ec2", region_name="us-west-2")
    found = ec2.describe_spot_price_history(
        InstanceTypes=["g5.xlarge"], ProductDescriptions=["Linux/UNIX"], StartTime=NOW
    )["SpotPriceHistory"]
    zones = {e["AvailabilityZone"]: e for e in found}
    assert set(zones) == {"us-west-2a", "us-west-2b", "us-west-2c"}
    assert zones["us-west-2b"]["SpotPrice"] == snapshot()["history"]["us-west-2"]["g5.xlarge"][
        "us-west-2b"][-1][1]  # fmt: skip
    assert zones["us-west-2a"]["AvailabilityZoneId"].startswith("usw2-az")
    assert zones["us-west-2a"]["Timestamp"].year == 2026
    with pytest.raises(ClientError) as refused:
        ec2.describe_spot_price_history(Filters=[{"Name": "colour", "Values": ["red"]}])
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
