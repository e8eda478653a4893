"""EC2's DescribeSpotPriceHistory answered from a dated snapshot (spot_snapshot.json) instead of
moto's fixed "0.00001" dated 2006 for every offered zone (docs/DESIGN.md, "Hardware and
prices"). The snapshot's figures are DERIVED, not recorded from AWS: each is a stated fraction of
the sandbox's own on-demand snapshot (price_snapshot.json), per zone and per price change
(`derived_price`; the file says so and tests/sandbox/test_spot_history.py holds every figure to
the rule). It proves the path, the request's semantics and the labelling, never the figures.

What AWS does, and this answers the same way (EC2 API Reference, "DescribeSpotPriceHistory"):
- entries `{AvailabilityZone, AvailabilityZoneId, InstanceType, ProductDescription, SpotPrice,
  Timestamp}`, the price a string, newest first;
- `InstanceTypes`, `ProductDescriptions`, `AvailabilityZone` / `AvailabilityZoneId` (not both)
  and the filters availability-zone, availability-zone-id, instance-type, product-description,
  spot-price (exact or with the wildcards * and ?); another filter is `InvalidParameterValue`;
- with `StartTime` (and `EndTime`, default now): the changes within the range, and for each
  (type, product, zone) the last change before the start, "which is the effective price as of
  the start time" — so `StartTime=now` gives one current price per zone;
- without `StartTime`: the changes "for up to the past 90 days" before the end;
- `MaxResults` / `NextToken` pages.
"""

from __future__ import annotations

import fnmatch
import json
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from amazonei_sandbox.patching import once

SNAPSHOT = Path(__file__).with_name("spot_snapshot.json")
HISTORY_DAYS = 90
FILTERS = (
    "availability-zone",
    "availability-zone-id",
    "instance-type",
    "product-description",
    "spot-price",
)


@lru_cache(maxsize=1)
def snapshot() -> dict[str, Any]:
    return json.loads(SNAPSHOT.read_text())


def derived_price(on_demand: float, zone: str, multiplier: float) -> str:
    """The snapshot's rule, as the file states it: on-demand x the zone letter's fraction x the
    change's multiplier, to six decimals as EC2 writes spot prices."""
    fraction = snapshot()["derivation"]["zone_fraction"][zone[-1]]
    return f"{on_demand * fraction * multiplier:.6f}"


class SpotRequestError(ValueError):
    """A request EC2 would refuse: (code, message)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _when(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    text = str(value)
    if text.replace(".", "", 1).isdigit():  # epoch seconds, as the CLI sends `date +%s`
        return datetime.fromtimestamp(float(text), tz=timezone.utc)
    stamp = _stamp(text)
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def _entries(region: str, zone_ids: dict[str, str]) -> list[dict[str, Any]]:
    product = snapshot()["product_description"]
    return [
        {
            "AvailabilityZone": zone,
            "AvailabilityZoneId": zone_ids.get(zone, ""),
            "InstanceType": instance_type,
            "ProductDescription": product,
            "SpotPrice": price,
            "Timestamp": stamp,
        }
        for instance_type, zones in snapshot()["history"].get(region, {}).items()
        for zone, changes in zones.items()
        for stamp, price in changes
    ]


def _matches(entry: dict[str, Any], request: dict[str, Any]) -> bool:
    wanted = {
        "InstanceType": request.get("InstanceTypes") or None,
        "ProductDescription": request.get("ProductDescriptions") or None,
        "AvailabilityZone": [request["AvailabilityZone"]]
        if request.get("AvailabilityZone")
        else None,
        "AvailabilityZoneId": [request["AvailabilityZoneId"]]
        if request.get("AvailabilityZoneId")
        else None,
    }
    if any(values is not None and entry[key] not in values for key, values in wanted.items()):
        return False
    keys = {
        "availability-zone": "AvailabilityZone",
        "availability-zone-id": "AvailabilityZoneId",
        "instance-type": "InstanceType",
        "product-description": "ProductDescription",
        "spot-price": "SpotPrice",
    }
    for name, values in (request.get("Filters") or {}).items():
        if not any(fnmatch.fnmatchcase(str(entry[keys[name]]), str(v)) for v in values):
            return False
    return True


def _in_time(entries: list[dict[str, Any]], start: datetime | None, end: datetime) -> list[dict]:
    """The changes in [start, end] plus, per (type, product, zone), the last before start;
    without a start, the changes of the HISTORY_DAYS before the end."""
    if start is None:
        oldest = end - timedelta(days=HISTORY_DAYS)
        return [e for e in entries if oldest <= _stamp(e["Timestamp"]) <= end]
    kept = [e for e in entries if start <= _stamp(e["Timestamp"]) <= end]
    effective: dict[tuple[str, str, str], dict[str, Any]] = {}
    for entry in entries:
        if _stamp(entry["Timestamp"]) < start:
            key = (entry["InstanceType"], entry["ProductDescription"], entry["AvailabilityZone"])
            if key not in effective or entry["Timestamp"] > effective[key]["Timestamp"]:
                effective[key] = entry
    return kept + list(effective.values())


def history(
    region: str, request: dict[str, Any], now: datetime, zone_ids: dict[str, str] | None = None
) -> dict[str, Any]:
    """DescribeSpotPriceHistory's answer: `request` has the API's member names (Filters as
    {name: [values]}, StartTime/EndTime as datetimes or ISO text)."""
    if request.get("AvailabilityZone") and request.get("AvailabilityZoneId"):
        raise SpotRequestError(
            "InvalidParameterCombination",
            "Either AvailabilityZone or AvailabilityZoneId can be specified, but not both",
        )
    for name in request.get("Filters") or {}:
        if name not in FILTERS:
            raise SpotRequestError("InvalidParameterValue", f"The filter '{name}' is invalid.")
    start, end = _when(request.get("StartTime")), _when(request.get("EndTime")) or now
    entries = [e for e in _entries(region, zone_ids or {}) if _matches(e, request)]
    found = sorted(
        _in_time(entries, start, end),
        key=lambda e: (e["Timestamp"], e["AvailabilityZone"], e["InstanceType"]),
        reverse=True,
    )
    offset = int(request.get("NextToken") or 0)
    size = int(request.get("MaxResults") or 1000)
    page = found[offset : offset + size]
    more = offset + size < len(found)
    return {"SpotPriceHistory": page, "NextToken": str(offset + size) if more else ""}


@once
def install() -> None:
    """Answer moto's DescribeSpotPriceHistory from the snapshot, in-process and in the server."""
    from moto.core.responses import ActionResult
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.responses.spot_instances import SpotInstances

    def describe_spot_price_history(self: Any) -> ActionResult:
        self.error_on_dryrun()
        zone_ids = {z.name: z.zone_id for z in self.ec2_backend.describe_availability_zones()}
        request = {
            name: self._get_param(name)
            for name in (
                "InstanceTypes",
                "ProductDescriptions",
                "AvailabilityZone",
                "AvailabilityZoneId",
                "StartTime",
                "EndTime",
                "MaxResults",
                "NextToken",
            )
        }
        request["Filters"] = self._filters_from_querystring()
        try:
            answer = history(self.region, request, datetime.now(timezone.utc), zone_ids)
        except SpotRequestError as refused:
            raise EC2ClientError(refused.code, str(refused)) from None
        return ActionResult(answer)

    SpotInstances.describe_spot_price_history = describe_spot_price_history  # type: ignore[method-assign]
