"""Loading an ONNX segmentation model with onnxruntime and running it on tiles.

onnxruntime is imported lazily so the plugin loads without it. ``DEVICE`` picks the execution
providers: ``cpu``; ``cuda`` (onnxruntime-gpu's CUDAExecutionProvider), ``directml`` (Windows,
onnxruntime-directml) or ``coreml`` (macOS), each refused with a message when absent; ``auto`` (the first
GPU provider this onnxruntime has, in that order, else the CPU). The provider that actually runs is
reported, and when onnxruntime falls back to the CPU (a GPU provider listed but unusable: no driver, a
CUDA mismatch), ``SegmentationModel.note`` says so and why.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from enum import Enum
from typing import Any, Optional

import numpy as np

from ..dependencies import require
from ..errors import ParameterError, RockGlacierError
from .model_metadata import ModelSpec, spec_from_metadata

LOGGER = logging.getLogger(__name__)


class InputModelError(RockGlacierError, ValueError):
    """The ONNX model cannot be used (unreadable, wrong inputs...)."""


class Device(str, Enum):
    """Where the model runs (CPU, CUDA), as DEVICE names it."""

    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"
    DIRECTML = "directml"
    COREML = "coreml"


#: Device -> onnxruntime execution provider; ``auto`` tries them in this order.
GPU_PROVIDERS: dict[Device, str] = {
    Device.CUDA: "CUDAExecutionProvider",
    Device.DIRECTML: "DmlExecutionProvider",
    Device.COREML: "CoreMLExecutionProvider",
}
INSTALL_HINT: dict[Device, str] = {
    Device.CUDA: "onnxruntime-gpu with a matching CUDA",
    Device.DIRECTML: "onnxruntime-directml (Windows)",
    Device.COREML: "onnxruntime on macOS (it has the CoreML provider)",
}


@dataclass
class SegmentationModel:
    """An onnxruntime session with the model's spec and input/output names."""

    session: Any
    spec: ModelSpec
    input_name: str
    output_name: str
    input_shape: list[Any]
    provider: str
    note: str = ""  # why the provider is not the one asked for, when it is not

    @property
    def fixed_size_px(self) -> Optional[tuple[int, int]]:
        """(rows, cols) when the model only accepts one size, else None."""
        height, width = self.input_shape[2], self.input_shape[3]
        if isinstance(height, int) and isinstance(width, int) and height > 0 and width > 0:
            return height, width
        return None

    @property
    def fixed_batch(self) -> Optional[int]:
        """The batch size when the model's input fixes it (Deepness-style exports fix 1), else None."""
        batch = self.input_shape[0]
        return batch if isinstance(batch, int) and batch > 0 else None

    def rock_glacier_probability(self, batch: np.ndarray) -> np.ndarray:
        """Run a batch (n, channels, rows, cols) -> rock-glacier probability (n, rows, cols).

        A model with a fixed batch size gets the tiles in groups of that size (the last group
        padded with copies of its last tile, whose outputs are dropped), whatever ``n`` is.
        """
        size = self.fixed_size_px
        if size is not None and tuple(batch.shape[-2:]) != size:
            return self._padded_to(size, batch)
        fixed = self.fixed_batch
        if fixed is None or fixed == len(batch):
            return self._probability(batch)
        parts = []
        for start in range(0, len(batch), fixed):
            group = batch[start : start + fixed]
            missing = fixed - len(group)
            if missing:
                group = np.concatenate([group, np.repeat(group[-1:], missing, axis=0)])
            parts.append(self._probability(group)[: fixed - missing])
        return np.concatenate(parts)

    def _padded_to(self, size: tuple[int, int], batch: np.ndarray) -> np.ndarray:
        """A fixed-size model given a smaller input (a raster or a tile smaller than its size): the input padded on
        the bottom and right with the standardised zero (the neutral input the tiles get beyond a raster's edge),
        the output cut back to the input."""
        rows, cols = batch.shape[-2:]
        if rows > size[0] or cols > size[1]:
            raise InputModelError(f"The model only accepts {size[0]} x {size[1]} px input; it was given {rows} x {cols} px.")
        padded = np.zeros(batch.shape[:-2] + size, dtype=np.float32)
        padded[..., :rows, :cols] = batch
        return self.rock_glacier_probability(padded)[..., :rows, :cols]

    def _probability(self, batch: np.ndarray) -> np.ndarray:
        output = self.session.run([self.output_name], {self.input_name: batch})[0]
        if output.ndim == 3:
            output = output[:, None]
        index = self.spec.rock_glacier_index if output.shape[1] > 1 else 0
        if self.spec.output == "logits":
            if output.shape[1] == 1:
                return (1.0 / (1.0 + np.exp(-output[:, 0]))).astype(np.float32)
            shifted = output - output.max(axis=1, keepdims=True)
            exp = np.exp(shifted)
            return (exp[:, index] / exp.sum(axis=1)).astype(np.float32)
        return output[:, index].astype(np.float32)


def providers_for(device: Device, available: list[str]) -> list[str]:
    """Execution providers to request for a device choice.

    >>> providers_for(Device.AUTO, ["CPUExecutionProvider"])
    ['CPUExecutionProvider']
    >>> providers_for(Device.AUTO, ["DmlExecutionProvider", "CPUExecutionProvider"])
    ['DmlExecutionProvider', 'CPUExecutionProvider']
    """
    device = Device(device)
    if device == Device.CPU:
        return ["CPUExecutionProvider"]
    if device in GPU_PROVIDERS:
        provider = GPU_PROVIDERS[device]
        if provider not in available:
            raise ParameterError(
                f"DEVICE={device.value} but onnxruntime has no {provider} here (providers: {', '.join(available)}). "
                f"Install {INSTALL_HINT[device]}, or use DEVICE=auto/cpu."
            )
        return [provider, "CPUExecutionProvider"]
    return [p for p in GPU_PROVIDERS.values() if p in available][:1] + ["CPUExecutionProvider"]


