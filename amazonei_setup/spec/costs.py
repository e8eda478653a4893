"""What an inference costs: the 2019 workshops' arithmetic, and a ranking of the catalog's
hardware at a measured latency."""

from __future__ import annotations

from dataclasses import dataclass

from amazonei_setup.spec.catalog import Catalog
from amazonei_setup.spec.pricing import Price


def cost_per_100k(price_per_hour_usd: float, latency_ms: float) -> float:
    """$/hour × seconds per inference × 100,000 inferences / 3,600 seconds per hour."""
    return price_per_hour_usd * (latency_ms / 1000) * 100_000 / 3600


SOURCES = ("measured", "given", "missing")


@dataclass(frozen=True)
class Option:
    """One hardware option. `latency_source` says where its latency came from: `measured` by an
    agent on that hardware, `given` on the command line, or `missing` (no cost is computed: a
    latency measured elsewhere says nothing about this hardware)."""

    hardware: str
    price_per_hour_usd: float
    latency_ms: float | None
    latency_source: str
    price_basis: str = ""

    @property
    def measured(self) -> bool:
        return self.latency_source == "measured"

    @property
    def cost_per_100k_usd(self) -> float | None:
        if self.latency_ms is None:
            return None
        return cost_per_100k(self.price_per_hour_usd, self.latency_ms)

    def to_dict(self) -> dict[str, object]:
        cost = self.cost_per_100k_usd
        return {
            "hardware": self.hardware,
            "price_per_hour_usd": self.price_per_hour_usd,
            "price_basis": self.price_basis,
            "latency_ms": self.latency_ms,
            "latency_source": self.latency_source,
            "measured": self.measured,
            "cost_per_100k_usd": None if cost is None else round(cost, 4),
        }


def _basis(prices: dict[str, Price] | None, hardware: str, default: str) -> str:
    found = (prices or {}).get(hardware.split(" + ")[0])
    return found.source if found is not None and " + " not in hardware else default


def price_basis(catalog: Catalog) -> str:
    """What the catalog's prices are, said aloud: it holds one region's list prices."""
    return f"{catalog.prices_region} list price"


def rank_options(
    catalog: Catalog,
    known: list[tuple[str, float, float, str]],
    prices: dict[str, Price] | None = None,
    instance_types: list[str] | None = None,
) -> list[Option]:
    """The known (hardware, price, latency, source) rows, costed and cheapest first, then every
    other catalog instance type (or each of `instance_types`: a region's choices, see
    spec/hardware_choices.rank_types) with its price and a missing latency (no cost). With
    `prices` (a region's, each with its source), those are the figures and their basis."""
    basis = price_basis(catalog)
    seen = {hardware for hardware, _, _, _ in known}
    options = [
        Option(hardware, price, latency, source, _basis(prices, hardware, basis))
        for hardware, price, latency, source in known
    ]
    names = sorted(catalog.instances) if instance_types is None else sorted(instance_types)
    for instance_type in names:
        spec = catalog.instances.get(instance_type)
        if instance_type in seen or spec is None:
            continue
        if prices is not None:
            if instance_type in prices:
                price = prices[instance_type]
                options.append(
                    Option(instance_type, price.usd_per_hour, None, "missing", price.source)
                )
        elif spec.price_per_hour is not None:
            options.append(Option(instance_type, spec.price_per_hour, None, "missing", basis))
    return sorted(
        options,
        key=lambda o: (
            o.cost_per_100k_usd is None,
            o.cost_per_100k_usd or 0.0,
            o.price_per_hour_usd,
            o.hardware,
        ),
    )
