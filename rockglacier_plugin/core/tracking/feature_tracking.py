"""Feature tracking of two rasters of two dates into point displacements and per-landform velocities.

The steps (``displacements`` has the method): the second raster is put on the first's grid (bilinear warp when size,
geotransform or CRS differ; grids that do not overlap are refused); multi-band images become their band mean, DEMs
their hillshade (``hillshade``, the illumination logged); a grid of points every ``spacing_px``; matches; co-registration
on the stable points (given STABLE polygons, else every point outside the landforms); the level of detection (LoD);
outlier filters; displacement in metres east/north, its size, the rate in m/yr over the period between the dates,
its direction.

Per landform (when given): the median rate of its valid points, its error (the LoD over the period, combined with the
spread of the points' rates, 1.4826 MAD / sqrt(n)), the number of valid points and the share of them above the LoD.
A landform whose median displacement is below the LoD gets no rate (``ft_reason`` says so), never a number that the
images' misfit could make.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Optional, Sequence

import numpy as np

from ..conventions import DAYS_PER_YEAR, MAD_TO_SIGMA
from ..errors import InputRasterError, ParameterError
from ..progress import RunHooks
from ..raster.coverage import centres_inside_any
from ..raster.io import RasterGrid
from .displacements import (
    Coregistration,
    Tracked,
    TrackingSettings,
    coregister,
    direction_deg,
    filter_inconsistent,
    filter_weak_matches,
    level_of_detection_m,
    pixel_shift_to_metres,
)
from .pair_reader import DEM, IMAGE, Texture, open_pair, track_in_bands

__all__ = ["DEM", "IMAGE", "Areas", "TrackingInputs", "TrackingResult", "track_features"]


@dataclass(frozen=True)
class TrackingInputs:
    """The two dates' rasters, their dates and kind (image or DEM), and the areas to track and to co-register on."""

    first_path: str
    second_path: str
    first_date: date
    second_date: date
    kind: str = IMAGE  # IMAGE (orthophotos, satellite scenes, hillshades) or DEM (hillshaded here)
    illumination_azimuth_deg: Optional[float] = None  # DEMs: None = multidirectional
    spacing_px: int = 10

    @property
    def years(self) -> float:
        """The time between the two dates in years (``conventions.DAYS_PER_YEAR``)."""
        return (self.second_date - self.first_date).days / DAYS_PER_YEAR

    @property
    def period(self) -> str:
        """``YYYY-MM-DD/YYYY-MM-DD`` (RGIK's Kin.Period)."""
        return f"{self.first_date.isoformat()}/{self.second_date.isoformat()}"

    @property
    def method(self) -> str:
        """How the displacements were measured, in words (the inventory's ft_method, the RGV row's Method)."""
        if self.kind != DEM:
            return "feature tracking: NCC on images, horizontal surface velocity (rockglacier:featuretracking)"
        light = "multidirectional" if self.illumination_azimuth_deg is None else f"lit from {self.illumination_azimuth_deg:g} deg"
        return f"feature tracking: NCC on {light} hillshades of DEMs, horizontal surface velocity (rockglacier:featuretracking)"


@dataclass
class PointResult:
    x: np.ndarray
    y: np.ndarray
    east_m: np.ndarray
    north_m: np.ndarray
    displacement_m: np.ndarray
    rate_m_per_yr: np.ndarray
    direction_deg: np.ndarray
    correlation: np.ndarray
    stable: np.ndarray
    reason: list[Optional[str]]


@dataclass
class TrackingResult:
    """The tracked points, the co-registration, the level of detection and the landforms' rates."""

    points: PointResult
    crs_wkt: str
    lod_m: float
    coregistration: Optional[Coregistration]
    years: float
    landforms: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    point_grid: Optional[RasterGrid] = None  # the regular grid whose pixel centres are the points (None for given points)

    @property
    def above_lod(self) -> np.ndarray:
        """Per point: valid (kept by the filters) and displaced more than the level of detection."""
        return np.array([r is None for r in self.points.reason]) & (self.points.displacement_m > self.lod_m)


