"""Checkpoints and the model a config describes: its ``ModelSpec`` (what the plugin reads from the ONNX metadata),
the model, and loading a trained checkpoint (with its history, across ``best.pt`` and ``last.pt``)."""

from __future__ import annotations

import os
from typing import Any

from rockglacier_plugin.core.mapping.model_metadata import InputScaling, ModelSpec
from training.config import TrainConfig
from training.model.architecture import build_model
from training.model.onnx_weights import ARCHITECTURE_KEYS
from training.model.rendering import config_rendering


def device_for(choice: str) -> Any:
    import torch

    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device=cuda but PyTorch sees no GPU; use device=auto or cpu.")
    return torch.device(choice)


def spec_for(config: TrainConfig) -> ModelSpec:
    """The inference settings the exported model will carry."""
    return ModelSpec(
        resolution_cm_per_px=config.resolution_cm_per_px,
        standardization_mean=tuple(config.standardization_mean),
        standardization_std=tuple(config.standardization_std),
        input_scaling=InputScaling(**config.input_scaling),
        output="logits",
        margin_px=config.inference_margin_px,
        # Each tile is read with margin_px of context on every side, so large tiles waste less on
        # context; whether tiles of different sizes then agree is measured by ``model_card.py``.
        tile_size_px=config.inference_tile_px,
        rendering=config_rendering(config),
        views=config.inference_views,
        architecture={key: getattr(config, key) for key in ARCHITECTURE_KEYS},
    )


def model_for(config: TrainConfig, pretrained: bool) -> Any:
    """The model a config describes (encoder, image pooling over the training crop); ``loop.train.check_config``
    checks the rest of a config before training."""
    return build_model(
        config.arch,
        config.encoder,
        len(config.standardization_mean),
        pretrained,
        config.image_pooling,
        config.crop_px or config.cell_px,
        config.upsampling,
        config.receptive_field,
    )


def config_of(state: dict) -> TrainConfig:
    """The config saved in a checkpoint; checkpoints from before the ``upsampling`` option were
    trained with smp's align-corners upsampling, and keep it."""
    values = dict(state["config"])
    values.setdefault("upsampling", "align_corners")
    return TrainConfig(**values)


def load_trained(checkpoint: str, device: str = "cpu") -> tuple[Any, TrainConfig]:
    """The model of a checkpoint in eval mode, and its config."""
    import torch

    state = torch.load(checkpoint, map_location=device, weights_only=False)
    config = config_of(state)
    model = model_for(config, pretrained=False)
    model.load_state_dict(state["model"])
    return model.eval(), config


def full_history(checkpoint: str) -> list:
    """Every epoch of the checkpoint's run: the best checkpoint holds the epochs up to itself, the
    run's ``last.pt`` beside it all of them."""
    import torch

    last = os.path.join(os.path.dirname(checkpoint), "last.pt")
    history = torch.load(checkpoint, map_location="cpu", weights_only=False)["history"]
    if os.path.exists(last):
        longer = torch.load(last, map_location="cpu", weights_only=False)["history"]
        if longer[: len(history)] == history:
            history = longer
    return history
