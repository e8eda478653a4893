"""templates/models/demo-cnn.onnx, the model the README's sandbox benchmark runs: small, its
batch axis open and the rest fixed, and exactly what scripts/make_demo_model.py writes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import onnxruntime

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "templates" / "models" / "demo-cnn.onnx"


def _generator():
    spec = importlib.util.spec_from_file_location(
        "make_demo_model", REPO / "scripts" / "make_demo_model.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_model_is_what_the_generator_writes():
    assert _generator().build() == MODEL.read_bytes()
    assert MODEL.stat().st_size < 200_000


def test_onnx_runtime_runs_it_at_any_batch_size():
    session = onnxruntime.InferenceSession(str(MODEL), providers=["CPUExecutionProvider"])
    [image] = session.get_inputs()
    assert (image.name, image.shape, image.type) == ("image", ["batch", 3, 32, 32], "tensor(float)")
    for batch in (1, 8):
        x = np.random.RandomState(0).random_sample((batch, 3, 32, 32)).astype(np.float32)
        [logits] = session.run(None, {"image": x})
        assert logits.shape == (batch, 10) and np.isfinite(logits).all()
        assert logits.std() > 1e-3  # not a constant: the weights do something


def test_the_generator_writes_where_it_is_told(tmp_path):
    out = tmp_path / "m.onnx"
    assert _generator().main([str(out)]) == 0
    assert out.read_bytes() == MODEL.read_bytes()
