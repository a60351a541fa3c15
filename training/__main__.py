"""Command line: python -m training {prepare,train,mine-negatives,evaluate,average,export,threshold,rendering,adapt} ...

Examples (the shipped default model):
  python -m training train --config training/configs/default_chile.json
  python -m training evaluate --checkpoint runs/chile/best.pt
  python -m training average --checkpoints runs/chile_edges2/best.pt runs/chile_ds1b/best.pt --output runs/chile_soup/best.pt
  python -m training export --checkpoint runs/chile/best.pt --output rockglacier_plugin/models/rockglacier_default.onnx --int8
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from typing import Any


def _prepare(args: argparse.Namespace) -> int:
    from osgeo import ogr

    from rockglacier_plugin.core.mapping.patches import PatchSettings, plan_patches, write_patches

    def read(path: str, layer: str | None):
        dataset = ogr.Open(path)
        source = dataset.GetLayerByName(layer) if layer else dataset.GetLayer(0)
        wkb = [f.GetGeometryRef().ExportToWkb() if f.GetGeometryRef() else None for f in source]
        return wkb, source.GetSpatialRef().ExportToWkt(), dataset

    positives, positives_crs, _keep = read(args.polygons, args.layer)
    negatives, negatives_crs = [], None
    if args.negatives:
        negatives, negatives_crs, _keep2 = read(args.negatives, args.negatives_layer)
    from rockglacier_plugin.core.mapping.reflectance import given_calibration
    from rockglacier_plugin.core.mapping.rendering import rendering_from

    settings = PatchSettings(
        args.context_m,
        args.max_patch_px,
        args.validation_fraction,
        args.seed,
        tuple(args.bands),
        rendering=rendering_from(args.rendering),
        calibration=given_calibration(args.l2a_add_offset, None),
    )
    plan = plan_patches(args.imagery, positives, positives_crs, negatives, negatives_crs, settings)
    for message in plan.warnings:
        print(f"warning: {message}", file=sys.stderr)
    print(json.dumps(write_patches(args.imagery, plan, args.output, settings), indent=2))
    return 0


def _train(args: argparse.Namespace) -> int:
    from training.config import TrainConfig
    from training.loop.train import Trainer

    config = TrainConfig.load(
        args.config,
        data=args.data,
        output=args.output,
        epochs=args.epochs,
        max_steps=args.max_steps,
        hard_negatives=args.hard_negatives,
        device=args.device,
    )
    trainer = Trainer(config)
    if args.resume:
        trainer.resume(args.resume)
    result = trainer.fit()
    print(json.dumps({k: v for k, v in result.items() if k != "history"}, indent=2))
    return 0


def _samples_of(config, split: str):
    from training.data.samples import load_samples

    samples = load_samples(config)
    return [s for s in samples if split == "all" or s.split == split]


def _evaluate(args: argparse.Namespace) -> int:
    """A checkpoint or its ONNX export measured as the plugin runs it (``evaluation.evaluate``): each chip alone and the
    chips laid edge to edge as one scene, through ``segment_raster`` at the model's threshold."""
    import tempfile

    from rockglacier_plugin.core.mapping.input_scaling import to_uint8_range
    from training.data.compose import cells_for, validation_scene
    from training.evaluation.evaluate import evaluate_through_plugin
    from training.evaluation.scene_eval import evaluate_scene, model_threshold
    from training.export.onnx_export import export_onnx
    from training.model.checkpoints import load_trained, spec_for

    model, config = load_trained(args.checkpoint)
    if args.data:
        config.data = args.data
    spec = spec_for(config)
    samples = _samples_of(config, args.split)
    scene = validation_scene(
        samples,
        spec.in_channels,
        cells_for(len(samples)),
        config.seed,
        config.cell_px,
        lambda raw: to_uint8_range(raw, spec.input_scaling),
    )
    with tempfile.TemporaryDirectory() as work:
        onnx_path = args.onnx or export_onnx(model, spec, os.path.join(work, "model.onnx"))
        if args.threshold is None:  # what rockglacier:segment uses with THRESHOLD left empty
            args.threshold = model_threshold(onnx_path)
        report: dict = {"threshold": args.threshold}
        # each chip run alone through the plugin's path (a user segmenting a small clip), VIEWS as --views
        report["chips"] = evaluate_through_plugin(
            onnx_path, samples, spec, args.threshold, args.views, iou_threshold=args.iou_threshold
        )
        # the chips laid edge to edge as one scene
        for tile_px in args.tile_sizes or [None]:
            key = "scene" if tile_px is None else f"scene_tile_{tile_px}px"
            report[key] = evaluate_scene(onnx_path, scene, tile_px, args.threshold)
        if args.views != 1:  # what rockglacier:segment gives by default (VIEWS = 8)
            report[f"scene_{args.views}_views"] = evaluate_scene(onnx_path, scene, None, args.threshold, views=args.views)
        if args.image_level:  # chips of another collection, labelled per chip only
            from training.evaluation.image_level import image_level_scores, trained_on

            # the chips the model was trained on (its config's image_level_include) are left out
            report["image_level"] = image_level_scores(
                onnx_path, args.image_level, args.views, threshold=args.threshold, exclude=trained_on(config, args.image_level)
            )
    print(json.dumps(report, indent=2))
    return 0


