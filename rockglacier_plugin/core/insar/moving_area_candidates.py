"""Moving-area candidates from interferograms or LOS velocity products (``rockglacier:movingareas``).

Each pair is read as ``rockglacier:insarvelocity`` reads it (``open_pair_scene``: the same inputs,
ramp and stratified atmosphere fitted on stable ground outside the known landforms and glaciers),
turned into a downslope velocity field with a local reference (``candidate_field``) and into
regions of significant motion (``candidate_regions``). Regions of all pairs are then merged where
they overlap, in the output CRS, into one candidate each:

* its values (mean and 95th-percentile downslope velocity with errors, coherent share, pair) are
  those of the pair whose mean has the smallest relative error;
* ``pairs_seen`` counts the pairs in which it moves, ``pairs_covering`` the pairs that see at
  least ``min_coherent_share`` of it coherently; a moving area seen in fewer pairs than cover it is
  kept and flagged in ``vel_reason`` (one pair may catch what the others miss, or one pair's
  atmosphere may mimic motion: the analyst decides);
* ``vel_ok`` and ``kin_class`` follow the rules of ``insarvelocity`` (share kept above
  ``min_valid_fraction``, relative error below ``max_relative_error``);
* ``match_rg_id`` names the landform of the optional inventory it overlaps most, so only new ones
  need review; rg_ids continue after the inventory's (``identifiers.ids_after``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..errors import InputVectorError, ParameterError
from ..inventory.identifiers import ids_after, validate_prefix
from ..inventory.kinematic_classes import kinematic_class
from ..inventory.schema import Review, Source
from ..progress import CancelCheck, RunHooks
from ..raster.coverage import centres_inside_any, pixel_centres_inside
from ..raster.geometry import (
    EqualAreaProjector,
    Polygons,
    prepare_polygon,
    spatial_reference,
    transformed,
    transformer,
)
from ..raster.windows import Window, window_from_bounds
from .candidate_field import CandidateField, FieldSettings, candidate_field
from .candidate_regions import Region, RegionSettings, detected_velocity, pair_regions
from .landform_velocity import PairInput, VelocitySettings, open_pair_scene
from .los_geometry import LosGeometry
from .noise_thresholds import resolved_thresholds


@dataclass(frozen=True)
class MovingAreaSettings:
    """The options of ``find_moving_areas``: the candidate field's, the regions', the class rasters', how pairs are merged."""

    field: FieldSettings = FieldSettings()
    regions: RegionSettings = RegionSettings()
    velocity: VelocitySettings = VelocitySettings()  # scene reading (ramp, atmosphere, looks), vel_ok criteria
    id_prefix: str = "ma"


@dataclass
class MovingAreaResult:
    """The candidates (geometries in the output CRS and their rows), the log's lines and the class rasters written."""

    rows: list[dict[str, Any]]  # inventory fields per candidate
    wkb: list[bytes]  # polygons in ``crs_wkt``
    crs_wkt: str


@dataclass
class _PairOutcome:
    pair: PairInput
    regions: list[Region]
    coherent: np.ndarray
    grid: Any


def _geometries_in(polygons: Optional[Polygons], crs_wkt: str, what: str) -> list[Any]:
    if polygons is None:
        return []
    to_target = transformer(spatial_reference(polygons.crs_wkt, what), spatial_reference(crs_wkt, "interferogram"))
    prepared = [prepare_polygon(wkb).geometry for wkb in polygons.wkb]
    return [transformed(g, to_target) for g in prepared if g is not None]


def _write_class_raster(path: str, candidate: CandidateField, regions: list[Region], settings: RegionSettings) -> None:
    from osgeo import gdal

    from ..inventory.kinematic_classes import KINEMATIC_CLASSES
    from ..inventory.moving_areas import class_codes
    from ..raster.io import BandInfo, create_geotiff
    from ..raster.staged import staged_outputs

    inside = centres_inside_any([ogr_geometry(r.wkb) for r in regions], candidate.grid)
    codes = np.where(inside, class_codes(detected_velocity(candidate, settings)), 0).astype(np.uint8)
    with staged_outputs([path]) as (partial,):
        dataset = create_geotiff(
            partial,
            (candidate.grid.width_px, candidate.grid.height_px),
            candidate.grid.geotransform,
            candidate.grid.crs_wkt,
            gdal.GDT_Byte,
            ["COMPRESS=DEFLATE"],
            band_info=BandInfo(nodata=0, description="RGIK kinematic class of the moving-area candidates (0 = none)"),
        )
        dataset.GetRasterBand(1).WriteArray(codes)
        dataset.SetMetadata({"PAIR": candidate.pair_label})
        dataset = None
    dataset = gdal.Open(path, gdal.GA_Update)  # class names go beside the final file (.aux.xml), not the partial one
    dataset.GetRasterBand(1).SetCategoryNames(["none"] + [label for _, _, label in KINEMATIC_CLASSES])
    dataset = None


