"""Writing an inventory in RGIK's template layout: primary markers (PM), moving areas (MA) and
geomorphological outlines (GO), every template field present (``rgik_template``).

Layouts: one GeoPackage holding the three layers, or three GeoPackages ``<name>_PM.gpkg``,
``<name>_MA.gpkg``, ``<name>_GO.gpkg`` as RGIK's published inventories come (Rouyet et al. 2025).
The PM point lies inside its outline (OGR's PointOnSurface, inside even a crescent); its
``PrimaryID`` is made from that point's WGS84 position. The MA layer is always written (empty
without velocity rasters), so the layout is complete. Everything is in the inventory's CRS, and
the files appear only when all are complete (``staged_outputs``).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from ..errors import ParameterError
from ..raster.geometry import prepare_polygon, spatial_reference, transformed, transformer
from ..raster.staged import staged_outputs
from .moving_areas import MovingAreas
from .rgik import exported, outline_values, primary_id, primary_marker_values
from .rgik_template import KINEMATIC_ATTRIBUTES, LAYERS, TemplateLayer

SINGLE_FILE, THREE_FILES = "single", "three"
LAYOUTS = (SINGLE_FILE, THREE_FILES)


@dataclass
class ExportCounts:
    """How many features each RGIK layer received, for the log."""

    landforms: int  # each exported landform has one primary marker and one outline
    moving_areas: int
    skipped: list[str]  # why some landforms are not in the export
    paths: list[str] = field(default_factory=list)  # the files written
    duplicate_ids: list[str] = field(default_factory=list)  # PrimaryIDs shared by markers in one 10^-4 degree cell


def output_paths(path: str, layout: str) -> dict[str, str]:
    """Layer short name (PM, MA, GO) -> file. Three files are named after ``path``'s stem.

    >>> output_paths("/d/west_kunlun.gpkg", "three")["MA"]
    '/d/west_kunlun_MA.gpkg'
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout {layout!r}: use one of {LAYOUTS}")
    if layout == SINGLE_FILE:
        return {layer.short: path for layer in LAYERS}
    stem, extension = os.path.splitext(path)
    return {layer.short: f"{stem}_{layer.short}{extension or '.gpkg'}" for layer in LAYERS}


def _create_layer(dataset: Any, template: TemplateLayer, srs: Any) -> Any:
    from osgeo import ogr

    geometry_types = {"Point": ogr.wkbPoint, "MultiPolygon": ogr.wkbMultiPolygon}
    layer = dataset.CreateLayer(template.layer, srs, geometry_types[template.geometry], ["FID=fid"])
    kinds = {"text": ogr.OFTString, "real": ogr.OFTReal, "integer": ogr.OFTInteger}
    for spec in template.fields:
        definition = ogr.FieldDefn(spec.name, kinds[spec.kind])
        definition.SetNullable(not spec.required)
        layer.CreateField(definition)
    return layer


def _add(layer: Any, geometry: Any, values: Mapping[str, Any]) -> None:
    from osgeo import ogr

    feature = ogr.Feature(layer.GetLayerDefn())
    for name, value in values.items():
        if value is not None:
            feature.SetField(name, value)
    feature.SetGeometry(geometry)
    layer.CreateFeature(feature)


def _moving_area_rows(moving: Sequence[MovingAreas], target_srs: Any) -> list[tuple[Any, dict[str, Any]]]:
    from osgeo import ogr

    rows = []
    for source_index, areas in enumerate(moving, start=1):
        to_target = transformer(spatial_reference(areas.crs_wkt, "velocity raster"), target_srs)
        for index, area in enumerate(areas.areas, start=1):
            geometry = ogr.ForceToMultiPolygon(transformed(ogr.CreateGeometryFromWkb(area.wkb), to_target))
            rows.append(
                (
                    geometry,
                    {
                        "Vel.Class": area.velocity_code,
                        "MA.ID": f"MA{source_index:02d}-{index:05d}",
                        "Vel.Label": KINEMATIC_ATTRIBUTES[area.velocity_code - 1],
                        "Kin.Period": areas.period,
                        "Source": os.path.basename(areas.source),
                        "Area_km2": area.area_km2,
                    },
                )
            )
    return rows


