"""Writes templates/models/demo-cnn.onnx: the small CNN the README's sandbox benchmark runs.

Three 3x3 convolutions (3-16-32-64 channels, ReLU, max-pool, global average pool) and a 64-10
dense layer; input `image` float32 [batch, 3, 32, 32] (the batch axis open, the rest fixed),
output `logits` [batch, 10]. Weights from NumPy's legacy RandomState(2019), He-scaled, so the
file is the same bytes on every run (tests/agent/test_agent_demo_model.py checks it). ONNX IR 8,
opset 13: ONNX Runtime 1.10 and newer read it. About 100 KB.

    python scripts/make_demo_model.py [OUT]
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
from onnx import TensorProto, checker, helper, numpy_helper

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "templates" / "models" / "demo-cnn.onnx"
CHANNELS = (3, 16, 32, 64)
CLASSES, SIDE, SEED = 10, 32, 2019


def build() -> bytes:
    """The model, serialized."""
    state = np.random.RandomState(SEED)
    weights, nodes, current = [], [], "image"
    for index, (cin, cout) in enumerate(itertools.pairwise(CHANNELS)):
        scale = np.sqrt(2.0 / (cin * 9))
        w = (state.standard_normal((cout, cin, 3, 3)) * scale).astype(np.float32)
        b = (state.standard_normal(cout) * 0.01).astype(np.float32)
        weights += [numpy_helper.from_array(w, f"conv{index}_w")]
        weights += [numpy_helper.from_array(b, f"conv{index}_b")]
        conv, relu = f"conv{index}", f"relu{index}"
        nodes.append(
            helper.make_node(
                "Conv", [current, f"conv{index}_w", f"conv{index}_b"], [conv], pads=[1, 1, 1, 1]
            )
        )
        nodes.append(helper.make_node("Relu", [conv], [relu]))
        if index < len(CHANNELS) - 2:
            current = f"pool{index}"
            nodes.append(
                helper.make_node("MaxPool", [relu], [current], kernel_shape=[2, 2], strides=[2, 2])
            )
        else:
            current = relu
    nodes.append(helper.make_node("GlobalAveragePool", [current], ["gap"]))
    nodes.append(helper.make_node("Flatten", ["gap"], ["features"], axis=1))
    fc_w = (state.standard_normal((CLASSES, CHANNELS[-1])) * np.sqrt(1.0 / CHANNELS[-1])).astype(
        np.float32
    )
    weights += [numpy_helper.from_array(fc_w, "fc_w")]
    weights += [numpy_helper.from_array(np.zeros(CLASSES, np.float32), "fc_b")]
    nodes.append(helper.make_node("Gemm", ["features", "fc_w", "fc_b"], ["logits"], transB=1))
    graph = helper.make_graph(
        nodes,
        "amazonei_setup_demo_cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, SIDE, SIDE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", CLASSES])],
        weights,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="amazonei-setup"
    )
    model.ir_version = 8
    checker.check_model(model)
    return model.SerializeToString()


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else DEFAULT_OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    data = build()
    out.write_bytes(data)
    print(f"wrote {out} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
