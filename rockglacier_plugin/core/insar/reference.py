"""Choosing the stable reference of each landform and measuring its LOS velocity.

Paper (Hu et al. 2023): one point on flat, stable ground close to each rock glacier; subtracting
its velocity removes orbital and atmospheric signals common over the landform's extent.

Automatic choice here, a ladder (``LADDER``) from the paper's ideal to what a steep valley offers:
pixels outside every landform, within ``reference_radius_m`` x the rung's factor of the landform's
outline (a true radius), with the rung's coherence floor, slope limit and elevation difference
from the landform's mean (the first rung takes ``reference_min_coherence`` 0.7,
``reference_max_slope_deg`` 10 deg and ``reference_max_elev_diff_m`` 300 m from the settings).
Patch rungs take the patch nearest the landform's centroid whose ``reference_window_px`` x
``reference_window_px`` box is at least half such pixels, and its mean; robust rungs the median of
every qualifying pixel. Every rung that finds something gives a candidate; the caller picks the one
with the smallest error. A user's points (``REFERENCE_POINTS``) replace the automatic choice: the
point with the landform's ``rg_id``, else the nearest point within the radius; a point outside the
data or on incoherent pixels falls back to the automatic choice, and the landform's ``vel_reason``
says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Protocol

import numpy as np

from ..conventions import robust_sigma


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
    rung: str = "manual"  # the ladder's rung (``LADDER``) or "manual"
    elevation_m: float = math.nan


@dataclass(frozen=True)
class Rung:
    """One step of the reference ladder: what counts as stable ground at this step.

    ``min_coherence`` None means the velocity mask's own minimum; ``robust`` rungs take the median
    of every qualifying pixel within the radius instead of the nearest patch; a ``last_resort`` rung
    is tried only when no other rung found anything.
    """

    name: str
    max_slope_deg: float
    min_coherence: Optional[float]
    radius_factor: float
    max_elev_diff_m: float
    robust: bool = False
    last_resort: bool = False


#: From the paper's ideal (flat, coherent, close, similar elevation) to what a steep valley offers.
#: Slope and elevation limits of the first rung come from the settings (10 deg, 300 m by default).
LADDER: tuple[Rung, ...] = (
    Rung("flat", 10.0, 0.7, 1.0, 300.0),
    Rung("moderate_slope", 20.0, 0.7, 1.0, 300.0),
    Rung("steep_slope", 35.0, 0.5, 1.0, 500.0),
    Rung("low_coherence", 35.0, None, 1.0, 500.0),
    Rung("wider_radius", 35.0, None, 2.0, 800.0),
    # the stable ground right around the landform (within 0.3 x the radius of its outline): close,
    # so the atmosphere nearly cancels, but only as stable as the slopes around it
    Rung("surroundings", 45.0, None, 0.3, 500.0, robust=True),
    Rung("robust_median", 45.0, None, 2.0, 1000.0, robust=True, last_resort=True),
)
#: The ladder's reach in units of the reference radius: how far around a landform to read.
MAX_RADIUS_FACTOR = max(rung.radius_factor for rung in LADDER)
MIN_ROBUST_PIXELS = 30


def box_mean(mask: np.ndarray, size_px: int) -> np.ndarray:
    """Mean of a boolean/float array over a size x size box centred on each pixel (zero-padded)."""
    half = size_px // 2
    padded = np.pad(mask.astype(np.float64), half + 1)
    integral = padded.cumsum(0).cumsum(1)
    h, w = mask.shape
    r0, c0 = np.arange(h), np.arange(w)
    top, bottom = r0, r0 + 2 * half + 1
    left, right = c0, c0 + 2 * half + 1
    total = integral[bottom][:, right] - integral[top][:, right] - integral[bottom][:, left] + integral[top][:, left]
    return total / float((2 * half + 1) ** 2)


def _patch_statistics(
    row: int,
    col: int,
    usable: np.ndarray,
    velocity: np.ndarray,
    sigma: np.ndarray,
    coherence: np.ndarray,
    size_px: int,
    correlation_px: float,
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


def _robust_reference(
    usable: np.ndarray,
    velocity: np.ndarray,
    sigma: np.ndarray,
    coherence: np.ndarray,
    elevation_m: np.ndarray,
    distance_m: np.ndarray,
    correlation_px: float,
) -> Optional[tuple]:
    """Median of every usable pixel, its error from the scaled MAD, at the usable pixel nearest the median's place."""
    n = int(usable.sum())
    if n < MIN_ROBUST_PIXELS:
        return None
    values = velocity[usable]
    median = float(np.median(values))
    spread = robust_sigma(values)
    n_effective = max(n / max(correlation_px, 1.0) ** 2, 1.0)
    # the spread holds pixel noise and the real variation over the area (atmosphere): both enter
    sigma_median = 1.2533 * max(spread, float(np.sqrt(np.mean(sigma[usable] ** 2)))) / math.sqrt(n_effective)
    candidates = np.flatnonzero(usable.ravel())
    nearest = candidates[np.argmin(distance_m.ravel()[candidates])]
    row, col = divmod(int(nearest), velocity.shape[1])
    return row, col, median, sigma_median, float(coherence[usable].mean()), float(np.median(elevation_m[usable]))