def _threshold(args: argparse.Namespace) -> int:
    from training.data.samples import load_samples
    from training.evaluation.threshold import (
        best_threshold,
        threshold_scores,
        training_subset,
        write_threshold,
    )
    from training.model.checkpoints import load_trained, spec_for

    missing = [path for path in args.onnx if not os.path.isfile(path)]
    if missing:  # before minutes of work on the others
        raise FileNotFoundError(f"{', '.join(missing)} not found; give the .onnx files written by `python -m training export`.")
    _, config = load_trained(args.checkpoint)
    samples = training_subset(load_samples(config), args.chips)
    report = {}
    for path in args.onnx:
        scores = threshold_scores(path, samples, spec_for(config), config.cell_px, config.seed)
        chosen = best_threshold(scores)
        write_threshold(path, chosen)
        report[path] = {
            "seg_thresh": chosen,
            "training_chips": len(samples),
            "scene_and_chips_iou": {str(t): [round(v, 4) for v in pair] for t, pair in scores.items()},
        }
    print(json.dumps(report, indent=2))
    return 0


def _mine(args: argparse.Namespace) -> int:
    from training.evaluation.evaluate import torch_predictor
    from training.loop.mine import MiningSettings, mine_negatives
    from training.model.checkpoints import load_trained, spec_for

    model, config = load_trained(args.checkpoint)
    hard = mine_negatives(
        torch_predictor(model),
        _samples_of(config, "train"),
        spec_for(config),
        args.output,
        MiningSettings(threshold=args.threshold),
    )
    print(
        f"{len(hard)} negative sample(s) with false positives written to {args.output}; train the next round with "
        f"--hard-negatives {args.output}"
    )
    return 0


def _average(args: argparse.Namespace) -> int:
    from training.loop.soup import average_checkpoints

    print(json.dumps(average_checkpoints(args.checkpoints, args.output, args.weights), indent=2))
    return 0


def _calibration_inputs(config, spec, count: int = 48) -> list:
    """Real inputs for int8 calibration: composed training scenes when the model was trained on them."""
    from training.data.datasets import SegmentationDataset

    train = _samples_of(config, "train")
    if not config.compose:
        return [SegmentationDataset([s], spec, train=False)[0][0].numpy() for s in train[:count]]
    from rockglacier_plugin.core.mapping.input_scaling import to_uint8_range
    from training.data.compose import ChipPool, CompositionSettings
    from training.data.datasets import ComposedDataset

    pool = ChipPool(train, spec.in_channels, lambda raw: to_uint8_range(raw, spec.input_scaling))
    dataset = ComposedDataset(
        pool, CompositionSettings(config.compose_cells, config.cell_px, config.crop_px or 256), spec, count, seed=12345
    )
    return [dataset[i][0].numpy() for i in range(count)]


