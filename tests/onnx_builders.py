"""Small analytic ONNX segmentation models built with onnx.helper (no training, exact outputs)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from rockglacier_plugin.core.mapping.model_metadata import InputScaling, ModelSpec

OPSET = 17


def _save(
    nodes,
    initializers,
    path: Path,
    spec: ModelSpec,
    channels: int = 3,
    fixed_size: Optional[int] = None,
    fixed_batch: Optional[int] = None,
) -> Path:
    size = fixed_size if fixed_size else "H"
    width = fixed_size if fixed_size else "W"
    batch = fixed_batch if fixed_batch else "N"
    graph = helper.make_graph(
        nodes,
        "rockglacier_test",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, channels, size, width])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [batch, 1, size, width])],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    for key, value in spec.to_metadata().items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return Path(path)


def _channel0():
    return [
        helper.make_node("Slice", ["input", "starts", "ends", "axes"], ["channel0"]),
    ], [
        numpy_helper.from_array(np.array([0], dtype=np.int64), "starts"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "ends"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axes"),
    ]


def identity_model(
    path: Path, spec: ModelSpec = ModelSpec(margin_px=0), fixed_size: Optional[int] = None, fixed_batch: Optional[int] = None
) -> Path:
    """probability = channel 0 of the scaled input (a fixed batch or size as Deepness-style exports have)."""
    nodes, inits = _channel0()
    nodes.append(helper.make_node("Identity", ["channel0"], ["output"]))
    return _save(nodes, inits, path, spec, fixed_size=fixed_size, fixed_batch=fixed_batch)


def threshold_model(path: Path, spec: ModelSpec = ModelSpec(margin_px=0), level: float = 0.5, sharpness: float = 200.0) -> Path:
    """probability = sigmoid(sharpness * (channel0 - level))."""
    nodes, inits = _channel0()
    inits += [
        numpy_helper.from_array(np.array(level, np.float32), "level"),
        numpy_helper.from_array(np.array(sharpness, np.float32), "sharp"),
    ]
    nodes += [
        helper.make_node("Sub", ["channel0", "level"], ["centred"]),
        helper.make_node("Mul", ["centred", "sharp"], ["scaled"]),
        helper.make_node("Sigmoid", ["scaled"], ["output"]),
    ]
    return _save(nodes, inits, path, spec)


def box_mean_model(path: Path, radius_px: int, spec: Optional[ModelSpec] = None, dilation: int = 1) -> Path:
    """probability = mean of channel 0 over a (2r+1)^2 box (dilated), zero padding: a receptive
    field of radius ``radius_px * dilation`` px, like a convolutional network's."""
    size = 2 * radius_px + 1
    kernel = np.full((1, 1, size, size), 1.0 / size**2, dtype=np.float32)
    pad = radius_px * dilation
    nodes, inits = _channel0()
    inits.append(numpy_helper.from_array(kernel, "kernel"))
    nodes.append(helper.make_node("Conv", ["channel0", "kernel"], ["output"], pads=[pad] * 4, dilations=[dilation, dilation]))
    return _save(nodes, inits, path, spec or ModelSpec(margin_px=pad))


