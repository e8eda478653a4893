"""How the benchmark measures one model callable, after MLPerf Inference LoadGen's scenarios:
warm-up queries are run and discarded; single-stream sends queries back to back for at least a
minimum duration AND a minimum query count, then reports percentiles over every query; throughput
runs concurrent streams (threads), raised 1, 2, 4 ... until the gain is under 5 % or the p99
passes the target. Compile and load time are never inside these figures.

Standard library only, Python 3.6 syntax (annotations are quoted): this runs inside the framework
environment's own Python, its source placed ahead of bench_worker.py's. Every function takes the
clock, so tests/agent/test_agent_loadgen.py checks the rules exactly and never sleeps."""

import math
import threading
import time

# A p99 rests on the slowest 1 % of the queries: with 1,000 queries that is 10 of them, the
# fewest for which one unlucky query cannot be the whole answer (MLPerf's SingleStream asks
# 1,024 for its p90). Fewer queries: the row is reported, marked invalid.
MIN_QUERIES = 1000
# Latency of a fixed graph on a device nothing else uses varies by a few per cent per query
# (CV ~0.01-0.1; ~0.3-0.5 for a sub-millisecond model, where the OS's scheduling shows). A CV of
# 1 is what a memoryless waiting time (an exponential distribution) has: latency then looks like
# queueing behind something else (a neighbour, throttling, a background compile), not like the
# hardware computing the model, and its p99 says little about the hardware: marked invalid.
MAX_CV = 1.0
GAIN = 0.05  # stop raising streams when throughput gains less than this
MAX_STREAMS = 16  # 2, 4, 8, 16 beyond single-stream: at most LADDER_STEPS steps per batch size
LADDER_STEPS = 4
# Time the harness may add beyond duration x batch sizes (issue 22: 60 s in all): the ladder's
# steps share LADDER_BUDGET_S, warm-ups WARMUP_BUDGET_S; the rest is worker start and the answer
# checks. Hence at most MAX_BATCH_SIZES batch sizes (8 x 4 steps x 1 s = the ladder's 32 s).
LADDER_BUDGET_S = 32.0
WARMUP_BUDGET_S = 8.0
MAX_BATCH_SIZES = 8
WARMUP_QUERIES = 10
MIN_STEP_S, MAX_WARMUP_S = 1.0, 2.0


def plan(batch_count: int, duration_s: float) -> "dict":
    """Seconds per throughput step and per warm-up, so that all of them together stay within
    LADDER_BUDGET_S + WARMUP_BUDGET_S for up to MAX_BATCH_SIZES batch sizes."""
    count = max(int(batch_count), 1)
    step_s = max(MIN_STEP_S, min(duration_s / 4.0, LADDER_BUDGET_S / (count * LADDER_STEPS)))
    return {"step_s": step_s, "warmup_s": min(MAX_WARMUP_S, WARMUP_BUDGET_S / count)}


def percentile(samples: "list", q: float) -> float:
    """Nearest rank, no interpolation: the smallest sample with at least q % of all samples at
    or below it, so every percentile is a latency some query really took. Of 1,000 queries the
    p99 is the 990th fastest, the p50 the 500th."""
    ordered = sorted(samples)
    rank = max(math.ceil(q / 100.0 * len(ordered)), 1)
    return ordered[rank - 1]


def cv(samples: "list") -> float:
    """Coefficient of variation: population standard deviation over the mean."""
    mean = sum(samples) / len(samples)
    if mean <= 0:
        return 0.0
    return math.sqrt(sum((x - mean) ** 2 for x in samples) / len(samples)) / mean


def verdict(queries: int, variation: float, min_queries: int = MIN_QUERIES, max_cv: float = MAX_CV):
    """(valid, why): too few queries for a p99, or too noisy; why is None when valid."""
    reasons = []
    if queries < min_queries:
        reasons.append(
            f"too few queries for a p99: {queries} (fewer than {min_queries}); raise --duration"
        )
    if variation > max_cv:
        reasons.append(
            f"too noisy: latency varies by {variation * 100:.0f} % of its mean (over "
            f"{max_cv * 100:.0f} %): something else was using the device"
        )
    return (not reasons), ("; ".join(reasons) or None)


