"""Is the reflectance plausible once the offset is applied? The two known catalogue errors, caught from the numbers.

A Sentinel-2 L2A offset of -1000 DN applied twice (an item whose flag says the numbers are raw when they are already
harmonised) shifts every reflectance down by 0.1: shadow, water and dark rock go below zero. An offset left out (a
product of baseline 04.00 or later read as an older one) shifts it up by 0.1: nothing in the scene is darker than 0.1.

Rules, on the darkest band of a subsample of the valid pixels (measured on 1,343 real Sentinel-2 chips of the Chilean
Andes, shared alcazar90 dataset, rendered back to reflectance; rock, snow, cast shadow and lakes; README, "From a
download to candidates"):

- **offset taken twice**: more than 5 % of the reflectances below 0, or more than 0.1 % below -0.05 (Sen2Cor keeps
  slightly negative values in deep shadow, so a few below 0 are normal). No real chip (1.6 km2 each) nor area of
  chips raised it; with the offset taken twice 51 % of single chips did, 82 % of 7 km2 areas, 99 % of 26 km2 and all
  of 105 km2 (300 random areas each).
- **offset missing**: the darkest 0.1 % at or above 0.1. A single snow-covered or sunlit chip can be that bright
  (16 % of real chips), so below ``MIN_AREA_FOR_ERROR_KM2`` it is a warning; from 26 km2 no real area raised it and
  every area with the offset left out did.

When the offset came from the user (``L2A_ADD_OFFSET``), a failed check is a warning: the user has overridden the
catalogue on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import InputRasterError
from .calibration import Calibration

#: "taken twice": share of valid reflectances below 0, and below -0.05, above which the offset was applied twice.
MAX_SHARE_BELOW_ZERO = 0.05
MAX_SHARE_BELOW_MINUS_005 = 0.001
#: "missing": the 0.1th percentile of the darkest band at or above this.
MIN_DARKEST_REFLECTANCE = 0.1
DARKEST_PERCENTILE = 0.1
#: Below this area the "missing" rule only warns (a sunlit or snowy chip is legitimately that bright).
MIN_AREA_FOR_ERROR_KM2 = 25.0
#: The subsample's longer side, px.
SAMPLE_PX = 1024


@dataclass(frozen=True)
class ReflectanceCheck:
    """What the numbers say of the offset; ``problem`` is '' when they look right."""

    share_below_zero: float
    share_below_minus_005: float
    darkest: float  # DARKEST_PERCENTILE of the darkest band
    area_km2: float
    problem: str  # "", "twice" or "missing"

    def describe(self) -> str:
        """The check's numbers for the log."""
        return (
            f"{100 * self.share_below_zero:.2f} % of valid reflectances below 0 and {100 * self.share_below_minus_005:.3f} % "
            f"below -0.05; the darkest {DARKEST_PERCENTILE:g} % at {self.darkest:.3f} (over {self.area_km2:.1f} km2)"
        )


def judge(reflectance: np.ndarray, area_km2: float) -> ReflectanceCheck:
    """The check on ``reflectance`` (bands, pixels; NaN = no data) covering ``area_km2``.

    >>> rho = np.array([[0.02, 0.05, 0.3, 0.9] * 250])
    >>> judge(rho, 30.0).problem, judge(rho - 0.1, 30.0).problem, judge(rho + 0.1, 30.0).problem
    ('', 'twice', 'missing')
    """
    valid = np.all(np.isfinite(reflectance), axis=0)
    values = reflectance[:, valid]
    if values.size == 0:
        return ReflectanceCheck(0.0, 0.0, float("nan"), area_km2, "")
    below_zero = float((values < 0.0).mean())
    below_005 = float((values < -0.05).mean())
    darkest = float(np.percentile(values.min(axis=0), DARKEST_PERCENTILE))
    problem = ""
    if below_zero > MAX_SHARE_BELOW_ZERO or below_005 > MAX_SHARE_BELOW_MINUS_005:
        problem = "twice"
    elif darkest >= MIN_DARKEST_REFLECTANCE:
        problem = "missing"
    return ReflectanceCheck(below_zero, below_005, darkest, area_km2, problem)