def _points(shape: tuple[int, int], spacing_px: int, margin_px: int) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.mgrid[margin_px : shape[0] - margin_px : spacing_px, margin_px : shape[1] - margin_px : spacing_px]
    return rows.ravel(), cols.ravel()


def _point_grid(grid: RasterGrid, spacing_px: int, margin_px: int, shape: tuple[int, int]) -> RasterGrid:
    """A grid whose pixel centres are the tracked points (``_points``): polygons are tested at the points only, never
    rasterised at the images' resolution (a 10,000 px pair would need 100 M cells per landform)."""
    gt = grid.geotransform
    x0 = gt[0] + (margin_px + 0.5 - 0.5 * spacing_px) * gt[1]
    y0 = gt[3] + (margin_px + 0.5 - 0.5 * spacing_px) * gt[5]
    return replace(
        grid, width_px=shape[1], height_px=shape[0], geotransform=(x0, spacing_px * gt[1], 0.0, y0, 0.0, spacing_px * gt[5])
    )


def _points_inside(
    polygons: Sequence[Any], grid: RasterGrid, rows: np.ndarray, cols: np.ndarray, regular: Optional[RasterGrid]
) -> np.ndarray:
    """Indices of the points (pixel centres ``rows``, ``cols`` of ``grid``) inside any of ``polygons``; ``regular``:
    the points' own grid when they are the regular grid (``_point_grid``)."""
    if regular is not None:
        return np.flatnonzero(centres_inside_any(polygons, regular).ravel())
    mask = centres_inside_any(polygons, grid)
    on_grid = (rows >= 0) & (rows < mask.shape[0]) & (cols >= 0) & (cols < mask.shape[1])
    return np.flatnonzero(on_grid & mask[np.clip(rows, 0, mask.shape[0] - 1), np.clip(cols, 0, mask.shape[1] - 1)])


def _landform_rates(members: list[np.ndarray], points: PointResult, lod_m: float, inputs: TrackingInputs) -> list[dict[str, Any]]:
    """Per landform: the median rate of its valid points and its error (the LoD over the period and the points' spread
    about their median, 1.4826 MAD / sqrt(n)), or why there is none; with the period, the LoD and the method."""
    valid = np.array([r is None for r in points.reason])
    years = inputs.years
    rows = []
    for inside in members:
        use = inside[valid[inside] & np.isfinite(points.rate_m_per_yr[inside])]
        n = int(use.size)
        row: dict[str, Any] = {
            "ft_points": n,
            "ft_vel_m_yr": None,
            "ft_vel_err_m_yr": None,
            "ft_spread_m_yr": None,
            "ft_above_lod": None,
            "ft_dir_deg": None,
            "ft_lod_m": lod_m,
            "ft_period": inputs.period,
            "ft_method": inputs.method,
            "ft_reason": None,
        }
        if n == 0:
            row["ft_reason"] = "no valid point inside (no texture, no-data, or every match rejected)"
            rows.append(row)
            continue
        displacement = points.displacement_m[use]
        rates = points.rate_m_per_yr[use]
        row["ft_above_lod"] = float(np.mean(displacement > lod_m))
        if float(np.median(displacement)) <= lod_m:
            row["ft_reason"] = (
                f"median displacement {float(np.median(displacement)):.2f} m is below the level of detection {lod_m:.2f} m"
            )
            rows.append(row)
            continue
        spread = MAD_TO_SIGMA * float(np.median(np.abs(rates - np.median(rates)))) / math.sqrt(n)
        row["ft_vel_m_yr"] = float(np.median(rates))
        row["ft_spread_m_yr"] = MAD_TO_SIGMA * float(np.median(np.abs(rates - np.median(rates))))
        row["ft_vel_err_m_yr"] = float(math.hypot(lod_m / years, spread))
        row["ft_dir_deg"] = float(
            direction_deg(np.array([np.median(points.east_m[use])]), np.array([np.median(points.north_m[use])]))[0]
        )
        rows.append(row)
    return rows


