"""Statistics of DEM values inside one polygon, weighted by covered area, accumulated by strips.

Weights are the covered fraction of each pixel times the pixel's area in m2 (pixel areas differ
by row on geographic grids), so a pixel half inside a polygon counts half. Minimum and maximum
use the pixels whose centre is inside (the rule of QGIS's zonal statistics and GDAL's
rasterizer), and fall back to every touched pixel when there is none, e.g. for a polygon smaller
than a pixel.

The accumulator takes strips of rows one after another, so a polygon larger than memory allows
is summarised without holding its whole window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass(frozen=True)
class ZonalStats:
    """Summary of one polygon.

    Attributes:
        covered_area_m2: polygon area that falls on DEM pixels with a value.
        total_area_m2: polygon area counted on the pixel grid, no-data and outside included.
        elev_min_m, elev_max_m, elev_mean_m: elevation statistics, None without valid pixels.
        slope_mean_deg: area-weighted mean slope, None when no pixel has a slope.
        aspect_deg: circular mean of the aspect (see ``slope_aspect``), None when undefined.
    """

    covered_area_m2: float
    total_area_m2: float
    elev_min_m: Optional[float]
    elev_max_m: Optional[float]
    elev_mean_m: Optional[float]
    slope_mean_deg: Optional[float]
    aspect_deg: Optional[float]

    @property
    def valid_fraction(self) -> float:
        """Share of the polygon's area with DEM values (0-1)."""
        return 0.0 if self.total_area_m2 <= 0 else self.covered_area_m2 / self.total_area_m2


def circular_mean_deg(east_sum: float, north_sum: float, weight_sum: float) -> Optional[float]:
    """Direction of a summed unit-vector resultant, degrees clockwise from north, 0-360.

    None when the vectors cancel (resultant below 1e-9 of the weight) or there is no weight.

    >>> circular_mean_deg(1.0, 0.0, 1.0)
    90.0
    """
    if weight_sum <= 0 or math.hypot(east_sum, north_sum) <= 1e-9 * weight_sum:
        return None
    return math.degrees(math.atan2(east_sum, north_sum)) % 360.0


class ZonalAccumulator:
    """Adds strips of pixels and returns a ``ZonalStats``."""

    def __init__(self) -> None:
        self.total_weight = 0.0
        self.elev_weight = 0.0
        self.elev_sum = 0.0
        self.slope_weight = 0.0
        self.slope_sum = 0.0
        self.aspect_weight = 0.0
        self.aspect_east = 0.0
        self.aspect_north = 0.0
        self.core_min = math.inf
        self.core_max = -math.inf
        self.touched_min = math.inf
        self.touched_max = -math.inf

    def add(
        self,
        elevation_m: np.ndarray,
        dz_deast: np.ndarray,
        dz_dnorth: np.ndarray,
        coverage: np.ndarray,
        pixel_area_m2: np.ndarray,
        centre_inside: np.ndarray,
    ) -> None:
        """Add one strip of pixels; all arrays share one shape, NaN = no value.

        Args:
            elevation_m: DEM values.
            dz_deast, dz_dnorth: elevation gradient (see ``terrain.horn_gradient``); the slope is
                atan(|gradient|) and the aspect the direction of -gradient, as in ``slope_aspect``.
            coverage: covered fraction of each pixel.
            pixel_area_m2: area of each pixel.
            centre_inside: pixels whose centre lies inside the polygon (for min and max).
        """
        inside = (coverage > 0) | centre_inside
        if not inside.any():
            return
        # Work on the 1-D list of touched pixels: fewer, smaller numpy calls per polygon.
        cover = coverage[inside]
        core_pixels = centre_inside[inside]
        weights = cover * pixel_area_m2[inside]
        z = elevation_m[inside]
        self.total_weight += float(weights.sum())
        has_elev = np.isfinite(z)
        if has_elev.any():
            w, zz = weights[has_elev], z[has_elev]
            self.elev_weight += float(w.sum())
            self.elev_sum += float(np.dot(zz, w))
            self.touched_min = min(self.touched_min, float(zz.min()))
            self.touched_max = max(self.touched_max, float(zz.max()))
            core = core_pixels[has_elev]
            if core.any():
                self.core_min = min(self.core_min, float(zz[core].min()))
                self.core_max = max(self.core_max, float(zz[core].max()))
        gx, gy = dz_deast[inside], dz_dnorth[inside]
        gradient = np.hypot(gx, gy)
        has_slope = np.isfinite(gradient)
        if has_slope.any():
            w, g = weights[has_slope], gradient[has_slope]
            self.slope_weight += float(w.sum())
            self.slope_sum += float(np.dot(np.degrees(np.arctan(g)), w))
            sloped = g > 0.0
            if sloped.any():
                w, g = w[sloped], g[sloped]
                # Unit vector of steepest descent: (-dz/dx, -dz/dy) / |gradient|.
                self.aspect_weight += float(w.sum())
                self.aspect_east += float(np.dot(-gx[has_slope][sloped] / g, w))
                self.aspect_north += float(np.dot(-gy[has_slope][sloped] / g, w))

    def result(self) -> ZonalStats:
        """The statistics of everything added so far."""
        elev_min: Optional[float]
        elev_max: Optional[float]
        if math.isfinite(self.core_min):
            elev_min, elev_max = self.core_min, self.core_max
        elif math.isfinite(self.touched_min):
            elev_min, elev_max = self.touched_min, self.touched_max
        else:
            elev_min = elev_max = None
        return ZonalStats(
            covered_area_m2=self.elev_weight,
            total_area_m2=self.total_weight,
            elev_min_m=elev_min,
            elev_max_m=elev_max,
            elev_mean_m=self.elev_sum / self.elev_weight if self.elev_weight > 0 else None,
            slope_mean_deg=self.slope_sum / self.slope_weight if self.slope_weight > 0 else None,
            aspect_deg=circular_mean_deg(self.aspect_east, self.aspect_north, self.aspect_weight),
        )
