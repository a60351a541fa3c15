"""Processing destinations: a plain GeoPackage destination written as a named layer inside it."""

from __future__ import annotations

from typing import Any, Dict

from qgis.core import QgsProcessingOutputLayerDefinition, QgsProperty


def gpkg_layer_destination(parameters: Dict[str, Any], name: str, layer_name: str) -> Dict[str, Any]:
    """Parameters where a plain ``*.gpkg`` destination becomes layer ``layer_name`` inside it.

    QGIS would name the layer after the file and replace the whole file; the inventory keeps
    one GeoPackage with named layers, so only that layer is (re)written and the others stay.
    """
    value = parameters.get(name)
    definition = value if isinstance(value, QgsProcessingOutputLayerDefinition) else None
    path = definition.sink.staticValue() if definition is not None else value
    if not isinstance(path, str) or not path.lower().endswith(".gpkg") or path.startswith("ogr:"):
        return parameters
    uri = f"ogr:dbname='{path}' table=\"{layer_name}\" (geom)"
    updated = dict(parameters)
    if definition is not None:
        new_definition = QgsProcessingOutputLayerDefinition(definition)
        new_definition.sink = QgsProperty.fromValue(uri)
        updated[name] = new_definition
    else:
        updated[name] = uri
    return updated
