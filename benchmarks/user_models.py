"""A user's own model as users bring one: DeepLabv3+ ResNet34 (segmentation_models_pytorch) exported to ONNX
with a fixed 512 px input and batch 1 and Deepness-style metadata (model_type, class_names, resolution,
tiles_size, tiles_overlap, standardization, seg_thresh), as Deepness' model zoo and its export guide make them.

Weights: random (``seed``), or a few hundred steps of training on the Chilean chips when ``train_steps`` > 0, so
that its masks mean something (a mask agreement needs a trained model; speed does not)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # ImageNet statistics on 0-1 pixels: Deepness' convention


def deepness_metadata(tile_px: int = 512, threshold: float = 0.5) -> dict:
    return {
        "model_type": json.dumps("Segmentor"),
        "class_names": json.dumps({"0": "background", "1": "rock_glacier"}),
        "resolution": json.dumps(1000),
        "tiles_size": json.dumps(tile_px),
        "tiles_overlap": json.dumps(10),
        "standardization_mean": json.dumps(list(MEAN)),
        "standardization_std": json.dumps(list(STD)),
        "seg_thresh": json.dumps(threshold),
    }


def resnet34_deeplab(path: Path, seed: int = 0, tile_px: int = 512, network=None) -> Path:
    """Export DeepLabv3+ ResNet34 (random weights unless ``network`` is given) with a fixed input size."""
    import onnx
    import segmentation_models_pytorch as smp
    import torch

    torch.manual_seed(seed)
    if network is None:
        network = smp.DeepLabV3Plus(encoder_name="resnet34", encoder_weights=None, in_channels=3, classes=1, activation="sigmoid")
    network.eval()
    sample = torch.zeros(1, 3, tile_px, tile_px)
    torch.onnx.export(network, sample, str(path), input_names=["input"], output_names=["output"], opset_version=17, dynamo=False)
    model = onnx.load(str(path))
    for key, value in deepness_metadata(tile_px).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
    return path


def trained_resnet34(path: Path, steps: int = 300, seed: int = 0) -> Path:
    """DeepLabv3+ ResNet34 trained briefly on 128 px Chilean chips (CPU), exported as ``resnet34_deeplab``."""
    import segmentation_models_pytorch as smp
    import torch

    from rockglacier_plugin.core.mapping.input_scaling import to_uint8_range
    from training.config import TrainConfig
    from training.data.samples import load_samples, read_sample
    from training.model.checkpoints import spec_for

    torch.manual_seed(seed)
    config = TrainConfig.load(str(Path(__file__).resolve().parents[1] / "training" / "configs" / "default_chile.json"))
    spec = spec_for(config)
    chips = [read_sample(s) for s in load_samples(config) if s.split == "train"]
    chips = [(image, label) for image, label in chips if image.shape[1:] == (128, 128)]
    images = np.stack([to_uint8_range(image, spec.input_scaling) for image, _ in chips]).astype(np.float32)
    labels = np.stack([label == 1 for _, label in chips]).astype(np.float32)
    images = (images / 255.0 - np.array(MEAN, np.float32)[:, None, None]) / np.array(STD, np.float32)[:, None, None]
    network = smp.DeepLabV3Plus(encoder_name="resnet34", encoder_weights=None, in_channels=3, classes=1)
    optimiser = torch.optim.AdamW(network.parameters(), lr=1e-3)
    rng = np.random.default_rng(seed)
    loss_function = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(4.0))  # rock glaciers are a tenth of the pixels
    network.train()
    for _ in range(steps):
        index = rng.choice(len(images), 16, replace=False)
        logits = network(torch.from_numpy(images[index]))
        loss = loss_function(logits[:, 0], torch.from_numpy(labels[index]))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    wrapped = torch.nn.Sequential(network, torch.nn.Sigmoid())
    return resnet34_deeplab(path, seed, network=wrapped)


def shipped_as_user_model(path: Path, tile_px: int = 512) -> Path:
    """The shipped (trained) float model re-saved as a user's Deepness-style model: fixed ``tile_px`` input,
    batch 1, Deepness' metadata keys only (its own standardisation and threshold; no rockglacier keys), so a
    run treats it as any model from elsewhere: no shipped int8 copy, no views, no margin."""
    import onnx

    from rockglacier_plugin.core.mapping.onnx_model import DEFAULT_MODEL_NAME, SHIPPED_MODELS_DIR

    model = onnx.load(str(Path(SHIPPED_MODELS_DIR) / DEFAULT_MODEL_NAME))
    metadata = {entry.key: entry.value for entry in model.metadata_props}
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for dim, value in zip(dims, (1, 3, tile_px, tile_px)):
        dim.ClearField("dim_param")
        dim.dim_value = value
    for dim, value in zip(model.graph.output[0].type.tensor_type.shape.dim, (1, None, tile_px, tile_px)):
        if value is not None:
            dim.ClearField("dim_param")
            dim.dim_value = value
    logits = model.graph.output[0].name  # the shipped model gives logits; Deepness-style models give probabilities
    model.graph.node.append(onnx.helper.make_node("Sigmoid", [logits], ["probability"], name="user_sigmoid"))
    model.graph.output[0].name = "probability"
    del model.metadata_props[:]
    kept = deepness_metadata(tile_px, json.loads(metadata.get("seg_thresh", "0.5")))
    kept["standardization_mean"], kept["standardization_std"] = metadata["standardization_mean"], metadata["standardization_std"]
    kept["class_names"] = metadata.get("class_names", kept["class_names"])
    for key, value in kept.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
    return path


def noisy_resnet34(path: Path, level: float, seed: int = 0) -> Path:
    """A model with a ResNet34 DeepLabv3+'s cost and a noisy output: probability = sigmoid(200 (first band - level)),
    ``level`` on 0-1 pixels, plus 0 x the network's output, so every tile pays for the network (onnxruntime does not
    drop a branch multiplied by zero) while the mask is the first band's noise: a briefly trained model's specks at a
    real model's speed (``region_bench.noisy``)."""
    import segmentation_models_pytorch as smp
    import torch

    torch.manual_seed(seed)

    class NoisyCostly(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = smp.DeepLabV3Plus(encoder_name="resnet34", encoder_weights=None, in_channels=3, classes=1)
            self.zero = torch.nn.Parameter(torch.zeros(1), requires_grad=False)

        def forward(self, x: "torch.Tensor") -> "torch.Tensor":
            first_band = x[:, :1] * STD[0] + MEAN[0]  # back to 0-1 pixels
            return torch.sigmoid(200.0 * (first_band - level)) + self.zero * self.network(x)

    return resnet34_deeplab(path, seed, network=NoisyCostly())
