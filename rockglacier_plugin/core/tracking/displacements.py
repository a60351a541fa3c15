"""Displacements of points between two co-registered-to-be images: match, co-register, level of detection, filters.

1. **Match** (``track_points``): a template of ``template_px`` around each point of the first image, searched within
   ``search_radius_px`` in the second (``ncc.match``); no match where the data are flat or no-data, or the peak lies
   on the search window's edge (the motion is larger than the search: raise the largest expected velocity).
2. **Co-registration** (``coregister``) on the stable points' matches: the median shift is removed; an affine
   correction (shift + linear in column and row) replaces it when the stable matches ask for it (at least
   ``MIN_AFFINE_POINTS`` of them and an RMS residual at least ``AFFINE_GAIN`` smaller than the shift's). The residuals
   on stable ground are returned for the log.
3. **Level of detection** (``level_of_detection_m``): the 95th percentile of the stable points' residual displacement
   after co-registration, in metres: a displacement below it is not told apart from the images' misfit.
4. **Outlier filters**: before co-registration (``filter_weak_matches``) correlation below ``min_correlation`` and an
   ambiguous peak (second peak at least ``max_second_ratio`` of the first); after it (``filter_inconsistent``),
   neighbour consistency: a point whose vector differs from the median
   vector of its neighbours (within ``neighbour_radius_px``) by more than ``max(lod, neighbour_tolerance x |median|)``.

Signs and units: shifts in pixels are (d_col east, d_row down); ``pixel_shift_to_metres`` turns them into metres
east and north with the grid's geotransform (north-up grids only: a rotated grid is refused by the raster reader).
Directions are azimuths in degrees clockwise from north, the way the displacement points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from ..errors import OperationCancelled
from .ncc import ncc_surfaces, peak

MIN_AFFINE_POINTS = 12
AFFINE_GAIN = 0.8
LOD_PERCENTILE = 95.0

#: Why a point has no displacement (the ``reason`` field).
NO_MATCH, LOW_CORRELATION, AMBIGUOUS, INCONSISTENT = "no match", "low correlation", "ambiguous peak", "unlike its neighbours"


@dataclass(frozen=True)
class TrackingSettings:
    """The options of feature tracking: template and search sizes, spacing, correlation and ratio gates, LoD."""

    template_px: int = 32
    search_radius_px: int = 16
    min_correlation: float = 0.4
    max_second_ratio: float = 0.95
    neighbour_radius_px: float = 40.0
    neighbour_tolerance: float = 0.5


@dataclass
class Tracked:
    """Per point: shift in pixels (NaN where none), peak correlation, second-peak ratio, and why it was rejected."""

    d_col_px: np.ndarray
    d_row_px: np.ndarray
    correlation: np.ndarray
    second_ratio: np.ndarray
    reason: list[Optional[str]]


#: Points whose NCC surfaces are computed in one FFT pass (memory: about 3 x BATCH x search window^2 complex numbers).
BATCH = 256


def track_points(
    first: np.ndarray,
    second: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    settings: TrackingSettings,
    cancelled: Callable[[], bool] = lambda: False,
) -> Tracked:
    """Match every point (row, col: integer pixel centres of the first image) into the second (same grid), BATCH
    points per FFT pass."""
    n = len(rows)
    d_col, d_row = np.full(n, np.nan), np.full(n, np.nan)
    correlation, ratio = np.full(n, np.nan), np.full(n, np.nan)
    reason: list[Optional[str]] = [NO_MATCH] * n
    half, radius = settings.template_px // 2, settings.search_radius_px
    height, width = first.shape
    r, c = rows.astype(int), cols.astype(int)
    inside = (
        (r - half - radius >= 0) & (c - half - radius >= 0) & (r + half + radius + 1 <= height) & (c + half + radius + 1 <= width)
    )
    candidates = np.nonzero(inside)[0]
    for start in range(0, candidates.size, BATCH):
        if cancelled():
            raise OperationCancelled("Cancelled: nothing was written.")
        batch = candidates[start : start + BATCH]
        templates = np.stack([first[r[i] - half : r[i] + half + 1, c[i] - half : c[i] + half + 1] for i in batch])
        searches = np.stack(
            [
                second[r[i] - half - radius : r[i] + half + radius + 1, c[i] - half - radius : c[i] + half + radius + 1]
                for i in batch
            ]
        )
        usable = np.isfinite(templates).all(axis=(1, 2)) & np.isfinite(searches).all(axis=(1, 2))
        if not usable.any():
            continue
        surfaces = ncc_surfaces(templates[usable], searches[usable])
        for i, surface in zip(batch[usable], surfaces):
            found = peak(surface)
            if found is not None:
                d_col[i], d_row[i], correlation[i], ratio[i] = (
                    found.d_col_px,
                    found.d_row_px,
                    found.correlation,
                    found.second_ratio,
                )
                reason[i] = None
    return Tracked(d_col, d_row, correlation, ratio, reason)


@dataclass(frozen=True)
class Coregistration:
    """The co-registration fitted on stable ground: a shift or an affine correction of the displacements, and its residual."""

    kind: str  # "shift" or "affine"
    coefficients_col: tuple[float, ...]  # d_col = a0 + a1 col + a2 row (shift: a1 = a2 = 0)
    coefficients_row: tuple[float, ...]
    points: int
    rms_px: float  # residual RMS on stable ground after the correction

    def correction(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The displacement (d_col, d_row) the co-registration attributes to misalignment at (rows, cols)."""
        a, b = self.coefficients_col, self.coefficients_row
        return a[0] + a[1] * cols + a[2] * rows, b[0] + b[1] * cols + b[2] * rows


