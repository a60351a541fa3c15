"""Hillshades of DEMs for feature tracking, with their illumination stated.

A DEM's elevations change between dates (the landform thickens, thins, advances), so the texture that is tracked is
the relief's shading, not the elevation. One light direction favours the ridges across it and can bias a match along
it; ``MULTIDIRECTIONAL`` blends four lights (225, 270, 315, 360 deg azimuth, the lights of gdaldem's
``-multidirectional``), each weighted by sin^2 of the angle between it and the slope's downslope direction (after
Mark 1992: lights across the slope show its relief best), so no single light direction dominates.

Conventions: azimuth of the light in degrees clockwise from north (where the light comes from), altitude above the
horizon in degrees; the DEM in metres on a projected grid (``dx_m``, ``dy_m`` positive); output 0-1.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from ..terrain.slope_aspect import horn_gradient

MULTIDIRECTIONAL = "multidirectional"
MULTIDIRECTIONAL_AZIMUTHS_DEG = (225.0, 270.0, 315.0, 360.0)


def _single(dz_deast: np.ndarray, dz_dnorth: np.ndarray, azimuth_deg: float, altitude_deg: float) -> np.ndarray:
    """Lambertian shading: cos of the angle between the surface normal and the light."""
    zenith, azimuth = math.radians(90.0 - altitude_deg), math.radians(azimuth_deg)
    light = np.array([math.sin(zenith) * math.sin(azimuth), math.sin(zenith) * math.cos(azimuth), math.cos(zenith)])
    norm = np.sqrt(1.0 + dz_deast**2 + dz_dnorth**2)
    return np.clip((-dz_deast * light[0] - dz_dnorth * light[1] + light[2]) / norm, 0.0, 1.0)


def hillshade(
    elevation_m: np.ndarray, dx_m: float, dy_m: float, azimuth_deg: Optional[float] = 315.0, altitude_deg: float = 45.0
) -> np.ndarray:
    """Hillshade of ``elevation_m`` (rows north to south): one light (``azimuth_deg``) or, with ``azimuth_deg=None``,
    the multidirectional blend; NaN where a neighbour is no-data.

    >>> flat = hillshade(np.zeros((4, 4)), 1.0, 1.0)
    >>> round(float(flat[1, 1]), 4) == round(math.sin(math.radians(45.0)), 4)
    True
    """
    z = np.pad(elevation_m.astype(np.float64), 1, mode="edge")
    rows = z.shape[0]
    dz_deast, dz_dnorth = horn_gradient(z, np.full(rows, dx_m), np.full(rows, dy_m))
    if azimuth_deg is not None:
        return _single(dz_deast, dz_dnorth, azimuth_deg, altitude_deg)
    aspect = np.arctan2(-dz_deast, -dz_dnorth)  # downslope azimuth, radians clockwise from north
    shades, weights = [], []
    for azimuth in MULTIDIRECTIONAL_AZIMUTHS_DEG:
        weights.append(np.sin(aspect - math.radians(azimuth)) ** 2)
        shades.append(_single(dz_deast, dz_dnorth, azimuth, altitude_deg))
    total = np.sum(weights, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        blend = np.sum([w * s for w, s in zip(weights, shades)], axis=0) / total
    return np.where(total > 1e-9, blend, np.mean(shades, axis=0))
