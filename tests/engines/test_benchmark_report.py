"""The report folder a user opens: results.json, results.csv and one self-contained
report.html, checked as files and then as a real browser renders it (Debian's chromium,
headless; `.ci/run` installs it)."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from bench_samples import MODEL, batch, candidate, document, result

from amazonei_setup.engines.benchmark.chart import FRONTIER_ID, TARGET_ID
from amazonei_setup.engines.benchmark.report import write_report
from amazonei_setup.engines.benchmark.results import ROW_FIELDS, rank, to_json_document

TYPES = ("c5.xlarge", "g5.xlarge", "inf2.xlarge")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class Page(HTMLParser):
    """What a reader of the page finds: elements with the ids of their ancestors, and the
    text of each table row."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.open: list[tuple[str, str | None]] = []  # (tag, id) of the elements we are in
        self.elements: list[tuple[str, dict[str, str | None], set[str]]] = []
        self.rows: dict[str, list[str]] = {}  # table id -> text of each of its rows
        self._row: list[str] | None = None
        self.feed(markup)

    def ids(self) -> set[str]:
        return {i for _, i in self.open if i}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.elements.append((tag, attributes, self.ids()))
        if tag == "tr":
            self._row = []
        if tag not in VOID:
            self.open.append((tag, attributes.get("id")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr" and self._row is not None:
            table = next((i for t, i in reversed(self.open) if t == "table"), None) or ""
            self.rows.setdefault(table, []).append(" ".join(self._row))
            self._row = None
        while self.open:
            if self.open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._row is not None and data.strip():
            self._row.append(data.strip())

    def within(self, tag: str, *ids: str) -> list[dict[str, str | None]]:
        return [a for t, a, inside in self.elements if t == tag and set(ids) <= inside]


def failed_inf2_case(tmp_path: Path):
    return write_report(tmp_path / "report", document(inf2_fails=True))


def test_the_files_are_written_and_the_csv_has_every_row(tmp_path: Path) -> None:
    doc = document()
    paths = write_report(tmp_path / "new" / "folder", doc)
    assert json.loads(paths.json.read_text()) == doc
    with paths.csv.open(newline="") as handle:
        lines = list(csv.DictReader(handle))
    assert list(lines[0]) == list(ROW_FIELDS)
    assert [(r["instance_type"], r["batch_size"]) for r in lines] == [
        (r["instance_type"], str(r["batch_size"])) for r in doc["results"]
    ]
    assert float(lines[0]["cost_per_100k_usd"]) == pytest.approx(
        doc["results"][0]["cost_per_100k_usd"]
    )
    assert {r["pareto"] for r in lines} == {"true", "false"}
    assert sorted(p.name for p in paths.html.parent.iterdir()) == [
        "report.html",
        "results.csv",
        "results.json",
    ]


def test_the_page_needs_nothing_from_elsewhere(tmp_path: Path) -> None:
    html = write_report(tmp_path, document(simulated=True)).html.read_text()
    assert re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I) == []
    assert not re.search(r"<(script|link|img|iframe|object)\b", html, re.I)
    assert not re.search(r"@import|url\((?!#)", html, re.I)  # only url(#clip) in the svg
    assert html.count("<svg") == 1 and "<?xml" not in html
    page = Page(html)
    assert page.within("svg", "chart")
    assert page.within("path", "chart", FRONTIER_ID)
    assert page.within("path", "chart", TARGET_ID)
    (header, *rows) = page.rows["results"]
    assert "Pareto" in header and len(rows) == 6


def test_a_simulated_page_says_so_at_the_top_and_in_the_chart(tmp_path: Path) -> None:
    html = write_report(tmp_path, document(simulated=True)).html.read_text()
    body = html[html.index("<body>") :]
    banner = body.index('class="banner"')
    assert banner < body.index("<h1>") < body.index('id="chart"')
    said = unescape(body[banner:])
    assert "every candidate was measured on this machine's CPU (sandbox)" in said
    svg = html[html.index("<svg") :]
    assert "every candidate was measured on the local CPU (sandbox), not on its accelerator" in svg
    real = write_report(tmp_path / "real", document()).html.read_text()
    assert "banner" not in real[real.index("<body>") :] and "SIMULATED" not in real


def test_a_failed_candidate_is_in_the_table_with_its_reason_not_in_the_chart(
    tmp_path: Path,
) -> None:
    html = failed_inf2_case(tmp_path).html.read_text()
    page = Page(html)
    rows = page.rows["results"][1:]
    assert [row.split()[0] for row in rows] == [
        "g5.xlarge",
        "c5.xlarge",
        "c5.xlarge",
        "g5.xlarge",
        "inf2.xlarge",
    ]
    assert "failed: no capacity in any AZ: InsufficientInstanceCapacity" in rows[-1]
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert "g5.xlarge · batch 8" in svg and "inf2.xlarge" not in svg
    assert "Not in the chart: inf2.xlarge (failed)." in html


def test_what_the_instance_wrote_is_escaped_everywhere(tmp_path: Path) -> None:
    """A reason is the instance's word: it cannot add markup to the page or a formula to the
    spreadsheet."""
    hostile = result(
        "g5.xlarge", "nvidia", status="failed", outcome="crashed", reason="<script>x()</script>"
    )
    candidates = [
        candidate("c5.xlarge", 0.17, result("c5.xlarge", "cpu", [batch(1, 9.0)])),
        candidate("g5.xlarge", 1.006, hostile),
        candidate("inf2.xlarge", 0.7582, None, reason='=HYPERLINK("x")'),
    ]
    doc = to_json_document(MODEL, candidates, rank(candidates, None), None)
    paths = write_report(tmp_path, doc)
    html = paths.html.read_text()
    assert "<script" not in html
    assert "failed: crashed: &lt;script&gt;x()&lt;/script&gt;" in html
    with paths.csv.open(newline="") as handle:
        reasons = [row["reason"] for row in csv.DictReader(handle)]
    assert reasons == ["", "crashed: <script>x()</script>", '\'=HYPERLINK("x")']


def test_a_chart_with_nothing_to_place_still_renders(tmp_path: Path) -> None:
    candidates = [candidate("c5.xlarge", None, result("c5.xlarge", "cpu", [batch(1, 9.0)]))]
    doc = to_json_document(MODEL, candidates, rank(candidates, None), None)
    html = write_report(tmp_path, doc).html.read_text()
    assert "No measured row with a known price to chart" in html
    assert "Not in the chart: c5.xlarge at batch 1 (price unknown)." in html


def chromium() -> str:
    """The browser, or a skip (a fail on CI, where `.ci/run` installs it)."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("CI is set but no chromium binary is on PATH: .ci/run should install it")
    pytest.skip("no chromium binary on PATH (apt-get install chromium); CI installs it")


@pytest.mark.parametrize("inf2_fails", [False, True], ids=["three-measured", "inf2-failed"])
def test_the_page_renders_in_headless_chromium(tmp_path: Path, inf2_fails: bool) -> None:
    browser = chromium()
    paths = write_report(tmp_path / "report", document(simulated=True, inf2_fails=inf2_fails))
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            paths.html.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    page = Page(done.stdout)
    assert page.within("svg", "chart"), "no chart svg in the rendered page"
    frontier = page.within("path", "chart", FRONTIER_ID)
    assert frontier and frontier[0].get("d"), "no Pareto frontier path in the chart"
    assert page.within("path", "chart", TARGET_ID)
    rows = page.rows["results"][1:]
    assert {row.split()[0] for row in rows} == set(TYPES)
    assert len(rows) == (5 if inf2_fails else 6)
    if inf2_fails:
        assert "no capacity in any AZ" in rows[-1]
    banner = [a for t, a, _ in page.elements if a.get("id") == "simulated"]
    assert banner and banner[0].get("class") == "banner"
