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

    from training.train import model_for

    torch.manual_seed(0)
    config = TrainConfig(encoder="tu-tf_efficientnet_lite0", pretrained=False, image_pooling="none", receptive_field="compact",
                         upsampling="half_pixel", standardization_mean=[0.5] * 3, standardization_std=[0.5] * 3)
    return model_for(config, pretrained=False).eval()


def test_static_padding__same_answers_as_run_time_padding_on_every_multiple_of_the_size_step(lite0):
    import torch

    from training.static_padding import static_same_padding

    static, replaced = static_same_padding(lite0, 16)
    assert replaced == 4  # the stem and three strided depthwise convolutions of EfficientNet-Lite0
    for rows, cols in [(16, 48), (96, 160), (208, 112)]:
        image = torch.randn(1, 3, rows, cols)
        with torch.no_grad():
            torch.testing.assert_close(static(image), lite0(image), rtol=0, atol=1e-5)


def test_static_padding__kept_at_run_time_where_inputs_may_reach_a_convolution_with_odd_sides():
    import torch
    from timm.layers.conv2d_same import Conv2dSame

    from training.static_padding import static_same_padding

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


def test_export__no_run_time_padding_left_and_onnxruntime_fuses_the_pads(lite0, tmp_path):
    import onnx
    import onnxruntime as ort

    from training.export import export_onnx, parity

    path = export_onnx(lite0, ModelSpec(), str(tmp_path / "m.onnx"), sample_size_px=64)
    ops = [node.op_type for node in onnx.load(path).graph.node]
    assert "Ceil" not in ops and ops.count("Pad") == 4  # constant pads only
    options = ort.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    assert "Pad" not in [node.op_type for node in onnx.load(str(tmp_path / "optimized.onnx")).graph.node]
    rng = np.random.default_rng(1)
    assert parity(lite0, path, [rng.standard_normal((3, 96, 160)).astype(np.float32),
                                rng.standard_normal((3, 48, 240)).astype(np.float32)]) < 1e-5


def test_same_padding_matches_timms_run_time_rule():
    import torch
    from timm.layers.padding import pad_same

    from training.static_padding import same_padding_px

    for kernel, stride, dilation, side in [(3, 2, 1, 64), (5, 2, 1, 32), (3, 1, 1, 30), (7, 2, 2, 40), (1, 2, 1, 16)]:
        x = torch.zeros(1, 1, side, side)
        padded = pad_same(x, (kernel, kernel), (stride, stride), (dilation, dilation))
        before, after = same_padding_px(kernel, stride, dilation)
        assert padded.shape[-1] == side + before + after
        marked = torch.ones(1, 1, side, side)
        assert int(pad_same(marked, (kernel, kernel), (stride, stride), (dilation, dilation))[0, 0, side // 2, :].argmax()) == before
