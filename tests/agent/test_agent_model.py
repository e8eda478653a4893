"""The smoke-test model: deterministic weights, NumPy against the pure reference, timings, the
CPU baseline for the speed-up, and honest failures."""

from __future__ import annotations

import numpy as np
import pytest

from amazonei_setup.agent.model import (
    ATOL,
    RTOL,
    backend_numpy,
    backend_python,
    compare,
    cpu_baseline,
    make_input,
    make_weights,
    numpy_forward,
    percentile,
    reference_forward,
    run_smoke_test,
)

# Pinned so that the weights (and the answer) cannot change unnoticed between the tool, the
# shipped file and any machine: xorshift32, seed 2019, exact float32 values.
PINNED_CONV_W = [-0.18859422206878662, 0.09974223375320435, -0.08510398864746094]
PINNED_OUTPUT = [
    -0.05159377750005682,
    0.021689150376618546,
    -0.01164181608348154,
    0.03785815309609756,
    0.02692636712024552,
    0.08119617093471437,
    0.02094581621580458,
    -0.021201154635885778,
    -0.04597899865212383,
    -0.04523744345141032,
]


def test_weights_and_answer_are_pinned():
    weights = make_weights()
    assert weights["conv_w"][:3] == PINNED_CONV_W
    assert reference_forward(weights, make_input()) == pytest.approx(PINNED_OUTPUT, abs=1e-15)


def test_deterministic():
    assert make_weights() == make_weights()
    first = reference_forward(make_weights(), make_input())
    assert reference_forward(make_weights(), make_input()) == first
    run, _ = backend_numpy(make_weights(), make_input())
    assert run() == run()
    assert make_weights(7) != make_weights()


def test_weights_are_exact_in_float32():
    for values in [*make_weights().values(), make_input()]:
        assert np.array_equal(np.array(values, np.float32).astype(np.float64), np.array(values))


def test_numpy_equals_the_reference_within_tolerance():
    weights, x = make_weights(), make_input()
    run, info = backend_numpy(weights, x)
    ok, error = compare(run(), reference_forward(weights, x))
    assert ok and info["framework"] == "numpy" and info["device"] == "cpu"
    assert error < 1e-6


def test_numpy_batches_agree_with_single_runs():
    weights = make_weights()
    from amazonei_setup.agent.model import _numpy_arrays

    arrays = _numpy_arrays(np, weights)
    batch = np.array([make_input(1), make_input(2)], np.float32).reshape(2, 3, 12, 12)
    out = numpy_forward(np, arrays, batch)
    for row, seed in zip(out, (1, 2), strict=True):
        assert compare(row.tolist(), reference_forward(weights, make_input(seed)))[0]


def test_compare_catches_differences_and_nan():
    reference = [0.5, -0.25]
    assert compare([0.5 + 1e-6, -0.25], reference)[0] is True
    assert compare([0.5 + ATOL + RTOL, -0.25], reference)[0] is False
    assert compare([float("nan"), -0.25], reference) == (False, None)
    assert compare([0.5], reference) == (False, None)


def test_percentile_matches_numpy():
    samples = [5.0, 1.0, 4.0, 2.0, 3.0, 10.0, 7.5]
    for q in (0, 50, 90, 99, 100):
        assert percentile(samples, q) == pytest.approx(np.percentile(samples, q))


def test_smoke_test_on_numpy_reports_positive_timings():
    result = run_smoke_test(runs=7, warmup=2, backends=(("numpy", backend_numpy),))
    assert result["ok"] is True and result["framework"] == "numpy"
    latency = result["latency_ms"]
    assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"]
    assert latency["mean"] > 0 and result["throughput_per_s"] > 0
    assert result["runs"] == 7 and result["tolerance"] == {"rtol": RTOL, "atol": ATOL}
    assert result["on_accelerator"] is False and "speedup" not in result
    assert result["max_abs_error"] < 1e-6


def test_pure_python_when_nothing_else_is_there():
    def missing(weights, x):
        raise ImportError("No module named 'numpy'", name="numpy")

    result = run_smoke_test(
        runs=3, warmup=1, backends=(("numpy", missing), ("python", backend_python))
    )
    assert result["ok"] is True and result["framework"] == "python"
    assert result["max_abs_error"] == 0.0
    assert result["attempts"] == [
        {"framework": "numpy", "outcome": "not installed", "reason": "not installed (numpy)"}
    ]


def test_the_cpu_baseline_says_why_a_backend_could_not_time_it():
    def broken(weights, x):
        raise RuntimeError("no BLAS")

    attempts: list = []
    framework, samples = cpu_baseline(
        3, 0, attempts, backends=(("numpy", broken), ("python", backend_python))
    )
    assert framework == "python" and len(samples) == 3 and all(s > 0 for s in samples)
    failed = {"framework": "numpy", "outcome": "crashed", "reason": "RuntimeError: no BLAS"}
    assert attempts == [failed]


def test_a_wrong_answer_fails_and_says_so():
    def wrong(weights, x):
        return (lambda: [0.0] * 10), {"framework": "liar", "device": "cpu"}

    result = run_smoke_test(runs=2, warmup=0, backends=(("liar", wrong),))
    assert result["ok"] is False
    assert "differs from the reference" in result["reason"]
    assert result["max_abs_error"] == pytest.approx(max(abs(v) for v in PINNED_OUTPUT))


def test_a_backend_that_breaks_at_run_time_falls_through():
    def broken(weights, x):
        def run():
            raise RuntimeError("device lost")

        return run, {"framework": "broken", "device": "gpu"}

    result = run_smoke_test(
        runs=2, warmup=0, backends=(("broken", broken), ("python", backend_python))
    )
    assert result["ok"] is True and result["framework"] == "python"
    assert result["attempts"] == [
        {"framework": "broken", "outcome": "crashed", "reason": "RuntimeError: device lost"}
    ]


def test_no_backend_at_all():
    result = run_smoke_test(runs=2, warmup=0, backends=())
    assert result["ok"] is False and result["reason"] == "no backend could run the model"


def test_onnxruntime_backend_matches_the_reference():
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from amazonei_setup.agent.model import backend_onnxruntime

    weights, x = make_weights(), make_input()
    run, info = backend_onnxruntime(weights, x)
    assert compare(run(), reference_forward(weights, x))[0] and info["device"] == "cpu"