class StableGroundGrids(Protocol):
    """The window's grids a reference is searched in (``scene.WindowData`` is one): LOS velocity and its
    error (cm/yr), coherence, slope (deg) and elevation (m), all the same shape."""

    velocity_los_cm_per_yr: np.ndarray
    sigma_los_cm_per_yr: np.ndarray
    coherence: np.ndarray
    slope_deg: np.ndarray
    elevation_m: np.ndarray


@dataclass(frozen=True)
class LandformPlace:
    """Where the landform lies in the window: the pixels outside every landform (candidates for stable
    ground), its centre (row, col), the pixel size (dx, dy) in metres, its mean elevation (m), and the
    distance (m) of every pixel to its outline (None: distances are taken from the centre)."""

    outside_landforms: np.ndarray
    centre_rc: tuple[float, float]
    pixel_m: tuple[float, float]
    elevation_m: float
    distance_to_landform_m: Optional[np.ndarray] = None


@dataclass(frozen=True)
class StableGroundRule:
    """The first rung's limits (``reference_*`` settings), the velocity mask's coherence floor (later rungs
    without their own), the patch size (px), the noise correlation length (px) and the search radius (m)."""

    min_coherence: float
    reference_min_coherence: float
    max_slope_deg: float
    max_elev_diff_m: float
    window_px: int
    correlation_px: float
    max_distance_m: float = math.inf


def reference_candidates(
    grids: StableGroundGrids,
    place: LandformPlace,
    rule: StableGroundRule,
    ladder: tuple[Rung, ...] = LADDER,
    first_only: bool = False,
) -> list[ReferenceChoice]:
    """The automatic reference candidates: one for every rung of ``ladder`` that finds stable ground
    (see the module's rule) within its radius (``rule.max_distance_m`` x the rung's factor) of the
    landform (``place.distance_to_landform_m`` per pixel; without it, of its centre), in ladder order;
    a last-resort rung only when no other found anything; empty when nothing is found. ``first_only``
    stops at the first. The first rung uses the rule's slope, coherence and elevation limits."""
    velocity, sigma, coherence = grids.velocity_los_cm_per_yr, grids.sigma_los_cm_per_yr, grids.coherence
    elevation_m, pixel_m, centre_rc = grids.elevation_m, place.pixel_m, place.centre_rc
    rows, cols = np.mgrid[0 : velocity.shape[0], 0 : velocity.shape[1]]
    distance_m = np.hypot((rows - centre_rc[0]) * pixel_m[1], (cols - centre_rc[1]) * pixel_m[0])
    reach_m = distance_m if place.distance_to_landform_m is None else place.distance_to_landform_m
    finite = place.outside_landforms & np.isfinite(velocity) & np.isfinite(sigma) & np.isfinite(elevation_m)
    found_patches: list[ReferenceChoice] = []
    for index, rung in enumerate(ladder):
        usable = (
            finite
            & _rung_mask(grids, place, rule, rung, first=index == 0)
            & (reach_m <= rule.max_distance_m * rung.radius_factor)
        )
        if rung.robust:
            if rung.last_resort and found_patches:
                continue
            found = _robust_reference(usable, velocity, sigma, coherence, elevation_m, distance_m, rule.correlation_px)
            if found is not None:
                row, col, value, error, mean_coherence, elevation = found
                found_patches.append(ReferenceChoice(row, col, "auto", value, error, mean_coherence, None, rung.name, elevation))
                if first_only:
                    break
            continue
        centres = usable & (box_mean(usable, rule.window_px) >= 0.5)
        if not centres.any():
            continue
        candidates = np.flatnonzero(centres)
        best = candidates[np.argmin(distance_m.ravel()[candidates])]
        row, col = divmod(int(best), velocity.shape[1])
        stats = _patch_statistics(row, col, usable, velocity, sigma, coherence, rule.window_px, rule.correlation_px)
        if stats is not None:
            found_patches.append(
                ReferenceChoice(row, col, "auto", stats[0], stats[1], stats[2], None, rung.name, float(elevation_m[row, col]))
            )
            if first_only:
                break
    return found_patches


