"""Choosing the stable reference of each landform and measuring its LOS velocity.

Paper (Hu et al. 2023): one point on flat, stable ground close to each rock glacier; subtracting
its velocity removes orbital and atmospheric signals common over the landform's extent.

Automatic choice here, inside a square of ``reference_radius_m`` around the landform: pixels
outside every landform, with coherence >= ``reference_min_coherence`` (0.7), slope <=
``reference_max_slope_deg`` (10 deg) and elevation within ``reference_max_elev_diff_m`` (300 m)
of the landform's mean; among them the one nearest the landform's centroid whose
``reference_window_px`` x ``reference_window_px`` patch is at least half such pixels. When none
qualifies the coherence floor drops to the velocity mask's ``min_coherence`` and the result says
so. The reference velocity is the mean over the patch's qualifying pixels. A user's points
(``REFERENCE_POINTS``) replace the automatic choice: the point with the landform's ``rg_id``, else
the nearest point within the radius.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass(frozen=True)
class ReferenceChoice:
    """A reference patch in window pixel coordinates and its statistics."""

    row: int
    col: int
    method: str  # "auto" or "manual"
    velocity_los_cm_per_yr: float
    sigma_cm_per_yr: float
    coherence: float
    note: Optional[str] = None


def box_mean(mask: np.ndarray, size_px: int) -> np.ndarray:
    """Mean of a boolean/float array over a size x size box centred on each pixel (zero-padded)."""
    half = size_px // 2
    padded = np.pad(mask.astype(np.float64), half + 1)
    integral = padded.cumsum(0).cumsum(1)
    h, w = mask.shape
    r0, c0 = np.arange(h), np.arange(w)
    top, bottom = r0, r0 + 2 * half + 1
    left, right = c0, c0 + 2 * half + 1
    total = (
        integral[bottom][:, right] - integral[top][:, right] - integral[bottom][:, left] + integral[top][:, left]
    )
    return total / float((2 * half + 1) ** 2)


def _patch_statistics(
    row: int, col: int, usable: np.ndarray, velocity: np.ndarray, sigma: np.ndarray,
    coherence: np.ndarray, size_px: int, correlation_px: float,
) -> Optional[tuple[float, float, float]]:
    half = size_px // 2
    r0, r1 = max(row - half, 0), min(row + half + 1, usable.shape[0])
    c0, c1 = max(col - half, 0), min(col + half + 1, usable.shape[1])
    patch = usable[r0:r1, c0:c1]
    n = int(patch.sum())
    if n == 0:
        return None
    v = velocity[r0:r1, c0:c1][patch]
    s = sigma[r0:r1, c0:c1][patch]
    # Mean of n pixels: sigma / sqrt(n_effective), n_effective = n / correlation^2 (>= 1).
    n_effective = max(n / max(correlation_px, 1.0) ** 2, 1.0)
    sigma_mean = float(np.sqrt(np.mean(s**2) / n_effective))
    return float(v.mean()), sigma_mean, float(coherence[r0:r1, c0:c1][patch].mean())


def choose_automatic(
    velocity: np.ndarray, sigma: np.ndarray, coherence: np.ndarray, slope_deg: np.ndarray,
    elevation_m: np.ndarray, outside_landforms: np.ndarray, centre_rc: tuple[float, float],
    pixel_m: tuple[float, float], landform_elev_m: float, *, min_coherence: float,
    reference_min_coherence: float, max_slope_deg: float, max_elev_diff_m: float, window_px: int,
    correlation_px: float,
) -> Optional[ReferenceChoice]:
    """The automatic reference (see the module's rule); None when nothing qualifies."""
    rows, cols = np.mgrid[0 : velocity.shape[0], 0 : velocity.shape[1]]
    distance_m = np.hypot((rows - centre_rc[0]) * pixel_m[1], (cols - centre_rc[1]) * pixel_m[0])
    base = (
        outside_landforms
        & np.isfinite(velocity)
        & np.isfinite(sigma)
        & (slope_deg <= max_slope_deg)
        & (np.abs(elevation_m - landform_elev_m) <= max_elev_diff_m)
    )
    for floor, note in (
        (reference_min_coherence, None),
        (min_coherence, f"no stable pixel with coherence >= {reference_min_coherence:g} nearby; reference coherence only >= {min_coherence:g}"),
    ):
        usable = base & (coherence >= floor)
        centres = usable & (box_mean(usable, window_px) >= 0.5)
        if not centres.any():
            continue
        candidates = np.flatnonzero(centres)
        best = candidates[np.argmin(distance_m.ravel()[candidates])]
        row, col = divmod(int(best), velocity.shape[1])
        stats = _patch_statistics(row, col, usable, velocity, sigma, coherence, window_px, correlation_px)
        if stats is not None:
            return ReferenceChoice(row, col, "auto", stats[0], stats[1], stats[2], note)
    return None


def measure_manual(
    row: int, col: int, velocity: np.ndarray, sigma: np.ndarray, coherence: np.ndarray,
    min_coherence: float, window_px: int, correlation_px: float,
) -> Optional[ReferenceChoice]:
    """The LOS velocity around a user's reference point; None without coherent pixels there."""
    if not (0 <= row < velocity.shape[0] and 0 <= col < velocity.shape[1]):
        return None
    usable = np.isfinite(velocity) & np.isfinite(sigma) & (coherence >= min_coherence)
    stats = _patch_statistics(row, col, usable, velocity, sigma, coherence, window_px, correlation_px)
    if stats is None:
        return None
    return ReferenceChoice(row, col, "manual", stats[0], stats[1], stats[2])


def nearest_point_index(
    points_rc: list[tuple[float, float]], point_ids: list[Optional[str]], rg_id: str,
    centre_rc: tuple[float, float], pixel_m: tuple[float, float], max_distance_m: float,
) -> Optional[int]:
    """Index of the user point for ``rg_id``: same id first, else the nearest unlabelled point
    within ``max_distance_m`` (positions in pixel rows/columns, ``pixel_m`` = (dx, dy) metres)."""
    for index, point_id in enumerate(point_ids):
        if point_id is not None and point_id == rg_id:
            return index
    best, best_distance = None, math.inf
    for index, (row, col) in enumerate(points_rc):
        if point_ids[index] is not None:
            continue  # a point labelled for another landform is not shared
        distance = math.hypot((row - centre_rc[0]) * pixel_m[1], (col - centre_rc[1]) * pixel_m[0])
        if distance < best_distance:
            best, best_distance = index, distance
    return best if best_distance <= max_distance_m else None
