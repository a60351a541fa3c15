"""``python -m training adapt``: fine-tune a model to one region from its reviewed inventory.

The analyst's review of candidates is the labelled data a new region lacks: landforms accepted or modified
are rock glaciers, rejected ones negative areas, the rest (not reviewed yet) teach nothing (their pixels
carry no label); a layer without a ``review`` field is an inventory (all rock glaciers), and NEGATIVES
polygons add negative areas. From the images (8-bit, L2A stacks or L2A products, rendered as the base
model's training imagery was) patches are cut around every landform and negative area, and from the rest
of the image; part of the landforms is held out (by whole groups of touching patches) when there are at
least ``MIN_LANDFORMS_TO_HOLD_OUT``. The base model's weights (from its ONNX file, ``onnx_weights``) are
fine-tuned on composed canvases as the default model was trained, BatchNorm frozen, with the base model's
own probabilities as a second target (``DISTILL_WEIGHT``: without it a few landforms make it forget the
rest of what it knew), for as many epochs as ``max_minutes`` allows; the threshold is chosen on the held-out
landforms, and the adapted and the base model are scored on them through the plugin's own path
(``adapt_scores``). Out come the ONNX
model (the base model's metadata, its new threshold and provenance) and a card beside it.

``rockglacier:adaptmodel`` runs this command in a Python with PyTorch and reads its ``--progress-json``
lines; the outputs appear only complete (written under a partial name and renamed).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional

#: Fewer reviewed rock glaciers than this: train on all of them, no held-out estimate.
MIN_LANDFORMS_TO_HOLD_OUT = 4
HELD_OUT_FRACTION = 0.25
#: The base model's probabilities kept as a second target (``TrainConfig.distill_weight``): fine-tuned on two
#: Los Helados rock glaciers without it, the model found 43 % of the site's other rock-glacier chips (the base model
#: 92 %); with it 78 %, with false candidates on 6 % of chips without rock glacier instead of 37.5 % (one view,
#: benchmarks/adapt_new_site.py; frozen encoder 59 %, L2-SP 43 %, weight 3: 78 % and 21 %).
DISTILL_WEIGHT = 1.0
#: Share of MAX_MINUTES left for export, threshold and held-out scoring after training.
RESERVED_SHARE = 0.25


@dataclass(frozen=True)
class AdaptRequest:
    images: tuple[str, ...]
    inventory: str
    output: str
    base_model: Optional[str] = None  # None: the shipped model (float32)
    inventory_layer: Optional[str] = None
    negatives: Optional[str] = None
    negatives_layer: Optional[str] = None
    max_minutes: float = 20.0
    l2a_add_offset: Optional[float] = None
    work_dir: Optional[str] = None
    context_m: float = 500.0
    seed: int = 0
    threads: int = 0
    other_ranges: tuple[
        str, ...
    ] = ()  # training.data.augment.OTHER_RANGES to apply (none by default: docs/training.md, "Robust to other mountains")


@dataclass
class Landforms:
    """The inventory's polygons by role (``core.inventory.review.training_role``), one CRS."""

    crs: str
    positive: list[bytes] = field(default_factory=list)
    negative: list[bytes] = field(default_factory=list)
    ignored: list[bytes] = field(default_factory=list)


Report = Callable[[float, str], None]


def shipped_model() -> str:
    """The shipped float32 model (what adapting starts from unless told otherwise)."""
    from rockglacier_plugin.core.mapping.onnx_model import DEFAULT_MODEL_NAME, SHIPPED_MODELS_DIR

    return os.path.join(SHIPPED_MODELS_DIR, DEFAULT_MODEL_NAME)


def read_landforms(request: AdaptRequest) -> Landforms:
    """The inventory (and NEGATIVES) split by role; refuses an inventory without a rock glacier."""
    from rockglacier_plugin.core.errors import InputVectorError
    from rockglacier_plugin.core.inventory.layer_io import read_layer
    from rockglacier_plugin.core.inventory.review import NEGATIVE, POSITIVE, training_role

    rows, wkb, crs = read_layer(request.inventory, request.inventory_layer)
    has_review = any("review" in row for row in rows)
    landforms = Landforms(crs)
    for row, geometry in zip(rows, wkb):
        if geometry:
            role = training_role(row, has_review)
            (landforms.positive if role == POSITIVE else landforms.negative if role == NEGATIVE else landforms.ignored).append(
                geometry
            )
    if request.negatives:
        _, negative_wkb, negative_crs = read_layer(request.negatives, request.negatives_layer)
        landforms.negative += _reprojected(negative_wkb, negative_crs, crs)
    if not landforms.positive:
        raise InputVectorError(
            f"'{request.inventory}' holds no rock glacier to learn from: accept or modify candidates in the review dock first "
            f"(review = accepted or modified; {len(landforms.ignored)} not reviewed, {len(landforms.negative)} rejected)."
        )
    return landforms


