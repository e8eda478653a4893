"""From each candidate's benchmark result (the agent's result JSON, schema 1: the agent README's
"Benchmark (issue 22)") to the rows a person compares: priced per 100k inferences, ranked,
marked on the Pareto frontier, with the cheapest row that meets the p99 target. Pure functions:
no I/O, nothing printed, nothing scaled or invented (a figure the result lacks stays None)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from functools import partial
from typing import Any

PER = 100_000  # cost is said per this many inferences
SIMULATED_MEASURED_ON = (
    "this machine's CPU (sandbox: every candidate was measured on the local CPU, "
    "not on its accelerator)"
)


@dataclass
class Candidate:
    """One hardware choice and what became of it. `price_per_hour_usd` is the whole candidate's
    (instance plus accelerator); `reason` is the tool's own word when it knows why there is no
    result (no capacity, a hang); `minutes_used` the instance-minutes actually billed."""

    instance_type: str
    accelerator: str | None
    price_per_hour_usd: float | None
    price_source: str
    result: dict[str, Any] | None
    reason: str | None
    minutes_used: float
    simulated: bool


@dataclass
class Row:
    """One candidate at one batch size (or one failed candidate, `batch_size` None). The fields
    up to `reason` are the issue's JSON fields; the rest are extras the table and chart use
    (`kind` the result's cpu|neuron|nvidia|eia, `mean_ms` what the single-stream cost rests on,
    `valid`/`why` the result's verdict on its own p99)."""

    instance_type: str
    accelerator: str | None
    device: str | None
    framework: str | None
    status: str  # "ok" | "failed"
    batch_size: int | None
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    queries: int | None
    throughput_per_s: float | None
    cost_per_100k_usd: float | None
    cost_per_100k_at_throughput_usd: float | None
    price_per_hour_usd: float | None
    price_source: str
    pareto: bool
    meets_target: bool | None
    simulated: bool
    reason: str | None
    speedup_vs_cpu: float | None = None
    valid: bool | None = None
    why: str | None = None
    streams: int | None = None
    mean_ms: float | None = None
    kind: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


ROW_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Row))


def hardware_label(instance_type: str, accelerator: str | None) -> str:
    """How a candidate is named to a person: `m5.large + eia2.medium`, `g5.xlarge`."""
    return f"{instance_type} + {accelerator}" if accelerator else instance_type


def cost_per_100k(price_per_hour: float | None, mean_ms: float | None, batch: int) -> float | None:
    """USD per 100k inferences served single-stream: one query of `batch` inferences at a time,
    back to back, so the instance is billed `mean_ms` per query, i.e. mean_ms / 1000 / batch
    seconds per inference, at price_per_hour / 3600 USD per second:

        price_per_hour / 3600 × (mean_ms / 1000 / batch) × 100000

    The mean, not the p50: queries back to back take queries × mean in all, and the slow tail
    is billed as much as the typical query (the issue's own example, m5.large + eia1.large at
    222.78 ms → $2.20, is this formula). None when the price or the latency is unknown."""
    if price_per_hour is None or mean_ms is None or batch <= 0:
        return None
    return price_per_hour / 3600 * (mean_ms / 1000 / batch) * PER


def cost_per_100k_at_throughput(
    price_per_hour: float | None, throughput_per_s: float | None
) -> float | None:
    """USD per 100k inferences with the instance kept busy at its best measured throughput
    (inferences per second, concurrent streams): price_per_hour / 3600 / throughput × 100000."""
    if price_per_hour is None or not throughput_per_s or throughput_per_s <= 0:
        return None
    return price_per_hour / 3600 / throughput_per_s * PER


