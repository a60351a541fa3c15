"""Reading QGIS layers and features into plain Python values for the core."""

from __future__ import annotations

from typing import Any, Dict, Optional

from qgis.core import (
    QgsFeature,
    QgsProcessingException,
    QgsProcessingOutputLayerDefinition,
    QgsProperty,
    QgsRasterLayer,
)


def file_raster_path(layer: Optional[QgsRasterLayer], what: str) -> str:
    """The GDAL data source of a raster layer, or a clear error for non-file rasters."""
    if layer is None or not layer.isValid():
        raise QgsProcessingException(f"The {what} layer is missing or cannot be read.")
    if layer.providerType() != "gdal":
        raise QgsProcessingException(
            f"The {what} layer '{layer.name()}' comes from the '{layer.providerType()}' provider; "
            "give a file-based raster (GeoTIFF, VRT...). Save it with Raster > Conversion > "
            "Translate first."
        )
    return layer.source()


def feature_wkb(feature: QgsFeature) -> Optional[bytes]:
    """The feature's geometry as WKB, None when it has none."""
    if not feature.hasGeometry() or feature.geometry().isEmpty():
        return None
    return bytes(feature.geometry().asWkb())


def null_to_none(value: Any) -> Any:
    """A QGIS attribute value with QGIS's NULL turned into None."""
    if value is None:
        return None
    is_null = getattr(value, "isNull", None)
    return None if is_null is not None and is_null() else value


def text_or_none(value: Any) -> Optional[str]:
    """A QGIS attribute as text; NULL and empty give None."""
    value = null_to_none(value)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


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


def feature_record(feature: QgsFeature) -> Dict[str, Any]:
    """The feature's attributes as a plain dict (QGIS NULL becomes None)."""
    names = feature.fields().names()
    return {name: null_to_none(value) for name, value in zip(names, feature.attributes())}
