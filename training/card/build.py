"""Build the default model's card: measure (``measure``), then write ``model_card.json`` and ``MODEL_CARD.html``
(``render``) beside the model.

    .venv/bin/python -m training.card.build --checkpoint runs/chile_soup/best.pt --onnx
    rockglacier_plugin/models/rockglacier_default.onnx ...
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from training.card.measure import measure
from training.card.render import html


def main(argv: list[str] | None = None) -> int:
    import torch

    from training.model.checkpoints import config_of, full_history

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--onnx", required=True)
    parser.add_argument("--int8")
    parser.add_argument("--out-dir", required=True)
    parser.add_argument(
        "--image-level",
        metavar="FOLDER",
        help="chips of another collection labelled per chip (training/evaluation/image_level.py), e.g. chips_ds1",
    )
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
