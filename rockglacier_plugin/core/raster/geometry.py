"""Polygon geometries with OGR: parse, repair, reproject, metric area and centroid.

Areas and distances are computed in a Lambert azimuthal equal-area projection centred on each
polygon (on the WGS84 ellipsoid), so they are in metres and true to the ellipsoid whatever the
input CRS, EPSG:4326 included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from ..errors import InputVectorError

WGS84_WKT_EPSG = 4326


def _ogr() -> Any:
    from osgeo import ogr

    ogr.UseExceptions()
    return ogr


def _osr() -> Any:
    from osgeo import osr

    osr.UseExceptions()
    return osr


@dataclass(frozen=True)
class Polygons:
    """Polygons as WKB (one per feature, None for a feature without geometry) in a CRS, with optional
    ids (an inventory's rg_id; empty = none known)."""

    wkb: Sequence[Optional[bytes]]
    crs_wkt: str
    ids: Sequence[Optional[str]] = ()


def spatial_reference(crs_wkt_or_epsg: str | int, what: str = "layer") -> Any:
    """An ``osr.SpatialReference`` with x = easting/longitude axis order."""
    osr = _osr()
    srs = osr.SpatialReference()
    try:
        if isinstance(crs_wkt_or_epsg, int):
            srs.ImportFromEPSG(crs_wkt_or_epsg)
        else:
            if not crs_wkt_or_epsg:
                raise RuntimeError("empty CRS")
            srs.SetFromUserInput(crs_wkt_or_epsg)
    except RuntimeError as exc:
        raise InputVectorError(
            f"The {what} has no usable CRS ({exc}). Set its CRS in QGIS (Layer Properties > Source) and run again."
        ) from exc
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def transformer(source_srs: Any, target_srs: Any) -> Any:
    """An ``osr.CoordinateTransformation``; both references must use x-first axis order."""
    return _osr().CoordinateTransformation(source_srs, target_srs)


def local_equal_area_srs(lon_deg: float, lat_deg: float) -> Any:
    """Lambert azimuthal equal-area on WGS84 centred at (lon, lat)."""
    return spatial_reference(f"+proj=laea +lat_0={lat_deg:.8f} +lon_0={lon_deg:.8f} +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs")


@dataclass
class PreparedPolygon:
    """A polygon parsed from WKB and made valid, with what was done to it."""

    geometry: Optional[Any]  # ogr.Geometry (polygon or multipolygon) or None when unusable
    was_repaired: bool
    problem: Optional[str]  # why it is unusable, when geometry is None


def _polygonal_part(geometry: Any) -> Any:
    """Keep only the (multi)polygon parts of a geometry (MakeValid may add lines or points)."""
    ogr = _ogr()
    flat = ogr.GT_Flatten(geometry.GetGeometryType())
    if flat in (ogr.wkbPolygon, ogr.wkbMultiPolygon):
        return geometry
    if flat == ogr.wkbGeometryCollection:
        multi = ogr.Geometry(ogr.wkbMultiPolygon)
        for index in range(geometry.GetGeometryCount()):
            part = _polygonal_part(geometry.GetGeometryRef(index))
            if part is None:
                continue
            if ogr.GT_Flatten(part.GetGeometryType()) == ogr.wkbPolygon:
                multi.AddGeometry(part)
            else:
                for sub in range(part.GetGeometryCount()):
                    multi.AddGeometry(part.GetGeometryRef(sub))
        return multi if multi.GetGeometryCount() else None
    return None


def prepare_polygon(wkb: Optional[bytes]) -> PreparedPolygon:
    """Parse a polygon, drop Z/M, and repair it with GEOS MakeValid when it is invalid."""
    ogr = _ogr()
    if wkb is None or len(wkb) == 0:
        return PreparedPolygon(None, False, "has no geometry")
    try:
        geometry = ogr.CreateGeometryFromWkb(bytes(wkb))
    except RuntimeError as exc:
        return PreparedPolygon(None, False, f"has an unreadable geometry ({exc})")
    if geometry is None or geometry.IsEmpty():
        return PreparedPolygon(None, False, "has an empty geometry")
    geometry.FlattenTo2D()
    if ogr.GT_Flatten(geometry.GetGeometryType()) in (ogr.wkbCurvePolygon, ogr.wkbMultiSurface):
        geometry = geometry.GetLinearGeometry()
    repaired = False
    from osgeo import gdal

    gdal.PushErrorHandler("CPLQuietErrorHandler")  # GEOS prints "Self-intersection at..."
    try:
        is_valid = geometry.IsValid()
    finally:
        gdal.PopErrorHandler()
    if not is_valid:
        geometry = geometry.MakeValid()
        repaired = True
    polygonal = _polygonal_part(geometry) if geometry is not None else None
    if polygonal is None or polygonal.IsEmpty() or polygonal.GetArea() == 0.0:
        return PreparedPolygon(None, repaired, "is not a polygon with an area (after repair)")
    return PreparedPolygon(polygonal, repaired, None)


def _made_valid_by_structure(geometry: Any) -> Any:
    """``MakeValid`` by GEOS's structure method where this GDAL and GEOS have it, else by the default method."""
    try:
        repaired = geometry.MakeValid(["METHOD=STRUCTURE"])
    except (RuntimeError, TypeError):  # GDAL < 3.4 (no options) or GEOS < 3.10 (no method), with exceptions on
        repaired = None
    return repaired if repaired is not None else geometry.MakeValid()


def valid_traced_polygon(geometry: Any) -> Optional[Any]:
    """A polygon traced from pixels (GDAL's Polygonize), valid for GEOS and every GIS.

    Pixels of one 8-connected region that touch only at a corner give a ring that touches itself,
    which GEOS calls invalid ("Ring Self-intersection") and which breaks overlays and exports downstream.
    ``MakeValid`` splits such a ring at the touching vertex: the same pixels, the same area. GEOS's "structure"
    method (shells unioned, holes subtracted; GDAL >= 3.4 with GEOS >= 3.10) gives the same pixels as its default
    "linework" method on such rings, 5x faster on the large, many-holed regions of a noisy mosaic (measured: 369
    regions, 0.41 s against 1.98 s, the same parts and no area of difference); the default method where it is
    missing. None when nothing with an area is left.
    """
    from osgeo import gdal

    gdal.PushErrorHandler("CPLQuietErrorHandler")
    try:
        if geometry.IsValid():
            return geometry
        repaired = _polygonal_part(_made_valid_by_structure(geometry))
    finally:
        gdal.PopErrorHandler()
    return repaired if repaired is not None and not repaired.IsEmpty() and repaired.GetArea() > 0 else None


def transformed(geometry: Any, transformation: Any) -> Any:
    """A reprojected copy of ``geometry``."""
    copy = geometry.Clone()
    copy.Transform(transformation)
    return copy


def polygons_in_crs(polygons_wkb: Sequence[Optional[bytes]], source_crs: str, target_crs: str, what: str) -> list[Any]:
    """The usable polygons among ``polygons_wkb`` (repaired, polygonal parts), reprojected to ``target_crs``."""
    to_target = transformer(spatial_reference(source_crs, what), spatial_reference(target_crs, "target"))
    prepared = [prepare_polygon(wkb).geometry for wkb in polygons_wkb]
    return [transformed(g, to_target) for g in prepared if g is not None]


class LocalProjection:
    """A Lambert azimuthal equal-area projection with its transformations to and from WGS84."""

    def __init__(self, lon_deg: float, lat_deg: float, wgs84: Any) -> None:
        self.srs = local_equal_area_srs(lon_deg, lat_deg)
        self.from_wgs84 = transformer(wgs84, self.srs)
        self.to_wgs84 = transformer(self.srs, wgs84)
        self._to_other: dict[str, Any] = {}

    def to(self, other_srs: Any) -> Any:
        """Transformation from this projection to ``other_srs`` (cached by its WKT)."""
        key = other_srs.ExportToWkt()
        if key not in self._to_other:
            self._to_other[key] = transformer(self.srs, other_srs)
        return self._to_other[key]


@dataclass(frozen=True)
class MetricFootprint:
    """A polygon's area and centroid on the ellipsoid, and the polygon in metres."""

    area_km2: float
    lon_deg: float
    lat_deg: float
    projection: LocalProjection
    geometry_laea: Any


class EqualAreaProjector:
    """Local equal-area projections centred on a lattice of points, cached for one run.

    The projection is equal-area everywhere, so areas are exact whichever lattice point is the
    centre; centring within half a lattice cell (0.5 degrees, about 55 km) of the polygon keeps the
    distance distortion below 1e-4, and creating PROJ transformations once per cell instead of once
    per polygon keeps large inventories fast. Use one projector per thread.
    """

    def __init__(self, cell_deg: float = 1.0) -> None:
        self.cell_deg = cell_deg
        self.wgs84 = spatial_reference(WGS84_WKT_EPSG)
        self._projections: dict[tuple[int, int], LocalProjection] = {}

    def projection_for(self, lon_deg: float, lat_deg: float) -> LocalProjection:
        """The local projection of the cell holding (lon, lat), made once per cell."""
        key = (int(math.floor(lon_deg / self.cell_deg)), int(math.floor(lat_deg / self.cell_deg)))
        if key not in self._projections:
            lon0 = (key[0] + 0.5) * self.cell_deg
            lat0 = min(max((key[1] + 0.5) * self.cell_deg, -90.0), 90.0)
            self._projections[key] = LocalProjection(lon0, lat0, self.wgs84)
        return self._projections[key]

    def footprint(self, geometry_wgs84: Any) -> MetricFootprint:
        """Area (km2) and WGS84 centroid of a polygon given in WGS84 degrees."""
        guess = geometry_wgs84.Centroid()
        projection = self.projection_for(guess.GetX(), guess.GetY())
        geometry_laea = transformed(geometry_wgs84, projection.from_wgs84)
        centroid = geometry_laea.Centroid()
        centroid.Transform(projection.to_wgs84)
        return MetricFootprint(
            area_km2=geometry_laea.GetArea() / 1.0e6,
            lon_deg=centroid.GetX(),
            lat_deg=centroid.GetY(),
            projection=projection,
            geometry_laea=geometry_laea,
        )
