"""TF-style "same" padding made constant for export (training/static_padding.py): identical answers
on every size the plugin feeds, a graph onnxruntime can fuse, and run-time padding kept where a
constant would be wrong."""

import numpy as np
import pytest

from rockglacier_plugin.core.mapping.model_metadata import ModelSpec
from training.config import TrainConfig


@pytest.fixture(scope="module")
def lite0():
    """The default model's architecture (EfficientNet-Lite0, TF-style padding), random weights."""
    import torch

    from training.model.checkpoints import model_for

    torch.manual_seed(0)
    config = TrainConfig(
        encoder="tu-tf_efficientnet_lite0",
        pretrained=False,
        image_pooling="none",
        receptive_field="compact",
        upsampling="half_pixel",
        standardization_mean=[0.5] * 3,
        standardization_std=[0.5] * 3,
    )
    return model_for(config, pretrained=False).eval()


def test_static_padding__same_answers_as_run_time_padding_on_every_multiple_of_the_size_step(lite0):
    import torch

    from training.export.static_padding import static_same_padding

    static, replaced = static_same_padding(lite0, 16)
    assert replaced == 4  # the stem and three strided depthwise convolutions of EfficientNet-Lite0
    for rows, cols in [(16, 48), (96, 160), (208, 112)]:
        image = torch.randn(1, 3, rows, cols)
        with torch.no_grad():
            torch.testing.assert_close(static(image), lite0(image), rtol=0, atol=1e-5)


def test_static_padding__kept_at_run_time_where_inputs_may_reach_a_convolution_with_odd_sides():
    import torch
    from timm.layers.conv2d_same import Conv2dSame

    from training.export.static_padding import static_same_padding

    torch.manual_seed(0)
    # inputs in steps of 2 px: the first strided convolution always sees even sides, the second
    # sometimes odd ones (2 px -> 1 px), where TF's padding differs: it keeps the run-time rule
    model = torch.nn.Sequential(Conv2dSame(3, 4, 3, stride=2), Conv2dSame(4, 4, 5, stride=2)).eval()
    static, replaced = static_same_padding(model, 2)
    assert replaced == 1 and isinstance(static[1], Conv2dSame) and not isinstance(static[0], Conv2dSame)
    assert all(isinstance(m, Conv2dSame) for m in model)  # the model itself is untouched
    for rows, cols in [(2, 4), (6, 10), (8, 14)]:
        image = torch.randn(1, 3, rows, cols)
        with torch.no_grad():
            torch.testing.assert_close(static(image), model(image), rtol=0, atol=1e-6)


def test_export__pads_folded_into_the_convolutions_with_the_same_answers(lite0, tmp_path):
    import onnx

    from training.export.onnx_export import export_onnx, parity

    path = export_onnx(lite0, ModelSpec(), str(tmp_path / "m.onnx"), sample_size_px=64)
    graph = onnx.load(path).graph
    ops = [node.op_type for node in graph.node]
    assert "Ceil" not in ops and "Pad" not in ops  # no run-time padding, no separate Pad
    pads = sorted(tuple(a.ints) for node in graph.node if node.op_type == "Conv" for a in node.attribute if a.name == "pads")
    assert pads.count((0, 0, 1, 1)) == 3 and pads.count((1, 1, 2, 2)) == 1  # TF's (before, after) of the four strided convs
    rng = np.random.default_rng(1)
    assert (
        parity(
            lite0,
            path,
            [rng.standard_normal((3, 96, 160)).astype(np.float32), rng.standard_normal((3, 48, 240)).astype(np.float32)],
        )
        < 1e-5
    )


def test_fold_pads__only_constant_zero_pads_of_spatial_axes_that_feed_one_convolution(tmp_path):
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    from training.export.static_padding import fold_pads_into_convolutions

    weight = numpy_helper.from_array(np.random.default_rng(0).standard_normal((2, 2, 3, 3)).astype(np.float32), "w")
    spatial = numpy_helper.from_array(np.array([0, 0, 0, 1, 0, 0, 2, 1], np.int64), "spatial")
    channels = numpy_helper.from_array(np.array([0, 1, 0, 0, 0, 0, 0, 0], np.int64), "channels")
    one = numpy_helper.from_array(np.array(1.0, np.float32), "one")
    nodes = [
        helper.make_node("Pad", ["x", "spatial"], ["p1"], name="folds"),  # zero, spatial, one convolution
        helper.make_node("Conv", ["p1", "w"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Pad", ["c1", "spatial", "one"], ["p2"], name="not_zero"),
        helper.make_node("Conv", ["p2", "w"], ["c2"]),
        helper.make_node("Pad", ["c2", "channels"], ["p3"], name="channel_axis"),
        helper.make_node("Conv", ["p3", "w3"], ["c3"]),
        helper.make_node("Pad", ["c3", "spatial"], ["p4"], name="two_readers"),
        helper.make_node("Conv", ["p4", "w"], ["c4"]),
        helper.make_node("Add", ["p4", "p4"], ["side"]),
    ]
    weight3 = numpy_helper.from_array(np.random.default_rng(2).standard_normal((2, 3, 3, 3)).astype(np.float32), "w3")
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 9, 11])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("c4", "side")],
        initializer=[weight, weight3, spatial, channels, one],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path, folded_path = str(tmp_path / "m.onnx"), str(tmp_path / "folded.onnx")
    onnx.save(proto, path)
    assert fold_pads_into_convolutions(proto) == 1
    assert [n.name for n in proto.graph.node if n.op_type == "Pad"] == ["not_zero", "channel_axis", "two_readers"]
    assert [list(a.ints) for n in proto.graph.node if n.op_type == "Conv" for a in n.attribute if a.name == "pads"][0] == [
        1,
        2,
        3,
        2,
    ]
    onnx.save(proto, folded_path)
    x = np.random.default_rng(1).standard_normal((1, 2, 9, 11)).astype(np.float32)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # compare the graphs as written
    expected = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"]).run(None, {"x": x})
    got = ort.InferenceSession(folded_path, options, providers=["CPUExecutionProvider"]).run(None, {"x": x})
    for a, b in zip(expected, got):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


def test_same_padding_matches_timms_run_time_rule():
    import torch
    from timm.layers.padding import pad_same

    from training.export.static_padding import same_padding_px

    for kernel, stride, dilation, side in [(3, 2, 1, 64), (5, 2, 1, 32), (3, 1, 1, 30), (7, 2, 2, 40), (1, 2, 1, 16)]:
        x = torch.zeros(1, 1, side, side)
        padded = pad_same(x, (kernel, kernel), (stride, stride), (dilation, dilation))
        before, after = same_padding_px(kernel, stride, dilation)
        assert padded.shape[-1] == side + before + after
        marked = torch.ones(1, 1, side, side)
        assert (
            int(pad_same(marked, (kernel, kernel), (stride, stride), (dilation, dilation))[0, 0, side // 2, :].argmax()) == before
        )
