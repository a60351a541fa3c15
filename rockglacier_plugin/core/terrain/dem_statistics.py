"""Elevation, slope and aspect statistics of polygons on one DEM, reading only their windows.

For each polygon the DEM is read over the polygon's bounding window plus one pixel (for Horn's
3 x 3 derivatives), by strips of rows, so the cost follows the polygons' size and never the
raster's. Polygons are given in the DEM's CRS. Elevations are read in metres (``elevation``: a DEM tagged
in feet is converted).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..raster.coverage import coverage_and_centres
from ..raster.geometry import spatial_reference
from ..raster.io import RasterGrid, open_raster, raster_grid, read_window
from ..raster.pixel_size import row_pixel_sizes_m
from ..raster.windows import Window, window_from_bounds
from .elevation import dem_unit, plausibility_warnings
from .slope_aspect import horn_gradient
from .zonal import ZonalAccumulator, ZonalStats

STRIP_ROWS = 1024


class DemZonalStatistics:
    """Zonal statistics of polygons on one band of a DEM file.

    Args:
        dem_path: any GDAL raster; no-data and NaN are ignored.
        band_index: 1-based band holding elevations (metres, or feet with a unit tag that says so).

    Attributes:
        notes: what the log should say about the DEM (unit conversion, implausible values).
    """

    def __init__(self, dem_path: str, band_index: int = 1) -> None:
        self.dataset = open_raster(dem_path, "DEM")
        self.grid: RasterGrid = raster_grid(self.dataset, band_index, "DEM")
        self.band = self.dataset.GetRasterBand(band_index)
        self.srs = spatial_reference(self.grid.crs_wkt, "DEM")
        self.unit = dem_unit(self.dataset, band_index, dem_path)
        self.notes = [self.unit.note] if self.unit.note else []
        self.warnings = plausibility_warnings(self.dataset, band_index, self.grid, self.unit, dem_path)

    def polygon_window(self, geometry_dem: Any) -> Window:
        """Pixels covering the polygon's bounding box (may reach outside the DEM)."""
        xmin, xmax, ymin, ymax = geometry_dem.GetEnvelope()
        return window_from_bounds(xmin, ymin, xmax, ymax, self.grid.geotransform)

    def statistics(self, geometry_dem: Any) -> ZonalStats:
        """Area-weighted elevation, slope and aspect statistics of one polygon."""
        window = self.polygon_window(geometry_dem)
        accumulator = ZonalAccumulator()
        for row_start in range(0, window.height_px, STRIP_ROWS):
            strip = Window(
                window.col_off,
                window.row_off + row_start,
                window.width_px,
                min(STRIP_ROWS, window.height_px - row_start),
            )
            coverage, centres = coverage_and_centres(geometry_dem, strip, self.grid.geotransform)
            if not coverage.any():
                continue
            padded = strip.padded(1)
            elevation_padded = self.unit.to_metres(read_window(self.band, self.grid, padded))
            dx_m, dy_m = row_pixel_sizes_m(self.grid, padded)
            dz_deast, dz_dnorth = horn_gradient(elevation_padded, dx_m, dy_m)
            pixel_area_m2 = np.broadcast_to((dx_m * dy_m)[1:-1, None], coverage.shape)
            accumulator.add(elevation_padded[1:-1, 1:-1], dz_deast, dz_dnorth, coverage, pixel_area_m2, centres)
        return accumulator.result()
