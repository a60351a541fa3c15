"""Candidate polygons from a segmentation mask: 8-connected, holes kept, small specks dropped,
areas in metres whatever the CRS, mean probability, and the existing polygon each one overlaps.

Tracing keeps up with inference (a noisy model output has tens of thousands of specks): the mask's regions are
labelled first (``scipy.ndimage.label``, 8-connected), and a region whose pixels cannot make the minimum area even
at twice the largest ground area of a pixel is removed before any geometry is made; the survivors are traced from the
label raster, so each polygon carries its label, and their mean probabilities come from one pass over the
probability raster (``np.bincount``). Existing landforms are found through an envelope grid, not a scan. Masks
larger than ``MAX_LABEL_PX`` are traced as before (a binary copy, each candidate's probability read on its own).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import OperationCancelled
from ..inventory.schema import Review, Source
from ..progress import CancelCheck, Progress, ProgressCallback
from ..raster.coverage import pixel_centres_inside
from ..raster.geometry import (
    EqualAreaProjector,
    prepare_polygon,
    spatial_reference,
    transformed,
    transformer,
    valid_traced_polygon,
)
from ..raster.io import BandInfo, create_geotiff, open_raster, raster_grid, read_window
from ..raster.windows import Window, window_from_bounds

#: Candidates smaller than this are dropped by default (the paper's 0.03 km2): rockglacier:segment's
#: MIN_AREA_KM2, the region command's --min-area-km2 and the training package's image-level check.
DEFAULT_MIN_AREA_KM2 = 0.03
BLOCK_ROWS = 1024
#: Masks up to this many pixels are labelled in memory (int32 labels: 4 bytes a pixel).
MAX_LABEL_PX = 100_000_000
#: A region is removed before tracing only when its pixel count x this x the largest pixel area is below the minimum
#: area: the equal-area footprint of a traced region differs from its pixels' planar area by the projection's
#: scale (UTM: < 0.2 %), so no region that the footprint test would keep is ever removed.
SPECK_SAFETY = 2.0


@dataclass
class Candidate:
    """One traced candidate: its polygon (WKB, raster CRS), area, mean probability and its match in an existing inventory."""

    geometry_wkb: bytes  # in the mask's CRS
    area_km2: float
    lon: float
    lat: float
    dl_prob_mean: Optional[float]
    match_rg_id: Optional[str]

    def inventory_values(self, rg_id: str) -> dict[str, Any]:
        """The inventory fields of this candidate (``source`` deep_learning, ``review`` candidate)."""
        return {
            "rg_id": rg_id,
            "source": Source.DEEP_LEARNING.value,
            "review": Review.CANDIDATE.value,
            "area_km2": self.area_km2,
            "lon": self.lon,
            "lat": self.lat,
            "dl_prob_mean": self.dl_prob_mean,
            "match_rg_id": self.match_rg_id,
        }


def _temporary_like(source: Any, data_type: int, prefix: str) -> tuple[str, Any]:
    """A temporary one-band GeoTIFF on ``source``'s grid (no-data 0), and its open dataset: the masks tracing works on."""
    handle, path = tempfile.mkstemp(suffix=".tif", prefix=prefix)
    os.close(handle)
    target = create_geotiff(
        path,
        (source.RasterXSize, source.RasterYSize),
        source.GetGeoTransform(),
        source.GetProjection(),
        data_type,
        ["TILED=YES", "COMPRESS=ZSTD", "ZSTD_LEVEL=1"],
        band_info=BandInfo(nodata=0),
    )
    return path, target


def _binary_copy(mask_path: str) -> str:
    """A 0/1 copy of the mask (1 = rock glacier, no-data 0), written block by block, so that
    GDAL's polygonizer traces only rock-glacier regions."""
    from osgeo import gdal

    source = open_raster(mask_path, "mask")
    band = source.GetRasterBand(1)
    path, target = _temporary_like(source, gdal.GDT_Byte, "rockglacier-binary-")
    for row in range(0, source.RasterYSize, BLOCK_ROWS):
        rows = min(BLOCK_ROWS, source.RasterYSize - row)
        values = band.ReadAsArray(0, row, source.RasterXSize, rows)
        target.GetRasterBand(1).WriteArray((values == 1).astype(np.uint8), 0, row)
    target = None
    return path