def ogr_geometry(wkb: bytes) -> Any:
    """An OGR geometry from WKB."""
    from osgeo import ogr

    return ogr.CreateGeometryFromWkb(wkb)


def _pair_outcome(
    pair: PairInput,
    dem_path: str,
    geometry: LosGeometry,
    settings: MovingAreaSettings,
    known: tuple[Optional[Polygons], Optional[Polygons]],
    class_path: Optional[str],
    cancelled: CancelCheck,
    log: Callable[[str], None],
) -> _PairOutcome:
    scene = open_pair_scene(pair, dem_path, geometry, settings.velocity, log)
    inventory, glaciers = known
    landforms = _geometries_in(inventory, scene.grid.crs_wkt, "inventory")
    glacier_geometries = _geometries_in(glaciers, scene.grid.crs_wkt, "glacier outlines")
    scene.fit_stable_ground(landforms + glacier_geometries, settings.velocity.min_coherence)
    excluded = centres_inside_any(glacier_geometries, scene.grid) if glacier_geometries else None
    candidate = candidate_field(scene, settings.field, excluded, cancelled)
    region_settings, threshold_note = resolved_thresholds(candidate, settings.regions)
    log(threshold_note)
    regions, dropped = pair_regions(candidate, region_settings)
    for note in dropped:
        log(note)
    log(
        f"{candidate.pair_label}: {len(regions)} moving area(s) of at least {region_settings.min_velocity_cm_per_yr:.3g} cm/yr "
        f"downslope ({int(candidate.usable.sum())} usable pixels, {int(candidate.unmeasurable.sum())} in layover, shadow or "
        f"with |g| too small)."
    )
    if class_path:
        _write_class_raster(class_path, candidate, regions, region_settings)
    return _PairOutcome(pair, regions, candidate.coherent, candidate.grid)