def _export(args: argparse.Namespace) -> int:
    import numpy as np

    from training.data.datasets import SegmentationDataset
    from training.export.onnx_export import export_onnx, parity, quantize_int8, seconds_per_patch
    from training.model.checkpoints import load_trained, spec_for

    model, config = load_trained(args.checkpoint)
    spec = spec_for(config)
    provenance = {
        "checkpoint": os.path.basename(args.checkpoint),
        "data": config.data,
        "encoder": config.encoder,
        "arch": config.arch,
        "seed": config.seed,
    }
    spec = dataclasses.replace(
        spec,
        tile_size_px=args.tile_px or spec.tile_size_px,
        margin_px=spec.margin_px if args.margin_px is None else args.margin_px,
        provenance=provenance,
    )
    export_onnx(model, spec, args.output)
    samples = _samples_of(config, "validation")[:8]
    real = [SegmentationDataset([s], spec, train=False)[0][0].numpy() for s in samples]
    rng = np.random.default_rng(0)
    random_inputs = [rng.standard_normal((spec.in_channels, 96, 160)).astype(np.float32)]
    report = {
        "onnx": args.output,
        "parity_max_abs_probability": parity(model, args.output, real + random_inputs),
        "seconds_per_480px_patch": seconds_per_patch(args.output),
    }
    if args.int8:
        calibration = _calibration_inputs(config, spec)
        int8 = quantize_int8(args.output, args.output.replace(".onnx", "_int8.onnx"), calibration)
        report.update(int8=int8, int8_seconds_per_480px_patch=seconds_per_patch(int8))
    print(json.dumps(report, indent=2))
    return 0


def _rendering(args: argparse.Namespace) -> int:
    from training.model.rendering import main as stamp

    print(json.dumps(stamp(args.onnx, args.name, args.card, args.views, args.architecture_config), indent=2))
    return 0


def _data_commands(commands: Any) -> None:
    prepare = commands.add_parser("prepare", help="cut image/label patches around mapped rock glaciers")
    prepare.add_argument("--imagery", required=True)
    prepare.add_argument("--polygons", required=True)
    prepare.add_argument("--layer")
    prepare.add_argument("--negatives")
    prepare.add_argument("--negatives-layer")
    prepare.add_argument("--output", required=True)
    prepare.add_argument("--context-m", type=float, default=1500.0)
    prepare.add_argument("--max-patch-px", type=int, default=480)
    prepare.add_argument("--validation-fraction", type=float, default=0.1)
    prepare.add_argument("--bands", type=int, nargs="+", default=[1, 2, 3])
    prepare.add_argument("--seed", type=int, default=0)
    prepare.add_argument(
        "--rendering",
        default="chile-chips",
        help="how L2A reflectance imagery becomes 8-bit patches (core/mapping/rendering.py; 8-bit imagery is cut as it is)",
    )
    prepare.add_argument(
        "--l2a-add-offset", type=float, help="BOA_ADD_OFFSET of an L2A stack without metadata (-1000 from baseline 04.00)"
    )
    prepare.set_defaults(run=_prepare)


