"""A layer's default style inside its GeoPackage: QGIS's ``layer_styles`` table, written with GDAL.

QGIS reads this table when it opens a GeoPackage layer and applies the row marked
``useAsDefault``, so an inventory opens coloured by class in QGIS and with ``qgis_process``. GDAL
closes the file at once (QGIS's own ``saveStyleToDatabase`` keeps a pooled connection open, which
blocks a later rewrite of the layer in the same run). The style itself (QML text) is made by the
caller: by QGIS in the plugin, or read from the shipped ``styles/rock_glaciers.qml`` elsewhere.
"""

from __future__ import annotations

import os

STYLE_QML_PATH = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "styles", "rock_glaciers.qml"
)

LAYER_STYLES_FIELDS = (
    ("f_table_catalog", "text"),
    ("f_table_schema", "text"),
    ("f_table_name", "text"),
    ("f_geometry_column", "text"),
    ("styleName", "text"),
    ("styleQML", "text"),
    ("styleSLD", "text"),
    ("useAsDefault", "boolean"),
    ("description", "text"),
    ("owner", "text"),
    ("ui", "text"),
    ("update_time", "datetime"),
)


def write_default_style(path: str, layer_name: str, qml: str, description: str) -> None:
    """Store ``qml`` as the default style of ``layer_name`` in the GeoPackage (replacing its earlier rows)."""
    from datetime import datetime, timezone

    from osgeo import ogr

    dataset = ogr.Open(path, 1)
    target = dataset.GetLayerByName(layer_name)
    if target is None:
        raise RuntimeError(f"no layer {layer_name}")
    styles = dataset.GetLayerByName("layer_styles")
    if styles is None:
        styles = dataset.CreateLayer("layer_styles", geom_type=ogr.wkbNone)
        kinds = {"text": ogr.OFTString, "boolean": ogr.OFTInteger, "datetime": ogr.OFTDateTime}
        for name, kind in LAYER_STYLES_FIELDS:
            definition = ogr.FieldDefn(name, kinds[kind])
            if kind == "boolean":
                definition.SetSubType(ogr.OFSTBoolean)
            styles.CreateField(definition)
    styles.SetAttributeFilter(f"f_table_name = '{layer_name}'")
    for feature in list(styles):
        styles.DeleteFeature(feature.GetFID())
    styles.SetAttributeFilter(None)
    feature = ogr.Feature(styles.GetLayerDefn())
    values = {
        "f_table_catalog": "",
        "f_table_schema": "",
        "f_table_name": layer_name,
        "f_geometry_column": target.GetGeometryColumn() or "geom",
        "styleName": layer_name,
        "styleQML": qml,
        "styleSLD": "",
        "useAsDefault": 1,
        "description": description,
        "owner": "",
        "ui": "",
        "update_time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
    }
    for name, value in values.items():
        feature.SetField(name, value)
    styles.CreateFeature(feature)
    dataset = None
