"""Benchmark results to ranked rows: the cost arithmetic, the order, the Pareto frontier, the
speed-up over CPU, the recommendation, failures that keep their reasons, the document."""

from __future__ import annotations

import json

import pytest
from bench_samples import MODEL, batch, candidate, document, result, three_candidates

from amazonei_setup.engines.benchmark.results import (
    ROW_FIELDS,
    SIMULATED_MEASURED_ON,
    benchmark_cost_usd,
    cost_per_100k,
    cost_per_100k_at_throughput,
    cost_unknown,
    rank,
    recommendation,
    to_json_document,
)

# The issue's `--output json` row fields, as it lists them.
ISSUE_FIELDS = (
    *("instance_type", "accelerator", "device", "framework", "status", "batch_size"),
    *("p50_ms", "p90_ms", "p99_ms", "queries", "throughput_per_s", "cost_per_100k_usd"),
    *("cost_per_100k_at_throughput_usd", "price_per_hour_usd", "price_source", "pareto"),
    *("meets_target", "simulated", "reason"),
)


def by_key(rows):
    return {(r.instance_type, r.batch_size): r for r in rows}


def test_cost_per_100k_is_the_billed_time_of_100k_inferences() -> None:
    # $3.60/hour is $0.001 a second; 10 ms a query of one inference: 100k take 1,000 s = $1.
    assert cost_per_100k(3.6, 10.0, 1) == pytest.approx(1.0)
    # A query of 4 inferences in the same 10 ms: a quarter of the time per inference.
    assert cost_per_100k(3.6, 10.0, 4) == pytest.approx(0.25)
    # At 250 inferences/s, 100k take 400 s = $0.40.
    assert cost_per_100k_at_throughput(3.6, 250.0) == pytest.approx(0.4)
    # The issue's own example: m5.large + eia1.large ($0.096 + $0.26) at 222.78 ms → $2.20.
    assert round(cost_per_100k(0.356, 222.78, 1), 2) == 2.20
    assert cost_per_100k(None, 10.0, 1) is None
    assert cost_per_100k_at_throughput(3.6, None) is None
    assert cost_per_100k_at_throughput(3.6, 0.0) is None


def test_single_stream_cost_rests_on_the_mean_not_the_p50() -> None:
    """Back-to-back queries bill their mean: a slow tail costs what it takes."""
    res = result("c5.xlarge", "cpu", [batch(1, 10.0, mean_ms=20.0, throughput_per_s=50.0)])
    (row,) = rank([candidate("c5.xlarge", 3.6, res)], None)
    assert row.p50_ms == 10.0 and row.mean_ms == 20.0
    assert row.cost_per_100k_usd == pytest.approx(2.0)
    assert row.cost_per_100k_at_throughput_usd == pytest.approx(2.0)


def test_rows_are_ranked_by_cost_per_100k_one_per_batch_size() -> None:
    rows = rank(three_candidates(), 50.0)
    assert [(r.instance_type, r.batch_size) for r in rows] == [
        ("inf2.xlarge", 8),
        ("g5.xlarge", 8),
        ("c5.xlarge", 8),
        ("inf2.xlarge", 1),
        ("c5.xlarge", 1),
        ("g5.xlarge", 1),
    ]
    row = by_key(rows)[("c5.xlarge", 1)]
    assert row.cost_per_100k_usd == pytest.approx(0.17 / 3600 * 0.009 * 100_000)
    assert row.throughput_per_s == pytest.approx(1000 / 9)
    assert row.device == "cpu" and row.framework.startswith("onnxruntime")
    assert (row.status, row.queries, row.valid, row.streams) == ("ok", 1200, True, 1)
    assert row.price_source == "us-east-1 list price of 2026-11-21, offline"
    costs = [r.cost_per_100k_usd for r in rows]
    assert costs == sorted(costs)


def test_target_speedup_and_frontier_of_three_kinds() -> None:
    rows = by_key(rank(three_candidates(), 50.0))
    # c5.xlarge at batch 8 has a p99 of 70 ms: over the 50 ms target; the rest meet it.
    assert [k for k, r in rows.items() if not r.meets_target] == [("c5.xlarge", 8)]
    # Speed-up by throughput over c5.xlarge (the only CPU) at the same batch size.
    assert rows[("c5.xlarge", 1)].speedup_vs_cpu == pytest.approx(1.0)
    assert rows[("g5.xlarge", 1)].speedup_vs_cpu == pytest.approx(500 / (1000 / 9))
    assert rows[("inf2.xlarge", 8)].speedup_vs_cpu == pytest.approx((8000 / 3) / 200)
    # inf2 at batch 8 is the cheapest; at batch 1 the fastest: both on the frontier, no other.
    assert {k for k, r in rows.items() if r.pareto} == {("inf2.xlarge", 8), ("inf2.xlarge", 1)}


def test_meets_target_is_none_without_a_target() -> None:
    assert {r.meets_target for r in rank(three_candidates(), None)} == {None}


