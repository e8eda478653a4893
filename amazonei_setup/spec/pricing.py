"""One price, and where it came from. Every price the tool shows carries its source in words
("us-east-1 list price of 2026-11-21, offline"; "us-west-2 price list, 2026-12-06"), so a user
can tell a dated list price from the live Price List answer for their region.

This module holds the offline answer (the dated catalog); `aws/` adds the Price List Query API
in front of it. Both return a `Price`, never a bare float."""

from __future__ import annotations

import json
from dataclasses import dataclass

from amazonei_setup.spec.catalog import Catalog


@dataclass(frozen=True)
class Price:
    """On-demand USD per hour, Linux, shared tenancy; `source` is said to the user as is."""

    usd_per_hour: float
    region: str  # the region the figure is for (the catalog's, offline)
    as_of: str  # ISO date the figure was read
    source: str
    offline: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "price_per_hour_usd": self.usd_per_hour,
            "price_region": self.region,
            "price_as_of": self.as_of,
            "price_source": self.source,
        }


def offline_price(
    catalog: Catalog, instance_type: str, accelerator: str | None = None
) -> Price | None:
    """The catalog's dated list price (instance plus accelerator), or None when it has none."""
    usd = catalog.price_per_hour(instance_type, accelerator)
    if usd is None:
        return None
    region, as_of = catalog.prices_region, catalog.prices_as_of
    return Price(usd, region, as_of, f"{region} list price of {as_of}, offline", offline=True)


# The Price List Query API's filters for the one on-demand price a user pays (Linux, shared
# tenancy, no pre-installed software, capacity that is used: not reservations' placeholders).
def price_list_filters(
    region: str, instance_type: str | None = None, instance_family: str | None = None
) -> list[dict[str, str]]:
    """One type's filters, or (no type) every product of one Price List `instanceFamily`."""
    fixed = {
        **({"instanceType": instance_type} if instance_type else {}),
        **({"instanceFamily": instance_family} if instance_family else {}),
        "regionCode": region,
        "operatingSystem": "Linux",
        "tenancy": "Shared",
        "preInstalledSw": "NA",
        "capacitystatus": "Used",
    }
    return [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in fixed.items()]


# The Price List's `instanceFamily` of the types that carry an accelerator (GPUs; Inferentia
# and Trainium): read whole, one paginated GetProducts each, instead of one call per type.
ACCELERATED_PRICE_FAMILIES = ("GPU instance", "Machine Learning ASIC Instances")


def products_usd(price_list: list[str]) -> dict[str, float]:
    """Each product's instance type and hourly on-demand USD (the first priced one per type)."""
    found: dict[str, float] = {}
    for raw in price_list:
        product = json.loads(raw) if isinstance(raw, str) else raw
        name = ((product.get("product") or {}).get("attributes") or {}).get("instanceType")
        usd = on_demand_usd([product])
        if name and usd is not None and name not in found:
            found[str(name)] = usd
    return found


def on_demand_usd(price_list: list[str]) -> float | None:
    """The hourly USD price in `terms.OnDemand` of GetProducts' PriceList (JSON strings); None
    when no product has one (a type not sold in the region)."""
    for raw in price_list:
        product = json.loads(raw) if isinstance(raw, str) else raw
        for term in (product.get("terms") or {}).get("OnDemand", {}).values():
            for dimension in (term.get("priceDimensions") or {}).values():
                usd = (dimension.get("pricePerUnit") or {}).get("USD")
                hourly = str(dimension.get("unit", "Hrs")).startswith("Hr")
                if usd is not None and hourly and float(usd) > 0:
                    return float(usd)
    return None


def listed_price(usd: float, region: str, as_of: str) -> Price:
    """A figure of the region's price list, read on `as_of`."""
    return Price(usd, region, as_of, f"{region} price list, {as_of}", offline=False)