def _reprojected(wkb: list[Optional[bytes]], source: str, target: str) -> list[bytes]:
    from rockglacier_plugin.core.raster.geometry import polygons_in_crs

    return [bytes(g.ExportToWkb()) for g in polygons_in_crs(wkb, source, target, "negative layer")]


def cut_patches(request: AdaptRequest, landforms: Landforms, spec: Any, folder: str, report: Report) -> dict[str, Any]:
    """Patches of every image into ``folder``/imgNN (one patches.csv for all, with a ``folder`` column)."""
    from rockglacier_plugin.core.errors import InputVectorError
    from rockglacier_plugin.core.mapping.patches import PatchSettings, plan_patches, write_patches
    from rockglacier_plugin.core.mapping.reflectance import given_calibration
    from rockglacier_plugin.core.workflows.mapping import imagery_for_model

    hold_out = len(landforms.positive) >= MIN_LANDFORMS_TO_HOLD_OUT
    rows, rasters, notes, rendered = [], [], [], False
    for index, image in enumerate(request.images):
        raster, found = imagery_for_model(image, spec, os.path.join(folder, "products"))
        notes += found
        settings = PatchSettings(
            request.context_m,
            480,
            HELD_OUT_FRACTION if hold_out else 0.0,
            request.seed + index,
            (1, 2, 3),
            background_patches=4,
            rendering=spec.rendering,
            calibration=given_calibration(request.l2a_add_offset, None),
        )
        try:
            plan = plan_patches(
                raster,
                landforms.positive,
                landforms.crs,
                landforms.negative,
                landforms.crs,
                settings,
                landforms.ignored,
                landforms.crs,
            )
        except InputVectorError:
            notes.append(f"'{os.path.basename(image)}' covers no reviewed rock glacier: not used.")
            continue
        notes += plan.warnings
        sub = f"img{index:02d}"
        summary = write_patches(raster, plan, os.path.join(folder, sub), settings)
        rendered = rendered or summary["rendering"] is not None
        rasters.append({"raster": raster, "folder": sub, "patches": [asdict(p) for p in plan.patches]})
        with open(os.path.join(folder, sub, "patches.csv"), encoding="utf-8") as handle:
            rows += [{**row, "folder": sub} for row in csv.DictReader(handle)]
        report(0.05 * (index + 1) / len(request.images), f"{len(plan.patches)} patches cut from '{os.path.basename(image)}'.")
    if not rows:
        raise InputVectorError(
            f"No image overlaps the inventory's rock glaciers: check the layers' CRSs and extents ({landforms.crs[:60]}...)."
        )
    with open(os.path.join(folder, "patches.csv"), "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return {"rows": rows, "rasters": rasters, "notes": notes, "held_out": hold_out, "rendered": rendered}


def adapted_config(request: AdaptRequest, spec: Any, base: str, folder: str, minutes: float) -> Any:
    """The fine-tuning recipe: the base model's architecture, composed canvases as the default model was trained."""
    from training.config import TrainConfig

    architecture = spec.architecture
    return TrainConfig(
        data=folder,
        data_format="patches",
        output=os.path.join(folder, "run"),
        arch=architecture.get("arch", "deeplabv3plus"),
        encoder=architecture["encoder"],
        pretrained=False,
        standardization_mean=list(spec.standardization_mean),
        standardization_std=list(spec.standardization_std),
        resolution_cm_per_px=spec.resolution_cm_per_px,
        crop_px=256,
        compose=True,
        compose_cells=3,
        cell_px=128,
        samples_per_epoch=48,
        image_pooling=architecture.get("image_pooling", "none"),
        upsampling=architecture.get("upsampling", "half_pixel"),
        receptive_field=architecture.get("receptive_field", "wide"),
        init_onnx=base,
        freeze_batchnorm=True,
        distill_weight=DISTILL_WEIGHT,
        max_minutes=minutes,
        select_on="last",
        batch_size=8,
        epochs=10_000,
        learning_rate=5e-5,
        weight_decay=1e-4,
        patience=10_000,
        target_iou=1.01,
        seed=request.seed,
        device="cpu",
        threads=request.threads,
        other_ranges=list(request.other_ranges),
        inference_margin_px=spec.margin_px,
        inference_tile_px=spec.tile_size_px,
        inference_views=spec.views,
    )


def train(config: Any, report: Report) -> Any:
    """Fine-tune; the trained PyTorch model (the last epoch: nothing held out is used to choose)."""
    from training.loop.train import Trainer

    trainer = Trainer(config)
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the progress lines
        trainer.fit(lambda fraction, message: report(0.1 + 0.65 * fraction, message))
    return trainer.evaluated.cpu().eval(), trainer.history


def adapt(request: AdaptRequest, report: Report = lambda fraction, message: None) -> dict[str, Any]:
    """The whole adaptation (see the module docstring); returns what the card says."""
    import tempfile

    from training.loop.adapt_scores import AdaptRun, write_outputs
    from training.model.onnx_weights import trainable_spec

    started = time.perf_counter()
    base = request.base_model or shipped_model()
    spec = trainable_spec(base)  # refuses a model it cannot rebuild, before any work
    landforms = read_landforms(request)
    budget = request.max_minutes * (1.0 - RESERVED_SHARE)  # at least one epoch is always trained
    report(
        0.0,
        f"Adapting '{os.path.basename(base)}' to {len(landforms.positive)} rock glacier(s), {len(landforms.negative)} "
        f"negative area(s) ({len(landforms.ignored)} not reviewed: ignored); expected time about {request.max_minutes:g} "
        f"min: training stops at the last epoch that fits {budget:.1f} min, then export, threshold and scores.",
    )
    with tempfile.TemporaryDirectory(dir=request.work_dir) as folder:
        patches = cut_patches(request, landforms, spec, folder, report)
        for note in patches["notes"]:
            report(0.06, note)
        if not patches["held_out"]:
            report(
                0.07,
                f"Only {len(landforms.positive)} reviewed rock glacier(s): all are used for training, so there is no "
                f"held-out estimate (it needs {MIN_LANDFORMS_TO_HOLD_OUT}).",
            )
        model, history = train(adapted_config(request, spec, base, folder, budget), report)
        run = AdaptRun(model, history, patches, landforms, time.perf_counter() - started)
        return write_outputs(request, base, spec, run, folder, report)


def parser() -> argparse.ArgumentParser:
    arguments = argparse.ArgumentParser(prog="python -m training adapt", description=__doc__.split("\n\n")[0])
    arguments.add_argument(
        "--images", nargs="+", required=True, help="image rasters of the region (8-bit, L2A stacks or products)"
    )
    arguments.add_argument(
        "--inventory", required=True, help="reviewed polygons (review: accepted/modified/rejected), or an inventory"
    )
    arguments.add_argument("--inventory-layer")
    arguments.add_argument("--negatives", help="polygons of areas without rock glaciers")
    arguments.add_argument("--negatives-layer")
    arguments.add_argument("--base-model", help="ONNX model exported by python -m training (default: the shipped model)")
    arguments.add_argument("--max-minutes", type=float, default=20.0, help="time budget, minutes (default 20)")
    arguments.add_argument("--output", required=True, help="the adapted model (.onnx); its card is written beside it")
    arguments.add_argument("--l2a-add-offset", type=float, help="BOA_ADD_OFFSET of L2A stacks without metadata")
    arguments.add_argument("--context-m", type=float, default=500.0, help="context around each landform in its patches, metres")
    arguments.add_argument("--work-dir", help="folder for the patches and the run (a temporary folder inside it)")
    arguments.add_argument("--seed", type=int, default=0)
    arguments.add_argument("--threads", type=int, default=0)
    arguments.add_argument(
        "--other-ranges",
        nargs="*",
        default=[],
        metavar="AUGMENTATION",
        help="augmentations mimicking other ranges (pixel_size haze snow shadow; none by default, README)",
    )
    arguments.add_argument(
        "--progress-json", action="store_true", help="progress as JSON lines on stdout (rockglacier:adaptmodel)"
    )
    return arguments


def main(argv: Optional[list[str]] = None) -> int:
    args = parser().parse_args(argv)
    if args.max_minutes <= 0:
        raise ValueError(f"--max-minutes must be positive (got {args.max_minutes:g}).")
    # Cancel in rockglacier:adaptmodel sends SIGTERM: exit through the context managers, so no partial output and no
    # temporary folder stays behind.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    request = AdaptRequest(
        tuple(args.images),
        args.inventory,
        args.output,
        base_model=args.base_model,
        inventory_layer=args.inventory_layer,
        negatives=args.negatives,
        negatives_layer=args.negatives_layer,
        max_minutes=args.max_minutes,
        l2a_add_offset=args.l2a_add_offset,
        work_dir=args.work_dir,
        context_m=args.context_m,
        seed=args.seed,
        threads=args.threads,
        other_ranges=tuple(args.other_ranges),
    )
    out = sys.stdout

    def report(fraction: float, message: str) -> None:
        if args.progress_json:
            out.write(json.dumps({"progress": round(fraction, 4), "message": message}) + "\n")
        else:
            out.write(f"[{100 * fraction:3.0f} %] {message}\n")
        out.flush()

    card = adapt(request, report)
    report(
        1.0,
        json.dumps({"output": card["output"], "card": card["card_html"]})
        if args.progress_json
        else f"Adapted model: {card['output']}; card: {card['card_html']}",
    )
    return 0
