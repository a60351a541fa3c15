"""QGIS layers and features read into plain Python values for the core (both adapters use these)."""

from __future__ import annotations

from typing import Any, Dict, Optional

from qgis.core import QgsFeature, QgsRasterLayer

from ..core.errors import InputRasterError


def file_raster_path(layer: Optional[QgsRasterLayer], what: str) -> str:
    """The GDAL data source of a raster layer, or a clear error (the core's, which each adapter reports its
    own way) for a missing layer or a non-file raster."""
    if layer is None or not layer.isValid():
        raise InputRasterError(f"The {what} layer is missing or cannot be read.")
    if layer.providerType() != "gdal":
        raise InputRasterError(
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


def feature_record(feature: QgsFeature) -> Dict[str, Any]:
    """The feature's attributes as a plain dict (QGIS NULL becomes None)."""
    names = feature.fields().names()
    return {name: null_to_none(value) for name, value in zip(names, feature.attributes())}
