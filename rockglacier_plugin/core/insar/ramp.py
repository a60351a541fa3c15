"""Removing a planar (orbital) phase ramp fitted on stable ground.

The paper re-references every landform to a nearby stable point, which removes what is common
over a few kilometres (orbital ramp, atmospheric delay). A long-wavelength ramp still leaves a
bias proportional to the distance between the reference point and the landform; fitting a plane
to coherent pixels outside all landforms over the whole scene first removes most of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..conventions import robust_sigma

MAX_SAMPLES_PER_AXIS = 512


@dataclass(frozen=True)
class PhaseRamp:
    """phase_rad = offset + per_col * col + per_row * row + per_km * (elevation_m - elevation0_m) / 1000.

    Pixel-centre coordinates. ``per_km_rad`` is the stratified-atmosphere term: tropospheric delay
    grows with the air column, so phase correlates with elevation over a scene (MintPy's
    height-correlation correction, Doin et al. 2009, DOI 10.1016/j.jappgeo.2009.03.010).
    """

    offset_rad: float = 0.0
    per_col_rad: float = 0.0
    per_row_rad: float = 0.0
    per_km_rad: float = 0.0
    elevation0_m: float = 0.0

    def evaluate(self, cols: np.ndarray, rows: np.ndarray, elevation_m: np.ndarray | None = None) -> np.ndarray:
        """The fitted phase at (cols, rows) and, with the elevation term, at ``elevation_m``."""
        plane = self.offset_rad + self.per_col_rad * cols + self.per_row_rad * rows
        if elevation_m is None or self.per_km_rad == 0.0:
            return plane
        return plane + self.per_km_rad * (np.asarray(elevation_m) - self.elevation0_m) / 1000.0


#: Below this spread of stable-ground elevations about their best-fitting plane (in cols and rows) an elevation term
#: cannot be told from the plane: on a scene that is one slope, elevation is a linear function of position, the two
#: terms trade off freely, and any departure from that line (the DEM's edge, a gully) gets the huge difference of
#: two huge coefficients.
MIN_ELEVATION_SPREAD_M = 100.0


def elevation_off_plane_spread_m(elevation_m: np.ndarray, cols: np.ndarray, rows: np.ndarray) -> float:
    """Standard deviation of the elevations about their least-squares plane in (cols, rows), metres.

    >>> c = np.arange(50.0); r = np.zeros(50)
    >>> elevation_off_plane_spread_m(3000.0 + 5.0 * c, c, r)  # one slope: no elevation term can be fitted
    0.0
    """
    design = np.column_stack([np.ones(elevation_m.size), cols, rows])
    solution, *_ = np.linalg.lstsq(design, elevation_m, rcond=None)
    return round(float(np.std(elevation_m - design @ solution)), 6)


def fit_ramp(
    phase_rad: np.ndarray, cols: np.ndarray, rows: np.ndarray, iterations: int = 3, elevation_m: np.ndarray | None = None
) -> PhaseRamp:
    """Robust least-squares plane, with a phase-elevation term when ``elevation_m`` is given and
    spread enough (outliers beyond 3 scaled MADs dropped at each iteration).

    Args:
        phase_rad, cols, rows: 1-D samples of stable pixels.
        elevation_m: their elevations (NaN where unknown: those samples are left out).
    """
    keep = np.isfinite(phase_rad)
    with_elevation = elevation_m is not None
    elevation_m = np.full(np.shape(phase_rad), np.nan) if elevation_m is None else elevation_m
    if with_elevation:
        keep &= np.isfinite(elevation_m)
        with_elevation = (
            keep.sum() >= 10 and elevation_off_plane_spread_m(elevation_m[keep], cols[keep], rows[keep]) >= MIN_ELEVATION_SPREAD_M
        )
    if keep.sum() < 10:
        return PhaseRamp()
    elevation0 = float(np.median(elevation_m[keep])) if with_elevation else 0.0
    z_km = (np.nan_to_num(elevation_m) - elevation0) / 1000.0 if with_elevation else np.zeros_like(cols)
    coefficients = np.zeros(4)
    for _ in range(iterations):
        design = np.column_stack([np.ones(keep.sum()), cols[keep], rows[keep], z_km[keep]])
        if not with_elevation:
            design = design[:, :3]
        solution, *_ = np.linalg.lstsq(design, phase_rad[keep], rcond=None)
        coefficients = np.concatenate([solution, np.zeros(4 - solution.size)])
        residual = phase_rad - (coefficients[0] + coefficients[1] * cols + coefficients[2] * rows + coefficients[3] * z_km)
        spread = robust_sigma(residual[keep])
        if not spread > 0:
            break
        new_keep = np.isfinite(phase_rad) & (np.abs(residual) <= 3.0 * spread)
        if new_keep.sum() < 10 or np.array_equal(new_keep, keep):
            break
        keep = new_keep
    return PhaseRamp(float(coefficients[0]), float(coefficients[1]), float(coefficients[2]), float(coefficients[3]), elevation0)
