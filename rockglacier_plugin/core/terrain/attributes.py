"""Geomorphic attributes of rock-glacier polygons from a DEM (``rockglacier:attributes``).

For each polygon: ``rg_id`` (kept, or assigned), ``area_km2`` on the ellipsoid, elevation
minimum/maximum/mean, mean slope, circular mean aspect and its eight-sector class, the WGS84
centroid, and, when glacier outlines are given, ``upslope_suggested`` (rule in ``connection``).
Polygons may be in any CRS; the DEM may be projected or geographic. Everything that makes a
value partial or missing is reported in ``AttributeResult.warnings``, never silently averaged.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import InputVectorError
from ..inventory.identifiers import assign_ids, duplicated_ids
from ..progress import RunHooks
from ..raster.geometry import (
    WGS84_WKT_EPSG,
    EqualAreaProjector,
    MetricFootprint,
    Polygons,
    PreparedPolygon,
    prepare_polygon,
    spatial_reference,
    transformed,
    transformer,
)
from ..raster.overlap import check_overlap, geometries_footprint, raster_footprint
from .connection import ConnectionRule, GlacierNeighbour, suggest_connection
from .dem_statistics import DemZonalStatistics
from .slope_aspect import aspect_class

LOGGER = logging.getLogger(__name__)

#: Share of a polygon's area that may lack DEM values before a warning is given.
PARTIAL_COVERAGE_TOLERANCE = 0.001
_METRES_PER_DEGREE_LAT_MIN = 110_500.0


@dataclass
class AttributeResult:
    """Per-polygon values (input order, keys = inventory field names), warnings, and notes for the log
    (e.g. the DEM's unit conversion)."""

    values: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Glacier:
    geometry_wgs84: Any
    envelope: tuple[float, float, float, float]  # xmin, xmax, ymin, ymax in degrees


def _empty_values(rg_id: str, with_connection: bool) -> dict[str, Any]:
    values: dict[str, Any] = {
        "rg_id": rg_id,
        "area_km2": None,
        "elev_min_m": None,
        "elev_max_m": None,
        "elev_mean_m": None,
        "slope_mean_deg": None,
        "aspect_deg": None,
        "aspect_class": None,
        "lon": None,
        "lat": None,
    }
    if with_connection:
        values["upslope_suggested"] = None
    return values


class _GlacierIndex:
    """Glacier outlines in WGS84 with their envelopes, for a cheap distance pre-filter."""

    def __init__(self, glaciers_wkb: Sequence[Optional[bytes]], crs: str, warnings: list[str]):
        to_wgs84 = transformer(spatial_reference(crs, "glacier layer"), spatial_reference(WGS84_WKT_EPSG))
        self.glaciers: list[_Glacier] = []
        skipped = 0
        for wkb in glaciers_wkb:
            prepared = prepare_polygon(wkb)
            if prepared.geometry is None:
                skipped += 1
                continue
            geometry = transformed(prepared.geometry, to_wgs84)
            self.glaciers.append(_Glacier(geometry, geometry.GetEnvelope()))
        if skipped:
            warnings.append(f"{skipped} glacier outline(s) have no usable polygon and were ignored.")
        envelopes = np.array([g.envelope for g in self.glaciers], dtype=np.float64).reshape(-1, 4)
        self.xmin, self.xmax, self.ymin, self.ymax = envelopes.T

    def candidates(self, footprint: MetricFootprint, distance_m: float) -> list[_Glacier]:
        """Glaciers whose envelope lies within ``distance_m`` of the footprint's envelope."""
        if not self.glaciers:
            return []
        xmin, xmax, ymin, ymax = transformed(footprint.geometry_laea, footprint.projection.to_wgs84).GetEnvelope()
        margin_lat = distance_m / _METRES_PER_DEGREE_LAT_MIN
        cos_lat = max(np.cos(np.radians(max(abs(ymin), abs(ymax)) + margin_lat)), 1e-6)
        margin_lon = margin_lat / cos_lat
        hits = (
            (self.xmax >= xmin - margin_lon)
            & (self.xmin <= xmax + margin_lon)
            & (self.ymax >= ymin - margin_lat)
            & (self.ymin <= ymax + margin_lat)
        )
        return [self.glaciers[i] for i in np.flatnonzero(hits)]


def compute_attributes(
    polygons: Polygons,
    dem_path: str,
    *,
    dem_band: int = 1,
    id_prefix: str = "rg",
    glaciers: Optional[Polygons] = None,
    rule: ConnectionRule = ConnectionRule(),
    hooks: RunHooks = RunHooks(),
) -> AttributeResult:
    """Compute the DEM attributes of every polygon.

    Args:
        polygons: one WKB geometry (or None) per polygon, their CRS (WKT, PROJ string or 'EPSG:n')
            and their current ``rg_id`` values (None/empty = assign one; no ids = assign all).
        dem_path: DEM file readable by GDAL, elevations in metres, any CRS.
        dem_band: 1-based band of the DEM.
        id_prefix: prefix for assigned ids.
        glaciers: optional glacier outlines for ``upslope_suggested``.
        rule: distances of the upslope-connection rule.
        hooks: progress and cancel (``progress.RunHooks``).

    Returns:
        ``AttributeResult`` with one dict per polygon in input order.

    Raises:
        InputVectorError: no polygons. InputRasterError: unusable DEM.
        OperationCancelled: the user cancelled.
    """
    polygons_wkb, polygons_crs = polygons.wkb, polygons.crs_wkt
    n_polygons = len(polygons_wkb)
    if n_polygons == 0:
        raise InputVectorError("The input layer has no features; add rock-glacier polygons first.")
    ids = assign_ids(list(polygons.ids) if polygons.ids else [None] * n_polygons, id_prefix)
    warnings: list[str] = []
    duplicates = duplicated_ids(ids)
    if duplicates:
        warnings.append(
            f"rg_id values used more than once: {', '.join(duplicates[:20])}; ids must be unique, "
            "edit them (or clear them to have new ones assigned)."
        )
    dem = DemZonalStatistics(dem_path, dem_band)
    warnings.extend(dem.warnings)
    prepared_all = [prepare_polygon(wkb) for wkb in polygons_wkb]
    _check_dem_covers(prepared_all, polygons_crs, dem, dem_path, warnings)
    polygon_srs = spatial_reference(polygons_crs, "input layer")
    to_dem = transformer(polygon_srs, dem.srs)
    to_wgs84 = transformer(polygon_srs, spatial_reference(WGS84_WKT_EPSG))
    with_connection = glaciers is not None
    glacier_index = _GlacierIndex(glaciers.wkb, glaciers.crs_wkt, warnings) if glaciers is not None else None
    projector = EqualAreaProjector()
    progress = hooks.progress(n_polygons)
    progress.check_cancelled()
    results: list[dict[str, Any]] = []
    for rg_id, prepared in zip(ids, prepared_all):
        values = _empty_values(rg_id, with_connection)
        before = len(warnings)
        if prepared.geometry is None:
            warnings.append(f"{rg_id} {prepared.problem}; its attributes are left empty.")
        else:
            if prepared.was_repaired:
                warnings.append(
                    f"{rg_id} has an invalid geometry (e.g. self-intersection); attributes were "
                    "computed on its repaired shape. Run 'Fix geometries' to store the repair."
                )
            footprint = projector.footprint(transformed(prepared.geometry, to_wgs84))
            _fill_values(values, prepared.geometry, footprint, dem, to_dem, glacier_index, rule, warnings)
        # the landform's own warnings also go into a field, so an analyst can filter on them
        values["attr_note"] = "; ".join(w.removeprefix(f"{rg_id}: ").removeprefix(f"{rg_id} ") for w in warnings[before:]) or None
        results.append(values)
        progress.advance()
    return AttributeResult(results, warnings, dem.notes)


def _check_dem_covers(
    prepared: Sequence[PreparedPolygon], polygons_crs: str, dem: DemZonalStatistics, dem_path: str, warnings: list[str]
) -> None:
    """Stop before any work when the DEM lies elsewhere than every polygon (a CRS set wrong); warn when it covers
    only part of them."""
    polygons = geometries_footprint([p.geometry for p in prepared], polygons_crs, "input layer")
    if polygons is None:
        return
    partial = check_overlap(
        polygons,
        raster_footprint(dem.dataset, f"DEM '{os.path.basename(dem_path)}'"),
        "polygons outside it get no DEM attributes (each is named below).",
    )
    if partial:
        warnings.append(partial)


def _fill_values(
    values: dict[str, Any],
    geometry: Any,
    footprint: MetricFootprint,
    dem: DemZonalStatistics,
    to_dem: Any,
    glacier_index: Optional[_GlacierIndex],
    rule: ConnectionRule,
    warnings: list[str],
) -> None:
    rg_id = values["rg_id"]
    values.update(area_km2=footprint.area_km2, lon=footprint.lon_deg, lat=footprint.lat_deg)
    stats = dem.statistics(transformed(geometry, to_dem))
    if stats.covered_area_m2 <= 0.0:
        warnings.append(
            f"{rg_id} lies wholly outside the DEM or on its no-data; its DEM attributes are left empty. Use a DEM that covers it."
        )
        return
    missing = 1.0 - stats.valid_fraction
    if missing > PARTIAL_COVERAGE_TOLERANCE:
        warnings.append(
            f"{rg_id}: {100.0 * missing:.1f} % of its area lies outside the DEM or on no-data; its "
            "DEM attributes describe the remaining part only."
        )
    values.update(
        elev_min_m=stats.elev_min_m,
        elev_max_m=stats.elev_max_m,
        elev_mean_m=stats.elev_mean_m,
        slope_mean_deg=stats.slope_mean_deg,
        aspect_deg=stats.aspect_deg,
        aspect_class=None if stats.aspect_deg is None else aspect_class(stats.aspect_deg),
    )
    if stats.slope_mean_deg is None:
        warnings.append(
            f"{rg_id}: no pixel inside it has a slope (it sits on the DEM's edge or next to "
            "no-data), so slope and aspect are left empty."
        )
    if glacier_index is not None:
        values["upslope_suggested"] = _suggest(footprint, stats.elev_mean_m, dem, glacier_index, rule)


def _suggest(
    footprint: MetricFootprint,
    elev_mean_m: Optional[float],
    dem: DemZonalStatistics,
    glacier_index: _GlacierIndex,
    rule: ConnectionRule,
) -> Optional[str]:
    laea_to_dem = footprint.projection.to(dem.srs)
    wgs84_to_laea = footprint.projection.from_wgs84
    search_zone = footprint.geometry_laea.Buffer(rule.search_distance_m, 16)
    neighbours: list[GlacierNeighbour] = []
    for glacier in glacier_index.candidates(footprint, rule.search_distance_m):
        glacier_laea = transformed(glacier.geometry_wgs84, wgs84_to_laea)
        distance_m = footprint.geometry_laea.Distance(glacier_laea)
        if distance_m > rule.search_distance_m:
            continue
        near_part = glacier_laea.Intersection(search_zone)
        near_elev: Optional[float] = None
        if near_part is not None and not near_part.IsEmpty() and near_part.GetArea() > 0:
            near_elev = dem.statistics(transformed(near_part, laea_to_dem)).elev_mean_m
        neighbours.append(GlacierNeighbour(distance_m, near_elev))
    return suggest_connection(elev_mean_m, neighbours, rule)
