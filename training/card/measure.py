"""Measure the default model's card (``build`` writes it as JSON and, with ``render``, HTML): scene-level scores first
(validation chips laid edge to edge), then per-chip scores (each chip alone, 8 views, the plugin's default), both
through the plugin's own inference path (``evaluation.evaluate``), for the float32 and int8 ONNX models, the scene
at several tile sizes, and their speed on the same raster."""

from __future__ import annotations

import os
import time
from typing import Any, Optional

TILE_SIZES = (256, 512, 1536)
INT8_MAX_IOU_LOSS = 0.02
#: Tiles of every size should give the same probabilities within this, away from the scene's border.
TILE_AGREEMENT = 0.02
SCENE_BORDER_PX = 64


def tile_difference(probability: "Any", reference: "Any") -> "Any":
    """|difference| of two probability maps of one scene, its outer ``SCENE_BORDER_PX`` left out
    (there the padding, not the tiling, decides)."""
    import numpy as np

    inner = (slice(SCENE_BORDER_PX, -SCENE_BORDER_PX), slice(SCENE_BORDER_PX, -SCENE_BORDER_PX))
    return np.abs(probability[inner] - reference[inner])


def chip_scores(onnx_path: str, validation: Any, spec: Any, threshold: float) -> dict[str, Any]:
    """The card's per-chip scores: each validation chip alone through the plugin's path, its default 8 views."""
    from training.evaluation.evaluate import evaluate_through_plugin

    return evaluate_through_plugin(onnx_path, validation, spec, threshold, views=8, threads=2)


def tile_size_scores(onnx_path: str, scene: Any, threshold: float) -> tuple[dict[str, Any], bool]:
    """Per tile size, the scene's IoU and how far its probabilities lie from the largest tile's; whether all agree
    within ``TILE_AGREEMENT``."""
    import numpy as np

    from training.evaluation.scene_eval import scene_scores, segment_scene

    maps = {tile: segment_scene(onnx_path, scene, tile, threads=2) for tile in TILE_SIZES}
    reference = maps[TILE_SIZES[-1]]
    sizes = {}
    for tile in TILE_SIZES:
        difference = tile_difference(maps[tile], reference)
        sizes[str(tile)] = {
            "scene_pixel_iou": scene_scores(maps[tile], scene, threshold)["scene_pixel_iou"],
            "max_abs_probability_difference_to_1536px": float(difference.max()),
            "p999_abs_probability_difference_to_1536px": float(np.quantile(difference, 0.999)),
        }
    return sizes, all(v["max_abs_probability_difference_to_1536px"] <= TILE_AGREEMENT for v in sizes.values())


def measure(float_onnx: str, int8_onnx: Optional[str], checkpoint: str, image_level: Optional[str] = None) -> dict[str, Any]:
    """Every number of the card, measured now; ``image_level`` a folder of chips of another
    collection labelled per chip (``training/image_level.py``)."""
    from rockglacier_plugin.core.mapping.input_scaling import to_uint8_range
    from training.data.compose import cells_for, validation_scene
    from training.data.samples import load_samples
    from training.evaluation.image_level import image_level_of, image_level_scores, trained_on
    from training.evaluation.scene_eval import (
        chips_alone,
        model_threshold,
        pixel_iou_of_chips,
        scene_scores,
        segment_scene,
        views_on_scene,
    )
    from training.model.checkpoints import load_trained, spec_for

    _, config = load_trained(checkpoint)
    spec = spec_for(config)
    samples = load_samples(config)
    validation = [s for s in samples if s.split == "validation"]
    scene = validation_scene(
        validation,
        spec.in_channels,
        cells_for(len(validation)),
        config.seed,
        config.cell_px,
        lambda raw: to_uint8_range(raw, spec.input_scaling),
    )
    models = {"float32": float_onnx, **({"int8": int8_onnx} if int8_onnx else {})}
    # each copy at its own threshold (its seg_thresh, chosen on training chips: training/threshold.py)
    thresholds = {name: model_threshold(path) for name, path in models.items()}
    card: dict[str, Any] = {"thresholds": thresholds, "scene": {}, "chips": {}, "seconds_on_scene": {}, "tile_sizes": {}}
    for name, path in models.items():
        start = time.perf_counter()
        probability = segment_scene(path, scene, threads=2)
        card["seconds_on_scene"][name] = time.perf_counter() - start
        card["scene"][name] = scene_scores(probability, scene, thresholds[name])
        card["chips"][name] = chip_scores(path, validation, spec, thresholds[name])
    alone = {views: list(chips_alone(float_onnx, validation, spec, views, 2)) for views in (1, 8)}
    card["chips_through_plugin"] = {
        f"{views} view{'s' if views > 1 else ''}": pixel_iou_of_chips(results, thresholds["float32"])
        for views, results in alone.items()
    }
    if image_level:  # the same measure on the validation chips comes from their 8-view runs above
        same = image_level_of(alone[8], threshold=thresholds["float32"])
        card["image_level"] = {
            "folder": os.path.basename(os.path.normpath(image_level)),
            **image_level_scores(
                float_onnx,
                image_level,
                views=8,
                threads=2,
                threshold=thresholds["float32"],
                exclude=trained_on(config, image_level),
            ),
            "validation_detected_share": same["detected_share"],
            "validation_false_alarm_share": same["false_alarm_share"],
        }
    for name, path, views in [("float32", float_onnx, 4), ("float32", float_onnx, 8)] + (
        [("int8", int8_onnx, 8)] if int8_onnx else []
    ):
        start = time.perf_counter()  # the plugin's VIEWS option; 8 is its default
        probability = segment_scene(path, scene, threads=2, views=views)
        card["seconds_on_scene"][f"{name}, {views} views"] = time.perf_counter() - start
        card["scene"][f"{name}, {views} views"] = scene_scores(probability, scene, thresholds[name])
    card["tile_sizes"], card["tile_sizes_agree"] = tile_size_scores(float_onnx, scene, thresholds["float32"])
    card["scene_size_px"] = list(scene.label.shape)
    card["validation_chips"] = len(validation)
    card["training_chips"] = sum(s.split == "train" for s in samples)
    if int8_onnx:
        card.update(int8_verdict(card["scene"], card["seconds_on_scene"]))
    views_model = "int8" if card.get("int8_is_cpu_default") else "float32"  # the CPU default's views
    card["views_model"] = views_model
    card["views_on_scene"] = views_on_scene(models[views_model], scene, thresholds[views_model], threads=2)
    return card


