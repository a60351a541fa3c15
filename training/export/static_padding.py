"""TensorFlow-style "same" padding made static for export.

timm's ``tf_`` encoders (the default EfficientNet-Lite0) pad their strided convolutions as
TensorFlow does: the padding is computed from the input size at run time (``Conv2dSame``), which
exports to ONNX as a chain of Shape/Ceil/Cast ops and a Pad with computed amounts. onnxruntime
cannot fold such a Pad into the convolution, so every one copies its (large) input and breaks the
blocked memory layout around it. The plugin only feeds inputs whose sides are multiples of the
model's ``size_multiple_px``; where every such input reaches a strided convolution with sides
divisible by its stride, the padding is the same for all of them and can be a constant Pad, which
the export then folds into the convolution's own (asymmetric) padding
(``fold_pads_into_convolutions``): about 10 % faster per tile in float, identical output, and what
lets the int8 copy stay int8 from one convolution to the next.
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
    plain = torch.nn.Conv2d(
        conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, 0, conv.dilation, conv.groups, conv.bias is not None
    )
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


def _constant_value(graph: Any, name: str, opsets: Any, producers: dict, initializers: dict) -> Any:
    """The value of tensor ``name`` when it is computed from constants only (None otherwise);
    ``producers`` maps each tensor to the node that writes it, ``initializers`` names the graph's."""
    import onnx
    from onnx import numpy_helper
    from onnx.reference import ReferenceEvaluator

    if name in initializers:
        return numpy_helper.to_array(initializers[name])
    used: set = set()
    pending = [name]
    while pending:
        tensor = pending.pop()
        if tensor == "" or tensor in initializers:
            continue
        node = producers.get(tensor)
        if node is None:  # a graph input: not a constant
            return None
        if id(node) not in used:
            used.add(id(node))
            pending.extend(node.input)
    order = [node for node in graph.node if id(node) in used]  # graph order is topological
    needed = {tensor for node in order for tensor in node.input}
    sub = onnx.helper.make_graph(
        order,
        "constant",
        [],
        [onnx.helper.make_tensor_value_info(name, onnx.TensorProto.UNDEFINED, None)],
        [tensor for name_, tensor in initializers.items() if name_ in needed],
    )
    return ReferenceEvaluator(onnx.helper.make_model(sub, opset_imports=list(opsets))).run(None, {})[0]


def fold_pads_into_convolutions(proto: Any) -> int:
    """Fold every constant zero Pad that feeds one convolution (and nothing else) into that
    convolution's own ``pads`` (ONNX allows them asymmetric), in place; returns how many.

    onnxruntime does this itself for a float model, but not for an int8 one: there each Pad stays a
    separate copy of its (large) input between a dequantize and a quantize step, which cost about a
    third of the int8 model's time per tile."""
    from onnx import helper

    graph = proto.graph
    consumers: dict = {}
    for node in graph.node:
        for tensor in node.input:
            consumers.setdefault(tensor, []).append(node)
    producers = {output: node for node in graph.node for output in node.output}
    initializers = {tensor.name: tensor for tensor in graph.initializer}

    def constant(tensor: str) -> Any:
        return _constant_value(graph, tensor, proto.opset_import, producers, initializers)

    outputs = {output.name for output in graph.output}
    folded = []
    for pad in [node for node in graph.node if node.op_type == "Pad"]:
        after = consumers.get(pad.output[0], [])
        mode = next((a.s.decode() for a in pad.attribute if a.name == "mode"), "constant")
        if len(after) != 1 or after[0].op_type != "Conv" or mode != "constant" or pad.output[0] in outputs:
            continue
        conv = after[0]
        if conv.input[0] != pad.output[0] or any(a.name == "auto_pad" and a.s not in (b"", b"NOTSET") for a in conv.attribute):
            continue
        if len(pad.input) > 3 and pad.input[3]:  # pads of chosen axes only (opset 18): left as they are
            continue
        amounts = constant(pad.input[1]) if len(pad.input) > 1 else None
        fill = constant(pad.input[2]) if len(pad.input) > 2 and pad.input[2] else 0.0
        if (
            amounts is None
            or fill is None
            or len(amounts) != 8
            or float(fill) != 0.0
            or any(amounts[i] != 0 for i in (0, 1, 4, 5))
            or any(amount < 0 for amount in amounts)
        ):
            continue
        existing = next((list(a.ints) for a in conv.attribute if a.name == "pads"), [0, 0, 0, 0])
        combined = [
            existing[0] + int(amounts[2]),
            existing[1] + int(amounts[3]),
            existing[2] + int(amounts[6]),
            existing[3] + int(amounts[7]),
        ]
        kept = [a for a in conv.attribute if a.name != "pads"]
        del conv.attribute[:]
        conv.attribute.extend(kept)
        conv.attribute.append(helper.make_attribute("pads", combined))
        conv.input[0] = pad.input[0]
        folded.append(pad)
    for pad in folded:
        graph.node.remove(pad)
    _remove_unused(graph)
    return len(folded)


def _remove_unused(graph: Any) -> None:
    """Drop nodes and initializers whose outputs nothing reads (the folded pads' constant chains)."""
    while True:
        read = {tensor for node in graph.node for tensor in node.input} | {output.name for output in graph.output}
        unused = [node for node in graph.node if not any(output in read for output in node.output)]
        if not unused:
            break
        for node in unused:
            graph.node.remove(node)
    read = {tensor for node in graph.node for tensor in node.input}
    for tensor in [tensor for tensor in graph.initializer if tensor.name not in read]:
        graph.initializer.remove(tensor)
