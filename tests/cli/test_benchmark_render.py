"""What `benchmark` shows in the terminal: the ranked table, failed rows with their reasons,
the recommendation and cost lines, the sandbox's warning, and the plan."""

from __future__ import annotations

from bench_samples import MODEL, batch, candidate, document, result
from rich.console import Console

from amazonei_setup.cli.render.benchmark import plan_table, results_table, summary_lines
from amazonei_setup.engines.benchmark.results import rank, to_json_document


def shown(renderable) -> str:
    console = Console(record=True, width=200, color_system=None)
    console.print(renderable)
    return console.export_text()


def data_lines(text: str) -> list[str]:
    """The table's lines that start a row (a hardware name first)."""
    return [line.strip() for line in text.splitlines() if line.strip()[:3] in ("c5.", "g5.", "inf")]


def column(text: str, name: str, after: str | None = None) -> list[str]:
    """A left-aligned column's text in each row, its wrapped lines joined as a reader reads
    them: from the header `name` (its last line, beside "hardware") up to the next header
    `after` (the line's end if None)."""
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if "hardware" in line and name in line)
    start = lines[header].index(name)
    end = lines[header].index(after) if after else None
    cells: list[list[str]] = []
    for line in lines[header + 2 :]:
        if line.startswith("Prices:") or not line.strip():
            break
        if line[: lines[header].index("$/hour")].strip():  # a hardware name: a new row
            cells.append([])
        part = line[start:end].strip()
        if part and cells:
            cells[-1].append(part)
    return [" ".join(cell) for cell in cells]


def test_the_table_is_ranked_cheapest_first_with_its_figures() -> None:
    text = shown(results_table(document()))
    rows = data_lines(text)
    assert [line.split()[0] for line in rows] == [
        "inf2.xlarge",
        "g5.xlarge",
        "c5.xlarge",
        "inf2.xlarge",
        "c5.xlarge",
        "g5.xlarge",
    ]
    for header in ("hardware", "$/hour", "p50 / p99", "throughput/s", "@throughput", "Pareto"):
        assert header in text
    first = rows[0]  # inf2.xlarge at batch 8: $0.7582/h, 3 ms mean → $0.0079; 13.3× c5
    for figure in ("$0.7582/h", "3.00 / 4.50", "2,667", "$0.0079", "13.3×", "✓", "★", "ok"):
        assert figure in first, (figure, first)
    c5_batch_8 = rows[2]
    assert "40.0 / 70.0" in c5_batch_8 and "✗" in c5_batch_8 and "★" not in c5_batch_8
    assert "Prices: us-east-1 list price of 2026-11-21, offline" in text  # one source: said once
    frameworks = column(text, "framework", "batch")
    assert frameworks[1] == "cuda:0 onnxruntime 1.20.1 CUDAExecutionProvider"
    assert "4 streams" in text  # g5.xlarge at batch 8 peaked with 4 concurrent streams


def test_failed_rows_come_last_and_say_why() -> None:
    text = shown(results_table(document(inf2_fails=True)))
    rows = data_lines(text)
    assert rows[-1].startswith("inf2.xlarge")
    assert len(rows) == 5
    assert column(text, "reason") == [
        *["ok"] * 4,
        "failed: no capacity in any AZ: InsufficientInstanceCapacity",
    ]


def test_a_reason_with_brackets_is_shown_as_written() -> None:
    """The instance's words are text, not rich markup: `[bold]` stays visible."""
    bad = result("g5.xlarge", "nvidia", status="failed", outcome="crashed", reason="[bold]x[/]")
    candidates = [candidate("g5.xlarge", 1.006, bad)]
    doc = to_json_document(MODEL, candidates, rank(candidates, None), None)
    assert column(shown(results_table(doc)), "reason") == ["failed: crashed: [bold]x[/]"]


def test_summary_says_the_cheapest_that_meets_the_target_and_the_cost() -> None:
    lines = summary_lines(document(inf2_fails=True))
    assert lines == [
        "Cheapest that meets p99 ≤ 50 ms: g5.xlarge at batch 8, $0.014 per 100k inferences",
        "The benchmark itself cost $0.12 (instance-minutes used × price).",
    ]


def test_summary_of_a_simulated_run_says_nothing_is_known_of_the_accelerators() -> None:
    doc = document(simulated=True)
    lines = summary_lines(doc)
    assert lines[-1] == (
        "Simulated: every candidate was measured on this machine's CPU (sandbox); "
        "the figures say nothing about the accelerators' speed."
    )
    assert "SIMULATED on this machine's CPU" in shown(results_table(doc))
    assert "Simulated" not in " ".join(summary_lines(document()))


def test_summary_says_what_is_missing_when_nothing_meets_the_target() -> None:
    assert summary_lines(document(target=1.0))[0] == (
        "No candidate meets p99 ≤ 1 ms: the fastest p99 measured was 2.25 ms. "
        "Try larger hardware, a smaller batch, or a higher --p99-target-ms."
    )
    nothing = [candidate("c5.xlarge", 0.17, None, reason="no result within 900 s (hung)")]
    doc = to_json_document(MODEL, nothing, rank(nothing, None), None)
    assert summary_lines(doc)[0] == (
        "No recommendation: no candidate was measured (see each row's reason)."
    )


def test_the_cost_line_names_what_it_could_not_count() -> None:
    unpriced = result("x9.huge", "cpu", [batch(1, 9.0)])
    candidates = [
        candidate("c5.xlarge", 0.17, result("c5.xlarge", "cpu", [batch(1, 9.0)]), minutes=60),
        candidate("x9.huge", None, unpriced, minutes=6),
    ]
    doc = to_json_document(MODEL, candidates, rank(candidates, None), None)
    assert summary_lines(doc) == [
        "Cheapest measured (no p99 target): c5.xlarge at batch 1, $0.043 per 100k inferences",
        "The benchmark itself cost $0.17 (instance-minutes used × price), "
        "not counting x9.huge (no price known).",
    ]
    assert "unknown" in shown(results_table(doc))  # x9.huge's $/hour and $/100k


def test_the_plan_shows_each_candidate_and_the_expected_total() -> None:
    text = shown(
        plan_table(
            [
                {
                    "instance_type": "c5.xlarge",
                    "accelerator": None,
                    "price_per_hour_usd": 0.17,
                    "price_source": "us-east-1 list price of 2026-11-21, offline",
                    "expected_minutes": 6,
                    "expected_cost_usd": 0.017,
                    "note": "",
                },
                {
                    "instance_type": "m5.large",
                    "accelerator": "eia2.medium",
                    "price_per_hour_usd": 0.216,
                    "price_source": "AWS Price List API 2026-12-06",
                    "expected_minutes": 7.5,
                    "expected_cost_usd": 0.027,
                    "note": "Elastic Inference: only in us-east-1, us-west-2",
                },
                {
                    "instance_type": "trn2.48xlarge",
                    "accelerator": None,
                    "price_per_hour_usd": None,
                    "price_source": "",
                    "expected_minutes": None,
                    "expected_cost_usd": None,
                    "note": "no price known",
                },
            ]
        )
    )
    for header in ("candidate", "$/hour", "price source", "expected minutes", "expected cost"):
        assert header in text
    assert "m5.large + eia2.medium" in text and "$0.2160/h" in text and "7.5" in text
    assert "AWS Price List API 2026-12-06" in text and "Elastic Inference: only in" in text
    assert "Expected cost of the benchmark: $0.044" in text
    assert "(not counting 1 candidate(s) without a price)" in text