def sample_reflectance(dataset: Any, bands: Sequence[int], calibrations: Sequence[Calibration]) -> tuple[np.ndarray, float]:
    """Reflectance of the bands on a grid of at most ``SAMPLE_PX`` a side (nearest pixels, no-data as NaN), and the valid
    area in km2 at full resolution (pixel size from the geotransform, metres assumed for a projected CRS, degrees
    converted at the raster's centre for a geographic one)."""
    width, height = dataset.RasterXSize, dataset.RasterYSize
    step = max(1, -(-max(width, height) // SAMPLE_PX))
    out_w, out_h = max(1, width // step), max(1, height // step)
    stack = []
    for band_index, calibration in zip(bands, calibrations):
        band = dataset.GetRasterBand(band_index)
        raw = band.ReadAsArray(0, 0, width, height, buf_xsize=out_w, buf_ysize=out_h).astype(np.float64)
        nodata = band.GetNoDataValue()
        invalid = ~np.isfinite(raw) | ((raw == nodata) if nodata is not None else False)
        stack.append(np.where(invalid, np.nan, calibration.reflectance(raw)))
    reflectance = np.stack(stack).reshape(len(stack), -1)
    valid_share = float(np.all(np.isfinite(reflectance), axis=0).mean())
    return reflectance, valid_share * _area_km2(dataset)


def _area_km2(dataset: Any) -> float:
    from osgeo import osr

    g = dataset.GetGeoTransform()
    width_m, height_m = abs(g[1]) * dataset.RasterXSize, abs(g[5]) * dataset.RasterYSize
    srs = osr.SpatialReference(wkt=dataset.GetProjection()) if dataset.GetProjection() else None
    if srs is not None and srs.IsGeographic():
        latitude = np.radians(g[3] + g[5] * dataset.RasterYSize / 2.0)
        width_m, height_m = width_m * 111320.0 * np.cos(latitude), height_m * 110574.0
    elif srs is not None:
        width_m, height_m = width_m * srs.GetLinearUnits(), height_m * srs.GetLinearUnits()
    return width_m * height_m / 1e6


def check_offset(dataset: Any, bands: Sequence[int], calibrations: Sequence[Calibration], user_given: bool) -> Optional[str]:
    """Stop (InputRasterError) when the numbers show the offset taken twice, or missing over a large enough area; a
    warning line otherwise when something is off (or the user's L2A_ADD_OFFSET overrides); None when all looks right."""
    reflectance, area_km2 = sample_reflectance(dataset, bands, calibrations)
    check = judge(reflectance, area_km2)
    if not check.problem:
        return None
    source = calibrations[0].source
    if check.problem == "twice":
        what = (
            f"the reflectance looks offset twice: {check.describe()}, where real scenes have almost none below 0. The offset "
            f"from {source} ({calibrations[0].describe()}) was probably already applied to these numbers (known for some "
            "Earth Search items whose earthsearch:boa_offset_applied is wrong)."
        )
        fix = "If the numbers are harmonised (reflectance = DN / 10000), give L2A_ADD_OFFSET=0"
    else:
        what = (
            f"the reflectance looks offset missing: {check.describe()}, where real scenes have shadow or water darker than "
            f"0.1. The numbers probably still carry the -1000 DN offset of processing baseline 04.00 and later, which "
            f"{source} ({calibrations[0].describe()}) did not apply."
        )
        fix = "If the product is of baseline 04.00 or later, give L2A_ADD_OFFSET=-1000"
    if user_given:
        return f"Warning: {what} Kept, as L2A_ADD_OFFSET was given."
    if check.problem == "missing" and area_km2 < MIN_AREA_FOR_ERROR_KM2:
        return (
            f"Warning: {what} Over {area_km2:.1f} km2 this can also be a sunlit or snow-covered area (below "
            f"{MIN_AREA_FOR_ERROR_KM2:g} km2 it is not held an error). {fix} if it is the offset."
        )
    raise InputRasterError(
        f"Stopped: {what} {fix} (it overrides an Earth Search flag; a product or STAC item that states "
        "another offset contradicts it: give its band files as a stack with L2A_ADD_OFFSET)."
    )