def strided_model(path: Path, spec: ModelSpec = ModelSpec(margin_px=2)) -> Path:
    """probability = channel 0 averaged over 2 x 2 blocks (stride 2) and upsampled back (nearest):
    like a network that downsamples, its answer depends on the phase of the tile's 2 px grid."""
    nodes, inits = _channel0()
    inits.append(numpy_helper.from_array(np.array([1.0, 1.0, 2.0, 2.0], dtype=np.float32), "scales"))
    nodes += [
        helper.make_node("AveragePool", ["channel0"], ["pooled"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Resize", ["pooled", "", "scales"], ["output"], mode="nearest"),
    ]
    return _save(nodes, inits, path, spec)


def edge_model(path: Path, spec: ModelSpec = ModelSpec(margin_px=1)) -> Path:
    """probability = sigmoid(40 (|Laplacian of channel 0| - 0.2)): fires on sharp edges, such as a
    black no-data border would make."""
    laplacian = np.array([[[[0, 1, 0], [1, -4, 1], [0, 1, 0]]]], dtype=np.float32)
    nodes, inits = _channel0()
    inits += [
        numpy_helper.from_array(laplacian, "lap"),
        numpy_helper.from_array(np.array(0.2, np.float32), "c"),
        numpy_helper.from_array(np.array(40.0, np.float32), "k"),
    ]
    nodes += [
        helper.make_node("Conv", ["channel0", "lap"], ["edges"], pads=[1, 1, 1, 1]),
        helper.make_node("Abs", ["edges"], ["strength"]),
        helper.make_node("Sub", ["strength", "c"], ["shifted"]),
        helper.make_node("Mul", ["shifted", "k"], ["scaled"]),
        helper.make_node("Sigmoid", ["scaled"], ["output"]),
    ]
    return _save(nodes, inits, path, spec)


def asymmetric_model(path: Path, spec: ModelSpec = ModelSpec(margin_px=2)) -> Path:
    """probability = sigmoid(10 (channel0 east of the pixel - channel0 north-west of it)): a model that
    sees direction, so a mirrored image gives a different answer."""
    kernel = np.array([[[[-1, 0, 0], [0, 0, 1], [0, 0, 0]]]], dtype=np.float32)
    nodes, inits = _channel0()
    inits += [numpy_helper.from_array(kernel, "kernel"), numpy_helper.from_array(np.array(10.0, np.float32), "k")]
    nodes += [
        helper.make_node("Conv", ["channel0", "kernel"], ["difference"], pads=[1, 1, 1, 1]),
        helper.make_node("Mul", ["difference", "k"], ["scaled"]),
        helper.make_node("Sigmoid", ["scaled"], ["output"]),
    ]
    return _save(nodes, inits, path, spec)


def reflectance_spec(**kwargs) -> ModelSpec:
    return ModelSpec(input_scaling=InputScaling("reflectance", 10000.0, 0.0, 0.3), margin_px=0, **kwargs)


def blob_image():
    """Three-band 400 x 400 image: a holed 2 km2 blob, a speck, and two corner-touching blocks (10 m)."""
    image = np.zeros((3, 400, 400), dtype=np.float32)
    image[:, 50:150, 50:250] = 255  # 100 x 200 px = 2 km2 at 10 m
    image[:, 80:100, 100:120] = 0  # a hole of 0.04 km2
    image[:, 300:302, 300:302] = 255  # a 4-pixel speck, 0.0004 km2
    image[:, 200:230, 300:330] = 255  # two blocks touching only at a corner: one 8-connected polygon
    image[:, 230:260, 330:360] = 255
    return image


def directional_edge_model(path: Path, spec: ModelSpec = ModelSpec(margin_px=2)) -> Path:
    """probability = sigmoid(10 (channel0 east of the pixel - channel0 north-west of it) - 6): near 0 on flat
    ground, high on some edges, and direction-dependent (its views differ), like a model that finds
    something only here and there."""
    kernel = np.array([[[[-1, 0, 0], [0, 0, 1], [0, 0, 0]]]], dtype=np.float32)
    nodes, inits = _channel0()
    inits += [
        numpy_helper.from_array(kernel, "kernel"),
        numpy_helper.from_array(np.array(10.0, np.float32), "k"),
        numpy_helper.from_array(np.array(6.0, np.float32), "bias"),
    ]
    nodes += [
        helper.make_node("Conv", ["channel0", "kernel"], ["difference"], pads=[1, 1, 1, 1]),
        helper.make_node("Mul", ["difference", "k"], ["scaled"]),
        helper.make_node("Sub", ["scaled", "bias"], ["shifted"]),
        helper.make_node("Sigmoid", ["shifted"], ["output"]),
    ]
    return _save(nodes, inits, path, spec)


def three_conv_model(path: Path, gain: float = 20.0, spec: ModelSpec = ModelSpec(margin_px=0)) -> Path:
    """input -> 1x1 conv + ReLU -> 1x1 conv + ReLU -> 1x1 head x ``gain`` -> sigmoid: the middle convolution is
    the one an int8 copy quantises (the first and the head stay float), and the gain makes the output sensitive
    to its activation range, so a copy calibrated on the wrong inputs disagrees."""
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(np.abs(rng.standard_normal((4, 3, 1, 1))).astype(np.float32), "w1"),
        numpy_helper.from_array(np.abs(rng.standard_normal((4, 4, 1, 1))).astype(np.float32), "w2"),
        numpy_helper.from_array(np.full((1, 4, 1, 1), gain / 4, np.float32), "w3"),
        numpy_helper.from_array(np.array(-gain, np.float32), "offset"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "w1"], ["c1"], name="conv1"),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2"),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Conv", ["r2", "w3"], ["c3"], name="head"),
        helper.make_node("Add", ["c3", "offset"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], ["output"]),
    ]
    return _save(nodes, inits, path, spec)


def fragile_conv_model(path: Path, spec: ModelSpec = ModelSpec(margin_px=0)) -> Path:
    """input -> conv1 + ReLU -> **fragile** + ReLU -> conv3 + ReLU -> head -> sigmoid, all 1x1. The fragile convolution's
    weights span five orders of magnitude within each output channel (1000 on an input channel that conv1 always sets to
    zero, 0.3-0.6 on the others): int8 weights (one scale per output channel) round the small ones, which carry the
    whole signal, to zero. Keeping that one convolution in float restores the output; conv3 stays int8."""
    rng = np.random.default_rng(1)
    w1 = np.abs(rng.standard_normal((4, 3, 1, 1))).astype(np.float32)
    w1[0] = 0.0  # channel 0 of conv1 is always zero after the ReLU (bias -1)
    b1 = np.array([-1.0, 0.0, 0.0, 0.0], np.float32)
    fragile = rng.uniform(0.3, 0.6, (4, 4, 1, 1)).astype(np.float32)
    fragile[:, 0] = 1000.0
    inits = [
        numpy_helper.from_array(w1, "w1"),
        numpy_helper.from_array(b1, "b1"),
        numpy_helper.from_array(fragile, "w2"),
        numpy_helper.from_array(np.abs(rng.standard_normal((4, 4, 1, 1))).astype(np.float32) / 2, "w3"),
        numpy_helper.from_array(np.full((1, 4, 1, 1), 0.5, np.float32), "w4"),
        numpy_helper.from_array(np.array(-4.0, np.float32), "offset"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "w1", "b1"], ["c1"], name="conv1"),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="fragile"),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Conv", ["r2", "w3"], ["c3"], name="conv3"),
        helper.make_node("Relu", ["c3"], ["r3"]),
        helper.make_node("Conv", ["r3", "w4"], ["c4"], name="head"),
        helper.make_node("Add", ["c4", "offset"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], ["output"]),
    ]
    return _save(nodes, inits, path, spec)
