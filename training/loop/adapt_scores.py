"""The end of ``python -m training adapt``: export, threshold, held-out scores and the card.

* The threshold is chosen on the *held-out* part of the review, the only labelled pixels the fine-tuning
  did not fit: the strictest, never above the base model's, at which the adapted model still finds as many of
  the held-out rock-glacier pixels as the base model does at its own threshold. Adapting removes false
  candidates but lowers the probabilities on landforms unlike the reviewed ones, and a missed rock glacier is
  what a review cannot recover (a false candidate it rejects in a keystroke). Measured
  (benchmarks/adapt_new_site.py, 8 views, two runs of 10 and 20 reviewed chips): the threshold of best pixel
  IoU was 0.75 on training patches and held-out landforms alike, and whenever 0.75 was chosen the adapted
  model found 5-14 points fewer of the new site's other rock-glacier chips than at the base model's 0.55 (57
  against 71 %, 69 against 74 %, 77 against 82 %) with no fewer false candidates (0-2 % of chips without rock
  glacier either way); lower thresholds did help (0.30: 82 against 65 %, false candidates on 4 against 0 %),
  hence the cap. With nothing held out the base model's threshold is kept.
* Held-out scores: each held-out group of touching patches is mosaicked back into one raster and segmented
  through the plugin's own path (``segment_raster``, one view); candidates (``candidates_from_mask``, the
  inventory's minimum area) are matched one to one with the held-out rock glaciers
  (``core.inventory.evaluation``, IoU >= 0.5): object recall, false candidates per km2 (candidates touching a
  landform nobody reviewed are not counted false), and pixel IoU on the labelled pixels. The base model at
  its own threshold, the adapted model at the base model's threshold (no choice made on these landforms:
  the fair comparison) and at its chosen one (optimistic: chosen on the same landforms).
"""

from __future__ import annotations

import hashlib
import html
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional

import numpy as np

THRESHOLDS = tuple(round(0.30 + 0.05 * i, 2) for i in range(10))


def _group_rasters(folder: str, patches: dict[str, Any], split: str) -> list[tuple[str, str]]:
    """(image VRT, label VRT) per group of the given split, over every image."""
    from osgeo import gdal

    out = []
    for entry in patches["rasters"]:
        groups: dict[int, list[str]] = {}
        for patch in entry["patches"]:
            if patch["split"] == split:
                groups.setdefault(patch["group"], []).append(patch["name"])
        for group, names in sorted(groups.items()):
            base = os.path.join(folder, entry["folder"])
            vrts = []
            for kind in ("images", "labels"):
                path = os.path.join(folder, f"{entry['folder']}_{split}_{group}_{kind}.vrt")
                gdal.BuildVRT(path, [os.path.join(base, kind, f"{n}.tif") for n in names])
                vrts.append(path)
            out.append((vrts[0], vrts[1]))
    return out


def _probability(image: str, model: str, work: str) -> np.ndarray:
    from osgeo import gdal

    from rockglacier_plugin.core.mapping.segmentation import SegmentSettings, segment_raster
    from rockglacier_plugin.core.progress import RunHooks

    probability, mask = os.path.join(work, "p.tif"), os.path.join(work, "m.tif")
    segment_raster(image, model, probability, mask, SegmentSettings(bands=(1, 2, 3), views=1, device="cpu"), hooks=RunHooks())
    return gdal.Open(probability).ReadAsArray().astype(np.float32)


@dataclass
class HeldOut:
    """The held-out groups (image VRT, label VRT), their labels, and each model's probabilities on them, computed once:
    the threshold choice and the scores at every threshold read the same arrays."""

    groups: list[tuple[str, str]]
    work: str
    labels: list[np.ndarray] = field(default_factory=list)
    probabilities: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from osgeo import gdal

        self.labels = [gdal.Open(labels).ReadAsArray() for _, labels in self.groups]

    def of(self, model: str) -> list[np.ndarray]:
        if model not in self.probabilities:
            self.probabilities[model] = [_probability(image, model, self.work) for image, _ in self.groups]
        return self.probabilities[model]


