"""What ``python -m training adapt`` buys on a site the shipped model never saw: Los Helados (alcazar90 ``chips_ds1``).

The shipped model never trained on Los Helados (README, "Why these weights"). This script plays an analyst there:

1. ``N`` Los Helados rock-glacier chips (each shows one landform; taken rock glacier by rock glacier in a seeded
   order, so no held-out chip shows a reviewed rock glacier) and three times as many chips without rock glacier
   from the students' *train* negatives are laid edge to edge, shuffled, on one georeferenced 10 m mosaic
   (UTM 19S; the chips carry no georeference of their own);
2. the shipped model maps the mosaic (``segment_raster`` with its own views and threshold, candidates >= 0.03 km2);
3. the review is simulated from the chips' classes: a candidate on a rock-glacier chip is *modified* to the part on
   rock-glacier chips, one only on chips without rock glacier is *rejected*; a rock-glacier chip that got no candidate
   is left *not reviewed* (the analyst would draw it; no outline exists here, so it teaches nothing);
4. ``adapt`` fine-tunes for ``--minutes``;
5. the base and the adapted model run every held-out chip alone through the plugin's path (``image_level``:
   the chips of the Los Helados rock glaciers not reviewed, and the 48 *test* chips without rock glacier, which
   neither the shipped model nor the review saw): share of rock-glacier chips detected (object recall at chip
   level: the chips have no masks, so no pixel IoU), false candidates (>= 0.03 km2) per km2 of chips without rock
   glacier and the share of those with one; the base model at its threshold, the adapted one at the base model's
   threshold and at its own (chosen by adapt on its held-out part of the review).

Usage: .venv/bin/python -m benchmarks.adapt_new_site --reviewed 5 10 20 --minutes 10 --out adapt_site.json
The chips have no licence for redistribution: nothing of them is written outside ``--work``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import sys
import tempfile
import time
from typing import Any

import numpy as np

from rockglacier_plugin.core.progress import RunHooks

SHARED = os.environ.get(
    "ROCKGLACIER_SHARED", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared")
)
CHIPS = os.path.join(SHARED, "datasets", "alcazar90-rockglacier-chile", "chips_ds1")
CHIP_PX, PIXEL_M, EPSG = 128, 10.0, 32719
ORIGIN = (400000.0, 6850000.0)
SITE = re.compile(r"glaciarRoca_loshelados_(\d+)_\d+\.png$")


def site_chips() -> dict[int, list[str]]:
    """Los Helados chips by rock glacier number (train and test folders)."""
    found: dict[int, list[str]] = {}
    for split in ("train", "test"):
        for name in sorted(os.listdir(os.path.join(CHIPS, split))):
            match = SITE.match(name)
            if match:
                found.setdefault(int(match.group(1)), []).append(os.path.join(CHIPS, split, name))
    return found


def read_chip(path: str) -> np.ndarray:
    from osgeo import gdal

    return gdal.Open(path).ReadAsArray()[:3].astype(np.uint8)


def mosaic(chips: list[tuple[str, bool]], path: str) -> list[tuple[Any, bool]]:
    """Lay the chips edge to edge (rows of ``ceil(sqrt(n))``); each chip's cell polygon and class."""
    from osgeo import gdal, ogr, osr

    per_row = int(np.ceil(np.sqrt(len(chips))))
    rows = int(np.ceil(len(chips) / per_row))
    image = np.zeros((3, rows * CHIP_PX, per_row * CHIP_PX), dtype=np.uint8)
    cells = []
    for index, (chip, positive) in enumerate(chips):
        r, c = divmod(index, per_row)
        image[:, r * CHIP_PX : (r + 1) * CHIP_PX, c * CHIP_PX : (c + 1) * CHIP_PX] = read_chip(chip)
        x0, y0 = ORIGIN[0] + c * CHIP_PX * PIXEL_M, ORIGIN[1] - r * CHIP_PX * PIXEL_M
        x1, y1 = x0 + CHIP_PX * PIXEL_M, y0 - CHIP_PX * PIXEL_M
        cells.append((ogr.CreateGeometryFromWkt(f"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))"), positive))
    for r in range(rows):  # cells left over in the last row: a chip without rock glacier drawn again
        for c in range(per_row):
            if r * per_row + c >= len(chips):
                image[:, r * CHIP_PX : (r + 1) * CHIP_PX, c * CHIP_PX : (c + 1) * CHIP_PX] = image[:, :CHIP_PX, :CHIP_PX]
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(EPSG)
    out = gdal.GetDriverByName("GTiff").Create(path, image.shape[2], image.shape[1], 3, gdal.GDT_Byte)
    out.SetGeoTransform((ORIGIN[0], PIXEL_M, 0, ORIGIN[1], 0, -PIXEL_M))
    out.SetProjection(srs.ExportToWkt())
    for band in range(3):
        out.GetRasterBand(band + 1).WriteArray(image[band])
    out = None
    return cells


