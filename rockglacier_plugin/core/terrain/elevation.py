"""A DEM's elevations in metres: the vertical unit read from the file, and a plausibility check.

Every DEM reader of the plugin (``dem_statistics`` for the attributes, ``insar.scene`` for the
downslope projection) takes its elevations through ``DemUnit``: the band's unit tag
(``raster.units``) in feet or US survey feet is converted to metres and the log says so; a tag that
is no length unit is refused; a DEM without a tag is taken to be in metres, as nearly all are, and
``plausibility_warnings`` checks that on a sample of the DEM: elevations below -500 m or above
9,000 m, or a median slope steeper than any mountain range, say which cause is likely (feet, an unset
no-data value, a CRS whose horizontal unit is wrong).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from typing import Any, Optional

import numpy as np

from ..errors import InputRasterError
from ..raster.io import RasterGrid
from ..raster.pixel_size import row_pixel_sizes_m
from ..raster.units import band_unit, describe_unit, elevation_metres_per_unit
from .slope_aspect import horn_gradient, slope_aspect_deg

#: Elevations outside this range exist nowhere on land (Dead Sea shore -430 m, Everest 8,849 m).
PLAUSIBLE_ELEVATION_M = (-500.0, 9000.0)
#: A median slope steeper than this over a whole DEM exists in no mountain range.
PLAUSIBLE_MEDIAN_SLOPE_DEG = 50.0
_SAMPLE_PX = 512


@dataclass(frozen=True)
class DemUnit:
    """How a DEM band's values become metres."""

    metres_per_unit: float
    tag: str
    note: Optional[str]  # what the log says when values are converted

    def to_metres(self, values: np.ndarray) -> np.ndarray:
        """Elevations in metres (feet converted by the unit read from the file)."""
        return values if self.metres_per_unit == 1.0 else values * self.metres_per_unit


def dem_unit(dataset: Any, band_index: int, path: str) -> DemUnit:
    """The vertical unit of band ``band_index`` of a DEM, from its unit tag (no tag: metres)."""
    tag = band_unit(dataset, band_index)
    name = os.path.basename(str(path))
    if not tag:
        return DemUnit(1.0, "", None)
    factor = elevation_metres_per_unit(tag)
    if factor is None:
        raise InputRasterError(
            f"The DEM '{name}' has the {describe_unit(tag)}, which is no unit of elevation. If its values are metres, "
            f"set the tag right (gdal_edit.py -units m {name}); if feet, -units ft."
        )
    note = (
        None
        if factor == 1.0
        else (f"The DEM '{name}' is in {tag} (its unit tag): elevations converted to metres (x {factor:.7g}).")
    )
    return DemUnit(factor, tag, note)


def plausibility_warnings(dataset: Any, band_index: int, grid: RasterGrid, unit: DemUnit, path: str) -> list[str]:
    """Warnings when a sample of the DEM (at most 512 px a side) is implausible as metres on Earth."""
    step = max(1, math.ceil(max(grid.width_px, grid.height_px) / _SAMPLE_PX))
    out_w, out_h = math.ceil(grid.width_px / step), math.ceil(grid.height_px / step)
    values = (
        dataset.GetRasterBand(band_index)
        .ReadAsArray(0, 0, grid.width_px, grid.height_px, buf_xsize=out_w, buf_ysize=out_h)
        .astype(np.float64)
    )
    if grid.nodata is not None and not math.isnan(grid.nodata):
        values[values == grid.nodata] = np.nan
    elevation = unit.to_metres(values)
    if not np.isfinite(elevation).any():
        return [f"The DEM '{os.path.basename(str(path))}' has no elevation value (every pixel is no-data)."]
    return _range_warning(elevation, unit, path) + _slope_warning(elevation, grid, step, unit, path)


def _range_warning(elevation_m: np.ndarray, unit: DemUnit, path: str) -> list[str]:
    low, high = float(np.nanmin(elevation_m)), float(np.nanmax(elevation_m))
    if PLAUSIBLE_ELEVATION_M[0] <= low and high <= PLAUSIBLE_ELEVATION_M[1]:
        return []
    name = os.path.basename(str(path))
    causes = ["an unset no-data value (set it: gdal_edit.py -a_nodata VALUE " + name + ")"]
    if high > PLAUSIBLE_ELEVATION_M[1] and not unit.tag:
        causes.insert(0, f"elevations in feet without a unit tag (tag them: gdal_edit.py -units ft {name})")
    return [
        f"The DEM '{name}' reaches from {low:,.0f} m to {high:,.0f} m, outside any elevation on Earth "
        f"({PLAUSIBLE_ELEVATION_M[0]:,.0f} to {PLAUSIBLE_ELEVATION_M[1]:,.0f} m); likely causes: {'; '.join(causes)}. "
        "Elevations, slopes and velocities from it are wrong until it is fixed."
    ]


def _slope_warning(elevation_m: np.ndarray, grid: RasterGrid, step: int, unit: DemUnit, path: str) -> list[str]:
    if min(elevation_m.shape) < 3:
        return []
    x0, dx, _, y0, _, dy = grid.geotransform
    coarse = replace(
        grid, width_px=elevation_m.shape[1], height_px=elevation_m.shape[0], geotransform=(x0, dx * step, 0.0, y0, 0.0, dy * step)
    )
    dx_m, dy_m = row_pixel_sizes_m(coarse, coarse.full_window)
    slope, _ = slope_aspect_deg(*horn_gradient(elevation_m, dx_m, dy_m))
    finite = slope[np.isfinite(slope)]
    if finite.size < 20 or float(np.median(finite)) <= PLAUSIBLE_MEDIAN_SLOPE_DEG:
        return []
    name = os.path.basename(str(path))
    feet = "" if unit.tag else f"elevations in feet without a unit tag (tag them: gdal_edit.py -units ft {name}), or "
    return [
        f"The DEM '{name}' has a median slope of {float(np.median(finite)):.0f} deg, steeper than any mountain range: "
        f"likely {feet}a CRS whose horizontal unit is not the one of its coordinates. Slopes, aspects and downslope "
        "velocities from it are wrong until it is fixed."
    ]
