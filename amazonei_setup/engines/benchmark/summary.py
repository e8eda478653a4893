"""The benchmark's conclusions in words, one wording for the terminal and the HTML report: the
recommendation (or what is missing for one), what the benchmark itself cost, and, on the
sandbox, that nothing here says how fast an accelerator is. Reads the JSON document only, so a
saved `results.json` says the same as the run that wrote it."""

from __future__ import annotations

import math
from typing import Any

from amazonei_setup.engines.benchmark.results import hardware_label, target_words

SIMULATED_LINE = (
    "Simulated: every candidate was measured on this machine's CPU (sandbox); "
    "the figures say nothing about the accelerators' speed."
)


def usd(value: float | None) -> str:
    """Dollars with two significant digits past the zeros: $2.20, $0.41, $0.012, $0.000041."""
    if value is None:
        return "unknown"
    if value >= 1 or value <= 0:
        return f"${value:,.2f}"
    decimals = max(2, 1 - math.floor(math.log10(value)))
    return f"${value:.{decimals}f}"


def usd_per_hour(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4f}/h"


def _ok_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in document.get("results", []) if r.get("status") == "ok"]


def recommendation_line(document: dict[str, Any]) -> str:
    """The cheapest candidate that meets the target, or why there is none."""
    target = document.get("p99_target_ms")
    pick = document.get("recommendation")
    if pick:
        label = hardware_label(pick["instance_type"], pick.get("accelerator"))
        head = (
            f"Cheapest that meets {target_words(target)}"
            if target is not None
            else "Cheapest measured (no p99 target)"
        )
        line = (
            f"{head}: {label} at batch {pick['batch_size']}, "
            f"{usd(pick['cost_per_100k_usd'])} per 100k inferences"
        )
        note = pick.get("why", "").partition("; ")[2]
        return f"{line} ({note})" if note else line
    ok = _ok_rows(document)
    if not ok:
        return "No recommendation: no candidate was measured (see each row's reason)."
    if all(r.get("cost_per_100k_usd") is None for r in ok):
        return "No recommendation: no measured candidate has a known price."
    fastest = min(r["p99_ms"] for r in ok if r.get("p99_ms") is not None)
    return (
        f"No candidate meets {target_words(target)}: the fastest p99 measured was "
        f"{fastest:g} ms. Try larger hardware, a smaller batch, or a higher --p99-target-ms."
    )


def cost_line(document: dict[str, Any]) -> str:
    """What the benchmark's own instances cost, and who could not be counted."""
    line = (
        f"The benchmark itself cost {usd(document.get('benchmark_cost_usd') or 0.0)} "
        "(instance-minutes used × price)"
    )
    unknown = document.get("benchmark_cost_unknown") or []
    if unknown:
        line += f", not counting {', '.join(unknown)} (no price known)"
    return line + "."


def summary_lines(document: dict[str, Any]) -> list[str]:
    """The lines under the table: recommendation, own cost, and the sandbox's warning."""
    lines = [recommendation_line(document), cost_line(document)]
    if document.get("simulated"):
        lines.append(SIMULATED_LINE)
    return lines
