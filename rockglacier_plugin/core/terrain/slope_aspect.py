"""Slope and aspect from a DEM, in metres whatever the DEM's CRS.

Conventions (the one place they are written):

* ``slope_deg``: angle of the terrain from the horizontal, 0 (flat) to 90 degrees.
* ``aspect_deg``: the direction the slope *faces*, i.e. the azimuth of steepest descent, in
  degrees clockwise from north, 0-360 (0 = north-facing, 90 = east-facing). This is gdaldem's
  and QGIS's definition. Flat pixels have no aspect (NaN).
* Derivatives use Horn's (1981) 3 x 3 weighted differences, as gdaldem does (DOI
  10.1109/PROC.1981.11918). A pixel whose 3 x 3 neighbourhood touches no-data or the raster edge
  gets NaN, as gdaldem does without ``-compute_edges``.
* Pixel sizes are in metres: projected CRSs use the CRS's linear unit; geographic CRSs use the
  ellipsoid's radii of curvature at each row's latitude (east-west spacing shrinks with
  cos(latitude)), so slopes on EPSG:4326 DEMs are right without reprojecting. Elevations are
  taken to be metres.
"""

from __future__ import annotations

import math

import numpy as np

ASPECT_CLASSES: tuple[str, ...] = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


def horn_gradient(z_padded_m: np.ndarray, dx_m_padded: np.ndarray, dy_m_padded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Elevation gradient (dz/d_east, dz/d_north), dimensionless, by Horn's method.

    Args:
        z_padded_m: elevations, shape (rows + 2, cols + 2): the window plus one pixel on every
            side; rows run north to south, columns west to east; NaN = no-data.
        dx_m_padded, dy_m_padded: pixel sizes in metres per padded row, shape (rows + 2,).

    Returns:
        Two arrays of shape (rows, cols); NaN where any neighbour is NaN.
    """
    z = z_padded_m
    # Each row's east-west difference is scaled by that row's own spacing (they differ on
    # geographic grids); with a constant spacing this is exactly Horn's formula.
    east_diff = (z[:, 2:] - z[:, :-2]) / (2.0 * dx_m_padded[:, None])
    dz_deast = (east_diff[:-2] + 2.0 * east_diff[1:-1] + east_diff[2:]) / 4.0
    north_diff = z[:-2, :] - z[2:, :]  # upper row is further north
    dy_pair = (dy_m_padded[:-2] + dy_m_padded[2:])[:, None]  # distance from upper to lower row
    north_grad = north_diff / dy_pair
    dz_dnorth = (north_grad[:, :-2] + 2.0 * north_grad[:, 1:-1] + north_grad[:, 2:]) / 4.0
    return dz_deast, dz_dnorth


def slope_aspect_deg(dz_deast: np.ndarray, dz_dnorth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slope and aspect in degrees from the gradient (see the module's conventions).

    >>> s, a = slope_aspect_deg(np.array([-1.0]), np.array([0.0]))  # falls towards the east
    >>> float(s[0]), float(a[0])
    (45.0, 90.0)
    """
    gradient = np.hypot(dz_deast, dz_dnorth)
    slope_deg = np.degrees(np.arctan(gradient))
    with np.errstate(invalid="ignore"):
        aspect_deg = np.degrees(np.arctan2(-dz_deast, -dz_dnorth)) % 360.0
    aspect_deg = np.where(gradient > 0.0, aspect_deg, np.nan)
    return slope_deg, aspect_deg


def aspect_class(aspect_deg: float) -> str:
    """Eight-sector class of an aspect; N covers 337.5-22.5 degrees.

    >>> aspect_class(350.0), aspect_class(22.5), aspect_class(200.0)
    ('N', 'NE', 'S')
    """
    if aspect_deg is None or not math.isfinite(aspect_deg):
        raise ValueError(f"aspect_deg={aspect_deg!r} has no class; give a finite angle")
    index = int(math.floor(((aspect_deg % 360.0) + 22.5) / 45.0)) % 8
    return ASPECT_CLASSES[index]


def gaussian_kernel_radius_px(sigma_px: float) -> int:
    """Half-width of the Gaussian kernel used by ``smooth_gaussian`` (3 sigma)."""
    return int(math.ceil(3.0 * sigma_px)) if sigma_px > 0 else 0


def smooth_gaussian(z: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian smoothing that ignores NaN (normalised convolution); sigma 0 returns ``z``.

    Smoothing the DEM before slope and aspect damps pixel noise that would otherwise make the
    downslope projection factor noisy. Pixels within the kernel radius of the array edge are
    smoothed with what is available, so read the window padded by ``gaussian_kernel_radius_px``.
    """
    if sigma_px <= 0:
        return z
    radius = gaussian_kernel_radius_px(sigma_px)
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (offsets / sigma_px) ** 2)
    valid = np.isfinite(z)
    filled = np.where(valid, z, 0.0)

    def along(a: np.ndarray, axis: int) -> np.ndarray:
        # A sum of shifted copies: a few vectorised numpy operations for a small kernel.
        padded = np.pad(a, [(radius, radius) if ax == axis else (0, 0) for ax in range(2)])
        n = a.shape[axis]
        out = np.zeros_like(a)
        for k, weight_k in enumerate(kernel):
            out += weight_k * (padded[k : k + n] if axis == 0 else padded[:, k : k + n])
        return out

    def separable(a: np.ndarray) -> np.ndarray:
        return along(along(a, 1), 0)

    weight = separable(valid.astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        smoothed = separable(filled) / weight
    return np.where(valid, smoothed, np.nan)