def coregister(tracked: Tracked, rows: np.ndarray, cols: np.ndarray, stable: np.ndarray) -> Optional[Coregistration]:
    """The correction from the stable points' matches (see the module docstring), or None without any."""
    use = stable & np.isfinite(tracked.d_col_px) & np.array([r is None for r in tracked.reason])
    if not use.any():
        return None
    dc, dr = tracked.d_col_px[use], tracked.d_row_px[use]
    shift = Coregistration("shift", (float(np.median(dc)), 0.0, 0.0), (float(np.median(dr)), 0.0, 0.0), int(use.sum()), 0.0)
    residual = np.hypot(dc - shift.coefficients_col[0], dr - shift.coefficients_row[0])
    shift = Coregistration(
        shift.kind, shift.coefficients_col, shift.coefficients_row, shift.points, float(np.sqrt(np.mean(residual**2)))
    )
    if use.sum() < MIN_AFFINE_POINTS:
        return shift
    design = np.column_stack([np.ones(use.sum()), cols[use], rows[use]])
    keep = residual <= np.percentile(residual, 90.0)  # a few mismatches must not tilt the plane
    a = np.linalg.lstsq(design[keep], dc[keep], rcond=None)[0]
    b = np.linalg.lstsq(design[keep], dr[keep], rcond=None)[0]
    affine_residual = np.hypot(dc - design @ a, dr - design @ b)
    rms = float(np.sqrt(np.mean(affine_residual**2)))
    if rms <= AFFINE_GAIN * shift.rms_px:
        return Coregistration("affine", tuple(float(x) for x in a), tuple(float(x) for x in b), shift.points, rms)
    return shift


def level_of_detection_m(residual_m: np.ndarray) -> float:
    """The ``LOD_PERCENTILE`` percentile of the stable points' residual displacement, metres (NaN without any)."""
    values = residual_m[np.isfinite(residual_m)]
    return float(np.percentile(values, LOD_PERCENTILE)) if values.size else math.nan


def pixel_shift_to_metres(d_col_px: np.ndarray, d_row_px: np.ndarray, geotransform: tuple) -> tuple[np.ndarray, np.ndarray]:
    """(east, north) metres of a shift in pixels on a north-up grid: east = d_col x pixel width, north = d_row x the
    (negative) pixel height."""
    return d_col_px * geotransform[1], d_row_px * geotransform[5]


def direction_deg(east_m: np.ndarray, north_m: np.ndarray) -> np.ndarray:
    """Azimuth the displacement points to, degrees clockwise from north.

    >>> direction_deg(np.array([1.0, 0.0]), np.array([0.0, -1.0])).tolist()
    [90.0, 180.0]
    """
    return np.degrees(np.arctan2(east_m, north_m)) % 360.0


def filter_weak_matches(tracked: Tracked, settings: TrackingSettings) -> None:
    """Reject matches whose correlation is below ``min_correlation`` or whose peak is ambiguous (sets ``reason``)."""
    for i in range(len(tracked.reason)):
        if tracked.reason[i] is not None:
            continue
        if tracked.correlation[i] < settings.min_correlation:
            tracked.reason[i] = LOW_CORRELATION
        elif tracked.second_ratio[i] >= settings.max_second_ratio:
            tracked.reason[i] = AMBIGUOUS


def filter_inconsistent(
    d_col_px: np.ndarray,
    d_row_px: np.ndarray,
    reason: list[Optional[str]],
    rows: np.ndarray,
    cols: np.ndarray,
    lod_px: float,
    settings: TrackingSettings,
) -> None:
    """Reject points whose (co-registered) vector differs from the median of their neighbours' by more than
    ``max(lod_px, neighbour_tolerance x |median|)`` (sets ``reason``; the shifts stay for inspection)."""
    from scipy.spatial import cKDTree

    index = np.nonzero(np.array([r is None for r in reason]))[0]
    if index.size < 4:
        return
    tree = cKDTree(np.column_stack([rows[index], cols[index]]))
    vectors = np.column_stack([d_col_px[index], d_row_px[index]])
    rejected = []
    for k, i in enumerate(index):
        neighbours = [j for j in tree.query_ball_point((rows[i], cols[i]), settings.neighbour_radius_px) if j != k]
        if len(neighbours) < 3:
            continue
        median = np.median(vectors[neighbours], axis=0)
        allowed = max(lod_px, settings.neighbour_tolerance * float(np.hypot(*median)))
        if float(np.hypot(*(vectors[k] - median))) > allowed:
            rejected.append(i)
    for i in rejected:
        reason[i] = INCONSISTENT