def _pixel_recalls(held_out: HeldOut, model: str, thresholds: tuple[float, ...]) -> dict[float, float]:
    """Share of the held-out rock-glacier pixels at or above each threshold (pixels without a label left out)."""
    found = {t: 0 for t in thresholds}
    total = 0
    for probability, label in zip(held_out.of(model), held_out.labels):
        truth = (label == 1) & (probability >= 0)
        total += int(truth.sum())
        for t in thresholds:
            found[t] += int((truth & (probability >= t)).sum())
    return {t: (found[t] / total if total else 0.0) for t in thresholds}


def pick_threshold(recalls: dict[float, float], target: float, base_threshold: float) -> float:
    """The strictest of ``recalls``' thresholds, never above ``base_threshold``, whose pixel recall reaches ``target``
    (the lowest when none does). Never stricter than the base model: in every measured case a stricter one (0.75 against
    0.55) cost 5-14 points of the new site's other rock glaciers for no fewer false candidates (module docstring)."""
    allowed = [t for t in sorted(recalls) if t <= base_threshold + 1e-9] or [min(recalls)]
    keeping = [t for t in allowed if recalls[t] >= target - 1e-9]
    return max(keeping) if keeping else min(allowed)


def choose_threshold(held_out: HeldOut, model: str, base: str, base_threshold: float) -> tuple[float, dict[str, Any]]:
    """``pick_threshold`` on the held-out groups: the adapted model's pixel recall at each of ``THRESHOLDS`` against the
    base model's at its own threshold; and the recalls it compared."""
    target = _pixel_recalls(held_out, base, (base_threshold,))[base_threshold]
    recalls = _pixel_recalls(held_out, model, THRESHOLDS)
    return pick_threshold(recalls, target, base_threshold), {
        "base_pixel_recall": target,
        "adapted_pixel_recall": {str(t): r for t, r in recalls.items()},
    }


def held_out_scores(held_out: HeldOut, model: str, threshold: float, landforms: Any) -> Optional[dict[str, Any]]:
    """Object recall, false candidates per km2 and pixel IoU of ``model`` on the held-out groups (None: nothing held out)."""
    if not held_out.groups:
        return None
    tp = fp = fn = intersection = union = 0
    area_km2 = 0.0
    for (image, _), probability, label in zip(held_out.groups, held_out.of(model), held_out.labels):
        known = (label != 255) & (probability >= 0)
        predicted, truth = (probability >= threshold) & known, (label == 1) & known
        intersection, union = intersection + int((predicted & truth).sum()), union + int((predicted | truth).sum())
        counts, km2 = _objects(image, probability, threshold, landforms, held_out.work)
        tp, fp, fn, area_km2 = tp + counts[0], fp + counts[1], fn + counts[2], area_km2 + km2
    return {
        "rock_glaciers": tp + fn,
        "object_recall": tp / (tp + fn) if tp + fn else None,
        "false_candidates": fp,
        "false_candidates_per_km2": fp / area_km2 if area_km2 else None,
        "pixel_iou": intersection / union if union else None,
        "area_km2": area_km2,
        "threshold": threshold,
    }


