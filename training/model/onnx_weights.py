"""A trainable PyTorch model from an exported ONNX model: what fine-tuning the shipped model needs.

The exporter folds every BatchNorm into the convolution before it (weights ``W gamma / sigma``, bias
``(b - mu) gamma / sigma + beta``), so the ONNX file holds one weight and one bias per convolution. The
PyTorch model of the same architecture is built, its convolutions matched to the ONNX convolutions in
execution order (the order the exporter traced, checked shape by shape), and given the folded weights; a
BatchNorm after a convolution becomes the identity plus the folded bias (gamma 1, mean 0, variance
1 - eps, beta = bias) and stays frozen when fine-tuning (``freeze_batchnorm``), which is the usual way to
fine-tune on small batches anyway. ``load_onnx_weights`` checks the result gives the ONNX model's
logits before anyone trains on it.

The architecture comes from the model's metadata (``rockglacier:provenance`` names encoder and
architecture) and the training config beside it (``ARCHITECTURE_KEYS``); for the shipped model, the
config it was trained with (``training/configs/default_chile_edges2.json``).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

#: Config keys that make the architecture (the rest of a config is about training).
ARCHITECTURE_KEYS = ("arch", "encoder", "image_pooling", "crop_px", "upsampling", "receptive_field", "standardization_mean")
#: Largest |logit| difference between the rebuilt PyTorch model and its ONNX file accepted as the same model.
PARITY_LOGITS = 2e-3


def _onnx_convolutions(path: str) -> list[tuple[np.ndarray, Optional[np.ndarray]]]:
    """(weight, bias) of every Conv node of an ONNX model, in graph order."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(path).graph
    initializers = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    convolutions = []
    for node in graph.node:
        if node.op_type != "Conv":
            continue
        if node.input[1] not in initializers:
            raise ValueError(f"{path}: the weight of convolution {node.name} is not stored in the model; re-export it.")
        bias = initializers.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        convolutions.append((initializers[node.input[1]], bias))
    return convolutions


def _execution_order(model: Any, channels: int) -> list[tuple[Any, Optional[Any]]]:
    """(Conv2d, the BatchNorm2d right after it or None) in the order a forward pass calls them."""
    import torch

    calls: list[Any] = []
    hooks = [
        m.register_forward_hook(lambda module, _i, _o: calls.append(module))
        for m in model.modules()
        if isinstance(m, (torch.nn.Conv2d, torch.nn.BatchNorm2d))
    ]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, channels, 64, 64))
    finally:
        for hook in hooks:
            hook.remove()
    pairs = []
    for index, module in enumerate(calls):
        if isinstance(module, torch.nn.Conv2d):
            following = calls[index + 1] if index + 1 < len(calls) else None
            pairs.append((module, following if isinstance(following, torch.nn.BatchNorm2d) else None))
    return pairs


def _assign(conv: Any, batchnorm: Optional[Any], weight: np.ndarray, bias: Optional[np.ndarray]) -> None:
    import torch

    if tuple(conv.weight.shape) != weight.shape:
        raise ValueError(
            f"convolution of shape {tuple(conv.weight.shape)} met an ONNX weight of shape {weight.shape}: "
            "the architecture does not match the model's; give the config it was trained with."
        )
    bias = np.zeros(weight.shape[0], dtype=np.float32) if bias is None else bias
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(weight))
        if batchnorm is not None:
            batchnorm.weight.fill_(1.0)
            batchnorm.bias.copy_(torch.tensor(bias))
            batchnorm.running_mean.zero_()
            batchnorm.running_var.fill_(1.0 - batchnorm.eps)
            if conv.bias is not None:
                conv.bias.zero_()
        elif conv.bias is not None:
            conv.bias.copy_(torch.tensor(bias))
        elif np.abs(bias).max() > 0:
            raise ValueError("an ONNX convolution has a bias where the PyTorch model has neither bias nor BatchNorm.")


def load_onnx_weights(model: Any, onnx_path: str, channels: int = 3) -> float:
    """Give ``model`` the weights of ``onnx_path`` (see the module docstring); returns the largest |logit| difference
    between the two on a test input, and raises when it exceeds ``PARITY_LOGITS``."""
    convolutions = _onnx_convolutions(onnx_path)
    pairs = _execution_order(model, channels)
    if len(pairs) != len(convolutions):
        raise ValueError(
            f"{onnx_path} has {len(convolutions)} convolutions, the PyTorch model {len(pairs)}: the architecture "
            "does not match; give the config the model was trained with."
        )
    for (conv, batchnorm), (weight, bias) in zip(pairs, convolutions):
        _assign(conv, batchnorm, weight, bias)
    difference = logit_difference(model, onnx_path, channels)
    if difference > PARITY_LOGITS:
        raise ValueError(f"the rebuilt model's logits differ from {onnx_path}'s by {difference:.4f}: not the same architecture.")
    return difference


def logit_difference(model: Any, onnx_path: str, channels: int = 3) -> float:
    """Largest |logit difference| between ``model`` and the ONNX model on a seeded 256 px input."""
    import onnxruntime as ort
    import torch

    sample = np.random.default_rng(0).standard_normal((1, channels, 256, 256)).astype(np.float32)
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    reference = session.run(None, {session.get_inputs()[0].name: sample})[0]
    with torch.no_grad():
        ours = model.eval()(torch.from_numpy(sample)).numpy()
    return float(np.abs(ours - reference).max())


def trainable_spec(onnx_path: str) -> Any:
    """The model's ModelSpec, refused unless its metadata states the architecture to rebuild it for training."""
    from rockglacier_plugin.core.mapping.onnx_model import load_model

    spec = load_model(onnx_path, "cpu").spec
    if not spec.architecture:
        raise ValueError(
            f"{onnx_path} does not say its architecture (rockglacier:architecture): only models exported by "
            "python -m training can be fine-tuned (older ones: python -m training rendering --architecture-config "
            "<its training config>)."
        )
    return spec


def freeze_batchnorm(model: Any) -> Any:
    """Keep every BatchNorm as loaded (eval mode, no scale learnt) while the rest of the model trains; call after
    ``model.train()``. The folded biases (beta) stay trainable."""
    import torch

    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eval()
            module.weight.requires_grad_(False)
    return model
