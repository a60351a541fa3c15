"""TensorFlow-style "same" padding made static for export.

timm's ``tf_`` encoders (the default EfficientNet-Lite0) pad their strided convolutions as
TensorFlow does: the padding is computed from the input size at run time (``Conv2dSame``), which
exports to ONNX as a chain of Shape/Ceil/Cast ops and a Pad with computed amounts. onnxruntime
cannot fold such a Pad into the convolution, so every one copies its (large) input and breaks the
blocked memory layout around it. The plugin only feeds inputs whose sides are multiples of the
model's ``size_multiple_px``; where every such input reaches a strided convolution with sides
divisible by its stride, the padding is the same for all of them and can be a constant Pad, which
onnxruntime fuses into the convolution (about 10 % faster per tile, identical output).
"""

from __future__ import annotations

import copy
from typing import Any


def same_padding_px(kernel_px: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's "same" padding (before, after) of one axis whose size is divisible by ``stride``:
    total max((k - 1) d + 1 - s, 0), the smaller half before (timm's ``pad_same``).

    >>> same_padding_px(3, 2, 1), same_padding_px(5, 2, 1), same_padding_px(3, 1, 1)
    ((0, 1), (1, 2), (1, 1))
    """
    total = max((kernel_px - 1) * dilation + 1 - stride, 0)
    return total // 2, total - total // 2


def _input_sides(model: Any, modules: dict, in_channels: int, rows: int, cols: int) -> dict:
    """(rows, cols) of the input each of ``modules`` sees for one input of the given size."""
    import torch

    seen: dict = {}

    def recorder(name: str) -> Any:
        def record(module: Any, args: tuple) -> None:  # returns None: the input goes on unchanged
            seen.setdefault(name, tuple(args[0].shape[-2:]))
        return record

    hooks = [module.register_forward_pre_hook(recorder(name)) for name, module in modules.items()]
    try:
        with torch.no_grad():
            model(torch.zeros(1, in_channels, rows, cols))
    finally:
        for hook in hooks:
            hook.remove()
    return seen


def _static_conv(conv: Any) -> Any:
    """A constant zero Pad and a plain convolution with ``conv``'s weights."""
    import torch

    (kr, kc), (sr, sc), (dr, dc) = conv.kernel_size, conv.stride, conv.dilation
    top, bottom = same_padding_px(kr, sr, dr)
    left, right = same_padding_px(kc, sc, dc)
    plain = torch.nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, 0, conv.dilation,
                            conv.groups, conv.bias is not None)
    plain.load_state_dict(conv.state_dict())
    return torch.nn.Sequential(torch.nn.ZeroPad2d((left, right, top, bottom)), plain)


def static_same_padding(model: Any, size_multiple_px: int, in_channels: int = 3) -> tuple[Any, int]:
    """A copy of ``model`` (eval mode) whose run-time "same" paddings are constants, and how many
    were replaced. A convolution keeps its run-time padding unless every input of sides
    divisible by ``size_multiple_px`` reaches it with sides divisible by its stride (checked on
    inputs of 1, 2 and 3 multiples, which settles it: sides scale with the multiple)."""
    try:
        from timm.layers.conv2d_same import Conv2dSame
    except ImportError:  # no timm encoder, nothing to do
        return model, 0
    model = copy.deepcopy(model).eval()
    dynamic = {name: module for name, module in model.named_modules() if isinstance(module, Conv2dSame)}
    if not dynamic:
        return model, 0
    sides = [_input_sides(model, dynamic, in_channels, size_multiple_px * n, size_multiple_px * (n + 1)) for n in (1, 2)]
    replaced = 0
    for name, conv in dynamic.items():
        if all(name in seen and seen[name][0] % conv.stride[0] == 0 and seen[name][1] % conv.stride[1] == 0 for seen in sides):
            parent_name, _, attribute = name.rpartition(".")
            setattr(model.get_submodule(parent_name) if parent_name else model, attribute, _static_conv(conv))
            replaced += 1
    return model, replaced
