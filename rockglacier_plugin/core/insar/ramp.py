"""Removing a planar (orbital) phase ramp fitted on stable ground.

The paper re-references every landform to a nearby stable point, which removes what is common
over a few kilometres (orbital ramp, atmospheric delay). A long-wavelength ramp still leaves a
bias proportional to the distance between the reference point and the landform; fitting a plane
to coherent pixels outside all landforms over the whole scene first removes most of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_SAMPLES_PER_AXIS = 512


@dataclass(frozen=True)
class PhaseRamp:
    """phase_rad = offset + per_col * col + per_row * row (pixel-centre coordinates)."""

    offset_rad: float = 0.0
    per_col_rad: float = 0.0
    per_row_rad: float = 0.0

    def evaluate(self, cols: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return self.offset_rad + self.per_col_rad * cols + self.per_row_rad * rows


def fit_ramp(phase_rad: np.ndarray, cols: np.ndarray, rows: np.ndarray, iterations: int = 3) -> PhaseRamp:
    """Robust least-squares plane (outliers beyond 3 scaled MADs dropped at each iteration).

    Args:
        phase_rad, cols, rows: 1-D samples of stable pixels.
    """
    keep = np.isfinite(phase_rad)
    if keep.sum() < 10:
        return PhaseRamp()
    coefficients = np.zeros(3)
    for _ in range(iterations):
        design = np.column_stack([np.ones(keep.sum()), cols[keep], rows[keep]])
        coefficients, *_ = np.linalg.lstsq(design, phase_rad[keep], rcond=None)
        residual = phase_rad - (coefficients[0] + coefficients[1] * cols + coefficients[2] * rows)
        spread = 1.4826 * np.nanmedian(np.abs(residual[keep] - np.nanmedian(residual[keep])))
        if not spread > 0:
            break
        new_keep = np.isfinite(phase_rad) & (np.abs(residual) <= 3.0 * spread)
        if new_keep.sum() < 10 or np.array_equal(new_keep, keep):
            break
        keep = new_keep
    return PhaseRamp(float(coefficients[0]), float(coefficients[1]), float(coefficients[2]))