def figures(samples_ms: "list", elapsed_s: float, batch_size: int, streams: int = 1) -> "dict":
    """Latency percentiles (ms), mean, CV and throughput (inferences/s: queries x batch size
    over the wall time) of one measurement."""
    variation = cv(samples_ms)
    valid, why = verdict(len(samples_ms), variation)
    return {
        "streams": streams,
        "queries": len(samples_ms),
        "seconds": round(elapsed_s, 3),
        "p50_ms": round(percentile(samples_ms, 50), 4),
        "p90_ms": round(percentile(samples_ms, 90), 4),
        "p99_ms": round(percentile(samples_ms, 99), 4),
        "mean_ms": round(sum(samples_ms) / len(samples_ms), 4),
        "cv": round(variation, 4),
        "throughput_per_s": round(len(samples_ms) * batch_size / elapsed_s, 2)
        if elapsed_s
        else None,
        "valid": valid,
        "why": why,
    }


def warm_up(run: "object", queries: int, seconds: float, clock: "object" = time.perf_counter):
    """Queries run and discarded until `queries` were run or `seconds` passed (at least one):
    {queries, s}."""
    start, count = clock(), 0
    while True:
        run()
        count += 1
        if count >= queries or clock() - start >= seconds:
            return {"queries": count, "s": round(clock() - start, 3)}


def single_stream(
    run: "object",
    duration_s: float,
    min_queries: int,
    clock: "object" = time.perf_counter,
    max_s: "float | None" = None,
):
    """Queries back to back, each timed, until at least `duration_s` passed AND at least
    `min_queries` were run, or `max_s` passed (the job's time limit): (latencies ms, seconds)."""
    samples = []
    start = clock()
    while True:
        began = clock()
        run()
        ended = clock()
        samples.append((ended - began) * 1000.0)
        elapsed = ended - start
        if elapsed >= duration_s and len(samples) >= min_queries:
            return samples, elapsed
        if max_s is not None and elapsed >= max_s:
            return samples, elapsed


def concurrent(run: "object", streams: int, seconds: float, clock: "object" = time.perf_counter):
    """`streams` threads, each sending queries back to back for `seconds` from the moment all
    of them are ready (each runs at least one): (every query's latency in ms, wall seconds
    until the last query ended). A query that fails is raised."""
    lists, errors, begin = [[] for _ in range(streams)], [], []
    ready = threading.Barrier(streams, action=lambda: begin.append(clock()))
    ends = [0.0] * streams

    def stream(index):
        try:
            ready.wait()
            ends[index] = begin[0]
            while not lists[index] or clock() - begin[0] < seconds:
                began = clock()
                run()
                ended = clock()
                lists[index].append((ended - began) * 1000.0)
                ends[index] = ended
        except Exception as error:  # raised in the caller's thread below
            errors.append(error)

    threads = [threading.Thread(target=stream, args=(i,)) for i in range(streams)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [x for samples in lists for x in samples], max(ends) - begin[0]


def ladder(
    measure: "object",
    batch_size: int,
    single: "dict",
    p99_target_ms: "float | None" = None,
    max_streams: int = MAX_STREAMS,
    gain: float = GAIN,
):
    """Throughput with 1 (the single-stream figures, `single`), 2, 4 ... concurrent streams;
    `measure(streams)` returns (latencies ms, seconds). Raising stops when throughput gains less
    than `gain` over the step before, or the p99 passes `p99_target_ms`. The best step is the
    highest throughput whose p99 meets the target: {steps, best, stopped}."""
    first = dict(single, streams=1)
    steps, best = [first], first
    if p99_target_ms is not None and first["p99_ms"] > p99_target_ms:
        stopped = f"p99 {first['p99_ms']:g} ms at 1 stream is over the {p99_target_ms:g} ms target"
        return {"steps": steps, "best": best, "stopped": stopped}
    streams, stopped = 2, f"reached {max_streams} streams"
    while streams <= max_streams:
        samples, elapsed = measure(streams)
        step = figures(samples, elapsed, batch_size, streams)
        previous = steps[-1]
        steps.append(step)
        if p99_target_ms is not None and step["p99_ms"] > p99_target_ms:
            stopped = (
                f"p99 {step['p99_ms']:g} ms at {streams} streams is over the "
                f"{p99_target_ms:g} ms target"
            )
            break
        if step["throughput_per_s"] > best["throughput_per_s"]:
            best = step
        before = previous["throughput_per_s"] or 0.0
        if step["throughput_per_s"] < before * (1.0 + gain):
            change = (step["throughput_per_s"] / before - 1.0) * 100 if before else 0.0
            stopped = (
                f"throughput gained {change:.1f} % (under {gain * 100:g} %) at {streams} streams"
            )
            break
        streams *= 2
    return {"steps": steps, "best": best, "stopped": stopped}
