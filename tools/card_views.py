"""Measure the shipped model's views on the validation scene and write them into its card (model_card.json
and the views paragraph of MODEL_CARD.html, rendered by ``training.model_card.views_text``), without
re-measuring the rest of the card (``make default-model`` measures everything, this part included).

Run: .venv/bin/python tools/card_views.py [--config training/configs/default_chile_ds1b.json] (the venv has the
repository on its path: ``make setup``)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, "rockglacier_plugin", "models")
START, END = "<!-- views: tools/card_views.py -->", "<!-- /views -->"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default=os.path.join(ROOT, "training", "configs", "default_chile_ds1b.json"))
    parser.add_argument(
        "--render-only", action="store_true", help="rewrite the HTML paragraph from model_card.json, measuring nothing"
    )
    args = parser.parse_args(argv)
    from rockglacier_plugin.core.mapping.input_scaling import to_uint8_range
    from training.card.render import views_text
    from training.config import TrainConfig
    from training.data.compose import cells_for, validation_scene
    from training.data.samples import load_samples
    from training.evaluation.scene_eval import model_threshold, views_on_scene
    from training.model.checkpoints import spec_for

    card_path = os.path.join(MODELS, "model_card.json")
    with open(card_path, encoding="utf-8") as handle:
        card = json.load(handle)
    if not args.render_only:
        config = TrainConfig.load(args.config)
        spec = spec_for(config)
        validation = [s for s in load_samples(config) if s.split == "validation"]
        scene = validation_scene(
            validation,
            spec.in_channels,
            cells_for(len(validation)),
            config.seed,
            config.cell_px,
            lambda raw: to_uint8_range(raw, spec.input_scaling),
        )
        name = "int8" if card.get("int8_is_cpu_default") else "float32"
        model = os.path.join(MODELS, "rockglacier_default_int8.onnx" if name == "int8" else "rockglacier_default.onnx")
        card["views_model"] = name
        card["views_on_scene"] = views_on_scene(model, scene, model_threshold(model), threads=2, repeats=2)
        card["views_scene"] = f"{len(validation)} validation chips of {os.path.relpath(args.config, ROOT)}, seed {config.seed}"
        with open(card_path, "w", encoding="utf-8") as handle:
            json.dump(card, handle, indent=2)
    html_path = os.path.join(MODELS, "MODEL_CARD.html")
    with open(html_path, encoding="utf-8") as handle:
        page = handle.read()
    section = f"{START}{views_text(card)}{END}"
    if START in page:
        page = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: section, page, flags=re.S)
    else:
        page = page.replace("<p><b>Architecture:</b>", section + "\n<p><b>Architecture:</b>", 1)
    with open(html_path, "w", encoding="utf-8") as handle:
        handle.write(page)
    for run, values in card["views_on_scene"].items():
        print(
            f"{run:<36} IoU {values['scene_pixel_iou']:.4f}  false {100 * values['false_pixels_on_negatives']:.3f} %  "
            f"{values['seconds']:.1f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
