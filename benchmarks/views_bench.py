"""Views of test-time averaging with the shipped model: quality and time of 1 view, 8 views everywhere and
the default (8 views adaptively: the further views only around what the first finds), on two scenes:

* the model card's validation scene (the Chilean validation chips edge to edge, 1280 px: rock glaciers in
  every part of it, the hardest case for adaptive views);
* a sparse scene: the same in one quarter of a 2560 px canvas, the other three quarters rock-glacier-free
  chips (terrain with few rock glaciers, as most of a mountain range).

Scene pixel IoU and false pixels on rock-glacier-free terrain as the model card measures them; times in one
process, each run after a warm-up, as ratios to 1 view.
"""

from __future__ import annotations

import os

import numpy as np


def _scenes():
    from rockglacier_plugin.core.mapping.input_scaling import to_uint8_range
    from training.config import TrainConfig
    from training.data.compose import ValidationScene, cells_for, validation_scene
    from training.data.samples import load_samples
    from training.model.checkpoints import spec_for

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    config = TrainConfig.load(os.path.join(root, "training", "configs", "default_chile_ds1b.json"))
    spec = spec_for(config)
    samples = load_samples(config)
    convert = lambda raw: to_uint8_range(raw, spec.input_scaling)  # noqa: E731
    validation = [s for s in samples if s.split == "validation"]
    dense = validation_scene(validation, spec.in_channels, cells_for(len(validation)), config.seed, config.cell_px, convert)
    negatives = [s for s in samples if s.split == "train" and s.kind == "negative"]
    n = dense.label.shape[0]
    image = np.zeros((spec.in_channels, 2 * n, 2 * n), np.float32)
    label = np.zeros((2 * n, 2 * n), dense.label.dtype)
    negative = np.zeros((2 * n, 2 * n), bool)
    image[:, :n, :n], label[:n, :n], negative[:n, :n] = dense.image, dense.label, dense.negative_pixels
    for index, (row, col) in enumerate(((0, n), (n, 0), (n, n))):
        quarter = validation_scene(negatives, spec.in_channels, n // config.cell_px, 100 + index, config.cell_px, convert)
        image[:, row : row + n, col : col + n] = quarter.image
        negative[row : row + n, col : col + n] = True
    return {"validation scene (dense)": dense, "sparse scene": ValidationScene(image, label, negative)}


def run(repeats: int = 1) -> dict:
    from rockglacier_plugin.core.mapping.onnx_model import DEFAULT_INT8_NAME, SHIPPED_MODELS_DIR
    from training.evaluation.scene_eval import VIEW_RUNS, model_threshold, views_on_scene

    try:
        scenes = _scenes()
    except Exception as exc:  # the chips are not on this machine
        print(f"\n== Views: skipped ({exc})")
        return {}
    path = os.path.join(SHIPPED_MODELS_DIR, DEFAULT_INT8_NAME)
    threshold = model_threshold(path)
    results = {}
    for scene_name, scene in scenes.items():
        measured = views_on_scene(path, scene, threshold, threads=2, repeats=repeats)
        one = measured["1 view"]["seconds"]
        print(f"\n== Views, shipped int8 model, {scene_name} ({scene.label.shape[0]} px)")
        for name, values in measured.items():
            share = (
                f", further views on {100 * values['more_views_share']:.0f} % of the model input" if VIEW_RUNS[name][1] else ""
            )
            print(
                f"   {name:<34} IoU {values['scene_pixel_iou']:.4f}  false pixels "
                f"{100 * values['false_pixels_on_negatives']:.3f} %  "
                f"{values['seconds']:6.1f} s = {values['seconds'] / one:4.2f} x 1 view{share}"
            )
        results[scene_name] = measured
    return results