def _objects(
    image: str, probability: np.ndarray, threshold: float, landforms: Any, work: str
) -> tuple[tuple[int, int, int], float]:
    """(TP, FP, FN) of the candidates of one group against the rock glaciers inside it, and its area in km2."""
    from osgeo import gdal, ogr

    from rockglacier_plugin.core.inventory.evaluation import evaluate
    from rockglacier_plugin.core.mapping.polygons import DEFAULT_MIN_AREA_KM2, candidates_from_mask
    from rockglacier_plugin.core.raster.geometry import polygons_in_crs
    from rockglacier_plugin.core.raster.io import BandInfo, create_geotiff

    dataset = gdal.Open(image)
    crs, gt = dataset.GetProjection(), dataset.GetGeoTransform()
    paths = []
    for name, values, data_type, nodata in (
        ("op.tif", probability, gdal.GDT_Float32, -1.0),
        ("om.tif", np.where(probability >= 0, probability >= threshold, 255), gdal.GDT_Byte, 255),
    ):
        path = os.path.join(work, name)
        out = create_geotiff(path, (values.shape[1], values.shape[0]), gt, crs, data_type, [], band_info=BandInfo(nodata=nodata))
        out.GetRasterBand(1).WriteArray(values.astype(np.float32 if data_type == gdal.GDT_Float32 else np.uint8))
        out = None
        paths.append(path)
    candidates, _ = candidates_from_mask(paths[1], paths[0], DEFAULT_MIN_AREA_KM2)
    x1, y1 = gt[0] + gt[1] * dataset.RasterXSize, gt[3] + gt[5] * dataset.RasterYSize
    box = ogr.CreateGeometryFromWkt(f"POLYGON(({gt[0]} {gt[3]},{x1} {gt[3]},{x1} {y1},{gt[0]} {y1},{gt[0]} {gt[3]}))")
    references = [g for g in polygons_in_crs(landforms.positive, landforms.crs, crs, "inventory") if g.Intersects(box)]
    ignored = [g for g in polygons_in_crs(landforms.ignored, landforms.crs, crs, "inventory") if g.Intersects(box)]
    kept = [
        c.geometry_wkb for c in candidates if not any(ogr.CreateGeometryFromWkb(c.geometry_wkb).Intersects(g) for g in ignored)
    ]
    summary = evaluate(kept, crs, [bytes(g.ExportToWkb()) for g in references], crs).summary
    return (summary.tp, summary.fp, summary.fn), abs(gt[1] * gt[5]) * dataset.RasterXSize * dataset.RasterYSize / 1e6


#: How the adapted model's threshold was chosen, by whether landforms were held out.
THRESHOLD_SOURCE_TEXT = {
    True: "the strictest, never above the base model’s, that keeps the base model’s recall of the held-out rock-glacier pixels",
    False: "the base model’s, as nothing was held out",
}


def _export(model: Any, base_spec: Any, path: str, threshold: float, provenance: dict[str, Any], rendering: Any) -> str:
    from dataclasses import replace

    from training.export.onnx_export import export_onnx

    spec = replace(base_spec, seg_thresh=threshold, provenance=provenance, rendering=rendering, output="logits")
    return export_onnx(model, spec, path)


