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


def likely_imagery_layer() -> Optional[str]:
    """The id of the project's imagery for a mapping dialog's first field: the active layer when it is a raster of 3 or
    more bands, else the first such raster; None without one (a DEM or a probability raster is never taken for imagery,
    which QGIS's own first-layer choice did)."""
    from qgis.core import QgsProject

    rasters = [
        layer
        for layer in QgsProject.instance().mapLayers().values()
        if isinstance(layer, QgsRasterLayer) and layer.isValid() and layer.bandCount() >= 3
    ]
    try:
        from qgis.utils import iface

        active = iface.activeLayer() if iface is not None else None
    except ImportError:  # pragma: no cover (qgis.utils ships with QGIS)
        active = None
    if active is not None and any(active is layer for layer in rasters):
        return active.id()
    return sorted(rasters, key=lambda layer: layer.name().lower())[0].id() if rasters else None
