"""Pixel sizes in metres for projected and geographic grids.

Projected CRSs use the CRS's linear unit; geographic CRSs use the ellipsoid's radii of curvature
at each row's latitude (east-west spacing shrinks with cos(latitude)), so slopes, areas and
context buffers on EPSG:4326 rasters are right without reprojecting.
"""

from __future__ import annotations

import math

import numpy as np

from .io import RasterGrid
from .windows import GeoTransform, Window


def pixel_centre_y(grid_transform: GeoTransform, rows: np.ndarray) -> np.ndarray:
    """Y coordinate (CRS units) of the centre of each row index."""
    return grid_transform[3] + (rows + 0.5) * grid_transform[5]


def ellipsoid_radii_m(
    lat_deg: np.ndarray | float, semi_major_m: float, inverse_flattening: float
) -> tuple[np.ndarray, np.ndarray]:
    """Meridional (north-south) and prime-vertical (east-west) radii of curvature in metres.

    >>> m, n = ellipsoid_radii_m(0.0, 6378137.0, 298.257223563)
    >>> round(float(n))
    6378137
    """
    flattening = 0.0 if inverse_flattening == 0 else 1.0 / inverse_flattening
    e2 = flattening * (2.0 - flattening)
    sin_lat = np.sin(np.radians(lat_deg))
    w = np.sqrt(1.0 - e2 * sin_lat**2)
    meridional_m = semi_major_m * (1.0 - e2) / w**3
    prime_vertical_m = semi_major_m / w
    return np.asarray(meridional_m), np.asarray(prime_vertical_m)


def row_pixel_sizes_m(grid: RasterGrid, window: Window) -> tuple[np.ndarray, np.ndarray]:
    """East-west and north-south pixel sizes in metres for each row of ``window``.

    Returns two arrays of shape (window.height_px,).
    """
    rows = np.arange(window.row_off, window.row_off + window.height_px, dtype=np.float64)
    dx_units = abs(grid.geotransform[1])
    dy_units = abs(grid.geotransform[5])
    if not grid.is_geographic:
        ones = np.ones_like(rows)
        return ones * dx_units * grid.linear_unit_m, ones * dy_units * grid.linear_unit_m
    lat_deg = np.clip(pixel_centre_y(grid.geotransform, rows), -89.999, 89.999)
    meridional_m, prime_vertical_m = ellipsoid_radii_m(lat_deg, grid.semi_major_m, grid.inverse_flattening)
    dx_m = prime_vertical_m * np.cos(np.radians(lat_deg)) * math.radians(dx_units)
    dy_m = meridional_m * math.radians(dy_units)
    return dx_m, dy_m