def _sha(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()[:16]


@dataclass(frozen=True)
class AdaptRun:
    """What an adaptation made: the trained model and its history, the patches and reviewed landforms it trained on,
    and its time in seconds."""

    model: Any
    history: list
    patches: dict[str, Any]
    landforms: Any
    seconds: float


def write_outputs(request: Any, base: str, base_spec: Any, run: AdaptRun, folder: str, report: Any) -> dict[str, Any]:
    """Export, threshold, held-out scores of both models, and the card; outputs appear only complete."""
    from rockglacier_plugin.core.raster.staged import staged_outputs

    model, history, patches, landforms, seconds = run.model, run.history, run.patches, run.landforms, run.seconds

    work = os.path.join(folder, "scoring")
    os.makedirs(work, exist_ok=True)
    rendering = base_spec.rendering if patches["rendered"] else None
    provenance = {
        "adapted_from": os.path.basename(base),
        "base_sha256": _sha(base),
        "images": [os.path.basename(i) for i in request.images],
        "rock_glaciers": len(landforms.positive),
        "negatives": len(landforms.negative),
        "epochs": len(history),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
    }
    # the weights' probabilities do not depend on the threshold in the metadata: a draft export scores the adapted model
    draft = _export(model, base_spec, os.path.join(folder, "draft.onnx"), 0.5, provenance, rendering)
    held_out = HeldOut(_group_rasters(folder, patches, "validation"), work)
    base_threshold = float(base_spec.seg_thresh)
    if held_out.groups:
        report(0.8, f"Choosing the threshold on the {len(held_out.groups)} held-out group(s).")
        threshold, choice = choose_threshold(held_out, draft, base, base_threshold)
    else:
        threshold, choice = base_threshold, {}
    report(
        0.88,
        f"Threshold {threshold:g} "
        f"({'chosen on the held-out landforms' if held_out.groups else 'the base model’s: nothing held out'}); "
        f"scoring the adapted and the base model on {len(held_out.groups)} held-out group(s).",
    )
    card = {
        "output": os.path.abspath(request.output),
        "base_model": os.path.abspath(base),
        "threshold": threshold,
        "threshold_source": "held-out" if held_out.groups else "base model",
        "threshold_choice": choice,
        "provenance": provenance,
        "minutes": seconds / 60.0,
        "patches": {split: sum(r["split"] == split for r in patches["rows"]) for split in ("train", "validation")},
        "held_out": {"adapted": None, "adapted_at_base_threshold": None, "base": None},
        "history": history,
        "rendering": None if rendering is None else rendering.describe(),
    }
    stem = os.path.splitext(request.output)[0]
    card["card_html"], card_json = stem + "_card.html", stem + "_card.json"
    with staged_outputs([request.output, card_json, card["card_html"]]) as (model_path, json_path, html_path):
        _export(model, base_spec, model_path, threshold, provenance, rendering)
        card["held_out"] = {
            "adapted": held_out_scores(held_out, draft, threshold, landforms),
            "adapted_at_base_threshold": held_out_scores(held_out, draft, base_threshold, landforms),
            "base": held_out_scores(held_out, base, base_threshold, landforms),
        }
        with open(json_path, "w", encoding="utf-8") as handle:
            json.dump(card, handle, indent=2)
        with open(html_path, "w", encoding="utf-8") as handle:
            handle.write(card_html(card))
    return card


def _cell(value: Optional[float], digits: int = 3) -> str:
    return "&ndash;" if value is None else f"{value:.{digits}f}"


def card_html(card: dict[str, Any]) -> str:
    """The adapted model's card: what it was trained on and how it does on what it was not."""
    provenance = card["provenance"]
    rows = ""
    names = {
        "base": "base model",
        "adapted_at_base_threshold": "adapted, base model's threshold",
        "adapted": "adapted, threshold chosen on these landforms (optimistic)",
    }
    for name, label in names.items():
        scores = card["held_out"].get(name)
        if scores is not None:
            rows += (
                f"<tr><td>{label}</td><td>{_cell(scores['object_recall'])}</td>"
                f"<td>{_cell(scores['false_candidates_per_km2'], 2)}</td>"
                f"<td>{_cell(scores['pixel_iou'])}</td><td>{scores['threshold']:g}</td></tr>"
            )
    held = (
        "<table border='1' cellpadding='3'><tr><th>model</th><th>object recall (IoU &ge; 0.5)</th><th>false candidates per "
        "km2</th>"
        f"<th>pixel IoU</th><th>threshold</th></tr>{rows}</table><p>{card['held_out']['adapted']['rock_glaciers']} held-out rock "
        f"glacier(s) on {card['held_out']['adapted']['area_km2']:.2f} km2, one view. Compare the first two rows: the third "
        f"row's threshold was chosen on these same landforms.</p>"
        if card["held_out"]["adapted"]
        else "<p><b>No held-out estimate</b>: fewer than 4 reviewed rock glaciers, so all were used for training. Review more "
        "candidates and adapt again to measure the model on landforms it has not seen.</p>"
    )
    return (
        f"<h3>Adapted model: {html.escape(os.path.basename(card['output']))}</h3>"
        f"<p>Fine-tuned from {html.escape(provenance['adapted_from'])} (sha256 {provenance['base_sha256']}) on "
        f"{provenance['rock_glaciers']} reviewed rock glacier(s) and {provenance['negatives']} negative area(s) of "
        f"{html.escape(', '.join(provenance['images']))}: {card['patches']['train']} training and "
        f"{card['patches']['validation']} "
        f"held-out patches, {provenance['epochs']} epochs in {card['minutes']:.1f} min on {provenance['date']}. Threshold "
        f"{card['threshold']:g} "
        f"({THRESHOLD_SOURCE_TEXT[card['threshold_source'] == 'held-out']}). Input: "
        f"{html.escape(card['rendering'] or '8-bit imagery rendered as the training images were')}.</p>"
        f"<h4>Held-out landforms</h4>{held}"
    )
