"""The shipped model's headline numbers, read from its card (``models/model_card.json``, written by
``training.card`` when the model is built): the algorithm's help and the README quote them from
here, so no number about the model is typed twice.

>>> facts = card_facts({"thresholds": {"float32": 0.55, "int8": 0.5},
...                     "scene": {"float32": {"scene_pixel_iou": 0.61}, "float32, 8 views": {"scene_pixel_iou": 0.6426}}})
>>> facts["threshold_float32"], facts["threshold_int8"], facts["views_gain_iou"]
('0.55', '0.5', '0.03')
"""

from __future__ import annotations

import json
import os
from typing import Any, Mapping

#: Said where the card lacks a number (a user's own model directory, an older card).
UNKNOWN = "(see the model card)"


def _iou(scene: Mapping[str, Any], run: str) -> float | None:
    value = scene.get(run, {}).get("scene_pixel_iou")
    return float(value) if value is not None else None


def _views(card: Mapping[str, Any]) -> dict[str, str]:
    runs = card.get("views_on_scene") or {}
    one = runs.get("1 view", {})
    everywhere = runs.get("8 views everywhere", {})
    adaptive: Mapping[str, Any] = next((v for k, v in runs.items() if k.startswith("8 views adaptively")), {})
    if not (one.get("seconds") and everywhere and adaptive):
        return {}
    return {
        "adaptive_iou": f"{adaptive['scene_pixel_iou']:.3f}",
        "everywhere_iou": f"{everywhere['scene_pixel_iou']:.3f}",
        "one_view_iou": f"{one['scene_pixel_iou']:.3f}",
        "adaptive_time_ratio": f"{adaptive['seconds'] / one['seconds']:.1f}",
        "everywhere_time_ratio": f"{everywhere['seconds'] / one['seconds']:.1f}",
        "adaptive_share_pct": f"{100 * adaptive.get('more_views_share', 0.0):.0f}",
    }


def card_facts(card: Mapping[str, Any]) -> dict[str, str]:
    """Formatted numbers of a card (missing ones: ``UNKNOWN``), keyed by name for ``str.format_map``."""
    facts: dict[str, str] = {}
    thresholds = card.get("thresholds") or {}
    for precision in ("float32", "int8"):
        facts[f"threshold_{precision}"] = f"{thresholds[precision]:g}" if precision in thresholds else UNKNOWN
    scene = card.get("scene") or {}
    one, eight = _iou(scene, "float32"), _iou(scene, "float32, 8 views")
    facts["views_gain_iou"] = f"{eight - one:.2f}" if one is not None and eight is not None else UNKNOWN
    facts["scene_iou_float32"] = f"{one:.3f}" if one is not None else UNKNOWN
    facts["scene_iou_float32_8_views"] = f"{eight:.3f}" if eight is not None else UNKNOWN
    int8_eight = _iou(scene, "int8, 8 views")
    facts["scene_iou_int8_8_views"] = f"{int8_eight:.3f}" if int8_eight is not None else UNKNOWN
    chips = (card.get("chips") or {}).get("float32") or {}
    through_plugin = chips.get("views") is not None  # an older card's chips are the bare model's: not quoted
    facts["chips_iou_float32"] = f"{chips['pixel_iou']:.3f}" if through_plugin else UNKNOWN
    facts["chips_objects_float32"] = (
        f"{chips['tp']} of {chips['tp'] + chips['fn']} rock glaciers found, {chips['fp']} false" if through_plugin else UNKNOWN
    )
    views = _views(card)
    for key in (
        "adaptive_iou",
        "everywhere_iou",
        "one_view_iou",
        "adaptive_time_ratio",
        "everywhere_time_ratio",
        "adaptive_share_pct",
    ):
        facts[key] = views.get(key, UNKNOWN)
    return facts


def read_card_facts(card_path: str) -> dict[str, str]:
    """``card_facts`` of a card file; every number ``UNKNOWN`` when there is no readable card."""
    card: Mapping[str, Any] = {}
    if os.path.exists(card_path):
        try:
            with open(card_path, encoding="utf-8") as handle:
                card = json.load(handle)
        except (OSError, ValueError):
            card = {}
    return card_facts(card)


#: The README's line about the shipped model, between ``<!-- model-card:facts -->`` markers
#: (``python -m tools.readme_card`` writes it; tests/test_readme.py checks it against the card).
README_LINE = (
    "The shipped model on its card's validation scene (Chilean Andes, 1280 x 1280 px): pixel IoU {scene_iou_float32} "
    "with 1 view, {scene_iou_float32_8_views} with 8 views; its int8 copy (the CPU default) {scene_iou_int8_8_views} "
    "with 8 views; thresholds {threshold_float32} (float32) and {threshold_int8} (int8). Each 128 px validation chip "
    "run alone (8 views, float32): pixel IoU {chips_iou_float32}, {chips_objects_float32}. Adaptive views: "
    "{adaptive_iou} at {adaptive_time_ratio}x the time of one view."
)
