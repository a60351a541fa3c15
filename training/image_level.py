"""Image-level check on chips labelled only "has a rock glacier" or "has none", e.g. chips of
another collection that neither training nor checkpoint selection saw (the alcazar90 ``chips_ds1``:
other sites, another processing chain). Each chip runs alone through the plugin's path
(``segment_raster``, its views); it counts as detected when it gets a candidate of at least the
inventory's default minimum area (``polygons.DEFAULT_MIN_AREA_KM2``, 0.03 km2 = 300 px at 10 m).
Scores: the share of rock-glacier chips detected, and the share of chips without rock glacier
that get a false candidate.
"""

from __future__ import annotations

import glob
import os
from typing import Any, Iterable, Optional

import numpy as np

from .data import Sample

#: The chips' pixel size (Sentinel-2 10 m bands).
PIXEL_M = 10.0
IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg")


def chip_class(path: str) -> Optional[bool]:
    """True (rock glacier), False (none) or None (unknown) from the chip's folder (``rock_glacier``,
    ``no_rock_glacier``) or, failing that, its name (``glaciar...`` or ``cordillera...``)."""
    folder = os.path.basename(os.path.dirname(path)).lower()
    if folder in ("rock_glacier", "no_rock_glacier"):
        return folder == "rock_glacier"
    name = os.path.basename(path).lower()
    if name.startswith("glaciar"):
        return True
    if name.startswith("cordillera"):
        return False
    return None


def labelled_chips(folder: str) -> list[Sample]:
    """Every image under ``folder`` whose class ``chip_class`` knows (masks folders skipped), as
    samples without a label raster (their class in ``kind``)."""
    chips = []
    for path in sorted(glob.glob(os.path.join(folder, "**", "*"), recursive=True)):
        if not path.lower().endswith(IMAGE_SUFFIXES) or "masks" in path.split(os.sep):
            continue
        kind = chip_class(path)
        if kind is not None:
            chips.append(Sample(path, None, "", "positive" if kind else "negative"))
    if not chips:
        raise ValueError(f"No labelled chip under '{folder}': put chips in rock_glacier/ and no_rock_glacier/ folders, "
                         f"or name them glaciar*/cordillera*.")
    return chips


def largest_candidate_px(probability: np.ndarray, threshold: float = 0.5) -> int:
    """Pixels of the largest 8-connected region at or above the threshold (0 if none)."""
    from scipy import ndimage

    regions, count = ndimage.label(probability >= threshold, structure=np.ones((3, 3)))
    return int(np.bincount(regions.ravel())[1:].max()) if count else 0


def image_level_of(results: Iterable[tuple[Sample, Any, np.ndarray]], min_area_px: Optional[int] = None,
                   threshold: float = 0.5) -> dict[str, Any]:
    """Detection and false-alarm shares of ``scene_eval.chips_alone`` results (each sample's ``kind``)."""
    from rockglacier_plugin.core.mapping.polygons import DEFAULT_MIN_AREA_KM2

    min_area_px = min_area_px if min_area_px is not None else int(round(DEFAULT_MIN_AREA_KM2 * 1e6 / PIXEL_M**2))
    found: dict[bool, list[bool]] = {True: [], False: []}
    for sample, _, probability in results:
        found[sample.kind == "positive"].append(largest_candidate_px(probability, threshold) >= min_area_px)
    return {
        "rock_glacier_chips": len(found[True]),
        "detected_share": float(np.mean(found[True])) if found[True] else None,
        "chips_without_rock_glacier": len(found[False]),
        "false_alarm_share": float(np.mean(found[False])) if found[False] else None,
        "min_area_px": min_area_px,
    }


def image_level_scores(onnx_path: str, folder: str, views: int = 8, threads: int = 0,
                       min_area_px: Optional[int] = None, threshold: float = 0.5) -> dict[str, Any]:
    """Detection and false-alarm shares of the chips under ``folder`` (``labelled_chips``), each
    run alone through the plugin's path."""
    from .scene_eval import chips_alone

    results = chips_alone(onnx_path, labelled_chips(folder), views=views, threads=threads)
    return {**image_level_of(results, min_area_px, threshold), "views": views}
