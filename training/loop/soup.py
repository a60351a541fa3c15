"""Averaging the weights of checkpoints fine-tuned from one another (a "model soup", Wortsman et
al. 2022; WiSE-FT when one is the other's starting point): no training, one forward pass per
input at inference, and often the strengths of both (here: a model fine-tuned on another
collection keeps what it learned there, and the earlier model's fit to the main data comes back).

Only checkpoints of one model family average meaningfully: same architecture, encoder, input
convention and parameter shapes, and one descending from the other (or both from a common one)
so that their weights lie in one basin. The averaged checkpoint carries the last checkpoint's
config (its training lineage) with ``averaged_from`` naming the ingredients and their weights.
"""

from __future__ import annotations

import os
from typing import Any, Optional, Sequence

#: Config fields that fix the network and its input: checkpoints must agree on them to be averaged.
SAME_MODEL_FIELDS = (
    "arch",
    "encoder",
    "image_pooling",
    "upsampling",
    "receptive_field",
    "input_scaling",
    "standardization_mean",
    "standardization_std",
    "inference_margin_px",
    "inference_tile_px",
)


def soup_weights(count: int, weights: Optional[Sequence[float]]) -> list[float]:
    """Weights of ``count`` checkpoints, normalised to sum to 1 (equal when not given).

    >>> soup_weights(2, None)
    [0.5, 0.5]
    >>> soup_weights(2, [3, 1])
    [0.75, 0.25]
    """
    if count < 2:
        raise ValueError("Give at least two checkpoints to average (--checkpoints A B ...).")
    if weights is None:
        return [1.0 / count] * count
    if len(weights) != count:
        raise ValueError(
            f"{len(weights)} weight(s) for {count} checkpoints: give one weight per checkpoint, or none for equal weights."
        )
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError(f"Weights {list(weights)} must be >= 0 with a positive sum (they are normalised to sum to 1).")
    total = float(sum(weights))
    return [float(w) / total for w in weights]


def average_state_dicts(states: Sequence[dict], weights: Sequence[float]) -> dict:
    """The weighted mean of floating-point tensors (parameters and BatchNorm statistics, computed in
    float64); integer buffers (BatchNorm's step counters) are taken from the last state."""
    import torch

    keys = list(states[-1])
    for index, state in enumerate(states[:-1]):
        if set(state) != set(keys):
            missing = sorted(set(keys) ^ set(state))[:3]
            raise ValueError(
                f"Checkpoint {index + 1} has other layers than the last one (e.g. {missing}): only models of one "
                f"architecture can be averaged."
            )
    averaged = {}
    for key in keys:
        tensors = [state[key] for state in states]
        if any(t.shape != tensors[-1].shape for t in tensors):
            raise ValueError(
                f"Layer {key} has shapes {[tuple(t.shape) for t in tensors]}: only models of one architecture can be averaged."
            )
        if tensors[-1].is_floating_point():
            total = sum(w * t.to(torch.float64) for w, t in zip(weights, tensors))
            averaged[key] = total.to(tensors[-1].dtype)
        else:
            averaged[key] = tensors[-1].clone()
    return averaged


def _check_same_model(configs: Sequence[Any], paths: Sequence[str]) -> None:
    for field in SAME_MODEL_FIELDS:
        values = [getattr(config, field, None) for config in configs]
        if any(v != values[-1] for v in values):
            listing = ", ".join(f"{os.path.basename(os.path.dirname(p)) or p}: {v}" for p, v in zip(paths, values))
            raise ValueError(
                f"The checkpoints differ in {field} ({listing}): only checkpoints of one model (one fine-tuned "
                f"from the other, or both from a common one) can be averaged."
            )


def _image_level_union(configs: Sequence[Any]) -> tuple[Optional[str], Optional[list]]:
    """The image-level collection the ingredients trained on, and the union of their patterns
    (so that the averaged model's checks leave out every chip any ingredient saw)."""
    used = [c for c in configs if getattr(c, "image_level_data", None)]
    if not used:
        return None, None
    folders = {os.path.realpath(c.image_level_data) for c in used}
    if len(folders) > 1:
        raise ValueError(
            f"The checkpoints trained on different image-level collections ({sorted(folders)}): the averaged "
            f"model's held-out check could not say which chips it saw. Average checkpoints trained on one collection."
        )
    if any(not c.image_level_include for c in used):
        return used[-1].image_level_data, None  # one ingredient saw all of it
    patterns: list = []
    for config in used:
        patterns += [p for p in config.image_level_include if p not in patterns]
    return used[-1].image_level_data, patterns


def average_checkpoints(paths: Sequence[str], output: str, weights: Optional[Sequence[float]] = None) -> dict[str, Any]:
    """Write the weighted average of the checkpoints' evaluated weights to ``output`` (a
    checkpoint that ``evaluate``, ``export`` and ``model_card.py`` read like a trained one)."""
    import torch

    from training.config import TrainConfig
    from training.model.checkpoints import config_of, full_history

    for path in paths:
        if not os.path.exists(path):
            raise FileNotFoundError(f"Checkpoint {path} does not exist: give the best.pt of each training run to average.")
    if any(os.path.realpath(path) == os.path.realpath(output) for path in paths):
        raise ValueError(f"The output {output} is one of the checkpoints to average: write the average to a new file.")
    normalised = soup_weights(len(paths), weights)
    states = [torch.load(path, map_location="cpu", weights_only=False) for path in paths]
    configs = [config_of(state) for state in states]
    _check_same_model(configs, paths)
    model = average_state_dicts([state["model"] for state in states], normalised)
    values = dict(states[-1]["config"])  # the last ingredient's lineage (its init_checkpoint chain)
    values["image_level_data"], values["image_level_include"] = _image_level_union(configs)
    if values["image_level_data"] and not values.get("compose"):
        raise ValueError(
            f"An ingredient trained on the chips of {values['image_level_data']} (composed canvases) but the last "
            f"checkpoint, whose config and lineage the average keeps, did not: list a checkpoint trained on them last."
        )
    values["averaged_from"] = [
        {"checkpoint": path, "run": os.path.basename(os.path.dirname(os.path.abspath(path))), "weight": w}
        for path, w in zip(paths, normalised)
    ]
    state = {
        "model": model,
        "config": values,
        "history": full_history(paths[-1]),
        "epoch": states[-1].get("epoch"),
        "best_iou": states[-1].get("best_iou"),
    }
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    torch.save(state, output)
    # the config beside the checkpoint, as training writes it, unless a training run's own is there
    config_path = os.path.join(os.path.dirname(os.path.abspath(output)), "config.json")
    written = not os.path.exists(config_path) or _written_by_average(config_path)
    if written:
        TrainConfig(**values).save(config_path)
    return {
        "output": output,
        "averaged_from": values["averaged_from"],
        "layers": len(model),
        "config": config_path if written else None,
    }


def _written_by_average(config_path: str) -> bool:
    import json

    try:
        with open(config_path, encoding="utf-8") as handle:
            return bool(json.load(handle).get("averaged_from"))
    except (OSError, ValueError):
        return False
