"""Writing an inventory as an RGIK GeoPackage: primary markers, geomorphological outlines and,
from velocity rasters, moving areas (field names and values from ``rgik``).

Layers: ``primary_markers`` (points, one inside each exported landform: OGR's PointOnSurface, so
it lies inside even a crescent-shaped outline), ``geomorphological_outlines`` (our footprints,
``Out.Type`` = Extended) and ``moving_areas`` (when velocity rasters are given). Everything is in
the inventory's CRS. The file appears only when complete (``staged_outputs``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from ..raster.geometry import prepare_polygon, spatial_reference, transformed, transformer
from ..raster.staged import staged_outputs
from .moving_areas import MovingAreas
from .rgik import (
    MOVING_AREA_FIELDS,
    OUTLINE_FIELDS,
    OUTLINE_TYPE,
    PRIMARY_MARKER_FIELDS,
    exported,
    primary_marker_values,
)

MARKER_LAYER = "primary_markers"
OUTLINE_LAYER = "geomorphological_outlines"
MOVING_AREA_LAYER = "moving_areas"


@dataclass
class ExportCounts:
    landforms: int  # each exported landform has one primary marker and one outline
    moving_areas: int
    skipped: list[str]  # why some landforms are not in the export


def _layer(dataset: Any, name: str, srs: Any, geometry_type: int, fields: Sequence[tuple[str, str]]) -> Any:
    from osgeo import ogr

    layer = dataset.CreateLayer(name, srs, geometry_type, ["FID=fid"])
    types = {"text": ogr.OFTString, "real": ogr.OFTReal, "integer": ogr.OFTInteger}
    for field_name, field_type in fields:
        layer.CreateField(ogr.FieldDefn(field_name, types[field_type]))
    return layer


def _add(layer: Any, geometry: Any, values: Mapping[str, Any]) -> None:
    from osgeo import ogr

    feature = ogr.Feature(layer.GetLayerDefn())
    for name, value in values.items():
        if value is not None:
            feature.SetField(name, value)
    feature.SetGeometry(geometry)
    layer.CreateFeature(feature)


def _multipolygon(geometry: Any) -> Any:
    from osgeo import ogr

    return ogr.ForceToMultiPolygon(geometry)


def _moving_area_rows(moving: Sequence[MovingAreas], target_srs: Any) -> list[tuple[Any, dict[str, Any]]]:
    from osgeo import ogr

    rows = []
    for source_index, areas in enumerate(moving, start=1):
        to_target = transformer(spatial_reference(areas.crs_wkt, "velocity raster"), target_srs)
        for index, area in enumerate(areas.areas, start=1):
            geometry = transformed(ogr.CreateGeometryFromWkb(area.wkb), to_target)
            rows.append((_multipolygon(geometry), {"MA.ID": f"MA{source_index:02d}-{index:05d}", "Vel.Class": area.velocity_class,
                                                   "Kin.Period": areas.period, "Source": areas.source, "Area_km2": area.area_km2}))
    return rows


def _write_layers(path: str, srs: Any, records: Sequence[Mapping[str, Any]], polygons_wkb: Sequence[Optional[bytes]],
                  moving_rows: Optional[list]) -> tuple[int, list[str]]:
    """All layers into a new GeoPackage at ``path``; the file is closed when this returns."""
    from osgeo import ogr

    skipped: list[str] = []
    written = 0
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    marker_layer = _layer(dataset, MARKER_LAYER, srs, ogr.wkbPoint, PRIMARY_MARKER_FIELDS)
    outline_layer = _layer(dataset, OUTLINE_LAYER, srs, ogr.wkbMultiPolygon, OUTLINE_FIELDS)
    for record, wkb in zip(records, polygons_wkb):
        if not exported(record):
            continue
        prepared = prepare_polygon(wkb)
        if prepared.geometry is None:
            skipped.append(f"{record.get('rg_id') or '(no rg_id)'} {prepared.problem}")
            continue
        values = primary_marker_values(record)
        _add(marker_layer, prepared.geometry.PointOnSurface(), values)
        _add(outline_layer, _multipolygon(prepared.geometry),
             {"PrimaryID": values["PrimaryID"], "Out.Type": OUTLINE_TYPE, "Comment": values["Comment"]})
        written += 1
    if moving_rows is not None:
        moving_layer = _layer(dataset, MOVING_AREA_LAYER, srs, ogr.wkbMultiPolygon, MOVING_AREA_FIELDS)
        for geometry, values in moving_rows:
            _add(moving_layer, geometry, values)
    dataset.FlushCache()
    return written, skipped


def write_rgik_geopackage(path: str, records: Sequence[Mapping[str, Any]], polygons_wkb: Sequence[Optional[bytes]],
                          crs_wkt: str, moving: Sequence[MovingAreas] = ()) -> ExportCounts:
    """Write the RGIK layers for the landforms that are exported (not rejected) and have a polygon."""
    srs = spatial_reference(crs_wkt, "inventory")
    moving_rows = _moving_area_rows(moving, srs) if moving else None
    with staged_outputs([path]) as (partial,):
        written, skipped = _write_layers(partial, srs, records, polygons_wkb, moving_rows)
    return ExportCounts(written, len(moving_rows or []), skipped)
