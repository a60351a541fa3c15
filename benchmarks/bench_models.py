"""A convolutional ONNX network with about the cost of DeepLabv3+ ResNet34 on CPU, for benchmarks
(no trained weights are needed to time inference; random weights have the same cost)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from rockglacier_plugin.core.mapping.model_metadata import ModelSpec


def conv_net(path: Path, width: int = 64, blocks: int = 3, tile_size_px: int = 512, margin_px: int = 16, seed: int = 0) -> Path:
    """input -> 2 strided 3x3 convs (stride 4) -> ``blocks`` 3x3 convs -> 1x1 conv -> x4 bilinear
    upsampling -> sigmoid. Fully convolutional, dynamic size."""
    rng = np.random.default_rng(seed)
    nodes, inits = [], []

    def conv(name, x, c_in, c_out, k, stride):
        w = (rng.standard_normal((c_out, c_in, k, k)) * np.sqrt(2.0 / (c_in * k * k))).astype(np.float32)
        inits.append(numpy_helper.from_array(w, f"{name}_w"))
        inits.append(numpy_helper.from_array(np.zeros(c_out, np.float32), f"{name}_b"))
        nodes.append(
            helper.make_node("Conv", [x, f"{name}_w", f"{name}_b"], [f"{name}_c"], pads=[k // 2] * 4, strides=[stride, stride])
        )
        nodes.append(helper.make_node("Relu", [f"{name}_c"], [name]))
        return name

    x = conv("stem1", "input", 3, width // 2, 3, 2)
    x = conv("stem2", x, width // 2, width, 3, 2)
    for index in range(blocks):
        x = conv(f"block{index}", x, width, width, 3, 1)
    head = (rng.standard_normal((1, width, 1, 1)) * 0.05).astype(np.float32)
    inits.append(numpy_helper.from_array(head, "head_w"))
    nodes.append(helper.make_node("Conv", [x, "head_w"], ["logits_small"]))
    inits.append(numpy_helper.from_array(np.array([1, 1, 4, 4], np.float32), "scales"))
    nodes.append(helper.make_node("Resize", ["logits_small", "", "scales"], ["logits"], mode="linear"))
    nodes.append(helper.make_node("Sigmoid", ["logits"], ["output"]))
    graph = helper.make_graph(
        nodes,
        "bench_net",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 1, "H", "W"])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in ModelSpec(tile_size_px=tile_size_px, margin_px=margin_px).to_metadata().items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
    return path
