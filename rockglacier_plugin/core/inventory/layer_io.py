"""Writing inventory layers and tables to a GeoPackage with OGR (outside QGIS), with the schema's
field types and the inventory style stored as the layer's default."""

from __future__ import annotations

import os
from typing import Any, Mapping, Optional, Sequence

from ..errors import InputVectorError
from ..raster.geometry import spatial_reference
from .gpkg_styles import STYLE_QML_PATH, write_default_style
from .schema import FieldSpec


def _ogr() -> Any:
    from osgeo import ogr

    ogr.UseExceptions()
    return ogr


def write_layer(
    path: str,
    layer_name: str,
    specs: Sequence[FieldSpec],
    rows: Sequence[Mapping[str, Any]],
    geometries_wkb: Optional[Sequence[Optional[bytes]]] = None,
    crs_wkt: Optional[str] = None,
    points: bool = False,
) -> str:
    """(Re)write ``layer_name`` in the GeoPackage ``path`` (other layers kept); no geometry when ``geometries_wkb`` is None,
    points with ``points``, else multipolygons (styled as the inventory)."""
    ogr = _ogr()
    dataset = ogr.Open(path, 1) if os.path.exists(path) else ogr.GetDriverByName("GPKG").CreateDataSource(path)
    if dataset.GetLayerByName(layer_name) is not None:
        dataset.DeleteLayer(layer_name)
    srs = spatial_reference(crs_wkt, "inventory") if crs_wkt else None
    kind = ogr.wkbNone if geometries_wkb is None else (ogr.wkbPoint if points else ogr.wkbMultiPolygon)
    layer = dataset.CreateLayer(layer_name, srs, kind, ["FID=fid"])
    types = {"text": ogr.OFTString, "real": ogr.OFTReal, "integer": ogr.OFTInteger}
    for spec in specs:
        layer.CreateField(ogr.FieldDefn(spec.name, types[spec.type]))
    layer.StartTransaction()
    for index, row in enumerate(rows):
        feature = ogr.Feature(layer.GetLayerDefn())
        for spec in specs:
            value = row.get(spec.name)
            if value is not None:
                feature.SetField(spec.name, value)
        wkb = geometries_wkb[index] if geometries_wkb is not None else None
        if wkb:
            geometry = ogr.CreateGeometryFromWkb(bytes(wkb))
            feature.SetGeometry(geometry if points else ogr.ForceToMultiPolygon(geometry))
        layer.CreateFeature(feature)
    layer.CommitTransaction()
    dataset = None
    if geometries_wkb is not None and not points and os.path.exists(STYLE_QML_PATH):
        with open(STYLE_QML_PATH, encoding="utf-8") as handle:
            write_default_style(path, layer_name, handle.read(), "rockglacier inventory style (class colours, rg_id labels)")
    return path


def read_layer(path: str, layer_name: Optional[str] = None) -> tuple[list[dict[str, Any]], list[Optional[bytes]], str]:
    """Rows, geometries (WKB) and CRS (WKT) of a polygon layer."""
    ogr = _ogr()
    try:
        dataset = ogr.Open(path)
    except RuntimeError as exc:
        raise InputVectorError(f"'{path}' cannot be opened as a vector layer ({exc}); give a GeoPackage or shapefile.") from exc
    if dataset is None:
        raise InputVectorError(f"'{path}' cannot be opened as a vector layer; give a GeoPackage or shapefile.")
    layer = dataset.GetLayerByName(layer_name) if layer_name else dataset.GetLayer(0)
    if layer is None:
        raise InputVectorError(f"'{path}' has no layer {layer_name!r}.")
    rows, geometries = [], []
    for feature in layer:
        rows.append(feature.items())
        geometry = feature.GetGeometryRef()
        geometries.append(bytes(geometry.ExportToWkb()) if geometry is not None else None)
    srs = layer.GetSpatialRef()
    return rows, geometries, srs.ExportToWkt() if srs is not None else ""
