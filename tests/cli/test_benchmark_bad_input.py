"""`benchmark` refuses bad input before anything is made: exit 2, a message naming what is
wrong and what to do, no traceback, and not one mutating AWS call (issue 22, "Bad input")."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

DEMO = str(Path(__file__).resolve().parents[2] / "templates" / "models" / "demo-cnn.onnx")
GOOD = ["--region", "us-west-2", "--candidates", "c5.xlarge,g5.xlarge,inf2.xlarge"]


def refused(result, recorder, *fragments: str) -> None:
    assert result.code == 2, (result.code, result.err)
    assert "Traceback" not in result.err
    flat = " ".join(result.err.split())
    for fragment in fragments:
        assert fragment in flat, f"{fragment!r} not in {flat!r}"
    assert recorder.operations(mutating_only=True) == []


def truncated(tmp_path: Path) -> str:
    path = tmp_path / "cut.onnx"
    path.write_bytes(Path(DEMO).read_bytes()[:4000])
    return str(path)


def broken_torchscript(tmp_path: Path) -> str:
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("model/data.pkl", b"x" * 5000)
    data = bytearray(path.read_bytes())
    data[60:70] = b"\0" * 10  # inside the member: its CRC no longer matches
    path.write_bytes(bytes(data))
    return str(path)


CASES = [
    ("truncated", lambda t: ["--model", truncated(t)], ["cut.onnx is not a readable ONNX model"]),
    (
        "unknown-format",
        lambda t: ["--model", str(_file(t, "model.tflite", b"TFL3"))],
        ["a .tflite file is not a format the benchmark reads", "builtin:resnet50"],
    ),
    ("missing-file", lambda t: ["--model", str(t / "nope.onnx")], ["nope.onnx does not exist"]),
    (
        "damaged-torchscript",
        lambda t: ["--model", broken_torchscript(t), "--input-shape", "x=1x4"],
        ["model.pt is"],
    ),
    (
        "torchscript-without-shapes",
        lambda t: ["--model", _torchscript(t)],
        ["TorchScript carries no input shapes", "--input-shape"],
    ),
    (
        "shape-mismatch",
        lambda t: ["--model", DEMO, "--input-shape", "image=1x3x64x64"],
        ["input 'image' is ?x3x32x32; the job gives 1x3x64x64"],
    ),
    (
        "unknown-input",
        lambda t: ["--model", DEMO, "--input-shape", "pixels=1x3x32x32"],
        ["the model has no input named 'pixels'"],
    ),
    ("bad-builtin", lambda t: ["--model", "builtin:vgg"], ["builtin:vgg is not a built-in"]),
]


def _file(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def _torchscript(folder: Path) -> str:
    path = folder / "plain.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("plain/data.pkl", b"weights")
        archive.writestr("plain/code/__torch__.py", b"def forward(self, x): return x")
    return str(path)


@pytest.mark.parametrize(("model", "fragments"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_model_is_refused_before_anything_is_made(
    aws, run_cli, recorder, tmp_path, model, fragments
):
    result = run_cli("benchmark", *GOOD, *model(tmp_path), "--yes")
    refused(result, recorder, *fragments)


FLAG_CASES = [
    ("empty", ["--candidates", ""], ["--candidates is empty"]),
    ("duplicate", ["--candidates", "c5.xlarge,g5.xlarge,c5.xlarge"], ["c5.xlarge more than once"]),
    ("unknown-type", ["--candidates", "c5.xlarge,zz9.huge"], ["'zz9.huge' is not in the catalog"]),
    ("not-a-type", ["--candidates", "c5.xlarge,,g5.xlarge"], ["has an empty entry"]),
    ("eia-on-gpu", ["--candidates", "g5.xlarge+eia2.medium"], ["carries its own accelerator"]),
    ("k80", ["--candidates", "p2.xlarge"], ["p2.xlarge:"]),
    ("duration-zero", ["--duration", "0"], ["--duration must be more than 0"]),
    ("duration-nan", ["--duration", "nan"], ["--duration must be more than 0"]),
    ("batch-dup", ["--batch-sizes", "1,8,1"], ["repeats a size"]),
    ("batch-words", ["--batch-sizes", "one"], ["is not a list of whole numbers"]),
    ("region", ["--region", "us-wset-2"], ["'us-wset-2' is not an AWS region", "us-west-2"]),
    ("bad-name", ["--name", "Bench_1"], ["'Bench_1' is not a deployment name"]),
    ("target", ["--p99-target-ms", "-5"], ["--p99-target-ms must be a positive number"]),
]  # fmt: skip


@pytest.mark.parametrize(("flags", "fragments"), [c[1:] for c in FLAG_CASES],
                         ids=[c[0] for c in FLAG_CASES])  # fmt: skip
def test_bad_flags_are_refused_before_anything_is_made(aws, run_cli, recorder, flags, fragments):
    result = run_cli("benchmark", *GOOD, "--model", DEMO, *flags, "--yes")
    refused(result, recorder, *fragments)


def test_a_plan_over_max_cost_is_refused(aws, run_cli, recorder):
    result = run_cli("benchmark", *GOOD, "--model", DEMO, "--max-cost", "0.05", "--yes")
    refused(result, recorder, "more than --max-cost 0.05", "nothing was created")


def test_a_candidate_the_region_does_not_offer_is_refused(aws, run_cli, recorder):
    aws("ap-southeast-4")  # a seeded region: inf2 is not offered there
    result = run_cli(
        "benchmark", "--region", "ap-southeast-4", "--candidates", "c5.xlarge,inf2.xlarge",
        "--model", DEMO, "--yes",
    )  # fmt: skip
    refused(result, recorder, "inf2.xlarge is not offered in any AZ of ap-southeast-4")


def test_a_model_larger_than_an_accelerator_is_refused(aws, run_cli, recorder, tmp_path):
    big = tmp_path / "big.onnx"
    big.write_bytes(Path(DEMO).read_bytes())
    import amazonei_setup.spec.benchmark as spec

    # the demo model against a 64 KiB accelerator: the same rule a 3 GB model meets on a T4
    original = dict(spec.NEURON_DEVICE_MEMORY_GIB)
    spec.NEURON_DEVICE_MEMORY_GIB["inf2"] = 64 / (1 << 20)
    try:
        result = run_cli("benchmark", *GOOD, "--model", str(big), "--yes")
    finally:
        spec.NEURON_DEVICE_MEMORY_GIB.update(original)
    refused(result, recorder, "larger than the memory of inf2.xlarge (one Neuron device's memory")


def test_dry_run_shows_the_plan_and_makes_nothing(aws, run_cli, recorder):
    result = run_cli("benchmark", *GOOD, "--model", DEMO, "--dry-run")
    assert result.code == 0, result.err
    for hardware in ("c5.xlarge", "g5.xlarge", "inf2.xlarge"):
        assert hardware in result.out
    assert "Expected cost of the benchmark: $" in result.out
    flat = " ".join(result.out.split())
    assert "ONNX Runtime has no Neuron provider: on AWS this row fails as unusable" in flat
    assert "Dry run: nothing was created." in result.err
    assert recorder.operations(mutating_only=True) == []
