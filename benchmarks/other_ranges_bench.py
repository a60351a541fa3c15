"""What each "other mountains" augmentation (``training.data.augment.OTHER_RANGES``) buys on a site the model never saw.

Each variant fine-tunes the shipped model (its ONNX weights, BatchNorm frozen) with the recipe of its last stage
(``training/configs/default_chile_ds1b.json``: the Chilean chips and the Maranceles chips of ``chips_ds1``) for the
same time budget and seed, differing only in ``other_ranges``; then every Los Helados rock-glacier chip and every
*test* chip without rock glacier of ``chips_ds1`` (none seen in training) runs alone through the plugin's path:
share of rock-glacier chips detected and of the others with a false candidate (>= 0.03 km2), at the shipped
model's threshold. The variant without augmentation is the baseline of the same run.

Usage: .venv/bin/python -m benchmarks.other_ranges_bench --minutes 5 --out other_ranges.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("ROCKGLACIER_SHARED", os.path.join(ROOT, "..", "shared"))
CHIPS = os.path.join(SHARED, "datasets", "alcazar90-rockglacier-chile")
VARIANTS = {
    "none": [],
    "pixel_size": ["pixel_size"],
    "haze": ["haze"],
    "snow": ["snow"],
    "shadow": ["shadow"],
    "all": ["pixel_size", "haze", "snow", "shadow"],
}
HELD_OUT = ["*loshelados_*", "test/cordillera_*"]


def config_for(variant: list[str], minutes: float, output: str) -> Any:
    from training.config import TrainConfig
    from training.loop.adapt import shipped_model

    config = TrainConfig.load(os.path.join(ROOT, "training", "configs", "default_chile_ds1b.json"))
    return dataclasses.replace(
        config,
        data=os.path.join(CHIPS, "chips_train_full"),
        image_level_data=os.path.join(CHIPS, "chips_ds1"),
        output=output,
        init_checkpoint=None,
        init_onnx=shipped_model(),
        freeze_batchnorm=True,
        pretrained=False,
        max_minutes=minutes,
        epochs=10_000,
        select_on="last",
        target_iou=1.01,
        patience=10_000,
        other_ranges=list(variant),
        scene_validation=False,
    )


def run(name: str, variant: list[str], minutes: float, work: str, views: int) -> dict[str, Any]:
    from rockglacier_plugin.core.mapping.onnx_model import load_model
    from training.evaluation.image_level import image_level_scores
    from training.evaluation.scene_eval import model_threshold
    from training.export.onnx_export import export_onnx
    from training.loop.train import Trainer

    started = time.perf_counter()
    trainer = Trainer(config_for(variant, minutes, os.path.join(work, name)))
    trainer.fit()
    spec = load_model(trainer.config.init_onnx, "cpu").spec
    path = export_onnx(
        trainer.evaluated.cpu().eval(), dataclasses.replace(spec, output="logits"), os.path.join(work, f"{name}.onnx")
    )
    scores = image_level_scores(
        path, os.path.join(CHIPS, "chips_ds1"), views=views, include=HELD_OUT, threshold=model_threshold(trainer.config.init_onnx)
    )
    return {
        "variant": name,
        "other_ranges": variant,
        "epochs": trainer.epoch,
        "minutes": (time.perf_counter() - started) / 60.0,
        **scores,
    }


def main(argv: list[str] | None = None) -> int:
    arguments = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    arguments.add_argument("--minutes", type=float, default=5.0)
    arguments.add_argument("--views", type=int, default=1)
    arguments.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    arguments.add_argument("--out", default="other_ranges.json")
    args = arguments.parse_args(argv)
    if not os.path.isdir(CHIPS):
        print(f"error: {CHIPS} is missing (the shared datasets folder; set ROCKGLACIER_SHARED)", file=sys.stderr)
        return 2
    results = []
    with tempfile.TemporaryDirectory() as work:
        for name in args.variants:
            results.append(run(name, VARIANTS[name], args.minutes, work, args.views))
            print(json.dumps(results[-1]), flush=True)
            with open(args.out, "w", encoding="utf-8") as handle:
                json.dump(results, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