def test_speedup_is_over_the_cheapest_cpu_candidate_at_that_batch() -> None:
    cheap = result("c5.large", "cpu", [batch(1, 10.0)])  # $0.085: $0.0236/100k, 100/s
    dear = result("c6i.4xlarge", "cpu", [batch(1, 2.0)])  # $0.68: $0.0378/100k, 500/s
    gpu = result("g5.xlarge", "nvidia", [batch(1, 1.0), batch(8, 2.0)])
    rows = by_key(
        rank(
            [
                candidate("c6i.4xlarge", 0.68, dear),
                candidate("c5.large", 0.085, cheap),
                candidate("g5.xlarge", 1.006, gpu),
            ],
            None,
        )
    )
    assert rows[("c6i.4xlarge", 1)].speedup_vs_cpu == pytest.approx(5.0)
    assert rows[("g5.xlarge", 1)].speedup_vs_cpu == pytest.approx(10.0)
    assert rows[("g5.xlarge", 8)].speedup_vs_cpu is None  # no CPU measured batch 8


def test_a_tie_does_not_dominate() -> None:
    """Same cost and slower, or same p99 and dearer: still on the frontier (not both beaten)."""
    figures = {
        "a1.large": (10.0, 20.0),
        "b1.large": (10.0, 30.0),  # the same cost as a1, slower
        "c1.large": (20.0, 20.0),  # the same p99 as a1, dearer
        "d1.large": (20.0, 40.0),  # a1 beats it on both
    }
    candidates = [
        candidate(name, 3.6, result(name, "cpu", [batch(1, mean, p99_ms=p99)]))
        for name, (mean, p99) in figures.items()
    ]
    rows = rank(candidates, None)
    assert {r.instance_type for r in rows if r.pareto} == {"a1.large", "b1.large", "c1.large"}


def test_an_unknown_price_is_shown_never_on_the_frontier_nor_recommended() -> None:
    fast = result("p5.48xlarge", "nvidia", [batch(1, 0.5)])
    slow = result("c5.xlarge", "cpu", [batch(1, 9.0)])
    rows = rank([candidate("p5.48xlarge", None, fast), candidate("c5.xlarge", 0.17, slow)], 50.0)
    assert [r.instance_type for r in rows] == ["c5.xlarge", "p5.48xlarge"]
    unpriced = rows[1]
    assert unpriced.status == "ok" and unpriced.p99_ms == 0.75
    assert unpriced.cost_per_100k_usd is None and unpriced.cost_per_100k_at_throughput_usd is None
    assert unpriced.pareto is False
    # The priced row is on the frontier: the unpriced, faster one cannot dominate it.
    assert rows[0].pareto is True
    assert recommendation(rows, 50.0)["instance_type"] == "c5.xlarge"


def test_recommendation_with_a_target() -> None:
    rows = rank(three_candidates(), 5.0)  # only inf2 at 1 and 8, and g5 at 1, meet 5 ms
    assert recommendation(rows, 5.0) == {
        "instance_type": "inf2.xlarge",
        "accelerator": None,
        "batch_size": 8,
        "cost_per_100k_usd": pytest.approx(0.7582 / 3600 * 0.003 / 8 * 100_000),
        "p99_ms": 4.5,
        "why": "cheapest that meets p99 ≤ 5 ms",
    }
    rows = rank(three_candidates(), 4.0)  # inf2 at 8 (4.5 ms) no longer meets it
    pick = recommendation(rows, 4.0)
    assert (pick["instance_type"], pick["batch_size"], pick["p99_ms"]) == ("inf2.xlarge", 1, 2.25)


def test_recommendation_without_a_target_is_the_cheapest() -> None:
    pick = recommendation(rank(three_candidates(), None), None)
    assert (pick["instance_type"], pick["batch_size"]) == ("inf2.xlarge", 8)
    assert pick["why"] == "cheapest measured (no p99 target)"


def test_no_recommendation_when_nothing_meets_the_target() -> None:
    assert recommendation(rank(three_candidates(), 1.0), 1.0) is None
    assert recommendation(rank([candidate("c5.xlarge", 0.17, None)], None), None) is None


def test_a_recommended_row_with_an_invalid_p99_says_so() -> None:
    res = result("c5.xlarge", "cpu", [batch(1, 9.0, queries=400, valid=False, why="400 queries")])
    pick = recommendation(rank([candidate("c5.xlarge", 0.17, res)], 50.0), 50.0)
    assert pick["why"] == "cheapest that meets p99 ≤ 50 ms; its p99 is not valid (400 queries)"


