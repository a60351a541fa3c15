"""Static int8 (QDQ) copies of ONNX segmentation models, for any model: the one place the project quantises
(the training package's export and ``rockglacier:segment``'s automatic int8 both call ``quantize_int8``).

Needs the ``onnx`` package next to onnxruntime (``onnxruntime.quantization`` imports it); without it
the caller runs float32 and says why.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, Optional, Sequence

import numpy as np

#: Activation ranges from this percentile of the calibration activations: on the default model's validation
#: scene (1 view) -0.013 IoU against -0.014 for 99.999 and -0.015 for min/max.
CALIBRATION_PERCENTILE = 99.99


def model_digest(path: str) -> str:
    """The first 16 hex digits of the model file's SHA-256 (a cached int8 copy is keyed by it)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def is_quantized(path: str) -> bool:
    """True when the model already holds QDQ or QOperator nodes (an int8 model: not quantised again)."""
    with open(path, "rb") as handle:
        data = handle.read()
    return b"DequantizeLinear" in data or b"QLinearConv" in data or b"ConvInteger" in data


def sensitive_convolutions(path: str) -> list[str]:
    """Names of the convolutions left in float: the first (it sees raw standardised pixels; in int8
    the default model's scene IoU fell from 0.61 to 0.34) and the last (the segmentation head, whose
    logits set the threshold crossing). Everything between runs in int8 from convolution to
    convolution, depthwise convolutions included (see ``quantize_int8``)."""
    import onnx

    nodes = [node for node in onnx.load(path).graph.node if node.op_type == "Conv"]
    if len(nodes) < 2:
        return [node.name for node in nodes]
    return [nodes[0].name, nodes[-1].name]


def inline_constant_identities(model: "object") -> int:
    """Replace Identity nodes that only pass an initializer on (PyTorch exports shared biases so) by the
    initializer itself; returns how many were removed. A convolution whose bias comes through an Identity
    is not fused into an int8 convolution: on a DeepLabv3+ ResNet34 the int8 copy was then slower than
    float32 (0.40 s against 0.34 s a 512 px tile); without them 0.13 s."""
    graph = model.graph  # type: ignore[attr-defined]
    initializers = {i.name for i in graph.initializer}
    outputs = {o.name for o in graph.output}
    renamed = {
        n.output[0]: n.input[0]
        for n in graph.node
        if n.op_type == "Identity" and n.input[0] in initializers and n.output[0] not in outputs
    }
    kept = [n for n in graph.node if not (n.op_type == "Identity" and n.output[0] in renamed)]
    for node in kept:
        for index, name in enumerate(node.input):
            if name in renamed:
                node.input[index] = renamed[name]
    del graph.node[:]
    graph.node.extend(kept)
    return len(renamed)


def name_unnamed_nodes(model: "object") -> int:
    """Give every unnamed node a unique name (``<op>_<index>``); returns how many. The quantiser excludes
    nodes by name: with unnamed nodes, excluding the first convolution ("") excluded every unnamed node, and
    the copy held no int8 at all."""
    used = {n.name for n in model.graph.node if n.name}  # type: ignore[attr-defined]
    named = 0
    for index, node in enumerate(model.graph.node):  # type: ignore[attr-defined]
        if not node.name:
            name = f"{node.op_type}_{index}"
            while name in used:
                name += "_"
            node.name = name
            used.add(name)
            named += 1
    return named


class _Calibration:
    def __init__(self, arrays: Sequence[np.ndarray], input_name: str):
        self.arrays = iter(arrays)
        self.input_name = input_name

    def get_next(self) -> Optional[dict[str, np.ndarray]]:
        array = next(self.arrays, None)
        return None if array is None else {self.input_name: np.ascontiguousarray(array[None], dtype=np.float32)}


def quantize_int8(
    float_path: str,
    int8_path: str,
    calibration: Sequence[np.ndarray],
    keep_float: Optional[Sequence[str]] = None,
    input_name: str = "input",
) -> str:
    """Static int8 QDQ quantization calibrated on real inputs (metadata kept): per-channel int8
    weights, uint8 activations; convolutions, their activations (Clip, Relu) and the residual Adds
    in int8, so that activations stay int8 from one convolution to the next (the decoder's resizes
    and concatenations and the sigmoid stay float); the sensitive convolutions
    (``sensitive_convolutions``) in float unless ``keep_float`` says otherwise. ``calibration``:
    model inputs (channels, rows, cols) of the sizes the model takes.

    Measured on the default model (EfficientNet-Lite0, 2-core AVX2 CPU, 1408 px input): this is
    about 1.8x the float model's speed per tile for -0.013 scene IoU with 1 view. Leaving the
    depthwise convolutions (or the Clips and Adds) in float costs less IoU (-0.006) but every
    boundary between float and int8 adds a dequantize, a quantize and two layout changes, which
    ate most of the gain (1.2x). The zero Pads of the strided convolutions must be folded into the
    convolutions first (``export_onnx`` does it): left as separate ops they cost a third of the
    time and 0.05 IoU more."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.inner = _Calibration(calibration, input_name)

        def get_next(self) -> Any:
            return self.inner.get_next()

    cleaned, prepared = int8_path + ".clean.onnx", int8_path + ".pre.onnx"  # intermediates, removed below
    try:
        source = onnx.load(float_path)
        inline_constant_identities(source)
        name_unnamed_nodes(source)
        onnx.save(source, cleaned)
        # No graph optimisation before quantising: it folds the decoder's upsampling sizes for the
        # calibration size, and the int8 model then fails on other tile sizes.
        quant_pre_process(cleaned, prepared, skip_optimization=True, skip_symbolic_shape=True)
        # Not the decoder's Concat/Resize: quantising them bakes the calibration size into the graph
        # and the int8 model then fails on any other tile size.
        excluded = list(sensitive_convolutions(prepared) if keep_float is None else keep_float)
        quantize_static(
            prepared,
            int8_path,
            Reader(),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["Conv", "Clip", "Relu", "Add"],
            nodes_to_exclude=excluded,
            calibrate_method=CalibrationMethod.Percentile,
            extra_options={"CalibPercentile": CALIBRATION_PERCENTILE},
        )
    finally:
        for path in (cleaned, prepared):
            if os.path.exists(path):
                os.remove(path)
    target = onnx.load(int8_path)
    del target.metadata_props[:]
    for entry in onnx.load(float_path).metadata_props:
        new = target.metadata_props.add()
        new.key, new.value = entry.key, entry.value
    onnx.save(target, int8_path)
    return int8_path