def int8_verdict(scenes: dict[str, dict], seconds: dict[str, float]) -> dict[str, Any]:
    """Whether the int8 copy becomes the CPU default: its scene IoU must stay within
    ``INT8_MAX_IOU_LOSS`` of float32 at 1 view and at the plugin's default 8 views (the loss is the
    larger of the two); speed-ups at both.

    >>> v = int8_verdict({"float32": {"scene_pixel_iou": 0.60}, "int8": {"scene_pixel_iou": 0.59},
    ...                   "float32, 8 views": {"scene_pixel_iou": 0.64}, "int8, 8 views": {"scene_pixel_iou": 0.61}},
    ...                  {"float32": 6.0, "int8": 5.0, "float32, 8 views": 48.0, "int8, 8 views": 30.0})
    >>> round(v["int8_scene_iou_loss"], 3), v["int8_is_cpu_default"]
    (0.03, False)
    >>> v["int8_speedup_on_scene"], v["int8_speedup_on_scene_8_views"]
    (1.2, 1.6)
    """
    losses = [
        scenes[f"float32{suffix}"]["scene_pixel_iou"] - scenes[f"int8{suffix}"]["scene_pixel_iou"]
        for suffix in ("", ", 8 views")
        if f"int8{suffix}" in scenes
    ]
    loss = max(losses)
    verdict = {
        "int8_scene_iou_loss": loss,
        "int8_is_cpu_default": bool(loss <= INT8_MAX_IOU_LOSS),
        "int8_speedup_on_scene": seconds["float32"] / seconds["int8"],
    }
    if "int8, 8 views" in seconds:
        verdict["int8_speedup_on_scene_8_views"] = seconds["float32, 8 views"] / seconds["int8, 8 views"]
    return verdict


def lineage(config: Any) -> list:
    """The training stages that made a checkpoint, first to last (each stage's ``init_checkpoint``
    is the previous stage's best checkpoint)."""
    import torch

    from training.model.checkpoints import config_of

    stages = [config]
    while getattr(stages[0], "init_checkpoint", None) and os.path.exists(stages[0].init_checkpoint) and len(stages) < 10:
        state = torch.load(stages[0].init_checkpoint, map_location="cpu", weights_only=False)
        stages.insert(0, config_of(state))
    return stages


#: Per-epoch scores of the last stage summarised by ``epoch_spread`` (history key -> what it is).
SPREAD_SCORES = {
    "scene_pixel_iou": "scene",
    "chips_pixel_iou": "chips alone through the plugin",
    "val_iou": "bare model per chip",
}


def epoch_spread(history: list) -> dict[str, tuple[float, float]]:
    """Mean and standard deviation over the last stage's epochs of each 1-view score it recorded.
    The shipped epoch is the best of these on the validation chips, so its own scores are higher
    partly by chance; the mean is the better guess of what new imagery of the region gives.

    >>> spread = epoch_spread([{"scene_pixel_iou": 0.58, "val_iou": 0.62}, {"scene_pixel_iou": 0.60, "val_iou": 0.64}])
    >>> [(key, round(mean, 3), round(sd, 3)) for key, (mean, sd) in spread.items()]
    [('scene_pixel_iou', 0.59, 0.01), ('val_iou', 0.63, 0.01)]
    """
    import numpy as np

    return {
        key: (float(np.mean(values)), float(np.std(values)))
        for key in SPREAD_SCORES
        if (values := [record[key] for record in history if record.get(key) is not None])
    }
