"""The benchmark's measurement rules (agent/loadgen.py), on a fake clock that each query moves
forward: the counts, percentiles and verdicts are exact and nothing sleeps."""

from __future__ import annotations

import itertools
import time

import pytest

from amazonei_setup.agent import loadgen
from amazonei_setup.agent.loadgen import (
    concurrent,
    cv,
    figures,
    ladder,
    percentile,
    plan,
    single_stream,
    warm_up,
)

# Query times are powers of two of a second, so every sum is exact in floating point.
Q = 2.0**-9  # 1.953125 ms


class Clock:
    """Seconds that move only when a query runs."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def query(self, *seconds: float):
        """A query callable taking these seconds in turn (cycling)."""
        durations = itertools.cycle(seconds)

        def run() -> None:
            self.now += next(durations)

        return run


def test_percentiles_are_nearest_rank_latencies_some_query_took():
    samples = [float(ms) for ms in range(1000, 0, -1)]  # 1..1000 ms, in any order
    assert (percentile(samples, 50), percentile(samples, 90), percentile(samples, 99)) == (
        500.0,
        900.0,
        990.0,
    )
    assert percentile([30.0, 10.0, 20.0], 50) == 20.0
    assert percentile([30.0, 10.0, 20.0], 99) == 30.0
    assert percentile([7.0], 99) == 7.0


def test_single_stream_runs_for_the_duration_and_the_minimum_count():
    clock = Clock()
    samples, elapsed = single_stream(clock.query(Q), 1.0, 100, clock)
    assert (len(samples), elapsed, samples[0]) == (512, 1.0, 1.953125)  # the duration decides
    samples, elapsed = single_stream(clock.query(Q), 1.0, 1000, clock)
    assert (len(samples), elapsed) == (1000, 1000 * Q)  # the count decides


def test_single_stream_stops_at_the_time_limit_and_says_the_p99_is_not_valid():
    clock = Clock()
    samples, elapsed = single_stream(clock.query(Q), 1.0, 1000, clock, max_s=1.5)
    assert (len(samples), elapsed) == (768, 1.5)
    row = figures(samples, elapsed, 1)
    assert row["valid"] is False
    assert row["why"] == "too few queries for a p99: 768 (fewer than 1000); raise --duration"


def test_figures_of_a_steady_run():
    clock = Clock()
    samples, elapsed = single_stream(clock.query(Q / 2, 3 * Q / 2), 1.0, 1000, clock)
    row = figures(samples, elapsed, batch_size=8)
    assert row["queries"] == 1000 and row["valid"] is True and row["why"] is None
    assert (row["p50_ms"], row["p90_ms"], row["p99_ms"]) == (0.9766, 2.9297, 2.9297)
    assert row["mean_ms"] == 1.9531 and row["cv"] == 0.5  # sd = half the mean
    assert row["throughput_per_s"] == 4096.0  # 1000 queries x 8 in 1.953125 s
    assert row["streams"] == 1 and row["seconds"] == 1.953


def test_a_run_dominated_by_interference_is_too_noisy():
    samples = [1.0] * 990 + [200.0] * 10  # a stall of 200 ms every 100 queries
    assert cv(samples) > loadgen.MAX_CV
    row = figures(samples, 2.99, 1)
    assert row["valid"] is False and row["why"].startswith("too noisy: latency varies by 6")
    assert row["p99_ms"] == 1.0  # the 990th fastest: the stalls are the slowest 1 %


def test_warm_up_runs_its_count_or_until_its_time_is_up():
    clock = Clock()
    assert warm_up(clock.query(Q), 10, 1.0, clock) == {"queries": 10, "s": 0.02}
    assert warm_up(clock.query(0.75), 10, 1.0, clock) == {"queries": 2, "s": 1.5}
    assert warm_up(clock.query(5.0), 10, 0.0, clock)["queries"] == 1  # at least one


def _measure(throughputs: dict, p99: dict | None = None):
    """measure(streams) -> (latencies, seconds) with exactly this throughput (batch 1, 1 s)."""
    calls = []

    def measure(streams: int):
        calls.append(streams)
        queries = int(throughputs[streams])
        tail = (p99 or {}).get(streams, 1.0)
        samples = [1.0] * (queries - queries // 50) + [tail] * (queries // 50)
        return samples, 1.0

    return measure, calls


SINGLE = figures([1.0] * 1000, 1.0, 1)  # 1000 inferences/s at one stream


def test_streams_double_until_throughput_gains_less_than_5_percent():
    measure, calls = _measure({2: 1800, 4: 2000, 8: 2040})
    found = ladder(measure, 1, SINGLE)
    assert calls == [2, 4, 8]
    assert [s["streams"] for s in found["steps"]] == [1, 2, 4, 8]
    assert found["best"]["streams"] == 8 and found["best"]["throughput_per_s"] == 2040.0
    assert found["stopped"] == "throughput gained 2.0 % (under 5 %) at 8 streams"


def test_a_loss_stops_the_ladder_and_the_best_stays_the_earlier_step():
    measure, _ = _measure({2: 1500, 4: 1400})
    found = ladder(measure, 1, SINGLE)
    assert found["best"]["streams"] == 2
    assert found["stopped"] == "throughput gained -6.7 % (under 5 %) at 4 streams"


def test_a_p99_over_the_target_stops_the_ladder_and_is_never_the_best():
    measure, calls = _measure({2: 1900, 4: 3000}, p99={4: 25.0})
    found = ladder(measure, 1, SINGLE, p99_target_ms=20.0)
    assert calls == [2, 4] and found["steps"][-1]["p99_ms"] == 25.0
    assert found["best"]["streams"] == 2
    assert found["stopped"] == "p99 25 ms at 4 streams is over the 20 ms target"


def test_single_stream_over_the_target_raises_no_streams():
    measure, calls = _measure({})
    found = ladder(measure, 1, figures([30.0] * 1000, 30.0, 1), p99_target_ms=20.0)
    assert calls == [] and found["best"]["streams"] == 1
    assert found["stopped"] == "p99 30 ms at 1 stream is over the 20 ms target"


def test_the_ladder_ends_at_its_most_streams():
    measure, calls = _measure({2: 2000, 4: 4000, 8: 8000, 16: 16000})
    found = ladder(measure, 1, SINGLE)
    assert calls == [2, 4, 8, 16] and found["stopped"] == "reached 16 streams"
    assert len(found["steps"]) == 1 + loadgen.LADDER_STEPS


@pytest.mark.parametrize("count", range(1, loadgen.MAX_BATCH_SIZES + 1))
@pytest.mark.parametrize("duration", [1.0, 30.0, 600.0])
def test_warm_up_and_the_ladder_fit_the_60_s_the_harness_may_add(count, duration):
    timing = plan(count, duration)
    ladder_s = count * loadgen.LADDER_STEPS * timing["step_s"]
    warmup_s = count * timing["warmup_s"]
    assert ladder_s <= loadgen.LADDER_BUDGET_S and warmup_s <= loadgen.WARMUP_BUDGET_S
    assert ladder_s + warmup_s <= 40.0  # 20 s left for the worker's start and answer checks
    assert timing["step_s"] >= 1.0


def test_the_default_run_takes_4_s_steps():
    assert plan(2, 30.0) == {"step_s": 4.0, "warmup_s": 2.0}


def test_concurrent_streams_run_in_threads_and_report_every_query():
    seen = set()

    def run() -> None:
        import threading

        seen.add(threading.current_thread().name)  # unique, unlike an ended thread's ident

    samples, elapsed = concurrent(run, 3, 0.02, time.perf_counter)
    assert len(seen) == 3 and len(samples) >= 3 and elapsed >= 0.02


def test_a_failing_query_in_a_stream_is_raised():
    def run() -> None:
        raise RuntimeError("device lost")

    with pytest.raises(RuntimeError, match="device lost"):
        concurrent(run, 2, 0.01, time.perf_counter)
