"""ONNX export with dynamic batch and size, the inference metadata, a torch/onnxruntime parity
check, and an optional static int8 (QDQ) model calibrated on training patches."""

from __future__ import annotations

import logging
import time
import warnings
from typing import Any, Sequence

import numpy as np

from rockglacier_plugin.core.mapping.int8 import (  # noqa: F401 (the export's int8 step)
    quantize_int8,
    sensitive_convolutions,
)
from rockglacier_plugin.core.mapping.model_metadata import ModelSpec

LOGGER = logging.getLogger(__name__)


def export_onnx(model: Any, spec: ModelSpec, path: str, sample_size_px: int = 128, opset: int = 17) -> str:
    import onnx
    import torch

    from training.export.static_padding import fold_pads_into_convolutions, static_same_padding

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
            model,
            dummy,
            path,
            input_names=["input"],
            output_names=["output"],
            opset_version=opset,
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


def seconds_per_patch(path: str, size_px: int = 480, repeats: int = 3, threads: int = 2) -> float:
    session = cpu_session(path, threads)
    inputs = session.get_inputs()[0]
    array = np.random.default_rng(0).standard_normal((1, inputs.shape[1], size_px, size_px)).astype(np.float32)
    session.run(None, {"input": array})
    start = time.perf_counter()
    for _ in range(repeats):
        session.run(None, {"input": array})
    return (time.perf_counter() - start) / repeats