def base_candidates(image: str, model: str, work: str) -> list[Any]:
    """The shipped model's candidates on the mosaic, as the plugin traces them."""
    from osgeo import ogr

    from rockglacier_plugin.core.mapping.onnx_model import load_model
    from rockglacier_plugin.core.mapping.polygons import DEFAULT_MIN_AREA_KM2, candidates_from_mask
    from rockglacier_plugin.core.mapping.segmentation import SegmentSettings, segment_raster

    probability, mask = os.path.join(work, "base_p.tif"), os.path.join(work, "base_m.tif")
    spec = load_model(model, "cpu").spec
    segment_raster(
        image, model, probability, mask, SegmentSettings(bands=(1, 2, 3), views=spec.views, device="cpu"), hooks=RunHooks()
    )
    candidates, _ = candidates_from_mask(mask, probability, DEFAULT_MIN_AREA_KM2)
    return [ogr.CreateGeometryFromWkb(c.geometry_wkb) for c in candidates]


def simulated_review(candidates: list[Any], cells: list[tuple[Any, bool]]) -> tuple[list[Any], list[str | None]]:
    """(polygons, review) as an analyst would leave them (module docstring, step 3)."""
    from osgeo import ogr

    rock = ogr.Geometry(ogr.wkbMultiPolygon)
    for cell, positive in cells:
        if positive:
            rock = rock.Union(cell)
    polygons, reviews = [], []
    for candidate in candidates:
        kept = candidate.Intersection(rock)
        if kept is not None and kept.GetArea() > 0.2 * candidate.GetArea():
            polygons.append(kept)
            reviews.append("modified" if kept.GetArea() < 0.999 * candidate.GetArea() else "accepted")
        else:
            polygons.append(candidate)
            reviews.append("rejected")
    for cell, positive in cells:
        if positive and not any(p.Intersects(cell) and r != "rejected" for p, r in zip(polygons, reviews)):
            polygons.append(cell.Clone())
            reviews.append(None)  # missed: not reviewed (no outline to draw)
    return polygons, reviews


def write_review(path: str, polygons: list[Any], reviews: list[str | None]) -> None:
    from osgeo import ogr, osr

    srs = osr.SpatialReference()
    srs.ImportFromEPSG(EPSG)
    source = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    layer = source.CreateLayer("rock_glaciers", srs, ogr.wkbMultiPolygon)
    layer.CreateField(ogr.FieldDefn("review", ogr.OFTString))
    for polygon, review in zip(polygons, reviews):
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetGeometry(ogr.ForceToMultiPolygon(polygon))
        if review is not None:
            feature.SetField("review", review)
        layer.CreateFeature(feature)
    source = None


def false_candidates(results: list, threshold: float, min_area_px: int) -> int:
    """Candidates (8-connected regions >= min_area_px at the threshold) on the chips without rock glacier."""
    from scipy import ndimage

    count = 0
    for sample, _, probability in results:
        if sample.kind != "positive":
            regions, n = ndimage.label(probability >= threshold, structure=np.ones((3, 3)))
            count += int((np.bincount(regions.ravel())[1:] >= min_area_px).sum()) if n else 0
    return count


def held_out_scores(model: str, held_out_sites: list[int], thresholds: dict[str, float], views: int) -> dict[str, Any]:
    """Detection, false candidates per km2 and false-alarm share at each of ``thresholds`` (name: value), every chip run once."""
    from training.evaluation.image_level import image_level_of, labelled_chips
    from training.evaluation.scene_eval import chips_alone

    include = [f"*loshelados_{site}_*" for site in held_out_sites] + ["test/cordillera_*"]
    results = list(chips_alone(model, labelled_chips(CHIPS, include), views=views))
    out = {}
    for name, value in thresholds.items():
        scores = image_level_of(results, threshold=value)
        area_km2 = scores["chips_without_rock_glacier"] * (CHIP_PX * PIXEL_M / 1000.0) ** 2
        out[name] = {
            **scores,
            "threshold": value,
            "false_candidates_per_km2": false_candidates(results, value, scores["min_area_px"]) / area_km2,
        }
    return out


