"""The probability threshold an exported model ships with (its ``seg_thresh`` metadata, which
rockglacier:segment uses when THRESHOLD is left empty), chosen on training chips, never on the
validation chips the model card reports.

The rule is the one the best checkpoint is chosen by (``select_on: scene+chips``): the mean of the
pixel IoU of the training chips laid edge to edge as one scene and of the same chips run alone,
both through the plugin's own path with its default 8 views. Each exported copy gets its own: an
int8 copy's probabilities are not the float model's.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

THRESHOLDS = tuple(round(0.3 + 0.05 * step, 2) for step in range(10))  # 0.30 ... 0.75
DEFAULT_CHIPS = 300  # training chips drawn (seeded); about 7 min for a float model at 8 views on 2 cores


def best_threshold(scores: dict[float, tuple[float, float]]) -> float:
    """The threshold the checkpoint rule (``train.SELECTION["scene+chips"]``) scores highest from
    (scene IoU, chips-alone IoU); ties go to the one nearest 0.5.

    >>> best_threshold({0.5: (0.70, 0.70), 0.55: (0.71, 0.70), 0.6: (0.70, 0.70)})
    0.55
    """
    from training.config import SELECTION

    if not scores:
        raise ValueError("No threshold was scored.")
    rule = SELECTION["scene+chips"]
    return max(
        scores, key=lambda t: (round(rule({"scene_pixel_iou": scores[t][0], "chips_pixel_iou": scores[t][1]}), 6), -abs(t - 0.5))
    )


def threshold_scores(
    onnx_path: str,
    samples: Sequence[Any],
    spec: Any,
    cell_px: int,
    seed: int = 0,
    views: int = 8,
    thresholds: Sequence[float] = THRESHOLDS,
) -> dict[float, tuple[float, float]]:
    """(scene pixel IoU, chips-alone pixel IoU) of the model at each threshold on ``samples``."""
    from rockglacier_plugin.core.mapping.input_scaling import to_uint8_range
    from training.data.compose import cells_for, validation_scene
    from training.evaluation.scene_eval import chips_alone, pixel_iou_of_chips, scene_scores, segment_scene

    scene = validation_scene(
        samples, spec.in_channels, cells_for(len(samples)), seed, cell_px, lambda raw: to_uint8_range(raw, spec.input_scaling)
    )
    probability = segment_scene(onnx_path, scene, views=views)
    alone = list(chips_alone(onnx_path, samples, spec, views))
    return {t: (scene_scores(probability, scene, t)["scene_pixel_iou"], pixel_iou_of_chips(alone, t)) for t in thresholds}


def training_subset(samples: Sequence[Any], count: Optional[int] = DEFAULT_CHIPS, seed: int = 1) -> list:
    """``count`` of the training samples, drawn without replacement (seeded), in their order."""
    train = [s for s in samples if getattr(s, "split", "train") == "train"]
    if not count or len(train) <= count:
        return train
    chosen = np.random.default_rng(seed).choice(len(train), count, replace=False)
    return [train[i] for i in sorted(chosen)]


def write_threshold(onnx_path: str, threshold: float) -> None:
    """Set the model's ``seg_thresh`` metadata in place; nothing else in the file changes."""
    import json

    import onnx

    model = onnx.load(onnx_path)
    entries = {entry.key: entry for entry in model.metadata_props}
    if "seg_thresh" in entries:
        entries["seg_thresh"].value = json.dumps(float(threshold))
    else:
        model.metadata_props.add(key="seg_thresh", value=json.dumps(float(threshold)))
    onnx.save(model, onnx_path)