@dataclass(frozen=True)
class Areas:
    """Polygons (OGR, in the first raster's CRS) that say where the landforms and the stable ground are (``stable``
    None: outside the landforms), and optional points to track instead of a grid (x, y arrays)."""

    landforms: Sequence[Any] = ()
    stable: Optional[Sequence[Any]] = None
    points_xy: Optional[tuple[np.ndarray, np.ndarray]] = None


@dataclass
class TrackingPlan:
    """Everything decided before matching: the grid, the points, which lie on each landform and on stable ground. It
    holds no open dataset, so a cluster's client can make it and ship its points to tasks (``region``)."""

    inputs: TrackingInputs
    settings: TrackingSettings
    grid: RasterGrid
    rows: np.ndarray
    cols: np.ndarray
    landform_members: list[np.ndarray]
    stable_mask: np.ndarray
    stable_given: bool
    regular: Optional[RasterGrid]
    notes: list[str]


def plan_tracking(inputs: TrackingInputs, settings: TrackingSettings, areas: Areas = Areas()) -> TrackingPlan:
    """Check the inputs, lay out the points (a grid every ``spacing_px``, or ``areas.points_xy``) and place them."""
    landforms, stable = areas.landforms, areas.stable
    if inputs.second_date <= inputs.first_date:
        raise ParameterError(f"The second date ({inputs.second_date}) must come after the first ({inputs.first_date}).")
    if inputs.spacing_px < 1:
        raise ParameterError("The grid spacing must be at least one pixel.")
    pair = open_pair(inputs.first_path, inputs.second_path)
    grid, notes = pair.grid, list(pair.notes)
    if inputs.kind == DEM:
        light = (
            "multidirectional (225, 270, 315, 360 deg)"
            if inputs.illumination_azimuth_deg is None
            else f"from {inputs.illumination_azimuth_deg:g} deg"
        )
        notes.append(f"DEMs tracked as hillshades lit {light}, 45 deg above the horizon.")
    margin = settings.template_px // 2 + settings.search_radius_px
    gt = grid.geotransform
    regular = None
    if areas.points_xy is not None:
        cols = np.floor((np.asarray(areas.points_xy[0]) - gt[0]) / gt[1]).astype(int)
        rows = np.floor((np.asarray(areas.points_xy[1]) - gt[3]) / gt[5]).astype(int)
    else:
        rows, cols = _points((grid.height_px, grid.width_px), inputs.spacing_px, margin)
        shape = (
            len(range(margin, grid.height_px - margin, inputs.spacing_px)),
            len(range(margin, grid.width_px - margin, inputs.spacing_px)),
        )
        regular = _point_grid(grid, inputs.spacing_px, margin, shape)
    if rows.size == 0:
        raise InputRasterError(
            f"The rasters ({grid.width_px} x {grid.height_px} px) are smaller than one template and its search "
            f"({2 * margin + 1} px): give larger rasters or a smaller template / largest velocity."
        )
    landform_members = [_points_inside([p] if p is not None else [], grid, rows, cols, regular) for p in landforms]
    stable_mask = np.zeros(rows.shape, bool)
    if stable:
        stable_mask[_points_inside([p for p in stable if p is not None], grid, rows, cols, regular)] = True
    else:
        stable_mask[:] = True
        for inside in landform_members:
            stable_mask[inside] = False
    if not landforms and not stable:
        notes.append(
            "WARNING: no landforms (INPUT) and no STABLE polygons, so every point counted as stable ground: moving "
            "ground entered the co-registration and the level of detection. Give STABLE (or the landforms) for a "
            "meaningful level of detection."
        )
    return TrackingPlan(inputs, settings, grid, rows, cols, landform_members, stable_mask, bool(stable), regular, notes)


def match_points(
    inputs: TrackingInputs, settings: TrackingSettings, rows: np.ndarray, cols: np.ndarray, hooks: RunHooks = RunHooks()
) -> Tracked:
    """The raw matches of the points (before any filter), the rasters read a band of rows at a time: what one run does
    for all its points, and a cluster's task for its share of them."""
    return track_in_bands(
        open_pair(inputs.first_path, inputs.second_path),
        Texture(inputs.kind, inputs.illumination_azimuth_deg),
        rows,
        cols,
        settings,
        hooks,
    )