@dataclass
class _Landform:
    marker: Any  # ogr point in the inventory CRS
    outline: Any  # ogr multipolygon
    values: dict[str, Any]


def _landforms(
    records: Sequence[Mapping[str, Any]], polygons_wkb: Sequence[Optional[bytes]], srs: Any
) -> tuple[list[_Landform], list[str]]:
    from osgeo import ogr

    to_wgs84 = transformer(srs, spatial_reference(4326))
    landforms, skipped = [], []
    for record, wkb in zip(records, polygons_wkb):
        if not exported(record):
            continue
        prepared = prepare_polygon(wkb)
        if prepared.geometry is None:
            skipped.append(f"{record.get('rg_id') or '(no rg_id)'} {prepared.problem}")
            continue
        marker = prepared.geometry.PointOnSurface()
        position = transformed(marker, to_wgs84)
        values = primary_marker_values(record, primary_id(position.GetX(), position.GetY()))
        landforms.append(_Landform(marker, ogr.ForceToMultiPolygon(prepared.geometry), values))
    return landforms, skipped


def _write(paths: Mapping[str, str], srs: Any, landforms: Sequence[_Landform], moving_rows: Sequence[tuple[Any, dict]]) -> None:
    """Each layer into its (new) GeoPackage; the files are closed when this returns."""
    from osgeo import ogr

    datasets: dict[str, Any] = {}
    layers = {}
    for template in LAYERS:
        path = paths[template.short]
        if path not in datasets:
            datasets[path] = ogr.GetDriverByName("GPKG").CreateDataSource(path)
        layers[template.short] = _create_layer(datasets[path], template, srs)
    for landform in landforms:
        _add(layers["PM"], landform.marker, landform.values)
        _add(layers["GO"], landform.outline, outline_values(landform.values))
    for geometry, values in moving_rows:
        _add(layers["MA"], geometry, values)
    for dataset in datasets.values():
        dataset.FlushCache()
    layers.clear()
    datasets.clear()


def _writable_folder(path: str) -> None:
    """Create the output folder (as QGIS does for its own outputs); a folder that cannot be made is a clear error."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise ParameterError(
            f"The output folder {folder} cannot be created ({exc.strerror}): choose a folder you can write to."
        ) from exc
    if not os.access(folder, os.W_OK):
        raise ParameterError(f"The output folder {folder} is not writable: choose a folder you can write to.")


def write_rgik(
    path: str,
    records: Sequence[Mapping[str, Any]],
    polygons_wkb: Sequence[Optional[bytes]],
    crs_wkt: str,
    moving: Sequence[MovingAreas] = (),
    layout: str = SINGLE_FILE,
) -> ExportCounts:
    """Write the RGIK layers for the landforms that are exported (not rejected) and have a polygon."""
    srs = spatial_reference(crs_wkt, "inventory")
    paths = output_paths(path, layout)
    landforms, skipped = _landforms(records, polygons_wkb, srs)
    moving_rows = _moving_area_rows(moving, srs)
    counts = Counter(landform.values["PrimaryID"] for landform in landforms)
    unique_paths = list(dict.fromkeys(paths.values()))
    _writable_folder(unique_paths[0])
    with staged_outputs(unique_paths) as partials:
        staged = dict(zip(unique_paths, partials))
        _write({short: staged[p] for short, p in paths.items()}, srs, landforms, moving_rows)
    return ExportCounts(len(landforms), len(moving_rows), skipped, unique_paths, sorted(i for i, n in counts.items() if n > 1))


def primary_ids(records: Sequence[Mapping[str, Any]], polygons_wkb: Sequence[Optional[bytes]], crs_wkt: str) -> dict[str, str]:
    """rg_id -> PrimaryID of every exported landform, as ``write_rgik`` writes it."""
    landforms, _ = _landforms(records, polygons_wkb, spatial_reference(crs_wkt, "inventory"))
    return {
        str(landform.values["WorkingID"]): landform.values["PrimaryID"] for landform in landforms if landform.values["WorkingID"]
    }
