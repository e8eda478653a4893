"""Rich renderables for `benchmark`: the plan (what each candidate will cost to measure) and the
ranked results with the lines under them. Cells come from the engine's wording
(`engines.benchmark.cells`), so the terminal and report.html say the same; every cell is Text,
never markup (a reason is the instance's word and may hold brackets)."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from amazonei_setup.engines.benchmark import summary
from amazonei_setup.engines.benchmark.cells import COLUMNS, NONE, row_cells
from amazonei_setup.engines.benchmark.results import hardware_label
from amazonei_setup.engines.benchmark.summary import usd_per_hour
from amazonei_setup.seats.untrusted import plain

NUMERIC = {"batch", "p50 / p99 ms", "throughput/s", "$/100k", "$/100k @throughput"}
NO_WRAP = {"hardware", "$/hour", "p50 / p99 ms", "$/100k", "$/100k @throughput"}
# Headers broken where a person would, so a column is as narrow as its figures.
HEADERS = {
    "device / framework": "device /\nframework",
    "p50 / p99 ms": "p50 / p99\nms",
    "$/100k @throughput": "$/100k\n@throughput",
    "speed-up vs CPU": "speed-up\nvs CPU",
    "meets target": "meets\ntarget",
    "status / reason": "status /\nreason",
}


def _cell(text: str, style: str = "") -> Text:
    """The figure, with its detail (a second line) dimmed beneath it."""
    head, _, detail = text.partition("\n")
    cell = Text(head, style=style)
    if detail:
        cell.append(f"\n{detail}", style="dim")
    return cell


def results_table(document: dict[str, Any]) -> Table:
    """The rows ranked by $/100k as the document holds them; failed rows last, with why."""
    title = "Benchmark results, cheapest per 100k inferences first"
    if document.get("simulated"):
        title += " (SIMULATED on this machine's CPU)"
    rows = document.get("results", [])
    sources = {row.get("price_source") for row in rows}
    one_source = len(sources) == 1 and None not in sources and "" not in sources
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    if one_source:  # said once under the table rather than on every row
        table.caption, table.caption_justify = f"Prices: {plain(sources.pop())}", "left"
    for name in COLUMNS:
        table.add_column(
            HEADERS.get(name, name),
            justify="right" if name in NUMERIC else "left",
            overflow="fold",
            no_wrap=name in NO_WRAP,
        )
    for row in rows:
        ok = row.get("status") == "ok"
        styles = dict.fromkeys(COLUMNS, "")
        if not ok:
            styles["status / reason"] = "red"
        if row.get("pareto"):
            styles["hardware"] = styles["Pareto"] = "bold"
        if row.get("meets_target") is False:
            styles["meets target"] = "red"
        texts = row_cells(row, say_simulated=not document.get("simulated"))
        if one_source:
            texts[COLUMNS.index("$/hour")] = texts[COLUMNS.index("$/hour")].partition("\n")[0]
        cells = zip(texts, styles.values(), strict=True)
        table.add_row(*(_cell(text, style) for text, style in cells))
    return table


def summary_lines(document: dict[str, Any]) -> list[str]:
    """The recommendation (or what is missing), the benchmark's own cost, and on the sandbox
    that the figures say nothing about the accelerators."""
    return summary.summary_lines(document)


def plan_table(plan_rows: list[dict[str, Any]]) -> Table:
    """The plan step: each candidate's price, expected minutes and cost, the most it can cost
    (its time limit), and a note; the price source once when all share it."""
    table = Table(title="Benchmark plan", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("candidate", no_wrap=True)
    table.add_column("$/hour", justify="right", no_wrap=True)
    sources = {row.get("price_source") for row in plan_rows}
    shared = len(sources) == 1
    if not shared:
        table.add_column("price source", overflow="fold")
    table.add_column("expected minutes", justify="right")
    table.add_column("expected cost", justify="right")
    table.add_column("at most", justify="right")
    table.add_column("notes", overflow="fold")
    for row in plan_rows:
        minutes = row.get("expected_minutes")
        cells = [
            Text(hardware_label(row["instance_type"], row.get("accelerator"))),
            Text(usd_per_hour(row.get("price_per_hour_usd"))),
        ]
        if not shared:
            cells.append(Text(plain(row.get("price_source") or NONE)))
        cells += [
            Text(NONE if minutes is None else f"{minutes:g}"),
            Text(summary.usd(row.get("expected_cost_usd"))),
            Text(summary.usd(row.get("most_cost_usd"))),
            Text(plain(row.get("note") or "")),
        ]
        table.add_row(*cells)
    costs = [row.get("expected_cost_usd") for row in plan_rows]
    known = [cost for cost in costs if cost is not None]
    most = sum(row.get("most_cost_usd") or 0.0 for row in plan_rows)
    if plan_rows:
        lines = [
            f"Expected cost of the benchmark: {summary.usd(sum(known))}, at most "
            f"{summary.usd(most)} if every candidate runs to its time limit"
            + (
                f" (not counting {len(costs) - len(known)} candidate(s) without a price)"
                if len(known) < len(costs)
                else ""
            )
        ]
        if shared and sources != {None}:
            lines.append(f"Prices: {plain(next(iter(sources)) or NONE)}")
        table.caption = "\n".join(lines)
        table.caption_justify = "left"
    return table