def _gdal_callback(on_progress: Optional[ProgressCallback], is_cancelled: Optional[CancelCheck]) -> Any:
    """A GDAL progress callback that reports the fraction and stops GDAL when the user cancels."""

    def callback(complete: float, _message: Any, _data: Any) -> int:
        if on_progress is not None:
            on_progress(float(complete))
        return 0 if is_cancelled is not None and is_cancelled() else 1

    return callback


def _polygonize(
    raster_path: str,
    on_progress: Optional[ProgressCallback],
    is_cancelled: Optional[CancelCheck],
    keep: Any,
    validate: bool = True,
) -> list[tuple[int, Any]]:
    """(value, OGR polygon) of the 8-connected regions of the raster's band whose value ``keep`` accepts; made valid
    (``valid_traced_polygon``) unless ``validate`` is False (the caller validates the ones it keeps)."""
    from osgeo import gdal, ogr

    dataset = gdal.Open(raster_path)
    band = dataset.GetRasterBand(1)
    memory = ogr.GetDriverByName("Memory").CreateDataSource("")
    layer = memory.CreateLayer("candidates", spatial_reference(dataset.GetProjection(), "mask"), ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("value", ogr.OFTInteger))
    try:
        status = gdal.Polygonize(
            band, band.GetMaskBand(), layer, 0, ["8CONNECTED=8"], callback=_gdal_callback(on_progress, is_cancelled)
        )
    except RuntimeError as exc:
        if is_cancelled is not None and is_cancelled():
            raise OperationCancelled("Cancelled by the user while tracing polygons; no output was written.") from exc
        raise
    if status != 0 and is_cancelled is not None and is_cancelled():
        raise OperationCancelled("Cancelled by the user while tracing polygons; no output was written.")
    fix = valid_traced_polygon if validate else (lambda geometry: geometry)
    traced = [
        (feature.GetField("value"), fix(feature.GetGeometryRef().Clone())) for feature in layer if keep(feature.GetField("value"))
    ]
    return [(value, geometry) for value, geometry in traced if geometry is not None]


def polygonize_mask(
    mask_path: str, on_progress: Optional[ProgressCallback] = None, is_cancelled: Optional[CancelCheck] = None
) -> list[Any]:
    """8-connected rock-glacier regions of the mask as OGR polygons (holes kept), in its CRS;
    GDAL's tracing reports progress and stops on cancel (``OperationCancelled``)."""
    binary = _binary_copy(mask_path)
    try:
        return [geometry for _, geometry in _polygonize(binary, on_progress, is_cancelled, lambda value: value == 1)]
    finally:
        os.remove(binary)


def _max_pixel_km2(grid: Any) -> float:
    """The largest ground area of one pixel of the grid, km2 (rows differ in a geographic CRS)."""
    from ..raster.pixel_size import row_pixel_sizes_m

    dx, dy = row_pixel_sizes_m(grid, Window(0, 0, 1, grid.height_px))
    return float(np.max(dx * dy)) / 1.0e6


@dataclass
class _Labelled:
    path: str  # int32 label raster (0 = not a candidate), the certain specks already removed
    labels: np.ndarray
    removed: int  # regions removed by their pixel count


