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
from typing import Any, Optional, Sequence, Union

import numpy as np

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


def labelled_chips(folder: str) -> list[tuple[str, bool]]:
    """Every image under ``folder`` whose class ``chip_class`` knows (masks folders skipped)."""
    chips = []
    for path in sorted(glob.glob(os.path.join(folder, "**", "*"), recursive=True)):
        if not path.lower().endswith(IMAGE_SUFFIXES) or "masks" in path.split(os.sep):
            continue
        kind = chip_class(path)
        if kind is not None:
            chips.append((path, kind))
    if not chips:
        raise ValueError(f"No labelled chip under '{folder}': put chips in rock_glacier/ and no_rock_glacier/ folders, "
                         f"or name them glaciar*/cordillera*.")
    return chips


def largest_candidate_px(probability: np.ndarray, threshold: float = 0.5) -> int:
    """Pixels of the largest 8-connected region at or above the threshold (0 if none)."""
    from scipy import ndimage

    regions, count = ndimage.label(probability >= threshold, structure=np.ones((3, 3)))
    return int(np.bincount(regions.ravel())[1:].max()) if count else 0


def image_level_scores(onnx_path: str, chips: Union[str, Sequence[tuple[str, bool]]], views: int = 8, threads: int = 0,
                       min_area_px: Optional[int] = None, threshold: float = 0.5) -> dict[str, Any]:
    """Detection and false-alarm shares through the plugin's path of the chips under a folder
    (``labelled_chips``) or of (image path, has a rock glacier) pairs."""
    from osgeo import gdal

    from rockglacier_plugin.core.mapping.onnx_model import load_model
    from rockglacier_plugin.core.mapping.polygons import DEFAULT_MIN_AREA_KM2

    from .scene_eval import segment_image

    min_area_px = min_area_px if min_area_px is not None else int(round(DEFAULT_MIN_AREA_KM2 * 1e6 / PIXEL_M**2))
    model = load_model(onnx_path, "cpu", threads)
    bands = model.spec.in_channels
    found = {True: [], False: []}
    for path, kind in (labelled_chips(chips) if isinstance(chips, str) else chips):
        image = gdal.Open(path).ReadAsArray()
        image = (image[None] if image.ndim == 2 else image)[:bands].astype(np.float32)
        probability = segment_image(onnx_path, image, threads=threads, views=views, model=model)
        found[kind].append(largest_candidate_px(probability, threshold) >= min_area_px)
    return {
        "rock_glacier_chips": len(found[True]),
        "detected_share": float(np.mean(found[True])) if found[True] else None,
        "chips_without_rock_glacier": len(found[False]),
        "false_alarm_share": float(np.mean(found[False])) if found[False] else None,
        "min_area_px": min_area_px,
        "views": views,
    }
