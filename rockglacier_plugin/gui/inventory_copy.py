"""Layers that cannot hold the inventory's fields (a shapefile cuts names to 10 characters) are never altered: the dock
reviews a GeoPackage copy beside them instead, with the schema's fields, and says where it is."""

from __future__ import annotations

import os
from typing import Optional

from qgis.core import QgsProject, QgsVectorFileWriter, QgsVectorLayer

from ..core.inventory.schema import ROCK_GLACIER_FIELDS, ROCK_GLACIER_LAYER
from ..qgis_shared.fields import qgs_field

#: OGR formats whose field names are cut short, with their longest name.
SHORT_NAME_FORMATS = {"ESRI Shapefile": 10, "MapInfo File": 31}


def longest_field_name(layer: QgsVectorLayer) -> Optional[int]:
    """The longest field name the layer's format keeps (None: no known limit)."""
    return SHORT_NAME_FORMATS.get(layer.dataProvider().storageType())


def cannot_hold_schema(layer: QgsVectorLayer) -> bool:
    """Whether some schema field name is longer than the layer's format keeps."""
    limit = longest_field_name(layer)
    return limit is not None and any(len(spec.name) > limit for spec in ROCK_GLACIER_FIELDS)


def copy_path(layer: QgsVectorLayer) -> str:
    """``<name>_inventory.gpkg`` beside the layer's file (numbered when taken)."""
    source = layer.source().split("|")[0]
    folder = os.path.dirname(source) if os.path.isabs(source) else os.getcwd()
    stem = os.path.splitext(os.path.basename(source))[0] or "inventory"
    path = os.path.join(folder, f"{stem}_inventory.gpkg")
    number = 2
    while os.path.exists(path):
        path = os.path.join(folder, f"{stem}_inventory_{number}.gpkg")
        number += 1
    return path


def _restore_cut_names(copy: QgsVectorLayer, limit: int) -> list[str]:
    """Fields an earlier tool cut to ``limit`` characters (``upslope_co``) get their schema name back in the copy."""
    names = copy.fields().names()
    renames = {
        copy.fields().indexOf(spec.name[:limit]): spec.name
        for spec in ROCK_GLACIER_FIELDS
        if len(spec.name) > limit and spec.name not in names and spec.name[:limit] in names
    }
    if renames and copy.dataProvider().renameAttributes(renames):
        copy.updateFields()
        return sorted(renames.values())
    return []


def save_geopackage_copy(layer: QgsVectorLayer) -> tuple[QgsVectorLayer, str, list[str]]:
    """Write ``layer`` (every feature, its CRS) as layer ``rock_glaciers`` of a new GeoPackage beside it, with the
    schema's fields (cut names restored), add it to the project; returns the copy, its path and the restored names.
    The original is not touched. OSError when the copy cannot be written."""
    path = copy_path(layer)
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = ROCK_GLACIER_LAYER
    options.fileEncoding = "UTF-8"
    context = QgsProject.instance().transformContext()
    writer = getattr(QgsVectorFileWriter, "writeAsVectorFormatV3", None) or QgsVectorFileWriter.writeAsVectorFormatV2
    result = writer(layer, path, context, options)
    if result[0] != QgsVectorFileWriter.NoError:
        raise OSError(f"the GeoPackage copy {path} could not be written: {result[1]}")
    copy = QgsVectorLayer(f"{path}|layername={ROCK_GLACIER_LAYER}", f"{layer.name()} (inventory)", "ogr")
    if not copy.isValid():
        raise OSError(f"the GeoPackage copy {path} was written but does not open")
    restored = _restore_cut_names(copy, longest_field_name(layer) or 10)
    missing = [qgs_field(spec) for spec in ROCK_GLACIER_FIELDS if spec.name not in copy.fields().names()]
    if missing:
        copy.dataProvider().addAttributes(missing)
        copy.updateFields()
    QgsProject.instance().addMapLayer(copy)
    return copy, path, restored
