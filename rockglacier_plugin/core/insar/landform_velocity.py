"""Mean downslope velocity of each rock glacier from unwrapped interferograms (``rockglacier:insarvelocity``).

For every landform and every interferogram covering it:

1. LOS velocity (cm/yr, towards the satellite) from the phase, after removing the scene's planar
   ramp fitted on stable ground (``scene``).
2. Re-referencing to a stable patch near the landform (``reference``).
3. Projection onto the downslope direction, v_dslp = v_los / g (``los_geometry``), keeping pixels
   with coherence >= MIN_COHERENCE, |g| >= MIN_PROJECTION_FACTOR and slope >= MIN_SLOPE_DEG.
4. Mean over the landform's pixels (those whose centre is inside; every touched pixel, weighted
   by coverage, for landforms smaller than a pixel) and its 1-sigma error (our first-order
   derivation):

   sigma^2 = c^2 sum(w^2 (sigma_los/g)^2) / (sum w)^2        pixel noise, n_eff = n / c^2
           + (sigma_ref * |sum(w/g)| / sum w)^2                 reference patch, common to all
           + (sum(w |v| sigma_g / |g|) / sum w)^2               DEM slope/aspect errors, correlated

   with c = NOISE_CORRELATION_PX (multilooking and filtering correlate neighbours, so plain 1/N
   averaging is optimistic).
5. ``vel_ok`` = 1 when the kept share of the landform > MIN_VALID_FRACTION (0.4) and the relative
   error < MAX_RELATIVE_ERROR (0.2), the paper's criteria; otherwise ``vel_reason`` says why. A
   negative mean (upslope motion) is flagged in ``vel_reason`` and never folded with abs().

Inputs are unwrapped interferograms or LOS velocity maps (time-series products normalised by
``velocity_map``; their standard deviation is the pixel noise, no ramp is removed unless asked).
Each landform keeps the pair that passes with the smallest relative error (else the one with the
largest kept share), recorded in ``vel_pair``; ascending and descending values are combined as
``velocity_series`` says, and every pair's value is returned for the ``velocity_pairs`` table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..conventions import MAD_TO_SIGMA
from ..errors import InputVectorError
from ..inventory.kinematic_classes import kinematic_class
from ..progress import RunHooks
from ..raster.coverage import coverage_and_centres, coverage_fraction
from ..raster.geometry import Polygons, prepare_polygon, spatial_reference, transformed, transformer
from ..raster.overlap import check_overlap, covered_share, geometries_footprint
from ..raster.windows import Window, window_from_bounds
from .interferogram import Interferogram
from .reference import (
    LADDER,
    MAX_RADIUS_FACTOR,
    LandformPlace,
    ReferenceChoice,
    StableGroundRule,
    distance_to_mask_m,
    measure_manual,
    nearest_point_index,
    reference_candidates,
    ring_prediction_sigma,
)
from .scene import InsarScene, LosGeometry, SceneSettings, VelocityMapScene, WindowData, dem_notes
from .velocity_map import QUALITY_BAND, VelocityMap
from .velocity_rasters import RASTER_PROGRESS_STEPS, write_velocity_rasters
from .velocity_series import PairCandidate, choose, pair_row

SURROUNDINGS = next(rung for rung in LADDER if rung.name == "surroundings")
NOT_COVERED = "not covered by any interferogram or velocity product"


@dataclass(frozen=True)
class VelocitySettings:
    """The measuring options of a velocity run: the paper's criteria, the projection gates, the reference ladder's rules."""

    min_coherence: float = 0.3
    min_valid_fraction: float = 0.4
    max_relative_error: float = 0.2
    min_projection_factor: float = 0.3
    min_slope_deg: float = 5.0
    noise_correlation_px: float = 2.0
    reference_radius_m: float = 1000.0
    reference_window_px: int = 5
    reference_min_coherence: float = 0.7
    reference_max_slope_deg: float = 10.0
    reference_max_elev_diff_m: float = 300.0
    scene: SceneSettings = SceneSettings()
    velocity_map_remove_ramp: bool = False  # time-series products are usually deramped already


@dataclass(frozen=True)
class PairInput:
    """One pair as the core measures it: an interferogram (or a velocity product) with its coherence, components and geometry."""

    interferogram: Interferogram
    coherence_path: str
    coherence_band: int = 1
    components_path: Optional[str] = None  # SNAPHU connected components (0 = not unwrapped)
    velocity_map: Optional[VelocityMap] = None  # a LOS velocity product instead of a phase
    geometry: Optional[LosGeometry] = None  # this pair's own geometry (product look vectors); else the run's
    track: Optional[str] = None  # ascending / descending, when known
    source: str = ""

    @classmethod
    def from_velocity_map(cls, velocity_map: VelocityMap) -> "PairInput":
        """A LOS velocity product as a pair (its quality band as the coherence)."""
        return cls(
            velocity_map.as_interferogram(),
            velocity_map.velocity_path,
            QUALITY_BAND,
            None,
            velocity_map,
            velocity_map.geometry,
            velocity_map.track,
            velocity_map.source,
        )


@dataclass(frozen=True)
class ReferencePoints:
    """User reference points: coordinates in ``crs`` and an optional rg_id each."""

    xy: Sequence[tuple[float, float]]
    rg_ids: Sequence[Optional[str]]
    crs: str

    @classmethod
    def from_wkb(cls, points_wkb: Sequence[Optional[bytes]], rg_ids: Sequence[Optional[str]], crs: str) -> "ReferencePoints":
        """Points from WKB (points or multipoints; every part of a multipoint is a candidate with the
        feature's rg_id, the nearest one is used). Features without geometry are skipped."""
        from osgeo import ogr

        xy: list[tuple[float, float]] = []
        ids: list[Optional[str]] = []
        for wkb, rg_id in zip(points_wkb, rg_ids):
            geometry = ogr.CreateGeometryFromWkb(bytes(wkb)) if wkb else None
            if geometry is None or geometry.IsEmpty():
                continue
            parts = (
                [geometry.GetGeometryRef(i) for i in range(geometry.GetGeometryCount())]
                if ogr.GT_Flatten(geometry.GetGeometryType()) == ogr.wkbMultiPoint
                else [geometry]
            )
            for part in parts:
                if ogr.GT_Flatten(part.GetGeometryType()) != ogr.wkbPoint:
                    raise InputVectorError("REFERENCE_POINTS must be a point layer; give points on stable ground.")
                xy.append((part.GetX(), part.GetY()))
                ids.append(rg_id)
        if not xy:
            raise InputVectorError(
                "REFERENCE_POINTS has no point; give points on stable ground or leave it empty for automatic references."
            )
        return cls(xy, ids, crs)


@dataclass
class LandformVelocity:
    """One landform's velocity fields (``schema.ROCK_GLACIER_FIELDS``' vel_*), and the reference it was measured against."""

    vel_dslp_cm_yr: Optional[float] = None
    vel_err_cm_yr: Optional[float] = None
    vel_rel_err: Optional[float] = None
    vel_valid_frac: float = 0.0
    vel_pair: Optional[str] = None
    vel_geometry: Optional[str] = None
    vel_ok: int = 0
    kin_class: str = "undefined"
    vel_reason: Optional[str] = None
    reference: Optional[dict[str, Any]] = None

    def fields(self) -> dict[str, Any]:
        """The inventory's fields (the reference, written as a point, left out)."""
        return {k: v for k, v in self.__dict__.items() if k != "reference"}


@dataclass
class VelocityResult:
    """The inventory's value of every landform, and the velocity_pairs rows."""

    landforms: list[LandformVelocity]
    pair_rows: list[dict[str, Any]] = field(default_factory=list)  # the velocity_pairs table


@dataclass(frozen=True)
class _PairContext:
    """What every landform of one pair is measured against: all landforms (in the scene's CRS) and their
    envelopes, the scene, the settings and the user's reference points (and their places in the scene)."""

    landforms: list[Any]
    envelopes: np.ndarray
    scene: InsarScene
    settings: VelocitySettings
    points_rc: list[tuple[float, float]]
    points: Optional[ReferencePoints]


@dataclass(frozen=True)
class _LandformWindow:
    """One landform in the window read around it (``outer``): its grids, its place (the pixels outside every
    landform, centre, pixel size, elevation, distance to its outline) and its id."""

    rg_id: str
    data: WindowData
    place: LandformPlace
    outer: Window


@dataclass
class PairMeasurement:
    """One pair's value for every landform (input order): a ``PairCandidate`` where the pair covers the landform, else
    None. What a region task returns; ``combine_pairs`` makes the inventory's values from every pair's."""

    label: str
    candidates: list[Optional[PairCandidate]]


def extract_velocities(
    landforms: Polygons,
    pairs: Sequence[PairInput],
    dem_path: str,
    geometry: LosGeometry,
    settings: VelocitySettings = VelocitySettings(),
    reference_points: Optional[ReferencePoints] = None,
    hooks: RunHooks = RunHooks(),
    raster_outputs: Optional[Sequence[tuple[Optional[str], Optional[str]]]] = None,
) -> VelocityResult:
    """Velocity fields of every landform (input order; ``landforms.ids`` are their rg_id); see the
    module docstring. ``measure_pairs`` then ``combine_pairs``.

    ``raster_outputs``: per pair, paths of the LOS and downslope velocity rasters to write
    (None = not wanted).
    """
    measured = measure_pairs(landforms, pairs, dem_path, geometry, settings, reference_points, hooks, raster_outputs)
    return combine_pairs(measured, landforms.ids)


def measure_pairs(
    landforms: Polygons,
    pairs: Sequence[PairInput],
    dem_path: str,
    geometry: LosGeometry,
    settings: VelocitySettings = VelocitySettings(),
    reference_points: Optional[ReferencePoints] = None,
    hooks: RunHooks = RunHooks(),
    raster_outputs: Optional[Sequence[tuple[Optional[str], Optional[str]]]] = None,
) -> list[PairMeasurement]:
    """Every pair's value of every landform (steps 1-5 of the module docstring), one ``PairMeasurement`` per pair."""
    polygons_wkb, polygons_crs, rg_ids, log = landforms.wkb, landforms.crs_wkt, landforms.ids, hooks.log
    if not polygons_wkb:
        raise InputVectorError("The input layer has no features; add rock-glacier polygons first.")
    if not pairs:
        raise InputVectorError("Give at least one unwrapped interferogram (UNWRAPPED).")
    raster_steps = RASTER_PROGRESS_STEPS if raster_outputs is not None else 0
    progress = hooks.progress(len(pairs) * (len(polygons_wkb) + 1 + raster_steps))
    polygon_srs = spatial_reference(polygons_crs, "input layer")
    prepared = [prepare_polygon(wkb).geometry for wkb in polygons_wkb]
    for note in dem_notes(dem_path, settings.scene.dem_band):
        log(note)
    # every input opened and its grid checked before any work
    scenes = [open_pair_scene(pair, dem_path, geometry, settings, log) for pair in pairs]
    _check_landforms_covered(prepared, polygons_crs, scenes, log)
    measured: list[PairMeasurement] = []
    for pair_index, (pair, scene) in enumerate(zip(pairs, scenes)):
        to_scene = transformer(polygon_srs, spatial_reference(scene.grid.crs_wkt, "interferogram"))
        from_scene = transformer(spatial_reference(scene.grid.crs_wkt), polygon_srs)
        in_scene = [None if g is None else transformed(g, to_scene) for g in prepared]
        scene.fit_stable_ground(in_scene, settings.min_coherence)
        _log_scene(pair, scene, log)
        envelopes = np.array([g.GetEnvelope() if g is not None else (np.nan,) * 4 for g in in_scene]).reshape(-1, 4)
        context = _PairContext(in_scene, envelopes, scene, settings, _points_in_scene(reference_points, scene), reference_points)
        progress.advance()
        label = pair.interferogram.pair_label
        found: list[Optional[PairCandidate]] = []
        for index, geometry_scene in enumerate(in_scene):
            value = _landform_velocity(index, geometry_scene, str(rg_ids[index]), context)
            if value is not None:
                value.vel_pair, value.vel_geometry = label, pair.track
                if value.reference is not None:
                    value.reference = _reference_in_layer_crs(value.reference, from_scene, label)
            found.append(
                None
                if value is None
                else PairCandidate(value, pair.track, *_period(pair), pair.source or pair.interferogram.path)
            )
            progress.advance()
        measured.append(PairMeasurement(label, found))
        if raster_outputs is not None and any(raster_outputs[pair_index]):
            los_path, downslope_path = raster_outputs[pair_index]
            write_velocity_rasters(
                scene,
                los_path,
                downslope_path,
                settings.min_coherence,
                settings.min_projection_factor,
                settings.min_slope_deg,
                progress,
                raster_steps,
            )
        elif raster_steps:
            progress.advance(raster_steps)
    return measured


def combine_pairs(measured: Sequence[PairMeasurement], rg_ids: Sequence[Optional[str]]) -> VelocityResult:
    """The inventory's value of each landform from every pair's (``velocity_series.choose``; a landform no pair covers
    says so), and the ``velocity_pairs`` rows, pair by pair in input order."""
    per_landform: list[list[PairCandidate]] = [[] for _ in rg_ids]
    pair_rows: list[dict[str, Any]] = []
    for measurement in measured:
        for index, candidate in enumerate(measurement.candidates):
            if candidate is not None:
                per_landform[index].append(candidate)
                pair_rows.append(pair_row(str(rg_ids[index]), candidate))
    return VelocityResult(best_velocities(per_landform), pair_rows)


def _reference_in_layer_crs(reference: dict[str, Any], from_scene: Any, label: str) -> dict[str, Any]:
    """The reference used, its place moved from the scene's ``xy`` to the layer's ``x``/``y``, with the pair's label."""
    x, y = reference["xy"]
    point = from_scene.TransformPoint(x, y)
    return {**{k: v for k, v in reference.items() if k != "xy"}, "x": point[0], "y": point[1], "vel_pair": label}


def best_velocities(candidates: Sequence[Sequence[PairCandidate]]) -> list[LandformVelocity]:
    """The inventory's value of each landform from its pairs' values (``velocity_series.choose``)."""
    return [choose(found) or LandformVelocity(vel_reason=NOT_COVERED) for found in candidates]


def _check_landforms_covered(
    prepared: Sequence[Any], polygons_crs: str, scenes: Sequence[InsarScene], log: Callable[[str], None]
) -> None:
    """No pair covers any landform: an error naming the layer and the pairs (a CRS set wrong, another area);
    a pair covering part of them: a warning."""
    landforms = geometries_footprint(prepared, polygons_crs, "input layer")
    if landforms is None:
        return
    shares = [covered_share(landforms, scene.footprint) for scene in scenes]
    if not any(shares):
        check_overlap(landforms, scenes[0].footprint, "")  # raises, naming both
    for scene, share in zip(scenes, shares):
        partial = (
            check_overlap(landforms, scene.footprint, "landforms outside it get no velocity from it.")
            if share
            else (f"The {scene.footprint.what} covers none of the landforms; it gives no velocity.")
        )
        if partial:
            log(f"Warning: {partial}")


def open_pair_scene(
    pair: PairInput, dem_path: str, geometry: LosGeometry, settings: VelocitySettings, log: Callable[[str], None]
) -> InsarScene:
    """The scene of one pair: opened, its grids checked against the DEM's and the geometry's, logged."""
    own_geometry = pair.geometry or geometry
    if pair.velocity_map is not None:
        scene_settings = replace(
            settings.scene,
            remove_ramp=settings.velocity_map_remove_ramp,
            remove_stratified=settings.velocity_map_remove_ramp and settings.scene.remove_stratified,
        )
        return VelocityMapScene(pair.velocity_map, dem_path, scene_settings, log)
    return InsarScene(
        pair.interferogram,
        pair.coherence_path,
        pair.coherence_band,
        dem_path,
        own_geometry,
        settings.scene,
        log,
        pair.components_path,
    )


def _period(pair: PairInput) -> tuple[Any, Any]:
    first, second = pair.interferogram.reference_date, pair.interferogram.secondary_date
    return (first, second) if first <= second else (second, first)


def _log_scene(pair: PairInput, scene: InsarScene, log: Callable[[str], None]) -> None:
    label = pair.interferogram.pair_label
    if pair.velocity_map is not None:
        log(
            f"{label}: LOS velocity product {pair.source}; "
            + ("ramp removed" if scene.settings.remove_ramp else "no ramp removed (a time-series velocity)")
            + f"; scene reference {scene.scene_reference_cm_per_yr:.2f} cm/yr."
        )
        return
    log(
        f"{label}: 1 rad = {abs(scene.factor):.2f} cm/yr of LOS velocity; ramp "
        f"{scene.ramp.per_col_rad * 1000:.3f} / {scene.ramp.per_row_rad * 1000:.3f} mrad per pixel (col/row) removed; "
        f"stratified atmosphere {scene.ramp.per_km_rad:.3f} rad/km of elevation removed."
    )


def _points_in_scene(points: Optional[ReferencePoints], scene: InsarScene) -> list[tuple[float, float]]:
    if points is None:
        return []
    to_scene = transformer(spatial_reference(points.crs, "reference points"), spatial_reference(scene.grid.crs_wkt))
    x0, dx, _, y0, _, dy = scene.grid.geotransform
    out = []
    for x, y in points.xy:
        sx, sy, *_ = to_scene.TransformPoint(x, y)
        out.append(((sy - y0) / dy - 0.5, (sx - x0) / dx - 0.5))
    return out


def _landform_velocity(index: int, geometry: Any, rg_id: str, context: _PairContext) -> Optional[LandformVelocity]:
    """The landform's velocity in this pair; None when the landform lies outside the pair's grid."""
    scene, settings, envelopes = context.scene, context.settings, context.envelopes
    if geometry is None:
        return LandformVelocity(vel_reason="no usable geometry")
    xmin, xmax, ymin, ymax = geometry.GetEnvelope()
    inner = window_from_bounds(xmin, ymin, xmax, ymax, scene.grid.geotransform)
    if inner.intersection(scene.grid.full_window) is None:
        return None
    pixel_m = scene.pixel_size_m(min(max(inner.row_off, 0), scene.grid.height_px - 1))
    pad = int(math.ceil(settings.reference_radius_m * MAX_RADIUS_FACTOR / min(pixel_m)))
    outer = inner.padded(pad)
    data = scene.read(outer)
    gt = scene.grid.geotransform
    # Velocity statistics use the pixels whose centre is inside: edge pixels mix moving and
    # stable ground and would dilute the mean. Polygons that hold no pixel centre keep their
    # partial pixels, weighted by coverage.
    cover, centres = coverage_and_centres(geometry, outer, gt)
    weight = centres.astype(np.float64) if centres.any() else cover
    others = np.zeros(outer.shape, dtype=bool)
    bxmin, bymax = gt[0] + outer.col_off * gt[1], gt[3] + outer.row_off * gt[5]
    bxmax, bymin = bxmin + outer.width_px * gt[1], bymax + outer.height_px * gt[5]
    near = (envelopes[:, 1] >= bxmin) & (envelopes[:, 0] <= bxmax) & (envelopes[:, 3] >= bymin) & (envelopes[:, 2] <= bymax)
    for other in np.flatnonzero(near):
        # Any pixel a landform touches is no stable ground for a reference.
        others |= (cover if other == index else coverage_fraction(context.landforms[other], outer, gt)) > 0
    kept, component_note = _one_component(data, weight)
    if kept is None:
        return LandformVelocity(vel_reason=component_note)
    data = kept
    total = float(weight.sum())
    weights_z = weight * np.isfinite(data.elevation_m)
    if total <= 0 or weights_z.sum() <= 0:
        return LandformVelocity(vel_reason="outside the interferogram or DEM")
    landform_elev = float(np.nansum(data.elevation_m * weights_z) / weights_z.sum())
    centroid = geometry.Centroid()
    centre_rc = ((centroid.GetY() - gt[3]) / gt[5] - 0.5 - outer.row_off, (centroid.GetX() - gt[0]) / gt[1] - 0.5 - outer.col_off)
    distance_to_landform_m = distance_to_mask_m(cover > 0, pixel_m)
    window = _LandformWindow(
        rg_id, data, LandformPlace(~others, centre_rc, pixel_m, landform_elev, distance_to_landform_m), outer
    )
    reference, atmosphere = _reference(window, context)
    result = _statistics(data, weight, total, reference, settings, atmosphere)
    if component_note:
        result.vel_reason = "; ".join(filter(None, [result.vel_reason, component_note]))
    if reference is not None:
        x = gt[0] + (outer.col_off + reference.col + 0.5) * gt[1]
        y = gt[3] + (outer.row_off + reference.row + 0.5) * gt[5]
        distance = float(distance_to_landform_m[reference.row, reference.col])
        elevation = (
            reference.elevation_m
            if math.isfinite(reference.elevation_m)
            else float(data.elevation_m[reference.row, reference.col])
        )
        result.reference = {
            "rg_id": rg_id,
            "method": reference.method,
            "rung": reference.rung,
            "coherence": reference.coherence,
            "vel_los_cm_yr": reference.velocity_los_cm_per_yr,
            "sigma_cm_yr": reference.sigma_cm_per_yr,
            "distance_m": distance,
            "elev_diff_m": elevation - landform_elev,
            "xy": (x, y),
        }
        if reference.note:
            result.vel_reason = "; ".join(filter(None, [result.vel_reason, reference.note]))
    return result


def _one_component(data: WindowData, weight: np.ndarray) -> tuple[Optional[WindowData], Optional[str]]:
    """Keep only the SNAPHU component holding most of the landform, for the landform and its reference:
    two components can differ by whole fringes (93.7 cm/yr a fringe for a 46-day ALOS-1 pair)."""
    if data.component is None:
        return data, None
    inside = (weight > 0) & (data.component > 0)
    if not inside.any():
        return None, "the landform lies in pixels SNAPHU could not unwrap (connected component 0)"
    labels, counts = np.unique(data.component[inside], return_counts=True)
    main = labels[np.argmax(counts)]
    other_share = 1.0 - float(weight[inside & (data.component == main)].sum() / weight[weight > 0].sum())
    kept = replace(data, velocity_los_cm_per_yr=np.where(data.component == main, data.velocity_los_cm_per_yr, np.nan))
    note = (
        f"{100 * other_share:.0f} % of the landform lies outside its main unwrapping component and is not used"
        if other_share >= 0.01
        else None
    )
    return kept, note


def _reference(window: _LandformWindow, context: _PairContext) -> tuple[Optional[ReferenceChoice], float]:
    """The reference and the atmospheric error it brings (``_atmosphere_sigma``, 0 without a reference)."""
    rg_id, data, outer, settings, points = window.rg_id, window.data, window.outer, context.settings, context.points
    distance_to_landform_m, centre_rc, pixel_m = window.place.distance_to_landform_m, window.place.centre_rc, window.place.pixel_m
    assert distance_to_landform_m is not None  # _landform_velocity always measures it
    # stable ground: outside every landform, with data and coherence the masks accept
    stable = (
        window.place.outside_landforms & np.isfinite(data.velocity_los_cm_per_yr) & (data.coherence >= settings.min_coherence)
    )

    def atmosphere(choice: ReferenceChoice) -> float:
        if choice.rung == SURROUNDINGS.name:  # a ring median: measured by moving the ring onto stable ground
            measured = ring_prediction_sigma(
                data.velocity_los_cm_per_yr,
                data.sigma_los_cm_per_yr,
                stable,
                distance_to_landform_m <= 0,
                distance_to_landform_m,
                settings.reference_radius_m * SURROUNDINGS.radius_factor,
                pixel_m,
                settings.noise_correlation_px,
            )
            if measured is not None:
                return measured
        return _atmosphere_sigma(data, stable, choice, centre_rc, pixel_m)

    fallback_note = None
    if points is not None:
        local = [(r - outer.row_off, c - outer.col_off) for r, c in context.points_rc]
        chosen = nearest_point_index(local, list(points.rg_ids), rg_id, centre_rc, pixel_m, settings.reference_radius_m)
        if chosen is not None:
            row, col = (int(round(v)) for v in local[chosen])
            manual = measure_manual(
                row,
                col,
                data.velocity_los_cm_per_yr,
                data.sigma_los_cm_per_yr,
                data.coherence,
                settings.min_coherence,
                settings.reference_window_px,
                settings.noise_correlation_px,
            )
            if manual is not None:
                return manual, atmosphere(manual)
            fallback_note = (
                f"the reference point given for {rg_id} lies outside the data or on pixels with coherence below "
                f"{settings.min_coherence:g}; the automatic reference was used instead"
            )
    candidates = reference_candidates(data, window.place, _stable_ground_rule(settings))
    if not candidates:
        return None, 0.0
    # the best reference available: the smallest error it brings (its own noise and what the
    # atmosphere changes between it and the landform), the ladder's order breaking ties
    atmospheres = [atmosphere(candidate) for candidate in candidates]
    best = min(range(len(candidates)), key=lambda i: math.hypot(candidates[i].sigma_cm_per_yr, atmospheres[i]))
    automatic, atmosphere_sigma = candidates[best], atmospheres[best]
    if fallback_note:
        automatic = replace(automatic, note="; ".join(filter(None, [fallback_note, automatic.note])))
    return automatic, atmosphere_sigma


def _stable_ground_rule(settings: VelocitySettings) -> StableGroundRule:
    """The reference search's limits from the velocity settings."""
    return StableGroundRule(
        settings.min_coherence,
        settings.reference_min_coherence,
        settings.reference_max_slope_deg,
        settings.reference_max_elev_diff_m,
        settings.reference_window_px,
        settings.noise_correlation_px,
        settings.reference_radius_m,
    )


def _atmosphere_sigma(
    data: WindowData, stable: np.ndarray, reference: ReferenceChoice, centre_rc: tuple[float, float], pixel_m: tuple[float, float]
) -> float:
    """LOS velocity error (cm/yr) from what differs between the reference and the landform's place:
    turbulent atmosphere and residual ramp or stratification. Measured on the stable ground around:
    the scatter of stable pixels at the reference-to-landform distance from the reference, minus
    what their own phase noise explains (an empirical structure function at one lag)."""
    rows, cols = np.ogrid[0 : data.velocity_los_cm_per_yr.shape[0], 0 : data.velocity_los_cm_per_yr.shape[1]]
    lag_m = math.hypot((centre_rc[0] - reference.row) * pixel_m[1], (centre_rc[1] - reference.col) * pixel_m[0])
    from_reference = np.hypot((rows - reference.row) * pixel_m[1], (cols - reference.col) * pixel_m[0])
    ring = stable & (from_reference >= 0.5 * lag_m) & (from_reference <= 1.5 * lag_m + 2 * max(pixel_m))
    if ring.sum() < 20:
        return 0.0
    differences = data.velocity_los_cm_per_yr[ring] - reference.velocity_los_cm_per_yr
    # robust second moment (scaled MAD around 0 keeps a moving neighbour from inflating it)
    scatter = MAD_TO_SIGMA * float(np.median(np.abs(differences)))
    noise = float(np.sqrt(np.mean(data.sigma_los_cm_per_yr[ring] ** 2)))
    return math.sqrt(max(scatter**2 - noise**2, 0.0))


def _statistics(
    data: WindowData,
    cover: np.ndarray,
    total: float,
    reference: Optional[ReferenceChoice],
    settings: VelocitySettings,
    atmosphere_sigma_cm_per_yr: float = 0.0,
) -> LandformVelocity:
    g = data.projection
    valid = (
        (cover > 0)
        & np.isfinite(data.velocity_los_cm_per_yr)
        & np.isfinite(g)
        & (data.coherence >= settings.min_coherence)
        & (np.abs(g) >= settings.min_projection_factor)
        & (data.slope_deg >= settings.min_slope_deg)
    )
    valid_fraction = float(cover[valid].sum() / total)
    if reference is None:
        return LandformVelocity(
            vel_valid_frac=valid_fraction,
            vel_reason=(
                f"nothing stable (outside every landform, coherence >= {settings.min_coherence:g}) within "
                f"{settings.reference_radius_m * MAX_RADIUS_FACTOR / 1000:g} km to reference it"
            ),
        )
    if not valid.any():
        return LandformVelocity(vel_valid_frac=0.0, vel_reason="no pixel passes the coherence, slope and projection masks")
    w = cover[valid]
    gv = g[valid]
    v = (data.velocity_los_cm_per_yr[valid] - reference.velocity_los_cm_per_yr) / gv
    w_sum = float(w.sum())
    mean = float(np.dot(w, v) / w_sum)
    c = max(settings.noise_correlation_px, 1.0)
    noise = c * math.sqrt(float(np.dot(w**2, (data.sigma_los_cm_per_yr[valid] / gv) ** 2))) / w_sum
    ref_term = math.hypot(reference.sigma_cm_per_yr, atmosphere_sigma_cm_per_yr) * abs(float(np.dot(w, 1.0 / gv))) / w_sum
    geom_term = float(np.dot(w, np.abs(v) * data.projection_sigma[valid] / np.abs(gv))) / w_sum
    error = math.sqrt(noise**2 + ref_term**2 + geom_term**2)
    relative = error / abs(mean) if mean != 0 else math.inf
    reasons = []
    if valid_fraction <= settings.min_valid_fraction:
        reasons.append(
            f"only {100 * valid_fraction:.0f} % of the landform passes the masks (needs > "
            f"{100 * settings.min_valid_fraction:.0f} %)"
        )
    if not relative < settings.max_relative_error:
        reasons.append(f"relative error {relative:.2f} is not below {settings.max_relative_error:g}")
    if mean < 0:  # decided before vel_ok: upslope motion is never a valid creep velocity, nor the best pair
        reasons.append(
            f"negative downslope velocity {mean:.1f} cm/yr (upslope motion): check the dates' order, the sign and the reference"
        )
    ok = not reasons
    return LandformVelocity(
        vel_dslp_cm_yr=mean,
        vel_err_cm_yr=error,
        vel_rel_err=relative if math.isfinite(relative) else None,
        vel_valid_frac=valid_fraction,
        vel_ok=int(ok),
        kin_class=kinematic_class(mean, ok),
        vel_reason="; ".join(reasons) or None,
    )