def finish_tracking(plan: TrackingPlan, tracked: Tracked) -> TrackingResult:
    """Filters, co-registration, level of detection, displacements and per-landform rates from the raw matches."""
    inputs, settings, grid, rows, cols = plan.inputs, plan.settings, plan.grid, plan.rows, plan.cols
    gt = grid.geotransform
    notes = list(plan.notes)
    filter_weak_matches(tracked, settings)
    registration = coregister(tracked, rows, cols, plan.stable_mask)
    if registration is None:
        raise InputRasterError(
            "No stable point could be matched, so the images cannot be co-registered: give STABLE polygons on "
            "ground that did not move and has texture, or landforms that leave some of the images outside them."
        )
    correction_col, correction_row = registration.correction(rows, cols)
    d_col, d_row = tracked.d_col_px - correction_col, tracked.d_row_px - correction_row
    east, north = pixel_shift_to_metres(d_col, d_row, gt)
    east, north = east * grid.linear_unit_m, north * grid.linear_unit_m
    size = np.hypot(east, north)
    stable_ok = plan.stable_mask & np.array([r is None for r in tracked.reason])
    lod = level_of_detection_m(size[stable_ok])
    pixel_m = abs(gt[1]) * grid.linear_unit_m
    filter_inconsistent(d_col, d_row, tracked.reason, rows, cols, lod / pixel_m, settings)
    x, y = gt[0] + (cols + 0.5) * gt[1], gt[3] + (rows + 0.5) * gt[5]
    points = PointResult(
        x,
        y,
        east,
        north,
        size,
        size / inputs.years,
        direction_deg(east, north),
        tracked.correlation,
        plan.stable_mask,
        tracked.reason,
    )
    correction = (
        f"shift {registration.coefficients_col[0] * pixel_m:+.2f} m east, {registration.coefficients_row[0] * gt[5]:+.2f} m north"
        if registration.kind == "shift"
        else "affine (shift and linear terms)"
    )
    notes.append(
        f"Co-registration on {registration.points} stable points: {correction}; residual RMS "
        f"{registration.rms_px * pixel_m:.2f} m. Level of detection (95th percentile on stable ground): {lod:.2f} m "
        f"({lod / inputs.years:.2f} m/yr over {inputs.years:.2f} years)."
    )
    rejected: dict[str, int] = {}
    for reason in tracked.reason:
        if reason is not None:
            rejected[reason] = rejected.get(reason, 0) + 1
    notes.append(
        f"{len(rows)} points, {sum(1 for r in tracked.reason if r is None)} valid"
        + ("; rejected: " + ", ".join(f"{k} {v}" for k, v in sorted(rejected.items())) if rejected else "")
        + "."
    )
    result = TrackingResult(points, grid.crs_wkt, lod, registration, inputs.years, notes=notes, point_grid=plan.regular)
    if plan.landform_members:
        result.landforms = _landform_rates(plan.landform_members, points, lod, inputs)
    return result


def track_features(
    inputs: TrackingInputs, settings: TrackingSettings, areas: Areas = Areas(), hooks: RunHooks = RunHooks()
) -> TrackingResult:
    """Points and per-landform velocities (see the module docstring): ``plan_tracking``, ``match_points`` (the rasters
    read a band of rows at a time, progress per band, cancel between batches of points), ``finish_tracking``."""
    plan = plan_tracking(inputs, settings, areas)
    return finish_tracking(plan, match_points(inputs, settings, plan.rows, plan.cols, hooks))


def search_radius_px(max_velocity_m_per_yr: float, years: float, pixel_m: float, margin_px: int = 3) -> int:
    """Search radius in pixels for the largest expected velocity over the period, plus a margin for the sub-pixel fit.

    >>> search_radius_px(2.0, 5.0, 0.5)
    23
    """
    if max_velocity_m_per_yr <= 0:
        raise ParameterError("The largest expected velocity must be positive (m/yr).")
    return int(math.ceil(max_velocity_m_per_yr * years / pixel_m)) + margin_px