def _number(value: Any) -> float | None:
    """A finite number from the result, else None (the result is the instance's word)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _integer(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number == int(number) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _failure_reason(candidate: Candidate) -> str:
    """Why a candidate has no measured row: the result's outcome and reason, else the tool's."""
    result = candidate.result or {}
    outcome, reason = _text(result.get("outcome")), _text(result.get("reason"))
    said: str | None
    if outcome and reason:
        said = reason if reason.lower().startswith(outcome.lower()) else f"{outcome}: {reason}"
    else:
        said = outcome or reason
    if said:
        return said
    if candidate.reason:
        return candidate.reason
    if candidate.result is None:
        return "no result"
    if candidate.result.get("status") != "ok":
        return "failed (its result gives no reason)"
    return "its result measured no batch size"


def _measured(result: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The result's batch entries that carry a latency and a batch size."""
    if not result or result.get("status") != "ok" or not isinstance(result.get("batches"), list):
        return []
    return [
        b
        for b in result["batches"]
        if isinstance(b, dict)
        and (_integer(b.get("batch_size")) or 0) > 0
        and _number(b.get("p99_ms")) is not None
        and _number(b.get("p50_ms")) is not None
    ]


def _rows_of(candidate: Candidate, target: float | None) -> list[Row]:
    result = candidate.result or {}
    simulated = bool(candidate.simulated or result.get("simulated"))
    make_row = partial(  # what every row of the candidate shares
        Row,
        instance_type=candidate.instance_type,
        accelerator=candidate.accelerator,
        device=_text(result.get("device")),
        framework=_text(result.get("framework")),
        price_per_hour_usd=candidate.price_per_hour_usd,
        price_source=candidate.price_source,
        simulated=simulated,
        kind=_text(result.get("kind")),
    )
    batches = _measured(candidate.result)
    if not batches:
        return [
            make_row(
                status="failed",
                batch_size=None,
                p50_ms=None,
                p90_ms=None,
                p99_ms=None,
                queries=None,
                throughput_per_s=None,
                cost_per_100k_usd=None,
                cost_per_100k_at_throughput_usd=None,
                pareto=False,
                meets_target=None,
                reason=_failure_reason(candidate),
            )
        ]
    rows = []
    price = candidate.price_per_hour_usd
    for b in batches:
        batch = int(b["batch_size"])
        p50, p99 = _number(b.get("p50_ms")), _number(b.get("p99_ms"))
        mean = _number(b.get("mean_ms"))
        mean = p50 if mean is None else mean  # an older result without a mean: its p50
        throughput = _number(b.get("throughput_per_s"))
        rows.append(
            make_row(
                status="ok",
                batch_size=batch,
                p50_ms=p50,
                p90_ms=_number(b.get("p90_ms")),
                p99_ms=p99,
                queries=_integer(b.get("queries")),
                throughput_per_s=throughput,
                cost_per_100k_usd=cost_per_100k(price, mean, batch),
                cost_per_100k_at_throughput_usd=cost_per_100k_at_throughput(price, throughput),
                pareto=False,
                meets_target=None if target is None or p99 is None else p99 <= target,
                reason=candidate.reason,
                valid=b.get("valid") if isinstance(b.get("valid"), bool) else None,
                why=_text(b.get("why")),
                streams=_integer(b.get("streams")),
                mean_ms=mean,
            )
        )
    return rows


def _mark_pareto(rows: Sequence[Row]) -> None:
    """On the frontier: an ok row with a known cost and p99 that no other such row beats on
    both, strictly (cheaper AND faster); a tie on either does not dominate."""
    priced = [
        (r, r.cost_per_100k_usd, r.p99_ms)
        for r in rows
        if r.status == "ok" and r.cost_per_100k_usd is not None and r.p99_ms is not None
    ]
    for row, cost, p99 in priced:
        row.pareto = not any(
            other_cost < cost and other_p99 < p99
            for other, other_cost, other_p99 in priced
            if other is not row
        )


def _mark_speedup(rows: Sequence[Row]) -> None:
    """Throughput over the cheapest priced CPU row (kind "cpu", lowest $/100k) at the same
    batch size; None where that batch size has no such row or a throughput is missing."""
    baseline: dict[int, tuple[float, Row]] = {}  # batch size: the cheapest CPU row's cost, row
    for row in rows:
        cost, batch = row.cost_per_100k_usd, row.batch_size
        if row.status != "ok" or row.kind != "cpu" or cost is None or batch is None:
            continue
        best = baseline.get(batch)
        if best is None or cost < best[0]:
            baseline[batch] = (cost, row)
    for row in rows:
        batch = row.batch_size if row.status == "ok" else None
        found = baseline.get(batch) if batch is not None else None
        base = found[1] if found else None
        if base and base.throughput_per_s and row.throughput_per_s is not None:
            row.speedup_vs_cpu = row.throughput_per_s / base.throughput_per_s