def fallback_note(requested: list[str], running: str, available: list[str]) -> str:
    """Why the provider running is not the first one requested ('' when it is).

    >>> fallback_note(["CUDAExecutionProvider", "CPUExecutionProvider"], "CPUExecutionProvider", ["CUDAExecutionProvider"])[:54]
    'CUDAExecutionProvider is installed but could not start'
    >>> fallback_note(["CPUExecutionProvider"], "CPUExecutionProvider", ["CPUExecutionProvider"])
    ''
    """
    if not requested or requested[0] == running:
        return ""
    return (
        f"{requested[0]} is installed but could not start, so the model runs on {running}: its libraries (CUDA and cuDNN "
        "for CUDA, a DirectX 12 GPU for DirectML) do not match this onnxruntime; onnxruntime's own messages in the QGIS "
        "log say which."
    )


#: The models shipped with the plugin (``rockglacier_plugin/models``).
SHIPPED_MODELS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "models")
DEFAULT_MODEL_NAME = "rockglacier_default.onnx"
DEFAULT_INT8_NAME = "rockglacier_default_int8.onnx"


def default_model_path(models_dir: str, device: Device = Device.AUTO) -> tuple[str, str]:
    """The shipped model to use and why: its int8 copy on the CPU when one is shipped (it is shipped
    only when its scene-level IoU is within 0.02 of the float model's), the float model on a GPU."""
    float_path = os.path.join(models_dir, DEFAULT_MODEL_NAME)
    int8_path = os.path.join(models_dir, DEFAULT_INT8_NAME)
    on_gpu = False
    if Device(device) != Device.CPU:
        try:
            import onnxruntime as ort

            on_gpu = any(p in ort.get_available_providers() for p in GPU_PROVIDERS.values())
        except ImportError:
            on_gpu = False
    if not on_gpu and os.path.isfile(int8_path):
        return int8_path, (
            f"Default model: its int8 copy (CPU: faster, scene IoU within 0.02 of float32, see the model card in "
            f"this algorithm's help). For the float32 model set MODEL to {float_path}"
        )
    return float_path, "Default model: float32" + (" (GPU)." if on_gpu else ".")


def load_model(path: str, device: Device = Device.AUTO, threads: int = 0, spinning: bool = True) -> SegmentationModel:
    """Open an ONNX model, read its metadata and check its input is (batch, channels, rows, cols).

    ``spinning`` False stops onnxruntime's idle threads from spinning: where other threads share the
    cores (a Dask worker's event loop and heartbeats), spinning threads slow everyone down.
    """
    ort = require("onnxruntime", "onnxruntime", "rockglacier:segment (ONNX inference)")
    if not os.path.isfile(path):
        raise InputModelError(f"MODEL '{path}' does not exist; give an .onnx file exported by the training package.")
    options = ort.SessionOptions()
    # every graph optimisation (constant folding, Conv+BN/activation fusion, the int8 QDQ fusions, NCHWc layouts);
    # one inference at a time, its intra-op threads = the physical cores unless told (the reader thread of
    # ``segmentation`` mostly waits on GDAL and numpy, which release the GIL, and needs no core of its own)
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    if threads > 0:
        options.intra_op_num_threads = threads
    options.log_severity_level = 3
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = providers_for(Device(device), ort.get_available_providers())
    try:
        session = _session(ort, path, options, providers)
    except Exception as exc:  # onnxruntime raises its own exception types for corrupt files
        raise InputModelError(
            f"MODEL '{path}' cannot be loaded by onnxruntime ({str(exc).splitlines()[0][:300]}). The file is "
            "damaged or not an ONNX model: export it again (python -m training export) or download it again."
        ) from exc
    metadata = session.get_modelmeta().custom_metadata_map or {}
    spec = spec_from_metadata(metadata)
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or len(inputs[0].shape) != 4:
        raise InputModelError(
            f"MODEL '{os.path.basename(path)}' must take one input of shape (batch, channels, rows, cols); it takes "
            f"{[(i.name, i.shape) for i in inputs]}."
        )
    channels = inputs[0].shape[1]
    if isinstance(channels, int) and channels != spec.in_channels:
        raise InputModelError(
            f"MODEL '{os.path.basename(path)}' takes {channels} channels but its metadata describes "
            f"{spec.in_channels} (standardization_mean); re-export it with matching metadata."
        )
    provider = session.get_providers()[0]
    LOGGER.info("onnxruntime runs on %s", provider)
    note = fallback_note(providers, provider, ort.get_available_providers())
    return SegmentationModel(session, spec, inputs[0].name, outputs[0].name, list(inputs[0].shape), provider, note)


def _session(ort: Any, path: str, options: Any, providers: list[str]) -> Any:
    """The session on ``providers``; when a GPU provider fails to start with an error, the CPU (the caller reports it)."""
    try:
        return ort.InferenceSession(path, sess_options=options, providers=providers)
    except Exception:
        if providers == ["CPUExecutionProvider"]:
            raise
        LOGGER.warning("onnxruntime could not start %s; running on the CPU", providers[0])
        return ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
