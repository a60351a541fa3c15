"""Training patches around mapped rock glaciers: image and label windows with a context buffer,
negative patches, and a spatially honest train/validation split (QGIS-free, used by the training
package and by ``rockglacier:trainingpatches``).

Each rock-glacier polygon's bounding box is grown by ``context_m`` (default 1,500 m, as the paper)
and cut into as few equal patches of at most ``max_patch_px`` (480) pixels as cover it. Labels are
1 where a pixel's centre lies in any rock-glacier polygon, else 0 (negative polygons only add
patches). Patches whose windows overlap are kept in one group, and whole groups go to the
validation set (seeded), so no pixel is seen in both sets; patches that merely touch (the pieces of
one landform's window) are grouped too.

Imagery that is not 8-bit (Sentinel-2 L2A reflectance) is rendered to 8-bit patches with a model's
rendering (``rendering``; the product's calibration from ``reflectance``), and ``summary.json`` records
the rendering, so a model trained on the patches states it and takes the same L2A imagery directly.
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import InputVectorError, ParameterError
from ..progress import CancelCheck, Progress, ProgressCallback
from ..raster.coverage import pixel_centres_inside
from ..raster.geometry import prepare_polygon, spatial_reference, transformed, transformer
from ..raster.io import create_geotiff, open_raster, raster_grid
from ..raster.pixel_size import row_pixel_sizes_m
from ..raster.staged import staged_outputs
from ..raster.windows import Window, window_from_bounds
from .reflectance import Calibration, raster_calibrations
from .rendering import Rendering


@dataclass(frozen=True)
class PatchSettings:
    """How training patches are cut: size, context around each landform, negatives, band selection."""

    context_m: float = 1500.0
    max_patch_px: int = 480
    validation_fraction: float = 0.1
    seed: int = 0
    bands: tuple[int, ...] = (1, 2, 3)
    background_patches: int = 0  # patches of the rest of the image (away from every polygon), as negatives
    rendering: Optional[Rendering] = None  # for imagery that is not 8-bit: how to make 8-bit patches
    calibration: Optional[Calibration] = None  # the user's L2A_ADD_OFFSET (else the product's own)

    def __post_init__(self) -> None:
        if not 32 <= self.max_patch_px <= 4096:
            raise ParameterError(f"MAX_PATCH_PX={self.max_patch_px} must lie between 32 and 4096 (the paper used 480).")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ParameterError(f"VALIDATION_FRACTION={self.validation_fraction} must lie in [0, 1).")


@dataclass(frozen=True)
class Patch:
    """One patch written: its image and label paths, window and what it holds."""

    name: str
    window: Window
    kind: str  # "positive", "negative" or "background"
    group: int
    split: str = "train"


def split_window(window: Window, max_px: int) -> list[Window]:
    """As few equal windows of at most ``max_px`` as tile ``window`` (sizes differ by <= 1 px).

    >>> [w.width_px for w in split_window(Window(0, 0, 1000, 100), 480)]
    [333, 334, 333]
    """

    def cuts(offset: int, size: int) -> list[tuple[int, int]]:
        n = max(1, math.ceil(size / max_px))
        edges = [offset + round(i * size / n) for i in range(n + 1)]
        return [(a, b - a) for a, b in zip(edges, edges[1:])]

    return [
        Window(c, r, w, h) for r, h in cuts(window.row_off, window.height_px) for c, w in cuts(window.col_off, window.width_px)
    ]


def _groups(windows: Sequence[Window]) -> list[int]:
    """Connected groups of overlapping or touching windows (union-find): the patches cut from one
    landform's window touch each other, so they always stay in one set."""
    parent = list(range(len(windows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    order = sorted(range(len(windows)), key=lambda i: windows[i].col_off)
    for a_index, a in enumerate(order):
        wa = windows[a]
        for b in order[a_index + 1 :]:
            wb = windows[b]
            if wb.col_off > wa.col_off + wa.width_px:
                break
            if wa.padded(1).intersection(wb) is not None:
                parent[find(a)] = find(b)
    roots = {find(i) for i in range(len(windows))}
    index = {root: n for n, root in enumerate(sorted(roots))}
    return [index[find(i)] for i in range(len(windows))]


#: Label of pixels that carry no label (landforms nobody reviewed yet): training ignores them.
IGNORE_LABEL = 255


@dataclass
class PatchPlan:
    """The patches to cut, the rock-glacier polygons in the raster's CRS (for labels), and warnings."""

    patches: list[Patch]
    positives: list[Any]
    warnings: list[str]
    ignored: list[Any] = field(default_factory=list)  # polygons whose pixels carry ``IGNORE_LABEL``


def _in_raster_crs(polygons_wkb: Sequence[Optional[bytes]], crs: Optional[str], raster_srs: Any, what: str) -> list[Any]:
    if not polygons_wkb:
        return []
    to_raster = transformer(spatial_reference(crs or "", what), raster_srs)
    return [transformed(g, to_raster) for g in (prepare_polygon(w).geometry for w in polygons_wkb) if g is not None]


def _context_windows(geometries: Sequence[Any], grid: Any, settings: PatchSettings) -> list[Window]:
    """Each polygon's bounding box grown by ``context_m`` and cut to the raster, split into patches."""
    windows = []
    for geometry in geometries:
        xmin, xmax, ymin, ymax = geometry.GetEnvelope()
        probe = window_from_bounds(xmin, ymin, xmax, ymax, grid.geotransform)
        dx_m, dy_m = row_pixel_sizes_m(grid, Window(0, min(max(probe.row_off, 0), grid.height_px - 1), 1, 1))
        pad_cols = int(math.ceil(settings.context_m / float(dx_m[0])))
        pad_rows = int(math.ceil(settings.context_m / float(dy_m[0])))
        grown = Window(
            probe.col_off - pad_cols, probe.row_off - pad_rows, probe.width_px + 2 * pad_cols, probe.height_px + 2 * pad_rows
        )
        inside = grown.intersection(grid.full_window)
        if inside is not None:
            windows.extend(split_window(inside, settings.max_patch_px))
    return windows


def _background_windows(grid: Any, avoid: Sequence[Any], settings: PatchSettings) -> list[Window]:
    """``background_patches`` windows of half ``max_patch_px`` (smaller windows fit between landforms) at seeded random
    places of the raster that touch no polygon of ``avoid`` (rock glaciers, landforms nobody reviewed): the rest of the
    image, as negatives."""
    from osgeo import ogr

    size = min(max(settings.max_patch_px // 2, 1), grid.width_px, grid.height_px)
    rng = random.Random(settings.seed + 1)
    windows: list[Window] = []
    for _ in range(settings.background_patches * 20):
        if len(windows) >= settings.background_patches:
            break
        window = Window(rng.randrange(0, grid.width_px - size + 1), rng.randrange(0, grid.height_px - size + 1), size, size)
        x0, dx, _, y0, _, dy = window.transform(grid.geotransform)
        x1, y1 = x0 + dx * size, y0 + dy * size
        box = ogr.CreateGeometryFromWkt(f"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))")
        if not any(g.Intersects(box) for g in avoid) and not any(w.intersection(window) for w in windows):
            windows.append(window)
    return windows


def _split(windows: Sequence[Window], settings: PatchSettings) -> tuple[list[str], list[int], list[str]]:
    """Train/validation per patch by whole groups of touching windows (seeded), and warnings."""
    groups = _groups(windows)
    group_ids = sorted(set(groups))
    random.Random(settings.seed).shuffle(group_ids)
    target = settings.validation_fraction * len(windows)
    validation: set[int] = set()
    counted = 0
    for group in group_ids:
        if counted >= target:
            break
        validation.add(group)
        counted += groups.count(group)
    warnings = []
    if settings.validation_fraction > 0 and len(validation) == len(group_ids):
        warnings.append(
            f"The patches form {len(group_ids)} group(s) of touching windows, and a spatially honest split would leave no "
            "training "
            f"patch: all are kept for training, none for validation. Lower CONTEXT_M (now {settings.context_m:g} m, so that the "
            "landforms' windows stop touching) or map more landforms apart from each other to hold some out."
        )
        validation = set()
    return ["validation" if g in validation else "train" for g in groups], groups, warnings


def plan_patches(
    raster_path: str,
    positives_wkb: Sequence[Optional[bytes]],
    positives_crs: str,
    negatives_wkb: Sequence[Optional[bytes]] = (),
    negatives_crs: Optional[str] = None,
    settings: PatchSettings = PatchSettings(),
    ignored_wkb: Sequence[Optional[bytes]] = (),
    ignored_crs: Optional[str] = None,
) -> PatchPlan:
    """The patches to cut around rock glaciers, negative polygons and (``background_patches``) the rest of the image."""
    dataset = open_raster(raster_path, "imagery")
    grid = raster_grid(dataset, 1, "imagery")
    raster_srs = spatial_reference(grid.crs_wkt, "imagery")
    positives = _in_raster_crs(positives_wkb, positives_crs, raster_srs, "rock-glacier layer")
    if not positives:
        raise InputVectorError("The rock-glacier layer has no usable polygon; patches need mapped rock glaciers.")
    negatives = _in_raster_crs(negatives_wkb, negatives_crs or positives_crs, raster_srs, "negative layer")
    ignored = _in_raster_crs(ignored_wkb, ignored_crs or positives_crs, raster_srs, "rock-glacier layer")
    planned = [(w, "positive") for w in _context_windows(positives, grid, settings)]
    if not planned:
        raise InputVectorError("No rock-glacier polygon overlaps the imagery; check the layers' CRSs and extents.")
    planned += [(w, "negative") for w in _context_windows(negatives, grid, settings)]
    planned += [(w, "background") for w in _background_windows(grid, positives + ignored, settings)]
    splits, groups, warnings = _split([w for w, _ in planned], settings)
    patches = [
        Patch(f"{kind[:3]}_{i:05d}", window, kind, group, split)
        for i, ((window, kind), group, split) in enumerate(zip(planned, groups, splits))
    ]
    return PatchPlan(patches, positives, warnings, ignored)


def _envelopes(geometries: Sequence[Any]) -> np.ndarray:
    """(xmin, xmax, ymin, ymax) of each geometry, rows in order (none: an empty 0 x 4 array)."""
    return np.array([g.GetEnvelope() for g in geometries], dtype=np.float64).reshape(-1, 4)


def _burn(label: np.ndarray, window: Window, grid: Any, geometries: Sequence[Any], envelopes: np.ndarray, value: int) -> None:
    """``value`` where a pixel centre of ``window`` lies in one of ``geometries`` (bounding boxes prefilter)."""
    x0, dx, _, y0, _, dy = window.transform(grid.geotransform)
    x1, y1 = x0 + dx * window.width_px, y0 + dy * window.height_px
    near = (envelopes[:, 1] >= x0) & (envelopes[:, 0] <= x1) & (envelopes[:, 3] >= y1) & (envelopes[:, 2] <= y0)
    for index in np.flatnonzero(near):
        label[pixel_centres_inside(geometries[index], window, grid.geotransform)] = value


def _label(window: Window, grid: Any, plan: PatchPlan, envelopes: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """1 where a pixel centre of ``window`` lies in a rock-glacier polygon, ``IGNORE_LABEL`` in a polygon of
    ``plan.ignored`` that is no rock glacier, else 0 (``envelopes``: of the positives, of the ignored)."""
    label = np.zeros(window.shape, dtype=np.uint8)
    _burn(label, window, grid, plan.ignored, envelopes[1], IGNORE_LABEL)
    _burn(label, window, grid, plan.positives, envelopes[0], 1)
    return label


def _write_pair(
    folder: str, name: str, window: Window, grid: Any, image: tuple[np.ndarray, int], label: tuple[np.ndarray, int]
) -> None:
    """images/<name>.tif and labels/<name>.tif, staged so that a pair appears only complete."""
    finals = [os.path.join(folder, "images", f"{name}.tif"), os.path.join(folder, "labels", f"{name}.tif")]
    with staged_outputs(finals) as partials:
        for path, (array, data_type) in zip(partials, (image, label)):
            bands = array.reshape((-1,) + window.shape)
            out = create_geotiff(
                path,
                (window.width_px, window.height_px),
                window.transform(grid.geotransform),
                grid.crs_wkt,
                data_type,
                ["COMPRESS=DEFLATE"],
                bands=bands.shape[0],
            )
            for b, values in enumerate(bands, start=1):
                out.GetRasterBand(b).WriteArray(values)
            out = None


def _renderer(dataset: Any, path: str, settings: PatchSettings) -> Optional[Any]:
    """None for 8-bit imagery (patches as they are); else reflectance -> the rendering's 8-bit values (no-data 0)."""
    from osgeo import gdal

    if all(gdal.GetDataTypeName(dataset.GetRasterBand(b).DataType) == "Byte" for b in settings.bands):
        return None
    if settings.rendering is None:
        raise ParameterError(
            "The imagery is not 8-bit (Sentinel-2 L2A reflectance?) and no rendering turns it into the 8-bit "
            "imagery a model trains on: give the model whose rendering to use (MODEL; empty = the shipped model's)."
        )
    names = list(settings.rendering.bands) + [""] * len(settings.bands)
    calibrations = raster_calibrations(dataset, path, settings.bands, names, settings.calibration)
    nodata = [dataset.GetRasterBand(b).GetNoDataValue() for b in settings.bands]
    rendering = settings.rendering

    def render(raw: np.ndarray) -> np.ndarray:
        missing = np.zeros(raw.shape[1:], dtype=bool)
        for values, value in zip(raw, nodata):
            if value is not None:
                missing |= values == value
        rendered = rendering.to_8bit(np.stack([c.reflectance(v) for c, v in zip(calibrations, raw)]))
        return np.where(missing[None] | ~np.isfinite(rendered), 0, rendered).astype(np.uint8)

    return render


def write_patches(
    raster_path: str,
    plan: PatchPlan,
    folder: str,
    settings: PatchSettings = PatchSettings(),
    on_progress: Optional[ProgressCallback] = None,
    is_cancelled: Optional[CancelCheck] = None,
) -> dict[str, Any]:
    """Write images/<name>.tif, labels/<name>.tif (georeferenced) and patches.csv; returns counts."""
    from osgeo import gdal

    dataset = open_raster(raster_path, "imagery")
    grid = raster_grid(dataset, 1, "imagery")
    for band in settings.bands:
        if not 1 <= band <= dataset.RasterCount:
            raise ParameterError(f"The imagery has {dataset.RasterCount} band(s); BANDS asks for band {band}.")
    os.makedirs(os.path.join(folder, "images"), exist_ok=True)
    os.makedirs(os.path.join(folder, "labels"), exist_ok=True)
    render = _renderer(dataset, raster_path, settings)
    data_type = dataset.GetRasterBand(settings.bands[0]).DataType if render is None else gdal.GDT_Byte
    progress = Progress(len(plan.patches), on_progress, is_cancelled)
    envelopes = (_envelopes(plan.positives), _envelopes(plan.ignored))
    rows = []
    for patch in plan.patches:
        window = patch.window
        image = dataset.ReadAsArray(
            window.col_off, window.row_off, window.width_px, window.height_px, band_list=list(settings.bands)
        )
        if render is not None:
            image = render(image.reshape((len(settings.bands),) + window.shape))
        label = _label(window, grid, plan, envelopes)
        _write_pair(folder, patch.name, window, grid, (image, data_type), (label, gdal.GDT_Byte))
        rows.append(
            {
                "name": patch.name,
                "kind": patch.kind,
                "split": patch.split,
                "group": patch.group,
                "col_off": window.col_off,
                "row_off": window.row_off,
                "width_px": window.width_px,
                "height_px": window.height_px,
                "positive_fraction": float((label == 1).mean()),
            }
        )
        progress.advance()
    with open(os.path.join(folder, "patches.csv"), "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    summary = {
        "patches": len(rows),
        "train": sum(r["split"] == "train" for r in rows),
        "validation": sum(r["split"] == "validation" for r in rows),
        "positive": sum(r["kind"] == "positive" for r in rows),
        "negative": sum(r["kind"] == "negative" for r in rows),
        "settings": {**settings.__dict__, "bands": list(settings.bands), "rendering": None, "calibration": None},
        "source": os.path.abspath(raster_path),
        "warnings": plan.warnings,
        "rendering": settings.rendering.to_metadata() if render is not None and settings.rendering is not None else None,
    }
    with open(os.path.join(folder, "summary.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)
    return summary
