"""ONNX export with dynamic batch and size, the inference metadata, a torch/onnxruntime parity
check, and an optional static int8 (QDQ) model calibrated on training patches."""

from __future__ import annotations

import logging
import os
import time
import warnings
from typing import Any, Optional, Sequence

import numpy as np

from rockglacier_plugin.core.mapping.model_metadata import ModelSpec

LOGGER = logging.getLogger(__name__)


def export_onnx(model: Any, spec: ModelSpec, path: str, sample_size_px: int = 128, opset: int = 17) -> str:
    import onnx
    import torch

    from .static_padding import fold_pads_into_convolutions, static_same_padding

    # constant TF-style paddings on the sizes the plugin feeds (multiples of size_multiple_px),
    # folded into the convolutions after export (training/static_padding.py)
    model, _ = static_same_padding(model.eval().cpu(), spec.size_multiple_px, spec.in_channels)
    dummy = torch.zeros(1, spec.in_channels, sample_size_px, sample_size_px)
    # The TorchScript exporter handles smp's DeepLabv3+ with dynamic sizes (the torch.export one
    # needs onnxscript and static shapes); PyTorch flags it as legacy, which is known and fine here.
    with warnings.catch_warnings():
        # (the exporter's own internals also emit DeprecationWarnings about themselves)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # the constant pads' reordering (a Slice of step -1) is left for onnxruntime to fold
        warnings.filterwarnings("ignore", message="Constant folding - Only steps=1")
        torch.onnx.export(
            model, dummy, path, input_names=["input"], output_names=["output"], opset_version=opset,
            dynamic_axes={"input": {0: "batch", 2: "rows", 3: "cols"}, "output": {0: "batch", 2: "rows", 3: "cols"}},
            dynamo=False,
        )
    proto = onnx.load(path)
    fold_pads_into_convolutions(proto)  # for the int8 copy: onnxruntime folds them itself only in float
    del proto.metadata_props[:]
    for key, value in spec.to_metadata().items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, path)
    return path


def cpu_session(path: str, threads: int = 0) -> Any:
    """An onnxruntime CPU session on ``path`` that logs errors only: loading the int8 copy, onnxruntime
    warns about every Clip constant its fusions leave unused, which says nothing about the model."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads > 0:
        options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])


def parity(model: Any, path: str, inputs: Sequence[np.ndarray]) -> float:
    """Largest |probability difference| between torch and onnxruntime over the given inputs."""
    import torch

    session = cpu_session(path)
    worst = 0.0
    model = model.eval().cpu()
    for array in inputs:
        batch = array[None].astype(np.float32) if array.ndim == 3 else array.astype(np.float32)
        with torch.no_grad():
            expected = torch.sigmoid(model(torch.from_numpy(batch))).numpy()
        got = session.run(None, {"input": batch})[0]
        worst = max(worst, float(np.abs(1.0 / (1.0 + np.exp(-got)) - expected).max()))
    return worst


class _Calibration:
    def __init__(self, arrays: Sequence[np.ndarray]):
        self.arrays = iter(arrays)

    def get_next(self) -> Optional[dict[str, np.ndarray]]:
        array = next(self.arrays, None)
        return None if array is None else {"input": array[None].astype(np.float32)}


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


def quantize_int8(float_path: str, int8_path: str, calibration: Sequence[np.ndarray], keep_float: Optional[Sequence[str]] = None) -> str:
    """Static int8 QDQ quantization calibrated on real inputs (metadata kept): per-channel int8
    weights, uint8 activations; convolutions, their activations (Clip, Relu) and the residual Adds
    in int8, so that activations stay int8 from one convolution to the next (the decoder's resizes
    and concatenations and the sigmoid stay float); the sensitive convolutions
    (``sensitive_convolutions``) in float unless ``keep_float`` says otherwise.

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
            self.inner = _Calibration(calibration)

        def get_next(self):  # type: ignore[override]
            return self.inner.get_next()

    prepared = int8_path + ".pre.onnx"  # an intermediate, removed below: never left beside the float model
    try:
        # No graph optimisation before quantising: it folds the decoder's upsampling sizes for the
        # calibration size, and the int8 model then fails on other tile sizes.
        quant_pre_process(float_path, prepared, skip_optimization=True, skip_symbolic_shape=True)
        # Not the decoder's Concat/Resize: quantising them bakes the calibration size into the graph
        # and the int8 model then fails on any other tile size.
        excluded = list(sensitive_convolutions(prepared) if keep_float is None else keep_float)
        quantize_static(prepared, int8_path, Reader(), quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["Conv", "Clip", "Relu", "Add"],
                        nodes_to_exclude=excluded,
                        # activation ranges from the 99.99th percentile: on the default model's validation scene
                        # (1 view) -0.013 IoU against -0.014 for 99.999 and -0.015 for min/max
                        calibrate_method=CalibrationMethod.Percentile, extra_options={"CalibPercentile": 99.99})
    finally:
        if os.path.exists(prepared):
            os.remove(prepared)
    source = onnx.load(float_path)
    target = onnx.load(int8_path)
    del target.metadata_props[:]
    for entry in source.metadata_props:
        new = target.metadata_props.add()
        new.key, new.value = entry.key, entry.value
    onnx.save(target, int8_path)
    return int8_path


def seconds_per_patch(path: str, size_px: int = 480, repeats: int = 3, threads: int = 2) -> float:
    session = cpu_session(path, threads)
    inputs = session.get_inputs()[0]
    array = np.random.default_rng(0).standard_normal((1, inputs.shape[1], size_px, size_px)).astype(np.float32)
    session.run(None, {"input": array})
    start = time.perf_counter()
    for _ in range(repeats):
        session.run(None, {"input": array})
    return (time.perf_counter() - start) / repeats
