"""The tracked velocity as a raster: one cell per grid point (the cell size is the grid spacing), two bands.

Band 1 ``rate_m_yr``: the displacement rate of the valid points above the level of detection, m/yr; NaN elsewhere (no
match, rejected, or within the LoD: a value there would be the images' misfit, not motion). Band 2 ``direction_deg``:
the azimuth the displacement points to, degrees clockwise from north, on the same cells.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ParameterError
from ..raster.io import BandInfo, create_geotiff

BANDS = (
    ("rate_m_yr", "m/yr", "displacement rate of the valid points above the LoD, m/yr"),
    ("direction_deg", "deg", "azimuth of the displacement, degrees clockwise from north"),
)


def velocity_grids(result: Any) -> tuple[np.ndarray, np.ndarray]:
    """(rate m/yr, direction deg) on the result's point grid, NaN where not valid or within the LoD."""
    grid = result.point_grid
    if grid is None:
        raise ParameterError("A velocity raster needs the regular grid of points (not points given one by one).")
    p = result.points
    shown = result.above_lod
    shape = (grid.height_px, grid.width_px)
    rate = np.where(shown, p.rate_m_per_yr, np.nan).reshape(shape)
    direction = np.where(shown, p.direction_deg, np.nan).reshape(shape)
    return rate, direction


def write_velocity_raster(path: str, result: Any) -> str:
    """Write the two bands (module docstring) as a float32 GeoTIFF on the point grid; returns ``path``."""
    from osgeo import gdal

    grid = result.point_grid
    rate, direction = velocity_grids(result)
    dataset = create_geotiff(
        path,
        (grid.width_px, grid.height_px),
        grid.geotransform,
        grid.crs_wkt,
        gdal.GDT_Float32,
        ["COMPRESS=DEFLATE", "TILED=YES"],
        bands=2,
        band_info=BandInfo(nodata=float("nan")),
    )
    for index, (values, (name, unit, description)) in enumerate(zip((rate, direction), BANDS), start=1):
        band = dataset.GetRasterBand(index)
        band.WriteArray(values.astype(np.float32))
        band.SetDescription(name)
        band.SetUnitType(unit)
        band.SetMetadataItem("DESCRIPTION", description)
    dataset.FlushCache()
    dataset = None
    return path
