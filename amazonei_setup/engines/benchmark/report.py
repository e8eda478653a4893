"""The report folder: `results.json` (the document), `results.csv` (one line per row) and
`report.html`, one page that needs nothing from elsewhere (no CDN, script, font or image: the
chart is inline SVG, the style inline CSS), so it opens the same offline, attached to a ticket
or years later. Everything shown is escaped: reasons and frameworks are the instance's word."""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from amazonei_setup.engines.benchmark.cells import COLUMNS, row_cells
from amazonei_setup.engines.benchmark.chart import charted, cost_latency_svg
from amazonei_setup.engines.benchmark.results import ROW_FIELDS, hardware_label, target_words
from amazonei_setup.engines.benchmark.summary import SIMULATED_LINE, summary_lines
from amazonei_setup.seats.untrusted import plain, spreadsheet_cell

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1d232a; }
.banner { background: #b00020; color: #fff; padding: 0.8rem 1rem; font-size: 1.15rem;
  font-weight: 600; border-radius: 4px; }
#chart svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #d6dbe0; padding: 0.3rem 0.6rem; text-align: left;
  vertical-align: top; }
td small { color: #5b6b7b; }
td:nth-child(n+4):nth-child(-n+11) { white-space: nowrap; }
tr.failed td { color: #8a2a2a; }
"""


@dataclass(frozen=True)
class ReportPaths:
    html: Path
    csv: Path
    json: Path


def _write(path: Path, text: str) -> None:
    """Whole or not at all: a reader never finds half a report."""
    partial = path.with_name(path.name + ".part")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def results_csv(document: dict[str, Any]) -> str:
    """One line per row under a header of the row fields; text cells cannot start a formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(ROW_FIELDS)
    for row in document.get("results", []):
        writer.writerow([_csv_cell(row.get(name)) for name in ROW_FIELDS])
    return buffer.getvalue()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return spreadsheet_cell(value) if isinstance(value, str) else str(value)


def _cell(text: str) -> str:
    """A table cell: the first line as is, a second one smaller beneath it."""
    head, _, detail = text.partition("\n")
    html = escape(head)
    if detail:
        html += "<br><small>" + escape(detail).replace("\n", "<br>") + "</small>"
    return f"<td>{html}</td>"


def _table(rows: list[dict[str, Any]], simulated: bool) -> str:
    header = "".join(f"<th>{escape(name)}</th>" for name in COLUMNS)
    body = "\n".join(
        f'<tr class="{"ok" if row.get("status") == "ok" else "failed"}">'
        + "".join(_cell(text) for text in row_cells(row, say_simulated=not simulated))
        + "</tr>"
        for row in rows
    )
    return (
        f'<table id="results">\n<thead><tr>{header}</tr></thead>\n'
        f"<tbody>\n{body}\n</tbody>\n</table>"
    )


def _not_charted(rows: list[dict[str, Any]]) -> str:
    """Says which rows the chart leaves out and why, so a missing point is never a mystery."""
    shown = {id(r) for r in charted(rows)}
    left = [
        f"{hardware_label(r['instance_type'], r.get('accelerator'))}"
        + (f" at batch {r['batch_size']}" if r.get("batch_size") else "")
        + (" (failed)" if r.get("status") != "ok" else " (price unknown)")
        for r in rows
        if id(r) not in shown
    ]
    return f"<p>Not in the chart: {escape(plain(', '.join(left)))}.</p>" if left else ""


def report_html(document: dict[str, Any]) -> str:
    rows = document.get("results", [])
    target = document.get("p99_target_ms")
    simulated = bool(document.get("simulated"))
    model = document.get("model") or {}
    name = plain(model.get("name") or model.get("uri") or "model")
    banner = f'<p class="banner" id="simulated">{escape(SIMULATED_LINE)}</p>' if simulated else ""
    svg = cost_latency_svg(rows, target, simulated)
    lines = "".join(  # the banner already says it is simulated
        f"<p>{escape(plain(line))}</p>"
        for line in summary_lines(document)
        if line != SIMULATED_LINE
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{escape(f"Benchmark of {name}")}</title>
<style>{STYLE}</style>
</head>
<body>
{banner}
<h1>{escape(f"Benchmark of {name}")}</h1>
<p>Ranked by cost per 100k inferences at single-stream latency; {escape(target_words(target))}.
★: on the Pareto frontier (no other candidate both cheaper and faster at p99).</p>
{lines}
<div id="chart">
{svg}
</div>
{_not_charted(rows)}
{_table(rows, simulated)}
</body>
</html>
"""


def write_report(folder: Path, document: dict[str, Any]) -> ReportPaths:
    """Writes the three files into `folder` (made if missing) and says where they are."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = ReportPaths(
        html=folder / "report.html", csv=folder / "results.csv", json=folder / "results.json"
    )
    _write(paths.json, json.dumps(document, indent=2) + "\n")
    _write(paths.csv, results_csv(document))
    _write(paths.html, report_html(document))
    return paths
