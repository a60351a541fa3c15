"""The two rasters of a tracking pair, read band by band so that memory stays bounded whatever their size.

``open_pair`` opens both (the second on the first's grid: a bilinear warped VRT when size, geotransform or CRS
differ), refuses degree grids and rasters that do not overlap. ``texture_rows`` reads the rows of one band of the
grid as the texture that is matched: the band mean of an image's first three bands, or a DEM's hillshade (computed
with one row of context above and below, so a band's hillshade equals the whole raster's on its rows).
``track_in_bands`` matches points a band of rows at a time: the rows of the points plus the template and search
margin, about ``BAND_ROWS`` + 2 x margin rows of both rasters in memory at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ..errors import InputRasterError
from ..progress import RunHooks
from ..raster.alignment import aligned_dataset
from ..raster.io import RasterGrid, open_raster, raster_grid
from .displacements import NO_MATCH, Tracked, TrackingSettings, track_points
from .hillshade import hillshade

IMAGE, DEM = "image", "dem"
#: Rows of points' centres per band (plus the template and search margin above and below).
BAND_ROWS = 1024
#: Longest side of the overview read to check that the rasters overlap.
OVERVIEW_PX = 512


@dataclass(frozen=True)
class Texture:
    """How a raster becomes the texture that is matched."""

    kind: str  # IMAGE or DEM
    illumination_azimuth_deg: Optional[float]  # DEMs: None = multidirectional


@dataclass
class OpenPair:
    """The two rasters of a tracking pair opened on one grid, read band by band."""

    first: Any  # GDAL datasets, the second on the first's grid
    second: Any
    grid: RasterGrid
    pixel_m: tuple[float, float]  # column and row sizes, metres
    paths: tuple[str, str]
    notes: list[str]


def _values(band: Any, *window: Any, **buffer: Any) -> np.ndarray:
    """A band's values (``ReadAsArray`` arguments) as float64, NaN on its no-data value."""
    values = band.ReadAsArray(*window, **buffer).astype(np.float64)
    nodata = band.GetNoDataValue()
    if nodata is not None and not math.isnan(nodata):
        values[values == nodata] = np.nan
    return values


def _overview(dataset: Any) -> np.ndarray:
    scale = max(dataset.RasterXSize, dataset.RasterYSize) / OVERVIEW_PX
    width, height = max(1, int(dataset.RasterXSize / max(scale, 1.0))), max(1, int(dataset.RasterYSize / max(scale, 1.0)))
    return _values(dataset.GetRasterBand(1), buf_xsize=width, buf_ysize=height)


def open_pair(first_path: str, second_path: str) -> OpenPair:
    """Both rasters on the first's grid (see the module docstring)."""
    first = open_raster(first_path, "first image")
    grid = raster_grid(first, 1, "first image")
    if grid.is_geographic:
        raise InputRasterError(
            f"'{first_path}' is in degrees of longitude and latitude: feature tracking measures metres. "
            "Reproject both rasters to a projected CRS (e.g. UTM) first (Raster > Projections > Warp)."
        )
    second, warped = aligned_dataset(second_path, grid, "second image")
    if not (np.isfinite(_overview(first)) & np.isfinite(_overview(second))).any():
        raise InputRasterError("The two rasters do not overlap (no pixel has data in both): give two images of the same place.")
    notes = [f"'{second_path}' was resampled (bilinear) onto the first image's grid."] if warped else []
    pixel_m = (abs(grid.geotransform[1]) * grid.linear_unit_m, abs(grid.geotransform[5]) * grid.linear_unit_m)
    return OpenPair(first, second, grid, pixel_m, (first_path, second_path), notes)


def texture_rows(pair: OpenPair, which: int, row0: int, row1: int, texture: Texture) -> np.ndarray:
    """Rows [row0, row1) of raster ``which`` (0 first, 1 second) as the matched texture, NaN on no-data."""
    dataset, path = (pair.first, pair.paths[0]) if which == 0 else (pair.second, pair.paths[1])
    context = 1 if texture.kind == DEM else 0
    top, bottom = max(0, row0 - context), min(pair.grid.height_px, row1 + context)
    arrays = [
        _values(dataset.GetRasterBand(index + 1), 0, top, pair.grid.width_px, bottom - top)
        for index in range(min(dataset.RasterCount, 3))
    ]
    data = np.mean(arrays, axis=0) if len(arrays) > 1 else arrays[0]
    if texture.kind == DEM:
        if dataset.RasterCount > 1:
            raise InputRasterError(f"'{path}' has {dataset.RasterCount} bands: a DEM has one. Give the images as kind 'image'.")
        data = hillshade(data, pair.pixel_m[0], pair.pixel_m[1], texture.illumination_azimuth_deg)
    return data[row0 - top : row0 - top + (row1 - row0)]


def _bands(rows: np.ndarray) -> list[np.ndarray]:
    """Indices of the points, grouped by bands of BAND_ROWS rows (in row order)."""
    order = np.argsort(rows, kind="stable")
    starts = (rows[order] // BAND_ROWS).astype(np.int64)
    edges = np.flatnonzero(np.diff(starts)) + 1
    return np.split(order, edges)


def track_in_bands(
    pair: OpenPair, texture: Texture, rows: np.ndarray, cols: np.ndarray, settings: TrackingSettings, hooks: RunHooks = RunHooks()
) -> Tracked:
    """``track_points`` over the whole grid, a band of rows at a time (progress per band; cancel between batches)."""
    n = len(rows)
    tracked = Tracked(np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan), [NO_MATCH] * n)
    margin = settings.template_px // 2 + settings.search_radius_px
    bands = _bands(rows)
    progress = hooks.progress(len(bands))
    for members in bands:
        if members.size:
            top = max(0, int(rows[members].min()) - margin)
            bottom = min(pair.grid.height_px, int(rows[members].max()) + margin + 1)
            first, second = (texture_rows(pair, which, top, bottom, texture) for which in (0, 1))
            part = track_points(first, second, rows[members] - top, cols[members], settings, hooks.cancelled)
            for name in ("d_col_px", "d_row_px", "correlation", "second_ratio"):
                getattr(tracked, name)[members] = getattr(part, name)
            for i, reason in zip(members, part.reason):
                tracked.reason[i] = reason
        progress.advance()
    return tracked
