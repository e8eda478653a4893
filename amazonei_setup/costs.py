"""What an inference costs: the 2019 workshops' arithmetic, and a ranking of the catalog's
hardware at a measured latency."""

from __future__ import annotations

from dataclasses import dataclass

from amazonei_setup.catalog import Catalog


def cost_per_100k(price_per_hour_usd: float, latency_ms: float) -> float:
    """$/hour × seconds per inference × 100,000 inferences / 3,600 seconds per hour."""
    return price_per_hour_usd * (latency_ms / 1000) * 100_000 / 3600


@dataclass(frozen=True)
class Option:
    hardware: str
    price_per_hour_usd: float
    latency_ms: float
    measured: bool

    @property
    def cost_per_100k_usd(self) -> float:
        return cost_per_100k(self.price_per_hour_usd, self.latency_ms)

    def to_dict(self) -> dict[str, object]:
        return {
            "hardware": self.hardware,
            "price_per_hour_usd": self.price_per_hour_usd,
            "latency_ms": self.latency_ms,
            "measured": self.measured,
            "cost_per_100k_usd": round(self.cost_per_100k_usd, 4),
        }


def rank_options(
    catalog: Catalog, measured: list[tuple[str, float, float]], latency_ms: float
) -> list[Option]:
    """Every catalog instance type at `latency_ms`, plus the measured (hardware, price,
    latency) points, cheapest first. Unmeasured rows assume the measured latency: an estimate,
    marked as such, not a benchmark."""
    seen = {hardware for hardware, _, _ in measured}
    options = [Option(hardware, price, latency, True) for hardware, price, latency in measured]
    for instance_type, spec in sorted(catalog.instances.items()):
        if spec.price_per_hour is not None and instance_type not in seen:
            options.append(Option(instance_type, spec.price_per_hour, latency_ms, False))
    return sorted(options, key=lambda option: (option.cost_per_100k_usd, option.hardware))