def _rung_mask(grids: StableGroundGrids, place: LandformPlace, rule: StableGroundRule, rung: Rung, first: bool) -> np.ndarray:
    """The pixels flat, coherent and close enough in elevation for ``rung`` (the first rung takes the rule's limits)."""
    slope_limit = rule.max_slope_deg if first else max(rung.max_slope_deg, rule.max_slope_deg)
    coherence_floor = (
        rule.reference_min_coherence if first else (rule.min_coherence if rung.min_coherence is None else rung.min_coherence)
    )
    elev_limit = rule.max_elev_diff_m if first else max(rung.max_elev_diff_m, rule.max_elev_diff_m)
    return (
        (grids.slope_deg <= slope_limit)
        & (grids.coherence >= coherence_floor)
        & (np.abs(grids.elevation_m - place.elevation_m) <= elev_limit)
    )


def distance_to_mask_m(mask: np.ndarray, pixel_m: tuple[float, float]) -> np.ndarray:
    """Distance (m) from every pixel centre to the nearest pixel of ``mask`` (0 inside it).

    >>> distance_to_mask_m(np.array([[True, False, False]]), (30.0, 30.0)).tolist()
    [[0.0, 30.0, 60.0]]
    """
    if not mask.any():
        return np.full(mask.shape, math.inf)
    try:
        from scipy.ndimage import distance_transform_edt
    except ImportError:  # without SciPy: exact but slower, over the mask's own pixels
        rows, cols = np.nonzero(mask)
        grid_r, grid_c = np.mgrid[0 : mask.shape[0], 0 : mask.shape[1]]
        out = np.full(mask.shape, math.inf)
        for r, c in zip(rows, cols):
            out = np.minimum(out, np.hypot((grid_r - r) * pixel_m[1], (grid_c - c) * pixel_m[0]))
        return out
    return distance_transform_edt(~mask, sampling=(pixel_m[1], pixel_m[0]))


def measure_manual(
    row: int,
    col: int,
    velocity: np.ndarray,
    sigma: np.ndarray,
    coherence: np.ndarray,
    min_coherence: float,
    window_px: int,
    correlation_px: float,
) -> Optional[ReferenceChoice]:
    """The LOS velocity around a user's reference point; None without coherent pixels there."""
    if not (0 <= row < velocity.shape[0] and 0 <= col < velocity.shape[1]):
        return None
    usable = np.isfinite(velocity) & np.isfinite(sigma) & (coherence >= min_coherence)
    stats = _patch_statistics(row, col, usable, velocity, sigma, coherence, window_px, correlation_px)
    if stats is None:
        return None
    return ReferenceChoice(row, col, "manual", stats[0], stats[1], stats[2], None, "manual")


