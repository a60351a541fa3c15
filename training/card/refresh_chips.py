"""Re-measure the per-chip scores of a shipped model card without its training checkpoint: each validation chip alone
through the plugin's path (``measure.chip_scores``), written into ``model_card.json``; in ``MODEL_CARD.html`` the
scores table's rows and the sentence on the chips are replaced by the ones rendered from the new card (the old ones,
rendered from the old card, must be found there, so nothing else of the page changes).

    .venv/bin/python -m training.card.refresh_chips --models rockglacier_plugin/models \
        --config training/configs/default_chile.json --data ../shared/datasets/alcazar90-rockglacier-chile/chips_train_full
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any


def refreshed_html(page: str, old: dict[str, Any], new: dict[str, Any]) -> str:
    """``page`` with the table rows and the chips sentence of ``old`` replaced by those of ``new``."""
    from training.card.render import chips_text, table_rows

    for before, after in ((table_rows(old), table_rows(new)), (chips_text(old), chips_text(new))):
        if before not in page:
            raise ValueError("MODEL_CARD.html does not hold what its card renders; rebuild the card with training.card.build")
        page = page.replace(before, after)
    return page


def main(argv: list[str] | None = None) -> int:
    from rockglacier_plugin.core.mapping.onnx_model import load_model
    from training.card.measure import chip_scores
    from training.config import TrainConfig
    from training.data.samples import load_samples

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", required=True, help="the folder with model_card.json, MODEL_CARD.html and the ONNX copies")
    parser.add_argument("--config", required=True, help="a training config of the model (its data split and seed)")
    parser.add_argument("--data", required=True, help="the chips folder the model was validated on")
    args = parser.parse_args(argv)
    folder = Path(args.models)
    card = json.loads((folder / "model_card.json").read_text(encoding="utf-8"))
    config = TrainConfig.load(args.config, data=args.data)
    validation = [s for s in load_samples(config) if s.split == "validation"]
    copies = {"float32": folder / "rockglacier_default.onnx", "int8": folder / "rockglacier_default_int8.onnx"}
    new = copy.deepcopy(card)
    for name, path in copies.items():
        if name in card["chips"] and path.exists():
            spec = load_model(str(path), "cpu").spec
            new["chips"][name] = chip_scores(str(path), validation, spec, card["thresholds"][name])
    page = folder / "MODEL_CARD.html"
    page.write_text(refreshed_html(page.read_text(encoding="utf-8"), card, new), encoding="utf-8")
    (folder / "model_card.json").write_text(json.dumps(new, indent=2), encoding="utf-8")
    print(json.dumps({"before": card["chips"], "after": new["chips"]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
