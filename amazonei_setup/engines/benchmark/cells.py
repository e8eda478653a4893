"""The results table's columns and cells as plain text, one wording for the terminal table and
the HTML report. A cell may hold a second line (after a newline): the detail under the figure.
Text from the instance (framework, reason) is stripped of control sequences here; each
renderer still escapes it for its own medium."""

from __future__ import annotations

from typing import Any

from amazonei_setup.engines.benchmark.results import hardware_label
from amazonei_setup.engines.benchmark.summary import usd, usd_per_hour
from amazonei_setup.seats.untrusted import plain

COLUMNS = (
    "hardware",
    "$/hour",
    "device / framework",
    "batch",
    "p50 / p99 ms",
    "throughput/s",
    "$/100k",
    "$/100k @throughput",
    "speed-up vs CPU",
    "meets target",
    "Pareto",
    "status / reason",
)
NONE = "–"


def ms(value: float | None) -> str:
    """Latency at a useful precision: 0.42, 9.00, 13.5, 223."""
    if value is None:
        return NONE
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _throughput(row: dict[str, Any]) -> str:
    value = row.get("throughput_per_s")
    if value is None:
        return NONE
    streams = row.get("streams")
    text = f"{value:,.0f}" if value >= 100 else f"{value:.1f}"
    return f"{text}\n{streams} streams" if streams and streams > 1 else text


def _meets(value: bool | None) -> str:
    return NONE if value is None else ("✓" if value else "✗")


def _status(row: dict[str, Any], say_simulated: bool) -> str:
    if row.get("status") != "ok":
        return f"failed: {plain(row.get('reason') or 'no reason given')}"
    notes = []
    if row.get("valid") is False:
        notes.append(f"p99 not valid: {plain(row.get('why') or 'see the result')}")
    if say_simulated and row.get("simulated"):
        notes.append("simulated on the local CPU")
    if row.get("reason"):
        notes.append(plain(row["reason"]))
    return "\n".join(["ok", *notes])


def row_cells(row: dict[str, Any], say_simulated: bool = True) -> list[str]:
    """One document row as the COLUMNS' texts. `say_simulated` False leaves out each row's
    "simulated" note where the whole document already says so (a banner, the title)."""
    ok = row.get("status") == "ok"
    speedup = row.get("speedup_vs_cpu")
    device = plain(row.get("device") or NONE)
    framework = plain(row.get("framework") or "")
    p50, p99 = row.get("p50_ms"), row.get("p99_ms")
    return [
        hardware_label(row["instance_type"], row.get("accelerator")),
        f"{usd_per_hour(row.get('price_per_hour_usd'))}\n{plain(row.get('price_source') or '')}",
        f"{device}\n{framework}" if framework else device,
        str(row["batch_size"]) if row.get("batch_size") is not None else NONE,
        f"{ms(p50)} / {ms(p99)}" if ok else NONE,
        _throughput(row),
        usd(row.get("cost_per_100k_usd")) if ok else NONE,
        usd(row.get("cost_per_100k_at_throughput_usd")) if ok else NONE,
        f"{speedup:.1f}×" if speedup is not None else NONE,
        _meets(row.get("meets_target")),
        "★" if row.get("pareto") else "",
        _status(row, say_simulated),
    ]
