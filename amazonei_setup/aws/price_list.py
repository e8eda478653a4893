"""Prices from AWS's Price List Query API (`pricing:GetProducts`) for the region asked, cached
in the state home with the date they were read; the catalog's dated list prices stay the
offline answer when the API cannot be asked (no permission, no network). Every answer is a
`spec.pricing.Price`, which says where it came from.

The API's endpoints live in us-east-1 and ap-south-1 only (docs/DESIGN.md, "Prices"): the
caller passes clients made for `PRICE_LIST_REGION`, whatever region is priced.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from amazonei_setup.aws.clients import AwsClients, aws_errors
from amazonei_setup.errors import SetupError
from amazonei_setup.spec.catalog import Catalog
from amazonei_setup.spec.pricing import (
    ACCELERATED_PRICE_FAMILIES,
    Price,
    listed_price,
    offline_price,
    on_demand_usd,
    price_list_filters,
    products_usd,
)
from amazonei_setup.state.dated_cache import read_dated, today
from amazonei_setup.state.paths import write_private_json

PRICE_LIST_REGION = "us-east-1"
MAX_AGE_DAYS = 7


def cache_path(home: Path, region: str) -> Path:
    return home / "cache" / "prices" / f"{region}.json"


def _cache(home: Path, region: str, on: str) -> dict[str, Any]:
    empty = {"region": region, "read_at": on, "prices": {}}
    return read_dated(cache_path(home, region), on, MAX_AGE_DAYS, "prices", empty)


def _ask(pricing: AwsClients, region: str, instance_type: str) -> float | None:
    with aws_errors(f"reading the {region} price of {instance_type} (pricing:GetProducts)"):
        answer = pricing.client("pricing").get_products(
            ServiceCode="AmazonEC2",
            Filters=price_list_filters(region, instance_type),
            FormatVersion="aws_v1",
            MaxResults=10,
        )
    return on_demand_usd(list(answer.get("PriceList") or []))


def _ask_family(pricing: AwsClients, region: str, family: str) -> dict[str, float]:
    """Every type of one Price List `instanceFamily` in `region`: one paginated call."""
    with aws_errors(f"reading the {region} price list of {family}s (pricing:GetProducts)"):
        pages = (
            pricing.client("pricing")
            .get_paginator("get_products")
            .paginate(
                ServiceCode="AmazonEC2",
                Filters=price_list_filters(region, instance_family=family),
                FormatVersion="aws_v1",
                PaginationConfig={"PageSize": 100},
            )
        )
        return products_usd([raw for page in pages for raw in page.get("PriceList") or []])


def _read_families(pricing: AwsClients, region: str, document: dict[str, Any]) -> None:
    """The accelerated families read whole into `document` (once per cache): a type they do
    not list has no price-list figure in the region (None, so it is not asked alone)."""
    if document.get("families_read"):
        return
    for family in ACCELERATED_PRICE_FAMILIES:
        document["prices"].update(_ask_family(pricing, region, family))
    document["families_read"] = list(ACCELERATED_PRICE_FAMILIES)


def region_prices(
    pricing: AwsClients,
    home: Path,
    catalog: Catalog,
    region: str,
    instance_types: list[str],
    on: str | None = None,
    accelerated: Collection[str] = (),
) -> dict[str, Price]:
    """Each type's on-demand price in `region`: the price list's (cached), else the catalog's
    offline list price; a type neither knows is left out. The `accelerated` ones (types that
    carry a GPU or a Neuron device) come from reading their Price List families whole, the
    others one call each. One failed call (say AccessDenied) sends every type still unpriced
    to the offline answer: the rest would fail the same way."""
    on = on or today()
    document = _cache(home, region, on)
    found: dict[str, Price] = {}
    reachable, changed = True, False
    wanted = [t for t in accelerated if t not in document["prices"]]
    if wanted and not document.get("families_read"):
        try:
            _read_families(pricing, region, document)
        except SetupError:
            reachable = False
        else:
            changed = True
    if document.get("families_read"):
        for instance_type in wanted:
            document["prices"].setdefault(instance_type, None)
    for instance_type in instance_types:
        cached = document["prices"].get(instance_type)
        if cached is None and reachable and instance_type not in document["prices"]:
            try:
                cached = _ask(pricing, region, instance_type)
            except SetupError:
                reachable = False
            else:
                document["prices"][instance_type] = cached
                changed = True
        if cached is not None:
            found[instance_type] = listed_price(float(cached), region, str(document["read_at"]))
            continue
        offline = offline_price(catalog, instance_type)
        if offline is not None:
            found[instance_type] = offline
    if changed:
        write_private_json(cache_path(home, region), document)
    return found


@dataclass(frozen=True)
class SpotPrice:
    """The lowest current spot price of a type in a region: its zone and when it took effect."""

    usd_per_hour: float
    zone: str
    since: str  # ISO timestamp of the price change now in effect

    def source(self, region: str) -> str:
        return f"{region} spot price history, {self.since[:10]}"


def spot_price(
    clients: AwsClients, instance_type: str, now: datetime | None = None
) -> SpotPrice | None:
    """The lowest current Linux spot price of the type in the region's zones
    (`ec2:DescribeSpotPriceHistory` with StartTime now: AWS then answers, per zone, the last
    change before the start, "the effective price as of the start time"; without a StartTime
    it would page through up to 90 days of changes). None when AWS lists none."""
    start = now or datetime.now(timezone.utc)
    with aws_errors(f"reading the spot price of {instance_type}"):
        pages = clients.ec2.get_paginator("describe_spot_price_history").paginate(
            InstanceTypes=[instance_type],
            ProductDescriptions=["Linux/UNIX"],
            StartTime=start,
            EndTime=start,
        )
        history = [entry for page in pages for entry in page.get("SpotPriceHistory") or []]
    newest: dict[str, tuple[str, float]] = {}
    for entry in history:
        zone, stamp = entry.get("AvailabilityZone", ""), _iso(entry.get("Timestamp"))
        if zone not in newest or stamp > newest[zone][0]:
            newest[zone] = (stamp, float(entry["SpotPrice"]))
    if not newest:
        return None
    zone, (since, usd) = min(newest.items(), key=lambda item: item[1][1])
    return SpotPrice(usd, zone, since)


def _iso(stamp: Any) -> str:
    if isinstance(stamp, datetime):
        aware = stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)
        return aware.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return str(stamp or "")
