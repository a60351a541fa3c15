"""Static int8 (QDQ) copies of ONNX segmentation models, for any model: the one place the project quantises
(the training package's export and ``rockglacier:segment``'s automatic int8 both call ``quantize_int8``).

Needs the ``onnx`` package next to onnxruntime (``onnxruntime.quantization`` imports it); without it
the caller runs float32 and says why.
"""

from __future__ import annotations

import functools
import hashlib
import os
from typing import Any, Optional, Sequence

import numpy as np

#: Activation ranges from this percentile of the calibration activations: on the default model's validation
#: scene (1 view) -0.013 IoU against -0.014 for 99.999 and -0.015 for min/max.
CALIBRATION_PERCENTILE = 99.99


def model_digest(path: str) -> str:
    """The first 16 hex digits of the model file's SHA-256 (a cached int8 copy is keyed by it). Hashed once per file
    version (path, size, modification time): every cache file of a run is named from it (70 ms for a ResNet34)."""
    status = os.stat(path)
    return _file_digest(os.path.abspath(path), status.st_size, status.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
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


def named_float_graph(float_path: str) -> Any:
    """The float model as ``quantize_int8`` quantises it: constant Identity nodes inlined and every node named, so that
    node names (``keep_float``, ``convolution_error_added``, ``with_activations``) mean the same node everywhere."""
    import onnx

    model = onnx.load(float_path)
    inline_constant_identities(model)
    name_unnamed_nodes(model)
    return model


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
        onnx.save(named_float_graph(float_path), cleaned)
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


def _float_input_of(node: Any, producers: dict[str, Any]) -> str:
    """The float tensor a node of a QDQ graph reads as its first input (before the QuantizeLinear/DequantizeLinear pair
    the quantiser put in front of it), as the float graph names it."""
    name = node.input[0]
    for expected in ("DequantizeLinear", "QuantizeLinear"):
        producer = producers.get(name)
        if producer is None or producer.op_type != expected:
            return name
        name = producer.input[0]
    return name


def _with_outputs(model: Any, names: Sequence[str]) -> bytes:
    """``model`` serialised with ``names`` (tensors of its graph) added as outputs."""
    from onnx import TensorProto, helper

    present = {output.name for output in model.graph.output}
    for name in names:
        if name not in present:
            model.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    return model.SerializeToString()


def convolution_error_added(
    float_path: str, int8_path: str, inputs: Sequence[np.ndarray], input_name: str = "input"
) -> list[tuple[str, float]]:
    """Per convolution of the int8 copy, the relative error its quantisation adds: the relative RMS difference
    (int8 against float, over ``inputs``) of the convolution's output minus that of the tensor it reads (the error it
    inherits). Largest first: the convolutions to keep in float first (``precision``'s mixed precision)."""
    import onnx
    import onnxruntime as ort

    float_model = named_float_graph(float_path)
    int8_model = onnx.load(int8_path)
    producers = {output: node for node in int8_model.graph.node for output in node.output}
    float_tensors = {output for node in float_model.graph.node for output in node.output} | {
        i.name for i in float_model.graph.input
    }
    convolutions = [
        (node.name, _float_input_of(node, producers), node.output[0])
        for node in int8_model.graph.node
        if node.op_type == "Conv" and node.output[0] in float_tensors
    ]
    names = sorted({name for _, read, written in convolutions for name in (read, written) if name in float_tensors})
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep every named tensor
    sessions = [
        ort.InferenceSession(_with_outputs(model, names), options, providers=["CPUExecutionProvider"])
        for model in (float_model, int8_model)
    ]
    squared_difference = dict.fromkeys(names, 0.0)
    squared_float = dict.fromkeys(names, 0.0)
    for array in inputs:
        feed = {input_name: np.ascontiguousarray(array[None], dtype=np.float32)}
        found = [dict(zip([o.name for o in s.get_outputs()], s.run(None, feed))) for s in sessions]
        for name in names:
            if name == input_name:
                continue
            reference, quantised = found[0][name].astype(np.float64), found[1][name].astype(np.float64)
            squared_difference[name] += float(((quantised - reference) ** 2).sum())
            squared_float[name] += float((reference**2).sum())
    relative = {name: (squared_difference[name] / squared_float[name]) ** 0.5 if squared_float[name] else 0.0 for name in names}
    added = [(node, relative.get(written, 0.0) - relative.get(read, 0.0)) for node, read, written in convolutions]
    return sorted(added, key=lambda item: -item[1])


def with_activations(float_path: str, convolutions: Sequence[str]) -> list[str]:
    """``convolutions`` with the nodes that would still quantise their input and output, by the node names
    ``quantize_int8`` gives: the Relu, Clip or Add that reads their outputs or writes their input (a quantised node
    quantises the tensors it reads and writes, whoever else reads them)."""

    model = named_float_graph(float_path)
    wanted = set(convolutions)
    outputs = {output for node in model.graph.node if node.name in wanted for output in node.output}
    inputs = {node.input[0] for node in model.graph.node if node.name in wanted}
    after = [node.name for node in model.graph.node if node.op_type in ("Relu", "Clip", "Add") and set(node.input) & outputs]
    before = [node.name for node in model.graph.node if node.op_type in ("Relu", "Clip", "Add") and node.output[0] in inputs]
    return list(dict.fromkeys([*convolutions, *after, *before]))


def quantized_convolutions(path: str) -> int:
    """How many convolutions of a QDQ model read int8 weights (a DequantizeLinear in front of their weights)."""
    import onnx

    graph = onnx.load(path).graph
    dequantized = {output for node in graph.node if node.op_type == "DequantizeLinear" for output in node.output}
    return sum(1 for node in graph.node if node.op_type == "Conv" and len(node.input) > 1 and node.input[1] in dequantized)