def nearest_point_index(
    points_rc: list[tuple[float, float]],
    point_ids: list[Optional[str]],
    rg_id: str,
    centre_rc: tuple[float, float],
    pixel_m: tuple[float, float],
    max_distance_m: float,
) -> Optional[int]:
    """Index of the user point for ``rg_id``: the nearest point labelled with that id (whatever its
    distance: the user chose it), else the nearest unlabelled point within ``max_distance_m``
    (positions in pixel rows/columns, ``pixel_m`` = (dx, dy) metres).

    >>> nearest_point_index([(0, 0), (0, 90), (0, 5)], ["a", "a", None], "a", (0, 100), (10.0, 10.0), 100.0)
    1
    >>> nearest_point_index([(0, 0), (0, 95)], ["a", None], "b", (0, 100), (10.0, 10.0), 100.0)
    1
    """

    def distance_m(index: int) -> float:
        row, col = points_rc[index]
        return math.hypot((row - centre_rc[0]) * pixel_m[1], (col - centre_rc[1]) * pixel_m[0])

    labelled = [i for i, point_id in enumerate(point_ids) if point_id is not None and point_id == rg_id]
    if labelled:
        return min(labelled, key=distance_m)
    unlabelled = [i for i, point_id in enumerate(point_ids) if point_id is None]  # others' points are not shared
    if not unlabelled:
        return None
    best = min(unlabelled, key=distance_m)
    return best if distance_m(best) <= max_distance_m else None


def _shifted(mask: np.ndarray, d_row: int, d_col: int) -> np.ndarray:
    """``mask`` moved by (d_row, d_col) pixels; what leaves the array is dropped, nothing wraps."""
    out = np.zeros_like(mask)
    rows, cols = mask.shape
    if abs(d_row) >= rows or abs(d_col) >= cols:
        return out
    src_r, dst_r = (slice(0, rows - d_row), slice(d_row, rows)) if d_row >= 0 else (slice(-d_row, rows), slice(0, rows + d_row))
    src_c, dst_c = (slice(0, cols - d_col), slice(d_col, cols)) if d_col >= 0 else (slice(-d_col, cols), slice(0, cols + d_col))
    out[dst_r, dst_c] = mask[src_r, src_c]
    return out


def ring_prediction_sigma(
    velocity: np.ndarray,
    sigma: np.ndarray,
    stable: np.ndarray,
    footprint: np.ndarray,
    reach_m: np.ndarray,
    ring_max_m: float,
    pixel_m: tuple[float, float],
    correlation_px: float = 1.0,
) -> Optional[float]:
    """How far the median of the stable ring around a landform (the ``surroundings`` rung) is from the
    stable-ground value inside it, measured where it can be measured: the landform's footprint and ring
    moved onto stable ground nearby (1, 1.5 and 2 landform sizes away, 8 directions), the RMS of
    (ring median - footprint mean) less what pixel noise explains. None when fewer than 4 moved copies
    fall on stable ground (then the caller keeps its point estimate)."""
    rows, cols = np.nonzero(footprint)
    if rows.size == 0:
        return None
    size_px = max(rows.max() - rows.min() + 1, cols.max() - cols.min() + 1)
    ring = (reach_m <= ring_max_m) & ~footprint
    c2 = max(correlation_px, 1.0) ** 2
    differences, noise = [], []
    for factor in (1.0, 1.5, 2.0):
        for angle in np.radians(np.arange(0.0, 360.0, 45.0)):
            d_row, d_col = int(round(factor * size_px * math.sin(angle))), int(round(factor * size_px * math.cos(angle)))
            inside = _shifted(footprint, d_row, d_col) & stable
            around = _shifted(ring, d_row, d_col) & stable
            if inside.sum() < 0.5 * rows.size or around.sum() < MIN_ROBUST_PIXELS:
                continue
            differences.append(float(np.median(velocity[around]) - velocity[inside].mean()))
            noise.append(
                float(np.mean(sigma[inside] ** 2)) * c2 / inside.sum()
                + (1.2533**2) * float(np.mean(sigma[around] ** 2)) * c2 / around.sum()
            )
    if len(differences) < 4:
        return None
    return math.sqrt(max(float(np.mean(np.square(differences))) - float(np.mean(noise)), 0.0))