def _order(row: Row) -> tuple[Any, ...]:
    """Ok rows by $/100k (unknown prices after the priced ones), then by p99; failed last."""
    if row.status != "ok":
        return (2, 0.0, 0.0)
    if row.cost_per_100k_usd is None:
        return (1, row.p99_ms or math.inf, row.batch_size or 0)
    return (0, row.cost_per_100k_usd, row.p99_ms or math.inf)


def rank(candidates: Iterable[Candidate], p99_target_ms: float | None) -> list[Row]:
    """Every candidate's rows, priced, marked (Pareto, target, speed-up) and sorted: one per
    batch size measured, or one failed row that says why. The sort is stable, so failed rows
    keep the candidates' order."""
    rows = [row for candidate in candidates for row in _rows_of(candidate, p99_target_ms)]
    _mark_pareto(rows)
    _mark_speedup(rows)
    return sorted(rows, key=_order)


def target_words(p99_target_ms: float | None) -> str:
    return "no p99 target" if p99_target_ms is None else f"p99 ≤ {p99_target_ms:g} ms"


def recommendation(rows: Sequence[Row], p99_target_ms: float | None) -> dict[str, Any] | None:
    """The cheapest priced ok row that meets the target (the cheapest priced ok row when there
    is no target), or None when no row does."""
    fitting = [
        r
        for r in rows
        if r.status == "ok"
        and r.cost_per_100k_usd is not None
        and (p99_target_ms is None or r.meets_target)
    ]
    if not fitting:
        return None
    best = min(fitting, key=lambda r: (r.cost_per_100k_usd, r.p99_ms or math.inf))
    why = (
        "cheapest measured (no p99 target)"
        if p99_target_ms is None
        else f"cheapest that meets {target_words(p99_target_ms)}"
    )
    if best.valid is False:
        why += f"; its p99 is not valid ({best.why or 'see the result'})"
    return {
        "instance_type": best.instance_type,
        "accelerator": best.accelerator,
        "batch_size": best.batch_size,
        "cost_per_100k_usd": best.cost_per_100k_usd,
        "p99_ms": best.p99_ms,
        "why": why,
    }


def benchmark_cost_usd(candidates: Iterable[Candidate]) -> float:
    """What the benchmark itself cost: instance-minutes used / 60 × price, summed over the
    candidates with a known price (see `cost_unknown` for the others)."""
    return sum(
        c.minutes_used / 60 * c.price_per_hour_usd
        for c in candidates
        if c.price_per_hour_usd is not None
    )


def cost_unknown(candidates: Iterable[Candidate]) -> list[str]:
    """The candidates whose use `benchmark_cost_usd` could not count: minutes used, no price."""
    return [
        hardware_label(c.instance_type, c.accelerator)
        for c in candidates
        if c.price_per_hour_usd is None and c.minutes_used > 0
    ]


def to_json_document(
    model: dict[str, Any],
    candidates: Sequence[Candidate],
    rows: Sequence[Row],
    p99_target_ms: float | None,
) -> dict[str, Any]:
    """The `--output json` document and `results.json`: the issue's keys, plus
    `benchmark_cost_unknown` (who the cost could not count) and where it was measured.
    `simulated` is true only when every candidate was."""
    simulated = bool(candidates) and all(
        c.simulated or (c.result or {}).get("simulated") for c in candidates
    )
    return {
        "model": model,
        "results": [row.to_dict() for row in rows],
        "recommendation": recommendation(rows, p99_target_ms),
        "benchmark_cost_usd": benchmark_cost_usd(candidates),
        "benchmark_cost_unknown": cost_unknown(candidates),
        "simulated": simulated,
        "measured_on": SIMULATED_MEASURED_ON if simulated else None,
        "p99_target_ms": p99_target_ms,
    }
