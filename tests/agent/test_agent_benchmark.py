"""The benchmark harness end to end on this machine's CPU: the real demo ONNX model
(templates/models/demo-cnn.onnx) measured by the real worker in ONNX Runtime, at batch 1 and 8,
with a small query count; and each way a candidate fails, classified with its reason: a model
that is not the file the job names, a corrupt one, a shape that does not fit, an environment
that crashes, hangs, or answers wrongly, none at all."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import onnx
import pytest
from bench_fakes import broken_environment, environment

from amazonei_setup.agent import benchmark
from amazonei_setup.agent.bench_job import check_job
from amazonei_setup.agent.benchmark import main, run_job

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "templates" / "models" / "demo-cnn.onnx"
DEMO_SHA = hashlib.sha256(DEMO.read_bytes()).hexdigest()
ROW_FIELDS = {
    "batch_size",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "mean_ms",
    "queries",
    "cv",
    "valid",
    "why",
    "throughput_per_s",
    "streams",
    "steps",
}
RESULT_FIELDS = {
    "instance_type",
    "accelerator",
    "kind",
    "device",
    "framework",
    "status",
    "reason",
    "load_s",
    "compile_s",
    "download_s",
    "warmup",
    "batches",
    "max_abs_error",
    "tolerance",
    "simulated",
    "model",
    "started_at",
    "duration_s",
    "attempts",
}


@pytest.fixture
def root(tmp_path, monkeypatch):
    """An empty fake machine (AMAZONEI_AGENT_ROOT) and a cache of its own."""
    machine = tmp_path / "root"
    machine.mkdir()
    monkeypatch.setenv("AMAZONEI_AGENT_ROOT", str(machine))
    monkeypatch.setenv("AMAZONEI_AGENT_CACHE_DIR", str(tmp_path / "cache"))
    return machine


def make_job(tmp_path: Path, **changes) -> dict:
    job = {
        "model": {"path": str(DEMO), "sha256": DEMO_SHA, "bytes": DEMO.stat().st_size},
        "batch_sizes": [1, 8],
        "duration_s": 0.05,
        "min_queries": 20,
        "step_s": 0.02,
        "warmup_s": 1.0,
        "warmup_queries": 2,
        "expect": "none",
        "instance_type": "c7i.large",
        "result_uri": str(tmp_path / "result.json"),
        "time_limit_s": 60,
    }
    job.update(changes)
    return job


def run(tmp_path: Path, **changes) -> dict:
    return run_job(check_job(make_job(tmp_path, **changes)))


def test_the_demo_model_is_measured_on_the_cpu_at_batch_1_and_8(root, tmp_path):
    result = run(tmp_path)
    assert result["status"] == "ok", result["reason"]
    assert set(result) >= RESULT_FIELDS
    assert (result["kind"], result["device"], result["accelerator"]) == ("cpu", "cpu", None)
    assert result["framework"].startswith("onnxruntime ")
    assert result["framework"].endswith(" CPUExecutionProvider")
    assert result["simulated"] is False and result["attempts"] == []
    assert result["model"]["sha256"] == DEMO_SHA and result["model"]["format"] == "onnx"
    assert result["max_abs_error"] == 0.0 and result["tolerance"]["precision"] == "fp32"
    assert result["download_s"] == 0.0 and result["compile_s"] == 0.0 and result["load_s"] > 0
    assert result["warmup"]["queries"] == 4  # 2 per batch size, discarded
    assert [row["batch_size"] for row in result["batches"]] == [1, 8]
    for row in result["batches"]:
        assert set(row) >= ROW_FIELDS
        assert row["queries"] >= 20 and 0 < row["p50_ms"] <= row["p90_ms"] <= row["p99_ms"]
        assert row["throughput_per_s"] > 0 and row["streams"] >= 1
        assert row["steps"][0]["streams"] == 1 and row["stopped"]
        if row["queries"] < 1000:
            assert row["valid"] is False and "too few queries for a p99" in row["why"]
    assert result["overhead_s"] < 60


def test_the_command_writes_the_result_where_the_job_says(root, tmp_path, capsys):
    job = tmp_path / "job.json"
    job.write_text(json.dumps(make_job(tmp_path, batch_sizes=[1])))
    assert main(["--job", str(job)]) == 0
    written = json.loads((tmp_path / "result.json").read_text())
    assert written["status"] == "ok" and written["batches"][0]["batch_size"] == 1
    assert json.loads(capsys.readouterr().out) == written


def test_a_job_it_cannot_run_exits_2_and_still_answers(root, tmp_path):
    job = tmp_path / "job.json"
    job.write_text(json.dumps(make_job(tmp_path, batch_sizes=[1, 1])))
    assert main(["--job", str(job)]) == 2
    written = json.loads((tmp_path / "result.json").read_text())
    assert (written["status"], written["outcome"]) == ("failed", "bad job")
    assert written["reason"].startswith("batch_sizes: [1, 1]: at most 8, no duplicates")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"duration_s": 0}, "duration_s: 0 is not a number >= 0.001"),
        ({"model": {"path": "m.onnx"}}, "model.sha256: the model's SHA-256, 64 hex digits"),
        ({"model": {"uri": "builtin:gpt5"}}, "model builtin:gpt5: known built-ins are"),
        ({"model": {"path": "m.h5", "sha256": "0" * 64}}, "format None; .onnx, .pt"),
        ({"model": {"path": "m.onnx", "sha256": "0" * 64, "bytes": 3 << 30}}, "over the 2 GB"),
        ({"expect": "eia9.huge"}, "expect: unknown accelerator type"),
        ({"result_uri": None}, "result_uri: where the result goes"),
    ],
)
def test_bad_jobs_name_the_field(tmp_path, change, message):
    with pytest.raises(benchmark.JobError, match=re.escape(message)):
        check_job(make_job(tmp_path, **change))


def test_a_model_that_is_not_the_file_the_job_names_is_never_loaded(root, tmp_path):
    result = run(tmp_path, model={"path": str(DEMO), "sha256": "ab" * 32})
    assert (result["status"], result["outcome"]) == ("failed", "bad model")
    assert result["reason"].startswith(f"the model's SHA-256 is {DEMO_SHA}, the job says abab")
    assert result["attempts"] == [] and result["batches"] == []


def test_a_truncated_model_is_caught_by_its_size(root, tmp_path):
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(DEMO.read_bytes()[:5000])
    size = DEMO.stat().st_size
    result = run(tmp_path, model={"path": str(cut), "sha256": DEMO_SHA, "bytes": size})
    assert result["outcome"] == "bad model"
    assert result["reason"].startswith(f"the model is 5000 bytes, the job says {size}: truncated")


def test_a_corrupt_model_is_a_bad_model_in_every_environment(root, tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x08\x07 this is not a protobuf " * 40)
    digest = hashlib.sha256(junk.read_bytes()).hexdigest()
    result = run(tmp_path, model={"path": str(junk), "sha256": digest})
    assert (result["status"], result["outcome"]) == ("failed", "bad model")
    assert "ONNX Runtime cannot load the model" in result["reason"]


@pytest.mark.parametrize(
    ("inputs", "reason"),
    [
        (
            [{"name": "image", "shape": [1, 3, 64, 64]}],
            "input 'image' is ?x3x32x32; the job gives 1x3x64x64 (dimension 2 differs)",
        ),
        (
            [{"name": "pixels", "shape": [1, 3, 32, 32]}],
            "the model has no input named 'pixels' (its inputs: image)",
        ),
        (
            [{"name": "image", "shape": [1, 3, 32]}],
            "input 'image' has 4 dimensions (?x3x32x32); the job gives 3 (1x3x32)",
        ),
    ],
)
def test_an_input_shape_that_does_not_fit_fails_the_candidate(root, tmp_path, inputs, reason):
    model = {"path": str(DEMO), "sha256": DEMO_SHA, "inputs": inputs}
    result = run(tmp_path, model=model)
    assert (result["status"], result["outcome"]) == ("failed", "shape mismatch")
    assert reason in result["reason"]


def test_a_fixed_batch_dimension_refuses_other_batch_sizes(root, tmp_path):
    model = onnx.load(str(DEMO))
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
    fixed = tmp_path / "fixed.onnx"
    onnx.save(model, str(fixed))
    digest = hashlib.sha256(fixed.read_bytes()).hexdigest()
    result = run(tmp_path, model={"path": str(fixed), "sha256": digest})
    assert result["outcome"] == "shape mismatch"
    assert (
        "input 'image' has a fixed batch dimension 1: batch size 8 cannot be fed"
        in (result["reason"])
    )
    assert run(tmp_path, model={"path": str(fixed), "sha256": digest}, batch_sizes=[1])[
        "status"
    ] == ("ok")


def test_a_crashing_environment_falls_to_the_next(root, tmp_path):
    broken_environment(root, "opt/pytorch", "crash")  # the DLAMI's, tried first
    result = run(tmp_path, batch_sizes=[1])
    assert result["status"] == "ok"
    [attempt] = result["attempts"]
    assert (attempt["environment"], attempt["outcome"]) == ("/opt/pytorch", "crashed")
    assert "exited 139 without an answer: Segmentation fault" in attempt["reason"]


def test_a_hanging_environment_is_killed_at_the_time_limit(root, tmp_path, monkeypatch):
    monkeypatch.setattr(benchmark, "RESERVE_S", 0.0)
    monkeypatch.setattr(benchmark, "MIN_ENVIRONMENT_S", 0.5)
    broken_environment(root, "opt/pytorch", "hang")
    result = run(tmp_path, expect="g5.xlarge", instance_type="g5.xlarge", time_limit_s=1.5)
    assert (result["status"], result["outcome"], result["kind"]) == ("failed", "hung", "nvidia")
    assert "no answer to the probe within 1.5 s" in result["reason"]  # asked, never run
    assert result["duration_s"] < 10


def test_no_environment_says_what_to_install(root, tmp_path):
    result = run(tmp_path, expect="inf2.xlarge", instance_type="inf2.xlarge")
    assert (result["status"], result["outcome"]) == ("failed", "not installed")
    assert result["reason"].startswith(f"no framework environment found under {root}")
    assert "torch-neuronx" in result["reason"] and result["accelerator"] == "Inferentia2"


def test_onnx_on_a_gpu_names_the_execution_provider_that_ran(root, tmp_path, monkeypatch):
    environment(root, "opt/pytorch", "ort-gpu")
    monkeypatch.setenv("STUB_ORT", "cuda")  # TensorRT is listed but fails to load
    result = run(tmp_path, expect="g5.xlarge", instance_type="g5.xlarge", batch_sizes=[1])
    assert result["status"] == "ok", result["reason"]
    assert result["device"] == "cuda:0" and result["environment"] == "/opt/pytorch"
    assert result["framework"].endswith(" CUDAExecutionProvider") and result["compiler"] is None


def test_tensorrt_is_used_where_it_loads_and_its_build_counts_as_compile(
    root, tmp_path, monkeypatch
):
    environment(root, "opt/pytorch", "ort-gpu")
    monkeypatch.setenv("STUB_ORT", "tensorrt")
    result = run(tmp_path, expect="g5.xlarge", instance_type="g5.xlarge", batch_sizes=[1])
    assert result["framework"].endswith(" TensorrtExecutionProvider")
    assert result["compiler"] == "TensorRT" and result["compile_s"] > 0


def test_a_wrong_answer_on_the_accelerator_fails_the_candidate(root, tmp_path, monkeypatch):
    environment(root, "opt/pytorch", "ort-gpu")
    monkeypatch.setenv("STUB_WRONG", "1")
    result = run(tmp_path, expect="g5.xlarge", instance_type="g5.xlarge")
    assert (result["status"], result["outcome"]) == ("failed", "wrong answer")
    assert "batch 1: the first output is not the CPU's: max abs error 1 over" in result["reason"]
    assert result["attempts"][0]["framework"].startswith("onnxruntime ")


def test_a_stand_in_environment_makes_the_result_simulated(root, tmp_path):
    environment(root, "opt/aws_neuronx_venv_pytorch_2_5", "torch", simulated=True)
    # the sandbox's stand-ins answer the probe as torch-neuronx and run the model on this
    # machine's CPU: the cpu backend, labelled
    python = root / "opt/aws_neuronx_venv_pytorch_2_5/bin/python3"
    cpu = '[ "$3" = probe ] || set -- "$1" "$2" cpu\n'
    python.write_text(python.read_text().replace("PYTHONPATH=", cpu + "PYTHONPATH=", 1))
    result = run(tmp_path, expect="inf2.xlarge", instance_type="inf2.xlarge", batch_sizes=[1])
    assert result["status"] == "ok" and result["simulated"] is True
    assert result["device"] == "cpu" and result["accelerator"] == "Inferentia2"


def test_the_result_goes_to_s3_and_the_model_comes_from_it(root, tmp_path):
    boto3 = pytest.importorskip("boto3")
    from moto import mock_aws

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-west-2")
        s3.create_bucket(
            Bucket="bench", CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
        )
        s3.upload_file(str(DEMO), "bench", "models/demo-cnn.onnx")
        model = {"uri": "s3://bench/models/demo-cnn.onnx", "sha256": DEMO_SHA}
        job = check_job(make_job(tmp_path, model=model, batch_sizes=[1]))
        job["result_uri"] = "s3://bench/results/c7i.large.json"
        first = run_job(job, region="us-west-2")
        assert first["status"] == "ok" and first["model"]["cached"] is False
        assert first["download_s"] >= 0
        benchmark.write_result(first, job["result_uri"], "us-west-2")
        body = s3.get_object(Bucket="bench", Key="results/c7i.large.json")["Body"].read()
        assert json.loads(body)["batches"][0]["batch_size"] == 1
        again = run_job(job, region="us-west-2")
        assert again["model"]["cached"] is True and again["download_s"] == 0.0


def test_the_one_file_harness_runs_like_the_module(root, tmp_path):
    import subprocess
    import sys

    from amazonei_setup.agent.bundle import build_benchmark_file

    harness = tmp_path / "benchmark.py"
    harness.write_text(build_benchmark_file())
    job = tmp_path / "job.json"
    job.write_text(json.dumps(make_job(tmp_path, batch_sizes=[8])))
    done = subprocess.run(
        [sys.executable, str(harness), "--job", str(job)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["status"] == "ok" and result["batches"][0]["batch_size"] == 8
    assert shutil.which("python3")  # the instance runs it with its own python3


def _python36() -> str | None:
    import glob
    import subprocess

    for path in sorted(glob.glob("/root/.pyenv/versions/3.6*/bin/python3.6")):
        if subprocess.run([path, "-c", "pass"], capture_output=True).returncode == 0:
            return path
    return None


@pytest.mark.parametrize("how", ["module", "bundle"])
def test_the_worker_is_python_3_6_source(how):
    import ast

    from amazonei_setup.agent import bundle

    source = bundle.bench_worker_source() if how == "bundle" else benchmark.bench_worker_source()
    tree = ast.parse(source, feature_version=(3, 6))
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level]


@pytest.mark.skipif(_python36() is None, reason="no Python 3.6 here")
def test_in_a_python_3_6_environment_the_worker_says_what_is_missing(root, tmp_path):
    """The EI conda environments are Python 3.6: the worker must start there and answer."""
    candidate = {"backend": "pytorch-ei", "env": "/opt/conda/envs/amazonei_pytorch_p36"}
    candidate["python"] = _python36()
    work = json.dumps({"model": {"format": "onnx", "path": str(DEMO)}, "batch_sizes": [1]})
    _, outcome, reason, simulated = benchmark.run_worker(candidate, work, 30)
    assert (outcome, reason, simulated) == ("not installed", "not installed (numpy)", False)
