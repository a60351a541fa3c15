"""Image-level check on chips labelled only "has a rock glacier" or "has none", e.g. chips of
another collection that neither training nor checkpoint selection saw (the alcazar90 ``chips_ds1``:
other sites, another processing chain). Each chip runs alone through the plugin's path
(``segment_raster``, its views); it counts as detected when it gets a candidate of at least the
inventory's default minimum area (``polygons.DEFAULT_MIN_AREA_KM2``, 0.03 km2 = 300 px at 10 m).
Scores: the share of rock-glacier chips detected, and the share of chips without rock glacier
that get a false candidate.
"""

from __future__ import annotations

import fnmatch
import glob
import os
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from training.data.samples import Sample

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


def selected(relative_path: str, include: Optional[Sequence[str]]) -> bool:
    """Whether a path relative to the collection matches one of the ``include`` patterns (fnmatch,
    ``/`` separators; ``*`` crosses folders); no patterns select everything.

    >>> selected("test/glaciarRoca_loshelados_3_1.png", ["*loshelados*", "test/cordillera_*"])
    True
    >>> selected("train/cordillera_7.png", ["*loshelados*", "test/cordillera_*"])
    False
    """
    return not include or any(fnmatch.fnmatchcase(relative_path, pattern) for pattern in include)


def labelled_chips(folder: str, include: Optional[Sequence[str]] = None, exclude: Optional[Sequence[str]] = None) -> list[Sample]:
    """Every image under ``folder`` whose class ``chip_class`` knows (masks folders skipped) and
    whose path relative to ``folder`` matches ``include`` and no pattern of ``exclude``
    (``selected``), as samples without a label raster (their class in ``kind``)."""
    chips = []
    for path in sorted(glob.glob(os.path.join(folder, "**", "*"), recursive=True)):
        if not path.lower().endswith(IMAGE_SUFFIXES) or "masks" in path.split(os.sep):
            continue
        relative = os.path.relpath(path, folder).replace(os.sep, "/")
        if not selected(relative, include) or (exclude and selected(relative, exclude)):
            continue
        kind = chip_class(path)
        if kind is not None:
            chips.append(Sample(path, None, "", "positive" if kind else "negative"))
    if not chips:
        which = (f" matching {', '.join(include)}" if include else "") + (f" and not {', '.join(exclude)}" if exclude else "")
        raise ValueError(
            f"No labelled chip under '{folder}'{which}: put chips in rock_glacier/ and no_rock_glacier/ folders, "
            f"or name them glaciar*/cordillera*; a model trained on all of a collection has none left to check."
        )
    return chips


def largest_candidate_px(probability: np.ndarray, threshold: float = 0.5) -> int:
    """Pixels of the largest 8-connected region at or above the threshold (0 if none)."""
    from scipy import ndimage

    regions, count = ndimage.label(probability >= threshold, structure=np.ones((3, 3)))
    return int(np.bincount(regions.ravel())[1:].max()) if count else 0


def image_level_of(
    results: Iterable[tuple[Sample, Any, np.ndarray]], min_area_px: Optional[int] = None, threshold: float = 0.5
) -> dict[str, Any]:
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


def image_level_scores(
    onnx_path: str,
    folder: str,
    views: int = 8,
    threads: int = 0,
    min_area_px: Optional[int] = None,
    threshold: float = 0.5,
    include: Optional[Sequence[str]] = None,
    exclude: Optional[Sequence[str]] = None,
) -> dict[str, Any]:
    """Detection and false-alarm shares of the chips under ``folder`` (``labelled_chips`` with
    ``include`` and ``exclude``), each run alone through the plugin's path."""
    from training.evaluation.scene_eval import chips_alone

    results = chips_alone(onnx_path, labelled_chips(folder, include, exclude), views=views, threads=threads)
    return {
        **image_level_of(results, min_area_px, threshold),
        "views": views,
        **({"excluded_as_trained_on": list(exclude)} if exclude else {}),
    }


def trained_on(config: Any, folder: str) -> Optional[list[str]]:
    """The patterns of ``folder`` a model was trained on (its config's ``image_level_include``;
    every chip, ``["*"]``, without one) when ``folder`` is its ``image_level_data``, else None:
    what an honest check on ``folder`` must leave out."""
    data = getattr(config, "image_level_data", None)
    if not data:
        return None
    same = os.path.realpath(data) == os.path.realpath(folder)
    # the same collection found through another shared folder (ROCKGLACIER_SHARED) counts too
    if not same and os.path.basename(os.path.normpath(data)) != os.path.basename(os.path.normpath(folder)):
        return None
    return list(config.image_level_include or ["*"])
