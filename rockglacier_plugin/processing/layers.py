"""Processing destinations: vector outputs written as a named layer inside a GeoPackage, under any legal file name.

QGIS's own parsing of an ``ogr:dbname='…' table=…`` destination takes the driver from everything after the first
dot of the file name (``kaiserberg.2024.gpkg`` -> "2024.gpkg", no driver), so a GeoPackage destination is written
here with ``QgsVectorFileWriter`` directly: the layer is (re)created inside the file and the file's other layers stay.
Formats that cannot hold the inventory's field names (a shapefile cuts them to 10 characters) are refused with the
advice to give a GeoPackage.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeatureSink,
    QgsFields,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingOutputLayerDefinition,
    QgsVectorFileWriter,
    QgsWkbTypes,
)


@dataclass(frozen=True)
class LayerSpec:
    """What a vector output holds: its fields, geometry type (``QgsWkbTypes.NoGeometry`` for a table), CRS (None for a
    table) and the name of the layer inside a GeoPackage."""

    fields: QgsFields
    wkb_type: Any
    crs: Optional[QgsCoordinateReferenceSystem]
    layer_name: str


#: Vector formats whose field names are cut short (the dBASE table of a shapefile: 10 characters).
SHORT_FIELD_NAME_SUFFIXES = (".shp", ".dbf")


def destination_path(value: Any) -> Tuple[Optional[str], Optional[QgsProcessingOutputLayerDefinition]]:
    """The file path a sink parameter names (None for a temporary, memory or provider destination such as ``ogr:``,
    ``memory:``, ``postgres:``; a Windows drive letter is a path) and its definition."""
    import re

    definition = value if isinstance(value, QgsProcessingOutputLayerDefinition) else None
    path = definition.sink.staticValue() if definition is not None else value
    if not isinstance(path, str) or not path or path == "TEMPORARY_OUTPUT" or re.match(r"^[A-Za-z][A-Za-z0-9_]+:", path):
        return None, definition
    return path, definition


def refuse_short_field_names(path: Optional[str], name: str, layer_name: str) -> None:
    """A shapefile would truncate the inventory's field names without a word: refuse it with what to give instead."""
    if path is not None and path.lower().endswith(SHORT_FIELD_NAME_SUFFIXES):
        base = os.path.splitext(path)[0]
        raise QgsProcessingException(
            f"{name} is a shapefile ({os.path.basename(path)}): shapefiles cut field names to 10 characters (upslope_con "
            f"would become upslope_co), so the inventory's fields would be lost or mixed up. Give a GeoPackage instead, e.g. "
            f"{name}={base}.gpkg (the layer inside it is named '{layer_name}'); QGIS opens and edits it like a shapefile."
        )


def gpkg_layer_sink(
    parameters: Dict[str, Any], name: str, context: QgsProcessingContext, spec: LayerSpec
) -> Optional[Tuple[QgsFeatureSink, str]]:
    """The sink and destination id for parameter ``name`` when it is a ``*.gpkg`` file (any legal name: dots, spaces,
    non-ASCII, a folder not made yet): the layer ``spec.layer_name`` inside it is (re)written, the file's other layers stay.
    None when the destination is something else (QGIS's own sink handles it). A shapefile destination is refused."""
    fields, wkb_type, crs, layer_name = spec.fields, spec.wkb_type, spec.crs, spec.layer_name
    path, definition = destination_path(parameters.get(name))
    refuse_short_field_names(path, name, layer_name)
    if path is None or not path.lower().endswith(".gpkg"):
        return None
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise QgsProcessingException(
            f"The folder of {name} ({folder}) cannot be created ({exc.strerror}): choose a folder you can write to."
        ) from exc
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = layer_name
    options.fileEncoding = "UTF-8"
    options.actionOnExistingFile = (
        QgsVectorFileWriter.CreateOrOverwriteLayer if os.path.exists(path) else QgsVectorFileWriter.CreateOrOverwriteFile
    )
    writer = QgsVectorFileWriter.create(
        path,
        fields,
        wkb_type if wkb_type is not None else QgsWkbTypes.NoGeometry,
        crs if crs is not None else QgsCoordinateReferenceSystem(),
        context.transformContext(),
        options,
    )
    if writer is None or writer.hasError() != QgsVectorFileWriter.NoError:
        message = writer.errorMessage() if writer is not None else "no writer"
        raise QgsProcessingException(
            f"Could not write layer '{layer_name}' in {path}: {message}. Is the file open in "
            "another program, or the folder read-only?"
        )
    destination = f"{path}|layername={layer_name}"
    if definition is not None and definition.loadIntoProject:
        shown = definition.destinationName or layer_name
        context.addLayerToLoadOnCompletion(destination, QgsProcessingContext.LayerDetails(shown, context.project(), name))
    return writer, destination


def layer_sink(
    algorithm: Any, parameters: Dict[str, Any], name: str, context: QgsProcessingContext, spec: LayerSpec, optional: bool = False
) -> Tuple[Optional[QgsFeatureSink], Optional[str]]:
    """The sink of vector output ``name``: a GeoPackage destination as layer ``layer_name`` inside it (see
    ``gpkg_layer_sink``) as layer ``spec.layer_name``, anything else through QGIS; a sink that cannot be made is a clear error,
    except that an
    ``optional`` output the user did not ask for gives (None, None)."""
    written = gpkg_layer_sink(parameters, name, context, spec)
    if written is not None:
        return written
    if spec.crs is None:
        sink, dest_id = algorithm.parameterAsSink(parameters, name, context, spec.fields, spec.wkb_type)
    else:
        sink, dest_id = algorithm.parameterAsSink(parameters, name, context, spec.fields, spec.wkb_type, spec.crs)
    if sink is None:
        if optional:
            return None, None
        raise QgsProcessingException(algorithm.invalidSinkError(parameters, name))
    return sink, dest_id