def test_failed_candidates_keep_their_reasons_and_come_last() -> None:
    wrong = result(
        "g5.xlarge",
        "nvidia",
        status="failed",
        outcome="wrong answer",
        reason="max |device - CPU| 0.3 > 0.01 x 1.2",
    )
    oom = result("inf1.xlarge", "neuron", status="failed", outcome="out of memory")
    rows = rank(
        [
            candidate("g5.xlarge", 1.006, wrong),
            candidate("inf2.xlarge", 0.7582, None, reason="no result within 900 s (hung)"),
            candidate("c5.xlarge", 0.17, result("c5.xlarge", "cpu", [batch(1, 9.0)])),
            candidate("inf1.xlarge", 0.228, oom),
            candidate("trn1.2xlarge", 1.34, None),
        ],
        50.0,
    )
    assert [(r.instance_type, r.status) for r in rows] == [
        ("c5.xlarge", "ok"),
        ("g5.xlarge", "failed"),
        ("inf2.xlarge", "failed"),
        ("inf1.xlarge", "failed"),
        ("trn1.2xlarge", "failed"),
    ]
    assert [r.reason for r in rows[1:]] == [
        "wrong answer: max |device - CPU| 0.3 > 0.01 x 1.2",
        "no result within 900 s (hung)",
        "out of memory",
        "no result",
    ]
    failed = rows[1]
    assert failed.device == "cuda:0" and failed.batch_size is None
    assert failed.cost_per_100k_usd is None and failed.pareto is False
    assert failed.meets_target is None and failed.price_per_hour_usd == 1.006


def test_benchmark_cost_is_minutes_used_times_price() -> None:
    candidates = [
        candidate("c5.xlarge", 0.17, None, minutes=6.0),  # $0.017
        candidate("g5.xlarge", 1.006, None, minutes=30.0),  # $0.503
        candidate("x9.huge", None, None, minutes=5.0),  # not counted: no price
        candidate("y9.huge", None, None, minutes=0.0),  # never ran: nothing to count
        candidate("m5.large", 0.356, None, accelerator="eia1.large", minutes=10.0),
    ]
    assert benchmark_cost_usd(candidates) == pytest.approx(0.017 + 0.503 + 0.356 / 6)
    assert cost_unknown(candidates) == ["x9.huge"]


def test_rows_carry_the_issue_fields_and_the_accelerator() -> None:
    res = result("m5.large", "eia", [batch(1, 222.78)])
    (row,) = rank([candidate("m5.large", 0.356, res, accelerator="eia1.large")], None)
    assert set(ISSUE_FIELDS) <= set(row.to_dict()) == set(ROW_FIELDS)
    assert row.accelerator == "eia1.large" and row.device == "eia:0"
    assert round(row.cost_per_100k_usd, 2) == 2.20


def test_the_document_has_the_issue_keys_and_is_json() -> None:
    doc = document(inf2_fails=True)
    assert json.loads(json.dumps(doc)) == doc
    assert doc["model"] == MODEL and doc["p99_target_ms"] == 50.0
    assert [r["instance_type"] for r in doc["results"]] == [
        "g5.xlarge",
        "c5.xlarge",
        "c5.xlarge",
        "g5.xlarge",
        "inf2.xlarge",
    ]
    assert doc["results"][-1]["reason"] == "no capacity in any AZ: InsufficientInstanceCapacity"
    assert doc["recommendation"]["instance_type"] == "g5.xlarge"
    assert doc["benchmark_cost_usd"] == pytest.approx(6 / 60 * (0.17 + 1.006))
    assert doc["simulated"] is False and doc["measured_on"] is None
    assert all(set(ISSUE_FIELDS) <= set(r) for r in doc["results"])


def test_a_simulated_document_says_where_it_was_measured() -> None:
    doc = document(simulated=True)
    assert doc["simulated"] is True
    assert doc["measured_on"] == SIMULATED_MEASURED_ON
    assert "measured on the local CPU, not on its accelerator" in doc["measured_on"]
    assert {r["simulated"] for r in doc["results"]} == {True}
    assert {r["device"] for r in doc["results"]} == {"cpu"}


def test_a_result_marked_simulated_counts_as_simulated() -> None:
    """The agent's word is enough, even if the tool did not force it."""
    res = result("c5.xlarge", "cpu", [batch(1, 9.0)], simulated=True)
    candidates = [candidate("c5.xlarge", 0.17, res)]
    doc = to_json_document(MODEL, candidates, rank(candidates, None), None)
    assert doc["simulated"] is True and doc["results"][0]["simulated"] is True


def test_one_real_candidate_makes_the_document_not_simulated() -> None:
    real = result("c5.xlarge", "cpu", [batch(1, 9.0)])
    fake = result("g5.xlarge", "nvidia", [batch(1, 2.0)], simulated=True)
    candidates = [candidate("c5.xlarge", 0.17, real), candidate("g5.xlarge", 1.006, fake)]
    doc = to_json_document(MODEL, candidates, rank(candidates, None), None)
    assert doc["simulated"] is False
    assert {r["instance_type"]: r["simulated"] for r in doc["results"]} == {
        "c5.xlarge": False,
        "g5.xlarge": True,
    }


def test_a_malformed_batch_entry_is_not_a_row() -> None:
    """The result is the instance's word: a batch without figures is skipped, not a crash."""
    res = result("c5.xlarge", "cpu", [{"batch_size": 1}, "junk", batch(8, 40.0)])
    rows = rank([candidate("c5.xlarge", 0.17, res)], None)
    assert [(r.batch_size, r.status) for r in rows] == [(8, "ok")]
    empty = result("c5.xlarge", "cpu", [{"batch_size": 1, "p50_ms": "fast"}])
    (row,) = rank([candidate("c5.xlarge", 0.17, empty)], None)
    assert (row.status, row.reason) == ("failed", "its result measured no batch size")