def _model_commands(commands: Any) -> None:
    train = commands.add_parser("train", help="train DeepLabv3+ (config file in, config saved beside the checkpoint)")
    train.add_argument("--config", required=True)
    train.add_argument("--data")
    train.add_argument("--output")
    train.add_argument("--epochs", type=int)
    train.add_argument("--max-steps", type=int)
    train.add_argument("--hard-negatives")
    train.add_argument("--device")
    train.add_argument("--resume")
    train.set_defaults(run=_train)
    mine = commands.add_parser("mine-negatives", help="list negative samples the model gets wrong, for the next round")
    mine.add_argument("--checkpoint", required=True)
    mine.add_argument("--output", required=True)
    mine.add_argument("--threshold", type=float, default=0.5)
    mine.set_defaults(run=_mine)
    evaluate = commands.add_parser(
        "evaluate", help="per chip and per composed scene (the plugin's path): pixel IoU, objects, FPs"
    )
    evaluate.add_argument("--checkpoint", required=True)
    evaluate.add_argument("--onnx")
    evaluate.add_argument("--data")
    evaluate.add_argument("--split", default="validation", choices=["train", "validation", "all"])
    evaluate.add_argument(
        "--threshold",
        type=float,
        help="probability threshold (default: the --onnx model's seg_thresh, as rockglacier:segment; else 0.5)",
    )
    evaluate.add_argument("--iou-threshold", type=float, default=0.5)
    evaluate.add_argument("--tile-sizes", type=int, nargs="+", help="score the scene at these tile sizes (default: the model's)")
    evaluate.add_argument(
        "--views",
        type=int,
        choices=(1, 4, 8),
        default=8,
        help="views averaged, as rockglacier:segment's VIEWS (default 8, its default), for the chips and the scene",
    )
    evaluate.add_argument(
        "--image-level",
        metavar="FOLDER",
        help="also run every chip under FOLDER alone through the plugin and report the share of rock-glacier "
        "chips detected and of other chips with a false candidate (>= 0.03 km2); chips in rock_glacier/ and "
        "no_rock_glacier/ folders or named glaciar*/cordillera*, e.g. ../shared/datasets/alcazar90-rockglacier-chile/chips_ds1; "
        "chips of FOLDER the model was trained on (its config's image_level_include) are left out",
    )
    evaluate.set_defaults(run=_evaluate)
    average = commands.add_parser("average", help="average the weights of checkpoints fine-tuned from one another (a model soup)")
    average.add_argument(
        "--checkpoints", nargs="+", required=True, help="best.pt of each run; the last one's config and lineage are kept"
    )
    average.add_argument("--weights", type=float, nargs="+", help="one per checkpoint, normalised to sum to 1 (default: equal)")
    average.add_argument("--output", required=True)
    average.set_defaults(run=_average)


def _export_commands(commands: Any) -> None:
    export = commands.add_parser("export", help="ONNX with metadata, parity check, optional int8")
    export.add_argument("--checkpoint", required=True)
    export.add_argument("--output", required=True)
    export.add_argument("--int8", action="store_true")
    export.add_argument("--tile-px", type=int, help="tile size written into the model (default: the config's inference_tile_px)")
    export.add_argument(
        "--margin-px",
        type=int,
        help="context the plugin reads around each tile (default: the config's "
        "inference_margin_px; model_card.py measures whether tiles then agree)",
    )
    export.set_defaults(run=_export)
    from training.evaluation.threshold import DEFAULT_CHIPS

    threshold = commands.add_parser(
        "threshold", help="choose an exported model's threshold on training chips and write it into its metadata (seg_thresh)"
    )
    threshold.add_argument(
        "--checkpoint", required=True, help="the checkpoint the models were exported from (its data and split)"
    )
    threshold.add_argument("--onnx", nargs="+", required=True, help="exported copies (float32, int8): each gets its own")
    threshold.add_argument(
        "--chips", type=int, default=DEFAULT_CHIPS, help=f"training chips drawn (seeded; 0 = all; default {DEFAULT_CHIPS})"
    )
    threshold.set_defaults(run=_threshold)
    rendering = commands.add_parser(
        "rendering",
        help="write how the training imagery was made from L2A reflectance into exported "
        "models (rockglacier:rendering) and a model card",
    )
    rendering.add_argument("--onnx", nargs="+", required=True)
    rendering.add_argument("--name", default="chile-chips", help="a rendering of core/mapping/rendering.py RENDERINGS")
    rendering.add_argument("--card", help="MODEL_CARD.html to put the rendering paragraph into")
    rendering.add_argument("--views", type=int, choices=(1, 4, 8), help="the model's default views (rockglacier:views)")
    rendering.add_argument(
        "--architecture-config",
        help="the training config the model was trained with (rockglacier:architecture, what fine-tuning rebuilds it from)",
    )
    rendering.set_defaults(run=_rendering)


def main(argv: list[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["adapt"]:  # fine-tune to a region from its reviewed inventory (training/adapt.py has its own flags)
        from rockglacier_plugin.core.errors import RockGlacierError
        from training.loop.adapt import main as adapt

        try:
            return adapt(arguments[1:])
        except (ValueError, FileNotFoundError, RockGlacierError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    parser = argparse.ArgumentParser(
        prog="python -m training", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (_data_commands, _model_commands, _export_commands):
        add(commands)
    commands.add_parser(
        "adapt", help="fine-tune a model to a region from its reviewed inventory (python -m training adapt --help)"
    )
    args = parser.parse_args(arguments)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError) as error:  # bad input: the message says what to do
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