def _labelled_copy(mask_path: str, grid: Any, min_area_km2: float) -> _Labelled:
    """The mask's 8-connected rock-glacier regions labelled, those too few pixels to reach ``min_area_km2`` removed."""
    from osgeo import gdal
    from scipy.ndimage import label

    source = open_raster(mask_path, "mask")
    band = source.GetRasterBand(1)
    mask = np.zeros((source.RasterYSize, source.RasterXSize), dtype=bool)
    for row in range(0, source.RasterYSize, BLOCK_ROWS):
        rows = min(BLOCK_ROWS, source.RasterYSize - row)
        mask[row : row + rows] = band.ReadAsArray(0, row, source.RasterXSize, rows) == 1
    labels, count = label(mask, structure=np.ones((3, 3), dtype=bool))
    del mask
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    speck = sizes * SPECK_SAFETY * _max_pixel_km2(grid) < min_area_km2
    speck[0] = False
    labels[speck[labels]] = 0
    path, target = _temporary_like(source, gdal.GDT_Int32, "rockglacier-labels-")
    target.GetRasterBand(1).WriteArray(labels.astype(np.int32))
    target = None
    return _Labelled(path, labels, int(speck.sum()))


def _label_means(labels: np.ndarray, band: Any, grid: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per label: the sum and the count of its finite, non-negative probabilities, in one pass over the raster."""
    n = int(labels.max()) + 1
    total, count = np.zeros(n), np.zeros(n)
    for row in range(0, grid.height_px, BLOCK_ROWS):
        strip = Window(0, row, grid.width_px, min(BLOCK_ROWS, grid.height_px - row))
        values = read_window(band, grid, strip)
        part = labels[row : row + strip.height_px]
        good = np.isfinite(values) & (values >= 0) & (part > 0)
        total += np.bincount(part[good], weights=values[good].astype(np.float64), minlength=n)
        count += np.bincount(part[good], minlength=n)
    return total, count


class _EnvelopeIndex:
    """Existing polygons bucketed by a grid of their envelopes: the candidates each one may overlap, without a scan."""

    def __init__(self, existing: list) -> None:
        self.existing = existing
        extents = [envelope for _, envelope, _ in existing]
        spans = [max(e[1] - e[0], e[3] - e[2]) for e in extents]
        self.cell = max(float(np.median(spans)) if spans else 1.0, 1e-9)
        self.buckets: dict[tuple[int, int], list[int]] = {}
        for index, envelope in enumerate(extents):
            for key in self._cells(envelope):
                self.buckets.setdefault(key, []).append(index)

    def _cells(self, envelope: tuple) -> list[tuple[int, int]]:
        xmin, xmax, ymin, ymax = envelope
        i0, i1 = int(np.floor(xmin / self.cell)), int(np.floor(xmax / self.cell))
        j0, j1 = int(np.floor(ymin / self.cell)), int(np.floor(ymax / self.cell))
        return [(i, j) for i in range(i0, i1 + 1) for j in range(j0, j1 + 1)]

    def near(self, envelope: tuple) -> list:
        """The existing polygons whose envelope shares a cell with ``envelope`` (all of them for a huge query)."""
        if not self.existing:
            return []
        xmin, xmax, ymin, ymax = envelope
        cells = (np.floor(xmax / self.cell) - np.floor(xmin / self.cell) + 1) * (
            np.floor(ymax / self.cell) - np.floor(ymin / self.cell) + 1
        )
        if cells > len(self.buckets):
            return self.existing
        found = sorted({index for key in self._cells(envelope) for index in self.buckets.get(key, [])})
        return [self.existing[index] for index in found]


def candidates_from_mask(
    mask_path: str,
    probability_path: str,
    min_area_km2: float,
    existing_wkb: Optional[Sequence[Optional[bytes]]] = None,
    existing_ids: Optional[Sequence[Optional[str]]] = None,
    existing_crs: Optional[str] = None,
    on_progress: Optional[ProgressCallback] = None,
    is_cancelled: Optional[CancelCheck] = None,
) -> tuple[list[Candidate], int]:
    """Candidates at least ``min_area_km2`` large, and how many smaller specks were dropped (module docstring)."""
    dataset = open_raster(probability_path, "probability")
    grid = raster_grid(dataset, 1, "probability")
    band = dataset.GetRasterBand(1)
    mask_srs = spatial_reference(grid.crs_wkt, "mask")
    to_wgs84 = transformer(mask_srs, spatial_reference(4326))
    projector = EqualAreaProjector()
    existing = []
    if existing_wkb is not None:
        to_mask = transformer(spatial_reference(existing_crs or "", "EXISTING layer"), mask_srs)
        for wkb, rg_id in zip(existing_wkb, existing_ids or [None] * len(existing_wkb)):
            prepared = prepare_polygon(wkb).geometry
            if prepared is not None:
                geometry = transformed(prepared, to_mask)
                existing.append((geometry, geometry.GetEnvelope(), rg_id))
    index = _EnvelopeIndex(existing)
    tracing = (lambda f: on_progress(0.5 * f)) if on_progress else None
    means: Optional[tuple[np.ndarray, np.ndarray]] = None
    dropped = 0
    if grid.width_px * grid.height_px <= MAX_LABEL_PX:
        labelled = _labelled_copy(mask_path, grid, min_area_km2)
        try:
            traced = _polygonize(labelled.path, tracing, is_cancelled, lambda value: value > 0, validate=False)
        finally:
            os.remove(labelled.path)
        dropped = labelled.removed
        means = _label_means(labelled.labels, band, grid)
    else:
        traced = [(0, geometry) for geometry in polygonize_mask(mask_path, tracing, is_cancelled)]
    progress = Progress(max(len(traced), 1), (lambda f: on_progress(0.5 + 0.5 * f)) if on_progress else None, is_cancelled)
    candidates = []
    for value, raw in traced:
        footprint = projector.footprint(transformed(raw, to_wgs84))
        if footprint.area_km2 < min_area_km2:  # a traced ring's area is its pixels', valid or not
            dropped += 1
            progress.advance()
            continue
        geometry = valid_traced_polygon(raw) if means is not None else raw  # made valid only when kept (MakeValid is costly)
        if geometry is None:
            progress.advance()
            continue
        if geometry is not raw:
            footprint = projector.footprint(transformed(geometry, to_wgs84))
        if means is not None:
            mean = float(means[0][value] / means[1][value]) if means[1][value] else None
        else:
            mean = _mean_inside(geometry, band, grid)
        candidates.append(
            Candidate(
                geometry.ExportToWkb(),
                footprint.area_km2,
                footprint.lon_deg,
                footprint.lat_deg,
                mean,
                _match(geometry, index.near(geometry.GetEnvelope())),
            )
        )
        progress.advance()
    return candidates, dropped


def _mean_inside(geometry: Any, band: Any, grid: Any) -> Optional[float]:
    """Mean probability over the pixels whose centre is inside, read by strips of rows."""
    xmin, xmax, ymin, ymax = geometry.GetEnvelope()
    window = window_from_bounds(xmin, ymin, xmax, ymax, grid.geotransform)
    total, count = 0.0, 0
    for row in range(0, window.height_px, BLOCK_ROWS):
        strip = Window(window.col_off, window.row_off + row, window.width_px, min(BLOCK_ROWS, window.height_px - row))
        values = read_window(band, grid, strip)[pixel_centres_inside(geometry, strip, grid.geotransform)]
        values = values[np.isfinite(values) & (values >= 0)]
        total += float(values.sum())
        count += values.size
    return total / count if count else None


def _match(geometry: Any, existing: list) -> Optional[str]:
    """rg_id of the existing polygon with the largest overlap, None when none overlaps."""
    xmin, xmax, ymin, ymax = geometry.GetEnvelope()
    best, best_area = None, 0.0
    for other, (oxmin, oxmax, oymin, oymax), rg_id in existing:
        if oxmax < xmin or oxmin > xmax or oymax < ymin or oymin > ymax:
            continue
        if not other.Intersects(geometry):
            continue
        area = other.Intersection(geometry).GetArea()
        if area > best_area:
            best, best_area = rg_id, area
    return best