def _groups(geometries: list[Any]) -> list[list[int]]:
    """Indices of geometries that overlap, transitively (union-find)."""
    parent = list(range(len(geometries)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(geometries)):
        for j in range(i + 1, len(geometries)):
            if geometries[i].Intersects(geometries[j]):
                parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(geometries)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def _covering(outcomes: list[_PairOutcome], to_pairs: list[Any], geometry: Any, min_share: float) -> list[str]:
    """Labels of the pairs that see at least ``min_share`` of ``geometry`` coherently (``to_pairs``: output CRS -> each
    pair's)."""
    labels = []
    for outcome, to_pair in zip(outcomes, to_pairs):
        local = transformed(geometry, to_pair)
        xmin, xmax, ymin, ymax = local.GetEnvelope()
        full = Window(0, 0, outcome.grid.width_px, outcome.grid.height_px)
        part = window_from_bounds(xmin, ymin, xmax, ymax, outcome.grid.geotransform).padded(1).intersection(full)
        if part is None:
            continue
        inside = pixel_centres_inside(local, part, outcome.grid.geotransform)
        coherent = outcome.coherent[part.row_off : part.row_off + part.height_px, part.col_off : part.col_off + part.width_px]
        if inside.any() and float(coherent[inside].mean()) >= min_share:
            labels.append(outcome.pair.interferogram.pair_label)
    return labels


def _agreement(seen: list[str], covering: list[str]) -> Optional[str]:
    """The flag of a moving area seen in fewer pairs than see it coherently."""
    missed = [label for label in covering if label not in seen]
    if not missed:
        return None
    return (
        f"seen moving in {len(seen)} of {len(set(seen) | set(covering))} pairs that see it coherently "
        f"({', '.join(seen)}); not in {', '.join(missed)}: check both"
    )


def _row(
    best: Region, track: Optional[str], seen: list[str], covering: list[str], settings: MovingAreaSettings
) -> dict[str, Any]:
    relative = best.relative_error
    reasons = []
    if best.usable_share <= settings.velocity.min_valid_fraction:
        reasons.append(f"only {best.usable_share:.0%} of the area is usable (coherent, projectable, within the slope range)")
    if relative >= settings.velocity.max_relative_error:
        reasons.append(f"relative error {relative:.2f} >= {settings.velocity.max_relative_error:g}")
    flag = _agreement(seen, covering)
    ok = not reasons
    return {
        "source": Source.INSAR.value,
        "review": Review.CANDIDATE.value,
        "vel_dslp_cm_yr": best.mean_cm_per_yr,
        "vel_err_cm_yr": best.mean_err_cm_per_yr,
        "vel_rel_err": relative,
        "vel_max_cm_yr": best.max_cm_per_yr,
        "vel_max_err_cm_yr": best.max_err_cm_per_yr,
        "vel_valid_frac": best.usable_share,
        "coh_share": best.coherent_share,
        "vel_pair": best.pair_label,
        "vel_geometry": track,
        "vel_ok": int(ok),
        "kin_class": kinematic_class(best.mean_cm_per_yr, ok),
        "vel_reason": "; ".join(reasons + ([flag] if flag else [])) or None,
        "pairs_seen": len(set(seen)),
        "pairs_covering": len(set(covering) | set(seen)),
    }


def _match(geometry: Any, inventory: list[tuple[Any, Optional[str]]]) -> Optional[str]:
    best_id, best_area = None, 0.0
    for landform, rg_id in inventory:
        if rg_id and landform.Intersects(geometry):
            area = landform.Intersection(geometry).GetArea()
            if area > best_area:
                best_id, best_area = rg_id, area
    return best_id


def _merge(
    outcomes: list[_PairOutcome], crs_wkt: str, settings: MovingAreaSettings, inventory: Optional[Polygons]
) -> MovingAreaResult:
    target = spatial_reference(crs_wkt, "output")
    members: list[tuple[int, Any, Region]] = []
    for index, outcome in enumerate(outcomes):
        to_target = transformer(spatial_reference(outcome.grid.crs_wkt), target)
        members += [(index, transformed(ogr_geometry(region.wkb), to_target), region) for region in outcome.regions]
    known = []
    if inventory is not None:
        to_target = transformer(spatial_reference(inventory.crs_wkt, "inventory"), target)
        for wkb, rg_id in zip(inventory.wkb, inventory.ids or [None] * len(inventory.wkb)):
            prepared = prepare_polygon(wkb).geometry
            if prepared is not None:
                known.append((transformed(prepared, to_target), rg_id))
    rows, polygons = [], []
    to_pairs = [transformer(target, spatial_reference(o.grid.crs_wkt)) for o in outcomes]
    projector = EqualAreaProjector()
    to_wgs84 = transformer(target, spatial_reference(4326))
    for group in _groups([m[1] for m in members]):
        geometry = members[group[0]][1].Clone()
        for i in group[1:]:
            geometry = geometry.Union(members[i][1])
        best_index = min(group, key=lambda i: members[i][2].relative_error)
        best = members[best_index][2]
        seen = sorted({outcomes[members[i][0]].pair.interferogram.pair_label for i in group})
        covering = _covering(outcomes, to_pairs, geometry, settings.regions.min_coherent_share) if len(outcomes) > 1 else seen
        row = _row(best, outcomes[members[best_index][0]].pair.track, seen, covering, settings)
        footprint = projector.footprint(transformed(geometry, to_wgs84))
        row.update(area_km2=footprint.area_km2, lon=footprint.lon_deg, lat=footprint.lat_deg, match_rg_id=_match(geometry, known))
        rows.append(row)
        polygons.append(bytes(geometry.ExportToWkb()))
    existing = list(inventory.ids) if inventory is not None and inventory.ids else []
    for row, rg_id in zip(rows, ids_after(existing, len(rows), settings.id_prefix)):
        row["rg_id"] = rg_id
    return MovingAreaResult(rows, polygons, crs_wkt)


def find_moving_areas(
    pairs: Sequence[PairInput],
    dem_path: str,
    geometry: LosGeometry,
    settings: MovingAreaSettings = MovingAreaSettings(),
    inventory: Optional[Polygons] = None,
    glaciers: Optional[Polygons] = None,
    class_raster_paths: Optional[Sequence[Optional[str]]] = None,
    hooks: RunHooks = RunHooks(),
) -> MovingAreaResult:
    """Moving-area candidates of all pairs, in the inventory's CRS (without one, the first pair's)."""
    log = hooks.log
    if not pairs:
        raise ParameterError("Give at least one unwrapped interferogram, HyP3 product or LOS velocity product.")
    validate_prefix(settings.id_prefix)
    if settings.field.min_slope_deg >= settings.field.max_slope_deg:
        raise ParameterError(
            f"MIN_SLOPE_DEG={settings.field.min_slope_deg:g} is not below MAX_SLOPE_DEG="
            f"{settings.field.max_slope_deg:g}; rock glaciers creep on slopes of about 5 to 35 degrees."
        )
    if inventory is not None and not any(prepare_polygon(w).geometry is not None for w in inventory.wkb):
        raise InputVectorError("The inventory (INPUT) has no usable polygon; leave it empty to propose every moving area.")
    progress = hooks.progress(len(pairs))
    cancelled = hooks.cancelled
    paths = list(class_raster_paths or [None] * len(pairs))
    outcomes = []
    for pair, class_path in zip(pairs, paths):
        outcomes.append(_pair_outcome(pair, dem_path, geometry, settings, (inventory, glaciers), class_path, cancelled, log))
        progress.advance()
    crs_wkt = inventory.crs_wkt if inventory is not None else outcomes[0].grid.crs_wkt
    result = _merge(outcomes, crs_wkt, settings, inventory)
    if len(pairs) > 1:
        flagged = sum(1 for row in result.rows if row["pairs_seen"] < row["pairs_covering"])
        log(
            f"{len(result.rows)} moving-area candidate(s) from {len(pairs)} pairs; {flagged} seen in fewer pairs than cover "
            "them coherently (flagged in vel_reason)."
        )
    return result
