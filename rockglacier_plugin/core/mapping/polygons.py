"""Candidate polygons from a segmentation mask: 8-connected, holes kept, small specks dropped,
areas in metres whatever the CRS, mean probability, and the existing polygon each one overlaps."""

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


@dataclass
class Candidate:
    geometry_wkb: bytes  # in the mask's CRS
    area_km2: float
    lon: float
    lat: float
    dl_prob_mean: Optional[float]
    match_rg_id: Optional[str]

    def inventory_values(self, rg_id: str) -> dict[str, Any]:
        """The inventory fields of this candidate (``source`` deep_learning, ``review`` candidate)."""
        return {"rg_id": rg_id, "source": Source.DEEP_LEARNING.value, "review": Review.CANDIDATE.value,
                "area_km2": self.area_km2, "lon": self.lon, "lat": self.lat, "dl_prob_mean": self.dl_prob_mean,
                "match_rg_id": self.match_rg_id}


def _binary_copy(mask_path: str) -> str:
    """A 0/1 copy of the mask (1 = rock glacier, no-data 0), written block by block, so that
    GDAL's polygonizer traces only rock-glacier regions."""
    from osgeo import gdal

    source = open_raster(mask_path, "mask")
    band = source.GetRasterBand(1)
    handle, path = tempfile.mkstemp(suffix=".tif", prefix="rockglacier-binary-")
    os.close(handle)
    target = create_geotiff(path, (source.RasterXSize, source.RasterYSize), source.GetGeoTransform(), source.GetProjection(),
                            gdal.GDT_Byte, ["TILED=YES", "COMPRESS=ZSTD", "ZSTD_LEVEL=1"], band_info=BandInfo(nodata=0))
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


def polygonize_mask(mask_path: str, on_progress: Optional[ProgressCallback] = None,
                    is_cancelled: Optional[CancelCheck] = None) -> list[Any]:
    """8-connected rock-glacier regions of the mask as OGR polygons (holes kept), in its CRS;
    GDAL's tracing reports progress and stops on cancel (``OperationCancelled``)."""
    from osgeo import gdal, ogr

    binary = _binary_copy(mask_path)
    try:
        dataset = gdal.Open(binary)
        band = dataset.GetRasterBand(1)
        memory = ogr.GetDriverByName("Memory").CreateDataSource("")
        srs = spatial_reference(dataset.GetProjection(), "mask")
        layer = memory.CreateLayer("candidates", srs, ogr.wkbPolygon)
        layer.CreateField(ogr.FieldDefn("value", ogr.OFTInteger))
        try:
            status = gdal.Polygonize(band, band.GetMaskBand(), layer, 0, ["8CONNECTED=8"],
                                     callback=_gdal_callback(on_progress, is_cancelled))
        except RuntimeError as exc:
            if is_cancelled is not None and is_cancelled():
                raise OperationCancelled("Cancelled by the user while tracing polygons; no output was written.") from exc
            raise
        if status != 0 and is_cancelled is not None and is_cancelled():
            raise OperationCancelled("Cancelled by the user while tracing polygons; no output was written.")
        traced = [valid_traced_polygon(feature.GetGeometryRef().Clone()) for feature in layer if feature.GetField("value") == 1]
        geometries = [geometry for geometry in traced if geometry is not None]
        dataset = None
    finally:
        os.remove(binary)
    return geometries


def candidates_from_mask(
    mask_path: str, probability_path: str, min_area_km2: float,
    existing_wkb: Optional[Sequence[Optional[bytes]]] = None, existing_ids: Optional[Sequence[Optional[str]]] = None,
    existing_crs: Optional[str] = None, on_progress: Optional[ProgressCallback] = None,
    is_cancelled: Optional[CancelCheck] = None,
) -> tuple[list[Candidate], int]:
    """Candidates at least ``min_area_km2`` large, and how many smaller specks were dropped."""
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
    geometries = polygonize_mask(mask_path, (lambda f: on_progress(0.5 * f)) if on_progress else None, is_cancelled)
    progress = Progress(max(len(geometries), 1), (lambda f: on_progress(0.5 + 0.5 * f)) if on_progress else None, is_cancelled)
    candidates, dropped = [], 0
    for geometry in geometries:
        footprint = projector.footprint(transformed(geometry, to_wgs84))
        if footprint.area_km2 < min_area_km2:
            dropped += 1
            progress.advance()
            continue
        candidates.append(Candidate(
            geometry.ExportToWkb(), footprint.area_km2, footprint.lon_deg, footprint.lat_deg,
            _mean_inside(geometry, band, grid), _match(geometry, existing),
        ))
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
