"""scripts/device_benchmark.py, the lead's prepared run for a lent GPU machine, must also run
here with --quick: the demo ONNX model measured on this CPU, every row it cannot run (no torch,
no CUDA build of ONNX Runtime) skipped with its reason, never a traceback."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_quick_run_measures_the_demo_model_and_skips_what_this_python_lacks(tmp_path):
    out = tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "device_benchmark.py"),
            "--quick",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    results = {(r["workload"], r["backend"]): r for r in json.loads(out.read_text())}
    cpu = results[("demo-cnn.onnx", "cpu")]
    assert cpu["status"] == "ok" and [b["batch_size"] for b in cpu["batches"]] == [1, 8]
    for key, result in results.items():
        assert result["status"] in ("ok", "skipped"), (key, result["reason"])
    if importlib.util.find_spec("torch") is None:
        reason = results[("builtin:resnet50", "cuda")]["reason"]
        assert reason == "torch is not installed in this Python"
    lines = done.stdout.splitlines()
    assert lines[0].startswith("workload ") and any("CPUExecutionProvider" in x for x in lines)
    assert "Traceback" not in done.stderr