def run(
    reviewed_chips: int, minutes: float, seed: int, work: str, views: int, other_ranges: tuple[str, ...] = ()
) -> dict[str, Any]:
    from training.evaluation.scene_eval import model_threshold
    from training.loop.adapt import AdaptRequest, adapt, shipped_model

    sites = site_chips()
    order = sorted(sites)
    random.Random(seed).shuffle(order)
    positives, chosen = [], []
    for site in order:
        if len(positives) >= reviewed_chips:
            break
        chosen.append(site)
        positives += sites[site][: reviewed_chips - len(positives)]
    held_out = sorted(set(order) - set(chosen))
    negatives = sorted(
        os.path.join(CHIPS, "train", n) for n in os.listdir(os.path.join(CHIPS, "train")) if n.startswith("cordillera")
    )
    chips = [(p, True) for p in positives] + [
        (n, False) for n in random.Random(seed).sample(negatives, min(len(negatives), 3 * len(positives)))
    ]
    random.Random(seed + 1).shuffle(chips)
    folder = os.path.join(work, f"reviewed{reviewed_chips}_seed{seed}")
    os.makedirs(folder, exist_ok=True)
    image = os.path.join(folder, "mosaic.tif")
    cells = mosaic(chips, image)
    base = shipped_model()
    polygons, reviews = simulated_review(base_candidates(image, base, folder), cells)
    review_path = os.path.join(folder, "review.gpkg")
    write_review(review_path, polygons, reviews)
    started = time.perf_counter()
    card = adapt(
        AdaptRequest(
            (image,), review_path, os.path.join(folder, "adapted.onnx"), max_minutes=minutes, seed=seed, other_ranges=other_ranges
        ),
        lambda fraction, message: print(f"[{100 * fraction:3.0f} %] {message}", file=sys.stderr, flush=True),
    )
    base_threshold = model_threshold(base)
    return {
        "reviewed_chips": len(positives),
        "other_ranges": list(other_ranges),
        "reviewed_rock_glaciers": chosen,
        "held_out_rock_glaciers": held_out,
        "review_chips": len(chips),
        "review": {r or "not reviewed": reviews.count(r) for r in set(reviews)},
        "views": views,
        "adapt_minutes": (time.perf_counter() - started) / 60.0,
        "epochs": card["provenance"]["epochs"],
        "threshold": card["threshold"],
        "card_held_out": card["held_out"],
        "base": held_out_scores(base, held_out, {"own": base_threshold}, views),
        "adapted": held_out_scores(card["output"], held_out, {"base's": base_threshold, "own": card["threshold"]}, views),
    }


def main(argv: list[str] | None = None) -> int:
    arguments = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    arguments.add_argument(
        "--reviewed", type=int, nargs="+", default=[5, 10, 20], help="Los Helados rock-glacier chips reviewed (of 63)"
    )
    arguments.add_argument("--minutes", type=float, default=10.0)
    arguments.add_argument("--views", type=int, default=8)
    arguments.add_argument("--seeds", type=int, nargs="+", default=[0])
    arguments.add_argument("--other-ranges", nargs="*", default=[], help="training.data.augment.OTHER_RANGES for adapt")
    arguments.add_argument("--work", default=None, help="work folder, kept (default: a temporary one, removed)")
    arguments.add_argument("--out", default="adapt_site.json")
    args = arguments.parse_args(argv)
    if not os.path.isdir(CHIPS):
        print(f"error: {CHIPS} is missing (the shared datasets folder; set ROCKGLACIER_SHARED)", file=sys.stderr)
        return 2
    results = []
    with contextlib.nullcontext(args.work) if args.work else tempfile.TemporaryDirectory() as work:
        for seed in args.seeds:
            for reviewed in args.reviewed:
                results.append({"seed": seed, **run(reviewed, args.minutes, seed, work, args.views, tuple(args.other_ranges))})
                print(json.dumps(results[-1], indent=1), flush=True)
                with open(args.out, "w", encoding="utf-8") as handle:
                    json.dump(results, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
