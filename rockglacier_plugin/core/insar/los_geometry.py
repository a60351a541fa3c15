"""Radar line-of-sight (LOS) geometry and the projection of LOS motion onto the downslope direction.

Conventions (the one place they are written; ENU = east, north, up):

* ``incidence_deg`` (theta): angle between the LOS and the local vertical at the ground, 0-90.
  Typical values: ALOS-1 PALSAR FBS/FBD 34-41 deg (38.7 at scene centre), Sentinel-1 IW 30-46 deg.
* ``los_azimuth_deg`` (alpha): azimuth of the ground -> satellite vector projected on the
  horizontal plane, measured from north, **anticlockwise positive** -- ISCE2's ``los.rdr`` band 2.
  Right-looking ascending tracks give about +102 deg (the satellite lies to the west-south-west
  of the ground point); descending tracks about -102 deg (satellite to the east-south-east).
* ``heading_deg``: flight direction clockwise from north (MintPy's HEADING): ALOS/Sentinel-1
  ascending about -10 to -13 deg, descending about -167 to -170 deg. For a right-looking radar
  alpha = 90 - heading; for a left-looking one alpha = -90 - heading (``los_azimuth_from_heading``).
* LOS unit vector from ground to satellite (MintPy's ``get_unit_vector4component_of_interest``):
  ``e_los = (-sin(theta) sin(alpha), sin(theta) cos(alpha), cos(theta))``.
* Downslope unit vector for slope s and aspect A (A as in ``terrain.slope_aspect``: the direction the slope
  faces, clockwise from north): ``e_dslp = (sin(A) cos(s), cos(A) cos(s), -sin(s))``.
* Projection factor ``g = e_los . e_dslp = sin(theta) cos(s) cos(alpha + A) - cos(theta) sin(s)``.
  Motion of ``v_dslp`` along the slope gives a LOS velocity towards the satellite of
  ``v_los = g * v_dslp``, hence ``v_dslp = v_los / g``. On a slope facing the satellite
  (A = -alpha) g = sin(theta - s): creep moves towards the satellite while s < theta, and g = 0
  when s = theta (the motion is perpendicular to the LOS and invisible), so small |g| must be
  masked. On a slope facing away from it g = -sin(theta + s): creep moves away.
* Slope in the range plane, facing the radar positive: ``tan(s_r) = tan(s) cos(alpha + A)``.
  Layover where ``s_r > theta`` (the slope faces the radar more steeply than the LOS), radar
  shadow where ``-s_r > 90 - theta`` (it faces away more steeply than the LOS grazes it): in both
  the phase does not measure that ground (``layover_or_shadow``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..errors import ParameterError

ArrayLike = np.ndarray | float


def los_azimuth_from_heading(heading_deg: ArrayLike, right_looking: bool = True) -> ArrayLike:
    """ISCE2-style LOS azimuth (anticlockwise from north, ground -> satellite) from the heading.

    >>> float(los_azimuth_from_heading(-12.0)), float(los_azimuth_from_heading(-168.0))
    (102.0, -102.0)
    """
    alpha = (90.0 if right_looking else -90.0) - np.asarray(heading_deg, dtype=np.float64)
    return (alpha + 180.0) % 360.0 - 180.0


def los_unit_vector_enu(incidence_deg: ArrayLike, los_azimuth_deg: ArrayLike) -> tuple[ArrayLike, ArrayLike, ArrayLike]:
    """Ground -> satellite unit vector (east, north, up); broadcasts over arrays.

    >>> e, n, u = los_unit_vector_enu(0.0, 0.0)
    >>> float(e), float(n), float(u)
    (-0.0, 0.0, 1.0)
    """
    theta = np.radians(incidence_deg)
    alpha = np.radians(los_azimuth_deg)
    return -np.sin(theta) * np.sin(alpha), np.sin(theta) * np.cos(alpha), np.cos(theta)


def downslope_unit_vector_enu(slope_deg: ArrayLike, aspect_deg: ArrayLike) -> tuple[ArrayLike, ArrayLike, ArrayLike]:
    """Unit vector pointing down the slope (east, north, up)."""
    s = np.radians(slope_deg)
    a = np.radians(aspect_deg)
    return np.sin(a) * np.cos(s), np.cos(a) * np.cos(s), -np.sin(s)


def projection_factor(
    incidence_deg: ArrayLike, los_azimuth_deg: ArrayLike, slope_deg: ArrayLike, aspect_deg: ArrayLike
) -> ArrayLike:
    """g = e_los . e_dslp: the LOS velocity (towards the satellite) per unit downslope velocity.

    >>> round(float(projection_factor(40.0, 102.0, 40.0, 258.0)), 12)  # slope faces the satellite, s = theta
    0.0
    """
    e = los_unit_vector_enu(incidence_deg, los_azimuth_deg)
    d = downslope_unit_vector_enu(slope_deg, aspect_deg)
    return e[0] * d[0] + e[1] * d[1] + e[2] * d[2]


def projection_factor_sigma(
    incidence_deg: ArrayLike,
    los_azimuth_deg: ArrayLike,
    slope_deg: ArrayLike,
    aspect_deg: ArrayLike,
    slope_sigma_deg: float,
    aspect_sigma_deg: float,
) -> ArrayLike:
    """1-sigma of g from independent slope and aspect errors (first order).

    dg/ds = -sin(theta) sin(s) cos(alpha + A) - cos(theta) cos(s);
    dg/dA = -sin(theta) cos(s) sin(alpha + A)   (derivatives per radian).
    """
    theta = np.radians(incidence_deg)
    s = np.radians(slope_deg)
    alpha_plus_a = np.radians(np.asarray(los_azimuth_deg) + np.asarray(aspect_deg))
    dg_ds = -np.sin(theta) * np.sin(s) * np.cos(alpha_plus_a) - np.cos(theta) * np.cos(s)
    dg_da = -np.sin(theta) * np.cos(s) * np.sin(alpha_plus_a)
    return np.hypot(dg_ds * np.radians(slope_sigma_deg), dg_da * np.radians(aspect_sigma_deg))


def range_slope_deg(los_azimuth_deg: ArrayLike, slope_deg: ArrayLike, aspect_deg: ArrayLike) -> ArrayLike:
    """Terrain slope in the range plane, positive when the slope faces the radar (degrees).

    >>> round(float(range_slope_deg(102.0, 30.0, 258.0)), 9), round(float(range_slope_deg(102.0, 30.0, 78.0)), 9)
    (30.0, -30.0)
    """
    along = np.cos(np.radians(np.asarray(los_azimuth_deg) + np.asarray(aspect_deg)))
    return np.degrees(np.arctan(np.tan(np.radians(slope_deg)) * along))


def layover_or_shadow(
    incidence_deg: ArrayLike, los_azimuth_deg: ArrayLike, slope_deg: ArrayLike, aspect_deg: ArrayLike
) -> np.ndarray:
    """True where the radar sees the ground in layover (range slope > theta) or shadow (-range slope > 90 - theta).

    >>> layover_or_shadow(38.7, 102.0, np.array([35.0, 45.0, 45.0, 55.0]), np.array([258.0, 258.0, 78.0, 78.0])).tolist()
    [False, True, False, True]
    """
    s_r = range_slope_deg(los_azimuth_deg, slope_deg, aspect_deg)
    theta = np.asarray(incidence_deg, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.asarray((s_r > theta) | (-s_r > 90.0 - theta))


@dataclass(frozen=True)
class LosGeometry:
    """Per-pixel geometry file (ISCE2 los.rdr.geo: band 1 incidence, band 2 azimuth) or constants."""

    los_path: Optional[str] = None
    incidence_deg: Optional[float] = None
    los_azimuth_deg: Optional[float] = None

    def check(self) -> None:
        """Refuse a geometry without either a LOS raster or both constants, or with angles out of range."""
        if self.los_path:
            return
        if self.incidence_deg is None or self.los_azimuth_deg is None:
            raise ParameterError(
                "Give the LOS geometry: a LOS raster (ISCE2 los.rdr.geo) or both INCIDENCE_DEG and "
                "LOS_AZIMUTH_DEG (or HEADING_DEG), e.g. 38.7 and 102 for ALOS-1 ascending."
            )
        if not 0.0 < self.incidence_deg < 90.0:
            raise ParameterError(f"INCIDENCE_DEG={self.incidence_deg} must lie between 0 and 90 degrees.")
